//! The scorecard 考核 of managers and units for a month, a quarter or a year
//! (docs/domain.md, Scorecard): one pure function over what the server
//! projected, so every figure is computed once, here, and tested against
//! hand-computed fixtures. Figures that score come from the revenue ledger as
//! imported and the projected visits, follow-ups and complaints — never from
//! a tablet's estimate.
//!
//! Attribution: a customer counts, for the whole period, for the manager
//! who holds it now and the unit it is in now (a customer handed over
//! mid-month counts wholly for its new manager); a manager appears under the
//! unit they are in now. Follow-ups count for their owner, registrations for
//! the manager who registered them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::calendar::{Month, Quarter};
use crate::complaints::ComplaintRules;
use crate::customer::FollowUp;
use crate::reports::{ComplaintFacts, growth_percent};

/// A period: `YYYY-MM`, `YYYY-Qn` or `YYYY`; its months, in order, or `None`.
pub fn months_of_period(period: &str) -> Option<Vec<Month>> {
    if let Some(m) = Month::parse(period) {
        return Some(vec![m]);
    }
    if let Some(q) = Quarter::parse(period) {
        let first = Month {
            year: q.year,
            month: (q.quarter - 1) * 3 + 1,
        };
        return Some((0..3).map(|i| first.plus(i)).collect());
    }
    if period.len() == 4 && period.bytes().all(|b| b.is_ascii_digit()) {
        let year: i64 = period.parse().ok()?;
        return Some((1..=12).map(|month| Month { year, month }).collect());
    }
    None
}

/// What the scorecard reads of one customer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerFacts {
    /// Username of the primary manager now.
    pub manager: String,
    /// The customer's unit now.
    pub unit: String,
    /// Its proposed level (`none` is not a key account).
    pub level: String,
    /// Revenue per month (YYYY-MM → fen), as imported.
    pub ledger: BTreeMap<String, i64>,
    /// Days of its visits (YYYY-MM-DD), by anyone.
    pub visits: Vec<String>,
    pub complaints: Vec<ComplaintFacts>,
    /// Annual plans: (year, target in fen).
    pub plans: Vec<(String, i64)>,
    /// Satisfaction surveys: (day, average score ×10).
    pub surveys: Vec<(String, i64)>,
}

/// A registration 报备 approved: who registered it, in which unit, and the
/// month it was approved (the operator's).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Approval {
    pub manager: String,
    pub unit: String,
    pub month: String,
}

/// One line of the scorecard: a manager (`manager` set), or a unit
/// (`manager` empty), or everything (both empty).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoreRow {
    pub manager: String,
    /// The manager's display name (filled by the server).
    #[serde(default)]
    pub name: String,
    pub unit: String,
    /// Customers held now.
    pub customers: usize,
    /// Registrations approved in the period.
    pub registered: usize,
    /// Revenue in the period, the same number of months before, and the same
    /// months a year before (fen).
    pub revenue_fen: i64,
    pub previous_fen: i64,
    pub last_year_fen: i64,
    /// Growth against the months before, and year on year (percent; none
    /// when there was nothing to grow from).
    pub growth_percent: Option<i64>,
    pub yoy_percent: Option<i64>,
    /// Revenue of key accounts (a level other than none), and its share of
    /// the revenue (per mille).
    pub key_revenue_fen: i64,
    pub key_share_permille: i64,
    /// Customer-months due a visit and visited (every customer is due every
    /// month), and the rate (percent; 100 when none were due).
    pub visits_due: usize,
    pub visits_made: usize,
    pub compliance_percent: i64,
    /// Follow-ups 督办 closed in the period, and of those closed by their due
    /// day (or with none).
    pub follow_ups_closed: usize,
    pub follow_ups_on_time: usize,
    /// Complaints raised in the period; of those answered within the limits
    /// at every step so far; average satisfaction of those closed ×10.
    pub complaints: usize,
    pub complaints_on_time: usize,
    pub satisfaction_x10: i64,
    /// Annual plans of the period's years: target and the ledger's actual
    /// for the whole of those years (fen), and the completion (percent).
    pub plan_target_fen: i64,
    pub plan_actual_fen: i64,
    pub plan_percent: i64,
    /// Customers with revenue in the months before and none in the period.
    pub lost: usize,
    /// Satisfaction surveys taken in the period and their average score ×10
    /// (0 when none).
    #[serde(default)]
    pub surveys: usize,
    #[serde(default)]
    pub survey_x10: i64,
}

/// The scorecard for a unit subtree and period.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    pub unit: String,
    pub period: String,
    /// The period's months.
    pub months: Vec<String>,
    pub managers: Vec<ScoreRow>,
    pub units: Vec<ScoreRow>,
    pub total: ScoreRow,
    /// Revenue per unit and month of the period (unit, month, fen): the trend.
    pub unit_trend: Vec<(String, String, i64)>,
}

/// Whether `f` was closed in `months`, and whether on time.
fn closed_in(f: &FollowUp, months: &[String]) -> Option<bool> {
    if f.is_open() {
        return None;
    }
    let m = f.closed_on.get(0..7)?;
    months
        .iter()
        .any(|x| x == m)
        .then(|| f.due.is_empty() || f.closed_on.as_str() <= f.due.as_str())
}

/// Whether every step of a complaint so far took no longer than its limit.
fn answered_in_time(c: &ComplaintFacts, rules: &ComplaintRules) -> bool {
    c.steps.windows(2).all(|pair| {
        let limit = match pair[0].0.as_str() {
            "recorded" => rules.recorded_days,
            "assigned" => rules.assigned_days,
            "in_progress" => rules.in_progress_days,
            "replied" => rules.replied_days,
            _ => return true,
        };
        match (
            crate::care::day_number(&pair[0].1),
            crate::care::day_number(&pair[1].1),
        ) {
            (Some(a), Some(b)) => b - a <= limit,
            _ => true,
        }
    })
}

/// What one group of customers, follow-ups and approvals adds up to.
fn score(
    customers: &[&CustomerFacts],
    follow_ups: &[&FollowUp],
    approvals: usize,
    months: &[String],
    rules: &ComplaintRules,
) -> ScoreRow {
    let before: Vec<String> = crate::reports::months_before(months);
    let last_year: Vec<String> = months
        .iter()
        .filter_map(|m| Month::parse(m).map(|m| m.plus(-12).to_string()))
        .collect();
    let sum = |c: &CustomerFacts, ms: &[String]| -> i64 {
        ms.iter().filter_map(|m| c.ledger.get(m)).sum()
    };
    let mut r = ScoreRow {
        customers: customers.len(),
        registered: approvals,
        ..ScoreRow::default()
    };
    let years: std::collections::BTreeSet<&str> =
        months.iter().filter_map(|m| m.get(0..4)).collect();
    let (mut sat_sum, mut sat_n) = (0, 0);
    let mut survey_sum = 0;
    for c in customers {
        for (day, average) in &c.surveys {
            if day.get(0..7).is_some_and(|m| months.iter().any(|x| x == m)) {
                r.surveys += 1;
                survey_sum += average;
            }
        }
        let now = sum(c, months);
        r.revenue_fen += now;
        let prev = sum(c, &before);
        r.previous_fen += prev;
        r.last_year_fen += sum(c, &last_year);
        if c.level != "none" && !c.level.is_empty() {
            r.key_revenue_fen += now;
        }
        if now == 0 && prev > 0 {
            r.lost += 1;
        }
        for m in months {
            r.visits_due += 1;
            r.visits_made += usize::from(c.visits.iter().any(|d| d.get(0..7) == Some(m)));
        }
        for k in &c.complaints {
            let raised = k.steps.first().and_then(|s| s.1.get(0..7));
            if raised.is_some_and(|m| months.iter().any(|x| x == m)) {
                r.complaints += 1;
                r.complaints_on_time += usize::from(answered_in_time(k, rules));
                if k.status == "closed" && k.satisfaction > 0 {
                    sat_sum += k.satisfaction;
                    sat_n += 1;
                }
            }
        }
        for (year, target) in &c.plans {
            if years.contains(year.as_str()) {
                r.plan_target_fen += target;
                r.plan_actual_fen += c
                    .ledger
                    .iter()
                    .filter(|(m, _)| m.get(0..4) == Some(year.as_str()))
                    .map(|(_, fen)| fen)
                    .sum::<i64>();
            }
        }
    }
    for f in follow_ups {
        if let Some(on_time) = closed_in(f, months) {
            r.follow_ups_closed += 1;
            r.follow_ups_on_time += usize::from(on_time);
        }
    }
    r.growth_percent = growth_percent(r.revenue_fen, r.previous_fen);
    r.yoy_percent = growth_percent(r.revenue_fen, r.last_year_fen);
    r.key_share_permille = (r.key_revenue_fen * 1000)
        .checked_div(r.revenue_fen)
        .unwrap_or(0);
    r.compliance_percent = (r.visits_made * 100)
        .checked_div(r.visits_due)
        .unwrap_or(100) as i64;
    r.satisfaction_x10 = (sat_sum * 10).checked_div(sat_n).unwrap_or(0);
    r.survey_x10 = survey_sum.checked_div(r.surveys as i64).unwrap_or(0);
    r.plan_percent = (r.plan_actual_fen * 100)
        .checked_div(r.plan_target_fen)
        .unwrap_or(0);
    r
}

/// The scorecard of `customers` (with the follow-ups of their documents,
/// by owner) and `approvals`, for `months`. `manager_units` names each
/// manager's unit now (a manager with no customer still has a line).
pub fn scorecard(
    customers: &[CustomerFacts],
    follow_ups: &[FollowUp],
    approvals: &[Approval],
    manager_units: &[(String, String)],
    months: &[String],
    rules: &ComplaintRules,
) -> Scorecard {
    let unit_of: BTreeMap<&str, &str> = manager_units
        .iter()
        .map(|(m, u)| (m.as_str(), u.as_str()))
        .collect();
    let mut out = Scorecard {
        months: months.to_vec(),
        ..Scorecard::default()
    };
    // Grouped once: filtering every customer and follow-up for each of 500
    // managers was millions of comparisons at 10,000 customers.
    let mut by_manager: BTreeMap<&str, Vec<&CustomerFacts>> = BTreeMap::new();
    let mut by_unit: BTreeMap<&str, Vec<&CustomerFacts>> = BTreeMap::new();
    for c in customers {
        by_manager.entry(c.manager.as_str()).or_default().push(c);
        by_unit.entry(c.unit.as_str()).or_default().push(c);
    }
    let mut owned_by: BTreeMap<&str, Vec<&FollowUp>> = BTreeMap::new();
    for f in follow_ups {
        owned_by.entry(f.owner.as_str()).or_default().push(f);
    }
    let mut approved_by: BTreeMap<&str, usize> = BTreeMap::new();
    let mut approved_in: BTreeMap<&str, usize> = BTreeMap::new();
    for a in approvals {
        *approved_by.entry(a.manager.as_str()).or_default() += 1;
        *approved_in.entry(a.unit.as_str()).or_default() += 1;
    }
    let none_held: Vec<&CustomerFacts> = Vec::new();
    let none_owned: Vec<&FollowUp> = Vec::new();
    for (manager, unit) in manager_units {
        let held = by_manager.get(manager.as_str()).unwrap_or(&none_held);
        let owned = owned_by.get(manager.as_str()).unwrap_or(&none_owned);
        let approved = approved_by.get(manager.as_str()).copied().unwrap_or(0);
        let mut row = score(held, owned, approved, months, rules);
        row.manager = manager.clone();
        row.unit = unit.clone();
        out.managers.push(row);
    }
    let units: std::collections::BTreeSet<&str> = customers
        .iter()
        .map(|c| c.unit.as_str())
        .chain(manager_units.iter().map(|(_, u)| u.as_str()))
        .collect();
    let mut owned_in: BTreeMap<&str, Vec<&FollowUp>> = BTreeMap::new();
    for f in follow_ups {
        if let Some(unit) = unit_of.get(f.owner.as_str()) {
            owned_in.entry(unit).or_default().push(f);
        }
    }
    for unit in units {
        let held = by_unit.get(unit).unwrap_or(&none_held);
        let owned = owned_in.get(unit).unwrap_or(&none_owned);
        let approved = approved_in.get(unit).copied().unwrap_or(0);
        let mut row = score(held, owned, approved, months, rules);
        row.unit = unit.to_string();
        for m in months {
            let fen = held.iter().filter_map(|c| c.ledger.get(m)).sum();
            out.unit_trend.push((unit.to_string(), m.clone(), fen));
        }
        out.units.push(row);
    }
    let all: Vec<&CustomerFacts> = customers.iter().collect();
    let every: Vec<&FollowUp> = follow_ups.iter().collect();
    out.total = score(&all, &every, approvals.len(), months, rules);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(m, f)| (m.to_string(), *f)).collect()
    }

    #[test]
    fn periods_are_a_month_a_quarter_or_a_year() {
        let ms = |p: &str| {
            months_of_period(p).map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(ms("2026-11"), Some(vec!["2026-11".to_string()]));
        assert_eq!(
            ms("2026-Q4"),
            Some(vec!["2026-10".into(), "2026-11".into(), "2026-12".into()])
        );
        assert_eq!(ms("2026").map(|v| v.len()), Some(12));
        assert_eq!(ms("2026-Q5"), None);
        assert_eq!(ms("26"), None);
        assert_eq!(ms("2026-13"), None);
    }

    /// Two managers in one unit over 2026-Q3, every figure by hand.
    #[test]
    fn a_quarter_scored_by_hand() {
        let quarter: Vec<String> = ["2026-07", "2026-08", "2026-09"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let a = CustomerFacts {
            manager: "m1".into(),
            unit: "so1".into(),
            level: "suboffice".into(),
            // Q3: 100+100+100 = 300; Q2: 50+50+50 = 150 (+100 %); Q3 2025: 200 (+50 %).
            ledger: ledger(&[
                ("2025-07", 100),
                ("2025-08", 100),
                ("2026-04", 50),
                ("2026-05", 50),
                ("2026-06", 50),
                ("2026-07", 100),
                ("2026-08", 100),
                ("2026-09", 100),
            ]),
            // Visited in July and September: 2 of 3 months.
            visits: vec![
                "2026-07-03".into(),
                "2026-09-30".into(),
                "2026-06-01".into(),
            ],
            complaints: vec![
                // Raised in Q3, answered in time, closed with 4.
                ComplaintFacts {
                    status: "closed".into(),
                    steps: vec![
                        ("recorded".into(), "2026-08-01".into()),
                        ("assigned".into(), "2026-08-02".into()),
                        ("in_progress".into(), "2026-08-03".into()),
                        ("replied".into(), "2026-08-05".into()),
                        ("closed".into(), "2026-08-06".into()),
                    ],
                    satisfaction: 4,
                    task_force: false,
                },
                // Raised in Q3, recorded 3 days before being assigned (limit 1).
                ComplaintFacts {
                    status: "assigned".into(),
                    steps: vec![
                        ("recorded".into(), "2026-09-01".into()),
                        ("assigned".into(), "2026-09-04".into()),
                    ],
                    satisfaction: 0,
                    task_force: false,
                },
                // Raised in Q2: not counted.
                ComplaintFacts {
                    status: "closed".into(),
                    steps: vec![("recorded".into(), "2026-06-30".into())],
                    satisfaction: 1,
                    task_force: false,
                },
            ],
            plans: vec![("2026".into(), 1000)],
            // Two surveys in Q3 (42 and 48: average 45), one before.
            surveys: vec![
                ("2026-07-20".into(), 42),
                ("2026-09-02".into(), 48),
                ("2026-03-01".into(), 10),
            ],
        };
        let b = CustomerFacts {
            manager: "m2".into(),
            unit: "so1".into(),
            level: "none".into(),
            // Revenue before, none in Q3: lost.
            ledger: ledger(&[("2026-06", 80)]),
            visits: vec![],
            complaints: vec![],
            plans: vec![],
            surveys: vec![],
        };
        let fu = |owner: &str, due: &str, closed_on: &str| FollowUp {
            owner: owner.into(),
            due: due.into(),
            closed: true,
            closed_on: closed_on.into(),
            ..Default::default()
        };
        let follow_ups = vec![
            fu("m1", "2026-08-10", "2026-08-09"), // on time
            fu("m1", "2026-08-10", "2026-08-20"), // late
            fu("m1", "", "2026-09-01"),           // no due day: on time
            fu("m1", "2026-06-01", "2026-06-01"), // closed before the quarter
            FollowUp {
                owner: "m2".into(),
                ..Default::default()
            }, // open
        ];
        let approvals = vec![Approval {
            manager: "m2".into(),
            unit: "so1".into(),
            month: "2026-08".into(),
        }];
        let managers = vec![
            ("m1".to_string(), "so1".to_string()),
            ("m2".to_string(), "so1".to_string()),
            ("m3".to_string(), "so2".to_string()),
        ];
        let s = scorecard(
            &[a, b],
            &follow_ups,
            &approvals,
            &managers,
            &quarter,
            &ComplaintRules::default(),
        );
        let m1 = &s.managers[0];
        assert_eq!(
            (
                m1.customers,
                m1.revenue_fen,
                m1.previous_fen,
                m1.last_year_fen
            ),
            (1, 300, 150, 200)
        );
        assert_eq!((m1.growth_percent, m1.yoy_percent), (Some(100), Some(50)));
        assert_eq!((m1.key_revenue_fen, m1.key_share_permille), (300, 1000));
        assert_eq!(
            (m1.visits_due, m1.visits_made, m1.compliance_percent),
            (3, 2, 66)
        );
        assert_eq!((m1.follow_ups_closed, m1.follow_ups_on_time), (3, 2));
        assert_eq!(
            (m1.complaints, m1.complaints_on_time, m1.satisfaction_x10),
            (2, 1, 40)
        );
        // The 2026 plan against all of 2026's ledger: 450 of 1000.
        assert_eq!(
            (m1.plan_target_fen, m1.plan_actual_fen, m1.plan_percent),
            (1000, 450, 45)
        );
        assert_eq!((m1.lost, m1.registered), (0, 0));
        assert_eq!((m1.surveys, m1.survey_x10), (2, 45));
        let m2 = &s.managers[1];
        assert_eq!((m2.revenue_fen, m2.lost, m2.registered), (0, 1, 1));
        assert_eq!(m2.growth_percent, Some(-100));
        // A manager without customers has a line of zeros (100 % compliance:
        // nothing was due).
        let m3 = &s.managers[2];
        assert_eq!((m3.customers, m3.compliance_percent), (0, 100));
        // The unit adds its customers up.
        let so1 = s.units.iter().find(|u| u.unit == "so1").unwrap();
        assert_eq!(
            (
                so1.customers,
                so1.revenue_fen,
                so1.previous_fen,
                so1.visits_due,
                so1.visits_made
            ),
            (2, 300, 230, 6, 2)
        );
        assert_eq!(
            (so1.key_share_permille, so1.lost, so1.registered),
            (1000, 1, 1)
        );
        assert_eq!(so1.follow_ups_closed, 3);
        assert_eq!(s.total.revenue_fen, 300);
        let trend: Vec<i64> = s
            .unit_trend
            .iter()
            .filter(|t| t.0 == "so1")
            .map(|t| t.2)
            .collect();
        assert_eq!(trend, [100, 100, 100]);
    }
}
