//! Projects stored customer documents into relational tables, and turns a new
//! customer document into a registration (报备).
//!
//! Storage marks a document dirty in the same transaction that stores its change,
//! so a crash between the two never leaves a projection behind for good: dirty
//! documents are projected again at start-up.

use std::collections::BTreeSet;

use fieldbook_shared::SchemaError;
use fieldbook_shared::access::Assignment;
use fieldbook_shared::customer::Customer;
use fieldbook_shared::grading::{self, Thresholds};
use rusqlite::params;
use samod::DocumentId;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::app::AppState;
use crate::error::ServerError;
use crate::{books, now, registration};

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
    let mut failed = project_all(&state, leftover.into_iter().collect()).await;
    let mut delay = RETRY_FIRST;
    loop {
        let batch = tokio::select! {
            next = changed.recv() => {
                let Some(first) = next else { return };
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
        let again = project_all(&state, batch).await;
        if again.is_empty() && failed.is_empty() {
            delay = RETRY_FIRST;
        }
        failed.extend(again);
    }
}

const RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(200);
const RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(30);

/// Projects each document; returns those that failed.
async fn project_all(state: &AppState, docs: BTreeSet<String>) -> BTreeSet<String> {
    let mut failed = BTreeSet::new();
    for doc in docs {
        if let Err(e) = project(state, &doc).await {
            tracing::error!(error = %e, doc = %doc, "projection failed; it will be retried");
            failed.insert(doc);
        }
    }
    failed
}

/// What a stored document turned out to be.
#[derive(Debug, PartialEq)]
pub enum Projected {
    Customer { newly_registered: bool },
    Other,
}

/// Brings the tables up to date with one stored document.
pub async fn project(state: &AppState, doc_id: &str) -> Result<Projected, ServerError> {
    if state.acl.is_server_written(doc_id) {
        clear_dirty(state, doc_id).await?;
        return Ok(Projected::Other);
    }
    let id: DocumentId = doc_id
        .parse()
        .map_err(|_| ServerError::Internal(format!("bad document id {doc_id}")))?;
    let Some(handle) = state.repo.find(id).await? else {
        return Err(ServerError::Internal(format!(
            "document {doc_id} is marked changed but is not stored"
        )));
    };
    let customer = match handle.with_document(|d| Customer::load(d)) {
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
    write_index(state, doc_id, &customer).await?;
    if newly_registered {
        books::refresh_for_customer(state, doc_id).await?;
    }
    if let Some(a) = state.acl.assignment(doc_id) {
        record_registration(state, doc_id, a.unit, customer).await?;
    }
    Ok(Projected::Customer { newly_registered })
}

/// Numbers the registration in receipt order (once) and applies the
/// first-to-register rule to its group; the managers whose registrations'
/// outcome changed get it in their books.
async fn record_registration(
    state: &AppState,
    doc_id: &str,
    unit: String,
    c: Customer,
) -> Result<(), ServerError> {
    let doc = doc_id.to_string();
    let changed = state
        .db
        .call(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let changed = registration::record(&tx, &doc, &unit, &c)?;
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
    customer: &Customer,
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

async fn write_index(state: &AppState, doc_id: &str, c: &Customer) -> Result<(), ServerError> {
    let doc = doc_id.to_string();
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
    let visits: Vec<(String, String, String, String)> = c
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
    let this_month = chrono::Utc::now().format("%Y-%m").to_string();
    let (annual, disbursed) = grading::annual(&c.ledger, &this_month);
    let t = Thresholds::default();
    let grades = (
        annual,
        grading::level(annual, disbursed, &t).as_str(),
        grading::grade(annual, &t).as_str(),
    );
    let row = (
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
    );
    state
        .db
        .call(move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT OR REPLACE INTO customer_index
                 (doc_id, name, credit_code, nature, lines, address, industry, contacts, visit_count, last_visit, open_follow_ups, projected_at,
                  annual_revenue_fen, level_proposed, grade_proposed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                params![doc, row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7, row.8, row.9, now(), grades.0, grades.1, grades.2],
            )?;
            tx.execute("DELETE FROM visit_index WHERE doc_id = ?1", [&doc])?;
            {
                let mut ins = tx.prepare_cached(
                    "INSERT OR REPLACE INTO visit_index (doc_id, visit_id, date, kind, visitors) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?;
                for v in &visits {
                    ins.execute(params![doc, v.0, v.1, v.2, v.3])?;
                }
            }
            tx.execute("DELETE FROM dirty_docs WHERE doc_id = ?1", [&doc])?;
            tx.commit()?;
            Ok(())
        })
        .await
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
