//! The reports of unit heads and the key-account center (docs/domain.md, Reports): the
//! wire shapes of `GET /api/reports` and the pure computations behind them.

use crate::calendar::Month;
use serde::{Deserialize, Serialize};

use crate::complaints::ComplaintRules;
use crate::visits::{self, Cadence};

/// Every report for one unit subtree and period.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Reports {
    /// The unit whose subtree is reported ("" = everything the caller sees).
    pub unit: String,
    /// The period, months inclusive (`YYYY-MM`).
    pub from: String,
    pub to: String,
    /// Visit compliance per manager and month.
    pub compliance: Vec<ComplianceRow>,
    /// The same per unit and month (`manager` is empty).
    #[serde(default)]
    pub unit_compliance: Vec<ComplianceRow>,
    /// Customers by level and grade with their revenue in the period.
    pub grades: Vec<GradeRow>,
    /// Revenue of all reported customers in the period.
    pub total_revenue_fen: i64,
    /// Revenue per customer against the same number of months before.
    pub growth: Vec<GrowthRow>,
    /// Customers with revenue before the period and none in it (流失).
    pub lost: Vec<GrowthRow>,
    pub complaints: ComplaintReport,
    /// Annual plans against the ledger.
    pub plans: Vec<PlanRow>,
    /// Plans summed per unit and year (`id` and `name` are empty).
    #[serde(default)]
    pub unit_plans: Vec<PlanRow>,
    /// Agreements ending within 30 days.
    pub expiring: Vec<ExpiringRow>,
    pub online: OnlineRate,
    /// Follow-ups 督办 per owner: open, overdue now, closed in the period.
    #[serde(default)]
    pub follow_ups: Vec<FollowUpTally>,
    /// Customer events per unit and half year of the period (a unit "had
    /// one" when any of its customers was invited).
    #[serde(default)]
    pub events: Vec<EventHalf>,
    /// Satisfaction surveys taken in the period, and their average ×10.
    #[serde(default)]
    pub surveys: usize,
    #[serde(default)]
    pub survey_x10: i64,
}

/// A unit's customer events in a half year (`YYYY-H1` / `YYYY-H2`).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventHalf {
    pub unit: String,
    pub half: String,
    /// Events its customers were invited to, and customers who came.
    pub events: usize,
    pub attended: usize,
}

/// One owner's follow-ups 督办 (the shared rule: `followups.rs`).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FollowUpTally {
    /// Username of the owner ("" when none was named).
    pub owner: String,
    pub open: usize,
    pub overdue: usize,
    /// Closed on a day of the period.
    pub closed: usize,
    /// Of those, the customer told the result (告知客户).
    pub told: usize,
}

/// Follow-ups counted per owner: open and overdue as of `today`, closed in
/// the `months` (YYYY-MM) by the day they were closed.
pub fn follow_up_tally(
    follow_ups: &[crate::customer::FollowUp],
    months: &[String],
    today: &str,
) -> Vec<FollowUpTally> {
    let mut by: std::collections::BTreeMap<&str, FollowUpTally> = Default::default();
    for f in follow_ups {
        let t = by.entry(f.owner.as_str()).or_insert_with(|| FollowUpTally {
            owner: f.owner.clone(),
            ..Default::default()
        });
        if f.is_open() {
            t.open += 1;
            t.overdue += usize::from(f.is_overdue(today));
        } else if f
            .closed_on
            .get(0..7)
            .is_some_and(|m| months.iter().any(|x| x == m))
        {
            t.closed += 1;
            t.told += usize::from(f.told_customer);
        }
    }
    by.into_values().collect()
}

#[cfg(test)]
mod follow_up_tests {
    use super::*;
    use crate::customer::FollowUp;

    #[test]
    fn follow_ups_are_counted_per_owner_by_the_shared_rule() {
        let f = |owner: &str, due: &str, closed_on: &str, told: bool| FollowUp {
            owner: owner.into(),
            due: due.into(),
            closed: !closed_on.is_empty(),
            closed_on: closed_on.into(),
            told_customer: told,
            ..Default::default()
        };
        let all = [
            f("m1", "2026-11-01", "", false),
            f("m1", "2026-12-01", "", false),
            f("m1", "2026-11-01", "2026-11-05", true),
            f("m1", "2026-10-01", "2026-10-05", true),
            f("m2", "", "2026-11-20", false),
        ];
        let t = follow_up_tally(&all, &["2026-11".to_string()], "2026-11-22");
        let got: Vec<_> = t
            .iter()
            .map(|t| (t.owner.as_str(), t.open, t.overdue, t.closed, t.told))
            .collect();
        assert_eq!(got, [("m1", 2, 1, 1, 1), ("m2", 0, 0, 1, 0)]);
    }
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceRow {
    pub manager: String,
    pub unit: String,
    pub month: String,
    pub due: usize,
    pub visited: usize,
    /// Visited / due, in percent (100 when nothing was due).
    pub rate_percent: i64,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradeRow {
    pub level: String,
    pub grade: String,
    pub customers: usize,
    pub revenue_fen: i64,
    /// Share of the reported total revenue, in permille.
    pub share_permille: i64,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrowthRow {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub revenue_fen: i64,
    pub previous_fen: i64,
    /// None when there was no revenue before.
    pub growth_percent: Option<i64>,
    /// Revenue alerts of the last month (`anomaly::Alert` kinds).
    pub alerts: Vec<String>,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ComplaintReport {
    pub count: usize,
    pub closed: usize,
    pub overdue: usize,
    pub task_force: usize,
    /// Average days spent in each step before the next (status, days ×10).
    pub days_per_step: Vec<(String, i64)>,
    /// Average satisfaction of closed complaints ×10 (0 when none).
    pub satisfaction_x10: i64,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRow {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub year: String,
    pub target_fen: i64,
    pub actual_fen: i64,
    pub percent: i64,
}

#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpiringRow {
    pub id: String,
    pub name: String,
    pub number: String,
    pub end: String,
    pub in_days: i64,
}

/// "Customer online rate" (docs/domain.md, Reports): the share of key customers
/// whose record is complete, was updated this month and that are not overdue a visit.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OnlineRate {
    pub key_customers: usize,
    pub online: usize,
    pub rate_percent: i64,
    /// Key customers that are not online, and why.
    pub missing: Vec<(String, String, Vec<String>)>,
}

/// Per unit and month, from the per-manager rows.
pub fn compliance_by_unit(rows: &[ComplianceRow]) -> Vec<ComplianceRow> {
    let mut by: std::collections::BTreeMap<(String, String), (usize, usize)> = Default::default();
    for r in rows {
        let e = by.entry((r.unit.clone(), r.month.clone())).or_default();
        e.0 += r.due;
        e.1 += r.visited;
    }
    by.into_iter()
        .map(|((unit, month), (due, visited))| ComplianceRow {
            manager: String::new(),
            unit,
            month,
            due,
            visited,
            rate_percent: (visited * 100).checked_div(due).unwrap_or(100) as i64,
        })
        .collect()
}

/// Per unit and year, from the per-customer plans.
pub fn plans_by_unit(rows: &[PlanRow]) -> Vec<PlanRow> {
    let mut by: std::collections::BTreeMap<(String, String), (i64, i64)> = Default::default();
    for p in rows {
        let e = by.entry((p.unit.clone(), p.year.clone())).or_default();
        e.0 += p.target_fen;
        e.1 += p.actual_fen;
    }
    by.into_iter()
        .map(|((unit, year), (target, actual))| PlanRow {
            id: String::new(),
            name: String::new(),
            unit,
            year,
            target_fen: target,
            actual_fen: actual,
            percent: (actual * 100).checked_div(target).unwrap_or(0),
        })
        .collect()
}

/// The months from `from` to `to` inclusive (empty if either is malformed or
/// `to` is before `from`; at most 120).
pub fn months_between(from: &str, to: &str) -> Vec<String> {
    let (Some(a), Some(b)) = (Month::parse(from), Month::parse(to)) else {
        return Vec::new();
    };
    (a.index()..=b.index().min(a.index() + 119))
        .map(|i| Month::from_index(i).to_string())
        .collect()
}

/// The same number of months just before `months`.
pub fn months_before(months: &[String]) -> Vec<String> {
    let Some(first) = months.first() else {
        return Vec::new();
    };
    let n = months.len() as i64;
    let Some(first) = Month::parse(first) else {
        return Vec::new();
    };
    (1..=n).rev().map(|b| first.plus(-b).to_string()).collect()
}

/// Growth in percent, or None without a base.
pub fn growth_percent(now: i64, before: i64) -> Option<i64> {
    (before > 0).then(|| (now - before) * 100 / before)
}

/// A complaint as the report needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplaintFacts {
    pub status: String,
    /// (status entered, YYYY-MM-DD), in order.
    pub steps: Vec<(String, String)>,
    pub satisfaction: i64,
    pub task_force: bool,
}

/// Counts, time per step, satisfaction and overdue complaints as of `today`.
pub fn complaint_report(
    rows: &[ComplaintFacts],
    today: &str,
    rules: &ComplaintRules,
) -> ComplaintReport {
    let mut r = ComplaintReport {
        count: rows.len(),
        ..Default::default()
    };
    let mut per_step: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    let (mut sat_sum, mut sat_n) = (0, 0);
    for k in rows {
        if k.status == "closed" {
            r.closed += 1;
            if k.satisfaction > 0 {
                sat_sum += k.satisfaction;
                sat_n += 1;
            }
        }
        r.task_force += k.task_force as usize;
        for pair in k.steps.windows(2) {
            if let (Some(a), Some(b)) = (
                crate::care::day_number(&pair[0].1),
                crate::care::day_number(&pair[1].1),
            ) {
                let e = per_step.entry(pair[0].0.clone()).or_default();
                e.0 += b - a;
                e.1 += 1;
            }
        }
        let as_complaint = crate::complaints::Complaint {
            status: k.status.clone(),
            steps: k
                .steps
                .iter()
                .map(|(status, on)| crate::complaints::Step {
                    status: status.clone(),
                    on: on.clone(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        r.overdue += as_complaint.overdue(today, rules) as usize;
    }
    r.days_per_step = crate::complaints::STATUSES
        .iter()
        .filter_map(|s| {
            per_step
                .get(*s)
                .map(|(days, n)| (s.to_string(), days * 10 / n))
        })
        .collect();
    r.satisfaction_x10 = if sat_n > 0 { sat_sum * 10 / sat_n } else { 0 };
    r
}

/// A key customer's record as the online rate needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordFacts {
    pub id: String,
    pub name: String,
    pub credit_code: String,
    pub address: String,
    pub industry: String,
    pub contacts: i64,
    /// `YYYY-MM` of the document's last change.
    pub last_change_month: String,
    pub last_visit: Option<String>,
}

/// The online rate of key customers as of `today` (`YYYY-MM-DD`).
pub fn online_rate(key_customers: &[RecordFacts], today: &str) -> OnlineRate {
    let this_month = today.get(0..7).unwrap_or_default();
    let mut r = OnlineRate {
        key_customers: key_customers.len(),
        ..Default::default()
    };
    for c in key_customers {
        let mut why = Vec::new();
        for (value, what) in [
            (&c.name, "客户名称"),
            (&c.credit_code, "统一社会信用代码"),
            (&c.address, "地址"),
            (&c.industry, "行业"),
        ] {
            if value.trim().is_empty() {
                why.push(format!("缺{what}"));
            }
        }
        if c.contacts == 0 {
            why.push("缺联系人".into());
        }
        if c.last_change_month != this_month {
            why.push("本月未更新".into());
        }
        if visits::cadence(c.last_visit.as_deref(), today) == Cadence::Overdue {
            why.push("走访逾期".into());
        }
        if why.is_empty() {
            r.online += 1;
        } else {
            r.missing.push((c.id.clone(), c.name.clone(), why));
        }
    }
    r.rate_percent = (r.online * 100).checked_div(r.key_customers).unwrap_or(100) as i64;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_sum_their_managers_and_customers() {
        let c = |m: &str, u: &str, due, visited| ComplianceRow {
            manager: m.into(),
            unit: u.into(),
            month: "2026-11".into(),
            due,
            visited,
            rate_percent: 0,
        };
        let by = compliance_by_unit(&[
            c("m1", "so1", 4, 3),
            c("m2", "so1", 6, 2),
            c("m3", "so2", 0, 0),
        ]);
        assert_eq!((by[0].due, by[0].visited, by[0].rate_percent), (10, 5, 50));
        assert_eq!(by[1].rate_percent, 100, "nothing due");
        let p = |u: &str, t, a| PlanRow {
            id: "x".into(),
            name: "x".into(),
            unit: u.into(),
            year: "2026".into(),
            target_fen: t,
            actual_fen: a,
            percent: 0,
        };
        let by = plans_by_unit(&[p("so1", 100, 50), p("so1", 100, 100)]);
        assert_eq!(
            (by[0].target_fen, by[0].actual_fen, by[0].percent),
            (200, 150, 75)
        );
    }

    #[test]
    fn periods() {
        assert_eq!(
            months_between("2025-11", "2026-02"),
            ["2025-11", "2025-12", "2026-01", "2026-02"]
        );
        assert!(months_between("2026-02", "2025-11").is_empty());
        assert!(months_between("2026-13", "2026-14").is_empty());
        let m = months_between("2026-01", "2026-03");
        assert_eq!(months_before(&m), ["2025-10", "2025-11", "2025-12"]);
        assert_eq!(growth_percent(150, 100), Some(50));
        assert_eq!(growth_percent(50, 100), Some(-50));
        assert_eq!(growth_percent(50, 0), None);
    }

    #[test]
    fn complaints_count_time_per_step_satisfaction_and_overdue() {
        let k = |status: &str, steps: &[(&str, &str)], sat: i64| ComplaintFacts {
            status: status.into(),
            steps: steps
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            satisfaction: sat,
            task_force: false,
        };
        let rows = [
            k(
                "closed",
                &[
                    ("recorded", "2026-11-01"),
                    ("assigned", "2026-11-02"),
                    ("in_progress", "2026-11-04"),
                    ("replied", "2026-11-10"),
                    ("closed", "2026-11-11"),
                ],
                4,
            ),
            // Recorded 5 days ago and never assigned: over its 1-day limit.
            k("recorded", &[("recorded", "2026-11-17")], 0),
            k(
                "assigned",
                &[("recorded", "2026-11-20"), ("assigned", "2026-11-22")],
                0,
            ),
        ];
        let r = complaint_report(&rows, "2026-11-22", &ComplaintRules::default());
        assert_eq!((r.count, r.closed, r.overdue), (3, 1, 1));
        assert_eq!(r.satisfaction_x10, 40);
        // recorded: 1 day and 2 days -> 1.5; assigned 2; in progress 6; replied 1.
        assert_eq!(
            r.days_per_step,
            vec![
                ("recorded".to_string(), 15),
                ("assigned".to_string(), 20),
                ("in_progress".to_string(), 60),
                ("replied".to_string(), 10)
            ]
        );
    }

    #[test]
    fn online_needs_a_complete_current_record_and_no_overdue_visit() {
        let full = RecordFacts {
            id: "a".into(),
            name: "甲公司".into(),
            credit_code: "9131".into(),
            address: "上海".into(),
            industry: "零售".into(),
            contacts: 1,
            last_change_month: "2026-11".into(),
            last_visit: Some("2026-10-20".into()),
        };
        let stale = RecordFacts {
            id: "b".into(),
            last_change_month: "2026-10".into(),
            address: String::new(),
            ..full.clone()
        };
        let unvisited = RecordFacts {
            id: "c".into(),
            last_visit: Some("2026-09-01".into()),
            ..full.clone()
        };
        let r = online_rate(&[full, stale, unvisited], "2026-11-22");
        assert_eq!((r.key_customers, r.online, r.rate_percent), (3, 1, 33));
        assert_eq!(r.missing[0].2, vec!["缺地址", "本月未更新"]);
        assert_eq!(r.missing[1].2, vec!["走访逾期"]);
        assert_eq!(online_rate(&[], "2026-11-22").rate_percent, 100);
    }
}
