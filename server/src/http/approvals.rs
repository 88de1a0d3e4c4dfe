//! Approvals by people above the rules: a customer's level and grade (proposed
//! from the ledger, fixed by a unit head or the center) and registrations (报备,
//! approved by the level above the registering unit).

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::post;
use fieldbook_shared::grading::{Grade, Level};
use fieldbook_shared::vocab::Role;
use rusqlite::params;
use serde::Deserialize;

use super::openapi::{Endpoint, NO, ep, object, schema};
use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::state::AppState;
use crate::{now, projection::books};

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("post", "/api/customers/{id}/grade", "Approve a customer's level and grade", true, NO, Some(schema::<GradeBody>), object, post(approve_grade)),
        ep("post", "/api/customers/{id}/agreements/{agreement}/approve", "Approve a service agreement (a head over the customer's unit, or the center); only this makes a platinum or diamond customer's agreement active", true, NO, None, object, post(approve_agreement)),
        ep("post", "/api/registrations/{id}/rule", "Rule that a line belongs to this registration", true, NO, Some(schema::<RuleBody>), object, post(rule_ownership)),
        ep("post", "/api/registrations/{id}/approve", "Approve a registration (the level above)", true, NO, None, object, post(approve_registration)),
        ep("post", "/api/registrations/{id}/reject", "Reject a registration (the level above)", true, NO, None, object, post(reject_registration)),
    ]
}

/// `POST /api/customers/{id}/grade` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct GradeBody {
    pub level: Level,
    pub grade: Grade,
}

/// `POST /api/customers/{id}/grade`: fixes the level and grade. Diamond and platinum
/// are approved at the provincial level (the center here), gold and below by the head
/// of a unit above the customer (docs/domain.md, Levels and grades).
pub async fn approve_grade(
    State(state): State<AppState>,
    user: AuthUser,
    Path(doc_id): Path<String>,
    Json(body): Json<GradeBody>,
) -> Result<Json<serde_json::Value>, ServerError> {
    let Some(a) = state.acl.assignment(&doc_id) else {
        return Err(ServerError::NotFound(format!(
            "没有这个客户 {doc_id} / no customer {doc_id}"
        )));
    };
    let allowed = match user.role {
        Role::Admin => true,
        Role::Head => state.acl.is_within(&a.unit, &user.unit) && body.grade < Grade::Platinum,
        _ => false,
    };
    if !allowed {
        return Err(ServerError::Forbidden(
            "钻石、白金客户由大客中心审批，黄金及以下由所属单位的首席客户经理审批 / diamond and platinum grades are approved by the center; gold and below by a head over the customer's unit".into(),
        ));
    }
    let (doc, who, level, grade) = (
        doc_id.clone(),
        user.id,
        body.level.as_str(),
        body.grade.as_str(),
    );
    state
        .db
        .call(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO grade_approvals (doc_id, level, grade, approved_by, approved_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![doc, level, grade, who, now()],
            )?;
            Ok(())
        })
        .await?;
    tracing::info!(user = %user.username, doc = %doc_id, level, grade, "grade approved");
    books::refresh_for_customer(&state, &doc_id).await?;
    Ok(Json(
        serde_json::json!({"doc_id": doc_id, "level_approved": level, "grade_approved": grade}),
    ))
}

/// `POST /api/registrations/{id}/approve`: by a head of a unit above the
/// registering unit, or the center.
pub async fn approve_registration(
    state: State<AppState>,
    user: AuthUser,
    id: Path<String>,
) -> Result<Json<serde_json::Value>, ServerError> {
    decide_registration(state, user, id, "approved").await
}

/// `POST /api/registrations/{id}/reject`: as approving.
pub async fn reject_registration(
    state: State<AppState>,
    user: AuthUser,
    id: Path<String>,
) -> Result<Json<serde_json::Value>, ServerError> {
    decide_registration(state, user, id, "rejected").await
}

async fn decide_registration(
    State(state): State<AppState>,
    user: AuthUser,
    Path(doc_id): Path<String>,
    status: &'static str,
) -> Result<Json<serde_json::Value>, ServerError> {
    require_level_above(
        &state,
        &user,
        &doc_id,
        "报备须由上一级审批 / a registration is approved by the level above the registering unit",
    )
    .await?;
    let doc = doc_id.clone();
    let pattern = state.rules.get().numbers.pattern.clone();
    let today = crate::today();
    state
        .db
        .call(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "UPDATE registrations SET status = ?2 WHERE doc_id = ?1",
                params![doc, status],
            )?;
            // Approved: the customer gets its number (客户编号), once.
            if status == "approved" {
                crate::numbers::assign(&tx, &doc, &pattern, &today)?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    if status == "approved" {
        crate::projection::books::refresh_for_customer(&state, &doc_id).await?;
    }
    tracing::info!(user = %user.username, doc = %doc_id, status, "registration decided");
    Ok(Json(
        serde_json::json!({"doc_id": doc_id, "status": status}),
    ))
}

/// `POST /api/registrations/{id}/rule` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RuleBody {
    pub line: fieldbook_shared::vocab::Line,
}

/// `POST /api/registrations/{id}/rule`: a head above the registering unit (or the
/// center) rules that `line` belongs to this registration, whatever the order.
pub async fn rule_ownership(
    State(state): State<AppState>,
    user: AuthUser,
    Path(doc_id): Path<String>,
    Json(body): Json<RuleBody>,
) -> Result<Json<serde_json::Value>, ServerError> {
    require_level_above(
        &state,
        &user,
        &doc_id,
        "归属争议由上一级裁定 / ownership disputes are ruled by the level above",
    )
    .await?;
    let (doc, line, who) = (doc_id.clone(), body.line.clone(), user.id);
    let changed = state
        .db
        .call(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let changed = crate::projection::registration::rule(&tx, &doc, &line, who)?;
            tx.commit()?;
            Ok(changed)
        })
        .await?;
    tracing::info!(user = %user.username, doc = %doc_id, line = %body.line, "ownership ruled");
    for d in changed {
        if let Some(a) = state.acl.assignment(&d) {
            books::refresh_user(&state, a.primary).await?;
        }
    }
    Ok(Json(
        serde_json::json!({"doc_id": doc_id, "line": body.line}),
    ))
}

/// Refuses unless `user` is the center or a head of a unit strictly above the unit that
/// registered `doc_id` (docs/domain.md, Registration and ownership: the level above
/// decides).
async fn require_level_above(
    state: &AppState,
    user: &AuthUser,
    doc_id: &str,
    refusal: &str,
) -> Result<(), ServerError> {
    let doc = doc_id.to_string();
    let unit = state
        .db
        .call(move |c| crate::projection::registration::unit_of(c, &doc))
        .await?;
    let Some(unit) = unit else {
        return Err(ServerError::NotFound(format!(
            "没有这个报备 {doc_id} / no registration {doc_id}"
        )));
    };
    let allowed = user.role == Role::Admin
        || (user.role == Role::Head && state.acl.is_below(&unit, &user.unit));
    if allowed {
        Ok(())
    } else {
        Err(ServerError::Forbidden(refusal.into()))
    }
}

/// `POST /api/customers/{id}/agreements/{agreement}/approve`: a head over the
/// customer's unit, or the center, approves a service agreement (docs/domain.md,
/// Service agreements: platinum and above). Recorded in the server's own table, which
/// alone makes such an agreement active in the reports, and written on the document so
/// every tablet shows who approved it.
pub async fn approve_agreement(
    State(state): State<AppState>,
    user: AuthUser,
    Path((doc_id, agreement)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ServerError> {
    let Some(a) = state.acl.assignment(&doc_id) else {
        return Err(ServerError::NotFound(format!(
            "没有这个客户 {doc_id} / no customer {doc_id}"
        )));
    };
    let allowed = match user.role {
        Role::Admin => true,
        Role::Head => state.acl.is_within(&a.unit, &user.unit),
        _ => false,
    };
    if !allowed {
        return Err(ServerError::Forbidden(
            "服务协议由客户所属单位的负责人或大客中心审批 / an agreement is approved by a head over the customer's unit, or the center".into(),
        ));
    }
    let id: samod::DocumentId = doc_id.parse().map_err(|_| {
        ServerError::NotFound(format!("没有这个客户 {doc_id} / no customer {doc_id}"))
    })?;
    let Some(handle) = state.repo.find(id).await? else {
        return Err(ServerError::NotFound(format!(
            "没有这个客户 {doc_id} / no customer {doc_id}"
        )));
    };
    let today = crate::today();
    let by = user.username.clone();
    crate::history::write_for_user(&state, &handle, user.id, |d| {
        d.transact(|tx| fieldbook_shared::agreements::approve(tx, &agreement, &by, &today))
            .map(|_| ())
            .map_err(|e| match e.error {
                fieldbook_shared::SchemaError::Invalid(m) => ServerError::BadRequest(m),
                other => ServerError::Schema(other),
            })
    })
    .await?;
    let (doc, aid, who) = (doc_id.clone(), agreement.clone(), user.id);
    state
        .db
        .call(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO agreement_approvals (doc_id, agreement_id, approved_by, approved_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![doc, aid, who, now()],
            )?;
            // Projected again now, so the reports read the decision.
            c.execute("INSERT OR IGNORE INTO dirty_docs (doc_id) VALUES (?1)", [&doc])?;
            Ok(())
        })
        .await?;
    crate::projection::project_now(&state, vec![doc_id.clone()]).await?;
    tracing::info!(user = %user.username, doc = %doc_id, %agreement, "agreement approved");
    Ok(Json(
        serde_json::json!({"doc_id": doc_id, "agreement": agreement, "approved_by": user.username}),
    ))
}
