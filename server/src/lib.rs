//! Fieldbook's central server: an automerge-repo sync server (samod) on SQLite,
//! with login, per-customer access control, projections and a REST API.

pub mod acl;
pub mod admin;
pub mod api;
pub mod app;
pub mod approvals;
pub mod auth;
pub mod books;
pub mod cli;
pub mod db;
pub mod demo;
pub mod error;
pub mod export;
pub mod handover;
pub mod history;
pub mod housekeeping;
pub mod import;
pub mod late;
pub mod managed;
pub mod memory;
pub mod openapi;
pub mod projection;
pub mod registration;
pub mod reports;
pub mod rules;
pub mod storage;
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

/// The current calendar month, `YYYY-MM` (UTC): grades and alerts are as of the
/// months before it.
pub fn this_month() -> String {
    chrono::Utc::now().format("%Y-%m").to_string()
}
