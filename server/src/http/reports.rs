//! `GET /api/reports`: the heads' and the center's reports over a unit subtree
//! and a period, from the projections (see `fieldbook_shared::reports`).

use std::collections::{BTreeMap, BTreeSet};

use axum::Json;
use axum::extract::{Query, State};
use axum::routing::get;
use fieldbook_shared::grading::{self, Grade, Level};
use fieldbook_shared::reports::{
    self, ComplaintFacts, ComplianceRow, ExpiringRow, GradeRow, GrowthRow, PlanRow, RecordFacts,
    Reports,
};
use fieldbook_shared::vocab::Role;
use serde::Deserialize;

use super::openapi::{Endpoint, ep, schema};
use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::state::AppState;
use crate::store::by_customer::ByCustomer;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("get", "/api/reports", "Reports over a unit subtree and period", true, &[("unit", "unit code (default: the caller's)"), ("from", "YYYY-MM"), ("to", "YYYY-MM")], None, schema::<Reports>, get(reports)),
    ]
}

#[derive(Debug, Deserialize)]
pub struct ReportQuery {
    /// A unit code: its whole subtree is reported (default: the caller's unit;
    /// everything for the center).
    pub unit: Option<String>,
    /// First and last month, `YYYY-MM` (default: the last 12 complete months).
    pub from: Option<String>,
    pub to: Option<String>,
    /// For the follow-ups' export: open, overdue, done or all (default).
    pub state: Option<String>,
    /// For the scorecard's export: YYYY-MM, YYYY-Qn or YYYY.
    pub period: Option<String>,
    /// For the reports' exports: a quarter YYYY-Qn, instead of `from` and
    /// `to` (the quarterly visit report 季度走访报表).
    pub quarter: Option<String>,
}

/// One customer's projected facts (also the scorecard's: `http/scorecard.rs`).
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) unit: String,
    pub(crate) manager: String,
    pub(crate) level: String,
    pub(crate) grade: String,
    pub(crate) record: RecordFacts,
    pub(crate) visits: Vec<String>,
    pub(crate) ledger: BTreeMap<String, i64>,
    pub(crate) alerts: Vec<String>,
    pub(crate) complaints: Vec<ComplaintFacts>,
    pub(crate) plans: Vec<(String, i64)>,
    pub(crate) agreements: Vec<(String, String, String)>,
    pub(crate) follow_ups: Vec<fieldbook_shared::customer::FollowUp>,
    /// Satisfaction surveys: (day, average ×10).
    pub(crate) surveys: Vec<(String, i64)>,
    /// Events it was invited to: (event id, day, attended).
    pub(crate) events: Vec<(String, String, bool)>,
}

pub async fn reports(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<ReportQuery>,
) -> Result<Json<Reports>, ServerError> {
    Ok(Json(compute(&state, &user, q).await?))
}

/// The reports for `user` (also used by the exports).
pub async fn compute(
    state: &AppState,
    user: &AuthUser,
    q: ReportQuery,
) -> Result<Reports, ServerError> {
    let this_month = crate::this_month();
    let last12 = grading::last_twelve_months(&this_month);
    let mut q = q;
    if let Some(quarter) = q.quarter.take() {
        let Some(ms) = fieldbook_shared::calendar::Quarter::parse(&quarter)
            .and_then(|_| fieldbook_shared::scorecard::months_of_period(&quarter))
        else {
            return Err(ServerError::BadRequest(format!(
                "看不懂的季度 {quarter}：请用 YYYY-Qn / not a quarter: {quarter} (use YYYY-Qn)"
            )));
        };
        q.from = ms.first().map(|m| m.to_string());
        q.to = ms.last().map(|m| m.to_string());
    }
    let from = q.from.unwrap_or_else(|| last12[0].clone());
    let to = q.to.unwrap_or_else(|| last12[11].clone());
    let months = reports::months_between(&from, &to);
    if months.is_empty() {
        return Err(ServerError::BadRequest(format!(
            "期间应为两个 YYYY-MM 月份，起始不晚于结束（from={from:?}，to={to:?}） / the period must be two months YYYY-MM, the first not after the last (from={from:?}, to={to:?})"
        )));
    }
    let (unit, docs) = scope(state, user, q.unit)?;
    let span = Span {
        visits: (from.clone(), to.clone()),
        ledger: None,
    };
    let rows = state.db.read(move |c| read_rows(c, &docs, &span)).await?;
    let today = crate::today();
    let rules = state.rules.get();
    // Tens of milliseconds at 10,000 customers: off the async threads.
    tokio::task::spawn_blocking(move || compose(rows, unit, &months, &today, &rules))
        .await
        .map_err(|e| ServerError::Internal(format!("the report task failed: {e}")))
}

/// The unit a report or list is over (the caller's by default, everything
/// for the center; a unit outside the caller's subtree is refused) and the
/// customers in it that the caller sees.
pub fn scope(
    state: &AppState,
    user: &AuthUser,
    unit: Option<String>,
) -> Result<(String, Vec<String>), ServerError> {
    let unit = match unit.filter(|u| !u.is_empty()) {
        Some(u) => {
            if user.role != Role::Admin && !state.acl.is_within(&u, &user.unit) {
                return Err(ServerError::Forbidden(format!(
                    "{u} 不在你的单位范围内 / {u} is outside your unit's subtree"
                )));
            }
            u
        }
        None if user.role == Role::Admin => String::new(),
        None => user.unit.clone(),
    };
    let docs: Vec<String> = state
        .acl
        .visible_customers(user.id)
        .into_iter()
        .filter(|d| {
            unit.is_empty()
                || state
                    .acl
                    .assignment(d)
                    .is_some_and(|a| state.acl.is_within(&a.unit, &unit))
        })
        .collect();
    Ok((unit, docs))
}

/// Which months of the customers' history a read takes (first and last,
/// `YYYY-MM`): a report or scorecard looks at visits in its period only, and
/// a scorecard at a few years of the ledger. Reading every visit and ledger
/// month of 10,000 customers was hundreds of thousands of rows per answer.
#[derive(Debug, PartialEq)]
pub(crate) struct Span {
    pub(crate) visits: (String, String),
    /// `None`: the whole ledger (a report lists plans of any year).
    pub(crate) ledger: Option<(String, String)>,
}

pub(crate) fn read_rows(
    c: &mut crate::store::sql::Connection,
    docs: &[String],
    span: &Span,
) -> Result<Vec<Row>, ServerError> {
    // One read transaction: one snapshot for all the tables, and SQLite takes
    // its file lock once rather than for every statement.
    let tx = c.transaction()?;
    let rows = read_rows_in(&tx, docs, span)?;
    tx.commit()?;
    Ok(rows)
}

fn read_rows_in(
    c: &crate::store::sql::Connection,
    docs: &[String],
    span: &Span,
) -> Result<Vec<Row>, ServerError> {
    use crate::store::sql::Value;
    let by = ByCustomer::new(c, docs)?;
    let mut rows: Vec<Option<Row>> = docs.iter().map(|_| None).collect();
    by.each(
        c,
        "SELECT c.doc_id, i.name, c.unit, u.username, i.level_proposed, i.grade_proposed, i.credit_code,
                i.address, i.industry, i.contacts, i.last_change_ms, i.last_visit
         FROM customers c JOIN users u ON u.id = c.primary_user
         JOIN customer_index i ON i.doc_id = c.doc_id",
        "c.doc_id",
        "",
        |r| {
            let id: String = r.get(0)?;
            let last_ms: i64 = r.get(10)?;
            let name: String = r.get(1)?;
            Ok(Row {
                id: id.clone(),
                name: name.clone(),
                unit: r.get(2)?,
                manager: r.get(3)?,
                level: r.get(4)?,
                grade: r.get(5)?,
                record: RecordFacts {
                    id,
                    name,
                    credit_code: r.get(6)?,
                    address: r.get(7)?,
                    industry: r.get(8)?,
                    contacts: r.get(9)?,
                    // The operator's month, as "this month" is (a
                    // change on the 1st before 08:00 is that month's).
                    last_change_month: if last_ms > 0 {
                        fieldbook_shared::calendar::month_of(last_ms)
                    } else {
                        String::new()
                    },
                    last_visit: r.get(11)?,
                },
                visits: Vec::new(),
                ledger: BTreeMap::new(),
                alerts: Vec::new(),
                complaints: Vec::new(),
                plans: Vec::new(),
                agreements: Vec::new(),
                follow_ups: Vec::new(),
                surveys: Vec::new(),
                events: Vec::new(),
            })
        },
        |i, row| rows[i] = Some(row),
    )?;
    // A customer registered but not projected yet has no row: what follows
    // is dropped for it.
    by.each_where(
        c,
        "SELECT doc_id, date FROM visit_index",
        "doc_id",
        "substr(date, 1, 7) BETWEEN ?1 AND ?2",
        vec![
            Value::Text(span.visits.0.clone()),
            Value::Text(span.visits.1.clone()),
        ],
        "",
        |r| r.get(1),
        |i, v| {
            if let Some(row) = &mut rows[i] {
                row.visits.push(v)
            }
        },
    )?;
    let (cond, months) = match &span.ledger {
        Some((first, last)) => (
            "month BETWEEN ?1 AND ?2",
            vec![Value::Text(first.clone()), Value::Text(last.clone())],
        ),
        None => ("1 = 1", Vec::new()),
    };
    by.each_where(
        c,
        "SELECT doc_id, month, amount_fen FROM ledger_index",
        "doc_id",
        cond,
        months,
        "",
        |r| Ok((r.get(1)?, r.get(2)?)),
        |i, (m, a)| {
            if let Some(row) = &mut rows[i] {
                row.ledger.insert(m, a);
            }
        },
    )?;
    by.each(
        c,
        "SELECT doc_id, kind FROM alerts",
        "doc_id",
        "ORDER BY doc_id, n",
        |r| r.get(1),
        |i, k| {
            if let Some(row) = &mut rows[i] {
                row.alerts.push(k)
            }
        },
    )?;
    by.each(
        c,
        "SELECT doc_id, status, steps, satisfaction, task_force FROM complaint_index",
        "doc_id",
        "",
        |r| {
            let steps: String = r.get(2)?;
            Ok(ComplaintFacts {
                status: r.get(1)?,
                steps: serde_json::from_str(&steps).unwrap_or_default(),
                satisfaction: r.get(3)?,
                task_force: r.get::<_, i64>(4)? != 0,
            })
        },
        |i, x| {
            if let Some(row) = &mut rows[i] {
                row.complaints.push(x)
            }
        },
    )?;
    by.each(
        c,
        "SELECT doc_id, year, target_fen FROM plan_index",
        "doc_id",
        "",
        |r| Ok((r.get(1)?, r.get(2)?)),
        |i, x| {
            if let Some(row) = &mut rows[i] {
                row.plans.push(x)
            }
        },
    )?;
    by.each(
        c,
        "SELECT doc_id, number, end_date, status FROM agreement_index",
        "doc_id",
        "",
        |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?)),
        |i, x| {
            if let Some(row) = &mut rows[i] {
                row.agreements.push(x)
            }
        },
    )?;
    by.each(
        c,
        "SELECT doc_id, day, average_x10 FROM survey_index",
        "doc_id",
        "",
        |r| Ok((r.get(1)?, r.get(2)?)),
        |i, x| {
            if let Some(row) = &mut rows[i] {
                row.surveys.push(x)
            }
        },
    )?;
    by.each(
        c,
        "SELECT i.doc_id, e.date, i.attended, e.id FROM event_invitees i JOIN events e ON e.id = i.event_id",
        "i.doc_id",
        "",
        |r| Ok((r.get(3)?, r.get(1)?, r.get(2)?)),
        |i, x| {
            if let Some(row) = &mut rows[i] {
                row.events.push(x)
            }
        },
    )?;
    // As the shared rule reads them: the projected state is the effective one.
    by.each(
        c,
        "SELECT doc_id, owner, due, state, told_customer, closed_on FROM followup_index",
        "doc_id",
        "",
        |r| {
            let state = fieldbook_shared::vocab::FollowUpState::parse(&r.get::<_, String>(3)?);
            Ok(fieldbook_shared::customer::FollowUp {
                owner: r.get(1)?,
                due: r.get(2)?,
                closed: state == fieldbook_shared::vocab::FollowUpState::Done,
                state,
                told_customer: r.get(4)?,
                closed_on: r.get(5)?,
                ..Default::default()
            })
        },
        |i, x| {
            if let Some(row) = &mut rows[i] {
                row.follow_ups.push(x)
            }
        },
    )?;
    Ok(rows.into_iter().flatten().collect())
}

fn compose(
    rows: Vec<Row>,
    unit: String,
    months: &[String],
    today: &str,
    rules: &fieldbook_shared::rules::Rules,
) -> Reports {
    let before = reports::months_before(months);
    let sum = |ledger: &BTreeMap<String, i64>, ms: &[String]| -> i64 {
        ms.iter().filter_map(|m| ledger.get(m)).sum()
    };
    let mut r = Reports {
        unit,
        from: months[0].clone(),
        to: months[months.len() - 1].clone(),
        ..Default::default()
    };

    // Each customer's revenue in the period and in as many months before.
    let revenue: Vec<(i64, i64)> = rows
        .iter()
        .map(|row| (sum(&row.ledger, months), sum(&row.ledger, &before)))
        .collect();

    // Compliance: each manager's customers are due a visit every month.
    // Which of the period's months each customer was visited in is found
    // once (scanning every customer's visits for each month was most of
    // this function).
    let month_ix: std::collections::HashMap<&str, usize> = months
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let mut by_manager: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
    let mut visited_in = vec![false; rows.len() * months.len()];
    for (n, row) in rows.iter().enumerate() {
        by_manager
            .entry((row.manager.as_str(), row.unit.as_str()))
            .or_default()
            .push(n);
        for d in &row.visits {
            if let Some(&i) = d.get(0..7).and_then(|m| month_ix.get(m)) {
                visited_in[n * months.len() + i] = true;
            }
        }
    }
    for ((manager, unit), customers) in &by_manager {
        for (i, month) in months.iter().enumerate() {
            let visited = customers
                .iter()
                .filter(|&&n| visited_in[n * months.len() + i])
                .count();
            let due = customers.len();
            r.compliance.push(ComplianceRow {
                manager: manager.to_string(),
                unit: unit.to_string(),
                month: month.clone(),
                due,
                visited,
                rate_percent: (visited * 100).checked_div(due).unwrap_or(100) as i64,
            });
        }
    }

    // Levels and grades, with revenue and share.
    let mut cells: BTreeMap<(Level, Grade), (usize, i64)> = BTreeMap::new();
    for (row, &(now, _)) in rows.iter().zip(&revenue) {
        let level = Level::ALL
            .into_iter()
            .find(|l| l.as_str() == row.level)
            .unwrap_or(Level::None);
        let grade = Grade::ALL
            .into_iter()
            .find(|g| g.as_str() == row.grade)
            .unwrap_or(Grade::None);
        let cell = cells.entry((level, grade)).or_default();
        cell.0 += 1;
        cell.1 += now;
        r.total_revenue_fen += now;
    }
    for ((level, grade), (n, revenue)) in cells.into_iter().rev() {
        r.grades.push(GradeRow {
            level: level.as_str().into(),
            grade: grade.as_str().into(),
            customers: n,
            revenue_fen: revenue,
            share_permille: if r.total_revenue_fen > 0 {
                revenue * 1000 / r.total_revenue_fen
            } else {
                0
            },
        });
    }

    // Growth and churn against the same number of months before.
    for (row, &(now, prev)) in rows.iter().zip(&revenue) {
        let g = GrowthRow {
            id: row.id.clone(),
            name: row.name.clone(),
            unit: row.unit.clone(),
            revenue_fen: now,
            previous_fen: prev,
            growth_percent: reports::growth_percent(now, prev),
            alerts: row.alerts.clone(),
        };
        if now == 0 && prev > 0 {
            r.lost.push(g);
        } else {
            r.growth.push(g);
        }
    }
    r.growth.sort_by(|a, b| {
        (a.growth_percent.unwrap_or(i64::MAX), &a.name)
            .cmp(&(b.growth_percent.unwrap_or(i64::MAX), &b.name))
    });

    let follow_ups: Vec<_> = rows.iter().flat_map(|row| row.follow_ups.clone()).collect();
    r.follow_ups = reports::follow_up_tally(&follow_ups, months, today);

    let complaints: Vec<ComplaintFacts> =
        rows.iter().flat_map(|row| row.complaints.clone()).collect();
    r.complaints = reports::complaint_report(&complaints, today, &rules.complaints);

    let today_n = fieldbook_shared::care::day_number(today);
    for row in &rows {
        for (year, target) in &row.plans {
            let actual: i64 = row
                .ledger
                .iter()
                .filter(|(m, _)| m.get(0..4) == Some(year.as_str()))
                .map(|(_, fen)| fen)
                .sum();
            r.plans.push(PlanRow {
                id: row.id.clone(),
                name: row.name.clone(),
                unit: row.unit.clone(),
                year: year.clone(),
                target_fen: *target,
                actual_fen: actual,
                percent: if *target > 0 {
                    actual * 100 / target
                } else {
                    0
                },
            });
        }
        for (number, end, status) in &row.agreements {
            let days = fieldbook_shared::care::day_number(end)
                .zip(today_n)
                .map(|(e, t)| e - t);
            if status == "active"
                && let Some(d) = days.filter(|d| (0..=30).contains(d))
            {
                r.expiring.push(ExpiringRow {
                    id: row.id.clone(),
                    name: row.name.clone(),
                    number: number.clone(),
                    end: end.clone(),
                    in_days: d,
                });
            }
        }
    }
    r.expiring.sort_by_key(|e| e.in_days);
    r.unit_compliance = reports::compliance_by_unit(&r.compliance);
    r.unit_plans = reports::plans_by_unit(&r.plans);

    let key: Vec<RecordFacts> = rows
        .iter()
        .filter(|row| row.level != "none")
        .map(|row| row.record.clone())
        .collect();
    r.online = reports::online_rate(&key, today);
    // Customer events per unit and half year of the period.
    let halves: BTreeSet<String> = months
        .iter()
        .filter_map(|m| fieldbook_shared::events::half_of(m))
        .collect();
    // Every unit with customers gets a line for every half, held or not.
    let mut by_half: BTreeMap<(&str, &str), (BTreeSet<&str>, usize)> = BTreeMap::new();
    for row in &rows {
        for half in &halves {
            by_half
                .entry((row.unit.as_str(), half.as_str()))
                .or_default();
        }
        for (id, day, attended) in &row.events {
            if let Some(half) = fieldbook_shared::events::half_of(day).and_then(|h| halves.get(&h))
                && let Some(cell) = by_half.get_mut(&(row.unit.as_str(), half.as_str()))
            {
                cell.0.insert(id.as_str());
                cell.1 += usize::from(*attended);
            }
        }
    }
    for ((unit, half), (held, came)) in by_half {
        r.events.push(reports::EventHalf {
            unit: unit.to_string(),
            half: half.to_string(),
            events: held.len(),
            attended: came,
        });
    }
    // Satisfaction surveys taken in the period.
    let taken: Vec<i64> = rows
        .iter()
        .flat_map(|row| &row.surveys)
        .filter(|(day, _)| day.get(0..7).is_some_and(|m| months.iter().any(|x| x == m)))
        .map(|(_, average)| *average)
        .collect();
    r.surveys = taken.len();
    r.survey_x10 = taken
        .iter()
        .sum::<i64>()
        .checked_div(taken.len() as i64)
        .unwrap_or(0);
    r
}
