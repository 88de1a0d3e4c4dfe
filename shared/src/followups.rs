//! Follow-ups 督办 (docs/domain.md, Follow-ups): whoever visits, follows up
//! (谁走访谁督办). A follow-up raised on a visit is open, then in progress,
//! forwarded to a line's office (still the visitor's to chase), or done —
//! done with the result (处理结果) and whether the customer was told
//! (告知客户). One rule for what is open and overdue, read by the tablet's
//! lists and counts, the server's projection and the reports.

use automerge::{ObjId, ObjType, ROOT};
use autosurgeon::{Doc, ReadDoc, reconcile_prop};

use crate::customer::{Customer, FollowUp, Visit};
use crate::vocab::FollowUpState;
use crate::{SchemaError, flex};

impl FollowUp {
    /// Where it stands. Closed is done, whatever else was written: closing
    /// is never undone, so a step another tablet took at the same time
    /// cannot reopen it (and a follow-up closed by a release before states
    /// is done too).
    pub fn state(&self) -> FollowUpState {
        if self.closed {
            FollowUpState::Done
        } else {
            self.state.clone()
        }
    }

    /// Open until done: a forwarded one is still the visitor's to chase.
    pub fn is_open(&self) -> bool {
        self.state() != FollowUpState::Done
    }

    /// Open past its due day (`today` is YYYY-MM-DD, the operator's day).
    pub fn is_overdue(&self, today: &str) -> bool {
        self.is_open() && !self.due.is_empty() && self.due.as_str() < today
    }
}

/// Which follow-ups a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Open,
    Overdue,
    Done,
    All,
}

impl Filter {
    /// `open`, `overdue`, `done` or `all` (the API's words).
    pub fn parse(s: &str) -> Option<Filter> {
        Some(match s {
            "open" => Filter::Open,
            "overdue" => Filter::Overdue,
            "done" => Filter::Done,
            "all" | "" => Filter::All,
            _ => return None,
        })
    }

    pub fn admits(self, f: &FollowUp, today: &str) -> bool {
        match self {
            Filter::Open => f.is_open(),
            Filter::Overdue => f.is_overdue(today),
            Filter::Done => !f.is_open(),
            Filter::All => true,
        }
    }
}

/// A customer's follow-ups that `filter` admits, with the visit each came
/// from, soonest due first (no due day last).
pub fn of<'a>(c: &'a Customer, filter: Filter, today: &str) -> Vec<(&'a Visit, &'a FollowUp)> {
    let mut out: Vec<(&Visit, &FollowUp)> = c
        .visits
        .iter()
        .flat_map(|v| v.follow_ups.iter().map(move |f| (v, f)))
        .filter(|(_, f)| filter.admits(f, today))
        .collect();
    out.sort_by(|a, b| {
        (a.1.due.is_empty(), a.1.due.as_str()).cmp(&(b.1.due.is_empty(), b.1.due.as_str()))
    });
    out
}

/// A step a manager takes on a follow-up.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Being handled (处理中).
    Start,
    /// Handed to a line's office or a colleague (转专业局/专业公司), named.
    Forward { to: String },
    /// Done, with the result; whether the customer was told it.
    Close { result: String, told_customer: bool },
}

/// Takes `step` on follow-up `id` of the customer document, as user `by`
/// on day `today` at time `at` (RFC 3339). Answers the new state. A done
/// follow-up takes no more steps; closing needs the result, forwarding
/// needs whom to.
pub fn take<T: Doc>(
    tx: &mut T,
    id: &str,
    step: &Step,
    by: &str,
    today: &str,
    at: &str,
) -> Result<FollowUpState, SchemaError> {
    let (item, now) = find(tx, id)?;
    if now == FollowUpState::Done {
        return Err(SchemaError::Invalid(format!(
            "督办事项 {id} 已办结 / follow-up {id} is already done"
        )));
    }
    let to = match step {
        Step::Start => FollowUpState::InProgress,
        Step::Forward { to } => {
            let to = to.trim();
            if to.is_empty() {
                return Err(SchemaError::Invalid(
                    "请写明转交给谁（专业局、专业公司或同事） / name where it goes (a line's office or a colleague)".into(),
                ));
            }
            reconcile_prop(tx, &item, "forwarded_to", to)?;
            FollowUpState::Forwarded
        }
        Step::Close {
            result,
            told_customer,
        } => {
            let result = result.trim();
            if result.is_empty() {
                return Err(SchemaError::Invalid(
                    "请填写处理结果 / write the result".into(),
                ));
            }
            // A scalar, not text: two tablets closing at once leave two
            // values the document keeps both of (`result_conflicts`).
            tx.put(&item, "result", result)?;
            reconcile_prop(tx, &item, "told_customer", *told_customer)?;
            reconcile_prop(
                tx,
                &item,
                "told_on",
                if *told_customer { today } else { "" },
            )?;
            reconcile_prop(tx, &item, "closed_by", by)?;
            reconcile_prop(tx, &item, "closed_at", at)?;
            reconcile_prop(tx, &item, "closed_on", today)?;
            reconcile_prop(tx, &item, "closed", true)?;
            FollowUpState::Done
        }
    };
    reconcile_prop(tx, &item, "state", to.as_str())?;
    Ok(to)
}

/// The follow-up `id` (in any visit) and its state.
fn find<D: ReadDoc>(d: &D, id: &str) -> Result<(ObjId, FollowUpState), SchemaError> {
    for (item, _) in items(d)? {
        if flex::read_string(d, &item, "id".into())? == id {
            let written = flex::read_string(d, &item, "state".into())?;
            let f = FollowUp {
                state: if written.is_empty() {
                    FollowUpState::Open
                } else {
                    FollowUpState::parse(&written)
                },
                closed: flex::read_bool(d, &item, "closed".into())?,
                ..Default::default()
            };
            return Ok((item, f.state()));
        }
    }
    Err(SchemaError::Invalid(format!(
        "没有督办事项 {id} / no follow-up {id}"
    )))
}

/// Every follow-up map in the document, with its visit's map.
fn items<D: ReadDoc>(d: &D) -> Result<Vec<(ObjId, ObjId)>, SchemaError> {
    let mut out = Vec::new();
    let Some((automerge::Value::Object(ObjType::List), visits)) = d.get(&ROOT, "visits")? else {
        return Ok(out);
    };
    for i in 0..d.length(&visits) {
        let Some((automerge::Value::Object(ObjType::Map), visit)) = d.get(&visits, i)? else {
            continue;
        };
        let Some((automerge::Value::Object(ObjType::List), list)) = d.get(&visit, "follow_ups")?
        else {
            continue;
        };
        for j in 0..d.length(&list) {
            if let Some((automerge::Value::Object(ObjType::Map), item)) = d.get(&list, j)? {
                out.push((item, visit.clone()));
            }
        }
    }
    Ok(out)
}

/// Follow-ups closed on two tablets at once with different results: (id,
/// the results). The document keeps one (the same on every device); the
/// screens show both so that a person settles it.
pub fn result_conflicts<D: ReadDoc + automerge::ReadDoc>(d: &D) -> Vec<(String, Vec<String>)> {
    let Ok(items) = items(d) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (item, _) in items {
        let Ok(values) = automerge::ReadDoc::get_all(d, &item, "result") else {
            continue;
        };
        if values.len() < 2 {
            continue;
        }
        let mut results: Vec<String> = values
            .into_iter()
            .map(|(v, obj)| match v {
                automerge::Value::Scalar(s) => s.as_str().unwrap_or_default().to_string(),
                automerge::Value::Object(_) => {
                    automerge::ReadDoc::text(d, &obj).unwrap_or_default()
                }
            })
            .filter(|r| !r.is_empty())
            .collect();
        results.sort();
        results.dedup();
        if results.len() > 1 {
            let id = flex::read_string(d, &item, "id".into()).unwrap_or_default();
            out.push((id, results));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::add_visit;
    use crate::vocab::Nature;
    use automerge::AutoCommit;

    fn with_follow_up(due: &str) -> AutoCommit {
        let mut doc = AutoCommit::new();
        Customer::new("督办公司", "", Nature::Enterprise, vec![])
            .create(&mut doc)
            .unwrap();
        let visit = Visit {
            id: "v1".into(),
            date: "2026-11-02".into(),
            follow_ups: vec![FollowUp {
                id: "f1".into(),
                action: "报价".into(),
                owner: "zhang.wei".into(),
                due: due.into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        add_visit(&mut doc, &visit).unwrap();
        doc
    }

    fn load(doc: &AutoCommit) -> FollowUp {
        Customer::load(doc).unwrap().visits[0].follow_ups[0].clone()
    }

    #[test]
    fn a_follow_up_is_open_until_done_and_overdue_after_its_day() {
        let mut doc = with_follow_up("2026-11-10");
        let f = load(&doc);
        assert_eq!(f.state(), FollowUpState::Open);
        assert!(f.is_open() && !f.is_overdue("2026-11-10") && f.is_overdue("2026-11-11"));
        let step = |doc: &mut AutoCommit, s: Step| {
            take(
                doc,
                "f1",
                &s,
                "zhang.wei",
                "2026-11-12",
                "2026-11-12T09:00:00+08:00",
            )
        };
        assert_eq!(
            step(&mut doc, Step::Start).unwrap(),
            FollowUpState::InProgress
        );
        // Forwarded is still open: the visitor chases it.
        let none = step(&mut doc, Step::Forward { to: " ".into() });
        assert!(
            matches!(none, Err(SchemaError::Invalid(_))),
            "whom to is needed"
        );
        let forward = Step::Forward {
            to: "寄递事业部".into(),
        };
        assert_eq!(step(&mut doc, forward).unwrap(), FollowUpState::Forwarded);
        let f = load(&doc);
        assert!(f.is_open() && f.is_overdue("2026-11-12"));
        assert_eq!(f.forwarded_to, "寄递事业部");
        let empty = Step::Close {
            result: "".into(),
            told_customer: true,
        };
        assert!(
            matches!(step(&mut doc, empty), Err(SchemaError::Invalid(_))),
            "a result is needed"
        );
        let close = Step::Close {
            result: "已报价，客户接受".into(),
            told_customer: true,
        };
        assert_eq!(step(&mut doc, close.clone()).unwrap(), FollowUpState::Done);
        let f = load(&doc);
        assert!(!f.is_open() && !f.is_overdue("2027-01-01") && f.closed);
        assert_eq!(
            (
                f.result.as_str(),
                f.told_customer,
                f.told_on.as_str(),
                f.closed_by.as_str()
            ),
            ("已报价，客户接受", true, "2026-11-12", "zhang.wei")
        );
        assert!(step(&mut doc, close).is_err(), "done takes no more steps");
        // The lists.
        let c = Customer::load(&doc).unwrap();
        assert_eq!(of(&c, Filter::Done, "2026-11-12").len(), 1);
        assert_eq!(of(&c, Filter::Open, "2026-11-12").len(), 0);
    }

    #[test]
    fn a_follow_up_closed_before_states_were_kept_is_done() {
        let old = FollowUp {
            closed: true,
            ..Default::default()
        };
        assert_eq!(old.state(), FollowUpState::Done);
        assert!(!old.is_overdue("2030-01-01"));
        // A document an earlier release wrote: no state, closed = true.
        let mut doc = with_follow_up("2026-11-10");
        let list = {
            let (_, visits) = automerge::ReadDoc::get(&doc, &ROOT, "visits")
                .unwrap()
                .unwrap();
            let (_, v) = automerge::ReadDoc::get(&doc, &visits, 0).unwrap().unwrap();
            let (_, l) = automerge::ReadDoc::get(&doc, &v, "follow_ups")
                .unwrap()
                .unwrap();
            let (_, f) = automerge::ReadDoc::get(&doc, &l, 0).unwrap().unwrap();
            f
        };
        automerge::transaction::Transactable::delete(&mut doc, &list, "state").unwrap();
        automerge::transaction::Transactable::put(&mut doc, &list, "closed", true).unwrap();
        assert_eq!(load(&doc).state(), FollowUpState::Done);
        let again = take(&mut doc, "f1", &Step::Start, "x", "2026-11-12", "");
        assert!(again.is_err(), "done in the old way is done");
    }

    #[test]
    fn two_tablets_closing_at_once_agree_and_show_both_results() {
        let base = with_follow_up("2026-11-10");
        let (mut a, mut b) = (base.clone(), base.clone());
        a.set_actor(automerge::ActorId::from(b"aaaa".as_slice()));
        b.set_actor(automerge::ActorId::from(b"bbbb".as_slice()));
        let close = |doc: &mut AutoCommit, who: &str, result: &str| {
            let s = Step::Close {
                result: result.into(),
                told_customer: false,
            };
            take(
                doc,
                "f1",
                &s,
                who,
                "2026-11-12",
                "2026-11-12T10:00:00+08:00",
            )
            .unwrap();
        };
        close(&mut a, "zhang.wei", "已报价");
        close(&mut b, "li.na", "客户不需要了");
        a.merge(&mut b).unwrap();
        b.merge(&mut a).unwrap();
        let (fa, fb) = (load(&a), load(&b));
        assert_eq!(fa, fb, "one state on both");
        assert_eq!(fa.state(), FollowUpState::Done);
        assert_eq!(
            result_conflicts(&a),
            [(
                "f1".to_string(),
                vec!["客户不需要了".to_string(), "已报价".to_string()]
            )]
        );
        assert_eq!(result_conflicts(&a), result_conflicts(&b));
        // The same result twice is no conflict.
        let (mut c, mut d) = (base.clone(), base);
        c.set_actor(automerge::ActorId::from(b"cccc".as_slice()));
        d.set_actor(automerge::ActorId::from(b"dddd".as_slice()));
        close(&mut c, "zhang.wei", "已报价");
        close(&mut d, "li.na", "已报价");
        c.merge(&mut d).unwrap();
        assert!(result_conflicts(&c).is_empty());
    }
}
