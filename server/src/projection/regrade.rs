//! A new month or new rules change only what the server works out from its
//! own tables: a customer's grade, its revenue alerts and its agreements'
//! statuses come from the official ledger (`ledger_official`), the approvals
//! and the rules, not from the document. So either is applied here from the
//! tables, a thousand customers to a transaction, instead of reading every
//! document again: for 100,000 customers that took over three minutes.
//!
//! A customer whose ledger was never adopted (its first projection has not
//! happened) or with a change not yet projected is projected in full instead:
//! its projection reads the rules in force.

use std::collections::{HashMap, HashSet};

use crate::store::sql::{Connection, TransactionBehavior, params};
use fieldbook_shared::customer::LedgerEntry;

use super::ledger;
use super::plan::Graded;
use super::writer;
use crate::error::ServerError;
use crate::state::AppState;

/// Customers per transaction: long enough to read the tables by range,
/// short enough that a visit's projection waits little for the lock.
const CHUNK: usize = 1_000;

/// One pass at a time: two passes under different rules, the older
/// finishing last, would leave the older rules' grades.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What a pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Regraded {
    /// Customers worked out from the tables.
    pub customers: usize,
    /// Of them, those whose grade, revenue figures, alerts or agreements changed.
    pub changed: usize,
    /// Customers queued for a projection in full instead.
    pub queued: usize,
}

/// Works every customer's grade, alerts and agreement statuses out again
/// under the rules in force and this month; queues for projection those
/// it cannot (see the module's comment).
pub async fn regrade_all(state: &AppState) -> Result<Regraded, ServerError> {
    let _one = ONE_AT_A_TIME.lock().await;
    let rules = state.rules.get();
    let month = crate::this_month();
    let ids: Vec<String> = state
        .db
        .call(|c| {
            let mut stmt = c.prepare(
                "SELECT doc_id FROM customers UNION SELECT doc_id FROM customer_index ORDER BY 1",
            )?;
            let ids = stmt
                .query_map((), |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(ids)
        })
        .await?;
    let mut out = Regraded::default();
    let mut full = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let (chunk, rules, month) = (chunk.to_vec(), rules.clone(), month.clone());
        let (done, changed, queue) = state
            .db
            .call(move |c| regrade_chunk(c, &chunk, &rules, &month))
            .await?;
        out.customers += done;
        out.changed += changed;
        full.extend(queue);
    }
    out.queued = full.len();
    super::requeue(state, full).await?;
    Ok(out)
}

/// One transaction's customers (`chunk`, in the database's order): what was
/// worked out, what changed, what must be projected in full.
fn regrade_chunk(
    c: &mut Connection,
    chunk: &[String],
    rules: &fieldbook_shared::rules::Rules,
    month: &str,
) -> Result<(usize, usize, Vec<String>), ServerError> {
    let (Some(lo), Some(hi)) = (chunk.first(), chunk.last()) else {
        return Ok((0, 0, Vec::new()));
    };
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Each table read once for the chunk's range of ids (the range may hold
    // other documents too: only the chunk's are looked up).
    let range = |sql: &str| sql.replace("RANGE", "doc_id >= ?1 AND doc_id <= ?2");
    type Row = (i64, String, String, i64);
    let indexed: HashMap<String, Row> = {
        let mut stmt = tx.prepare(&range(
            "SELECT doc_id, annual_revenue_fen, level_proposed, grade_proposed, cross_city_fen
             FROM customer_index WHERE RANGE",
        ))?;
        stmt.query_map(params![lo, hi], |r| {
            Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        })?
        .collect::<Result<_, _>>()?
    };
    let ids_in = |sql: &str| -> Result<HashSet<String>, ServerError> {
        let mut stmt = tx.prepare(&range(sql))?;
        Ok(stmt
            .query_map(params![lo, hi], |r| r.get(0))?
            .collect::<Result<_, _>>()?)
    };
    let dirty = ids_in("SELECT doc_id FROM dirty_docs WHERE RANGE")?;
    let adopted = ids_in("SELECT doc_id FROM ledger_adopted WHERE RANGE")?;
    let with_agreements = ids_in("SELECT DISTINCT doc_id FROM agreement_index WHERE RANGE")?;
    let mut ledgers: HashMap<String, Vec<LedgerEntry>> = HashMap::new();
    {
        let mut stmt = tx.prepare(&range(&format!(
            "SELECT doc_id, {} FROM ledger_official WHERE RANGE ORDER BY doc_id, month, line",
            ledger::ENTRY_COLUMNS
        )))?;
        let rows = stmt.query_map(params![lo, hi], |r| {
            Ok((r.get::<_, String>(0)?, ledger::entry_at(r, 1)?))
        })?;
        for row in rows {
            let (doc, entry) = row?;
            ledgers.entry(doc).or_default().push(entry);
        }
    }
    let mut alerts: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
    {
        let mut stmt = tx.prepare(&range(
            "SELECT doc_id, kind, alert, month FROM alerts WHERE RANGE ORDER BY doc_id, n",
        ))?;
        let rows = stmt.query_map(params![lo, hi], |r| {
            Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?, r.get(3)?)))
        })?;
        for row in rows {
            let (doc, alert) = row?;
            alerts.entry(doc).or_default().push(alert);
        }
    }
    let mut set = tx.prepare_cached(
        "UPDATE customer_index SET annual_revenue_fen = ?2, level_proposed = ?3,
         grade_proposed = ?4, cross_city_fen = ?5 WHERE doc_id = ?1",
    )?;
    let (mut done, mut changed, mut full) = (0, 0, Vec::new());
    for doc in chunk {
        if dirty.contains(doc) {
            // Its projection, queued already, reads the rules in force.
            continue;
        }
        let (Some(before), true) = (indexed.get(doc), adopted.contains(doc)) else {
            full.push(doc.clone());
            continue;
        };
        let ledger = ledgers.remove(doc).unwrap_or_default();
        let g = Graded::of(&ledger, rules, month);
        let row: Row = (
            g.annual_revenue_fen,
            g.level.as_str().to_string(),
            g.grade.as_str().to_string(),
            g.cross_city_fen,
        );
        let mut differs = false;
        if &row != before {
            set.execute(params![doc, row.0, row.1, row.2, row.3])?;
            differs = true;
        }
        let now: Vec<(String, String, String)> = g
            .alerts
            .iter()
            .map(|(k, a)| (k.clone(), a.clone(), month.to_string()))
            .collect();
        if alerts.remove(doc).unwrap_or_default() != now {
            writer::write_alerts(&tx, doc, &g.alerts, month)?;
            differs = true;
        }
        if with_agreements.contains(doc)
            && writer::restatus_agreements(&tx, doc, rules.agreements.approval_from)? > 0
        {
            differs = true;
        }
        done += 1;
        changed += usize::from(differs);
    }
    drop(set);
    tx.commit()?;
    Ok((done, changed, full))
}
