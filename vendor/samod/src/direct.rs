//! Fieldbook patch (6): a connection its caller drives.
//!
//! `AcceptorHandle::accept` hands samod a stream and a sink, and the IO loop
//! keeps a future per connection that moves messages between them and the
//! hub: about 0.8 KB of every open connection, and one more hop each way for
//! every message. A server that already runs a task per socket can instead
//! give samod each incoming message itself ([`DirectConnection::receive`],
//! the same call the IO loop makes) and read what samod has for the peer
//! from the queue [`AcceptorHandle::accept_direct`] returns. See PATCHED.md.

use std::sync::{Arc, Mutex};

use samod_core::actors::hub::{DispatchedCommand, HubEvent};

use crate::{ConnFinishedReason, Inner, connection::ConnectionHandle};

/// One accepted connection, driven by its owner. Dropping it ends the
/// connection (with the reason given to [`DirectConnection::end`], else
/// [`ConnFinishedReason::TheyDisconnected`]).
pub struct DirectConnection {
    inner: Arc<Mutex<Inner>>,
    handle: ConnectionHandle,
    reason: Option<ConnFinishedReason>,
}

impl DirectConnection {
    pub(crate) fn new(inner: Arc<Mutex<Inner>>, handle: ConnectionHandle) -> Self {
        Self {
            inner,
            handle,
            reason: None,
        }
    }

    /// Hands samod one message from the peer (as the IO loop does for a
    /// transport's stream).
    pub fn receive(&self, msg: Vec<u8>) {
        let DispatchedCommand { event, .. } = HubEvent::receive(self.handle.id(), msg);
        lock(&self.inner).handle_event(event);
    }

    /// Records why the connection ends; it ends when this is dropped. Pass
    /// [`ConnFinishedReason::WeDisconnected`] when the outbound queue has
    /// ended: samod closed the connection itself.
    pub fn end(&mut self, reason: ConnFinishedReason) {
        self.reason.get_or_insert(reason);
    }
}

impl Drop for DirectConnection {
    fn drop(&mut self) {
        let reason = self
            .reason
            .take()
            .unwrap_or(ConnFinishedReason::TheyDisconnected);
        // As `drive_connection`: the hub already knows of a close it made.
        // (For a connection it has forgotten the event does nothing.)
        if reason != ConnFinishedReason::WeDisconnected {
            lock(&self.inner).handle_event(HubEvent::connection_lost(self.handle.id()));
        }
        self.handle.notify_finished(reason);
    }
}

/// The repo's state, even if a thread panicked holding it: dropping a
/// connection must not panic in turn.
fn lock(inner: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    inner.lock().unwrap_or_else(|e| e.into_inner())
}
