//! `GET /api/events`: the customer events 联谊活动 / 座谈会 of the caller's
//! subtree (any event one of its customers was invited to), newest first.
//! Events are held from the tablet (a desk request: `decisions::create_event`).

use axum::Json;
use axum::extract::{Query, State};
use axum::routing::get;
use fieldbook_shared::api::EventRow;
use serde::Deserialize;

use super::openapi::{Endpoint, ep, schema};
use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::state::AppState;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("get", "/api/events", "Customer events 联谊活动 / 座谈会 with invitees in a unit subtree", true, &[("unit", "unit code (default: the caller's)")], None, schema::<Vec<EventRow>>, get(list)),
    ]
}

#[derive(Debug, Deserialize)]
pub struct EventQuery {
    pub unit: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<EventQuery>,
) -> Result<Json<Vec<EventRow>>, ServerError> {
    let (_, docs) = super::reports::scope(&state, &user, q.unit)?;
    let docs: std::collections::HashSet<String> = docs.into_iter().collect();
    let rows = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare(
                "SELECT e.id, e.kind, e.title, e.date, e.place, COALESCE(u.display_name, ''),
                        i.doc_id, i.attended
                 FROM events e JOIN event_invitees i ON i.event_id = e.id
                 LEFT JOIN users u ON u.id = e.created_by
                 ORDER BY e.date DESC, e.id",
            )?;
            let mut out: Vec<EventRow> = Vec::new();
            let mut rows = stmt.query(())?;
            while let Some(r) = rows.next()? {
                let doc: String = r.get(6)?;
                if !docs.contains(&doc) {
                    continue;
                }
                let id: String = r.get(0)?;
                if out.last().is_none_or(|e| e.id != id) {
                    out.push(EventRow {
                        id,
                        kind: r.get(1)?,
                        title: r.get(2)?,
                        date: r.get(3)?,
                        place: r.get(4)?,
                        held_by: r.get(5)?,
                        invited: 0,
                        attended: 0,
                    });
                }
                if let Some(e) = out.last_mut() {
                    e.invited += 1;
                    e.attended += usize::from(r.get::<_, bool>(7)?);
                }
            }
            Ok(out)
        })
        .await?;
    Ok(Json(rows))
}
