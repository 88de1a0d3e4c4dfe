//! The HTTP surface as one table: the router is built from it and so is the
//! OpenAPI document served at `/api/openapi.json`, so neither can miss a route.
//! Schemas come from the Rust types (schemars).

use std::sync::OnceLock;

use axum::routing::MethodRouter;
use fieldbook_shared::api::ErrorBody;
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::state::AppState;

/// A schema for `T`, registered in the document's components.
type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

pub fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// A file (CSV or XLSX), documented as a string of bytes.
pub fn file(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "string", "format": "binary"})
}

/// The largest import accepted (a year's ledger of thousands of customers fits).
pub const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

/// Any JSON object (answers whose shape is a small ad-hoc object).
pub fn object(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "object"})
}

/// One route.
pub struct Endpoint {
    pub method: &'static str,
    /// The axum path, which is also the OpenAPI path (`{param}`).
    pub path: &'static str,
    pub summary: &'static str,
    /// Whether a session token is required.
    pub auth: bool,
    pub query: &'static [(&'static str, &'static str)],
    pub request: Option<SchemaFn>,
    pub response: SchemaFn,
    pub handler: MethodRouter<AppState>,
}

#[allow(clippy::too_many_arguments)]
pub fn ep(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: bool,
    query: &'static [(&'static str, &'static str)],
    request: Option<SchemaFn>,
    response: SchemaFn,
    handler: MethodRouter<AppState>,
) -> Endpoint {
    Endpoint {
        method,
        path,
        summary,
        auth,
        query,
        request,
        response,
        handler,
    }
}

/// No query parameters.
pub const NO: &[(&str, &str)] = &[];

/// The OpenAPI 3.1 document of every endpoint (`http::endpoints`), made once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| build(&super::endpoints()))
}

fn build(endpoints: &[Endpoint]) -> Value {
    let mut g = SchemaSettings::draft2020_12()
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator();
    let error = schema::<ErrorBody>(&mut g);
    let mut paths: Map<String, Value> = Map::new();
    for e in endpoints {
        let mut parameters: Vec<Value> = e
            .path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        parameters.extend(e.query.iter().map(|(name, what)| {
            json!({"name": name, "in": "query", "required": false, "description": what, "schema": {"type": "string"}})
        }));
        let mut op = json!({
            "summary": e.summary,
            "parameters": parameters,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": (e.response)(&mut g)}}},
                "400": {"description": "Bad input: what is wrong", "content": {"application/json": {"schema": error}}},
            },
        });
        if e.auth {
            op["security"] = json!([{"bearer": []}]);
            op["responses"]["401"] = json!({"description": "No valid session", "content": {"application/json": {"schema": error}}});
            op["responses"]["403"] = json!({"description": "Not allowed for this user", "content": {"application/json": {"schema": error}}});
        }
        if let Some(req) = e.request {
            op["requestBody"] =
                json!({"required": true, "content": {"application/json": {"schema": req(&mut g)}}});
        }
        paths
            .entry(e.path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|m| m.insert(e.method.to_string(), op));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Fieldbook",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Offline-first key-account system: REST API beside the automerge-repo sync endpoint.",
        },
        "paths": paths,
        "components": {
            "schemas": g.take_definitions(true),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_described_with_its_types() {
        let doc = document();
        let eps = crate::http::endpoints();
        for e in &eps {
            assert!(
                doc["paths"][e.path][e.method].is_object(),
                "{} {} missing",
                e.method,
                e.path
            );
        }
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for name in [
            "CustomerSummary",
            "Rules",
            "Reports",
            "HistoryEntry",
            "Line",
            "ErrorBody",
        ] {
            assert!(
                schemas.contains_key(name),
                "{name} missing from the schemas"
            );
        }
        // The vocabularies list their values.
        assert!(
            schemas["Line"]["enum"]
                .as_array()
                .unwrap()
                .contains(&json!("delivery"))
        );
        let list = &doc["paths"]["/api/customers"]["get"]["responses"]["200"]["content"]["application/json"]
            ["schema"];
        assert_eq!(
            list["items"]["$ref"],
            "#/components/schemas/CustomerSummary"
        );
    }
}
