//! The customer list's lines, and the compact index of them the device keeps
//! so that a start lists the whole book before it has read the documents.
//!
//! Reading 3,000 customer documents into Automerge and hydrating each took
//! most of a large book's offline start (the list grew a slice at a time for
//! seconds, a minute on a slow tablet). The index keeps, per customer, what
//! its list line needs: the inputs, not the derived level, grade and cadence,
//! so a start under new rules or in a new month lists them right. It is a
//! cache, never the truth: a line is listed only for a document kept on the
//! device, and is replaced as soon as the document itself is read. Pure.

use std::collections::BTreeMap;

use fieldbook_shared::calendar;
use fieldbook_shared::customer::{Customer, LedgerEntry, official};
use fieldbook_shared::grading::{self, Grade, Level};
use fieldbook_shared::rules::Rules;
use fieldbook_shared::visits::{self, Cadence};
use fieldbook_shared::vocab::Line;
use serde::{Deserialize, Serialize};

use crate::model::Row;

/// The index's format. Another version is not read (the list then grows as
/// the documents are read, as before the index) and is written over.
pub const INDEX_VERSION: u32 = 1;

/// What the list needs of one customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub name: String,
    pub credit_code: String,
    pub lines: Vec<String>,
    pub registered_on: String,
    pub last_visit: Option<String>,
    /// The office's ledger (estimates are never graded): month, line,
    /// revenue and disbursed volume, in fen.
    pub ledger: Vec<(String, String, i64, i64)>,
    pub open_follow_ups: usize,
    /// Two devices set a field differently.
    pub conflicts: bool,
}

impl Entry {
    pub fn of(c: &Customer, conflicts: bool) -> Entry {
        Entry {
            name: c.name.clone(),
            credit_code: c.credit_code.clone(),
            lines: c.lines.iter().map(|l| l.as_str().to_string()).collect(),
            registered_on: c.registered_on.clone(),
            last_visit: c.last_visit().map(str::to_string),
            ledger: official(&c.ledger)
                .into_iter()
                .map(|e| {
                    (
                        e.month,
                        e.line.as_str().to_string(),
                        e.amount_fen,
                        e.disbursed_fen,
                    )
                })
                .collect(),
            open_follow_ups: visits::open_follow_ups(c).len(),
            conflicts,
        }
    }
}

/// The index as stored (sealed, `idb::list_index`).
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Index {
    pub version: u32,
    /// By document id.
    pub entries: BTreeMap<String, Entry>,
}

impl Index {
    pub fn new(entries: BTreeMap<String, Entry>) -> Index {
        Index {
            version: INDEX_VERSION,
            entries,
        }
    }

    /// The entries of a stored index (`None`: unreadable or another version).
    pub fn parse(json: &[u8]) -> Option<BTreeMap<String, Entry>> {
        serde_json::from_slice::<Index>(json)
            .ok()
            .filter(|i| i.version == INDEX_VERSION)
            .map(|i| i.entries)
    }
}

/// One line of the customer list.
#[derive(Clone, Debug, PartialEq)]
pub struct ListRow {
    pub doc_id: String,
    pub name: String,
    pub credit_code: String,
    pub lines: Vec<Line>,
    pub level: Level,
    pub grade: Grade,
    pub annual_fen: i64,
    pub cadence: Cadence,
    pub last_visit: Option<String>,
    pub open_follow_ups: usize,
    pub conflicts: bool,
    /// From the index: the document is not read yet.
    pub from_index: bool,
}

impl ListRow {
    /// The line of a customer whose document is read.
    pub fn of_row(r: &Row) -> ListRow {
        ListRow {
            doc_id: r.doc_id.clone(),
            name: r.customer.name.clone(),
            credit_code: r.customer.credit_code.clone(),
            lines: r.customer.lines.clone(),
            level: r.level,
            grade: r.grade,
            annual_fen: r.annual_fen,
            cadence: r.cadence,
            last_visit: r.customer.last_visit().map(str::to_string),
            open_follow_ups: r.open_follow_ups,
            conflicts: !r.conflicts.is_empty(),
            from_index: false,
        }
    }

    /// The line of a customer from its index entry, assessed as
    /// [`Row::of`] assesses a document (the same shared rules).
    pub fn of_entry(doc_id: &str, e: &Entry, rules: &Rules, now_ms: i64) -> ListRow {
        let ledger: Vec<LedgerEntry> = e
            .ledger
            .iter()
            .map(|(month, line, amount_fen, disbursed_fen)| LedgerEntry {
                month: month.clone(),
                line: Line::parse(line),
                amount_fen: *amount_fen,
                disbursed_fen: *disbursed_fen,
                ..LedgerEntry::default()
            })
            .collect();
        let assessed = grading::assess(&ledger, &calendar::month_of(now_ms), &rules.grading);
        ListRow {
            doc_id: doc_id.to_string(),
            name: e.name.clone(),
            credit_code: e.credit_code.clone(),
            lines: e.lines.iter().map(|l| Line::parse(l)).collect(),
            level: assessed.level,
            grade: assessed.grade,
            annual_fen: assessed.annual_fen,
            cadence: visits::cadence_since(
                e.last_visit.as_deref(),
                &e.registered_on,
                &calendar::day_of(now_ms),
            ),
            last_visit: e.last_visit.clone(),
            open_follow_ups: e.open_follow_ups,
            conflicts: e.conflicts,
            from_index: true,
        }
    }
}
