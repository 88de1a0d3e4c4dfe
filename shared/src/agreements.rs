//! Service agreements 服务协议 and the annual development plan 年度发展计划 (docs/domain.md,
//! Service agreements): agreements with number, lines, dates, terms and status, an
//! approval chain for platinum and above, expiry reminders 30 days ahead; one plan per
//! customer and year with progress against the ledger.

use automerge::{ObjType, ROOT};
use autosurgeon::{Doc, Hydrate, Reconcile};

use crate::customer::LedgerEntry;
use crate::grading::Grade;
use crate::{SchemaError, flex};

/// Days before the end date that an agreement is reported as expiring.
pub const EXPIRY_NOTICE_DAYS: i64 = 30;

/// A service agreement.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct Agreement {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    #[autosurgeon(with = "flex::string")]
    pub number: String,
    #[autosurgeon(with = "flex::strings")]
    pub lines: Vec<String>,
    /// YYYY-MM-DD.
    #[autosurgeon(with = "flex::string")]
    pub start: String,
    /// YYYY-MM-DD.
    #[autosurgeon(with = "flex::string")]
    pub end: String,
    /// Discount and other terms.
    #[autosurgeon(with = "flex::text")]
    pub terms: String,
    /// "pending_approval" (platinum and above) | "active" | "terminated".
    #[autosurgeon(with = "flex::string")]
    pub status: String,
    /// Who approved it (username), and when (YYYY-MM-DD), for platinum and above.
    #[autosurgeon(with = "flex::string")]
    pub approved_by: String,
    #[autosurgeon(with = "flex::string")]
    pub approved_on: String,
}

/// The annual development plan of a customer.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct Plan {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub year: String,
    #[autosurgeon(with = "flex::int")]
    pub target_revenue_fen: i64,
    #[autosurgeon(with = "flex::string")]
    pub responsible: String,
    #[autosurgeon(with = "flex::text")]
    pub measures: String,
    #[autosurgeon(with = "flex::text")]
    pub schedule: String,
    /// YYYY-MM-DD, or empty.
    #[autosurgeon(with = "flex::string")]
    pub planned_agreement_date: String,
}

/// Which agreements need a head's or the center's approval (one step).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgreementRules {
    /// Agreements of customers of this grade and above wait for approval.
    pub approval_from: Grade,
}

impl Default for AgreementRules {
    fn default() -> Self {
        AgreementRules {
            approval_from: Grade::Platinum,
        }
    }
}

impl Agreement {
    /// A new agreement: from `approval_from` (platinum by default) up it waits
    /// for approval (docs/domain.md, Service agreements).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: &str,
        number: &str,
        lines: Vec<String>,
        start: &str,
        end: &str,
        terms: &str,
        grade: Grade,
        approval_from: Grade,
    ) -> Agreement {
        let status = if grade >= approval_from {
            "pending_approval"
        } else {
            "active"
        };
        Agreement {
            id: id.into(),
            number: number.into(),
            lines,
            start: start.into(),
            end: end.into(),
            terms: terms.into(),
            status: status.into(),
            ..Default::default()
        }
    }

    /// Days until the end date, if it is within the notice window (0 = ends today).
    pub fn expires_in(&self, today: &str) -> Option<i64> {
        if self.status == "terminated" {
            return None;
        }
        let days = crate::care::day_number(&self.end)? - crate::care::day_number(today)?;
        (0..=EXPIRY_NOTICE_DAYS).contains(&days).then_some(days)
    }
}

/// Revenue in the plan's year so far, and the share of the target reached (percent).
pub fn progress(plan: &Plan, ledger: &[LedgerEntry]) -> (i64, i64) {
    // Saturating, and the percentage in i128: a document may hold any i64.
    let actual = ledger
        .iter()
        .filter(|e| e.month.get(0..4) == Some(plan.year.as_str()))
        .fold(0i64, |sum, e| sum.saturating_add(e.amount_fen));
    let percent = if plan.target_revenue_fen > 0 {
        let p = i128::from(actual) * 100 / i128::from(plan.target_revenue_fen);
        i64::try_from(p).unwrap_or(if p < 0 { i64::MIN } else { i64::MAX })
    } else {
        0
    };
    (actual, percent)
}

/// Adds an agreement to a customer document.
pub fn add_agreement<T: Doc>(tx: &mut T, a: &Agreement) -> Result<(), SchemaError> {
    if a.number.trim().is_empty()
        || crate::care::day_number(&a.start).is_none()
        || crate::care::day_number(&a.end).is_none()
    {
        return Err(SchemaError::Invalid(
            "an agreement needs a number and valid start and end dates".into(),
        ));
    }
    if a.end < a.start {
        return Err(SchemaError::Invalid(
            "an agreement cannot end before it starts".into(),
        ));
    }
    flex::append(tx, &ROOT, "agreements", a)
}

/// Records on the document that agreement `id` was approved (the server
/// writes it once a head or the center approved it: `approvals.rs`). An
/// agreement a tablet already marked active is confirmed the same way.
pub fn approve<T: Doc>(tx: &mut T, id: &str, by: &str, on: &str) -> Result<(), SchemaError> {
    let Some((automerge::Value::Object(ObjType::List), list)) = tx.get(&ROOT, "agreements")? else {
        return Err(SchemaError::Invalid(
            "这个客户没有服务协议 / the customer has no agreements".into(),
        ));
    };
    for i in 0..tx.length(&list) {
        let Some((automerge::Value::Object(ObjType::Map), item)) = tx.get(&list, i)? else {
            continue;
        };
        if flex::read_string(tx, &item, "id".into())? != id {
            continue;
        }
        if flex::read_string(tx, &item, "status".into())? == "terminated" {
            return Err(SchemaError::Invalid(format!(
                "服务协议 {id} 已终止 / agreement {id} was terminated"
            )));
        }
        autosurgeon::reconcile_prop(tx, &item, "status", "active")?;
        autosurgeon::reconcile_prop(tx, &item, "approved_by", by)?;
        autosurgeon::reconcile_prop(tx, &item, "approved_on", on)?;
        return Ok(());
    }
    Err(SchemaError::Invalid(format!(
        "没有服务协议 {id} / no agreement {id}"
    )))
}

/// Adds the plan for a year to a customer document.
pub fn add_plan<T: Doc>(tx: &mut T, p: &Plan) -> Result<(), SchemaError> {
    if p.year.len() != 4 || p.target_revenue_fen <= 0 {
        return Err(SchemaError::Invalid(
            "a plan needs a year and a positive revenue target".into(),
        ));
    }
    flex::append(tx, &ROOT, "plans", p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Line;

    #[test]
    fn approval_expiry_and_progress() {
        let a = Agreement::new(
            "a",
            "XY-2026-01",
            vec!["delivery".into()],
            "2026-01-01",
            "2026-12-21",
            "九折",
            Grade::Platinum,
            Grade::Platinum,
        );
        assert_eq!(a.status, "pending_approval");
        assert_eq!(
            Agreement::new(
                "a",
                "n",
                vec![],
                "2026-01-01",
                "2026-12-21",
                "",
                Grade::Gold,
                Grade::Platinum,
            )
            .status,
            "active"
        );
        assert_eq!(a.expires_in("2026-11-21"), Some(30));
        assert_eq!(a.expires_in("2026-11-20"), None, "31 days out: not yet");
        assert_eq!(a.expires_in("2026-12-22"), None, "already ended");
        let plan = Plan {
            year: "2026".into(),
            target_revenue_fen: 1000,
            ..Default::default()
        };
        let e = |m: &str, fen| LedgerEntry {
            month: m.into(),
            line: Line::Delivery,
            amount_fen: fen,
            disbursed_fen: 0,
            cross_city_fen: 0,
            estimate: false,
        };
        assert_eq!(
            progress(
                &plan,
                &[e("2026-01", 300), e("2026-02", 200), e("2025-12", 999)]
            ),
            (500, 50)
        );
        let mut doc = automerge::AutoCommit::new();
        assert!(
            add_agreement(
                &mut doc,
                &Agreement {
                    end: "2025-01-01".into(),
                    ..a.clone()
                }
            )
            .is_err()
        );
        add_agreement(&mut doc, &a).unwrap();
        approve(&mut doc, "a", "head1", "2026-11-22").unwrap();
        // The server records a decision again without harm (the decision
        // itself is its table's, not the document's).
        approve(&mut doc, "a", "head1", "2026-11-22").unwrap();
        let got: Vec<Agreement> = autosurgeon::hydrate_prop(&doc, &ROOT, "agreements").unwrap();
        assert_eq!(
            (got[0].status.as_str(), got[0].approved_by.as_str()),
            ("active", "head1")
        );
        add_plan(&mut doc, &plan).unwrap();
        assert!(
            add_plan(
                &mut doc,
                &Plan {
                    year: "26".into(),
                    ..plan
                }
            )
            .is_err()
        );
    }

    /// Found by the document_load fuzz target: revenue near the i64 limits
    /// overflowed the year's sum and the percentage (a panic in debug builds).
    #[test]
    fn progress_at_the_limits_does_not_overflow() {
        let e = |fen| LedgerEntry {
            month: "2026-03".into(),
            line: Line::Delivery,
            amount_fen: fen,
            disbursed_fen: 0,
            cross_city_fen: 0,
            estimate: false,
        };
        let plan = |target| Plan {
            year: "2026".into(),
            target_revenue_fen: target,
            ..Default::default()
        };
        assert_eq!(
            progress(&plan(1), &[e(i64::MAX), e(i64::MAX)]),
            (i64::MAX, i64::MAX)
        );
        assert_eq!(
            progress(&plan(1), &[e(i64::MIN), e(-1)]),
            (i64::MIN, i64::MIN)
        );
        assert_eq!(progress(&plan(i64::MAX), &[e(i64::MAX)]), (i64::MAX, 100));
    }

    #[test]
    fn a_terminated_agreement_is_not_approved() {
        let mut doc = automerge::AutoCommit::new();
        let mut a = Agreement::new(
            "t",
            "XY-1",
            vec![],
            "2026-01-01",
            "2026-12-31",
            "",
            Grade::Platinum,
            Grade::Platinum,
        );
        a.status = "terminated".into();
        add_agreement(&mut doc, &a).unwrap();
        assert!(approve(&mut doc, "t", "head1", "2026-11-22").is_err());
    }
}
