//! `/api/rules`: the operator's rules, read by everyone, changed by the center.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use fieldbook_shared::rules::{RuleProblem, Rules};
use fieldbook_shared::vocab::Role;
use serde::Serialize;

use super::openapi::{Endpoint, NO, ep, schema};
use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::rules::{Current, store};
use crate::state::AppState;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("get", "/api/rules", "The operator's rules in force", true, NO, None, schema::<Rules>, get(read)),
        ep("put", "/api/rules", "Change the rules (admin); 400 lists every problem", true, NO, Some(schema::<Rules>), schema::<Rules>, put(replace)),
    ]
}

/// `GET /api/rules`: the rules in force (every signed-in user may read them).
pub async fn read(State(rules): State<Current>, _user: AuthUser) -> Json<Rules> {
    Json(rules.get())
}

/// A refused configuration: every problem, by setting.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Refused {
    pub error: String,
    pub problems: Vec<RuleProblem>,
}

/// `PUT /api/rules`: the center's admin replaces the rules. The body is the
/// whole configuration or just the parts to change from the defaults. Every
/// customer is graded again and every book carries the new rules.
pub async fn replace(
    State(state): State<AppState>,
    user: AuthUser,
    body: String,
) -> Result<Response, ServerError> {
    if user.role != Role::Admin {
        return Err(ServerError::Forbidden(
            "只有大客中心管理员可以修改规则 / only the key-account center's admin changes the rules".into(),
        ));
    }
    let rules = match Rules::from_json(&body) {
        Ok(r) => r,
        Err(problems) => {
            let refused = Refused {
                error: "规则未修改 / the rules were not changed".into(),
                problems,
            };
            return Ok((StatusCode::BAD_REQUEST, Json(refused)).into_response());
        }
    };
    let stored = rules.clone();
    state.db.call(move |c| store(c, &stored)).await?;
    state.rules.set(rules.clone());
    if let Some(cluster) = &state.cluster {
        cluster.rules_changed();
    }
    tracing::info!(user = %user.username, "rules changed");
    apply(&state).await?;
    Ok(Json(rules).into_response())
}

/// Re-grades every customer and rewrites every book under the rules in force.
pub async fn apply(state: &AppState) -> Result<(), ServerError> {
    crate::projection::ensure_current(state).await?;
    // Whatever the pass (the same rules again: none), the tiers and the
    // books under the rules in force.
    crate::projection::after_regrade(state).await
}
