//! Half-yearly customer events 联谊活动 / 座谈会 (docs/domain.md, Customer
//! events): the center or a head holds one and invites customers; the server
//! records it and writes the invitation on each invited customer's document,
//! where the customer's managers record, offline too, whether it came and
//! who (the follow-ups raised there are logged as a visit of kind 客户活动,
//! so they join the 督办 loop). The reports say, per unit and half year,
//! whether its customers had one.

use automerge::{ObjType, ROOT};
use autosurgeon::{Doc, Hydrate, Reconcile, reconcile_prop};

use crate::{SchemaError, flex};

/// The kinds of events.
pub const KINDS: [&str; 2] = ["gathering", "forum"];

/// A kind's Chinese and English names (联谊活动: a social gathering; 座谈会:
/// a forum with the customers).
pub fn kind_label(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "forum" => ("座谈会", "Forum"),
        _ => ("联谊活动", "Gathering"),
    }
}

/// An event as an invited customer's document holds it.
#[derive(
    Debug, Clone, Default, PartialEq, Hydrate, Reconcile, serde::Serialize, serde::Deserialize,
)]
pub struct EventEntry {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    /// `gathering` | `forum`.
    #[autosurgeon(with = "flex::string")]
    pub kind: String,
    #[autosurgeon(with = "flex::string")]
    pub title: String,
    /// YYYY-MM-DD.
    #[autosurgeon(with = "flex::string")]
    pub date: String,
    #[autosurgeon(with = "flex::string")]
    pub place: String,
    /// Recorded by the customer's manager: it came.
    #[autosurgeon(with = "flex::boolean")]
    pub attended: bool,
    /// Who came from the customer.
    #[autosurgeon(with = "flex::string")]
    pub attendees: String,
}

/// The half year of a day: `YYYY-H1` or `YYYY-H2`.
pub fn half_of(day: &str) -> Option<String> {
    let m = crate::calendar::Month::of_date(day)?;
    Some(format!(
        "{:04}-H{}",
        m.year,
        if m.month <= 6 { 1 } else { 2 }
    ))
}

/// Invites the customer (written by the server; once per event).
pub fn invite<T: Doc>(tx: &mut T, e: &EventEntry) -> Result<bool, SchemaError> {
    if let Some((automerge::Value::Object(ObjType::List), list)) = tx.get(&ROOT, "events")? {
        for i in 0..tx.length(&list) {
            if let Some((automerge::Value::Object(ObjType::Map), item)) = tx.get(&list, i)?
                && flex::read_string(tx, &item, "id".into())? == e.id
            {
                return Ok(false);
            }
        }
    }
    flex::append(tx, &ROOT, "events", e)?;
    Ok(true)
}

/// Records whether the customer came to event `id`, and who.
pub fn record_attendance<T: Doc>(
    tx: &mut T,
    id: &str,
    attended: bool,
    attendees: &str,
) -> Result<(), SchemaError> {
    if let Some((automerge::Value::Object(ObjType::List), list)) = tx.get(&ROOT, "events")? {
        for i in 0..tx.length(&list) {
            if let Some((automerge::Value::Object(ObjType::Map), item)) = tx.get(&list, i)?
                && flex::read_string(tx, &item, "id".into())? == id
            {
                reconcile_prop(tx, &item, "attended", attended)?;
                reconcile_prop(tx, &item, "attendees", attendees.trim())?;
                return Ok(());
            }
        }
    }
    Err(SchemaError::Invalid(format!(
        "客户没有受邀参加这个活动 {id} / the customer was not invited to event {id}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::Customer;
    use crate::vocab::Nature;
    use automerge::AutoCommit;

    #[test]
    fn an_invitation_is_written_once_and_attendance_recorded() {
        let mut doc = AutoCommit::new();
        Customer::new("活动公司", "", Nature::Enterprise, vec![])
            .create(&mut doc)
            .unwrap();
        let e = EventEntry {
            id: "e1".into(),
            kind: "forum".into(),
            title: "2026年下半年大客户座谈会".into(),
            date: "2026-11-20".into(),
            place: "分公司会议室".into(),
            ..Default::default()
        };
        assert!(invite(&mut doc, &e).unwrap());
        assert!(!invite(&mut doc, &e).unwrap(), "once");
        record_attendance(&mut doc, "e1", true, "王总、李经理").unwrap();
        assert!(record_attendance(&mut doc, "e2", true, "").is_err());
        let c = Customer::load(&doc).unwrap();
        assert_eq!(c.events.len(), 1);
        assert!(c.events[0].attended);
        assert_eq!(c.events[0].attendees, "王总、李经理");
        assert_eq!(half_of("2026-11-20").as_deref(), Some("2026-H2"));
        assert_eq!(half_of("2026-06-30").as_deref(), Some("2026-H1"));
    }
}
