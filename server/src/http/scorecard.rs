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
    let span = span_of(&months);
    let rows = state
        .db
        .read(move |c| super::reports::read_rows(c, &docs, &span))
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

/// The months a scorecard of `months` reads: visits in the period; the
/// ledger from the same months a year before (or the months before, for a
/// period over a year) to the end of the period's last year, which covers the
/// period, its comparisons and the plans of its years (`scorecard::score`).
fn span_of(months: &[String]) -> super::reports::Span {
    let first = months.first().cloned().unwrap_or_default();
    let last = months.last().cloned().unwrap_or_default();
    let before = fieldbook_shared::reports::months_before(months);
    let year_ago = fieldbook_shared::calendar::Month::parse(&first)
        .map(|m| m.plus(-12).to_string())
        .unwrap_or_default();
    let from = [
        before.first().cloned().unwrap_or_default(),
        year_ago,
        format!("{}-01", first.get(0..4).unwrap_or_default()),
    ]
    .into_iter()
    .filter(|m| !m.is_empty())
    .min()
    .unwrap_or_default();
    let to = format!("{}-12", last.get(0..4).unwrap_or_default()).max(last.clone());
    super::reports::Span {
        visits: (first, last),
        ledger: Some((from, to)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn months(p: &str) -> Vec<String> {
        scorecard::months_of_period(p)
            .expect("period")
            .iter()
            .map(|m| m.to_string())
            .collect()
    }

    /// The ledger read covers the period, the months before it, the same
    /// months a year before and the whole of the period's years (the plans).
    #[test]
    fn a_scorecard_reads_the_months_its_figures_use() {
        let s = span_of(&months("2026-11"));
        assert_eq!(s.visits, ("2026-11".into(), "2026-11".into()));
        assert_eq!(s.ledger, Some(("2025-11".into(), "2026-12".into())));
        let s = span_of(&months("2026-Q1"));
        assert_eq!(s.visits, ("2026-01".into(), "2026-03".into()));
        assert_eq!(s.ledger, Some(("2025-01".into(), "2026-12".into())));
        let s = span_of(&months("2026"));
        assert_eq!(s.visits, ("2026-01".into(), "2026-12".into()));
        assert_eq!(s.ledger, Some(("2025-01".into(), "2026-12".into())));
    }
}
