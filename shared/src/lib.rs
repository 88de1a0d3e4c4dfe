//! Fieldbook's shared core: the Automerge document schema, the domain rules and the
//! REST wire types. Pure: no I/O, compiles for the server and for the browser (wasm32).

pub mod access;
pub mod agreements;
pub mod anomaly;
pub mod api;
pub mod attachments;
pub mod book;
pub mod calendar;
pub mod care;
pub mod complaints;
pub mod credit;
pub mod customer;
pub mod desk;
pub mod events;
pub mod flex;
pub mod followups;
pub mod grading;
pub mod history;
pub mod itinerary;
pub mod numbering;
pub mod onepass;
pub mod ownership;
pub mod peer;
pub mod reports;
pub mod rules;
pub mod scorecard;
pub mod surveys;
pub mod visits;
pub mod vocab;

mod error;
pub use error::SchemaError;

/// The schema version this build writes. Readers accept this and every older version.
pub const SCHEMA_VERSION: u64 = 1;
