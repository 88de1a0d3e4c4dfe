//! Desks 工作台 at the server (`shared/src/desk.rs`): a user's own document,
//! created by their tablet. When one changes, its work-log notes and month
//! hand-ins are copied into tables (for the heads' review), and its
//! decisions (taken on the tablet, maybe offline) are carried out or refused
//! by `decisions.rs`, checking authority now, and the outcome is written back
//! into the desk, which syncs it to the tablet. A task of its own, fed by the
//! projector with every stored document that is not a customer.

use std::collections::BTreeSet;

use crate::store::sql::{OptionalExtension, params};
use automerge::ActorId;
use fieldbook_shared::SchemaError;
use fieldbook_shared::desk::{self, Desk, Outcome};
use fieldbook_shared::vocab::Role;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::state::AppState;

/// At most this many requests are answered per pass over one desk; the rest
/// in the next pass (a desk full of junk holds nobody else up for long).
const PER_PASS: usize = 200;

/// Reads desks as they change, until the server stops. Desks already known
/// are read once at the start: requests that arrived just before a restart
/// are answered.
pub async fn run(state: AppState, mut rx: UnboundedReceiver<String>) {
    let known: Vec<String> = state
        .db
        .call(|c| {
            let mut stmt = c.prepare("SELECT doc_id FROM desks ORDER BY doc_id")?;
            let ids = stmt
                .query_map((), |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(ids)
        })
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot read the list of desks");
            Vec::new()
        });
    for d in known {
        pass(&state, &d).await;
    }
    while let Some(first) = rx.recv().await {
        let mut batch = BTreeSet::from([first]);
        while let Ok(more) = rx.try_recv() {
            batch.insert(more);
        }
        for d in batch {
            pass(&state, &d).await;
        }
    }
}

async fn pass(state: &AppState, doc_id: &str) {
    match read(state, doc_id).await {
        Ok(true) => {
            // More requests wait: another pass, after the others queued.
            let _ = state.desks.send(doc_id.to_string());
        }
        Ok(false) => {}
        Err(e) => {
            tracing::error!(error = %e, doc = %doc_id, "a desk could not be read; it is read again at its next change or at start")
        }
    }
}

/// Reads one stored document; if it is a desk, records it and answers what it
/// asks. Answers whether requests are left for another pass.
pub async fn read(state: &AppState, doc_id: &str) -> Result<bool, ServerError> {
    let Ok(id) = doc_id.parse::<samod::DocumentId>() else {
        return Ok(false);
    };
    let Some(handle) = state.repo.find(id).await? else {
        return Ok(false);
    };
    let desk = match handle.with_document(|d| Desk::load(d)) {
        Ok(d) => d,
        Err(SchemaError::WrongType { .. }) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let Some(owner) = owner(state, doc_id).await? else {
        tracing::warn!(doc = %doc_id, "a desk nobody created; ignored");
        return Ok(false);
    };
    copy_work_log(state, doc_id, owner, &desk).await?;

    let mut outcomes = Vec::new();
    let this_month = crate::this_month();
    for s in desk
        .submissions
        .iter()
        .filter(|s| desk.outcome(&s.id).is_none())
    {
        let outcome = match answered(state, doc_id, &s.id).await? {
            Some(o) => o,
            None => {
                let (ok, message) = if desk::is_month(&s.month) && s.month <= this_month {
                    let (user, month, at, note) =
                        (owner, s.month.clone(), s.at.clone(), s.note.clone());
                    state
                        .db
                        .call(move |c| {
                            c.execute(
                                "INSERT OR REPLACE INTO worklog_submissions
                                 (user_id, month, submitted_at, note, received_at)
                                 VALUES (?1, ?2, ?3, ?4, ?5)",
                                params![user, month, at, note, crate::now()],
                            )?;
                            Ok(())
                        })
                        .await?;
                    (
                        true,
                        format!(
                            "{0} 工作日志已提交 / the work log of {0} is handed in",
                            s.month
                        ),
                    )
                } else {
                    (
                        false,
                        format!(
                            "不能提交 {0} 的工作日志 / the work log of {0} cannot be handed in",
                            s.month
                        ),
                    )
                };
                record(state, doc_id, &s.id, ok, &message).await?
            }
        };
        outcomes.push(outcome);
    }

    let unanswered = desk.unanswered();
    let more = unanswered.len() > PER_PASS;
    let user = if unanswered.is_empty() {
        None
    } else {
        active_user(state, owner).await?
    };
    for r in unanswered.into_iter().take(PER_PASS) {
        if let Some(o) = answered(state, doc_id, &r.id).await? {
            outcomes.push(o);
            continue;
        }
        let result = match (&user, r.decision()) {
            (None, _) => Err(
                "账号已停用，决定未生效 / the account is disabled; nothing was done".to_string(),
            ),
            (_, Err(why)) => Err(why),
            (Some(u), Ok(d)) => match crate::decisions::take(state, u, &d).await {
                Ok(message) => Ok(message),
                Err(
                    e @ (ServerError::Forbidden(_)
                    | ServerError::NotFound(_)
                    | ServerError::BadRequest(_)
                    | ServerError::Conflict(_)),
                ) => Err(e.to_string()),
                // The server's own trouble is not the head's answer: the
                // request waits for the next pass.
                Err(e) => {
                    tracing::error!(error = %e, doc = %doc_id, request = %r.id, "a desk's request failed; it will be tried again");
                    continue;
                }
            },
        };
        let (ok, message) = match result {
            Ok(m) => (true, m),
            Err(m) => (false, m),
        };
        tracing::info!(doc = %doc_id, request = %r.id, kind = %r.kind, ok, "desk request answered");
        outcomes.push(record(state, doc_id, &r.id, ok, &message).await?);
    }
    if !outcomes.is_empty() {
        let actor = ActorId::from(b"fieldbook-server-desks".to_vec());
        handle.with_document(|d| {
            d.set_actor(actor);
            d.transact(|tx| {
                for o in &outcomes {
                    desk::answer(tx, o)?;
                }
                Ok::<_, SchemaError>(())
            })
            .map(|_| ())
            .map_err(|e| e.error)
        })?;
    }
    Ok(more)
}

/// Who a desk belongs to: who created it (recorded at first sight, from the
/// claim), never what the document says.
async fn owner(state: &AppState, doc_id: &str) -> Result<Option<i64>, ServerError> {
    let doc = doc_id.to_string();
    let known: Option<i64> = state
        .db
        .call(move |c| {
            Ok(
                c.query_row("SELECT user_id FROM desks WHERE doc_id = ?1", [&doc], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
        .await?;
    if known.is_some() {
        return Ok(known);
    }
    let Some(user) = crate::projection::claimant(state, doc_id).await else {
        return Ok(None);
    };
    let doc = doc_id.to_string();
    state
        .db
        .call(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO desks (doc_id, user_id, first_seen) VALUES (?1, ?2, ?3)",
                params![doc, user, crate::now()],
            )?;
            Ok(())
        })
        .await?;
    tracing::info!(doc = %doc_id, user, "desk recorded");
    // The user's book lists their desks, so their other devices find it.
    crate::projection::books::refresh_user(state, user).await?;
    Ok(Some(user))
}

/// The desk's notes, as the work-log tables hold them.
async fn copy_work_log(
    state: &AppState,
    doc_id: &str,
    owner: i64,
    desk: &Desk,
) -> Result<(), ServerError> {
    let doc = doc_id.to_string();
    let notes: Vec<(String, String, String, String)> = desk
        .notes
        .iter()
        .filter(|n| fieldbook_shared::calendar::Day::parse(&n.day).is_some())
        .map(|n| {
            (
                n.id.chars().take(64).collect(),
                n.day.clone(),
                n.time.chars().take(8).collect(),
                n.text.chars().take(desk::NOTE_MAX_CHARS).collect(),
            )
        })
        .collect();
    state
        .db
        .call(move |c| {
            let tx =
                c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM worklog_notes WHERE doc_id = ?1", [&doc])?;
            {
                let mut ins = tx.prepare_cached(
                    "INSERT OR IGNORE INTO worklog_notes (doc_id, id, user_id, day, time, text)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for (id, day, time, text) in &notes {
                    ins.execute(params![doc, id, owner, day, time, text])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
}

/// The answer already given to a request (saved before the desk was written).
async fn answered(
    state: &AppState,
    doc_id: &str,
    request: &str,
) -> Result<Option<Outcome>, ServerError> {
    let (doc, req) = (doc_id.to_string(), request.to_string());
    state
        .db
        .call(move |c| {
            Ok(c.query_row(
                "SELECT ok, message, at FROM desk_answers WHERE doc_id = ?1 AND request_id = ?2",
                params![doc, req],
                |r| {
                    Ok(Outcome {
                        id: req.clone(),
                        ok: r.get(0)?,
                        message: r.get(1)?,
                        at: r.get(2)?,
                    })
                },
            )
            .optional()?)
        })
        .await
}

/// Saves an answer (once), then it is written into the desk.
async fn record(
    state: &AppState,
    doc_id: &str,
    request: &str,
    ok: bool,
    message: &str,
) -> Result<Outcome, ServerError> {
    let o = Outcome {
        id: request.to_string(),
        ok,
        message: message.to_string(),
        at: crate::now(),
    };
    let (doc, saved) = (doc_id.to_string(), o.clone());
    state
        .db
        .call(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO desk_answers (doc_id, request_id, ok, message, at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![doc, saved.id, saved.ok, saved.message, saved.at],
            )?;
            Ok(())
        })
        .await?;
    Ok(o)
}

/// The user as they are now (their role and unit decide), if still active.
async fn active_user(state: &AppState, id: i64) -> Result<Option<AuthUser>, ServerError> {
    state
        .db
        .call(move |c| {
            Ok(c.query_row(
                "SELECT username, display_name, role, unit, book_doc FROM users
                 WHERE id = ?1 AND disabled = 0",
                [id],
                |r| {
                    Ok(AuthUser {
                        id,
                        username: r.get(0)?,
                        display_name: r.get(1)?,
                        role: Role::parse(&r.get::<_, String>(2)?),
                        unit: r.get(3)?,
                        book_doc: r.get(4)?,
                        peer_id: String::new(),
                    })
                },
            )
            .optional()?)
        })
        .await
}

/// The desks of a user (document ids), oldest first.
pub fn of_user(c: &crate::store::sql::Connection, user: i64) -> Result<Vec<String>, ServerError> {
    let mut stmt = c.prepare_cached(
        "SELECT doc_id FROM desks WHERE user_id = ?1 ORDER BY first_seen, doc_id",
    )?;
    let ids = stmt
        .query_map([user], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}
