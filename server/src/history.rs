//! Who changed what (per-field history). Each device's automerge actor is bound
//! to its user the first time its changes arrive: the sync pump notes which
//! users sent changes by which actor, and when the projector records new
//! changes, an actor only one user sent is that user's. (Noted per actor, not
//! per projection: projections gather many users' changes while busy.) Changes the server
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

/// Who sent changes by each actor (hex), for one document.
pub type Senders = HashMap<String, BTreeSet<i64>>;

/// The users who sent changes to each document since its last projection.
#[derive(Clone, Default)]
pub struct Authors(Arc<Mutex<HashMap<String, Senders>>>);

impl Authors {
    /// Called by the sync pump for every incoming `sync` frame of `doc`, with
    /// the actors of its changes (from `sync::check_changes`).
    pub fn note(&self, doc: &str, actors: BTreeSet<String>, user: i64) {
        if actors.is_empty() {
            return;
        }
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let senders = all.entry(doc.to_string()).or_default();
        for actor in actors {
            senders.entry(actor).or_default().insert(user);
        }
    }

    fn take(&self, doc: &str) -> Senders {
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
    senders: &Senders,
) -> rusqlite::Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    let mut seen = tx.prepare_cached(
        "INSERT OR IGNORE INTO change_log (hash, doc_id, seen_ms) VALUES (?1, ?2, ?3)",
    )?;
    let mut bind = tx.prepare_cached(
        "INSERT OR IGNORE INTO actors (actor, user_id, bound_at) VALUES (?1, ?2, ?3)",
    )?;
    // A tablet writes as its session's peer id and 8 random bytes per start
    // of the app (shared/src/peer); the peer id was bound to its user at login.
    let mut by_session = tx.prepare_cached(
        "INSERT OR IGNORE INTO actors (actor, user_id, bound_at)
         SELECT ?1, user_id, ?3 FROM actors WHERE actor = ?2",
    )?;
    for (hash, actor) in changes {
        seen.execute(params![hash, doc, now])?;
        if let Some(session) = actor.get(..actor.len().saturating_sub(16))
            && actor.len() > 16
        {
            by_session.execute(params![actor, session, crate::now()])?;
        }
        if let Some(users) = senders.get(actor)
            && let [user] = users.iter().collect::<Vec<_>>()[..]
        {
            bind.execute(params![actor, user, crate::now()])?;
        }
    }
    Ok(())
}

/// Takes the senders noted for `doc` (the projector calls this once per pass).
pub fn senders(state: &AppState, doc: &str) -> Senders {
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
            // The actor itself, else (a tablet's change not yet projected)
            // the session whose peer id it starts with.
            let mut who = c.prepare_cached(
                "SELECT u.username FROM actors a JOIN users u ON u.id = a.user_id
                 WHERE a.actor = ?1 OR a.actor = ?2 ORDER BY length(a.actor) DESC LIMIT 1",
            )?;
            let mut seen = c.prepare_cached("SELECT seen_ms FROM change_log WHERE hash = ?1")?;
            let mut out = Vec::new();
            for (hash, actor, seconds, changes) in steps.into_iter().rev() {
                let session = actor.get(..actor.len().saturating_sub(16)).unwrap_or("");
                let user: String = who
                    .query_row([actor.as_str(), session], |r| r.get(0))
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

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::SyncDoc;
    use fieldbook_shared::peer::wire::Message as Wire;

    /// A sync frame carrying one change made by `actor`.
    fn frame_from(actor: &str) -> Vec<u8> {
        let mut doc = Automerge::new().with_actor(ActorId::from(actor.as_bytes()));
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            automerge::transaction::Transactable::put(tx, automerge::ROOT, "k", actor).map(|_| ())
        })
        .unwrap();
        let mut m = doc
            .generate_sync_message(&mut automerge::sync::State::new())
            .unwrap();
        m.changes = vec![doc.get_changes(&[])[0].raw_bytes().to_vec()].into();
        Wire::Sync {
            doc: "doc1".into(),
            sender: "p".into(),
            target: "s".into(),
            data: m.encode(),
        }
        .encode()
    }

    /// Two users' changes reach one projection (it gathers while busy): each
    /// actor is still bound to the one user who sent it, and an actor two users
    /// sent is bound to neither.
    #[test]
    fn actors_are_bound_per_actor_not_per_projection() {
        let authors = Authors::default();
        let note = |actor: &str, user| {
            let actors = crate::sync::check_changes(&frame_from(actor)).unwrap();
            authors.note("doc1", actors, user);
        };
        note("actor-one", 1);
        note("actor-two", 2);
        note("actor-both", 1);
        note("actor-both", 2);
        let senders = authors.take("doc1");
        assert!(authors.take("doc1").is_empty(), "taken once");

        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE change_log (hash TEXT PRIMARY KEY, doc_id TEXT, seen_ms INTEGER);
             CREATE TABLE actors (actor TEXT PRIMARY KEY, user_id INTEGER, bound_at TEXT);",
        )
        .unwrap();
        let hex = |a: &str| ActorId::from(a.as_bytes()).to_hex_string();
        let changes: Vec<(String, String)> = ["actor-one", "actor-two", "actor-both"]
            .iter()
            .enumerate()
            .map(|(i, a)| (format!("h{i}"), hex(a)))
            .collect();
        // A tablet's actor: its session's peer id, bound at login, then 8
        // random bytes; bound to the session's user whoever sent it.
        conn.execute(
            "INSERT INTO actors VALUES (?1, 3, 'login')",
            [hex("fb-session")],
        )
        .unwrap();
        let tablet = hex("fb-session") + "0102030405060708";
        let mut changes = changes;
        changes.push(("h9".into(), tablet.clone()));
        let tx = conn.transaction().unwrap();
        record(&tx, "doc1", &changes, &senders).unwrap();
        tx.commit().unwrap();
        let bound = |a: &str| -> Option<i64> {
            conn.query_row(
                "SELECT user_id FROM actors WHERE actor = ?1",
                [hex(a)],
                |r| r.get(0),
            )
            .optional()
            .unwrap()
        };
        assert_eq!(bound("actor-one"), Some(1));
        assert_eq!(bound("actor-two"), Some(2));
        assert_eq!(bound("actor-both"), None);
        let by_tablet: Option<i64> = conn
            .query_row(
                "SELECT user_id FROM actors WHERE actor = ?1",
                [&tablet],
                |r| r.get(0),
            )
            .optional()
            .unwrap();
        assert_eq!(by_tablet, Some(3));
    }
}
