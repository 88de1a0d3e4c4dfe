//! Fieldbook's central server: an automerge-repo sync server (samod) on SQLite,
//! with login, per-customer access control, projections and a REST API.

pub mod acl;
pub mod app;
pub mod auth;
pub mod cli;
pub mod cluster;
pub mod decisions;
pub mod demo;
pub mod desks;
pub mod error;
pub mod history;
pub mod housekeeping;
pub mod http;
pub mod language;
pub mod memory;
pub mod numbers;
pub mod projection;
pub mod rules;
pub mod state;
pub mod store;
pub mod sync;
pub mod throttle;
pub mod warnings;
pub mod web_security;

pub use app::{Config, Running, start};
pub use error::ServerError;

/// The current time as RFC 3339 (UTC), the form every table stores.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The operator's current month, `YYYY-MM` (China time, as on the tablets:
/// `fieldbook_shared::calendar`): grades and alerts are as of the months
/// before it.
pub fn this_month() -> String {
    fieldbook_shared::calendar::month_of(chrono::Utc::now().timestamp_millis())
}

/// The operator's date today, `YYYY-MM-DD` (China time, as on the tablets).
pub fn today() -> String {
    fieldbook_shared::calendar::day_of(chrono::Utc::now().timestamp_millis())
}

#[cfg(test)]
mod tests {
    /// The tablet and the server take "this month" from the same function;
    /// checked here against chrono's own UTC+8 for every 37 minutes of two
    /// years (every turn of a day and a month included).
    #[test]
    fn the_operators_month_is_chronos_in_utc_plus_8() {
        let zone = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
        let start = 1_767_225_600_000_i64; // 2026-01-01 00:00 UTC
        let mut ms = start - 2 * 366 * 86_400_000;
        while ms < start {
            let at = chrono::DateTime::from_timestamp_millis(ms)
                .expect("instant")
                .with_timezone(&zone);
            assert_eq!(
                fieldbook_shared::calendar::day_of(ms),
                at.format("%Y-%m-%d").to_string(),
                "{at}"
            );
            ms += 37 * 60 * 1000;
        }
    }
}
