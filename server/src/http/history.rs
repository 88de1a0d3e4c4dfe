//! `GET /api/customers/{id}/history`: who changed which field, newest first
//! (each change named as `history.rs` records it).

use crate::store::sql::OptionalExtension;
use automerge::ChangeHash;
use axum::Json;
use axum::extract::{Path, State};
use axum::routing::get;
use fieldbook_shared::access::Access;
use fieldbook_shared::customer::Customer;
use fieldbook_shared::history::{FieldChange, HistoryEntry, field_changes};
use samod::DocumentId;

use super::openapi::{Endpoint, NO, ep, schema};
use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::state::AppState;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("get", "/api/customers/{id}/history", "A customer's per-field history, newest first", true, NO, None, schema::<Vec<HistoryEntry>>, get(history)),
    ]
}

/// At most this many changes are shown, the latest.
const MAX_ENTRIES: usize = 200;

/// `GET /api/customers/{id}/history`: the customer's changes, newest first.
pub async fn history(
    State(state): State<AppState>,
    user: AuthUser,
    Path(doc_id): Path<String>,
) -> Result<Json<Vec<HistoryEntry>>, ServerError> {
    if state.acl.access(user.id, &doc_id) == Access::None {
        return Err(ServerError::NotFound(format!(
            "没有这个客户 {doc_id} / no customer {doc_id}"
        )));
    }
    let id: DocumentId = doc_id.parse().map_err(|_| {
        ServerError::NotFound(format!("没有这个客户 {doc_id} / no customer {doc_id}"))
    })?;
    let Some(handle) = state.repo.find(id).await? else {
        return Err(ServerError::NotFound(format!(
            "没有这个客户 {doc_id} / no customer {doc_id}"
        )));
    };
    // (hash, actor, seconds, [changes]) for each change, oldest first.
    let steps = handle.with_document(|doc| {
        let changes = doc.get_changes(&[]);
        let start = changes.len().saturating_sub(MAX_ENTRIES);
        changes[start..]
            .iter()
            .map(|c| {
                let at = |heads: &[ChangeHash]| {
                    Customer::load(&doc.fork_at(heads).unwrap_or_default()).unwrap_or_default()
                };
                let (before, after) = (at(c.deps()), at(&[c.hash()]));
                (
                    c.hash().to_string(),
                    c.actor_id().to_hex_string(),
                    c.timestamp(),
                    if c.deps().is_empty() {
                        // The registration itself: one line, not every field.
                        vec![FieldChange {
                            field: "登记客户".into(),
                            from: String::new(),
                            to: after.name.clone(),
                        }]
                    } else {
                        field_changes(&before, &after)
                    },
                )
            })
            .collect::<Vec<_>>()
    });
    let noted = state.authors.peek(&doc_id);
    let entries = state
        .db
        .call(move |c| {
            // Who delivered it (recorded, else noted and not yet recorded),
            // else the server's actor it was written with. A recorded change
            // with no deliverer is not looked up in the notes: a note for it
            // is a tablet echoing what the server already had.
            let mut delivered = c.prepare_cached(
                "SELECT u.username FROM change_log l LEFT JOIN users u ON u.id = l.user_id
                 WHERE l.hash = ?1",
            )?;
            let mut noted_user = c.prepare_cached("SELECT username FROM users WHERE id = ?1")?;
            let mut by_actor = c.prepare_cached(
                "SELECT u.username FROM actors a JOIN users u ON u.id = a.user_id
                 WHERE a.actor = ?1",
            )?;
            let mut seen = c.prepare_cached("SELECT seen_ms FROM change_log WHERE hash = ?1")?;
            let mut display =
                c.prepare_cached("SELECT display_name FROM users WHERE username = ?1")?;
            let mut out = Vec::new();
            for (hash, actor, seconds, changes) in steps.into_iter().rev() {
                let recorded: Option<Option<String>> =
                    delivered.query_row([&hash], |r| r.get(0)).optional()?;
                let mut user = recorded.clone().flatten();
                if recorded.is_none()
                    && let Some(id) = noted.get(&hash)
                {
                    user = noted_user.query_row([id], |r| r.get(0)).optional()?;
                }
                if user.is_none() {
                    user = by_actor.query_row([&actor], |r| r.get(0)).optional()?;
                }
                let user = user.unwrap_or_default();
                let user_name: String = display
                    .query_row([&user], |r| r.get(0))
                    .optional()?
                    .unwrap_or_default();
                let (at, received) = if seconds > 0 {
                    (chrono::DateTime::from_timestamp(seconds, 0), false)
                } else {
                    let ms: Option<i64> = seen.query_row([&hash], |r| r.get(0)).optional()?;
                    (ms.and_then(chrono::DateTime::from_timestamp_millis), true)
                };
                out.push(HistoryEntry {
                    at: at
                        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                        .unwrap_or_default(),
                    received,
                    user,
                    user_name,
                    device: actor.chars().take(8).collect(),
                    changes,
                });
            }
            Ok(out)
        })
        .await?;
    Ok(Json(entries))
}
