//! Decisions that carry authority: a registration approved or sent back, a
//! level and grade fixed, an agreement approved, a bad-credit report ruled on.
//! Each is one function here, taken by the REST handlers (`http/approvals.rs`,
//! `http/warnings.rs`) and by a desk's requests (`desks.rs`: a decision taken
//! on a tablet, maybe offline). Authority is checked here, at the moment the
//! decision reaches the server, from the server's own tables.

use crate::store::sql::{OptionalExtension, params};
use fieldbook_shared::desk::Decision;
use fieldbook_shared::grading::{Grade, Level};
use fieldbook_shared::vocab::Role;

use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::now;
use crate::projection::books;
use crate::state::AppState;

/// Takes `decision` as `user`; answers what was done ("中文 / English").
pub async fn take(
    state: &AppState,
    user: &AuthUser,
    decision: &Decision,
) -> Result<String, ServerError> {
    match decision {
        Decision::ApproveRegistration { doc } => {
            decide_registration(state, user, doc, "approved", "").await?;
            Ok("报备已批准 / registration approved".into())
        }
        Decision::ReturnRegistration { doc, reason } => {
            decide_registration(state, user, doc, "rejected", reason).await?;
            Ok("报备已退回 / registration sent back".into())
        }
        Decision::Grade { doc, level, grade } => {
            fix_grade(state, user, doc, *level, *grade).await?;
            Ok(format!(
                "已定为{}·{} / fixed as {} · {}",
                level.label_zh(),
                grade.label_zh(),
                level.label_en(),
                grade.label_en()
            ))
        }
        Decision::ApproveAgreement { doc, agreement } => {
            approve_agreement(state, user, doc, agreement).await?;
            Ok("服务协议已批准 / agreement approved".into())
        }
        Decision::ConfirmWarning { report } => {
            decide_warning(state, user, *report, "confirmed").await?;
            Ok(
                "不良资信已确认，已发往所有设备 / report confirmed; every device will show it"
                    .into(),
            )
        }
        Decision::RejectWarning { report } => {
            decide_warning(state, user, *report, "rejected").await?;
            Ok("不良资信报告已驳回 / report rejected".into())
        }
        Decision::CreateEvent {
            id,
            kind,
            title,
            date,
            place,
            invitees,
        } => {
            let n = create_event(state, user, id, kind, title, date, place, invitees).await?;
            Ok(format!(
                "活动已建立，已邀请 {n} 个客户 / event held; {n} customers invited"
            ))
        }
        Decision::RequestHandover { doc, to, reason } => {
            request_handover(state, user, doc, to, reason).await?;
            Ok("交接申请已提交，等待负责人审批 / hand-over requested; a head decides".into())
        }
        Decision::DecideHandover { request, approve } => {
            decide_handover(state, user, *request, *approve).await?;
            Ok(if *approve {
                "已交接 / handed over".into()
            } else {
                "交接申请已退回 / hand-over request sent back".into()
            })
        }
        Decision::RuleLine { doc, line } => {
            rule_line(state, user, doc, line).await?;
            Ok(format!(
                "已裁定{}归属本报备 / {} ruled to this registration",
                line.label_zh(),
                line.label_en()
            ))
        }
        Decision::ReviewMonth {
            manager,
            month,
            comment,
        } => {
            review_month(state, user, manager, month, comment).await?;
            Ok(format!("{month} 已核实 / {month} reviewed"))
        }
        Decision::SpotCheck {
            doc,
            visit,
            comment,
        } => {
            spot_check(state, user, doc, visit, comment).await?;
            Ok("抽查已记录 / spot check recorded".into())
        }
        Decision::ReportWarning {
            name,
            credit_code,
            kind,
            note,
        } => {
            report_warning(state, user, name, credit_code, *kind, note).await?;
            Ok("已报告，等待大客中心确认 / reported; the center decides".into())
        }
    }
}

/// Anyone reports a customer for bad credit; the center decides. Answers
/// the report's id.
pub async fn report_warning(
    state: &AppState,
    user: &AuthUser,
    name: &str,
    credit_code: &str,
    kind: fieldbook_shared::credit::WarningKind,
    note: &str,
) -> Result<i64, ServerError> {
    let name = name.trim().to_string();
    let code = credit_code.trim().to_uppercase();
    if name.is_empty() && code.is_empty() {
        return Err(ServerError::BadRequest(
            "报告须写明客户名称或统一社会信用代码 / a report needs the customer's name or credit code".into(),
        ));
    }
    let (note, who) = (note.to_string(), user.id);
    let id = state
        .db
        .call(move |c| {
            Ok(c.query_row(
                "INSERT INTO credit_warnings (name, credit_code, kind, note, reported_by, reported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 RETURNING id",
                params![name, code, kind.as_str(), note, who, now()],
                |r| r.get::<_, i64>(0),
            )?)
        })
        .await?;
    tracing::info!(user = %user.username, report = id, "bad-credit report");
    Ok(id)
}

/// Fixes a customer's level and grade. Diamond and platinum are approved at the
/// provincial level (the center here), gold and below by the head of a unit
/// above the customer (docs/domain.md, Levels and grades).
pub async fn fix_grade(
    state: &AppState,
    user: &AuthUser,
    doc_id: &str,
    level: Level,
    grade: Grade,
) -> Result<(), ServerError> {
    let Some(a) = state.acl.assignment(doc_id) else {
        return Err(ServerError::NotFound(format!(
            "没有这个客户 {doc_id} / no customer {doc_id}"
        )));
    };
    let allowed = match user.role {
        Role::Admin => true,
        Role::Head => state.acl.is_within(&a.unit, &user.unit) && grade < Grade::Platinum,
        _ => false,
    };
    if !allowed {
        return Err(ServerError::Forbidden(
            "钻石、白金客户由大客中心审批，黄金及以下由所属单位的首席客户经理审批 / diamond and platinum grades are approved by the center; gold and below by a head over the customer's unit".into(),
        ));
    }
    let (doc, who) = (doc_id.to_string(), user.id);
    state
        .db
        .call(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO grade_approvals (doc_id, level, grade, approved_by, approved_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![doc, level.as_str(), grade.as_str(), who, now()],
            )?;
            Ok(())
        })
        .await?;
    tracing::info!(user = %user.username, doc = %doc_id, level = level.as_str(), grade = grade.as_str(), "grade approved");
    books::refresh_for_customer(state, doc_id).await
}

/// Approves (`approved`) or sends back (`rejected`, with a reason) a
/// registration, by a head of a unit above the registering unit or the
/// center. A registration is decided once: a second decision is refused with
/// who decided first, unless it is the same decision by the same person (a
/// request delivered twice).
pub async fn decide_registration(
    state: &AppState,
    user: &AuthUser,
    doc_id: &str,
    status: &'static str,
    reason: &str,
) -> Result<(), ServerError> {
    require_level_above(
        state,
        user,
        doc_id,
        "报备须由上一级审批 / a registration is approved by the level above the registering unit",
    )
    .await?;
    let (doc, who, reason) = (doc_id.to_string(), user.id, reason.to_string());
    let pattern = state.rules.get().numbers.pattern.clone();
    let today = crate::today();
    let changed = state
        .db
        .call(move |c| {
            let tx = c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
            let (current, by, by_name, at): (String, Option<i64>, Option<String>, Option<String>) =
                tx.query_row(
                    "SELECT r.status, r.decided_by, u.display_name, r.decided_at
                     FROM registrations r LEFT JOIN users u ON u.id = r.decided_by
                     WHERE r.doc_id = ?1",
                    [&doc],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )?;
            if current != "pending" {
                if current == status && by == Some(who) {
                    return Ok(false);
                }
                let (zh, en) = if current == "approved" {
                    ("批准", "approved")
                } else {
                    ("退回", "sent back")
                };
                let name = by_name.unwrap_or_else(|| "—".into());
                // The operator's day, as the tablets count days.
                let day = at
                    .as_deref()
                    .and_then(|a| chrono::DateTime::parse_from_rfc3339(a).ok())
                    .map(|t| fieldbook_shared::calendar::day_of(t.timestamp_millis()))
                    .unwrap_or_default();
                return Err(ServerError::Conflict(format!(
                    "该报备已由{name}于{day}{zh} / this registration was already {en} by {name} on {day}"
                )));
            }
            tx.execute(
                "UPDATE registrations SET status = ?2, decided_by = ?3, decided_at = ?4, reason = ?5
                 WHERE doc_id = ?1",
                params![doc, status, who, now(), reason],
            )?;
            // Approved: the customer gets its number (客户编号), once.
            if status == "approved" {
                crate::numbers::assign(&tx, &doc, &pattern, &today)?;
            }
            tx.commit()?;
            Ok(true)
        })
        .await?;
    if changed {
        tracing::info!(user = %user.username, doc = %doc_id, status, "registration decided");
        // Every tablet that lists the customer shows the decision.
        books::refresh_for_customer(state, doc_id).await?;
    }
    Ok(())
}

/// Refuses unless `user` is the center or a head over the customer's unit
/// (`refusal` says why); a customer nobody holds is not found.
fn require_over_customer(
    state: &AppState,
    user: &AuthUser,
    doc_id: &str,
    refusal: &str,
) -> Result<(), ServerError> {
    let Some(a) = state.acl.assignment(doc_id) else {
        return Err(ServerError::NotFound(format!(
            "没有这个客户 {doc_id} / no customer {doc_id}"
        )));
    };
    let allowed = match user.role {
        Role::Admin => true,
        Role::Head => state.acl.is_within(&a.unit, &user.unit),
        _ => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(ServerError::Forbidden(refusal.into()))
    }
}

/// Refuses unless `user` is the center or a head of a unit strictly above the unit that
/// registered `doc_id` (docs/domain.md, Registration and ownership: the level above
/// decides).
pub async fn require_level_above(
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

/// A head over the customer's unit, or the center, approves a service agreement
/// (docs/domain.md, Service agreements: platinum and above). Recorded in the
/// server's own table, which alone makes such an agreement active in the reports,
/// and written on the document so every tablet shows who approved it.
pub async fn approve_agreement(
    state: &AppState,
    user: &AuthUser,
    doc_id: &str,
    agreement: &str,
) -> Result<(), ServerError> {
    require_over_customer(
        state,
        user,
        doc_id,
        "服务协议由客户所属单位的负责人或大客中心审批 / an agreement is approved by a head over the customer's unit, or the center",
    )?;
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
    let agreement_id = agreement.to_string();
    crate::history::write_for_user(state, &handle, user.id, |d| {
        d.transact(|tx| fieldbook_shared::agreements::approve(tx, &agreement_id, &by, &today))
            .map(|_| ())
            .map_err(|e| match e.error {
                fieldbook_shared::SchemaError::Invalid(m) => ServerError::BadRequest(m),
                other => ServerError::Schema(other),
            })
    })
    .await?;
    let (doc, aid, who) = (doc_id.to_string(), agreement.to_string(), user.id);
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
    crate::projection::project_now(state, vec![doc_id.to_string()]).await?;
    tracing::info!(user = %user.username, doc = %doc_id, %agreement, "agreement approved");
    Ok(())
}

/// The center confirms (`confirmed`: the warning goes to every device) or
/// rejects a bad-credit report. Decided once, as a registration.
pub async fn decide_warning(
    state: &AppState,
    user: &AuthUser,
    id: i64,
    status: &'static str,
) -> Result<(), ServerError> {
    if user.role != Role::Admin {
        return Err(ServerError::Forbidden(
            "只有大客中心可以确认或驳回 / only the key-account center decides on reports".into(),
        ));
    }
    let who = user.id;
    let changed = state
        .db
        .call(move |c| {
            let tx = c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
            let current: Option<(String, Option<i64>, Option<String>)> = tx
                .query_row(
                    "SELECT w.status, w.decided_by, u.display_name
                     FROM credit_warnings w LEFT JOIN users u ON u.id = w.decided_by
                     WHERE w.id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let Some((current, by, by_name)) = current else {
                return Err(ServerError::NotFound(format!(
                    "没有这份报告 {id} / no report {id}"
                )));
            };
            if current != "reported" {
                if current == status && by == Some(who) {
                    return Ok(false);
                }
                let name = by_name.unwrap_or_else(|| "—".into());
                let (zh, en) = if current == "confirmed" {
                    ("确认", "confirmed")
                } else {
                    ("驳回", "rejected")
                };
                return Err(ServerError::Conflict(format!(
                    "该报告已由{name}{zh} / this report was already {en} by {name}"
                )));
            }
            tx.execute(
                "UPDATE credit_warnings SET status = ?2, decided_by = ?3, decided_at = ?4 WHERE id = ?1",
                params![id, status, who, now()],
            )?;
            tx.commit()?;
            Ok(true)
        })
        .await?;
    if changed {
        tracing::info!(user = %user.username, report = id, status, "bad-credit report decided");
        crate::warnings::publish(state).await?;
    }
    Ok(())
}

/// 月末核实: a head over the manager's unit (or the center) marks the
/// manager's month reviewed, with a comment; a later review replaces it.
pub async fn review_month(
    state: &AppState,
    user: &AuthUser,
    manager: &str,
    month: &str,
    comment: &str,
) -> Result<(), ServerError> {
    let login = manager.to_string();
    let found: Option<(i64, String)> = state
        .db
        .call(move |c| {
            Ok(c.query_row(
                "SELECT id, unit FROM users WHERE username = ?1",
                [&login],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })
        .await?;
    let Some((manager_id, unit)) = found else {
        return Err(ServerError::NotFound(format!(
            "没有这个用户 {manager} / no user {manager}"
        )));
    };
    let allowed = manager_id != user.id
        && match user.role {
            Role::Admin => true,
            Role::Head => state.acl.is_within(&unit, &user.unit),
            _ => false,
        };
    if !allowed {
        return Err(ServerError::Forbidden(
            "月末核实由客户经理所在单位的首席客户经理或大客中心进行 / a month is reviewed by a head over the manager's unit, or the center".into(),
        ));
    }
    let (month, comment, who) = (month.to_string(), comment.to_string(), user.id);
    state
        .db
        .call(move |c| {
            c.execute(
                "INSERT OR REPLACE INTO month_reviews (user_id, month, reviewer_id, comment, reviewed_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![manager_id, month, who, comment, now()],
            )?;
            Ok(())
        })
        .await?;
    tracing::info!(user = %user.username, manager, "month reviewed");
    books::refresh_user(state, manager_id).await
}

/// 抽查: a head over the customer's unit (or the center) records what a
/// check of one visit found; every tablet that lists the customer shows it.
pub async fn spot_check(
    state: &AppState,
    user: &AuthUser,
    doc_id: &str,
    visit: &str,
    comment: &str,
) -> Result<(), ServerError> {
    require_over_customer(
        state,
        user,
        doc_id,
        "抽查由客户所属单位的首席客户经理或大客中心进行 / a visit is spot-checked by a head over the customer's unit, or the center",
    )?;
    let (doc, v, comment, who) = (
        doc_id.to_string(),
        visit.to_string(),
        comment.to_string(),
        user.id,
    );
    let known = state
        .db
        .call(move |c| {
            let known: bool = c.query_row(
                "SELECT EXISTS(SELECT 1 FROM visit_index WHERE doc_id = ?1 AND visit_id = ?2)",
                params![doc, v],
                |r| r.get(0),
            )?;
            if known {
                c.execute(
                    "INSERT OR REPLACE INTO spot_checks (doc_id, visit_id, reviewer_id, comment, checked_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![doc, v, who, comment, now()],
                )?;
            }
            Ok(known)
        })
        .await?;
    if !known {
        return Err(ServerError::NotFound(format!(
            "没有这次走访 {visit} / no visit {visit}"
        )));
    }
    tracing::info!(user = %user.username, doc = %doc_id, visit, "visit spot-checked");
    books::refresh_for_customer(state, doc_id).await
}

/// A head above the registering unit (or the center) rules that `line`
/// belongs to this registration, whatever the order it arrived in; the
/// books of everyone whose registration changed show it.
pub async fn rule_line(
    state: &AppState,
    user: &AuthUser,
    doc_id: &str,
    line: &fieldbook_shared::vocab::Line,
) -> Result<(), ServerError> {
    require_level_above(
        state,
        user,
        doc_id,
        "归属争议由上一级裁定 / ownership disputes are ruled by the level above",
    )
    .await?;
    let (doc, l, who) = (doc_id.to_string(), line.clone(), user.id);
    let changed = state
        .db
        .call(move |c| {
            let tx =
                c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
            let changed = crate::projection::registration::rule(&tx, &doc, &l, who)?;
            tx.commit()?;
            Ok(changed)
        })
        .await?;
    tracing::info!(user = %user.username, doc = %doc_id, line = %line, "ownership ruled");
    for d in changed {
        if let Some(a) = state.acl.assignment(&d) {
            books::refresh_user(state, a.primary).await?;
        }
    }
    Ok(())
}

/// 联谊活动 / 座谈会: a head (customers of their subtree) or the center holds
/// an event; it is recorded, and the invitation written on each invited
/// customer's document (once). Answers how many were invited. The same
/// event (id) again by its creator changes nothing.
#[allow(clippy::too_many_arguments)]
pub async fn create_event(
    state: &AppState,
    user: &AuthUser,
    id: &str,
    kind: &str,
    title: &str,
    date: &str,
    place: &str,
    invitees: &[String],
) -> Result<usize, ServerError> {
    if !matches!(user.role, Role::Head | Role::Admin) {
        return Err(ServerError::Forbidden(
            "客户活动由首席客户经理或大客中心举办 / events are held by heads and the center".into(),
        ));
    }
    let mut docs: Vec<String> = invitees.to_vec();
    docs.sort();
    docs.dedup();
    for d in &docs {
        let within = state
            .acl
            .assignment(d)
            .is_some_and(|a| user.role == Role::Admin || state.acl.is_within(&a.unit, &user.unit));
        if !within {
            return Err(ServerError::Forbidden(format!(
                "受邀客户 {d} 不在你的单位范围内 / invited customer {d} is outside your unit's subtree"
            )));
        }
    }
    let (eid, row, who) = (
        id.to_string(),
        (
            kind.to_string(),
            title.to_string(),
            date.to_string(),
            place.to_string(),
        ),
        user.id,
    );
    let list = docs.clone();
    state
        .db
        .call(move |c| {
            let tx =
                c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
            let creator: Option<i64> = tx
                .query_row("SELECT created_by FROM events WHERE id = ?1", [&eid], |r| {
                    r.get(0)
                })
                .optional()?;
            match creator {
                Some(by) if by != who => {
                    return Err(ServerError::Conflict(format!(
                        "已有活动 {eid} / there is already an event {eid}"
                    )));
                }
                Some(_) => {}
                None => {
                    tx.execute(
                        "INSERT INTO events (id, kind, title, date, place, created_by, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![eid, row.0, row.1, row.2, row.3, who, now()],
                    )?;
                }
            }
            for d in &list {
                tx.execute(
                    "INSERT OR IGNORE INTO event_invitees (event_id, doc_id) VALUES (?1, ?2)",
                    params![eid, d],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    let entry = fieldbook_shared::events::EventEntry {
        id: id.to_string(),
        kind: kind.to_string(),
        title: title.to_string(),
        date: date.to_string(),
        place: place.to_string(),
        ..Default::default()
    };
    let actor = crate::history::bind_server_actor(state, user.id).await?;
    for d in &docs {
        let Ok(doc_id) = d.parse::<samod::DocumentId>() else {
            continue;
        };
        let Some(handle) = state.repo.find(doc_id).await? else {
            continue;
        };
        crate::history::write_as(state, &handle, actor.clone(), user.id, |doc| {
            doc.transact(|tx| fieldbook_shared::events::invite(tx, &entry))
                .map(|_| ())
                .map_err(|e| ServerError::Schema(e.error))
        })?;
    }
    tracing::info!(user = %user.username, event = %id, invited = docs.len(), "event held");
    Ok(docs.len())
}

/// A customer's primary or assistant manager asks for it to go to another
/// manager (`to`, a username); the same request again changes nothing.
pub async fn request_handover(
    state: &AppState,
    user: &AuthUser,
    doc_id: &str,
    to: &str,
    reason: &str,
) -> Result<(), ServerError> {
    let Some(a) = state.acl.assignment(doc_id) else {
        return Err(ServerError::NotFound(format!(
            "没有这个客户 {doc_id} / no customer {doc_id}"
        )));
    };
    if a.primary != user.id && a.assistant != Some(user.id) {
        return Err(ServerError::Forbidden(
            "只有客户的主、辅助客户经理可以申请交接 / only the customer's managers request a hand-over".into(),
        ));
    }
    let (doc, login, reason, who) = (
        doc_id.to_string(),
        to.to_string(),
        reason.to_string(),
        user.id,
    );
    state
        .db
        .call(move |c| {
            let to_id: Option<i64> = c
                .query_row(
                    "SELECT id FROM users WHERE username = ?1 AND role = 'manager' AND disabled = 0",
                    [&login],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(to_id) = to_id else {
                return Err(ServerError::NotFound(format!(
                    "没有在职的客户经理 {login} / no active manager {login}"
                )));
            };
            if to_id == who {
                return Err(ServerError::BadRequest(
                    "不能交接给自己 / a customer is not handed to oneself".into(),
                ));
            }
            let pending: bool = c.query_row(
                "SELECT EXISTS(SELECT 1 FROM handover_requests
                 WHERE doc_id = ?1 AND requested_by = ?2 AND to_user = ?3 AND status = 'pending')",
                params![doc, who, to_id],
                |r| r.get(0),
            )?;
            if !pending {
                c.execute(
                    "INSERT INTO handover_requests (doc_id, requested_by, to_user, reason, requested_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![doc, who, to_id, reason, now()],
                )?;
            }
            Ok(())
        })
        .await?;
    tracing::info!(user = %user.username, doc = %doc_id, to, "hand-over requested");
    Ok(())
}

/// A head (or the center) approves a hand-over request — the hand-over is
/// made as `POST /api/customers/{id}/assign` makes it, checking the head's
/// authority over the customer and the new manager — or sends it back.
pub async fn decide_handover(
    state: &AppState,
    user: &AuthUser,
    request: i64,
    approve: bool,
) -> Result<(), ServerError> {
    let found: Option<(String, String, String)> = state
        .db
        .call(move |c| {
            Ok(c.query_row(
                "SELECT r.doc_id, u.username, r.status FROM handover_requests r
                 JOIN users u ON u.id = r.to_user WHERE r.id = ?1",
                [request],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
        })
        .await?;
    let Some((doc_id, to, status)) = found else {
        return Err(ServerError::NotFound(format!(
            "没有这个交接申请 {request} / no hand-over request {request}"
        )));
    };
    if status != "pending" {
        return Err(ServerError::Conflict(format!(
            "这个交接申请已处理 / hand-over request {request} was already decided"
        )));
    }
    require_over_customer(
        state,
        user,
        &doc_id,
        "交接由客户所属单位的负责人或大客中心审批 / a hand-over is decided by a head over the customer's unit, or the center",
    )?;
    if approve {
        // The assistant stays, unless they are the one taking over.
        let assistant = state.acl.assignment(&doc_id).and_then(|a| a.assistant);
        let assistant_name = match assistant {
            Some(id) => state
                .db
                .call(move |c| {
                    Ok(
                        c.query_row("SELECT username FROM users WHERE id = ?1", [id], |r| {
                            r.get::<_, String>(0)
                        })
                        .optional()?,
                    )
                })
                .await?
                .filter(|a| *a != to),
            None => None,
        };
        let _made = crate::http::handover::assign(
            axum::extract::State(state.clone()),
            user.clone(),
            axum::extract::Path(doc_id.clone()),
            axum::Json(crate::http::handover::AssignBody {
                primary: to.clone(),
                assistant: assistant_name,
                note: "交接申请 / hand-over request".into(),
            }),
        )
        .await?;
    }
    let (who, status) = (user.id, if approve { "approved" } else { "rejected" });
    state
        .db
        .call(move |c| {
            c.execute(
                "UPDATE handover_requests SET status = ?2, decided_by = ?3, decided_at = ?4 WHERE id = ?1",
                params![request, status, who, now()],
            )?;
            Ok(())
        })
        .await?;
    tracing::info!(user = %user.username, request, status, "hand-over request decided");
    Ok(())
}
