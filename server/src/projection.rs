//! Projects stored customer documents into relational tables, and turns a new
//! customer document into a registration (报备).
//!
//! The wing: `books` (each user's book document, rewritten from the tables),
//! `managed` (the managed-as tiers and alerts), `registration` (the 报备 rule).
//!
//! Storage marks a document dirty in the same transaction that stores its change,
//! so a crash between the two never leaves a projection behind for good: dirty
//! documents are projected again at start-up.

use std::collections::BTreeSet;

use fieldbook_shared::SchemaError;
use fieldbook_shared::access::Assignment;
use fieldbook_shared::anomaly;
use fieldbook_shared::customer::Outline;
use fieldbook_shared::grading::{self, Grade};
use rusqlite::{OptionalExtension, params};
use samod::DocumentId;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::error::ServerError;
use crate::now;
use crate::state::AppState;

pub mod books;
pub mod managed;
pub mod registration;

/// Projects dirty documents as their changes are committed, until the repo stops.
pub async fn run(state: AppState, mut changed: UnboundedReceiver<String>) {
    let leftover: Vec<String> = state
        .db
        .call(|c| {
            let mut stmt = c.prepare("SELECT doc_id FROM dirty_docs")?;
            let ids = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(ids)
        })
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot read the projection queue");
            Vec::new()
        });
    state.bulk_mark(&leftover);
    let mut failed = project_all(&state, leftover.into_iter().collect()).await;
    // Tiers from before this version (or a crash mid-way) are brought up to date.
    if let Err(e) = managed::refresh(&state).await {
        tracing::error!(error = %e, "could not update the managed-as tiers");
    }
    let mut delay = RETRY_FIRST;
    // Grades and alerts are "as of the last complete month": when the month
    // turns, every customer is projected again.
    let mut month_check = tokio::time::interval(MONTH_CHECK);
    let mut next_batch = tokio::time::Instant::now();
    loop {
        let batch = tokio::select! {
            _ = month_check.tick() => {
                if let Err(e) = ensure_current(&state).await {
                    tracing::error!(error = %e, "could not check for a new month");
                }
                continue;
            }
            next = changed.recv() => {
                let Some(first) = next else { return };
                // Busy: gather changes for a while, so a document being edited
                // again and again is read once for many changes, not once each
                // (reading a customer was half the server's CPU in a visit storm).
                // Idle: a change is projected at once.
                tokio::time::sleep_until(next_batch).await;
                let mut batch = BTreeSet::from([first]);
                while let Ok(more) = changed.try_recv() {
                    batch.insert(more);
                }
                batch
            }
            // Failed documents are tried again with back-off (a busy database, a
            // document still arriving), so no registration waits for the next edit.
            _ = tokio::time::sleep(delay), if !failed.is_empty() => {
                delay = (delay * 2).min(RETRY_MAX);
                std::mem::take(&mut failed)
            }
        };
        let started = tokio::time::Instant::now();
        let again = project_all(&state, batch).await;
        // Rest at least twice as long as the batch took, so that however large
        // the documents grow, projecting keeps to about a third of one core.
        next_batch = tokio::time::Instant::now() + GATHER.max(started.elapsed() * 2);
        if again.is_empty() && failed.is_empty() {
            delay = RETRY_FIRST;
        }
        failed.extend(again);
    }
}

/// The least time from the end of one batch of projections to the start of
/// the next (more when batches take long): how far behind the lists and
/// reports may fall while documents keep changing.
const GATHER: std::time::Duration = std::time::Duration::from_millis(500);
const MONTH_CHECK: std::time::Duration = std::time::Duration::from_secs(600);
const RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(200);
const RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(30);

/// Projects each document; returns those that failed. When a customer's
/// revenue changed, the city's managed-as tiers are worked out again.
async fn project_all(state: &AppState, docs: BTreeSet<String>) -> BTreeSet<String> {
    let mut failed = BTreeSet::new();
    let mut standings_changed = false;
    // Registered customers are projected many to a transaction (one commit,
    // one fsync); new registrations and other documents one by one.
    let (registered, single): (Vec<String>, Vec<String>) = docs
        .into_iter()
        .partition(|d| !state.acl.is_server_written(d) && state.acl.assignment(d).is_some());
    // Books are refreshed once at the end, not after every chunk: each refresh
    // looks through every customer.
    let mut books_to_refresh = BTreeSet::new();
    for chunk in registered.chunks(CHUNK) {
        match project_registered(state, chunk).await {
            Ok(out) => {
                standings_changed |= out.standing_changed;
                failed.extend(out.failed);
                books_to_refresh.extend(out.books_to_refresh);
            }
            Err(e) => {
                // One transaction: nothing of the chunk was written.
                tracing::error!(error = %e, docs = chunk.len(), "projection failed; it will be retried");
                failed.extend(chunk.iter().cloned());
            }
        }
    }
    for user in books_to_refresh {
        if let Err(e) = books::refresh_user(state, user).await {
            tracing::error!(error = %e, user, "could not update a manager's book after a re-projection");
        }
    }
    for doc in single {
        match project(state, &doc).await {
            Ok(Projected::Customer {
                standing_changed, ..
            }) => standings_changed |= standing_changed,
            Ok(Projected::Other) => {}
            Err(e) => {
                tracing::error!(error = %e, doc = %doc, "projection failed; it will be retried");
                failed.insert(doc);
            }
        }
    }
    if standings_changed && let Err(e) = managed::refresh(state).await {
        tracing::error!(error = %e, "could not update the managed-as tiers");
    }
    failed
}

/// Projects `docs` now, for a caller that answers only once they are visible
/// in the lists, reports and lookups (an import). A document that fails is
/// tried twice more; one that still fails stays queued for the background
/// projector and the caller is told.
pub async fn project_now(state: &AppState, docs: Vec<String>) -> Result<(), ServerError> {
    let mut left: BTreeSet<String> = docs.into_iter().collect();
    for attempt in 0..3 {
        if attempt > 0 {
            tokio::time::sleep(RETRY_FIRST * attempt).await;
        }
        left = project_all(state, left).await;
        if left.is_empty() {
            return Ok(());
        }
    }
    Err(ServerError::Internal(format!(
        "{} imported customers are stored but not yet listed; they will be shortly",
        left.len()
    )))
}

/// Registered customers projected in one transaction: one commit (and fsync)
/// for this many instead of three each.
const CHUNK: usize = 256;

/// What projecting a chunk of registered customers came to.
struct Chunk {
    failed: Vec<String>,
    standing_changed: bool,
    /// Managers whose registrations' outcome changed: their books need it.
    books_to_refresh: BTreeSet<i64>,
}

/// Projects registered customers, all in one transaction: index rows,
/// registration rule and dirty marks. Documents that cannot be read stay dirty
/// and are returned as failed.
async fn project_registered(state: &AppState, docs: &[String]) -> Result<Chunk, ServerError> {
    let ids = docs.to_vec();
    let projected: std::collections::HashMap<String, String> = state
        .db
        .call(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT heads FROM customer_index WHERE doc_id = ?1")?;
            let mut out = std::collections::HashMap::new();
            for d in ids {
                let heads: Option<String> = stmt.query_row([&d], |r| r.get(0)).optional()?;
                out.insert(d, heads.unwrap_or_default());
            }
            Ok(out)
        })
        .await?;
    let mut failed = Vec::new();
    let mut customers = Vec::new();
    let mut others = Vec::new();
    for doc_id in docs {
        let since = projected.get(doc_id).cloned().unwrap_or_default();
        let read = match source_of(state, doc_id).await {
            Ok(source) => source.read_apart(since).await,
            Err(e) => Err(e),
        };
        let (customer, heads, changes) = match read {
            Ok(read) => read,
            Err(e) => {
                tracing::error!(error = %e, doc = %doc_id, "projection failed; it will be retried");
                failed.push(doc_id.clone());
                continue;
            }
        };
        let Some(a) = state.acl.assignment(doc_id) else {
            failed.push(doc_id.clone());
            continue;
        };
        match customer {
            Ok(c) => {
                let senders = crate::history::senders(state, doc_id, &changes);
                let index = Index::of(state, doc_id, &c, heads, changes, senders);
                customers.push((index, a.unit, c));
            }
            Err(SchemaError::WrongType { .. }) => others.push(doc_id.clone()),
            Err(e) => {
                tracing::error!(error = %e, doc = %doc_id, "projection failed; it will be retried");
                failed.push(doc_id.clone());
            }
        }
    }
    let done: Vec<String> = customers
        .iter()
        .map(|(i, _, _)| i.doc.clone())
        .chain(others.iter().cloned())
        .collect();
    let (standing_changed, decided) = state
        .db
        .call(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut standing_changed = false;
            let mut decided = Vec::new();
            for (index, unit, c) in &customers {
                standing_changed |= index.write(&tx)?;
                decided.extend(registration::record(&tx, &index.doc, unit, &c.into())?);
                tx.execute("DELETE FROM dirty_docs WHERE doc_id = ?1", [&index.doc])?;
            }
            for d in &others {
                tx.execute("DELETE FROM dirty_docs WHERE doc_id = ?1", [d])?;
            }
            tx.commit()?;
            Ok((standing_changed, decided))
        })
        .await?;
    {
        let mut bulk = state.bulk.lock().unwrap_or_else(|e| e.into_inner());
        for d in &done {
            bulk.remove(d);
        }
    }
    Ok(Chunk {
        failed,
        standing_changed,
        books_to_refresh: decided
            .iter()
            .filter_map(|d| state.acl.assignment(d).map(|a| a.primary))
            .collect(),
    })
}

/// Marks every customer for projection again (new rules, a new month) and
/// queues them; the marks are durable, so a restart finishes the work.
pub async fn reproject_all(state: &AppState) -> Result<(), ServerError> {
    let docs: Vec<String> = state
        .db
        .call(|c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT OR IGNORE INTO dirty_docs (doc_id) SELECT doc_id FROM customers",
                [],
            )?;
            let docs = {
                let mut stmt = tx.prepare("SELECT doc_id FROM customers")?;
                stmt.query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            };
            tx.commit()?;
            Ok(docs)
        })
        .await?;
    state.bulk_mark(&docs);
    for d in docs {
        let _ = state.changed.send(d);
    }
    Ok(())
}

/// Projects everything again when the projections were made in another
/// calendar month or under other rules. Answers whether it did.
pub async fn ensure_current(state: &AppState) -> Result<bool, ServerError> {
    let month = crate::this_month();
    let basis = format!("{month} {}", state.rules.get().to_tablet_json());
    let stale = state
        .db
        .call(move |c| {
            let last: Option<String> = c
                .query_row(
                    "SELECT value FROM settings WHERE key = 'projected_with'",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            if last.as_deref() == Some(basis.as_str()) {
                return Ok(false);
            }
            c.execute(
                "INSERT INTO settings (key, value) VALUES ('projected_with', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [&basis],
            )?;
            Ok(true)
        })
        .await?;
    if stale {
        tracing::info!(%month, "a new month or new rules: projecting every customer again");
        reproject_all(state).await?;
    }
    Ok(stale)
}

/// What a stored document turned out to be.
#[derive(Debug, PartialEq)]
pub enum Projected {
    Customer {
        newly_registered: bool,
        /// Its revenue figures differ from the last projection.
        standing_changed: bool,
    },
    Other,
}

/// Where a projection reads its document from.
enum Source {
    /// Straight from storage (bulk work: the repo would keep it loaded).
    Stored(Box<automerge::Automerge>),
    /// The repo's open copy (it has just changed, so it is loaded anyway).
    Open(samod::DocHandle),
}

/// What `Source::read` returns: the customer, its heads, the changes since.
type Read = (Result<Outline, SchemaError>, String, Vec<(String, String)>);

impl Source {
    /// `read` on a blocking thread: reading a large customer takes milliseconds,
    /// and a batch of them on a runtime worker held up the sync tasks queued
    /// behind it (the tail of the visit storm's latency).
    async fn read_apart(self, since: String) -> Result<Read, ServerError> {
        tokio::task::spawn_blocking(move || self.read(&since))
            .await
            .map_err(|e| {
                ServerError::Internal(format!("reading a document to project it failed: {e}"))
            })
    }

    /// The customer in it, its heads, and the changes since `since` (heads as
    /// last projected).
    fn read(&self, since: &str) -> Read {
        let read = |d: &automerge::Automerge| {
            (
                Outline::load(d),
                heads_of(d),
                crate::history::new_changes(d, since),
            )
        };
        match self {
            Source::Stored(d) => read(d),
            Source::Open(handle) => handle.with_document(|d| read(d)),
        }
    }
}

/// Where to read `doc_id` from: storage when it was queued in bulk (the repo
/// would keep it loaded), else the repo's open copy (it has just changed, so
/// it is loaded anyway).
async fn source_of(state: &AppState, doc_id: &str) -> Result<Source, ServerError> {
    let bulk = state
        .bulk
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(doc_id);
    let not_stored = || {
        ServerError::Internal(format!(
            "document {doc_id} is marked changed but is not stored"
        ))
    };
    if bulk {
        let d = state.storage.load_document(doc_id).await?;
        Ok(Source::Stored(Box::new(d.ok_or_else(not_stored)?)))
    } else {
        let id: DocumentId = doc_id
            .parse()
            .map_err(|_| ServerError::Internal(format!("bad document id {doc_id}")))?;
        Ok(Source::Open(
            state.repo.find(id).await?.ok_or_else(not_stored)?,
        ))
    }
}

/// Brings the tables up to date with one stored document.
pub async fn project(state: &AppState, doc_id: &str) -> Result<Projected, ServerError> {
    if state.acl.is_server_written(doc_id) {
        clear_dirty(state, doc_id).await?;
        return Ok(Projected::Other);
    }
    let source = source_of(state, doc_id).await?;
    state
        .bulk
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(doc_id);
    let d = doc_id.to_string();
    let projected_heads: String = state
        .db
        .call(move |c| {
            Ok(c.query_row(
                "SELECT heads FROM customer_index WHERE doc_id = ?1",
                [d],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or_default())
        })
        .await?;
    let (loaded, heads, changes) = source.read_apart(projected_heads).await?;
    let customer = match loaded {
        Ok(c) => c,
        Err(SchemaError::WrongType { found, .. }) => {
            tracing::debug!(doc = %doc_id, r#type = %found, "stored document is not a customer; not projected");
            clear_dirty(state, doc_id).await?;
            return Ok(Projected::Other);
        }
        Err(e) => {
            // Unreadable right now (for example, only half of it has arrived): keep it dirty.
            return Err(e.into());
        }
    };
    // Indexed before it is registered, so the API never lists a customer
    // without its name; the dirty mark goes last, so a failure anywhere is retried.
    let senders = crate::history::senders(state, doc_id, &changes);
    let index = Index::of(state, doc_id, &customer, heads, changes, senders);
    let standing_changed = write_index(state, index).await?;
    let newly_registered = match state.acl.assignment(doc_id) {
        Some(_) => false,
        None => match state.acl.claimant(doc_id) {
            Some(user) => {
                register(state, doc_id, user, &customer).await?;
                true
            }
            None => {
                tracing::warn!(doc = %doc_id, "customer document with no holder; not registered");
                false
            }
        },
    };
    if newly_registered {
        books::refresh_for_customer(state, doc_id).await?;
    }
    if let Some(a) = state.acl.assignment(doc_id) {
        record_registration(state, doc_id, a.unit, customer).await?;
    }
    clear_dirty(state, doc_id).await?;
    Ok(Projected::Customer {
        newly_registered,
        standing_changed,
    })
}

/// Numbers the registration in receipt order (once) and applies the
/// first-to-register rule to its group; the managers whose registrations'
/// outcome changed get it in their books.
async fn record_registration(
    state: &AppState,
    doc_id: &str,
    unit: String,
    c: Outline,
) -> Result<(), ServerError> {
    let doc = doc_id.to_string();
    let changed = state
        .db
        .call(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let changed = registration::record(&tx, &doc, &unit, &(&c).into())?;
            tx.commit()?;
            Ok(changed)
        })
        .await?;
    for d in changed {
        if let Some(a) = state.acl.assignment(&d) {
            books::refresh_user(state, a.primary).await?;
        }
    }
    Ok(())
}

/// Registration (报备): the device's user becomes the primary manager and the
/// customer joins that user's unit; [`record_registration`] then applies the
/// first-to-register rule.
async fn register(
    state: &AppState,
    doc_id: &str,
    user: i64,
    customer: &Outline,
) -> Result<(), ServerError> {
    let doc = doc_id.to_string();
    let unit: String = state
        .db
        .call(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let unit: String = tx.query_row("SELECT unit FROM users WHERE id = ?1", [user], |r| r.get(0))?;
            tx.execute(
                "INSERT OR IGNORE INTO customers (doc_id, primary_user, assistant_user, unit, registered_by, registered_at)
                 VALUES (?1, ?2, NULL, ?3, ?2, ?4)",
                params![doc, user, unit, now()],
            )?;
            tx.execute("DELETE FROM claims WHERE doc_id = ?1", [&doc])?;
            tx.commit()?;
            Ok(unit)
        })
        .await?;
    tracing::info!(doc = %doc_id, user, unit = %unit, name = %customer.name, "customer registered");
    state.acl.set_customer(
        doc_id,
        Assignment {
            primary: user,
            assistant: None,
            unit,
        },
    );
    Ok(())
}

/// Writes the customer's index row, visits and alerts; answers whether its
/// revenue figures (which rank it in the city) changed.
async fn write_index(state: &AppState, index: Index) -> Result<bool, ServerError> {
    state
        .db
        .call(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let standing_changed = index.write(&tx)?;
            tx.commit()?;
            Ok(standing_changed)
        })
        .await
}

/// Everything a customer's projection writes, worked out before the
/// transaction that writes it.
struct Index {
    doc: String,
    details: Details,
    visits: Vec<(String, String, String, String)>,
    this_month: String,
    /// annual revenue, proposed level, proposed grade
    grades: (i64, &'static str, &'static str),
    cross_city: i64,
    alerts: Vec<(String, String)>,
    /// name, credit code, nature, lines, address, industry, contacts, visits,
    /// last visit, open follow-ups
    #[allow(clippy::type_complexity)]
    row: (
        String,
        String,
        String,
        String,
        String,
        String,
        i64,
        i64,
        Option<String>,
        i64,
    ),
    heads: String,
    changes: Vec<(String, String)>,
    senders: crate::history::Senders,
}

impl Index {
    fn of(
        state: &AppState,
        doc_id: &str,
        c: &Outline,
        heads: String,
        changes: Vec<(String, String)>,
        senders: crate::history::Senders,
    ) -> Index {
        let lines = c
            .lines
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let open_follow_ups = c
            .visits
            .iter()
            .flat_map(|v| &v.follow_ups)
            .filter(|f| !f.closed)
            .count() as i64;
        let visits = c
            .visits
            .iter()
            .filter(|v| !v.id.is_empty())
            .map(|v| {
                (
                    v.id.clone(),
                    v.date.clone(),
                    v.kind.as_str().to_string(),
                    v.visitors.join(","),
                )
            })
            .collect();
        let this_month = crate::this_month();
        let rules = state.rules.get();
        let (annual, disbursed) = grading::annual(&c.ledger, &this_month);
        let t = &rules.grading;
        let alerts = anomaly::alerts(&c.ledger, &this_month, &rules.anomaly)
            .into_iter()
            .map(|a| {
                (
                    a.kind().to_string(),
                    serde_json::to_string(&a).unwrap_or_default(),
                )
            })
            .collect();
        Index {
            doc: doc_id.to_string(),
            details: Details::of(c),
            visits,
            grades: (
                annual,
                grading::level(annual, disbursed, t).as_str(),
                grading::grade(annual, t).as_str(),
            ),
            cross_city: grading::annual_cross_city(&c.ledger, &this_month),
            this_month,
            alerts,
            row: (
                c.name.clone(),
                c.credit_code.clone(),
                c.nature.as_str().to_string(),
                lines,
                c.address.clone(),
                c.industry.clone(),
                c.contacts.len() as i64,
                c.visits.len() as i64,
                c.last_visit().map(str::to_string),
                open_follow_ups,
            ),
            heads,
            changes,
            senders,
        }
    }

    /// Writes it in `tx`; answers whether the revenue figures changed.
    fn write(&self, tx: &rusqlite::Transaction) -> rusqlite::Result<bool> {
        let (doc, row, grades) = (&self.doc, &self.row, self.grades);
        let before: Option<(i64, i64, String, String, i64, String, i64)> = tx
            .query_row(
                "SELECT annual_revenue_fen, cross_city_fen, managed_as, managed_why, managed_rank, heads, last_change_ms
                 FROM customer_index WHERE doc_id = ?1",
                [doc],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
            )
            .optional()?;
        // When the content last changed, as the server saw it arrive.
        let last_change_ms = match &before {
            Some(b) if b.5 == self.heads => b.6,
            _ => chrono::Utc::now().timestamp_millis(),
        };
        let standing_changed = before
            .as_ref()
            .is_none_or(|b| (b.0, b.1) != (grades.0, self.cross_city));
        // The managed-as tier is the city's business (managed::refresh); keep it.
        let managed = before
            .map(|b| (b.2, b.3, b.4))
            .unwrap_or_else(|| (grades.2.to_string(), "threshold".into(), 0));
        tx.execute(
            "INSERT OR REPLACE INTO customer_index
             (doc_id, name, credit_code, nature, lines, address, industry, contacts, visit_count, last_visit, open_follow_ups, projected_at,
              annual_revenue_fen, level_proposed, grade_proposed, cross_city_fen, managed_as, managed_why, managed_rank, last_change_ms, heads)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
            params![doc, row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9, now(), grades.0, grades.1, grades.2,
                    self.cross_city, managed.0, managed.1, managed.2, last_change_ms, self.heads],
        )?;
        self.details.write(tx, doc)?;
        crate::history::record(tx, doc, &self.changes, &self.senders)?;
        tx.execute("DELETE FROM alerts WHERE doc_id = ?1", [doc])?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO alerts (doc_id, n, kind, alert, month) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (n, (kind, json)) in self.alerts.iter().enumerate() {
                ins.execute(params![doc, n as i64, kind, json, self.this_month])?;
            }
        }
        tx.execute("DELETE FROM visit_index WHERE doc_id = ?1", [doc])?;
        let mut ins = tx.prepare_cached(
            "INSERT OR REPLACE INTO visit_index (doc_id, visit_id, date, kind, visitors) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for v in &self.visits {
            ins.execute(params![doc, v.0, v.1, v.2, v.3])?;
        }
        Ok(standing_changed)
    }
}

/// The document's heads, as stored to tell a new version from a re-projection.
/// (Change timestamps are not used: Rust peers commit with time 0.)
fn heads_of(doc: &automerge::Automerge) -> String {
    let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    heads.sort();
    heads.join(",")
}

/// What the reports read besides the index row: revenue by month, complaints,
/// plans and agreements.
struct Details {
    /// month -> revenue in fen (all lines).
    ledger: std::collections::BTreeMap<String, i64>,
    /// (id, status, steps as JSON [[status, on]...], satisfaction, task force)
    complaints: Vec<(String, String, String, i64, bool)>,
    /// (year, target in fen)
    plans: Vec<(String, i64)>,
    /// (id, number, end, status)
    agreements: Vec<(String, String, String, String)>,
}

impl Details {
    fn of(c: &Outline) -> Details {
        let mut ledger = std::collections::BTreeMap::new();
        for e in &c.ledger {
            *ledger.entry(e.month.clone()).or_insert(0i64) += e.amount_fen;
        }
        Details {
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
                    (
                        k.id.clone(),
                        k.status.clone(),
                        serde_json::to_string(&steps).unwrap_or_default(),
                        k.satisfaction,
                        k.task_force,
                    )
                })
                .collect(),
            plans: c
                .plans
                .iter()
                .map(|p| (p.year.clone(), p.target_revenue_fen))
                .collect(),
            agreements: c
                .agreements
                .iter()
                .map(|a| {
                    (
                        a.id.clone(),
                        a.number.clone(),
                        a.end.clone(),
                        a.status.clone(),
                    )
                })
                .collect(),
        }
    }

    fn write(&self, tx: &rusqlite::Transaction, doc: &str) -> rusqlite::Result<()> {
        for table in [
            "ledger_index",
            "complaint_index",
            "plan_index",
            "agreement_index",
        ] {
            tx.execute(&format!("DELETE FROM {table} WHERE doc_id = ?1"), [doc])?;
        }
        let mut ins = tx.prepare_cached(
            "INSERT INTO ledger_index (doc_id, month, amount_fen) VALUES (?1, ?2, ?3)",
        )?;
        for (month, fen) in &self.ledger {
            ins.execute(params![doc, month, fen])?;
        }
        let mut ins = tx.prepare_cached(
            "INSERT OR REPLACE INTO complaint_index (doc_id, complaint_id, status, steps, satisfaction, task_force)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for k in &self.complaints {
            ins.execute(params![doc, k.0, k.1, k.2, k.3, k.4])?;
        }
        let mut ins = tx.prepare_cached(
            "INSERT OR REPLACE INTO plan_index (doc_id, year, target_fen) VALUES (?1, ?2, ?3)",
        )?;
        for p in &self.plans {
            ins.execute(params![doc, p.0, p.1])?;
        }
        let mut ins = tx.prepare_cached(
            "INSERT OR REPLACE INTO agreement_index (doc_id, agreement_id, number, end_date, status)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut approved = tx.prepare_cached(
            "SELECT 1 FROM agreement_approvals WHERE doc_id = ?1 AND agreement_id = ?2",
        )?;
        // The grade in force: a person's decision, else the rules' proposal.
        let grade: String = tx.query_row(
            "SELECT COALESCE((SELECT grade FROM grade_approvals WHERE doc_id = ?1),
                             (SELECT grade_proposed FROM customer_index WHERE doc_id = ?1), 'none')",
            [doc],
            |r| r.get(0),
        )?;
        let grade = Grade::ALL
            .into_iter()
            .find(|g| g.as_str() == grade)
            .unwrap_or(Grade::None);
        for a in &self.agreements {
            let status = agreement_status(&a.3, grade, approved.exists(params![doc, a.0])?);
            ins.execute(params![doc, a.0, a.1, a.2, status])?;
        }
        Ok(())
    }
}

/// An agreement's status as the server records it: the document's word for
/// what a manager may decide (a draft, a termination), the server's own
/// approvals table for what needs a head (seed 001: platinum and above).
fn agreement_status(in_document: &str, grade: Grade, approved: bool) -> &str {
    match in_document {
        "terminated" => "terminated",
        _ if approved => "active",
        "active" if grade >= Grade::Platinum => "pending_approval",
        other => other,
    }
}

async fn clear_dirty(state: &AppState, doc_id: &str) -> Result<(), ServerError> {
    let doc = doc_id.to_string();
    state
        .db
        .call(move |c| {
            Ok(c.execute("DELETE FROM dirty_docs WHERE doc_id = ?1", [doc])
                .map(|_| ())?)
        })
        .await
}
