//! Assignment and hand-over (主辅制): a head or the center sets a customer's
//! primary and assistant manager. The change is recorded on the customer
//! document and in the `handovers` table; access follows at once (the new
//! manager's tablet receives the customer, the old one's loses it).

use std::collections::BTreeSet;

use crate::store::sql::{OptionalExtension, params};
use axum::Json;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use fieldbook_shared::access::Assignment;
use fieldbook_shared::customer::{self, Handover};
use fieldbook_shared::vocab::Role;
use samod::DocumentId;
use serde::Deserialize;

use super::openapi::{Endpoint, NO, ep, schema};
use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::projection::books;
use crate::state::AppState;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("post", "/api/customers/{id}/assign", "Hand a customer over to other managers", true, NO, Some(schema::<AssignBody>), schema::<Handover>, post(assign)),
        ep("get", "/api/customers/{id}/handovers", "A customer's hand-overs", true, NO, None, schema::<Vec<Handover>>, get(list)),
    ]
}

/// `POST /api/customers/{id}/assign` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AssignBody {
    /// Username of the new primary manager.
    pub primary: String,
    /// Username of the assistant, or none.
    #[serde(default)]
    pub assistant: Option<String>,
    #[serde(default)]
    pub note: String,
}

/// A user who can hold customers.
struct Holder {
    id: i64,
    username: String,
    unit: String,
}

/// `POST /api/customers/{id}/assign`: the center, or a head whose subtree holds
/// both the customer and the new managers, hands the customer over.
pub async fn assign(
    State(state): State<AppState>,
    user: AuthUser,
    Path(doc_id): Path<String>,
    Json(body): Json<AssignBody>,
) -> Result<Json<Handover>, ServerError> {
    let Some(before) = state.acl.assignment(&doc_id) else {
        return Err(ServerError::NotFound(format!(
            "没有这个客户 {doc_id} / no customer {doc_id}"
        )));
    };
    let assistant_name = body
        .assistant
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string);
    if assistant_name.as_deref() == Some(body.primary.trim()) {
        return Err(ServerError::BadRequest(
            "主客户经理和辅助客户经理须是不同的人 / the primary and the assistant manager must be different people".into(),
        ));
    }
    let primary = holder(&state, body.primary.trim()).await?;
    let assistant = match &assistant_name {
        Some(a) => Some(holder(&state, a).await?),
        None => None,
    };
    let within = |unit: &str| user.role == Role::Admin || state.acl.is_within(unit, &user.unit);
    let allowed = matches!(user.role, Role::Admin | Role::Head)
        && within(&before.unit)
        && within(&primary.unit)
        && assistant.as_ref().is_none_or(|a| within(&a.unit));
    if !allowed {
        return Err(ServerError::Forbidden(
            "客户交接由客户和新经理所属单位的负责人或大客中心办理 / a hand-over is made by a head over the customer's and the new managers' units, or by the center".into(),
        ));
    }
    let seen_before: BTreeSet<i64> = state.acl.users_who_see(&doc_id).into_iter().collect();
    let (doc, by, note) = (doc_id.clone(), user.id, body.note.clone());
    let (p_id, p_unit, a_id) = (
        primary.id,
        primary.unit.clone(),
        assistant.as_ref().map(|a| a.id),
    );
    let (from_primary, from_assistant, at, row) = state
        .db
        .call(move |c| {
            let tx = c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
            let (from_p, from_a): (String, Option<String>) = tx.query_row(
                "SELECT p.username, a.username FROM customers c
                 JOIN users p ON p.id = c.primary_user
                 LEFT JOIN users a ON a.id = c.assistant_user
                 WHERE c.doc_id = ?1",
                [&doc],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let at = crate::now();
            tx.execute(
                "UPDATE customers SET primary_user = ?2, assistant_user = ?3, unit = ?4 WHERE doc_id = ?1",
                params![doc, p_id, a_id, p_unit],
            )?;
            let row: i64 = tx.query_row(
                "INSERT INTO handovers (doc_id, from_primary, to_primary, from_assistant, to_assistant, at, by_user, note)
                 VALUES (?1, (SELECT id FROM users WHERE username = ?2), ?3,
                         (SELECT id FROM users WHERE username = ?4), ?5, ?6, ?7, ?8)
                 RETURNING id",
                params![doc, from_p, p_id, from_a, a_id, at, by, note],
                |r| r.get(0),
            )?;
            tx.commit()?;
            Ok((from_p, from_a.unwrap_or_default(), at, row))
        })
        .await?;
    let handover = Handover {
        from_primary,
        to_primary: primary.username.clone(),
        from_assistant,
        to_assistant: assistant_name.unwrap_or_default(),
        at,
        by: user.username.clone(),
        note: body.note,
    };
    // On the document too, so the customer's history travels with it; the
    // change that records it is kept, to tell later which changes a device
    // made before it had seen the hand-over (late.rs).
    let change = record_on_document(&state, &doc_id, &handover, user.id).await?;
    state
        .db
        .call(move |c| {
            c.execute(
                "UPDATE handovers SET heads = ?2 WHERE id = ?1",
                params![row, change],
            )?;
            Ok(())
        })
        .await?;
    state.acl.set_customer(
        &doc_id,
        Assignment {
            primary: primary.id,
            assistant: assistant.as_ref().map(|a| a.id),
            unit: primary.unit.clone(),
        },
    );
    let seen_after: BTreeSet<i64> = state.acl.users_who_see(&doc_id).into_iter().collect();
    for u in seen_before.union(&seen_after) {
        books::refresh_user(&state, *u).await?;
    }
    tracing::info!(doc = %doc_id, by = %user.username, from = %handover.from_primary, to = %handover.to_primary, "customer handed over");
    Ok(Json(handover))
}

async fn holder(state: &AppState, username: &str) -> Result<Holder, ServerError> {
    let name = username.to_string();
    let found = state
        .db
        .call(move |c| {
            Ok(c.query_row(
                "SELECT id, username, unit, role, disabled FROM users WHERE username = ?1",
                [&name],
                |r| {
                    Ok((
                        Holder {
                            id: r.get(0)?,
                            username: r.get(1)?,
                            unit: r.get(2)?,
                        },
                        Role::parse(&r.get::<_, String>(3)?),
                        r.get::<_, i64>(4)? != 0,
                    ))
                },
            )
            .optional()?)
        })
        .await?;
    match found {
        None => Err(ServerError::BadRequest(format!(
            "没有用户 {username} / no user {username}"
        ))),
        Some((_, _, true)) => Err(ServerError::BadRequest(format!(
            "用户 {username} 已停用 / user {username} is disabled"
        ))),
        Some((_, Role::Admin, _)) => Err(ServerError::BadRequest(format!(
            "{username} 是大客中心管理员；客户由客户经理和首席客户经理维护 / {username} is the center's admin; customers are held by managers and heads"
        ))),
        Some((h, _, _)) => Ok(h),
    }
}

async fn record_on_document(
    state: &AppState,
    doc_id: &str,
    h: &Handover,
    by: i64,
) -> Result<String, ServerError> {
    let id: DocumentId = doc_id
        .parse()
        .map_err(|_| ServerError::Internal(format!("bad document id {doc_id}")))?;
    let Some(handle) = state.repo.find(id).await? else {
        return Err(ServerError::Internal(format!(
            "customer {doc_id} is missing from storage"
        )));
    };
    // Written as the head or admin who made it, so the history names them.
    crate::history::write_for_user(state, &handle, by, |d| {
        d.transact(|tx| customer::add_handover(tx, h))
            .map_err(|e| ServerError::Schema(e.error))?;
        // One change on top of every head: the heads are that change.
        Ok(d.get_heads()
            .first()
            .map(|h| h.to_string())
            .unwrap_or_default())
    })
    .await
}

/// `GET /api/customers/{id}/handovers`: the hand-overs of a customer the caller sees.
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Path(doc_id): Path<String>,
) -> Result<Json<Vec<Handover>>, ServerError> {
    if state.acl.access(user.id, &doc_id) == fieldbook_shared::access::Access::None {
        return Err(ServerError::NotFound(format!(
            "没有这个客户 {doc_id} / no customer {doc_id}"
        )));
    }
    let rows = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare(
                "SELECT fp.username, tp.username, fa.username, ta.username, h.at, b.username, h.note
                 FROM handovers h
                 LEFT JOIN users fp ON fp.id = h.from_primary
                 LEFT JOIN users tp ON tp.id = h.to_primary
                 LEFT JOIN users fa ON fa.id = h.from_assistant
                 LEFT JOIN users ta ON ta.id = h.to_assistant
                 LEFT JOIN users b ON b.id = h.by_user
                 WHERE h.doc_id = ?1 ORDER BY h.id",
            )?;
            let rows = stmt
                .query_map([doc_id], |r| {
                    let s = |i: usize| -> crate::store::sql::Result<String> {
                        Ok(r.get::<_, Option<String>>(i)?.unwrap_or_default())
                    };
                    Ok(Handover {
                        from_primary: s(0)?,
                        to_primary: s(1)?,
                        from_assistant: s(2)?,
                        to_assistant: s(3)?,
                        at: s(4)?,
                        by: s(5)?,
                        note: s(6)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await?;
    Ok(Json(rows))
}
