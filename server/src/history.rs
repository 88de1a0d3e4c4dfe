//! Who changed what (per-field history). Each device's automerge actor is bound
//! to its user the first time its changes arrive: the sync pump notes which
//! users sent changes to a document, and when the projector finds new actors in
//! a batch that only one user sent, they are that user's. Changes the server
//! makes on someone's behalf (hand-overs, imports) use an actor of that user's.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use automerge::{ActorId, Automerge, ChangeHash, ReadDoc};
use axum::Json;
use axum::extract::{Path, State};
use fieldbook_shared::access::Access;
use fieldbook_shared::customer::Customer;
use fieldbook_shared::history::{FieldChange, HistoryEntry, field_changes};
use rusqlite::{OptionalExtension, params};
use samod::DocumentId;

use crate::app::AppState;
use crate::auth::AuthUser;
use crate::error::ServerError;

/// The users who sent changes to each document since its last projection.
#[derive(Clone, Default)]
pub struct Authors(Arc<Mutex<HashMap<String, BTreeSet<i64>>>>);

impl Authors {
    /// Called by the sync pump for every incoming `sync` frame.
    pub fn note_frame(&self, frame: &[u8], user: i64) {
        use fieldbook_shared::peer::wire::Message;
        let Ok(Message::Sync { doc, data, .. }) = Message::decode(frame) else {
            return;
        };
        let carries_changes = automerge::sync::Message::decode(&data)
            .map(|m| !m.changes.is_empty())
            .unwrap_or(false);
        if carries_changes {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(doc)
                .or_default()
                .insert(user);
        }
    }

    fn take(&self, doc: &str) -> BTreeSet<i64> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(doc)
            .unwrap_or_default()
    }
}

/// The actor the server writes with on behalf of `user`.
pub fn actor_for_user(user: i64) -> ActorId {
    let mut bytes = b"fieldbook-server-for-user-".to_vec();
    bytes.extend(user.to_be_bytes());
    ActorId::from(bytes)
}

/// Binds the server's actor for `user` (call before writing on their behalf).
pub async fn bind_server_actor(state: &AppState, user: i64) -> Result<ActorId, ServerError> {
    let actor = actor_for_user(user);
    let hex = actor.to_hex_string();
    state
        .db
        .call(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO actors (actor, user_id, bound_at) VALUES (?1, ?2, ?3)",
                params![hex, user, crate::now()],
            )?;
            Ok(())
        })
        .await?;
    Ok(actor)
}

/// The changes of `doc` not in `since` (its heads at the last projection).
pub fn new_changes(doc: &Automerge, since: &str) -> Vec<(String, String)> {
    let heads: Vec<ChangeHash> = since
        .split(',')
        .filter_map(|h| h.parse().ok())
        .filter(|h| doc.get_change_by_hash(h).is_some())
        .collect();
    doc.get_changes(&heads)
        .iter()
        .map(|c| (c.hash().to_string(), c.actor_id().to_hex_string()))
        .collect()
}

/// Records newly seen changes and binds their actors when one user sent them.
pub fn record(
    tx: &rusqlite::Transaction,
    doc: &str,
    changes: &[(String, String)],
    senders: &BTreeSet<i64>,
) -> rusqlite::Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    let mut seen = tx.prepare_cached(
        "INSERT OR IGNORE INTO change_log (hash, doc_id, seen_ms) VALUES (?1, ?2, ?3)",
    )?;
    let mut bind = tx.prepare_cached(
        "INSERT OR IGNORE INTO actors (actor, user_id, bound_at) VALUES (?1, ?2, ?3)",
    )?;
    let only = (senders.len() == 1).then(|| *senders.first().unwrap_or(&0));
    for (hash, actor) in changes {
        seen.execute(params![hash, doc, now])?;
        if let Some(user) = only {
            bind.execute(params![actor, user, crate::now()])?;
        }
    }
    Ok(())
}

/// Takes the senders noted for `doc` (the projector calls this once per pass).
pub fn senders(state: &AppState, doc: &str) -> BTreeSet<i64> {
    state.authors.take(doc)
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
        return Err(ServerError::NotFound(format!("no customer {doc_id}")));
    }
    let id: DocumentId = doc_id
        .parse()
        .map_err(|_| ServerError::NotFound(format!("no customer {doc_id}")))?;
    let Some(handle) = state.repo.find(id).await? else {
        return Err(ServerError::NotFound(format!("no customer {doc_id}")));
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
    let entries = state
        .db
        .call(move |c| {
            let mut who = c.prepare_cached(
                "SELECT u.username FROM actors a JOIN users u ON u.id = a.user_id WHERE a.actor = ?1",
            )?;
            let mut seen = c.prepare_cached("SELECT seen_ms FROM change_log WHERE hash = ?1")?;
            let mut out = Vec::new();
            for (hash, actor, seconds, changes) in steps.into_iter().rev() {
                let user: String = who
                    .query_row([&actor], |r| r.get(0))
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
                    device: actor.chars().take(8).collect(),
                    changes,
                });
            }
            Ok(out)
        })
        .await?;
    Ok(Json(entries))
}
