//! `GET /api/worklogs`: the managers' months for a head's month-end review
//! 月末核实 — hand-ins, the work log's free notes, reviews — over a unit
//! subtree. The rest of a month's work (visits, follow-ups, care) the head's
//! tablet reads from the customer documents it holds.

use crate::store::sql::params;
use axum::Json;
use axum::extract::{Query, State};
use axum::routing::get;
use fieldbook_shared::api::ManagerMonth;
use fieldbook_shared::vocab::Role;
use serde::Deserialize;

use super::openapi::{Endpoint, ep, schema};
use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::state::AppState;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("get", "/api/worklogs", "The managers' months for the month-end review 月末核实 (a head: their subtree): hand-in, free notes, review", true, &[("month", "YYYY-MM (default: this month)"), ("unit", "unit code (default: the caller's)")], None, schema::<Vec<ManagerMonth>>, get(list)),
    ]
}

#[derive(Debug, Deserialize)]
pub struct WorklogQuery {
    pub month: Option<String>,
    pub unit: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<WorklogQuery>,
) -> Result<Json<Vec<ManagerMonth>>, ServerError> {
    if !matches!(user.role, Role::Head | Role::Admin) {
        return Err(ServerError::Forbidden(
            "月末核实只属于首席客户经理和大客中心 / the month-end review is for heads and the center".into(),
        ));
    }
    let month = q.month.unwrap_or_else(crate::this_month);
    if !fieldbook_shared::desk::is_month(&month) {
        return Err(ServerError::BadRequest(format!(
            "看不懂的月份 {month}：请用 YYYY-MM / not a month: {month} (use YYYY-MM)"
        )));
    }
    let (unit, _) = super::reports::scope(&state, &user, q.unit)?;
    let managers: Vec<(i64, String, String, String, String)> = state
        .db
        .call(|c| {
            let mut stmt = c.prepare(
                "SELECT u.id, u.username, u.display_name, u.unit, COALESCE(n.name, u.unit)
                 FROM users u LEFT JOIN units n ON n.code = u.unit
                 WHERE u.role = 'manager' AND u.disabled = 0 ORDER BY u.unit, u.username",
            )?;
            let rows = stmt
                .query_map((), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await?;
    let managers: Vec<_> = managers
        .into_iter()
        .filter(|m| unit.is_empty() || state.acl.is_within(&m.3, &unit))
        .collect();
    let out = state
        .db
        .call(move |c| {
            let mut hand_in = c.prepare_cached(
                "SELECT submitted_at, note FROM worklog_submissions WHERE user_id = ?1 AND month = ?2",
            )?;
            let mut notes = c.prepare_cached(
                "SELECT day, time, text FROM worklog_notes
                 WHERE user_id = ?1 AND substr(day, 1, 7) = ?2 ORDER BY day, time, id",
            )?;
            let mut review = c.prepare_cached(
                "SELECT u.display_name, r.comment, r.reviewed_at FROM month_reviews r
                 JOIN users u ON u.id = r.reviewer_id WHERE r.user_id = ?1 AND r.month = ?2",
            )?;
            let mut out = Vec::new();
            for (id, username, display_name, _, unit_name) in managers {
                use crate::store::sql::OptionalExtension;
                out.push(ManagerMonth {
                    username,
                    display_name,
                    unit_name,
                    handed_in: hand_in
                        .query_row(params![id, month], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()?,
                    notes: notes
                        .query_map(params![id, month], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                        .collect::<Result<Vec<_>, _>>()?,
                    review: review
                        .query_row(params![id, month], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                        })
                        .optional()?,
                });
            }
            Ok(out)
        })
        .await?;
    Ok(Json(out))
}
