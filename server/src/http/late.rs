//! Changes made before access ended (docs/domain.md, "Work done offline"):
//! a manager who logged a visit offline, while the customer was handed to
//! someone else, still delivers it. The tablet posts the changes the server
//! does not have; the server accepts them if none of them was made after the
//! device had seen the hand-over, which the Automerge change graph shows: a
//! change made after seeing it has the hand-over's change among its ancestors.
//! Anything refused is refused with a reason the tablet shows; nothing is
//! dropped in silence.

use std::collections::HashSet;

use crate::store::sql::{OptionalExtension, params};
use automerge::{Automerge, ChangeHash, ReadDoc};
use axum::Json;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, State};
use axum::routing::post;
use fieldbook_shared::access::Access;
use samod::DocumentId;
use serde::Serialize;

use super::openapi::{Endpoint, NO, ep, file, schema};
use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::state::AppState;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("post", "/api/customers/{id}/late-changes", "Deliver changes made offline before access ended (a hand-over): the body is Automerge changes; 409 with the reason when refused", true, NO, Some(file), schema::<LateChanges>, post(deliver).layer(DefaultBodyLimit::max(16 * 1024 * 1024))),
    ]
}

/// The answer of `POST /api/customers/{id}/late-changes`.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LateChanges {
    /// Changes the server did not have and now has.
    pub accepted: usize,
}

/// The most changes one delivery may hold.
pub const MAX_CHANGES: usize = 2_000;

/// Why the user may deliver changes to `doc`: they may write it now, or they
/// lost it in a hand-over whose change on the document is `Some(hash)`.
enum Standing {
    Writes,
    HandedOver {
        change: Option<ChangeHash>,
        to: String,
        at: String,
    },
}

/// The changes of `doc` that descend from `root` (itself included).
fn descendants(doc: &Automerge, root: ChangeHash) -> HashSet<ChangeHash> {
    let mut after = HashSet::from([root]);
    // get_changes(&[]) is in causal order: a change comes after its deps.
    for c in doc.get_changes(&[]) {
        if c.deps().iter().any(|d| after.contains(d)) {
            after.insert(c.hash());
        }
    }
    after
}

/// Checks a delivery against the rule; `Ok` holds the document with the
/// changes applied (a fork) and how many were new.
pub fn check(
    current: &Automerge,
    body: &[u8],
    handover: Option<ChangeHash>,
) -> Result<(Automerge, usize), String> {
    // Every Automerge chunk starts with these bytes; load_incremental skips
    // what it cannot read, so anything else is refused here.
    if !body.starts_with(&[0x85, 0x6f, 0x4a, 0x83]) {
        return Err("内容不是 Automerge 修改 / the body is not Automerge changes".into());
    }
    let mut merged = current.fork();
    merged
        .load_incremental(body)
        .map_err(|e| format!("无法读取这些修改（{e}） / the changes cannot be read: {e}"))?;
    if !merged.get_missing_deps(&[]).is_empty() {
        return Err(
            "这些修改依赖服务器没有的修改；请发送所有尚未同步的修改 / the changes depend on changes the server does not have; send every change not yet on the server"
                .into(),
        );
    }
    let new = merged.get_changes(&current.get_heads());
    if new.len() > MAX_CHANGES {
        return Err(format!(
            "一次 {0} 个修改，最多 {MAX_CHANGES} 个 / {0} changes at once; at most {MAX_CHANGES}",
            new.len()
        ));
    }
    if let Some(h) = handover {
        let after = descendants(&merged, h);
        if let Some(c) = new.iter().find(|c| after.contains(&c.hash())) {
            return Err(format!(
                "修改 {0} 是本设备得知移交之后做的 / change {0} was made after this device had seen the hand-over",
                c.hash()
            ));
        }
    }
    let n = new.len();
    Ok((merged, n))
}

async fn standing(state: &AppState, user: &AuthUser, doc: &str) -> Result<Standing, ServerError> {
    if state.acl.access(user.id, doc) == Access::Write {
        return Ok(Standing::Writes);
    }
    let (id, doc) = (user.id, doc.to_string());
    let found: Option<(String, String, String)> = state
        .db
        .call(move |c| {
            Ok(c.query_row(
                "SELECT h.heads, COALESCE(t.display_name, t.username), h.at FROM handovers h
                 JOIN users t ON t.id = h.to_primary
                 WHERE h.doc_id = ?1 AND (h.from_primary = ?2 OR h.from_assistant = ?2)
                   AND h.to_primary <> ?2 AND COALESCE(h.to_assistant, 0) <> ?2
                 ORDER BY h.id DESC LIMIT 1",
                params![doc, id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
        })
        .await?;
    match found {
        Some((heads, to, at)) => Ok(Standing::HandedOver {
            change: heads.parse().ok(),
            to,
            at,
        }),
        None => Err(ServerError::Forbidden(
            "这位客户从未由你负责 / this customer was never yours to write".into(),
        )),
    }
}

/// `POST /api/customers/{id}/late-changes`: the body is the changes the
/// device has and the server may not (Automerge's `save_after` of the heads
/// the server last confirmed). 200 with how many were new; 409 with the reason
/// when the rule refuses them (the tablet keeps them in its outbox).
pub async fn deliver(
    State(state): State<AppState>,
    user: AuthUser,
    Path(doc_id): Path<String>,
    body: Bytes,
) -> Result<Json<LateChanges>, ServerError> {
    let standing = standing(&state, &user, &doc_id).await?;
    let id: DocumentId = doc_id.parse().map_err(|_| {
        ServerError::NotFound(format!("没有这个客户 {doc_id} / no customer {doc_id}"))
    })?;
    let Some(handle) = state.repo.find(id).await? else {
        return Err(ServerError::NotFound(format!(
            "没有这个客户 {doc_id} / no customer {doc_id}"
        )));
    };
    let handover = match &standing {
        Standing::Writes => None,
        Standing::HandedOver {
            change: Some(h), ..
        } => Some(*h),
        // A hand-over from before the server recorded its change: which
        // changes came after it cannot be told, so none is taken.
        Standing::HandedOver {
            change: None,
            to,
            at,
        } => {
            return Err(ServerError::Conflict(format!(
                "客户已于 {at} 移交给{to}，无法核实这些修改早于移交 / the customer was handed to {to} at {at}; these changes cannot be shown to precede it"
            )));
        }
    };
    // Checked on a fork first; applied only whole.
    let checked = handle.with_document(|d| check(d, &body, handover));
    let (merged, accepted) = match checked {
        Ok(ok) => ok,
        Err(why) => {
            // Each language's half stays whole ("中文 / English").
            let (zh, en) = why.split_once(" / ").unwrap_or((&why, &why));
            let said = match &standing {
                Standing::HandedOver { to, at, .. } => {
                    format!("客户已于 {at} 移交给{to}：{zh} / handed to {to} at {at}: {en}")
                }
                Standing::Writes => why.clone(),
            };
            tracing::info!(doc = %doc_id, user = %user.username, %why, "late changes refused");
            return Err(ServerError::Conflict(said));
        }
    };
    // The history names the user who delivered them; an actor already bound
    // to someone else is not taken over.
    let (actors, hashes): (Vec<String>, std::collections::BTreeSet<String>) = {
        let (mut a, h): (Vec<String>, _) = handle.with_document(|d| {
            merged
                .get_changes(&d.get_heads())
                .iter()
                .map(|c| (c.actor_id().to_hex_string(), c.hash().to_string()))
                .unzip()
        });
        a.sort();
        a.dedup();
        (a, h)
    };
    let uid = user.id;
    let foreign: Option<String> = state
        .db
        .call(move |c| {
            let tx =
                c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
            for a in &actors {
                let owner: Option<i64> = tx
                    .query_row("SELECT user_id FROM actors WHERE actor = ?1", [a], |r| {
                        r.get(0)
                    })
                    .optional()?;
                match owner {
                    Some(o) if o != uid => return Ok(Some(a.clone())),
                    Some(_) => {}
                    None => {
                        tx.execute(
                            "INSERT INTO actors (actor, user_id, bound_at) VALUES (?1, ?2, ?3)",
                            params![a, uid, crate::now()],
                        )?;
                    }
                }
            }
            tx.commit()?;
            Ok(None)
        })
        .await?;
    if let Some(a) = foreign {
        return Err(ServerError::Forbidden(format!(
            "不接受以其他用户设备（{a}）名义写的修改 / changes written as another user's device ({a}) are not taken"
        )));
    }
    // The history names the user who delivered them (history.rs).
    state.authors.note(&doc_id, hashes, user.id);
    handle
        .with_document(|d| d.load_incremental(&body).map(|_| ()))
        .map_err(|e| ServerError::Internal(format!("late changes: {e}")))?;
    tracing::info!(doc = %doc_id, user = %user.username, accepted, "late changes delivered");
    Ok(Json(LateChanges { accepted }))
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{ActorId, ROOT};

    use super::*;

    #[test]
    fn changes_made_before_seeing_the_hand_over_are_taken_and_after_are_not() {
        let mut server = Automerge::new().with_actor(ActorId::from(b"server".to_vec()));
        server.transact(|tx| tx.put(ROOT, "name", "甲")).unwrap();
        // The tablet has the customer, goes offline, logs a visit.
        let mut tablet = server.fork().with_actor(ActorId::from(b"tablet".to_vec()));
        let before = tablet.get_heads();
        tablet
            .transact(|tx| tx.put(ROOT, "visit", "offline"))
            .unwrap();
        // Meanwhile the hand-over is written on the server.
        server
            .transact(|tx| tx.put(ROOT, "handover", "li.na"))
            .unwrap();
        let handover = server.get_heads()[0];
        let late = tablet.save_after(&before);
        let (merged, n) = check(&server, &late, Some(handover)).expect("taken");
        assert_eq!(n, 1);
        assert!(merged.get(ROOT, "visit").unwrap().is_some());

        // A device that had seen the hand-over and wrote after it is refused.
        let mut seen = server.fork().with_actor(ActorId::from(b"tablet2".to_vec()));
        let heads = seen.get_heads();
        seen.transact(|tx| tx.put(ROOT, "visit", "after")).unwrap();
        let why = check(&server, &seen.save_after(&heads), Some(handover)).unwrap_err();
        assert!(
            why.contains("after this device had seen the hand-over"),
            "{why}"
        );

        // Changes whose ancestors the server lacks are refused as incomplete.
        let mut gap = tablet.fork();
        let mid = gap.get_heads();
        gap.transact(|tx| tx.put(ROOT, "x", 1)).unwrap();
        let mid2 = gap.get_heads();
        gap.transact(|tx| tx.put(ROOT, "y", 2)).unwrap();
        let _ = mid;
        let why = check(&server, &gap.save_after(&mid2), Some(handover)).unwrap_err();
        assert!(why.contains("depend on changes"), "{why}");
        let why = check(&server, b"not automerge", None).unwrap_err();
        assert!(why.contains("not Automerge"), "{why}");
    }
}
