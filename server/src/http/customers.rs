//! `/api/customers` and the visit cadence: what the caller may see, from the
//! projection tables.

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use fieldbook_shared::api::{CustomerSummary, DuplicateLine};
use fieldbook_shared::visits::{self, Compliance, HeadCompliance};
use fieldbook_shared::vocab::{Line, Nature};

use super::openapi::{Endpoint, NO, ep, schema};
use fieldbook_shared::calendar::{Month, Quarter};

use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::projection::books;
use crate::state::AppState;
use crate::store::by_customer::ByCustomer;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("get", "/api/customers", "The customers the caller may see, with grades, tiers and registration", true, NO, None, schema::<Vec<CustomerSummary>>, get(customers)),
        ep("get", "/api/cadence", "Visit compliance per manager for a month", true, &[("month", "YYYY-MM (default: this month)")], None, schema::<Vec<Compliance>>, get(cadence)),
        ep("get", "/api/cadence/heads", "Each unit head's own visits in a quarter", true, &[("quarter", "YYYY-Qn (default: this quarter)")], None, schema::<Vec<HeadCompliance>>, get(head_cadence)),
    ]
}

/// `GET /api/customers`: the registered customers the caller may open, from the
/// projection tables.
pub async fn customers(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<CustomerSummary>>, ServerError> {
    let visible = state.acl.visible_customers(user.id);
    let rows = state
        .db
        .read(move |c| {
            // One snapshot, and one SQLite file lock, for the whole list.
            let tx = c.transaction()?;
            let by = ByCustomer::new(&tx, &visible)?;
            let mut found: Vec<Option<CustomerSummary>> = visible.iter().map(|_| None).collect();
            by.each(
                &tx,
                "SELECT c.doc_id, i.name, i.credit_code, i.nature, i.lines, p.username, a.username, c.unit,
                        i.last_visit, i.visit_count, c.registered_at, g.same_as, g.owned_lines, g.duplicate_lines,
                        i.annual_revenue_fen, i.level_proposed, i.grade_proposed,
                        ga.level, ga.grade, g.status, i.cross_city_fen, i.managed_as, i.managed_why, i.managed_rank,
                        COALESCE(n.number, '')
                 FROM customers c
                 LEFT JOIN customer_numbers n ON n.doc_id = c.doc_id
                 LEFT JOIN grade_approvals ga ON ga.doc_id = c.doc_id
                 LEFT JOIN registrations g ON g.doc_id = c.doc_id
                 JOIN users p ON p.id = c.primary_user
                 LEFT JOIN users a ON a.id = c.assistant_user
                 LEFT JOIN customer_index i ON i.doc_id = c.doc_id",
                "c.doc_id",
                "",
                |r| {
                        let lines: Option<String> = r.get(4)?;
                        Ok(CustomerSummary {
                            id: r.get(0)?,
                            customer_no: r.get(24)?,
                            url: books::url_of(&r.get::<_, String>(0)?),
                            name: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                            credit_code: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                            nature: Nature::parse(&r.get::<_, Option<String>>(3)?.unwrap_or_default()),
                            lines: lines.unwrap_or_default().split(',').filter(|s| !s.is_empty()).map(Line::parse).collect(),
                            owner: r.get(5)?,
                            assistant: r.get(6)?,
                            unit: r.get(7)?,
                            last_visit: r.get(8)?,
                            visit_count: r.get::<_, Option<i64>>(9)?.unwrap_or(0),
                            registered_at: r.get(10)?,
                            same_as: r.get::<_, Option<String>>(11)?.map(|d| books::url_of(&d)),
                            owned_lines: split_lines(r.get::<_, Option<String>>(12)?.unwrap_or_default()),
                            duplicate_lines: r
                                .get::<_, Option<String>>(13)?
                                .unwrap_or_default()
                                .split(',')
                                .filter_map(|p| p.split_once(':'))
                                .map(|(l, u)| DuplicateLine { line: Line::parse(l), owner_unit: u.to_string() })
                                .collect(),
                            annual_revenue_fen: r.get::<_, Option<i64>>(14)?.unwrap_or(0),
                            level_proposed: r.get::<_, Option<String>>(15)?.unwrap_or_else(|| "none".into()),
                            grade_proposed: r.get::<_, Option<String>>(16)?.unwrap_or_else(|| "none".into()),
                            level_approved: r.get(17)?,
                            grade_approved: r.get(18)?,
                            registration_status: r.get::<_, Option<String>>(19)?.unwrap_or_else(|| "pending".into()),
                            cross_city_fen: r.get::<_, Option<i64>>(20)?.unwrap_or(0),
                            managed_as: r.get::<_, Option<String>>(21)?.unwrap_or_else(|| "none".into()),
                            managed_why: fieldbook_shared::grading::ManagedWhy::from_stored(
                                &r.get::<_, Option<String>>(22)?.unwrap_or_default(),
                                r.get::<_, Option<i64>>(23)?.unwrap_or(0),
                            ),
                        })
                },
                |i, x| found[i] = Some(x),
            )?;
            tx.commit()?;
            let mut out: Vec<CustomerSummary> = found.into_iter().flatten().collect();
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
        .await?;
    Ok(Json(rows))
}

fn split_lines(s: String) -> Vec<Line> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(Line::parse)
        .collect()
}

/// `GET /api/cadence?month=YYYY-MM` query.
#[derive(Debug, serde::Deserialize)]
pub struct MonthQuery {
    pub month: Option<String>,
}

/// `GET /api/cadence`: visit compliance per manager for a month (default: this
/// month), over the customers the caller may see.
pub async fn cadence(
    State(state): State<AppState>,
    user: AuthUser,
    axum::extract::Query(q): axum::extract::Query<MonthQuery>,
) -> Result<Json<Vec<fieldbook_shared::visits::Compliance>>, ServerError> {
    let month = q.month.unwrap_or_else(crate::this_month);
    if Month::parse(&month).is_none() {
        return Err(ServerError::BadRequest(format!(
            "月份应写作 YYYY-MM（如 2026-10），不是 {month:?} / month must be YYYY-MM, not {month:?}"
        )));
    }
    let visible = state.acl.visible_customers(user.id);
    let rows = state
        .db
        .read(move |c| {
            let mut manager = c.prepare_cached(
                "SELECT u.username FROM customers c JOIN users u ON u.id = c.primary_user WHERE c.doc_id = ?1",
            )?;
            let mut dates = c.prepare_cached("SELECT date FROM visit_index WHERE doc_id = ?1")?;
            let mut out = Vec::with_capacity(visible.len());
            for doc in visible {
                let m: String = manager.query_row([&doc], |r| r.get(0))?;
                let d = dates.query_map([&doc], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
                out.push((doc, m, d));
            }
            Ok(out)
        })
        .await?;
    Ok(Json(fieldbook_shared::visits::compliance(&rows, &month)))
}

/// `GET /api/cadence/heads?quarter=YYYY-Qn` query.
#[derive(Debug, serde::Deserialize)]
pub struct QuarterQuery {
    pub quarter: Option<String>,
}

/// `GET /api/cadence/heads`: each unit head's own visits in a quarter (default: this
/// quarter) to the customers of their unit, over the customers the caller may see
/// (docs/domain.md, Visit cadence: a head visits each key customer at least once a
/// quarter).
pub async fn head_cadence(
    State(state): State<AppState>,
    user: AuthUser,
    axum::extract::Query(q): axum::extract::Query<QuarterQuery>,
) -> Result<Json<Vec<visits::HeadCompliance>>, ServerError> {
    let this_quarter = visits::quarter_of(&crate::this_month()).unwrap_or_default();
    let quarter = q.quarter.unwrap_or(this_quarter);
    if Quarter::parse(&quarter).is_none() {
        return Err(ServerError::BadRequest(format!(
            "季度应写作 YYYY-Qn（n 为 1 到 4，如 2026-Q4），不是 {quarter:?} / quarter must be YYYY-Qn (n = 1 to 4), not {quarter:?}"
        )));
    }
    let visible = state.acl.visible_customers(user.id);
    let rows = state
        .db
        .read(move |c| {
            let mut heads = c.prepare_cached(
                "SELECT u.username FROM customers c
                 JOIN users u ON u.unit = c.unit AND u.role = 'head' AND u.disabled = 0
                 WHERE c.doc_id = ?1",
            )?;
            let mut visits =
                c.prepare_cached("SELECT date, visitors FROM visit_index WHERE doc_id = ?1")?;
            let mut out = Vec::new();
            for doc in visible {
                let v = visits
                    .query_map([&doc], |r| {
                        let who: String = r.get(1)?;
                        Ok((
                            r.get::<_, String>(0)?,
                            who.split(',')
                                .filter(|s| !s.is_empty())
                                .map(str::to_string)
                                .collect(),
                        ))
                    })?
                    .collect::<Result<Vec<visits::VisitBy>, _>>()?;
                for head in heads.query_map([&doc], |r| r.get::<_, String>(0))? {
                    out.push((doc.clone(), head?, v.clone()));
                }
            }
            Ok(out)
        })
        .await?;
    Ok(Json(visits::head_compliance(&rows, &quarter)))
}
