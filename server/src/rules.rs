//! The operator's adjustable rules (`fieldbook_shared::rules`): stored in the
//! `settings` table, changed by the center's admin (`http::rules`), sent to
//! tablets in their books.

use std::sync::{Arc, RwLock};

use crate::store::sql::{Connection, OptionalExtension, params};
use fieldbook_shared::rules::Rules;

use crate::error::ServerError;

const SETTING: &str = "rules";

/// The rules in force, shared by request handlers and the projector.
#[derive(Clone, Default)]
pub struct Current(Arc<RwLock<Rules>>);

impl Current {
    pub fn get(&self) -> Rules {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Puts `rules` in force, their time zone included (`shared::calendar`).
    pub fn set(&self, rules: Rules) {
        rules.apply_calendar();
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = rules;
    }
}

/// Reads the stored rules; the defaults (docs/domain.md, Adjustable rules) if none are
/// stored. A stored configuration that no longer validates is reported and replaced by
/// the defaults rather than stopping the server.
pub fn load(conn: &Connection) -> Result<Current, ServerError> {
    let stored: Option<String> = conn
        .query_row(
            "SELECT value FROM settings WHERE key = ?1",
            [SETTING],
            |r| r.get(0),
        )
        .optional()?;
    let rules = match stored {
        None => Rules::default(),
        Some(text) => Rules::from_json(&text).unwrap_or_else(|problems| {
            tracing::error!(
                ?problems,
                "the stored rules are not valid; using the defaults until an admin sets them again"
            );
            Rules::default()
        }),
    };
    Ok(Current(Arc::new(RwLock::new(rules))))
}

/// `fieldbook-server rules set`: reads and validates a file, then stores it; a
/// running server applies stored rules at its next start (or use `PUT /api/rules`).
pub fn set_from_file(conn: &Connection, path: &std::path::Path) -> Result<Rules, ServerError> {
    let text = std::fs::read_to_string(path)?;
    let rules = Rules::from_json(&text).map_err(|problems| {
        let lines: Vec<String> = problems
            .iter()
            .map(|p| format!("  {}: {}", p.field, p.message))
            .collect();
        ServerError::BadRequest(format!(
            "{0} 未应用 / {0} was not applied:\n{1}",
            path.display(),
            lines.join("\n")
        ))
    })?;
    store(conn, &rules)?;
    Ok(rules)
}

/// Stores `rules` (already validated).
pub fn store(conn: &Connection, rules: &Rules) -> Result<(), ServerError> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![SETTING, rules.to_json()],
    )?;
    Ok(())
}
