//! The ledger's authority (docs/domain.md): what grades customers and scores
//! managers is the server's own record of the ledger as heads and the center
//! imported it (`ledger_official`), never what a document says — anyone who
//! may write a customer's document could write revenue into it. A customer
//! the server assigned (an import, the demo, an earlier release's data) has
//! its document's ledger, estimates aside, adopted once, at its first
//! projection under this rule (`ledger_adopted`); a customer registered from
//! a tablet starts with none.

use std::collections::BTreeMap;

use crate::store::sql::{Connection, OptionalExtension, params};
use fieldbook_shared::customer::LedgerEntry;
use fieldbook_shared::vocab::Line;

use crate::error::ServerError;

/// The official entries of `doc`, or `None` if its ledger was never adopted.
pub fn official_of(c: &Connection, doc: &str) -> Result<Option<Vec<LedgerEntry>>, ServerError> {
    let adopted: Option<i64> = c
        .prepare_cached("SELECT 1 FROM ledger_adopted WHERE doc_id = ?1")?
        .query_row([doc], |r| r.get(0))
        .optional()?;
    if adopted.is_none() {
        return Ok(None);
    }
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM ledger_official WHERE doc_id = ?1 ORDER BY month, line"
    ))?;
    let rows = stmt
        .query_map([doc], |r| entry_at(r, 0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(rows))
}

/// The columns of `ledger_official` an entry is read from, in [`entry_at`]'s order.
pub const ENTRY_COLUMNS: &str = "month, line, amount_fen, disbursed_fen, cross_city_fen";

/// An official entry from [`ENTRY_COLUMNS`] selected from column `at` on.
pub fn entry_at(r: &crate::store::sql::Row, at: usize) -> crate::store::sql::Result<LedgerEntry> {
    Ok(LedgerEntry {
        month: r.get(at)?,
        line: Line::parse(&r.get::<_, String>(at + 1)?),
        amount_fen: r.get(at + 2)?,
        disbursed_fen: r.get(at + 3)?,
        cross_city_fen: r.get(at + 4)?,
        estimate: false,
    })
}

/// Writes `entries` as official for `doc` (a month and line again replaces
/// it). `by`: who imported them (`None`: adopted).
fn put(
    c: &Connection,
    doc: &str,
    entries: &[LedgerEntry],
    by: Option<i64>,
) -> Result<(), ServerError> {
    // The same month and line twice in one list: the last counts, as in the document.
    let mut last: BTreeMap<(&str, &str), &LedgerEntry> = BTreeMap::new();
    for e in entries.iter().filter(|e| !e.estimate) {
        last.insert((e.month.as_str(), e.line.as_str()), e);
    }
    let mut ins = c.prepare_cached(
        "INSERT OR REPLACE INTO ledger_official
         (doc_id, month, line, amount_fen, disbursed_fen, cross_city_fen, recorded_by, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for ((month, line), e) in last {
        ins.execute(params![
            doc,
            month,
            line,
            e.amount_fen,
            e.disbursed_fen,
            e.cross_city_fen,
            by,
            crate::now()
        ])?;
    }
    Ok(())
}

/// Adopts `entries` as `doc`'s official ledger (once).
pub fn adopt(c: &Connection, doc: &str, entries: &[LedgerEntry]) -> Result<(), ServerError> {
    put(c, doc, entries, None)?;
    c.execute(
        "INSERT OR IGNORE INTO ledger_adopted (doc_id, adopted_at) VALUES (?1, ?2)",
        params![doc, crate::now()],
    )?;
    Ok(())
}

/// Records a head's or the center's ledger import.
pub fn record_import(
    c: &mut Connection,
    rows: &[(String, Vec<LedgerEntry>)],
    by: i64,
) -> Result<(), ServerError> {
    let tx = c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
    for (doc, entries) in rows {
        put(&tx, doc, entries, Some(by))?;
        // The grades read this record, which the document's heads do not
        // show (figures imported again unchanged leave them where they
        // were): marked for projection with it.
        tx.execute(
            "INSERT OR IGNORE INTO dirty_docs (doc_id) VALUES (?1)",
            [doc],
        )?;
    }
    tx.commit()?;
    Ok(())
}
