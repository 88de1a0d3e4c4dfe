//! The HTTP surface as one table: the router is built from it and so is the
//! OpenAPI document served at `/api/openapi.json`, so neither can miss a route.
//! Schemas come from the Rust types (schemars).

use std::sync::OnceLock;

use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, delete, get, post, put};
use fieldbook_shared::api::{
    AlertRow, CustomerSummary, ErrorBody, LoginRequest, LoginResponse, Me, SessionRow, Unit,
    UserRow,
};
use fieldbook_shared::customer::Handover;
use fieldbook_shared::history::HistoryEntry;
use fieldbook_shared::reports::Reports;
use fieldbook_shared::rules::Rules;
use fieldbook_shared::visits::{Compliance, HeadCompliance};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::state::AppState;
use crate::{
    admin, api, approvals, export, handover, history, http, import, late, managed, reports, sync,
    warnings,
};

/// A schema for `T`, registered in the document's components.
type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

fn schema<T: JsonSchema>(g: &mut SchemaGenerator) -> Schema {
    g.subschema_for::<T>()
}

/// A file (CSV or XLSX), documented as a string of bytes.
fn file(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "string", "format": "binary"})
}

/// The largest import accepted (a year's ledger of thousands of customers fits).
const IMPORT_LIMIT: usize = 64 * 1024 * 1024;

/// Any JSON object (answers whose shape is a small ad-hoc object).
fn object(_: &mut SchemaGenerator) -> Schema {
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
fn ep(
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

/// Every route of the server (a table: kept on one line each).
#[rustfmt::skip]
pub fn endpoints() -> Vec<Endpoint> {
    const NO: &[(&str, &str)] = &[];
    vec![
        ep("get", "/api/health", "Liveness: answers ok", false, NO, None, object, get(|| async { "ok" })),
        ep("post", "/api/login", "Sign in; the answer carries the token and the peer id to use on /sync", false, NO, Some(schema::<LoginRequest>), schema::<LoginResponse>, post(api::login)),
        ep("post", "/api/logout", "End this session (its websocket closes)", true, NO, None, object, post(api::logout)),
        ep("get", "/api/me", "The signed-in user, their book and the shared warning list", true, NO, None, schema::<Me>, get(api::me)),
        ep("get", "/api/customers", "The customers the caller may see, with grades, tiers and registration", true, NO, None, schema::<Vec<CustomerSummary>>, get(api::customers)),
        ep("get", "/api/cadence", "Visit compliance per manager for a month", true, &[("month", "YYYY-MM (default: this month)")], None, schema::<Vec<Compliance>>, get(api::cadence)),
        ep("get", "/api/cadence/heads", "Each unit head's own visits in a quarter", true, &[("quarter", "YYYY-Qn (default: this quarter)")], None, schema::<Vec<HeadCompliance>>, get(api::head_cadence)),
        ep("post", "/api/customers/{id}/grade", "Approve a customer's level and grade", true, NO, Some(schema::<approvals::GradeBody>), object, post(approvals::approve_grade)),
        ep("post", "/api/customers/{id}/assign", "Hand a customer over to other managers", true, NO, Some(schema::<handover::AssignBody>), schema::<Handover>, post(handover::assign)),
        ep("get", "/api/customers/{id}/handovers", "A customer's hand-overs", true, NO, None, schema::<Vec<Handover>>, get(handover::list)),
        ep("post", "/api/customers/{id}/late-changes", "Deliver changes made offline before access ended (a hand-over): the body is Automerge changes; 409 with the reason when refused", true, NO, Some(file), schema::<late::LateChanges>, post(late::deliver).layer(DefaultBodyLimit::max(16 * 1024 * 1024))),
        ep("post", "/api/customers/{id}/agreements/{agreement}/approve", "Approve a service agreement (a head over the customer's unit, or the center); only this makes a platinum or diamond customer's agreement active", true, NO, None, object, post(approvals::approve_agreement)),
        ep("get", "/api/customers/{id}/history", "A customer's per-field history, newest first", true, NO, None, schema::<Vec<HistoryEntry>>, get(history::history)),
        ep("post", "/api/registrations/{id}/rule", "Rule that a line belongs to this registration", true, NO, Some(schema::<approvals::RuleBody>), object, post(approvals::rule_ownership)),
        ep("post", "/api/registrations/{id}/approve", "Approve a registration (the level above)", true, NO, None, object, post(approvals::approve_registration)),
        ep("post", "/api/registrations/{id}/reject", "Reject a registration (the level above)", true, NO, None, object, post(approvals::reject_registration)),
        ep("get", "/api/warnings", "Bad-credit reports", true, NO, None, schema::<Vec<warnings::ReportRow>>, get(warnings::list)),
        ep("post", "/api/warnings", "Report a bad-credit customer", true, NO, Some(schema::<warnings::Report>), schema::<warnings::ReportRow>, post(warnings::report)),
        ep("post", "/api/warnings/{id}/confirm", "The center confirms a report (it reaches every device)", true, NO, None, schema::<warnings::ReportRow>, post(warnings::confirm)),
        ep("post", "/api/warnings/{id}/reject", "The center rejects a report", true, NO, None, schema::<warnings::ReportRow>, post(warnings::reject)),
        ep("get", "/api/units", "The org tree", true, NO, None, schema::<Vec<Unit>>, get(admin::units)),
        ep("post", "/api/units", "Add a unit (admin)", true, NO, Some(schema::<Unit>), schema::<Unit>, post(admin::add_unit)),
        ep("get", "/api/users", "Users (heads: their subtree; admin: all)", true, NO, None, schema::<Vec<UserRow>>, get(admin::users)),
        ep("post", "/api/users", "Add a user (admin)", true, NO, Some(schema::<admin::NewUser>), schema::<UserRow>, post(admin::add_user)),
        ep("post", "/api/users/{username}", "Disable/enable, reset the password, move or rename a user (admin)", true, NO, Some(schema::<admin::UserChange>), schema::<UserRow>, post(admin::change_user)),
        ep("get", "/api/users/{username}/sessions", "A user's signed-in devices (admin)", true, NO, None, schema::<Vec<SessionRow>>, get(admin::sessions)),
        ep("delete", "/api/sessions/{peer_id}", "Sign one device out at once (admin)", true, NO, None, object, delete(admin::revoke_session)),
        ep("get", "/api/reports", "Reports over a unit subtree and period", true, &[("unit", "unit code (default: the caller's)"), ("from", "YYYY-MM"), ("to", "YYYY-MM")], None, schema::<Reports>, get(reports::reports)),
        ep("get", "/api/export/{file}", "customers, visits, ledger or report-{compliance,grades,growth,plans}, as .csv (UTF-8 with BOM) or .xlsx; only what the caller sees", true, &[("unit", "reports: unit code"), ("from", "reports: YYYY-MM"), ("to", "reports: YYYY-MM")], None, file, get(export::export)),
        ep("post", "/api/import/customers", "Import customers (heads, admin) from CSV (UTF-8/GBK) or XLSX; all rows or none", true, &[("dry_run", "true: check and answer what would be imported, write nothing")], Some(file), schema::<import::ImportReport>, post(import::customers).layer(DefaultBodyLimit::max(IMPORT_LIMIT))),
        ep("post", "/api/import/ledger", "Import monthly revenue from CSV (UTF-8/GBK) or XLSX into the customer documents; all rows or none", true, &[("dry_run", "true: check and answer what would be imported, write nothing")], Some(file), schema::<import::ImportReport>, post(import::ledger).layer(DefaultBodyLimit::max(IMPORT_LIMIT))),
        ep("get", "/api/import/{kind}/{file}", "An import's template: customers or ledger, template.xlsx (with a sheet explaining each column) or template.csv", true, NO, None, file, get(import::template)),
        ep("get", "/api/rules", "The operator's rules in force", true, NO, None, schema::<Rules>, get(http::rules::get)),
        ep("put", "/api/rules", "Change the rules (admin); 400 lists every problem", true, NO, Some(schema::<Rules>), schema::<Rules>, put(http::rules::put)),
        ep("get", "/api/alerts", "Revenue alerts on the caller's customers", true, NO, None, schema::<Vec<AlertRow>>, get(managed::alerts)),
        ep("get", "/api/openapi.json", "This document", false, NO, None, object, get(|| async { axum::Json(document().clone()) })),
        ep("get", "/sync", "The automerge-repo websocket (binary CBOR frames); token as ?token=, cookie or bearer", true, &[("token", "the session token")], None, object, get(sync::upgrade)),
    ]
}

/// The OpenAPI 3.1 document of [`endpoints`], made once.
pub fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| build(&endpoints()))
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
        let eps = endpoints();
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
