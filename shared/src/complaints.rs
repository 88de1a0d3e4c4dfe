//! Complaints 投诉 (docs/domain.md, Complaints): record → assign to a department → in
//! progress → result told to the customer → satisfaction asked → closed, each step with
//! who and when, a time limit per step, and platinum-and-above complaints flagged for
//! the cross-department task force.

use automerge::{ObjType, ROOT};
use autosurgeon::{Doc, Hydrate, Reconcile, reconcile_prop};
use serde::{Deserialize, Serialize};

use crate::grading::Grade;
use crate::{SchemaError, flex};

/// The steps, in order.
pub const STATUSES: [&str; 5] = ["recorded", "assigned", "in_progress", "replied", "closed"];

/// One complaint, kept in the customer document's `complaints` list.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct Complaint {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    /// phone / visit / letter / online / other.
    #[autosurgeon(with = "flex::string")]
    pub channel: String,
    #[autosurgeon(with = "flex::text")]
    pub content: String,
    /// The responsible department, once assigned.
    #[autosurgeon(with = "flex::string")]
    pub department: String,
    #[autosurgeon(with = "flex::string")]
    pub status: String,
    #[autosurgeon(missing = "Vec::new")]
    pub steps: Vec<Step>,
    /// 1–5 once asked; 0 before.
    #[autosurgeon(with = "flex::int")]
    pub satisfaction: i64,
    /// Platinum and above: handled by the cross-department task force.
    #[autosurgeon(with = "flex::boolean")]
    pub task_force: bool,
}

/// One step taken: who moved the complaint to `status`, when.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct Step {
    #[autosurgeon(with = "flex::string")]
    pub status: String,
    #[autosurgeon(with = "flex::string")]
    pub by: String,
    /// YYYY-MM-DD.
    #[autosurgeon(with = "flex::string")]
    pub on: String,
    #[autosurgeon(with = "flex::text")]
    pub note: String,
}

/// Days allowed in each status before the next step is overdue.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ComplaintRules {
    pub recorded_days: i64,
    pub assigned_days: i64,
    pub in_progress_days: i64,
    pub replied_days: i64,
}

impl Default for ComplaintRules {
    fn default() -> Self {
        ComplaintRules {
            recorded_days: 1,
            assigned_days: 2,
            in_progress_days: 7,
            replied_days: 3,
        }
    }
}

/// The status after `status`, if any.
pub fn next(status: &str) -> Option<&'static str> {
    let i = STATUSES.iter().position(|s| *s == status)?;
    STATUSES.get(i + 1).copied()
}

/// The Chinese label of a status.
pub fn label_zh(status: &str) -> &'static str {
    match status {
        "recorded" => "已登记",
        "assigned" => "已转办",
        "in_progress" => "处理中",
        "replied" => "已答复客户",
        "closed" => "已办结",
        _ => "未知",
    }
}

impl Complaint {
    /// A new complaint recorded by `by` on `on`; `grade` decides the task-force flag.
    pub fn new(
        id: &str,
        channel: &str,
        content: &str,
        by: &str,
        on: &str,
        grade: Grade,
    ) -> Complaint {
        Complaint {
            id: id.into(),
            channel: channel.into(),
            content: content.into(),
            status: "recorded".into(),
            steps: vec![Step {
                status: "recorded".into(),
                by: by.into(),
                on: on.into(),
                note: String::new(),
            }],
            task_force: grade >= Grade::Platinum,
            ..Default::default()
        }
    }

    /// Whether the current step has been open longer than the rules allow.
    pub fn overdue(&self, today: &str, rules: &ComplaintRules) -> bool {
        let limit = match self.status.as_str() {
            "recorded" => rules.recorded_days,
            "assigned" => rules.assigned_days,
            "in_progress" => rules.in_progress_days,
            "replied" => rules.replied_days,
            _ => return false,
        };
        let since = self.steps.last().map(|s| s.on.as_str()).unwrap_or("");
        match (
            crate::care::day_number(since),
            crate::care::day_number(today),
        ) {
            (Some(a), Some(b)) => b - a > limit,
            _ => false,
        }
    }
}

/// Records a complaint in a customer document.
pub fn record<T: Doc>(tx: &mut T, c: &Complaint) -> Result<(), SchemaError> {
    if c.content.trim().is_empty() {
        return Err(SchemaError::Invalid("a complaint needs its content".into()));
    }
    flex::append(tx, &ROOT, "complaints", c)
}

/// Moves complaint `id` to its next step. Assigning needs a department; closing
/// needs the customer's satisfaction (1–5).
pub fn advance<T: Doc>(
    tx: &mut T,
    id: &str,
    by: &str,
    on: &str,
    department: Option<&str>,
    satisfaction: Option<i64>,
) -> Result<&'static str, SchemaError> {
    let Some((automerge::Value::Object(ObjType::List), list)) = tx.get(&ROOT, "complaints")? else {
        return Err(SchemaError::Invalid(
            "the customer has no complaints".into(),
        ));
    };
    for i in 0..tx.length(&list) {
        let Some((automerge::Value::Object(ObjType::Map), item)) = tx.get(&list, i)? else {
            continue;
        };
        if flex::read_string(tx, &item, "id".into())? != id {
            continue;
        }
        let status = flex::read_string(tx, &item, "status".into())?;
        let to = next(&status)
            .ok_or_else(|| SchemaError::Invalid(format!("complaint {id} is already closed")))?;
        if to == "assigned" {
            let d = department
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .ok_or_else(|| SchemaError::Invalid("name the department it goes to".into()))?;
            reconcile_prop(tx, &item, "department", d)?;
        }
        if to == "closed" {
            let s = satisfaction
                .filter(|s| (1..=5).contains(s))
                .ok_or_else(|| {
                    SchemaError::Invalid(
                        "ask the customer's satisfaction (1–5) before closing".into(),
                    )
                })?;
            reconcile_prop(tx, &item, "satisfaction", s)?;
        }
        flex::append(
            tx,
            &item,
            "steps",
            &Step {
                status: to.into(),
                by: by.into(),
                on: on.into(),
                note: String::new(),
            },
        )?;
        reconcile_prop(tx, &item, "status", to)?;
        return Ok(to);
    }
    Err(SchemaError::Invalid(format!("no complaint {id}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::Customer;
    use crate::vocab::Nature;
    use automerge::AutoCommit;

    #[test]
    fn walks_every_step_with_who_and_when() {
        let mut doc = AutoCommit::new();
        Customer::new("甲", "", Nature::Enterprise, vec![])
            .create(&mut doc)
            .unwrap();
        record(
            &mut doc,
            &Complaint::new("c1", "phone", "包裹延误", "m1", "2026-11-01", Grade::Gold),
        )
        .unwrap();
        assert!(
            advance(&mut doc, "c1", "m1", "2026-11-01", None, None).is_err(),
            "assigning needs a department"
        );
        assert_eq!(
            advance(&mut doc, "c1", "m1", "2026-11-01", Some("寄递部"), None).unwrap(),
            "assigned"
        );
        assert_eq!(
            advance(&mut doc, "c1", "ops", "2026-11-02", None, None).unwrap(),
            "in_progress"
        );
        assert_eq!(
            advance(&mut doc, "c1", "ops", "2026-11-05", None, None).unwrap(),
            "replied"
        );
        assert!(
            advance(&mut doc, "c1", "m1", "2026-11-06", None, Some(9)).is_err(),
            "satisfaction 1–5"
        );
        assert_eq!(
            advance(&mut doc, "c1", "m1", "2026-11-06", None, Some(4)).unwrap(),
            "closed"
        );
        assert!(
            advance(&mut doc, "c1", "m1", "2026-11-06", None, None).is_err(),
            "closed is final"
        );
        let c: Vec<Complaint> = autosurgeon::hydrate_prop(&doc, &ROOT, "complaints").unwrap();
        assert_eq!(
            c[0].steps
                .iter()
                .map(|s| s.status.as_str())
                .collect::<Vec<_>>(),
            STATUSES
        );
        assert_eq!((c[0].department.as_str(), c[0].satisfaction), ("寄递部", 4));
    }

    #[test]
    fn overdue_at_the_limit_plus_one_day_and_task_force_from_platinum() {
        let r = ComplaintRules::default();
        let c = Complaint::new("c", "phone", "x", "m1", "2026-11-01", Grade::Platinum);
        assert!(c.task_force);
        assert!(!Complaint::new("c", "phone", "x", "m1", "2026-11-01", Grade::Gold).task_force);
        assert!(!c.overdue("2026-11-02", &r), "1 day allowed in recorded");
        assert!(c.overdue("2026-11-03", &r));
    }
}
