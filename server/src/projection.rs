//! Projects stored customer documents into relational tables, and turns a new
//! customer document into a registration (报备).
//!
//! One pipeline ([`project_batch`]): read, plan (`plan.rs`, pure: outline +
//! rules + month → rows), write a batch in one transaction (`writer.rs`). The
//! wing besides: `books` (each user's book document, rewritten from the
//! tables), `managed` (the managed-as tiers), `registration` (the
//! first-to-register rule).
//!
//! Storage marks a document dirty in the same transaction that stores its change,
//! so a crash between the two never leaves a projection behind for good: dirty
//! documents are projected again at start-up.

use futures::StreamExt;
use std::collections::BTreeSet;

use crate::store::sql::{OptionalExtension, params};
use fieldbook_shared::SchemaError;
use fieldbook_shared::access::Assignment;
use fieldbook_shared::customer::{LedgerEntry, Outline};
use samod::DocumentId;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::error::ServerError;
use crate::now;
use crate::state::AppState;

pub mod books;
pub mod ledger;
pub mod managed;
pub mod plan;
pub mod registration;
pub mod regrade;
pub mod writer;

use plan::Plan;

/// Projects dirty documents as their changes are committed, until the repo stops.
/// Of several nodes on PostgreSQL only the one holding the projector's lock
/// projects (`cluster.rs`); the others wait, dropping what they hear (the
/// queue is durable: the projecting node reads it).
pub async fn run(state: AppState, mut changed: UnboundedReceiver<String>) {
    let Some(cluster) = state.cluster.clone() else {
        project_until(&state, &mut changed, None).await;
        return;
    };
    loop {
        while !cluster.is_projector() {
            tokio::select! {
                next = changed.recv() => if next.is_none() { return },
                _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {}
            }
        }
        if !project_until(&state, &mut changed, Some(&cluster)).await {
            return;
        }
    }
}

/// How often the projecting node of a cluster reads the durable queue: what
/// other nodes marked (a rule change, an import) and what it did not hear of.
const QUEUE_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// Projects until the repo stops (false) or, in a cluster, this node no
/// longer holds the projector's lock (true).
async fn project_until(
    state: &AppState,
    changed: &mut UnboundedReceiver<String>,
    cluster: Option<&crate::cluster::Cluster>,
) -> bool {
    let state = state.clone();
    // Projections of another month, other rules or another release's
    // tables (or none recorded: a new or restored database) are dealt with
    // first, so that what this queues is projected once, with the rest.
    // The tiers and the books follow the queue, below and in `app.rs`.
    if let Err(e) = ensure_current(&state).await {
        tracing::error!(error = %e, "could not check how the projections were made");
    }
    // What was announced so far is marked in the queue read next (storage
    // marks a document in the commit that stores it, and announces it
    // after): announced again, every customer queued just now would be
    // projected a second time after the queue.
    while changed.try_recv().is_ok() {}
    let leftover: Vec<String> = dirty(&state).await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot read the projection queue");
        Vec::new()
    });
    state.bulk_mark(&leftover);
    let (queued, t) = (leftover.len(), std::time::Instant::now());
    let mut failed = project_all(&state, leftover.into_iter().collect(), None).await;
    if queued > 0 {
        tracing::info!(
            documents = queued,
            failed = failed.len(),
            secs = t.elapsed().as_secs_f64(),
            "projected what was queued at start"
        );
    }
    // Tiers from before this version (or a crash mid-way) are brought up to date.
    let t = std::time::Instant::now();
    match managed::refresh(&state).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            customers = n,
            secs = t.elapsed().as_secs_f64(),
            "managed-as tiers brought up to date"
        ),
        Err(e) => tracing::error!(error = %e, "could not update the managed-as tiers"),
    }
    // Customers approved by an earlier release have no number yet.
    match crate::numbers::assign_missing(&state).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(customers = n, "customer numbers given"),
        Err(e) => tracing::error!(error = %e, "could not give customer numbers"),
    }
    let mut delay = RETRY_FIRST;
    // Grades and alerts are "as of the last complete month": when the month
    // turns, every customer is projected again.
    let mut month_check = tokio::time::interval(MONTH_CHECK);
    let mut queue_poll = tokio::time::interval(QUEUE_POLL);
    let mut next_batch = tokio::time::Instant::now();
    loop {
        if cluster.is_some_and(|c| !c.is_projector()) {
            return true;
        }
        let batch = tokio::select! {
            _ = month_check.tick() => {
                let done = match ensure_current(&state).await {
                    Ok(Some(Pass::Regraded)) => after_regrade(&state).await,
                    Ok(_) => Ok(()),
                    Err(e) => Err(e),
                };
                if let Err(e) = done {
                    tracing::error!(error = %e, "could not check for a new month");
                }
                continue;
            }
            _ = queue_poll.tick(), if cluster.is_some() => {
                match dirty(&state).await {
                    Ok(docs) if !docs.is_empty() => docs.into_iter().collect(),
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read the projection queue");
                        continue;
                    }
                }
            }
            next = changed.recv() => {
                let Some(first) = next else { return false };
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
        let again = project_all(&state, batch, None).await;
        // Rest at least twice as long as the batch took, so that however large
        // the documents grow, projecting keeps to about a third of one core.
        next_batch = tokio::time::Instant::now() + GATHER.max(started.elapsed() * 2);
        if again.is_empty() && failed.is_empty() {
            delay = RETRY_FIRST;
        }
        failed.extend(again);
    }
}

/// Who claimed a new document: this node's cache, else the tables (in a
/// cluster another node may have taken the claim).
pub async fn claimant(state: &AppState, doc: &str) -> Option<i64> {
    if let Some(u) = state.acl.claimant(doc) {
        return Some(u);
    }
    // One node: its cache holds every claim.
    state.cluster.as_ref()?;
    let (acl, d) = (state.acl.clone(), doc.to_string());
    state
        .db
        .call(move |c| acl.claimant_stored(c, &d))
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, doc, "cannot read a document's claim");
            None
        })
}

/// Who holds a customer, as the access lists say. One found with none may be
/// an import's, stored before the import registers it: that waits for the
/// imports under way (`AppState::registering`) and asks again, rather than
/// projecting it as nobody's only to project it again at once.
async fn holder_of(state: &AppState, doc: &str) -> Option<Assignment> {
    if let Some(a) = state.acl.assignment(doc) {
        return Some(a);
    }
    drop(state.registering.read().await);
    state.acl.assignment(doc)
}

/// The documents marked for projection.
async fn dirty(state: &AppState) -> Result<Vec<String>, ServerError> {
    state
        .db
        .call(|c| {
            let mut stmt = c.prepare("SELECT doc_id FROM dirty_docs")?;
            let ids = stmt
                .query_map((), |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(ids)
        })
        .await
}

/// The least time from the end of one batch of projections to the start of
/// the next (more when batches take long): how far behind the lists and
/// reports may fall while documents keep changing.
const GATHER: std::time::Duration = std::time::Duration::from_millis(500);
const MONTH_CHECK: std::time::Duration = std::time::Duration::from_secs(600);
const RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(200);
const RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(30);

/// How long an import or a decision waits for its turn
/// (`AppState::projecting`) before projecting beside the background
/// projector's batch under way. A batch takes seconds, the background's
/// share of an import of 1,000 customers longer (waited for, the import
/// finds them projected: more than 5 s in a debug build on a busy machine,
/// and the import projected them again); after an upgrade that projects
/// every customer again a batch takes minutes, and a head's approval would
/// hang until it ended.
const TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Projects each document; returns those that failed. When a customer's
/// revenue changed, the city's managed-as tiers are worked out again. Waits
/// for the turn as long as it takes, or at most `patience`.
async fn project_all(
    state: &AppState,
    docs: BTreeSet<String>,
    patience: Option<std::time::Duration>,
) -> BTreeSet<String> {
    let _turn = match patience {
        None => Some(state.projecting.lock().await),
        Some(wait) => tokio::time::timeout(wait, state.projecting.lock())
            .await
            .ok(),
    };
    let docs: Vec<String> = docs.into_iter().collect();
    let mut failed = BTreeSet::new();
    let mut outcome = Batch::default();
    let mut chunks = docs.chunks(CHUNK);
    // Each chunk is written while the next one is read: reading is decoding
    // on the blocking threads, writing is the database's, and one after the
    // other a cold start used one of two cores.
    let mut ahead = match chunks.next() {
        Some(first) => Some((first, prepare(state, first).await)),
        None => None,
    };
    while let Some((chunk, this)) = ahead.take() {
        let following = chunks.next();
        let (written, next) = futures::join!(
            async {
                match this {
                    Ok(prepared) => commit(state, prepared).await,
                    Err(e) => Err(e),
                }
            },
            async {
                match following {
                    Some(next) => Some((next, prepare(state, next).await)),
                    None => None,
                }
            }
        );
        ahead = next;
        match written {
            Ok(out) => outcome.merge(out),
            // One transaction: nothing of the chunk was written. Each is tried
            // alone, so that one document that cannot be written holds up no
            // other.
            Err(e) if chunk.len() > 1 => {
                tracing::warn!(error = %e, docs = chunk.len(), "a batch of projections failed; projecting them one by one");
                for doc in chunk {
                    match project_batch(state, std::slice::from_ref(doc)).await {
                        Ok(out) => outcome.merge(out),
                        Err(e) => {
                            tracing::error!(error = %e, doc = %doc, "projection failed; it will be retried");
                            failed.insert(doc.clone());
                        }
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, doc = %chunk[0], "projection failed; it will be retried");
                failed.extend(chunk.iter().cloned());
            }
        }
    }
    failed.extend(std::mem::take(&mut outcome.failed));
    tracing::debug!(
        projected = outcome.projected,
        unchanged = outcome.unchanged,
        "customers projected"
    );
    // Books are refreshed once at the end, not after every chunk, and each
    // user's once: each refresh looks through every customer they see.
    outcome
        .books_to_refresh
        .extend(books::users_who_see_any(state, &outcome.registered));
    for user in &outcome.books_to_refresh {
        if let Err(e) = books::refresh_user(state, *user).await {
            tracing::error!(error = %e, user, "could not update a manager's book after a projection");
        }
    }
    if outcome.standing_changed
        && let Err(e) = managed::refresh(state).await
    {
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
        left = project_all(state, left, Some(TURN_WAIT)).await;
        if left.is_empty() {
            return Ok(());
        }
    }
    Err(ServerError::Internal(format!(
        "{} imported customers are stored but not yet listed; they will be shortly",
        left.len()
    )))
}

/// Documents read at once while projecting: the machine's cores, at most 4
/// (the writes are one transaction a batch, whatever this is).
fn readers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
}

/// Documents projected in one transaction: one commit (and fsync) for this
/// many instead of one or more each.
const CHUNK: usize = 256;

/// What projecting a batch came to.
#[derive(Default)]
struct Batch {
    failed: Vec<String>,
    /// Customers projected, and left alone as projected already.
    projected: usize,
    unchanged: usize,
    /// Some customer's revenue figures changed (the city's tiers may move).
    standing_changed: bool,
    /// Customers registered by this batch (报备).
    registered: Vec<String>,
    /// Users whose books show a registration outcome that changed.
    books_to_refresh: BTreeSet<i64>,
}

impl Batch {
    fn merge(&mut self, other: Batch) {
        self.failed.extend(other.failed);
        self.projected += other.projected;
        self.unchanged += other.unchanged;
        self.standing_changed |= other.standing_changed;
        self.registered.extend(other.registered);
        self.books_to_refresh.extend(other.books_to_refresh);
    }
}

/// Who holds a customer document being projected.
enum Holder {
    /// Registered: its unit.
    Known(String),
    /// New: the user whose device sent it registers it (报备).
    New(i64),
    /// Nobody (not claimed: nothing to register).
    Nobody,
}

/// A customer document read and planned, waiting for the transaction.
struct Planned {
    plan: Plan,
    outline: Outline,
    changes: Vec<(String, String)>,
    senders: crate::history::Senders,
    holder: Holder,
    /// The ledger to adopt as official (its first projection under the rule).
    adopt: Option<Vec<LedgerEntry>>,
}

/// The one pipeline, for new and known documents alike: each document is
/// read (off the async threads) and planned (`plan.rs`, pure), then the whole
/// batch is written in one transaction (`writer.rs`): index rows and history
/// records, a new customer's registration (its sender becomes its primary
/// manager and the customer joins their unit), the first-to-register rule
/// (`registration.rs`), and the dirty marks, last. Documents that cannot be
/// read stay dirty and are returned as failed.
async fn project_batch(state: &AppState, docs: &[String]) -> Result<Batch, ServerError> {
    let prepared = prepare(state, docs).await?;
    commit(state, prepared).await
}

/// A batch read and planned, waiting to be written.
struct Prepared {
    out: Batch,
    /// Documents that are not customers (books, desks…): only unmarked.
    others: Vec<String>,
    /// Customers left alone: projected already as they stand.
    unchanged: Vec<String>,
    planned: Vec<Planned>,
    /// What the batch was planned under.
    rules: fieldbook_shared::rules::Rules,
    month: String,
}

/// Reads and plans a batch ([`project_batch`]'s first half). It reads the
/// server's tables through storage's reader connection, not the
/// application's: so the next batch is read while the last one is written
/// (`project_all`), each batch touching only its own customers' rows.
async fn prepare(state: &AppState, docs: &[String]) -> Result<Prepared, ServerError> {
    let mut out = Batch::default();
    let (server_written, customers): (Vec<String>, Vec<String>) = docs
        .iter()
        .cloned()
        .partition(|d| state.acl.is_server_written(d));
    let mut others = server_written;
    let ids = customers.clone();
    type Official = std::collections::HashMap<String, Option<Vec<LedgerEntry>>>;
    // Each customer's heads as last projected, and whether it is marked
    // dirty: read before the document, so a change stored after this read
    // moves the heads the document is then read at.
    type Projected = std::collections::HashMap<String, (String, bool)>;
    let (projected, mut official): (Projected, Official) = state
        .storage
        .read_beside(move |c| {
            let mut stmt =
                c.prepare_cached("SELECT heads FROM customer_index WHERE doc_id = ?1")?;
            let mut marked = c.prepare_cached("SELECT doc_id FROM dirty_docs WHERE doc_id = ?1")?;
            let mut out = std::collections::HashMap::new();
            let mut official = std::collections::HashMap::new();
            for d in ids {
                let heads: Option<String> = stmt.query_row([&d], |r| r.get(0)).optional()?;
                let dirty = marked
                    .query_row([&d], |r| r.get::<_, String>(0))
                    .optional()?
                    .is_some();
                official.insert(d.clone(), ledger::official_of(c, &d)?);
                out.insert(d, (heads.unwrap_or_default(), dirty));
            }
            Ok((out, official))
        })
        .await?;
    let rules = state.rules.get();
    let month = crate::this_month();
    let mut planned = Vec::new();
    let mut unchanged = Vec::new();
    // Documents are read a few at a time: loading and reading one is CPU
    // work off the async threads, and one at a time used one core of the
    // machine's cores while a cold start projected every customer.
    let reads: Vec<(String, Result<Read, ServerError>)> =
        futures::stream::iter(customers.into_iter().map(|doc| {
            let (since, dirty) = projected.get(&doc).cloned().unwrap_or_default();
            // Not dirty and unmoved: projected already as it stands (an
            // import's customers were projected about four times each, by
            // the import and again by the background projector told of the
            // same documents). Safe to leave: whatever else a projection
            // reads (rules, month, decisions, the official ledger) marks
            // the document dirty when it changes, and a change stored while
            // a projection ran, whose mark that projection's commit deleted,
            // moved the heads.
            let unless_at = (!dirty && !since.is_empty()).then(|| since.clone());
            async move {
                let read = match source_of(state, &doc).await {
                    Ok(source) => source.read_apart(since, unless_at).await,
                    Err(e) => Err(e),
                };
                (doc, read)
            }
        }))
        .buffered(readers())
        .collect()
        .await;
    for (doc, read) in reads {
        let (loaded, heads, changes) = match read {
            Ok(Some(read)) => read,
            Ok(None) => {
                unchanged.push(doc);
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, doc = %doc, "projection failed; it will be retried");
                out.failed.push(doc);
                continue;
            }
        };
        let outline = match loaded {
            Ok(o) => o,
            Err(SchemaError::WrongType { found, .. }) => {
                tracing::debug!(doc = %doc, r#type = %found, "stored document is not a customer; not projected");
                // A desk, maybe: its own task reads it.
                let _ = state.desks.send(doc.clone());
                others.push(doc);
                continue;
            }
            Err(e) => {
                // Unreadable right now (for example, only half of it has
                // arrived): it stays dirty.
                tracing::error!(error = %e, doc = %doc, "projection failed; it will be retried");
                out.failed.push(doc);
                continue;
            }
        };
        let holder = match holder_of(state, &doc).await {
            Some(a) => Holder::Known(a.unit),
            None => match claimant(state, &doc).await {
                Some(user) => Holder::New(user),
                None => {
                    tracing::warn!(doc = %doc, "customer document with no holder; not registered");
                    Holder::Nobody
                }
            },
        };
        let senders = crate::history::senders(state, &doc, &changes);
        // The revenue that grades is the server's record, not the document's
        // (projection/ledger.rs): adopted once from a customer the server
        // assigned, none for a tablet's registration.
        let (ledger, adopt) = match (official.remove(&doc).flatten(), &holder) {
            (Some(entries), _) => (entries, None),
            (None, Holder::Known(_)) => {
                let entries = fieldbook_shared::customer::official(&outline.ledger);
                (entries.clone(), Some(entries))
            }
            (None, Holder::New(_)) => (Vec::new(), Some(Vec::new())),
            (None, Holder::Nobody) => (Vec::new(), None),
        };
        let graded = Outline {
            ledger,
            ..outline.clone()
        };
        planned.push(Planned {
            plan: Plan::of(&doc, &graded, &rules, &month, heads),
            outline,
            adopt,
            changes,
            senders,
            holder,
        });
    }
    Ok(Prepared {
        out,
        others,
        unchanged,
        planned,
        rules,
        month,
    })
}

/// Writes a prepared batch in one transaction ([`project_batch`]'s second
/// half).
async fn commit(state: &AppState, prepared: Prepared) -> Result<Batch, ServerError> {
    let Prepared {
        mut out,
        others,
        unchanged,
        planned,
        rules,
        month,
    } = prepared;
    out.projected = planned.len();
    out.unchanged = unchanged.len();
    let done: Vec<String> = planned
        .iter()
        .map(|p| p.plan.doc.clone())
        .chain(others.iter().cloned())
        .collect();
    let (standing_changed, decided, registered) = state
        .db
        .call(move |conn| {
            let tx = conn.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
            let mut standing_changed = false;
            let mut decided = Vec::new();
            let mut registered = Vec::new();
            for p in &planned {
                let doc = &p.plan.doc;
                standing_changed |= writer::write(&tx, &p.plan, &p.changes, &p.senders)?;
                if let Some(entries) = &p.adopt {
                    ledger::adopt(&tx, doc, entries)?;
                }
                let unit = match &p.holder {
                    Holder::Known(unit) => Some(unit.clone()),
                    Holder::New(user) => {
                        let unit: String = tx.query_row(
                            "SELECT unit FROM users WHERE id = ?1",
                            [user],
                            |r| r.get(0),
                        )?;
                        tx.execute(
                            "INSERT OR IGNORE INTO customers (doc_id, primary_user, assistant_user, unit, registered_by, registered_at)
                             VALUES (?1, ?2, NULL, ?3, ?2, ?4)",
                            params![doc, user, unit, now()],
                        )?;
                        tx.execute("DELETE FROM claims WHERE doc_id = ?1", [doc])?;
                        registered.push((doc.clone(), *user, unit.clone(), p.outline.name.clone()));
                        Some(unit)
                    }
                    Holder::Nobody => None,
                };
                if let Some(unit) = unit {
                    let from_tablet = matches!(p.holder, Holder::New(_));
                    decided.extend(registration::record(&tx, doc, &unit, &(&p.outline).into(), from_tablet)?);
                }
                tx.execute("DELETE FROM dirty_docs WHERE doc_id = ?1", [doc])?;
            }
            for d in &others {
                tx.execute("DELETE FROM dirty_docs WHERE doc_id = ?1", [d])?;
            }
            tx.commit()?;
            Ok((standing_changed, decided, registered))
        })
        .await?;
    {
        let mut bulk = state.bulk.lock().unwrap_or_else(|e| e.into_inner());
        for d in done.iter().chain(&unchanged) {
            bulk.remove(d);
        }
    }
    // New rules or a new month while this batch was read: what it wrote is
    // as of before, and a re-grade (`regrade.rs`) may have passed these
    // customers already. Projected again.
    if state.rules.get() != rules || crate::this_month() != month {
        requeue(state, done.clone()).await?;
    }
    for (doc, user, unit, name) in registered {
        tracing::info!(doc = %doc, user, unit = %unit, name = %name, "customer registered");
        state.acl.set_customer(
            &doc,
            Assignment {
                primary: user,
                assistant: None,
                unit,
            },
        );
        out.registered.push(doc);
    }
    out.standing_changed = standing_changed;
    out.books_to_refresh = decided
        .iter()
        .filter_map(|d| state.acl.assignment(d).map(|a| a.primary))
        .collect();
    Ok(out)
}

/// Queues `docs` for projection again, durably.
pub async fn requeue(state: &AppState, docs: Vec<String>) -> Result<(), ServerError> {
    if docs.is_empty() {
        return Ok(());
    }
    let marked = docs.clone();
    state
        .db
        .call(move |c| {
            let tx =
                c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
            for d in &marked {
                tx.execute("INSERT OR IGNORE INTO dirty_docs (doc_id) VALUES (?1)", [d])?;
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    announce(state, docs);
    Ok(())
}

/// Tells the projector of documents marked dirty in the database.
fn announce(state: &AppState, docs: Vec<String>) {
    state.bulk_mark(&docs);
    for d in docs {
        let _ = state.changed.send(d);
    }
}

/// Marks every customer for projection again (new rules, a new month) and
/// queues them; the marks are durable, so a restart finishes the work.
pub async fn reproject_all(state: &AppState) -> Result<(), ServerError> {
    let docs: Vec<String> = state
        .db
        .call(|c| {
            let tx =
                c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT OR IGNORE INTO dirty_docs (doc_id) SELECT doc_id FROM customers",
                (),
            )?;
            let docs = {
                let mut stmt = tx.prepare("SELECT doc_id FROM customers")?;
                stmt.query_map((), |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            };
            tx.commit()?;
            Ok(docs)
        })
        .await?;
    announce(state, docs);
    Ok(())
}

/// The index tables' layout: raised when a release projects something new
/// (2: `followup_index`; 3: the ledger adopted into `ledger_official`, and
/// `survey_index`), so
/// that a database of an earlier release is
/// projected again at its first start and the new tables are filled.
pub const PROJECTION_FORMAT: u32 = 3;

/// What [`ensure_current`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Applied a new month or new rules from the tables: the tiers and the
    /// books are the caller's to bring up to date ([`after_regrade`]).
    Regraded,
    /// Queued every customer for projection (its batches refresh the books).
    Full,
}

/// Brings the projections up to date when they were made in another
/// calendar month, under other rules or by a release with other index
/// tables: the last queues every customer for projection; a month or rules
/// are applied from the tables (`regrade.rs`). `None`: all was current.
pub async fn ensure_current(state: &AppState) -> Result<Option<Pass>, ServerError> {
    let month = crate::this_month();
    let format = format!("v{PROJECTION_FORMAT}");
    let rules = state.rules.get().to_tablet_json();
    let basis = format!("{month} {format} {rules}");
    let wanted = basis.clone();
    let last: Option<String> = state
        .db
        .call(move |c| {
            Ok(c.query_row(
                "SELECT value FROM settings WHERE key = 'projected_with'",
                (),
                |r| r.get(0),
            )
            .optional()?)
        })
        .await?;
    if last.as_deref() == Some(wanted.as_str()) {
        return Ok(None);
    }
    // "<month> v<format> <rules>"; a database of a release before the
    // format, or none yet, is projected in full.
    let same_tables = last
        .as_deref()
        .and_then(|l| l.split(' ').nth(1))
        .is_some_and(|f| f == format);
    if same_tables {
        let t = std::time::Instant::now();
        let r = regrade::regrade_all(state).await?;
        tracing::info!(
            %month,
            customers = r.customers,
            changed = r.changed,
            queued = r.queued,
            secs = t.elapsed().as_secs_f64(),
            "a new month or new rules: grades, alerts and agreements worked out again"
        );
    } else {
        tracing::info!(
            %month,
            "new index tables, or no projection recorded: projecting every customer again"
        );
        // Durable marks: a restart finishes the work.
        reproject_all(state).await?;
    }
    // Recorded once done (a crash mid-way does it again at the next start),
    // and only if the rules did not change meanwhile (their own pass then
    // records theirs).
    if state.rules.get().to_tablet_json() == rules {
        state
            .db
            .call(move |c| {
                c.execute(
                    "INSERT INTO settings (key, value) VALUES ('projected_with', ?1)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [&basis],
                )?;
                Ok(())
            })
            .await?;
    }
    // The tiers rank revenue, which neither pass changes, under the rules
    // in force; the books carry the rules.
    Ok(Some(if same_tables {
        Pass::Regraded
    } else {
        Pass::Full
    }))
}

/// The managed-as tiers and every book under the rules in force, after a
/// re-grade (the tiers rank revenue, which a re-grade leaves alone, under
/// the rules; the books carry them).
pub async fn after_regrade(state: &AppState) -> Result<(), ServerError> {
    let t = std::time::Instant::now();
    // Every book is rewritten next: the tiers' own refresh of the books
    // that show a changed tier would write most of them twice.
    managed::update(state).await?;
    let users = books::ensure_all(state).await?;
    tracing::info!(
        users,
        secs = t.elapsed().as_secs_f64(),
        "the tiers and every book brought up to date under the rules in force"
    );
    Ok(())
}

/// Where a projection reads its document from.
enum Source {
    /// Straight from storage (bulk work: the repo would keep it loaded).
    Stored(Box<automerge::Automerge>),
    /// The repo's open copy (it has just changed, so it is loaded anyway).
    Open(samod::DocHandle),
}

/// What `Source::read` returns: the customer, its heads, the changes since
/// (none if it stands at the heads it was to be left alone at).
type Read = Option<(Result<Outline, SchemaError>, String, Vec<(String, String)>)>;

impl Source {
    /// `read` on a blocking thread: reading a large customer takes milliseconds,
    /// and a batch of them on a runtime worker held up the sync tasks queued
    /// behind it (the tail of the visit storm's latency).
    async fn read_apart(
        self,
        since: String,
        unless_at: Option<String>,
    ) -> Result<Read, ServerError> {
        tokio::task::spawn_blocking(move || self.read(&since, unless_at.as_deref()))
            .await
            .map_err(|e| {
                ServerError::Internal(format!("reading a document to project it failed: {e}"))
            })
    }

    /// The customer in it, its heads, and the changes since `since` (heads as
    /// last projected); nothing if its heads are `unless_at`.
    fn read(&self, since: &str, unless_at: Option<&str>) -> Read {
        let read = |d: &automerge::Automerge| {
            let heads = heads_of(d);
            if unless_at == Some(heads.as_str()) {
                return None;
            }
            Some((
                Outline::load(d),
                heads,
                crate::history::new_changes(d, since),
            ))
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
    // In a cluster the repo's copy may lack what another node stored: read
    // the union of every node's changes from storage.
    let bulk = state.cluster.is_some()
        || state
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

/// The document's heads, as stored to tell a new version from a re-projection.
/// (Change timestamps are not used: Rust peers commit with time 0.)
fn heads_of(doc: &automerge::Automerge) -> String {
    let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    heads.sort();
    heads.join(",")
}
