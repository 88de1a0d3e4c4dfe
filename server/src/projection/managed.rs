//! City-wide views of the projections: the managed-as tiers (which depend on
//! every customer's revenue rank) and the revenue alerts for managers and heads.

use std::collections::BTreeSet;

use crate::store::sql::params;
use fieldbook_shared::grading::{self, Standing};

use crate::error::ServerError;
use crate::projection::books;
use crate::state::AppState;

/// Works out every registered customer's managed-as tier again in the
/// tables; answers the customers whose tier changed (their users' books are
/// the caller's: [`refresh`]).
pub async fn update(state: &AppState) -> Result<Vec<String>, ServerError> {
    let rules = state.rules.get();
    state
        .db
        .call(move |c| {
            let tx = c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
            let rows: Vec<(String, i64, i64, String, String, i64)> = {
                // The whole operator is one city; equal revenues rank by document id.
                let mut stmt = tx.prepare(
                    "SELECT i.doc_id, i.annual_revenue_fen, i.cross_city_fen, i.managed_as, i.managed_why, i.managed_rank
                     FROM customer_index i JOIN customers c ON c.doc_id = i.doc_id
                     ORDER BY i.doc_id",
                )?;
                stmt.query_map((), |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
                })?
                .collect::<Result<_, _>>()?
            };
            let standings: Vec<Standing> = rows
                .iter()
                .map(|r| Standing {
                    annual_fen: r.1,
                    cross_city_fen: r.2,
                })
                .collect();
            let tiers = grading::managed_as(&standings, &rules.grading, &rules.managed);
            let mut changed = Vec::new();
            {
                let mut update = tx.prepare_cached(
                    "UPDATE customer_index SET managed_as = ?2, managed_why = ?3, managed_rank = ?4 WHERE doc_id = ?1",
                )?;
                for (row, (grade, why)) in rows.iter().zip(tiers) {
                    let (word, rank) = why.to_stored();
                    if (row.3.as_str(), row.4.as_str(), row.5) != (grade.as_str(), word, rank) {
                        update.execute(params![row.0, grade.as_str(), word, rank])?;
                        changed.push(row.0.clone());
                    }
                }
            }
            tx.commit()?;
            Ok(changed)
        })
        .await
}

/// Works out every registered customer's managed-as tier again and updates the
/// books of those who see a customer whose tier changed.
pub async fn refresh(state: &AppState) -> Result<usize, ServerError> {
    let changed = update(state).await?;
    let users: BTreeSet<i64> = changed
        .iter()
        .flat_map(|d| state.acl.users_who_see(d))
        .collect();
    let t = std::time::Instant::now();
    for &user in &users {
        books::refresh_user(state, user).await?;
    }
    if !changed.is_empty() {
        tracing::info!(
            customers = changed.len(),
            books = users.len(),
            secs = t.elapsed().as_secs_f64(),
            "managed-as tiers changed; books refreshed"
        );
    }
    Ok(changed.len())
}
