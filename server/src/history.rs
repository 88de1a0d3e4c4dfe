//! Who changed what (per-field history). A change is the user's whose
//! signed-in connection delivered it first: the sync pump (and the late-change
//! endpoint) note each change's hash with its sender, and the projector keeps
//! that in `change_log.user_id` when it records the change. The actor a change
//! names is not trusted: anyone who shares a document sees its actors and can
//! write with one (issue #30, docs/security.md). Changes the server makes on
//! someone's behalf (hand-overs, imports, approvals) carry no sender; they are
//! named by the server's actor for that user (`actors`), as are changes the
//! server recorded before deliverers were kept.

use std::collections::BTreeSet;

use crate::store::sql::params;
use automerge::{ActorId, Automerge, ChangeHash, ReadDoc};

use crate::error::ServerError;
use crate::state::AppState;

pub use crate::sync::authors::{Authors, Senders};

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

/// Writes to a customer's document on `user`'s behalf (hand-overs, approvals,
/// imports): as the server's actor for them, and noted as theirs at once, so
/// that a tablet echoing the change before the projector records it cannot
/// take it.
pub async fn write_for_user<T>(
    state: &AppState,
    handle: &samod::DocHandle,
    user: i64,
    write: impl FnOnce(&mut Automerge) -> Result<T, ServerError>,
) -> Result<T, ServerError> {
    let actor = bind_server_actor(state, user).await?;
    write_as(state, handle, actor, user, write)
}

/// [`write_for_user`] with the actor already bound: an import writing to a
/// thousand customers binds it once, not in a database write per customer.
pub fn write_as<T>(
    state: &AppState,
    handle: &samod::DocHandle,
    actor: ActorId,
    user: i64,
    write: impl FnOnce(&mut Automerge) -> Result<T, ServerError>,
) -> Result<T, ServerError> {
    let (out, hashes) = handle.with_document(|d| {
        let before = d.get_heads();
        d.set_actor(actor);
        let out = write(d)?;
        let hashes: BTreeSet<String> = d
            .get_changes(&before)
            .iter()
            .map(|c| c.hash().to_string())
            .collect();
        Ok::<_, ServerError>((out, hashes))
    })?;
    state
        .authors
        .note(&handle.document_id().to_string(), hashes, user);
    Ok(out)
}

/// The hashes of a document's changes, to note a document the server
/// creates for someone (imports) with [`Authors::note`].
pub fn hashes_of(doc: &Automerge) -> BTreeSet<String> {
    doc.get_changes(&[])
        .iter()
        .map(|c| c.hash().to_string())
        .collect()
}

/// The changes of `doc` not in `since` (its heads at the last projection).
pub fn new_changes(doc: &Automerge, since: &str) -> Vec<(String, String)> {
    let heads: Vec<ChangeHash> = since
        .split(',')
        .filter_map(|h| h.parse().ok())
        .filter(|h| doc.get_change_by_hash(h).is_some())
        .collect();
    // The changes' metadata only: building every change (`get_changes`)
    // encodes each, which for a customer never projected is all of them.
    doc.get_changes_meta(&heads)
        .iter()
        .map(|c| (c.hash.to_string(), c.actor.to_hex_string()))
        .collect()
}

/// Records newly seen changes, each with the user who delivered it.
pub fn record(
    tx: &crate::store::sql::Transaction,
    doc: &str,
    changes: &[(String, String)],
    senders: &Senders,
) -> crate::store::sql::Result<()> {
    let now = chrono::Utc::now().timestamp_millis();
    let mut seen = tx.prepare_cached(
        "INSERT OR IGNORE INTO change_log (hash, doc_id, seen_ms, user_id)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (hash, _) in changes {
        seen.execute(params![hash, doc, now, senders.get(hash)])?;
    }
    Ok(())
}

/// The senders of `changes`, the new changes of `doc` (the projector calls
/// this once per pass, after reading the document).
pub fn senders(state: &AppState, doc: &str, changes: &[(String, String)]) -> Senders {
    state.authors.take(doc, changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::SyncDoc;
    use fieldbook_shared::peer::wire::Message as Wire;

    /// The changes since a projection's heads: each new change once, with its
    /// actor, and none of those the heads already cover.
    #[test]
    fn new_changes_are_those_after_the_heads_with_their_actors() {
        let put = |doc: &mut Automerge, v: &str| {
            doc.transact::<_, _, automerge::AutomergeError>(|tx| {
                automerge::transaction::Transactable::put(tx, automerge::ROOT, "k", v).map(|_| ())
            })
            .unwrap();
        };
        let mut doc = Automerge::new().with_actor(ActorId::from(b"aaaa".as_slice()));
        put(&mut doc, "1");
        let first = doc.get_heads();
        let mut other = doc.fork().with_actor(ActorId::from(b"bbbb".as_slice()));
        put(&mut other, "2");
        put(&mut doc, "3");
        doc.merge(&mut other).unwrap();
        let since = |h: &[ChangeHash]| {
            h.iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        let all = new_changes(&doc, "");
        let expected: Vec<(String, String)> = doc
            .get_changes(&[])
            .iter()
            .map(|c| (c.hash().to_string(), c.actor_id().to_hex_string()))
            .collect();
        let sorted = |mut v: Vec<(String, String)>| {
            v.sort();
            v
        };
        assert_eq!(sorted(all.clone()), sorted(expected));
        assert_eq!(all.len(), 3);
        let later = new_changes(&doc, &since(&first));
        assert_eq!(later.len(), 2);
        assert!(later.iter().all(|(h, _)| h != &first[0].to_string()));
        let actors: std::collections::BTreeSet<&str> =
            later.iter().map(|(_, a)| a.as_str()).collect();
        assert_eq!(
            actors,
            [hex::encode("aaaa"), hex::encode("bbbb")]
                .iter()
                .map(|s| s.as_str())
                .collect()
        );
        assert!(new_changes(&doc, &since(&doc.get_heads())).is_empty());
    }

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

    /// The hash of the one change in `frame_from(actor)`.
    fn hash_of(actor: &str) -> String {
        crate::sync::check_changes(&frame_from(actor))
            .unwrap()
            .into_iter()
            .next()
            .unwrap()
    }

    /// Two users' changes reach one projection (it gathers while busy): each
    /// change is recorded as its first deliverer's, whatever actor it names —
    /// user 2 writing as user 1's actor is still user 2 (issue #30: before,
    /// an actor already bound to user 1 named user 1 for it).
    #[test]
    fn each_change_is_recorded_as_its_first_deliverers() {
        let authors = Authors::default();
        let note = |actor: &str, user| {
            let hashes = crate::sync::check_changes(&frame_from(actor)).unwrap();
            authors.note("doc1", hashes, user);
        };
        note("actor-one", 1);
        note("actor-two", 2);
        note("actor-both", 1);
        note("actor-both", 2); // the same change again, from user 2
        let forged = "actor-one-but-different-content";
        note(forged, 2);
        let hex = |a: &str| ActorId::from(a.as_bytes()).to_hex_string();
        let changes: Vec<(String, String)> = ["actor-one", "actor-two", "actor-both", forged]
            .iter()
            .map(|a| (hash_of(a), hex(a)))
            .collect();
        let senders = authors.take("doc1", &changes);
        assert!(authors.take("doc1", &changes).is_empty(), "taken once");

        let mut conn = crate::store::sql::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE change_log (hash TEXT PRIMARY KEY, doc_id TEXT, seen_ms INTEGER, user_id INTEGER);",
        )
        .unwrap();
        let tx = conn.transaction().unwrap();
        record(&tx, "doc1", &changes, &senders).unwrap();
        tx.commit().unwrap();
        let user = |a: &str| -> Option<i64> {
            conn.query_row(
                "SELECT user_id FROM change_log WHERE hash = ?1",
                [hash_of(a)],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(user("actor-one"), Some(1));
        assert_eq!(user("actor-two"), Some(2));
        assert_eq!(user("actor-both"), Some(1), "the first deliverer keeps it");
        assert_eq!(user(forged), Some(2));
    }

    /// A change noted just before samod applies it may miss the projection
    /// that takes the notes: its note waits one more pass, then goes, and
    /// the sweep forgets notes no projection ever takes.
    #[test]
    fn a_note_waits_one_projection_and_the_sweep_forgets_stale_ones() {
        let authors = Authors::default();
        let late = hash_of("late");
        authors.note("doc1", BTreeSet::from([late.clone()]), 7);
        assert!(authors.take("doc1", &[]).is_empty());
        assert_eq!(
            authors.peek("doc1").get(&late),
            Some(&7),
            "kept for the next pass"
        );
        let next = authors.take("doc1", &[(late.clone(), String::new())]);
        assert_eq!(next.get(&late), Some(&7));

        authors.note("doc1", BTreeSet::from([hash_of("never")]), 7);
        authors.take("doc1", &[]);
        authors.take("doc1", &[]);
        assert!(authors.peek("doc1").is_empty(), "dropped after one wait");

        authors.note("junk", BTreeSet::from([hash_of("junk")]), 7);
        assert_eq!(
            authors.forget_older_than(std::time::Duration::from_secs(60)),
            0
        );
        assert_eq!(authors.forget_older_than(std::time::Duration::ZERO), 1);
        assert!(authors.peek("junk").is_empty());
    }
}
