//! `GET /api/followups`: follow-ups 督办 over a unit subtree, by state (open,
//! overdue, done), from the projection (`followup_index`). The state and the
//! overdue rule are the shared ones (`fieldbook_shared::followups`).

use axum::Json;
use axum::extract::{Query, State};
use axum::routing::get;
use fieldbook_shared::api::FollowUpRow;
use fieldbook_shared::customer::FollowUp;
use fieldbook_shared::followups::Filter;
use fieldbook_shared::vocab::FollowUpState;
use serde::Deserialize;

use super::openapi::{Endpoint, ep, schema};
use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::state::AppState;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("get", "/api/followups", "Follow-ups (督办) over a unit subtree: open, overdue, done or all", true, &[("state", "open | overdue | done | all (default)"), ("unit", "unit code (default: the caller's)")], None, schema::<Vec<FollowUpRow>>, get(list)),
    ]
}

#[derive(Debug, Deserialize)]
pub struct FollowUpQuery {
    pub state: Option<String>,
    pub unit: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<FollowUpQuery>,
) -> Result<Json<Vec<FollowUpRow>>, ServerError> {
    Ok(Json(rows(&state, &user, q.state.as_deref(), q.unit).await?))
}

/// The follow-ups `user` sees in `unit`'s subtree that `filter` admits,
/// overdue first, then by due day (also the export's rows).
pub async fn rows(
    state: &AppState,
    user: &AuthUser,
    filter: Option<&str>,
    unit: Option<String>,
) -> Result<Vec<FollowUpRow>, ServerError> {
    let word = filter.unwrap_or("all");
    let Some(filter) = Filter::parse(word) else {
        return Err(ServerError::BadRequest(format!(
            "没有状态 {word}：可用 open（待办）、overdue（逾期）、done（已办结）或 all / no state {word}: use open, overdue, done or all"
        )));
    };
    let (_, docs) = super::reports::scope(state, user, unit)?;
    let today = crate::today();
    let mut rows = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT f.doc_id, i.name, cu.unit, COALESCE(un.name, cu.unit), f.id, f.visit_date,
                        f.action, f.owner, COALESCE(u.display_name, f.owner), f.due, f.state,
                        f.forwarded_to, f.result, f.told_customer, f.told_on, f.closed_by, f.closed_at
                 FROM followup_index f
                 JOIN customer_index i ON i.doc_id = f.doc_id
                 JOIN customers cu ON cu.doc_id = f.doc_id
                 LEFT JOIN units un ON un.code = cu.unit
                 LEFT JOIN users u ON u.username = f.owner
                 WHERE f.doc_id = ?1",
            )?;
            let mut out = Vec::new();
            for doc in docs {
                let found = stmt.query_map([&doc], |r| {
                    let state = FollowUpState::parse(&r.get::<_, String>(10)?);
                    Ok(FollowUpRow {
                        doc_id: r.get(0)?,
                        customer: r.get(1)?,
                        unit: r.get(2)?,
                        unit_name: r.get(3)?,
                        id: r.get(4)?,
                        visit_date: r.get(5)?,
                        action: r.get(6)?,
                        owner: r.get(7)?,
                        owner_name: r.get(8)?,
                        due: r.get(9)?,
                        state,
                        overdue: false,
                        forwarded_to: r.get(11)?,
                        result: r.get(12)?,
                        told_customer: r.get(13)?,
                        told_on: r.get(14)?,
                        closed_by: r.get(15)?,
                        closed_at: r.get(16)?,
                    })
                })?;
                for row in found {
                    out.push(row?);
                }
            }
            Ok(out)
        })
        .await?;
    // The shared rule decides, on the same fields the tablet reads.
    rows.retain_mut(|r| {
        let f = FollowUp {
            state: r.state.clone(),
            due: r.due.clone(),
            ..Default::default()
        };
        r.overdue = f.is_overdue(&today);
        filter.admits(&f, &today)
    });
    rows.sort_by(|a, b| {
        (!a.overdue, a.due.is_empty(), &a.due, &a.customer).cmp(&(
            !b.overdue,
            b.due.is_empty(),
            &b.due,
            &b.customer,
        ))
    });
    Ok(rows)
}
