//! The bad-credit warning list: reports, the center's confirmation, and the shared
//! document every user reads (see `fieldbook_shared::credit`).

use crate::store::sql::{OptionalExtension, params};
use automerge::Automerge;
use fieldbook_shared::credit::{Warning, WarningList};

use crate::error::ServerError;
use crate::state::AppState;

const SETTING: &str = "warnings_doc";

/// Makes sure the shared warning-list document exists; returns its id.
pub async fn ensure_doc(state: &AppState) -> Result<String, ServerError> {
    let existing: Option<String> = state
        .db
        .call(|c| {
            Ok(c.query_row(
                "SELECT value FROM settings WHERE key = ?1",
                [SETTING],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await?;
    let id = match existing {
        Some(id) => id,
        None => {
            let mut doc = Automerge::new();
            doc.transact(|tx| WarningList::new().save(tx))
                .map_err(|e| ServerError::Internal(format!("{e:?}")))?;
            let id = state.create_stored(doc).await?.document_id().to_string();
            let stored = id.clone();
            state
                .db
                .call(move |c| {
                    c.execute(
                        "INSERT OR IGNORE INTO settings (key, value) VALUES (?1, ?2)",
                        params![SETTING, stored],
                    )?;
                    Ok(c.query_row(
                        "SELECT value FROM settings WHERE key = ?1",
                        [SETTING],
                        |r| r.get::<_, String>(0),
                    )?)
                })
                .await?
        }
    };
    state.acl.set_shared(&id);
    Ok(id)
}

/// Rewrites the shared document from the confirmed reports (creating it if needed).
pub async fn publish(state: &AppState) -> Result<(), ServerError> {
    let entries: Vec<Warning> = state
        .db
        .call(|c| {
            let mut stmt = c.prepare(
                "SELECT id, name, credit_code, kind, substr(decided_at, 1, 10) FROM credit_warnings WHERE status = 'confirmed' ORDER BY id",
            )?;
            let rows = stmt.query_map((), |r| {
                Ok(Warning {
                    id: r.get::<_, i64>(0)?.to_string(),
                    name: r.get(1)?,
                    credit_code: r.get(2)?,
                    kind: r.get(3)?,
                    confirmed_on: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    let id = ensure_doc(state).await?;
    let doc_id: samod::DocumentId = id
        .parse()
        .map_err(|_| ServerError::Internal(format!("bad warnings doc id {id}")))?;
    let Some(handle) = state.repo.find(doc_id).await? else {
        return Err(ServerError::Internal(
            "the warning list document is missing".into(),
        ));
    };
    handle.with_document(|doc| {
        let mut list = WarningList::load(doc)?;
        if list.entries != entries {
            list.entries = entries;
            doc.transact(|tx| list.save(tx))
                .map_err(|e| ServerError::Internal(format!("{e:?}")))?;
        }
        Ok(())
    })
}
