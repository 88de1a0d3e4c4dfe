//! Approvals by people above the rules: a customer's level and grade (proposed
//! from the ledger, fixed by a unit head or the center) and registrations (报备,
//! approved by the level above the registering unit).

use crate::store::sql::OptionalExtension;
use axum::Json;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use fieldbook_shared::api::{
    INBOX_MAX, Inbox, InboxAgreement, InboxGrade, InboxHandover, InboxRegistration, InboxWarning,
};
use fieldbook_shared::grading::{Grade, Level};
use fieldbook_shared::vocab::{Line, Role};
use serde::Deserialize;

use super::openapi::{Endpoint, NO, ep, object, schema};
use crate::auth::AuthUser;
use crate::decisions;
use crate::error::ServerError;
use crate::state::AppState;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("get", "/api/approvals", "What waits for the caller's decision 待审批: registrations, levels and grades, agreements, bad-credit reports (the center)", true, NO, None, schema::<Inbox>, get(inbox)),
        ep("post", "/api/customers/{id}/grade", "Approve a customer's level and grade", true, NO, Some(schema::<GradeBody>), object, post(approve_grade)),
        ep("post", "/api/customers/{id}/agreements/{agreement}/approve", "Approve a service agreement (a head over the customer's unit, or the center); only this makes a platinum or diamond customer's agreement active", true, NO, None, object, post(approve_agreement)),
        ep("post", "/api/registrations/{id}/rule", "Rule that a line belongs to this registration", true, NO, Some(schema::<RuleBody>), object, post(rule_ownership)),
        ep("post", "/api/registrations/{id}/approve", "Approve a registration (the level above)", true, NO, None, object, post(approve_registration)),
        ep("post", "/api/registrations/{id}/reject", "Send a registration back, with a reason (the level above)", true, NO, Some(schema::<RejectBody>), object, post(reject_registration)),
    ]
}

/// `POST /api/customers/{id}/grade` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct GradeBody {
    pub level: Level,
    pub grade: Grade,
}

/// `POST /api/customers/{id}/grade`: fixes the level and grade (`decisions::fix_grade`).
pub async fn approve_grade(
    State(state): State<AppState>,
    user: AuthUser,
    Path(doc_id): Path<String>,
    Json(body): Json<GradeBody>,
) -> Result<Json<serde_json::Value>, ServerError> {
    decisions::fix_grade(&state, &user, &doc_id, body.level, body.grade).await?;
    Ok(Json(serde_json::json!({
        "doc_id": doc_id,
        "level_approved": body.level.as_str(),
        "grade_approved": body.grade.as_str(),
    })))
}

/// `POST /api/registrations/{id}/approve`: by a head of a unit above the
/// registering unit, or the center.
pub async fn approve_registration(
    state: State<AppState>,
    user: AuthUser,
    id: Path<String>,
) -> Result<Json<serde_json::Value>, ServerError> {
    decide_registration(state, user, id, "approved", "").await
}

/// `POST /api/registrations/{id}/reject` body (optional).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub struct RejectBody {
    /// Why it is sent back; the manager reads it on the tablet.
    #[serde(default)]
    pub reason: String,
}

/// `POST /api/registrations/{id}/reject`: as approving; the reason, if given,
/// reaches the registering manager's tablet.
pub async fn reject_registration(
    state: State<AppState>,
    user: AuthUser,
    id: Path<String>,
    body: Option<Json<RejectBody>>,
) -> Result<Json<serde_json::Value>, ServerError> {
    let reason = body.map(|b| b.0.reason).unwrap_or_default();
    let reason: String = reason
        .trim()
        .chars()
        .take(fieldbook_shared::desk::NOTE_MAX_CHARS)
        .collect();
    decide_registration(state, user, id, "rejected", &reason).await
}

async fn decide_registration(
    State(state): State<AppState>,
    user: AuthUser,
    Path(doc_id): Path<String>,
    status: &'static str,
    reason: &str,
) -> Result<Json<serde_json::Value>, ServerError> {
    decisions::decide_registration(&state, &user, &doc_id, status, reason).await?;
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
    decisions::rule_line(&state, &user, &doc_id, &body.line).await?;
    Ok(Json(
        serde_json::json!({"doc_id": doc_id, "line": body.line}),
    ))
}

/// `POST /api/customers/{id}/agreements/{agreement}/approve`
/// (`decisions::approve_agreement`).
pub async fn approve_agreement(
    State(state): State<AppState>,
    user: AuthUser,
    Path((doc_id, agreement)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ServerError> {
    decisions::approve_agreement(&state, &user, &doc_id, &agreement).await?;
    Ok(Json(
        serde_json::json!({"doc_id": doc_id, "agreement": agreement, "approved_by": user.username}),
    ))
}

/// `GET /api/approvals`: the decisions waiting for the caller 待审批. A head
/// sees registrations from units below theirs (the level above decides) and
/// the grades and agreements of customers in their subtree; the center
/// everything, bad-credit reports included.
pub async fn inbox(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Inbox>, ServerError> {
    if !matches!(user.role, Role::Head | Role::Admin) {
        return Err(ServerError::Forbidden(
            "待审批只属于首席客户经理和大客中心 / approvals are for heads and the center".into(),
        ));
    }
    let center = user.role == Role::Admin;
    type Reg = (InboxRegistration, String, Option<String>, String);
    let (regs, grades, agreements, warnings, handovers) = state
        .db
        .call(move |c| {
            let split = |s: String| -> Vec<String> {
                s.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect()
            };
            let unit_name = |code: &str| -> Result<String, ServerError> {
                Ok(c.query_row("SELECT name FROM units WHERE code = ?1", [code], |r| r.get(0))
                    .optional()?
                    .unwrap_or_else(|| code.to_string()))
            };
            let mut regs: Vec<Reg> = Vec::new();
            {
                let mut stmt = c.prepare(
                    "SELECT r.doc_id, r.name, r.credit_code, r.lines, r.unit, un.name, u.display_name,
                            cu.registered_at, r.same_as, r.duplicate_lines
                     FROM registrations r
                     JOIN customers cu ON cu.doc_id = r.doc_id
                     JOIN users u ON u.id = cu.registered_by
                     JOIN units un ON un.code = r.unit
                     WHERE r.status = 'pending' ORDER BY r.received",
                )?;
                let mut rows = stmt.query(())?;
                while let Some(r) = rows.next()? {
                    let lines: Vec<Line> = split(r.get(3)?).iter().map(|l| Line::parse(l)).collect();
                    regs.push((
                        InboxRegistration {
                            doc_id: r.get(0)?,
                            name: r.get(1)?,
                            credit_code: r.get(2)?,
                            lines,
                            unit_name: r.get(5)?,
                            registered_by: r.get(6)?,
                            registered_at: r.get(7)?,
                            same_as: String::new(),
                            duplicate: Vec::new(),
                        },
                        r.get(4)?,
                        r.get(8)?,
                        r.get(9)?,
                    ));
                }
            }
            for (reg, _, same_as, duplicate) in &mut regs {
                if let Some(other) = same_as.as_deref() {
                    let found: Option<(String, String)> = c
                        .query_row(
                            "SELECT r.name, COALESCE(un.name, r.unit) FROM registrations r
                             LEFT JOIN units un ON un.code = r.unit WHERE r.doc_id = ?1",
                            [other],
                            |r| Ok((r.get(0)?, r.get(1)?)),
                        )
                        .optional()?;
                    if let Some((name, unit)) = found {
                        reg.same_as = format!("{name}（{unit}）");
                    }
                }
                for d in split(std::mem::take(duplicate)) {
                    let (line, unit) = d.split_once(':').unwrap_or((d.as_str(), ""));
                    reg.duplicate.push((Line::parse(line), unit_name(unit)?));
                }
            }
            let mut grades: Vec<(InboxGrade, String)> = Vec::new();
            {
                let mut stmt = c.prepare(
                    "SELECT ci.doc_id, ci.name, cu.unit, un.name, ci.annual_revenue_fen,
                            ci.level_proposed, ci.grade_proposed, g.level, g.grade
                     FROM customer_index ci
                     JOIN customers cu ON cu.doc_id = ci.doc_id
                     JOIN units un ON un.code = cu.unit
                     LEFT JOIN grade_approvals g ON g.doc_id = ci.doc_id
                     LEFT JOIN registrations r ON r.doc_id = ci.doc_id
                     WHERE COALESCE(r.status, 'approved') = 'approved'
                       AND ((g.doc_id IS NULL AND (ci.level_proposed <> 'none' OR ci.grade_proposed <> 'none'))
                         OR (g.doc_id IS NOT NULL AND (g.level <> ci.level_proposed OR g.grade <> ci.grade_proposed)))
                     ORDER BY ci.annual_revenue_fen DESC, ci.doc_id",
                )?;
                let mut rows = stmt.query(())?;
                while let Some(r) = rows.next()? {
                    let approved = match (r.get::<_, Option<String>>(7)?, r.get::<_, Option<String>>(8)?) {
                        (Some(l), Some(g)) => Some((Level::parse(&l), Grade::parse(&g))),
                        _ => None,
                    };
                    grades.push((
                        InboxGrade {
                            doc_id: r.get(0)?,
                            name: r.get(1)?,
                            unit_name: r.get(3)?,
                            annual_revenue_fen: r.get(4)?,
                            proposed_level: Level::parse(&r.get::<_, String>(5)?),
                            proposed_grade: Grade::parse(&r.get::<_, String>(6)?),
                            approved,
                            center_only: false,
                        },
                        r.get(2)?,
                    ));
                }
            }
            let mut agreements: Vec<(InboxAgreement, String)> = Vec::new();
            {
                let mut stmt = c.prepare(
                    "SELECT a.doc_id, ci.name, cu.unit, un.name, a.agreement_id, a.number, a.end_date
                     FROM agreement_index a
                     JOIN customers cu ON cu.doc_id = a.doc_id
                     JOIN units un ON un.code = cu.unit
                     JOIN customer_index ci ON ci.doc_id = a.doc_id
                     WHERE a.status = 'pending_approval' ORDER BY a.end_date, a.doc_id",
                )?;
                let mut rows = stmt.query(())?;
                while let Some(r) = rows.next()? {
                    agreements.push((
                        InboxAgreement {
                            doc_id: r.get(0)?,
                            name: r.get(1)?,
                            unit_name: r.get(3)?,
                            agreement_id: r.get(4)?,
                            number: r.get(5)?,
                            end_date: r.get(6)?,
                        },
                        r.get(2)?,
                    ));
                }
            }
            let mut warnings = Vec::new();
            if center {
                let mut stmt = c.prepare(
                    "SELECT w.id, w.name, w.credit_code, w.kind, w.note, u.display_name, w.reported_at
                     FROM credit_warnings w JOIN users u ON u.id = w.reported_by
                     WHERE w.status = 'reported' ORDER BY w.id",
                )?;
                let rows = stmt.query_map((), |r| {
                    Ok(InboxWarning {
                        id: r.get(0)?,
                        name: r.get(1)?,
                        credit_code: r.get(2)?,
                        kind: r.get(3)?,
                        note: r.get(4)?,
                        reported_by: r.get(5)?,
                        reported_at: r.get(6)?,
                    })
                })?;
                warnings = rows.collect::<Result<Vec<_>, _>>()?;
            }
            let mut handovers: Vec<(InboxHandover, String)> = Vec::new();
            {
                let mut stmt = c.prepare(
                    "SELECT r.id, r.doc_id, COALESCE(ci.name, ''), cu.unit, COALESCE(un.name, cu.unit),
                            f.display_name, t.display_name, r.reason, r.requested_at
                     FROM handover_requests r
                     JOIN customers cu ON cu.doc_id = r.doc_id
                     LEFT JOIN customer_index ci ON ci.doc_id = r.doc_id
                     LEFT JOIN units un ON un.code = cu.unit
                     JOIN users f ON f.id = r.requested_by
                     JOIN users t ON t.id = r.to_user
                     WHERE r.status = 'pending' ORDER BY r.id",
                )?;
                let mut rows = stmt.query(())?;
                while let Some(r) = rows.next()? {
                    handovers.push((
                        InboxHandover {
                            id: r.get(0)?,
                            doc_id: r.get(1)?,
                            name: r.get(2)?,
                            unit_name: r.get(4)?,
                            from: r.get(5)?,
                            to: r.get(6)?,
                            reason: r.get(7)?,
                            requested_at: r.get(8)?,
                        },
                        r.get(3)?,
                    ));
                }
            }
            Ok((regs, grades, agreements, warnings, handovers))
        })
        .await?;
    let mut out = Inbox::default();
    let regs: Vec<InboxRegistration> = regs
        .into_iter()
        .filter(|(_, unit, _, _)| center || state.acl.is_below(unit, &user.unit))
        .map(|(r, ..)| r)
        .collect();
    let mut grades: Vec<InboxGrade> = grades
        .into_iter()
        .filter(|(_, unit)| center || state.acl.is_within(unit, &user.unit))
        .map(|(mut g, _)| {
            g.center_only = !center && g.proposed_grade >= Grade::Platinum;
            g
        })
        .collect();
    // What the caller can decide first (the center's own after, for reading).
    grades.sort_by_key(|g| g.center_only);
    let agreements: Vec<InboxAgreement> = agreements
        .into_iter()
        .filter(|(_, unit)| center || state.acl.is_within(unit, &user.unit))
        .map(|(a, _)| a)
        .collect();
    let handovers: Vec<InboxHandover> = handovers
        .into_iter()
        .filter(|(_, unit)| center || state.acl.is_within(unit, &user.unit))
        .map(|(h, _)| h)
        .collect();
    out.totals.handovers = handovers.len();
    out.handovers = handovers.into_iter().take(INBOX_MAX).collect();
    out.totals.registrations = regs.len();
    out.totals.grades = grades.len();
    out.totals.agreements = agreements.len();
    out.totals.warnings = warnings.len();
    out.registrations = regs.into_iter().take(INBOX_MAX).collect();
    out.grades = grades.into_iter().take(INBOX_MAX).collect();
    out.agreements = agreements.into_iter().take(INBOX_MAX).collect();
    out.warnings = warnings.into_iter().take(INBOX_MAX).collect();
    Ok(Json(out))
}
