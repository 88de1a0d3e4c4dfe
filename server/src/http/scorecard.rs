//! `GET /api/scorecard`: the scorecard 考核 of the managers and units of a
//! subtree for a month, a quarter or a year, computed by
//! `fieldbook_shared::scorecard` from the projections (the same rows as the
//! reports) and the approved registrations.

use axum::Json;
use axum::extract::{Query, State};
use axum::routing::get;
use fieldbook_shared::scorecard::{self, Approval, CustomerFacts, Scorecard};
use fieldbook_shared::vocab::Role;
use serde::Deserialize;

use super::openapi::{Endpoint, ep, schema};
use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::state::AppState;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("get", "/api/scorecard", "The scorecard 考核 per manager and unit (a head: their subtree)", true, &[("unit", "unit code (default: the caller's)"), ("period", "YYYY-MM, YYYY-Qn or YYYY (default: the last complete month)")], None, schema::<Scorecard>, get(scorecard)),
    ]
}

#[derive(Debug, Default, Deserialize)]
pub struct ScoreQuery {
    pub unit: Option<String>,
    pub period: Option<String>,
}

pub async fn scorecard(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<ScoreQuery>,
) -> Result<Json<Scorecard>, ServerError> {
    Ok(Json(compute(&state, &user, q).await?))
}

/// The scorecard for `user` (also the export's).
pub async fn compute(
    state: &AppState,
    user: &AuthUser,
    q: ScoreQuery,
) -> Result<Scorecard, ServerError> {
    if !matches!(user.role, Role::Head | Role::Admin) {
        return Err(ServerError::Forbidden(
            "考核只属于首席客户经理和大客中心 / the scorecard is for heads and the center".into(),
        ));
    }
    // By default the last complete month: a month's ledger is imported
    // after it ends.
    let period = q.period.unwrap_or_else(|| {
        let this = crate::this_month();
        fieldbook_shared::calendar::Month::parse(&this)
            .map(|m| m.plus(-1).to_string())
            .unwrap_or(this)
    });
    let Some(months) = scorecard::months_of_period(&period) else {
        return Err(ServerError::BadRequest(format!(
            "看不懂的期间 {period}：请用 YYYY-MM、YYYY-Qn 或 YYYY / not a period: {period} (use YYYY-MM, YYYY-Qn or YYYY)"
        )));
    };
    let months: Vec<String> = months.iter().map(|m| m.to_string()).collect();
    let (unit, docs) = super::reports::scope(state, user, q.unit)?;
    let rows = state
        .db
        .read(move |c| super::reports::read_rows(c, &docs))
        .await?;
    // Managers and the registrations they got approved, by their unit now.
    type Users = Vec<(String, String, String, String)>;
    let (users, approvals): (Users, Vec<(String, String, String)>) = state
        .db
        .call(|c| {
            let mut stmt = c.prepare(
                "SELECT username, unit, role, display_name FROM users WHERE disabled = 0 ORDER BY unit, username",
            )?;
            let users = stmt
                .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            let mut stmt = c.prepare(
                "SELECT u.username, r.unit, r.decided_at FROM registrations r
                 JOIN customers cu ON cu.doc_id = r.doc_id
                 JOIN users u ON u.id = cu.registered_by
                 WHERE r.status = 'approved' AND r.decided_at IS NOT NULL",
            )?;
            let approvals = stmt
                .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok((users, approvals))
        })
        .await?;
    let within = |u: &str| unit.is_empty() || state.acl.is_within(u, &unit);
    let holders: std::collections::BTreeSet<&str> =
        rows.iter().map(|r| r.manager.as_str()).collect();
    // The managers of the subtree, and anyone holding a customer in it.
    let manager_units: Vec<(String, String)> = users
        .iter()
        .filter(|(name, u, role, _)| {
            (role == "manager" && within(u)) || holders.contains(name.as_str())
        })
        .map(|(name, u, _, _)| (name.clone(), u.clone()))
        .collect();
    let approvals: Vec<Approval> = approvals
        .into_iter()
        .filter(|(_, u, _)| within(u))
        .filter_map(|(manager, unit, at)| {
            let ms = chrono::DateTime::parse_from_rfc3339(&at)
                .ok()?
                .timestamp_millis();
            let month = fieldbook_shared::calendar::month_of(ms);
            months.contains(&month).then_some(Approval {
                manager,
                unit,
                month,
            })
        })
        .collect();
    let follow_ups: Vec<_> = rows.iter().flat_map(|r| r.follow_ups.clone()).collect();
    let customers: Vec<CustomerFacts> = rows
        .into_iter()
        .map(|r| CustomerFacts {
            manager: r.manager,
            unit: r.unit,
            level: r.level,
            ledger: r.ledger,
            visits: r.visits,
            complaints: r.complaints,
            plans: r.plans,
            surveys: r.surveys,
        })
        .collect();
    let rules = state.rules.get();
    // Tens of milliseconds at 10,000 customers: off the async threads.
    let mut card = tokio::task::spawn_blocking(move || {
        scorecard::scorecard(
            &customers,
            &follow_ups,
            &approvals,
            &manager_units,
            &months,
            &rules.complaints,
        )
    })
    .await
    .map_err(|e| ServerError::Internal(format!("the scorecard task failed: {e}")))?;
    for row in &mut card.managers {
        if let Some(u) = users.iter().find(|u| u.0 == row.manager) {
            row.name = u.3.clone();
        }
    }
    card.unit = unit;
    card.period = period;
    Ok(card)
}
