//! The REST surface (and the `/sync` upgrade), one module per resource, each
//! with its routes beside its handlers. [`endpoints`] lists them all, top to
//! bottom; the router and the OpenAPI document (`openapi.rs`) are both built
//! from it, so neither can miss a route.

use axum::Router;
use axum::routing::get;
use tower_http::services::{ServeDir, ServeFile};

use crate::state::AppState;
use crate::web_security;
use openapi::{Endpoint, NO, document, ep, object};

pub mod admin;
pub mod alerts;
pub mod approvals;
pub mod attachments;
pub mod customers;
pub mod events;
pub mod export;
pub mod followups;
pub mod handover;
pub mod history;
pub mod import;
pub mod late;
pub mod openapi;
pub mod reports;
pub mod rules;
pub mod scorecard;
pub mod session;
pub mod warnings;
pub mod worklogs;

/// Every route of the server.
pub fn endpoints() -> Vec<Endpoint> {
    [
        service(),
        session::routes(),
        customers::routes(),
        approvals::routes(),
        handover::routes(),
        late::routes(),
        attachments::routes(),
        history::routes(),
        followups::routes(),
        events::routes(),
        worklogs::routes(),
        warnings::routes(),
        admin::routes(),
        reports::routes(),
        scorecard::routes(),
        export::routes(),
        import::routes(),
        rules::routes(),
        alerts::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Liveness, this API's own description, and the sync socket (`sync/`).
#[rustfmt::skip]
fn service() -> Vec<Endpoint> {
    vec![
        ep("get", "/api/health", "Liveness: answers ok", false, NO, None, object, get(|| async { "ok" })),
        ep("get", "/api/openapi.json", "This document", false, NO, None, object, get(|| async { axum::Json(document().clone()) })),
        ep("get", "/sync", "The automerge-repo websocket (binary CBOR frames); token as ?token=, cookie or bearer", true, &[("token", "the session token")], None, object, get(crate::sync::upgrade)),
    ]
}

/// The whole HTTP surface.
pub fn router(state: AppState, static_dir: Option<&std::path::Path>) -> Router {
    // One table makes both the routes and the OpenAPI document (openapi.rs).
    let mut api = Router::new();
    for e in endpoints() {
        api = api.route(e.path, e.handler);
    }
    // Any other API path is a JSON 404, not the app's page (the static
    // fallback below serves the app for every other path).
    api = api.route(
        "/api/{*rest}",
        axum::routing::any(|uri: axum::http::Uri| async move {
            crate::error::ServerError::NotFound(format!(
                "没有这个接口 {0} / no such API path {0}",
                uri.path()
            ))
        }),
    );
    let origins = state.origins.clone();
    let api = api.with_state(state);
    let app = match static_dir {
        Some(dir) if dir.is_dir() => {
            let index = dir.join("index.html");
            api.fallback_service(ServeDir::new(dir).fallback(ServeFile::new(index)))
        }
        _ => api,
    };
    // Outermost last: every answer gets the headers, refusals included.
    app.layer(axum::middleware::from_fn_with_state(
        origins,
        web_security::check_origin,
    ))
    .layer(axum::middleware::from_fn(crate::language::localise_errors))
    .layer(axum::middleware::from_fn(web_security::headers))
}
