//! Our own small automerge-repo peer for one server connection, sans-IO: events
//! in (connected, a frame received, disconnected, a local change), effects out
//! (send a frame, persist a chunk, a document changed). Time is passed in; no
//! clock is read. The browser drives it with a websocket and IndexedDB, native
//! tests with tokio; both speak the same protocol as samod and the JS client.

pub mod chunks;
mod state;
pub mod wire;

pub use state::{Effect, Peer};

use thiserror::Error;

/// Why a frame or document could not be used.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum PeerError {
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("document {0} could not be loaded: {1}")]
    Load(String, String),
    #[error("document {0} is not on this device")]
    Unknown(String),
}

/// A new random document id, as automerge-repo makes them (16 bytes, bs58check).
pub fn new_document_id() -> String {
    let mut bytes = [0u8; 16];
    // Without randomness there is no safe id; getrandom only fails on unsupported targets.
    getrandom::fill(&mut bytes).expect("a source of randomness");
    bs58::encode(bytes).with_check().into_string()
}

/// Whether `id` is a well-formed document id (bs58check of 16 bytes).
pub fn is_document_id(id: &str) -> bool {
    bs58::decode(id)
        .with_check(None)
        .into_vec()
        .is_ok_and(|b| b.len() == 16)
}
