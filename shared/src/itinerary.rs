//! The itinerary 出访计划 and the work log 工作日志 of a manager, offline.
//! A visit is planned on the customer (a day, a purpose); the day's plan
//! comes first, and a planned visit becomes a visit log in one tap (the
//! plan then names the visit). The next visit a visit record sets counts as
//! planned too. A day's work log is built from what the documents already
//! hold: the visits made (calls among them), the follow-ups closed and the
//! care given that day by the manager.

use automerge::{ObjType, ROOT};
use autosurgeon::{Doc, Hydrate, Reconcile, reconcile_prop};

use crate::care::CareEntry;
use crate::customer::{Customer, FollowUp, Visit};
use crate::vocab::VisitKind;
use crate::{SchemaError, flex};

/// A visit planned to a customer.
#[derive(
    Debug, Clone, Default, PartialEq, Hydrate, Reconcile, serde::Serialize, serde::Deserialize,
)]
pub struct PlannedVisit {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    /// YYYY-MM-DD.
    #[autosurgeon(with = "flex::string")]
    pub date: String,
    #[autosurgeon(with = "flex::string")]
    pub purpose: String,
    /// Username of who plans to go.
    #[autosurgeon(with = "flex::string")]
    pub by: String,
    /// The visit it became, once made.
    #[autosurgeon(with = "flex::string")]
    pub visit_id: String,
}

/// Plans a visit.
pub fn plan<T: Doc>(tx: &mut T, p: &PlannedVisit) -> Result<(), SchemaError> {
    if crate::calendar::Day::parse(&p.date).is_none() || p.by.is_empty() {
        return Err(SchemaError::Invalid(
            "计划走访需要日期 / a planned visit needs a day".into(),
        ));
    }
    flex::append(tx, &ROOT, "planned_visits", p)
}

/// Records that planned visit `plan_id` was made as visit `visit_id`.
pub fn made<T: Doc>(tx: &mut T, plan_id: &str, visit_id: &str) -> Result<(), SchemaError> {
    if let Some((automerge::Value::Object(ObjType::List), list)) =
        tx.get(&ROOT, "planned_visits")?
    {
        for i in 0..tx.length(&list) {
            if let Some((automerge::Value::Object(ObjType::Map), item)) = tx.get(&list, i)?
                && flex::read_string(tx, &item, "id".into())? == plan_id
            {
                return Ok(reconcile_prop(tx, &item, "visit_id", visit_id)?);
            }
        }
    }
    Err(SchemaError::Invalid(format!(
        "没有这个走访计划 {plan_id} / no planned visit {plan_id}"
    )))
}

/// One line of the itinerary.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Planned {
    pub date: String,
    /// The customer's name, then its document id.
    pub customer: String,
    pub doc_id: String,
    pub purpose: String,
    /// The plan's id; empty for a next visit a visit record set.
    pub plan_id: String,
    /// Made already (the plan names its visit).
    pub done: bool,
}

/// What `me` plans from `from` to `to` (inclusive, YYYY-MM-DD) over the
/// customers given (document id, customer), soonest first. A next visit set
/// on a customer's latest visit counts unless a plan for that day exists or
/// a visit was made since.
pub fn itinerary(customers: &[(&str, &Customer)], me: &str, from: &str, to: &str) -> Vec<Planned> {
    let mut out = Vec::new();
    for (doc, c) in customers {
        let in_range = |d: &str| d >= from && d <= to;
        for p in c
            .planned_visits
            .iter()
            .filter(|p| p.by == me && in_range(&p.date))
        {
            out.push(Planned {
                date: p.date.clone(),
                customer: c.name.clone(),
                doc_id: doc.to_string(),
                purpose: p.purpose.clone(),
                plan_id: p.id.clone(),
                done: !p.visit_id.is_empty(),
            });
        }
        let latest = c.visits.iter().max_by(|a, b| {
            (a.date.as_str(), a.time.as_str()).cmp(&(b.date.as_str(), b.time.as_str()))
        });
        if let Some(v) = latest.filter(|v| v.visitors.iter().any(|x| x == me))
            && in_range(&v.next_visit)
            && !c
                .planned_visits
                .iter()
                .any(|p| p.by == me && p.date == v.next_visit)
        {
            out.push(Planned {
                date: v.next_visit.clone(),
                customer: c.name.clone(),
                doc_id: doc.to_string(),
                purpose: v.purpose.clone(),
                plan_id: String::new(),
                done: false,
            });
        }
    }
    out.sort();
    out
}

/// A day's work log 工作日志, built from the documents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkLog {
    /// (customer, visit) for visits made in person or at events.
    pub visits: Vec<(String, Visit)>,
    /// (customer, visit) for phone visits 电话询访.
    pub calls: Vec<(String, Visit)>,
    /// (customer, follow-up) closed by the manager that day.
    pub follow_ups_closed: Vec<(String, FollowUp)>,
    /// (customer, entry) of care given by the manager that day.
    pub care: Vec<(String, CareEntry)>,
}

impl WorkLog {
    pub fn is_empty(&self) -> bool {
        self.visits.is_empty()
            && self.calls.is_empty()
            && self.follow_ups_closed.is_empty()
            && self.care.is_empty()
    }
}

/// What `me` did on `day`.
pub fn work_log(customers: &[&Customer], me: &str, day: &str) -> WorkLog {
    let mut log = WorkLog::default();
    for c in customers {
        for v in c
            .visits
            .iter()
            .filter(|v| v.date == day && v.visitors.iter().any(|x| x == me))
        {
            let entry = (c.name.clone(), v.clone());
            if v.kind == VisitKind::Phone {
                log.calls.push(entry);
            } else {
                log.visits.push(entry);
            }
        }
        for f in c
            .visits
            .iter()
            .flat_map(|v| &v.follow_ups)
            .filter(|f| !f.is_open() && f.closed_by == me && f.closed_on == day)
        {
            log.follow_ups_closed.push((c.name.clone(), f.clone()));
        }
        for g in c.care_log.iter().filter(|g| g.by == me && g.date == day) {
            log.care.push((c.name.clone(), g.clone()));
        }
    }
    log.visits
        .sort_by(|a, b| (&a.1.time, &a.0).cmp(&(&b.1.time, &b.0)));
    log.calls
        .sort_by(|a, b| (&a.1.time, &a.0).cmp(&(&b.1.time, &b.0)));
    log
}

/// A manager's month as a head reviews it 月末核实: every visit (calls
/// included) with its customer's document, the follow-ups they closed and
/// the care they gave, by date.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonthLog {
    /// (document id, customer, visit).
    pub visits: Vec<(String, String, Visit)>,
    /// (customer, follow-up).
    pub follow_ups_closed: Vec<(String, FollowUp)>,
    /// (customer, entry).
    pub care: Vec<(String, CareEntry)>,
}

/// What `who` did in `month` (YYYY-MM), by the same rules as [`work_log`].
pub fn month_log(customers: &[(&str, &Customer)], who: &str, month: &str) -> MonthLog {
    let in_month = |d: &str| d.get(..7) == Some(month);
    let mut log = MonthLog::default();
    for (doc, c) in customers {
        for v in c
            .visits
            .iter()
            .filter(|v| in_month(&v.date) && v.visitors.iter().any(|x| x == who))
        {
            log.visits
                .push((doc.to_string(), c.name.clone(), v.clone()));
        }
        for f in c
            .visits
            .iter()
            .flat_map(|v| &v.follow_ups)
            .filter(|f| !f.is_open() && f.closed_by == who && in_month(&f.closed_on))
        {
            log.follow_ups_closed.push((c.name.clone(), f.clone()));
        }
        for g in c
            .care_log
            .iter()
            .filter(|g| g.by == who && in_month(&g.date))
        {
            log.care.push((c.name.clone(), g.clone()));
        }
    }
    log.visits
        .sort_by(|a, b| (&a.2.date, &a.2.time, &a.1).cmp(&(&b.2.date, &b.2.time, &b.1)));
    log.follow_ups_closed
        .sort_by(|a, b| (&a.1.closed_on, &a.0).cmp(&(&b.1.closed_on, &b.0)));
    log.care
        .sort_by(|a, b| (&a.1.date, &a.0).cmp(&(&b.1.date, &b.0)));
    log
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::add_visit;
    use crate::vocab::Nature;
    use automerge::AutoCommit;

    #[test]
    fn a_planned_visit_is_listed_then_made_and_in_the_days_log() {
        let mut doc = AutoCommit::new();
        Customer::new("计划公司", "", Nature::Enterprise, vec![])
            .create(&mut doc)
            .unwrap();
        let p = PlannedVisit {
            id: "p1".into(),
            date: "2026-11-23".into(),
            purpose: "续签".into(),
            by: "m1".into(),
            ..Default::default()
        };
        plan(&mut doc, &p).unwrap();
        assert!(
            plan(
                &mut doc,
                &PlannedVisit {
                    date: "明天".into(),
                    ..p.clone()
                }
            )
            .is_err()
        );
        let c = Customer::load(&doc).unwrap();
        let plans = itinerary(&[("d1", &c)], "m1", "2026-11-22", "2026-11-29");
        assert_eq!(plans.len(), 1);
        assert_eq!(
            (plans[0].date.as_str(), plans[0].done),
            ("2026-11-23", false)
        );
        assert!(
            itinerary(&[("d1", &c)], "m2", "2026-11-22", "2026-11-29").is_empty(),
            "mine only"
        );

        let v = Visit {
            id: "v1".into(),
            date: "2026-11-23".into(),
            visitors: vec!["m1".into()],
            purpose: "续签".into(),
            next_visit: "2026-12-20".into(),
            ..Default::default()
        };
        add_visit(&mut doc, &v).unwrap();
        made(&mut doc, "p1", "v1").unwrap();
        let c = Customer::load(&doc).unwrap();
        let plans = itinerary(&[("d1", &c)], "m1", "2026-11-22", "2026-12-31");
        let got: Vec<(&str, bool, bool)> = plans
            .iter()
            .map(|p| (p.date.as_str(), p.done, p.plan_id.is_empty()))
            .collect();
        // The plan made, and the next visit the visit set.
        assert_eq!(
            got,
            [("2026-11-23", true, false), ("2026-12-20", false, true)]
        );
        let log = work_log(&[&c], "m1", "2026-11-23");
        assert_eq!(log.visits.len(), 1);
        assert!(work_log(&[&c], "m1", "2026-11-24").is_empty());
    }

    #[test]
    fn a_days_log_holds_calls_closed_follow_ups_and_care() {
        let mut c = Customer::new("日志公司", "", Nature::Enterprise, vec![]);
        c.visits.push(Visit {
            id: "v1".into(),
            date: "2026-11-23".into(),
            kind: VisitKind::Phone,
            visitors: vec!["m1".into()],
            follow_ups: vec![FollowUp {
                id: "f1".into(),
                closed: true,
                closed_by: "m1".into(),
                closed_on: "2026-11-23".into(),
                ..Default::default()
            }],
            ..Default::default()
        });
        c.care_log.push(CareEntry {
            id: "g1".into(),
            date: "2026-11-23".into(),
            what: "送花".into(),
            by: "m1".into(),
            ..Default::default()
        });
        let log = work_log(&[&c], "m1", "2026-11-23");
        assert_eq!(
            (
                log.visits.len(),
                log.calls.len(),
                log.follow_ups_closed.len(),
                log.care.len()
            ),
            (0, 1, 1, 1)
        );
        assert!(
            work_log(&[&c], "m2", "2026-11-23").is_empty(),
            "someone else's day"
        );
    }

    #[test]
    fn a_month_log_holds_the_managers_visits_of_that_month_only() {
        let mut c = Customer::new("月度公司", "", Nature::Enterprise, vec![]);
        for (id, date, who) in [
            ("v1", "2026-11-03", "m1"),
            ("v2", "2026-11-20", "m2"),
            ("v3", "2026-12-01", "m1"),
            ("v4", "2026-11-28", "m1"),
        ] {
            c.visits.push(Visit {
                id: id.into(),
                date: date.into(),
                visitors: vec![who.into()],
                ..Visit::default()
            });
        }
        let log = month_log(&[("d1", &c)], "m1", "2026-11");
        let ids: Vec<&str> = log.visits.iter().map(|v| v.2.id.as_str()).collect();
        assert_eq!(ids, ["v1", "v4"]);
        assert_eq!(log.visits[0].0, "d1");
    }
}
