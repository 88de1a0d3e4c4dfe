//! What one customer document projects to, worked out without I/O: its row
//! in `customer_index`, its visits, revenue alerts and the report tables'
//! rows, under given rules and month. `writer.rs` applies a plan; everything
//! here is unit-tested without SQLite.

use std::collections::BTreeMap;

use fieldbook_shared::anomaly;
use fieldbook_shared::customer::{LedgerEntry, Outline};
use fieldbook_shared::grading::{self, Grade, Level};
use fieldbook_shared::rules::Rules;

/// A customer document's projection.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub doc: String,
    /// The document's heads (sorted, comma-joined) this plan was made from.
    pub heads: String,
    /// The operator's month the grades and alerts are as of (`YYYY-MM`).
    pub month: String,
    pub row: CustomerRow,
    pub visits: Vec<VisitRow>,
    /// Follow-ups 督办, as the document has them (state by the shared rule).
    pub follow_ups: Vec<FollowUpRow>,
    /// Revenue alerts 异动/流失, as (kind, the alert as JSON).
    pub alerts: Vec<(String, String)>,
    /// Revenue by month, in fen (all lines).
    pub ledger: BTreeMap<String, i64>,
    pub complaints: Vec<ComplaintRow>,
    /// Yearly plans: (year, target in fen).
    pub plans: Vec<(String, i64)>,
    pub agreements: Vec<AgreementRow>,
    /// Satisfaction surveys: (id, day, average score ×10).
    pub surveys: Vec<(String, String, i64)>,
    /// Events the customer was invited to: (id, attended, who came).
    pub events: Vec<(String, bool, String)>,
    /// Agreements from this grade up wait for approval (the rules').
    pub approval_from: Grade,
}

/// The customer's row in `customer_index` (the managed-as tier is the
/// city's business: `managed.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRow {
    pub name: String,
    pub credit_code: String,
    pub nature: String,
    /// Business lines, comma-joined.
    pub lines: String,
    pub address: String,
    pub industry: String,
    pub contacts: i64,
    pub visit_count: i64,
    pub last_visit: Option<String>,
    pub open_follow_ups: i64,
    /// The last twelve complete months' revenue.
    pub annual_revenue_fen: i64,
    /// What the rules propose; a person's approval may differ.
    pub level: Level,
    pub grade: Grade,
    pub cross_city_fen: i64,
}

/// A visit's row in `visit_index`.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitRow {
    pub id: String,
    pub date: String,
    pub kind: String,
    /// Usernames, comma-joined.
    pub visitors: String,
}

/// A follow-up's row in `followup_index`.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUpRow {
    pub id: String,
    pub visit_id: String,
    pub visit_date: String,
    pub action: String,
    pub owner: String,
    pub due: String,
    /// [`fieldbook_shared::customer::FollowUp::state`]'s word.
    pub state: String,
    pub forwarded_to: String,
    pub result: String,
    pub told_customer: bool,
    pub told_on: String,
    pub closed_by: String,
    pub closed_at: String,
    pub closed_on: String,
}

/// A complaint's row in `complaint_index`.
#[derive(Debug, Clone, PartialEq)]
pub struct ComplaintRow {
    pub id: String,
    pub status: String,
    /// `[[status, on], …]` as JSON.
    pub steps: String,
    pub satisfaction: i64,
    pub task_force: bool,
}

/// An agreement as the document has it; its status in `agreement_index` is
/// the server's (`writer::agreement_status`).
#[derive(Debug, Clone, PartialEq)]
pub struct AgreementRow {
    pub id: String,
    pub number: String,
    pub end: String,
    pub status_in_document: String,
}

/// What the rules and the month make of a customer's official ledger: the
/// part of a plan that a new month or new rules change (`regrade.rs` works
/// it out again from the server's tables, without the document).
#[derive(Debug, Clone, PartialEq)]
pub struct Graded {
    /// The last twelve complete months' revenue.
    pub annual_revenue_fen: i64,
    pub level: Level,
    pub grade: Grade,
    pub cross_city_fen: i64,
    /// Revenue alerts 异动/流失, as (kind, the alert as JSON).
    pub alerts: Vec<(String, String)>,
}

impl Graded {
    pub fn of(ledger: &[LedgerEntry], rules: &Rules, month: &str) -> Graded {
        let assessed = grading::assess(ledger, month, &rules.grading);
        Graded {
            annual_revenue_fen: assessed.annual_fen,
            level: assessed.level,
            grade: assessed.grade,
            cross_city_fen: grading::annual_cross_city(ledger, month),
            alerts: anomaly::alerts(ledger, month, &rules.anomaly)
                .into_iter()
                .map(|a| {
                    (
                        a.kind().to_string(),
                        serde_json::to_string(&a).unwrap_or_default(),
                    )
                })
                .collect(),
        }
    }
}

impl Plan {
    /// The projection of customer `doc` (read at `heads`) under `rules`, as
    /// of the operator's month `month`.
    pub fn of(doc: &str, c: &Outline, rules: &Rules, month: &str, heads: String) -> Plan {
        let graded = Graded::of(&c.ledger, rules, month);
        let mut ledger = BTreeMap::new();
        for e in &c.ledger {
            *ledger.entry(e.month.clone()).or_insert(0i64) += e.amount_fen;
        }
        Plan {
            doc: doc.to_string(),
            heads,
            month: month.to_string(),
            row: CustomerRow {
                name: c.name.clone(),
                credit_code: c.credit_code.clone(),
                nature: c.nature.as_str().to_string(),
                lines: c
                    .lines
                    .iter()
                    .map(|l| l.as_str())
                    .collect::<Vec<_>>()
                    .join(","),
                address: c.address.clone(),
                industry: c.industry.clone(),
                contacts: c.contacts.len() as i64,
                visit_count: c.visits.len() as i64,
                last_visit: c.last_visit().map(str::to_string),
                open_follow_ups: c.open_follow_ups() as i64,
                annual_revenue_fen: graded.annual_revenue_fen,
                level: graded.level,
                grade: graded.grade,
                cross_city_fen: graded.cross_city_fen,
            },
            visits: c
                .visits
                .iter()
                .filter(|v| !v.id.is_empty())
                .map(|v| VisitRow {
                    id: v.id.clone(),
                    date: v.date.clone(),
                    kind: v.kind.as_str().to_string(),
                    visitors: v.visitors.join(","),
                })
                .collect(),
            follow_ups: c
                .visits
                .iter()
                .flat_map(|v| v.follow_ups.iter().map(move |f| (v, f)))
                .filter(|(_, f)| !f.id.is_empty())
                .map(|(v, f)| FollowUpRow {
                    id: f.id.clone(),
                    visit_id: v.id.clone(),
                    visit_date: v.date.clone(),
                    action: f.action.clone(),
                    owner: f.owner.clone(),
                    due: f.due.clone(),
                    state: f.state().as_str().to_string(),
                    forwarded_to: f.forwarded_to.clone(),
                    result: f.result.clone(),
                    told_customer: f.told_customer,
                    told_on: f.told_on.clone(),
                    closed_by: f.closed_by.clone(),
                    closed_at: f.closed_at.clone(),
                    closed_on: f.closed_on.clone(),
                })
                .collect(),
            alerts: graded.alerts,
            ledger,
            complaints: c
                .complaints
                .iter()
                .map(|k| {
                    let steps: Vec<(&str, &str)> = k
                        .steps
                        .iter()
                        .map(|s| (s.status.as_str(), s.on.as_str()))
                        .collect();
                    ComplaintRow {
                        id: k.id.clone(),
                        status: k.status.clone(),
                        steps: serde_json::to_string(&steps).unwrap_or_default(),
                        satisfaction: k.satisfaction,
                        task_force: k.task_force,
                    }
                })
                .collect(),
            plans: c
                .plans
                .iter()
                .map(|p| (p.year.clone(), p.target_revenue_fen))
                .collect(),
            surveys: c
                .surveys
                .iter()
                .map(|v| (v.id.clone(), v.date.clone(), v.average_x10()))
                .collect(),
            events: c
                .events
                .iter()
                .map(|e| (e.id.clone(), e.attended, e.attendees.clone()))
                .collect(),
            approval_from: rules.agreements.approval_from,
            agreements: c
                .agreements
                .iter()
                .map(|a| AgreementRow {
                    id: a.id.clone(),
                    number: a.number.clone(),
                    end: a.end.clone(),
                    status_in_document: a.status.clone(),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldbook_shared::customer::{Customer, FollowUp, LedgerEntry, Visit};
    use fieldbook_shared::vocab::{Line, Nature};

    fn outline_of(c: &Customer) -> Outline {
        let mut doc = automerge::Automerge::new();
        doc.transact(|tx| c.create(tx)).unwrap();
        Outline::load(&doc).unwrap()
    }

    fn entry(month: &str, yuan: i64) -> LedgerEntry {
        LedgerEntry {
            month: month.into(),
            line: Line::Delivery,
            amount_fen: yuan * 100,
            ..Default::default()
        }
    }

    #[test]
    fn a_customer_plans_its_row_visits_ledger_and_grade() {
        let mut c = Customer::new(
            "规划公司",
            "91330000X",
            Nature::Enterprise,
            vec![Line::Delivery],
        );
        c.address = "杭州".into();
        c.visits.push(Visit {
            id: "v1".into(),
            date: "2026-10-03".into(),
            visitors: vec!["m1".into(), "head1".into()],
            follow_ups: vec![
                FollowUp {
                    id: "f1".into(),
                    ..Default::default()
                },
                FollowUp {
                    id: "f2".into(),
                    closed: true,
                    ..Default::default()
                },
            ],
            ..Default::default()
        });
        // A visit without an id (written by a broken client) is not listed.
        c.visits.push(Visit::default());
        // ¥1,000,000 over the last twelve complete months as of 2026-11.
        for m in 1..=10 {
            c.ledger.push(entry(&format!("2026-{m:02}"), 100_000));
        }
        c.ledger.push(entry("2026-10", 0));
        let rules = Rules::default();
        let plan = Plan::of("doc1", &outline_of(&c), &rules, "2026-11", "h1".into());

        assert_eq!(plan.row.name, "规划公司");
        assert_eq!(plan.row.lines, "delivery");
        assert_eq!(plan.row.visit_count, 2);
        assert_eq!(plan.row.open_follow_ups, 1);
        assert_eq!(plan.row.last_visit.as_deref(), Some("2026-10-03"));
        assert_eq!(
            plan.visits,
            vec![VisitRow {
                id: "v1".into(),
                date: "2026-10-03".into(),
                kind: c.visits[0].kind.as_str().into(),
                visitors: "m1,head1".into(),
            }]
        );
        assert_eq!(plan.row.annual_revenue_fen, 100_000_000);
        assert_eq!(plan.ledger.len(), 10);
        assert_eq!(plan.ledger["2026-10"], 10_000_000, "summed per month");
        // The same assessment the tablet makes (shared::grading::assess).
        let a = grading::assess(&c.ledger, "2026-11", &rules.grading);
        assert_eq!((plan.row.level, plan.row.grade), (a.level, a.grade));
        assert_eq!(plan.heads, "h1");
        assert_eq!(plan.month, "2026-11");
    }

    #[test]
    fn the_month_decides_which_revenue_counts() {
        let mut c = Customer::new("月份公司", "", Nature::Enterprise, vec![]);
        c.ledger.push(entry("2026-11", 500_000));
        let rules = Rules::default();
        let o = outline_of(&c);
        // November's revenue counts from December on, not in November.
        assert_eq!(
            Plan::of("d", &o, &rules, "2026-11", String::new())
                .row
                .annual_revenue_fen,
            0
        );
        assert_eq!(
            Plan::of("d", &o, &rules, "2026-12", String::new())
                .row
                .annual_revenue_fen,
            50_000_000
        );
    }
}
