//! `/api/warnings`: bad-credit reports, and the center's decisions on them
//! (which `warnings::publish` puts in the shared list every device reads).

use crate::store::sql::params;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use fieldbook_shared::credit::WarningKind;
use fieldbook_shared::vocab::Role;
use serde::{Deserialize, Serialize};

use super::openapi::{Endpoint, NO, ep, schema};
use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::state::AppState;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("get", "/api/warnings", "Bad-credit reports", true, NO, None, schema::<Vec<ReportRow>>, get(list)),
        ep("post", "/api/warnings", "Report a bad-credit customer", true, NO, Some(schema::<Report>), schema::<ReportRow>, post(report)),
        ep("post", "/api/warnings/{id}/confirm", "The center confirms a report (it reaches every device)", true, NO, None, schema::<ReportRow>, post(confirm)),
        ep("post", "/api/warnings/{id}/reject", "The center rejects a report", true, NO, None, schema::<ReportRow>, post(reject)),
    ]
}

/// `POST /api/warnings` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct Report {
    pub name: String,
    #[serde(default)]
    pub credit_code: String,
    pub kind: String,
    #[serde(default)]
    pub note: String,
}

/// A report as the API shows it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ReportRow {
    pub id: i64,
    pub name: String,
    pub credit_code: String,
    pub kind: String,
    pub note: String,
    pub reported_by: String,
    pub reported_at: String,
    pub status: String,
}

/// `POST /api/warnings`: any user reports a customer; the center decides.
pub async fn report(
    State(state): State<AppState>,
    user: AuthUser,
    Json(r): Json<Report>,
) -> Result<(StatusCode, Json<ReportRow>), ServerError> {
    let Some(kind) = WarningKind::parse(&r.kind) else {
        return Err(ServerError::BadRequest(format!(
            "没有类型 {0:?}：可用 agency_fee_abuse（套取代办费）、deliberate_arrears（恶意欠费）、premium_fraud（骗取保费）或 other / unknown kind {0:?}: use agency_fee_abuse, deliberate_arrears, premium_fraud or other",
            r.kind
        )));
    };
    let id =
        crate::decisions::report_warning(&state, &user, &r.name, &r.credit_code, kind, &r.note)
            .await?;
    let row = one(&state, id).await?;
    Ok((StatusCode::CREATED, Json(row)))
}

async fn one(state: &AppState, id: i64) -> Result<ReportRow, ServerError> {
    rows(state, Some(id), None)
        .await?
        .pop()
        .ok_or_else(|| ServerError::NotFound(format!("没有这份报告 {id} / no report {id}")))
}

async fn rows(
    state: &AppState,
    id: Option<i64>,
    reporter: Option<i64>,
) -> Result<Vec<ReportRow>, ServerError> {
    state
        .db
        .call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT w.id, w.name, w.credit_code, w.kind, w.note, u.username, w.reported_at, w.status
                 FROM credit_warnings w JOIN users u ON u.id = w.reported_by
                 WHERE (w.id = ?1 OR ?1 IS NULL) AND (w.reported_by = ?2 OR ?2 IS NULL OR w.status = 'confirmed')
                 ORDER BY w.id",
            )?;
            let rows = stmt.query_map(params![id, reporter], |r| {
                Ok(ReportRow {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    credit_code: r.get(2)?,
                    kind: r.get(3)?,
                    note: r.get(4)?,
                    reported_by: r.get(5)?,
                    reported_at: r.get(6)?,
                    status: r.get(7)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
}

/// `GET /api/warnings`: the center sees every report; others their own and the confirmed ones.
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<ReportRow>>, ServerError> {
    let reporter = (user.role != Role::Admin).then_some(user.id);
    let mut out = rows(&state, None, reporter).await?;
    // Tablets need only who and which kind; the case notes stay with the center
    // and the reporter.
    if user.role != Role::Admin {
        for r in out.iter_mut().filter(|r| r.reported_by != user.username) {
            r.note.clear();
        }
    }
    Ok(Json(out))
}

/// `POST /api/warnings/{id}/confirm` (center only): the warning goes to every user.
pub async fn confirm(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<ReportRow>, ServerError> {
    decide(&state, &user, id, "confirmed").await
}

/// `POST /api/warnings/{id}/reject` (center only).
pub async fn reject(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
) -> Result<Json<ReportRow>, ServerError> {
    decide(&state, &user, id, "rejected").await
}

async fn decide(
    state: &AppState,
    user: &AuthUser,
    id: i64,
    status: &'static str,
) -> Result<Json<ReportRow>, ServerError> {
    crate::decisions::decide_warning(state, user, id, status).await?;
    Ok(Json(one(state, id).await?))
}
