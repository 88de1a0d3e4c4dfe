//! What bad or departed clients leave behind, swept away periodically:
//! claims for documents whose content never arrived (a peer can name any
//! made-up document id in a sync frame, and each claim is a row), the
//! senders noted for such frames' changes, and sessions past their expiry.

use std::time::Duration;

use crate::store::sql::params;

use crate::error::ServerError;
use crate::state::AppState;

/// How long a claim may wait for its document's content.
pub const CLAIM_GRACE: Duration = Duration::from_secs(3600);
/// How often the sweep runs.
const EVERY: Duration = Duration::from_secs(600);

/// What one sweep removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub claims: usize,
    pub sessions: usize,
    pub notes: usize,
}

/// Removes claims older than `grace` whose document has nothing stored and
/// is not a registered customer, and expired sessions.
pub async fn sweep(state: &AppState, grace: Duration) -> Result<Swept, ServerError> {
    let cutoff = (chrono::Utc::now()
        - chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::zero()))
    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let now = crate::now();
    let (claims, sessions) = state
        .db
        .call(move |c| {
            let tx =
                c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
            // samod keys a document's rows "<doc id>/…"; '0' sorts right after '/'.
            let stale: Vec<String> = {
                let mut stmt = tx.prepare(
                    "SELECT doc_id FROM claims c
                     WHERE claimed_at < ?1
                       AND NOT EXISTS (SELECT 1 FROM customers WHERE doc_id = c.doc_id)
                       AND NOT EXISTS (SELECT 1 FROM samod_storage
                                       WHERE key > c.doc_id || '/' AND key < c.doc_id || '0')",
                )?;
                stmt.query_map([&cutoff], |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            };
            for d in &stale {
                tx.execute("DELETE FROM claims WHERE doc_id = ?1", [d])?;
            }
            let sessions =
                tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", params![now])?;
            tx.commit()?;
            Ok((stale, sessions))
        })
        .await?;
    for d in &claims {
        state.acl.drop_claim(d);
    }
    // A projection takes its documents' notes within milliseconds.
    let notes = state.authors.forget_older_than(EVERY);
    if !claims.is_empty() || sessions > 0 || notes > 0 {
        tracing::info!(
            claims = claims.len(),
            sessions,
            notes,
            "swept stale claims, expired sessions and unclaimed change senders"
        );
    }
    Ok(Swept {
        claims: claims.len(),
        sessions,
        notes,
    })
}

/// Sweeps at start and every ten minutes, until the server stops.
pub async fn run(state: AppState, grace: Duration) {
    loop {
        if let Err(e) = sweep(&state, grace).await {
            tracing::error!(error = %e, "the sweep of stale claims and sessions failed");
        }
        tokio::time::sleep(EVERY).await;
    }
}
