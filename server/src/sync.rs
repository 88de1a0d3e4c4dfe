//! Sync: the automerge-repo websocket at `/sync` and what samod is told.
//!
//! * `pump`: one task per socket, between it and samod: frames checked,
//!   nothing sent before storage has committed it, closes with reasons.
//! * `policy`: samod's share policy, from the access tables (`acl.rs`), and
//!   the claim a new document's sender makes on it.
//! * `authors`: who delivered each change, for the per-field history.
//!
//! The pump's two side channels, each a value from `AppState` handed to it
//! when a socket opens: the offers it notes (`Acl::note_offer`, read by the
//! policy so that only a document's sender may claim it) and the deliverers
//! (`Authors`, taken by the projector).

pub mod authors;
pub mod policy;
pub mod pump;

pub use pump::{MAX_CONNECTIONS_PER_USER, MAX_MESSAGE_BYTES, check_changes, upgrade};
