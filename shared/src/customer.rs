//! The customer document (schema v1): one Automerge document per customer.
//!
//! See docs/schema.md for the JSON shape. Server-owned facts (owner, unit,
//! assignment, approved grade) are deliberately absent: a CRDT cannot take back a
//! change once a peer has it, so whoever may see what lives in server tables.

use automerge::{ObjType, ROOT};
use autosurgeon::{Doc, ReadDoc};
use autosurgeon::{Hydrate, Reconcile, hydrate, reconcile_prop};

use crate::onepass::OnePass;
use crate::vocab::{ContactRole, FollowUpState, Line, Nature, VisitKind};
use crate::{SCHEMA_VERSION, SchemaError, flex};

/// The `type` of a customer document.
pub const CUSTOMER_TYPE: &str = "customer";

/// A whole customer document.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct Customer {
    #[autosurgeon(rename = "type", with = "flex::string")]
    pub doc_type: String,
    #[autosurgeon(with = "flex::int")]
    pub schema: i64,
    #[autosurgeon(with = "flex::string")]
    pub name: String,
    #[autosurgeon(with = "flex::string")]
    pub credit_code: String,
    #[autosurgeon(missing = "Nature::default")]
    pub nature: Nature,
    #[autosurgeon(missing = "Vec::new")]
    pub lines: Vec<Line>,
    /// The day it was registered (YYYY-MM-DD; empty for customers registered
    /// before this field): a new prospect is due, not overdue, in its first
    /// month (`visits::cadence_of`).
    #[autosurgeon(with = "flex::string")]
    pub registered_on: String,
    #[autosurgeon(with = "flex::string")]
    pub address: String,
    #[autosurgeon(with = "flex::string")]
    pub industry: String,
    /// Scope of business, free text.
    #[autosurgeon(with = "flex::text")]
    pub scope: String,
    /// The manager's running notes on the customer, free text.
    #[autosurgeon(with = "flex::text")]
    pub notes: String,
    /// The customer file 客户档案 (each a field a person sets whole): credit
    /// and payment record 信用/付款记录, years of cooperation 合作年限, growth
    /// potential 发展潜力, preferences 偏好, business situation 经营状况.
    #[autosurgeon(with = "flex::string")]
    pub credit_record: String,
    #[autosurgeon(with = "flex::string")]
    pub cooperation_years: String,
    #[autosurgeon(with = "flex::string")]
    pub growth_potential: String,
    #[autosurgeon(with = "flex::string")]
    pub preferences: String,
    #[autosurgeon(with = "flex::string")]
    pub business_situation: String,
    /// Competitors at this customer 竞争对手: who, which business, price, share.
    #[autosurgeon(missing = "Vec::new")]
    pub competitors: Vec<Competitor>,
    #[autosurgeon(missing = "Vec::new")]
    pub contacts: Vec<Contact>,
    #[autosurgeon(missing = "Vec::new")]
    pub visits: Vec<Visit>,
    #[autosurgeon(missing = "Vec::new")]
    pub ledger: Vec<LedgerEntry>,
    #[autosurgeon(missing = "Vec::new")]
    pub complaints: Vec<crate::complaints::Complaint>,
    #[autosurgeon(missing = "Vec::new")]
    pub agreements: Vec<crate::agreements::Agreement>,
    #[autosurgeon(missing = "Vec::new")]
    pub plans: Vec<crate::agreements::Plan>,
    /// Changes of manager (主辅制 hand-overs), written by the server.
    #[autosurgeon(missing = "Vec::new")]
    pub handovers: Vec<Handover>,
    /// Customer care 客户关怀 (礼仪公关): what was done for the customer's
    /// people, when, at what cost, by whom.
    #[autosurgeon(missing = "Vec::new")]
    pub care_log: Vec<crate::care::CareEntry>,
    /// Visits planned 出访计划 (`itinerary.rs`).
    #[autosurgeon(missing = "Vec::new")]
    pub planned_visits: Vec<crate::itinerary::PlannedVisit>,
    /// Satisfaction surveys 客户满意度调查.
    #[autosurgeon(missing = "Vec::new")]
    pub surveys: Vec<crate::surveys::Survey>,
    /// Events 联谊活动 / 座谈会 the customer was invited to (the server writes
    /// the invitation; the managers record who came).
    #[autosurgeon(missing = "Vec::new")]
    pub events: Vec<crate::events::EventEntry>,
    /// Photos and attachments 照片与附件: references to blobs kept apart
    /// (`attachments.rs`).
    #[autosurgeon(missing = "Vec::new")]
    pub attachments: Vec<crate::attachments::Attachment>,
}

/// A competitor at the customer (竞争对手).
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct Competitor {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    /// Who: 顺丰, 京东物流 …
    #[autosurgeon(with = "flex::string")]
    pub name: String,
    /// Which business they have there.
    #[autosurgeon(with = "flex::string")]
    pub business: String,
    /// Their price, as the customer told it.
    #[autosurgeon(with = "flex::string")]
    pub price: String,
    /// Their share of the customer's business, as said (e.g. 约30%).
    #[autosurgeon(with = "flex::string")]
    pub share: String,
}

/// Adds a competitor to the customer file.
pub fn add_competitor<T: Doc>(tx: &mut T, c: &Competitor) -> Result<(), SchemaError> {
    if c.name.trim().is_empty() {
        return Err(SchemaError::Invalid(
            "请写明竞争对手是谁 / name the competitor".into(),
        ));
    }
    flex::append(tx, &ROOT, "competitors", c)
}

/// A change of the customer's primary or assistant manager (交接).
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(
    Debug, Clone, Default, PartialEq, Hydrate, Reconcile, serde::Serialize, serde::Deserialize,
)]
pub struct Handover {
    /// Usernames; the assistant is "" when there is none.
    #[autosurgeon(with = "flex::string")]
    pub from_primary: String,
    #[autosurgeon(with = "flex::string")]
    pub to_primary: String,
    #[autosurgeon(with = "flex::string")]
    pub from_assistant: String,
    #[autosurgeon(with = "flex::string")]
    pub to_assistant: String,
    /// RFC 3339.
    #[autosurgeon(with = "flex::string")]
    pub at: String,
    /// Username of the head or admin who made the change.
    #[autosurgeon(with = "flex::string")]
    pub by: String,
    #[autosurgeon(with = "flex::text")]
    pub note: String,
}

/// Merges imported ledger entries: the same month and line replaces the amounts
/// in place (so concurrent edits of other entries are untouched), others are added.
pub fn merge_ledger<T: Doc>(tx: &mut T, entries: &[LedgerEntry]) -> Result<(), SchemaError> {
    let list = match tx.get(&ROOT, "ledger")? {
        Some((automerge::Value::Object(ObjType::List), id)) => id,
        _ => tx.put_object(ROOT, "ledger", ObjType::List)?,
    };
    // Where each month and line is, read once: an import of years of ledger
    // would otherwise read the whole list again for every entry.
    let mut at = std::collections::HashMap::new();
    for i in 0..tx.length(&list) {
        if let Some((automerge::Value::Object(ObjType::Map), item)) = tx.get(&list, i)? {
            let month = flex::read_string(tx, &item, "month".into())?;
            let line = flex::read_string(tx, &item, "line".into())?;
            at.entry((month, line)).or_insert(item);
        }
    }
    for e in entries {
        let key = (e.month.clone(), e.line.as_str().to_string());
        match at.get(&key) {
            Some(item) => {
                tx.put(item, "amount_fen", e.amount_fen)?;
                tx.put(item, "disbursed_fen", e.disbursed_fen)?;
                tx.put(item, "cross_city_fen", e.cross_city_fen)?;
                tx.put(item, "estimate", e.estimate)?;
            }
            None => {
                flex::append(tx, &ROOT, "ledger", e)?;
                // The same month and line later in this import replaces it.
                let end = tx.length(&list).saturating_sub(1);
                if let Some((automerge::Value::Object(ObjType::Map), item)) = tx.get(&list, end)? {
                    at.insert(key, item);
                }
            }
        }
    }
    Ok(())
}

/// What [`merge_ledger`] would do with `entries`: (added, replaced) — an
/// entry replaces one of the same month and line, already there or earlier
/// in the same import. An import's preview says it before anything is written.
pub fn ledger_effect<D: ReadDoc>(
    d: &D,
    entries: &[LedgerEntry],
) -> Result<(usize, usize), SchemaError> {
    let mut there = std::collections::HashSet::new();
    if let Some((automerge::Value::Object(ObjType::List), list)) = d.get(&ROOT, "ledger")? {
        for i in 0..d.length(&list) {
            if let Some((automerge::Value::Object(ObjType::Map), item)) = d.get(&list, i)? {
                let month = flex::read_string(d, &item, "month".into())?;
                let line = flex::read_string(d, &item, "line".into())?;
                there.insert((month, line));
            }
        }
    }
    let (mut added, mut replaced) = (0, 0);
    for e in entries {
        if there.insert((e.month.clone(), e.line.as_str().to_string())) {
            added += 1;
        } else {
            replaced += 1;
        }
    }
    Ok((added, replaced))
}

/// Records a hand-over on the customer document.
pub fn add_handover<T: Doc>(tx: &mut T, h: &Handover) -> Result<(), SchemaError> {
    flex::append(tx, &ROOT, "handovers", h)
}

/// A person at the customer.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct Contact {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    #[autosurgeon(with = "flex::string")]
    pub name: String,
    #[autosurgeon(missing = "ContactRole::default")]
    pub role: ContactRole,
    #[autosurgeon(with = "flex::string")]
    pub position: String,
    #[autosurgeon(with = "flex::string")]
    pub phone: String,
    /// YYYY-MM-DD, or empty when unknown.
    #[autosurgeon(with = "flex::string")]
    pub birthday: String,
    /// Hobbies and family notes for care visits: private to the customer's managers.
    #[autosurgeon(with = "flex::text")]
    pub personal_notes: String,
    /// Hobbies 爱好, and family and children 家庭与子女 (for care; seen only by
    /// those who see the customer, and in no export).
    #[autosurgeon(with = "flex::string")]
    pub hobbies: String,
    #[autosurgeon(with = "flex::string")]
    pub family: String,
    /// Dated family events (婚丧嫁娶, 子女升学 …): the care reminders name them.
    #[autosurgeon(missing = "Vec::new")]
    pub events: Vec<crate::care::FamilyEvent>,
}

/// One visit record (docs/domain.md, Visit cadence). Serde: a form's draft
/// on the tablet (`client/src/drafts.rs`), never the document.
#[derive(
    Debug, Clone, Default, PartialEq, Hydrate, Reconcile, serde::Serialize, serde::Deserialize,
)]
#[serde(default)]
pub struct Visit {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    /// YYYY-MM-DD.
    #[autosurgeon(with = "flex::string")]
    pub date: String,
    /// HH:MM, or empty.
    #[autosurgeon(with = "flex::string")]
    pub time: String,
    #[autosurgeon(missing = "VisitKind::default")]
    pub kind: VisitKind,
    /// Usernames of the staff who went.
    #[autosurgeon(with = "flex::strings")]
    pub visitors: Vec<String>,
    /// Ids of the customer's contacts who were met.
    #[autosurgeon(with = "flex::strings")]
    pub contacts_met: Vec<String>,
    #[autosurgeon(with = "flex::string")]
    pub purpose: String,
    #[autosurgeon(with = "flex::text")]
    pub summary: String,
    #[autosurgeon(with = "flex::text")]
    pub needs: String,
    #[autosurgeon(with = "flex::text")]
    pub opinions: String,
    #[autosurgeon(with = "flex::text")]
    pub complaints: String,
    #[autosurgeon(with = "flex::text")]
    pub competitor_news: String,
    /// Difficulties the customer has with the post (用邮困难).
    #[autosurgeon(with = "flex::text")]
    pub mailing_difficulties: String,
    #[autosurgeon(missing = "Vec::new")]
    pub follow_ups: Vec<FollowUp>,
    /// YYYY-MM-DD, or empty.
    #[autosurgeon(with = "flex::string")]
    pub next_visit: String,
    /// Check-in 签到 at the customer's: when (RFC 3339, the tablet's clock),
    /// empty without one.
    #[autosurgeon(with = "flex::string")]
    pub check_in_at: String,
    /// Where, as the tablet's location service gave it: "lat,lon" in
    /// degrees, empty when the location was refused or unavailable.
    #[autosurgeon(with = "flex::string")]
    pub check_in_position: String,
    /// Its accuracy in metres (0 without a position).
    #[autosurgeon(with = "flex::int")]
    pub check_in_accuracy_m: i64,
    /// Why there is no position (refused, unavailable), in words.
    #[autosurgeon(with = "flex::string")]
    pub check_in_note: String,
}

/// A follow-up action from a visit: whoever visits, follows up (谁走访谁督办).
#[derive(
    Debug, Clone, Default, PartialEq, Hydrate, Reconcile, serde::Serialize, serde::Deserialize,
)]
#[serde(default)]
pub struct FollowUp {
    #[key]
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    #[autosurgeon(with = "flex::string")]
    pub action: String,
    /// Username of the owner.
    #[autosurgeon(with = "flex::string")]
    pub owner: String,
    /// YYYY-MM-DD.
    #[autosurgeon(with = "flex::string")]
    pub due: String,
    /// Whether it is done: kept with `state` for releases before it (which
    /// read only this). Read the state with [`FollowUp::state`].
    #[autosurgeon(with = "flex::boolean")]
    pub closed: bool,
    /// What was done (处理结果). Written whole when the follow-up is closed,
    /// so that two different results from two tablets stay both visible.
    #[autosurgeon(with = "flex::text")]
    pub result: String,
    #[autosurgeon(missing = "FollowUpState::default")]
    pub state: FollowUpState,
    /// Where it was handed (a line's office, or a colleague), if forwarded.
    #[autosurgeon(with = "flex::string")]
    pub forwarded_to: String,
    /// Whether the customer was told the result (告知客户), and on which day.
    #[autosurgeon(with = "flex::boolean")]
    pub told_customer: bool,
    #[autosurgeon(with = "flex::string")]
    pub told_on: String,
    /// Who closed it (username), and when (RFC 3339), and on which of the
    /// operator's days (the work log's).
    #[autosurgeon(with = "flex::string")]
    pub closed_by: String,
    #[autosurgeon(with = "flex::string")]
    pub closed_at: String,
    #[autosurgeon(with = "flex::string")]
    pub closed_on: String,
}

/// Checks that `doc` is a customer document this build can read.
fn check_customer<D: ReadDoc>(doc: &D) -> Result<(), SchemaError> {
    let found = flex::read_string(doc, &ROOT, "type".into())?;
    if found != CUSTOMER_TYPE {
        return Err(SchemaError::WrongType {
            expected: CUSTOMER_TYPE,
            found,
        });
    }
    let version = flex::read_int(doc, &ROOT, "schema".into())?;
    if version > SCHEMA_VERSION as i64 {
        return Err(SchemaError::TooNew(version as u64));
    }
    Ok(())
}

/// The latest of some dates (YYYY-MM-DD), ignoring empty ones.
fn latest<'a>(dates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    dates.filter(|d| !d.is_empty()).max()
}

/// What the server's tables and reports hold of a customer: a [`Customer`]
/// without its free text (visit notes, contacts' details, scope). Reading a
/// customer with hundreds of visits whole, the server's projection spent about
/// a third of the time in the visit notes, which no table holds. Field names
/// and codecs are [`Customer`]'s (a test compares the two).
#[derive(Debug, Clone, Default, PartialEq, Hydrate)]
pub struct Outline {
    #[autosurgeon(with = "flex::string")]
    pub name: String,
    #[autosurgeon(with = "flex::string")]
    pub credit_code: String,
    #[autosurgeon(missing = "Nature::default")]
    pub nature: Nature,
    #[autosurgeon(missing = "Vec::new")]
    pub lines: Vec<Line>,
    #[autosurgeon(with = "flex::string")]
    pub address: String,
    #[autosurgeon(with = "flex::string")]
    pub industry: String,
    #[autosurgeon(missing = "Vec::new")]
    pub contacts: Vec<ContactOutline>,
    #[autosurgeon(missing = "Vec::new")]
    pub visits: Vec<VisitOutline>,
    #[autosurgeon(missing = "Vec::new")]
    pub ledger: Vec<LedgerEntry>,
    #[autosurgeon(missing = "Vec::new")]
    pub complaints: Vec<crate::complaints::Complaint>,
    #[autosurgeon(missing = "Vec::new")]
    pub agreements: Vec<crate::agreements::Agreement>,
    #[autosurgeon(missing = "Vec::new")]
    pub plans: Vec<crate::agreements::Plan>,
    #[autosurgeon(missing = "Vec::new")]
    pub surveys: Vec<crate::surveys::Survey>,
    #[autosurgeon(missing = "Vec::new")]
    pub events: Vec<crate::events::EventEntry>,
}

/// A contact, as counted.
#[derive(Debug, Clone, Default, PartialEq, Hydrate)]
pub struct ContactOutline {
    #[autosurgeon(with = "flex::string")]
    pub id: String,
}

/// A visit without its notes.
#[derive(Debug, Clone, Default, PartialEq, Hydrate)]
pub struct VisitOutline {
    #[autosurgeon(with = "flex::string")]
    pub id: String,
    #[autosurgeon(with = "flex::string")]
    pub date: String,
    #[autosurgeon(missing = "VisitKind::default")]
    pub kind: VisitKind,
    #[autosurgeon(with = "flex::strings")]
    pub visitors: Vec<String>,
    #[autosurgeon(missing = "Vec::new")]
    pub follow_ups: Vec<FollowUp>,
}

impl Outline {
    /// Reads a customer document's outline; the same checks as [`Customer::load`].
    pub fn load<D: ReadDoc>(doc: &D) -> Result<Self, SchemaError> {
        check_customer(doc)?;
        Ok(hydrate(&OnePass::new(doc))?)
    }

    /// The date of the most recent visit (YYYY-MM-DD), if any.
    pub fn last_visit(&self) -> Option<&str> {
        latest(self.visits.iter().map(|v| v.date.as_str()))
    }

    /// How many follow-ups are open: the count `visits::open_follow_ups`
    /// lists on the tablet.
    pub fn open_follow_ups(&self) -> usize {
        self.visits
            .iter()
            .flat_map(|v| &v.follow_ups)
            .filter(|f| f.is_open())
            .count()
    }
}

/// Revenue of one business line in one month 用邮台帐.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct LedgerEntry {
    /// YYYY-MM.
    #[autosurgeon(with = "flex::string")]
    pub month: String,
    pub line: Line,
    /// Revenue in fen (1/100 yuan); money is never a float.
    #[autosurgeon(with = "flex::int")]
    pub amount_fen: i64,
    /// Payroll/pension volume disbursed that month, in fen (finance customers), else 0.
    #[autosurgeon(with = "flex::int")]
    pub disbursed_fen: i64,
    /// The part of `amount_fen` that is cross-city mail (异地邮件), else 0.
    #[autosurgeon(with = "flex::int")]
    pub cross_city_fen: i64,
    /// A manager's estimate (their own import), not the office's figure:
    /// shown as such, never graded or scored. The server grades and scores
    /// from its own record of the imports by heads and the center, whatever
    /// a document says (docs/domain.md, The ledger's authority).
    #[autosurgeon(with = "flex::boolean")]
    pub estimate: bool,
}

/// The entries that are the office's figures (not a manager's estimate).
pub fn official(ledger: &[LedgerEntry]) -> Vec<LedgerEntry> {
    ledger.iter().filter(|e| !e.estimate).cloned().collect()
}

impl Customer {
    /// A new customer document's content, as registered on a tablet.
    pub fn new(name: &str, credit_code: &str, nature: Nature, lines: Vec<Line>) -> Self {
        Customer {
            doc_type: CUSTOMER_TYPE.into(),
            schema: SCHEMA_VERSION as i64,
            name: name.trim().into(),
            credit_code: credit_code.trim().to_uppercase(),
            nature,
            lines,
            ..Default::default()
        }
    }

    /// Reads a customer document, accepting every schema version up to this build's.
    pub fn load<D: ReadDoc + automerge::ReadDoc>(doc: &D) -> Result<Self, SchemaError> {
        check_customer(doc)?;
        // Version 1 is the first; later versions migrate older shapes forward here.
        let mut c: Customer = hydrate(&OnePass::new(doc))?;
        // Lists added after the first documents were made: two devices may
        // each have created one offline (`flex::merged_list`).
        if let Some(v) = flex::merged_list(doc, "care_log")? {
            c.care_log = v;
        }
        if let Some(v) = flex::merged_list(doc, "planned_visits")? {
            c.planned_visits = v;
        }
        if let Some(v) = flex::merged_list(doc, "surveys")? {
            c.surveys = v;
        }
        if let Some(v) = flex::merged_list(doc, "events")? {
            c.events = v;
        }
        if let Some(v) = flex::merged_list(doc, "attachments")? {
            c.attachments = v;
        }
        Ok(c)
    }

    /// Writes this customer as the whole content of a fresh document.
    pub fn create<T: Doc>(&self, tx: &mut T) -> Result<(), SchemaError> {
        if self.name.trim().is_empty() {
            return Err(SchemaError::Invalid("a customer needs a name".into()));
        }
        autosurgeon::reconcile(tx, self)?;
        // Make sure the reserved lists exist so every peer can append to them.
        for key in ["competitors", "surveys", "attachments"] {
            if tx.get(&ROOT, key)?.is_none() {
                tx.put_object(ROOT, key, ObjType::List)?;
            }
        }
        Ok(())
    }

    /// The date of the most recent visit (YYYY-MM-DD), if any.
    pub fn last_visit(&self) -> Option<&str> {
        latest(self.visits.iter().map(|v| v.date.as_str()))
    }
}

/// Appends a visit to a customer document. Appending (rather than rewriting the
/// list) lets two tablets log visits offline and keep both.
pub fn add_visit<T: Doc>(tx: &mut T, visit: &Visit) -> Result<(), SchemaError> {
    flex::append(tx, &ROOT, "visits", visit)
}

/// Contact fields a person edits whole.
pub const CONTACT_FIELDS: [&str; 7] = [
    "name", "role", "position", "phone", "birthday", "hobbies", "family",
];

/// Sets one field of the contact with `contact_id`: only that field changes, so two
/// people editing different fields of one contact both keep their edit.
pub fn set_contact_field<T: Doc>(
    tx: &mut T,
    contact_id: &str,
    field: &str,
    value: &str,
) -> Result<(), SchemaError> {
    if !CONTACT_FIELDS.contains(&field) {
        return Err(SchemaError::Invalid(format!(
            "{field} is not an editable contact field"
        )));
    }
    let Some((automerge::Value::Object(ObjType::List), list)) = tx.get(&ROOT, "contacts")? else {
        return Err(SchemaError::Invalid("the customer has no contacts".into()));
    };
    for i in 0..tx.length(&list) {
        if let Some((automerge::Value::Object(ObjType::Map), item)) = tx.get(&list, i)?
            && flex::read_string(tx, &item, "id".into())? == contact_id
        {
            reconcile_prop(tx, item, field, value)?;
            return Ok(());
        }
    }
    Err(SchemaError::Invalid(format!("no contact {contact_id}")))
}

/// Adds a dated family event to a contact (a wedding, a child's school …).
pub fn add_contact_event<T: Doc>(
    tx: &mut T,
    contact_id: &str,
    event: &crate::care::FamilyEvent,
) -> Result<(), SchemaError> {
    if crate::calendar::Day::parse(&event.date).is_none() || event.occasion.trim().is_empty() {
        return Err(SchemaError::Invalid(
            "家庭事件需要日期和事由 / a family event needs a date and what it is".into(),
        ));
    }
    let Some((automerge::Value::Object(ObjType::List), list)) = tx.get(&ROOT, "contacts")? else {
        return Err(SchemaError::Invalid("the customer has no contacts".into()));
    };
    for i in 0..tx.length(&list) {
        if let Some((automerge::Value::Object(ObjType::Map), item)) = tx.get(&list, i)?
            && flex::read_string(tx, &item, "id".into())? == contact_id
        {
            return flex::append(tx, &item, "events", event);
        }
    }
    Err(SchemaError::Invalid(format!("no contact {contact_id}")))
}

/// Appends a contact to a customer document.
pub fn add_contact<T: Doc>(tx: &mut T, contact: &Contact) -> Result<(), SchemaError> {
    flex::append(tx, &ROOT, "contacts", contact)
}

/// Appends ledger entries to a customer document.
pub fn add_ledger<T: Doc>(tx: &mut T, entries: &[LedgerEntry]) -> Result<(), SchemaError> {
    for e in entries {
        flex::append(tx, &ROOT, "ledger", e)?;
    }
    Ok(())
}

/// Sets one top-level scalar string field (name, credit_code, address, ...).
pub fn set_field<T: Doc>(tx: &mut T, field: &str, value: &str) -> Result<(), SchemaError> {
    if !EDITABLE_FIELDS.contains(&field) {
        return Err(SchemaError::Invalid(format!(
            "{field} is not an editable field"
        )));
    }
    reconcile_prop(tx, ROOT, field, value)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A customer written by the previous release has no `registered_on`
    /// and visits without the check-in fields: it reads, with them empty.
    #[test]
    fn a_customer_of_the_previous_release_reads_without_the_new_fields() {
        let mut c = Customer::new("旧版客户", "", Nature::Enterprise, vec![]);
        c.visits.push(Visit {
            id: "v1".into(),
            date: "2026-10-01".into(),
            ..Default::default()
        });
        let mut doc = automerge::AutoCommit::new();
        c.create(&mut doc).unwrap();
        // Take away what this release added, as the previous one wrote it.
        automerge::transaction::Transactable::delete(&mut doc, automerge::ROOT, "registered_on")
            .unwrap();
        let visits = automerge::ReadDoc::get(&doc, automerge::ROOT, "visits")
            .unwrap()
            .unwrap()
            .1;
        let v = automerge::ReadDoc::get(&doc, &visits, 0)
            .unwrap()
            .unwrap()
            .1;
        for k in [
            "check_in_at",
            "check_in_position",
            "check_in_accuracy_m",
            "check_in_note",
        ] {
            automerge::transaction::Transactable::delete(&mut doc, &v, k).unwrap();
        }
        let read = Customer::load(&doc).unwrap();
        assert_eq!(read.registered_on, "");
        assert!(read.surveys.is_empty(), "no surveys before surveys");
        assert_eq!(read.visits[0].check_in_at, "");
        assert_eq!(read.visits[0].check_in_accuracy_m, 0);
        assert_eq!(read.visits[0].date, "2026-10-01");
    }

    /// A customer as the release before the field manager's loop wrote it:
    /// no customer-file fields, competitors, care log or plans; contacts
    /// without hobbies, family or events; visits without 用邮困难; a follow-up
    /// with only `closed`. It reads, with them empty, and the closed
    /// follow-up is done.
    #[test]
    fn a_customer_of_the_release_before_the_loop_reads() {
        use automerge::ROOT;
        use automerge::transaction::Transactable;
        let mut c = Customer::new("旧版客户", "", Nature::Enterprise, vec![]);
        c.contacts.push(Contact {
            id: "k1".into(),
            name: "王总".into(),
            ..Default::default()
        });
        c.visits.push(Visit {
            id: "v1".into(),
            date: "2026-10-01".into(),
            follow_ups: vec![FollowUp {
                id: "f1".into(),
                action: "报价".into(),
                closed: true,
                ..Default::default()
            }],
            ..Default::default()
        });
        let mut doc = AutoCommit::new();
        c.create(&mut doc).unwrap();
        let item = |doc: &AutoCommit, list: &str, obj: &automerge::ObjId| {
            let l = automerge::ReadDoc::get(doc, obj, list).unwrap().unwrap().1;
            automerge::ReadDoc::get(doc, &l, 0).unwrap().unwrap().1
        };
        for k in [
            "credit_record",
            "cooperation_years",
            "growth_potential",
            "preferences",
            "business_situation",
            "competitors",
            "care_log",
            "planned_visits",
            "attachments",
        ] {
            let _ = Transactable::delete(&mut doc, ROOT, k);
        }
        let k = item(&doc, "contacts", &ROOT);
        for f in ["hobbies", "family", "events"] {
            Transactable::delete(&mut doc, &k, f).unwrap();
        }
        let v = item(&doc, "visits", &ROOT);
        Transactable::delete(&mut doc, &v, "mailing_difficulties").unwrap();
        let f = item(&doc, "follow_ups", &v);
        for key in [
            "state",
            "forwarded_to",
            "told_customer",
            "told_on",
            "closed_by",
            "closed_at",
            "closed_on",
        ] {
            Transactable::delete(&mut doc, &f, key).unwrap();
        }
        let read = Customer::load(&doc).unwrap();
        assert!(
            read.competitors.is_empty()
                && read.care_log.is_empty()
                && read.planned_visits.is_empty()
                && read.attachments.is_empty()
        );
        assert_eq!(
            (
                read.cooperation_years.as_str(),
                read.contacts[0].hobbies.as_str()
            ),
            ("", "")
        );
        assert!(read.contacts[0].events.is_empty());
        assert_eq!(read.visits[0].mailing_difficulties, "");
        let f = &read.visits[0].follow_ups[0];
        assert_eq!(f.state(), crate::vocab::FollowUpState::Done);
        assert!(!f.is_open());
    }
    use automerge::AutoCommit;

    fn sample() -> Customer {
        let mut c = Customer::new(
            "麦德龙商业集团有限公司",
            "91310000607216596x",
            Nature::Enterprise,
            vec![Line::Delivery],
        );
        c.contacts.push(Contact {
            id: "c1".into(),
            name: "王经理".into(),
            role: ContactRole::Handler,
            ..Default::default()
        });
        c
    }

    #[test]
    fn create_then_load_round_trips() {
        let mut doc = AutoCommit::new();
        let c = sample();
        c.create(&mut doc).unwrap();
        let back = Customer::load(&doc).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.credit_code, "91310000607216596X");
    }

    /// The outline reads the same fields, with the same codecs, as the whole
    /// customer: a renamed or re-coded field in one and not the other fails here.
    #[test]
    fn the_outline_reads_what_the_whole_customer_reads() {
        let mut c = sample();
        c.address = "上海市普陀区".into();
        c.industry = "零售".into();
        c.lines.push(Line::Finance);
        c.visits = (0..3)
            .map(|i| Visit {
                id: format!("v{i}"),
                date: format!("2026-11-0{}", 3 - i),
                kind: VisitKind::Phone,
                visitors: vec!["m1".into(), format!("m{}", i + 2)],
                summary: "谈年度协议".into(),
                follow_ups: vec![FollowUp {
                    id: format!("f{i}"),
                    action: "报价".into(),
                    closed: i == 1,
                    ..Default::default()
                }],
                ..Default::default()
            })
            .collect();
        c.ledger.push(LedgerEntry {
            month: "2026-10".into(),
            line: Line::Delivery,
            amount_fen: 12_345,
            disbursed_fen: 100,
            cross_city_fen: 7,
            estimate: false,
        });
        c.complaints.push(crate::complaints::Complaint {
            id: "k1".into(),
            content: "延误".into(),
            status: "accepted".into(),
            satisfaction: 4,
            task_force: true,
            ..Default::default()
        });
        c.agreements.push(crate::agreements::Agreement {
            id: "a1".into(),
            number: "HT-2026-01".into(),
            end: "2027-01-31".into(),
            status: "signed".into(),
            ..Default::default()
        });
        c.plans.push(crate::agreements::Plan {
            year: "2027".into(),
            target_revenue_fen: 9_000_000,
            ..Default::default()
        });
        let mut doc = AutoCommit::new();
        c.create(&mut doc).unwrap();
        let whole = Customer::load(&doc).unwrap();
        let outline = Outline::load(&doc).unwrap();
        let expected = Outline {
            name: whole.name.clone(),
            credit_code: whole.credit_code.clone(),
            nature: whole.nature.clone(),
            lines: whole.lines.clone(),
            address: whole.address.clone(),
            industry: whole.industry.clone(),
            contacts: whole
                .contacts
                .iter()
                .map(|k| ContactOutline { id: k.id.clone() })
                .collect(),
            visits: whole
                .visits
                .iter()
                .map(|v| VisitOutline {
                    id: v.id.clone(),
                    date: v.date.clone(),
                    kind: v.kind.clone(),
                    visitors: v.visitors.clone(),
                    follow_ups: v.follow_ups.to_vec(),
                })
                .collect(),
            ledger: whole.ledger.clone(),
            complaints: whole.complaints.clone(),
            agreements: whole.agreements.clone(),
            plans: whole.plans.clone(),
            surveys: whole.surveys.clone(),
            events: whole.events.clone(),
        };
        assert_eq!(outline, expected);
        assert!(outline.visits[1].follow_ups[0].closed);
        assert_eq!(outline.last_visit(), Some("2026-11-03"));
        // Not a customer: refused the same way.
        let mut other = AutoCommit::new();
        other.put(ROOT, "type", "book").unwrap();
        assert!(matches!(
            Outline::load(&other),
            Err(SchemaError::WrongType { .. })
        ));
    }

    #[test]
    fn concurrent_visits_both_survive() {
        let mut a = AutoCommit::new();
        sample().create(&mut a).unwrap();
        let mut b = a.fork();
        add_visit(
            &mut a,
            &Visit {
                id: "v1".into(),
                date: "2026-11-01".into(),
                ..Default::default()
            },
        )
        .unwrap();
        add_visit(
            &mut b,
            &Visit {
                id: "v2".into(),
                date: "2026-11-02".into(),
                ..Default::default()
            },
        )
        .unwrap();
        a.merge(&mut b).unwrap();
        let c = Customer::load(&a).unwrap();
        let mut ids: Vec<_> = c.visits.iter().map(|v| v.id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, ["v1", "v2"]);
        assert_eq!(c.last_visit(), Some("2026-11-02"));
    }

    #[test]
    fn merging_a_ledger_replaces_the_same_month_and_line_and_adds_the_rest() {
        let entry = |month: &str, line: Line, fen: i64| LedgerEntry {
            month: month.into(),
            line,
            amount_fen: fen,
            ..Default::default()
        };
        let mut doc = AutoCommit::new();
        let mut c = sample();
        c.ledger = vec![
            entry("2026-09", Line::Delivery, 100),
            entry("2026-10", Line::Delivery, 200),
        ];
        c.create(&mut doc).unwrap();
        let import = [
            entry("2026-10", Line::Delivery, 250),
            entry("2026-10", Line::Finance, 30),
            entry("2026-11", Line::Delivery, 300),
            // The same month and line again in one import: the later wins.
            entry("2026-11", Line::Delivery, 310),
        ];
        // The preview's count: two added, one replaced there, one replaced
        // within the import.
        assert_eq!(ledger_effect(&doc, &import).unwrap(), (2, 2));
        merge_ledger(&mut doc, &import).unwrap();
        let got: Vec<_> = Customer::load(&doc)
            .unwrap()
            .ledger
            .iter()
            .map(|e| (e.month.clone(), e.line.clone(), e.amount_fen))
            .collect();
        assert_eq!(
            got,
            [
                ("2026-09".to_string(), Line::Delivery, 100),
                ("2026-10".to_string(), Line::Delivery, 250),
                ("2026-10".to_string(), Line::Finance, 30),
                ("2026-11".to_string(), Line::Delivery, 310),
            ]
        );
    }

    #[test]
    fn rejects_other_documents_and_newer_schemas() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "type", "book").unwrap();
        assert!(matches!(
            Customer::load(&doc),
            Err(SchemaError::WrongType { .. })
        ));
        doc.put(ROOT, "type", "customer").unwrap();
        doc.put(ROOT, "schema", 9_i64).unwrap();
        assert!(matches!(Customer::load(&doc), Err(SchemaError::TooNew(9))));
    }

    #[test]
    fn reads_js_style_text_strings() {
        // What @automerge/automerge-repo writes: every string a text object.
        let mut doc = AutoCommit::new();
        for (k, v) in [
            ("type", "customer"),
            ("name", "美之家"),
            ("credit_code", ""),
            ("nature", "enterprise"),
        ] {
            let t = doc.put_object(ROOT, k, ObjType::Text).unwrap();
            doc.splice_text(&t, 0, 0, v).unwrap();
        }
        doc.put(ROOT, "schema", 1.0_f64).unwrap();
        let visits = doc.put_object(ROOT, "visits", ObjType::List).unwrap();
        let v = doc.insert_object(&visits, 0, ObjType::Map).unwrap();
        let id = doc.put_object(&v, "id", ObjType::Text).unwrap();
        doc.splice_text(&id, 0, 0, "v-js").unwrap();
        let c = Customer::load(&doc).unwrap();
        assert_eq!(c.name, "美之家");
        assert_eq!(c.visits[0].id, "v-js");
        assert_eq!(c.visits[0].kind, VisitKind::Onsite);
    }
}

/// Top-level fields a person edits whole, where concurrent edits are shown as a conflict.
pub const EDITABLE_FIELDS: [&str; 10] = [
    "name",
    "credit_code",
    "address",
    "industry",
    "nature",
    "credit_record",
    "cooperation_years",
    "growth_potential",
    "preferences",
    "business_situation",
];

/// Fields that two devices set to different values concurrently: (field, every value).
/// Automerge keeps all of them; the app shows them and lets the user pick one.
pub fn conflicts<D: automerge::ReadDoc>(doc: &D) -> Vec<(&'static str, Vec<String>)> {
    let mut out = Vec::new();
    for field in EDITABLE_FIELDS {
        let Ok(values) = doc.get_all(&ROOT, field) else {
            continue;
        };
        if values.len() < 2 {
            continue;
        }
        let mut texts: Vec<String> = values
            .into_iter()
            .map(|(v, id)| match v {
                automerge::Value::Scalar(s) => s
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| s.to_string()),
                automerge::Value::Object(_) => doc.text(&id).unwrap_or_default(),
            })
            .collect();
        texts.dedup();
        if texts.len() > 1 {
            out.push((field, texts));
        }
    }
    out
}

#[cfg(test)]
mod conflict_tests {
    use super::*;
    use automerge::AutoCommit;

    #[test]
    fn contact_fields_merge_per_field() {
        let mut a = AutoCommit::new();
        let mut c = Customer::new("甲", "", Nature::Enterprise, vec![]);
        c.contacts.push(Contact {
            id: "k1".into(),
            name: "王".into(),
            ..Default::default()
        });
        c.create(&mut a).unwrap();
        let mut b = a.fork();
        set_contact_field(&mut a, "k1", "phone", "13900000001").unwrap();
        set_contact_field(&mut b, "k1", "position", "行政主管").unwrap();
        a.merge(&mut b).unwrap();
        let k = &Customer::load(&a).unwrap().contacts[0];
        assert_eq!(
            (k.phone.as_str(), k.position.as_str()),
            ("13900000001", "行政主管")
        );
        assert!(set_contact_field(&mut a, "nobody", "phone", "1").is_err());
        assert!(set_contact_field(&mut a, "k1", "id", "x").is_err());
    }

    #[test]
    fn concurrent_sets_show_both_until_one_is_chosen() {
        let mut a = AutoCommit::new();
        Customer::new("甲", "", Nature::Enterprise, vec![])
            .create(&mut a)
            .unwrap();
        let mut b = a.fork();
        set_field(&mut a, "address", "南京西路1号").unwrap();
        set_field(&mut b, "address", "淮海中路2号").unwrap();
        a.merge(&mut b).unwrap();
        let c = conflicts(&a);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].0, "address");
        let mut values = c[0].1.clone();
        values.sort();
        assert_eq!(values, ["南京西路1号", "淮海中路2号"]);
        set_field(&mut a, "address", "淮海中路2号").unwrap();
        assert!(conflicts(&a).is_empty());
        assert_eq!(Customer::load(&a).unwrap().address, "淮海中路2号");
    }
}
