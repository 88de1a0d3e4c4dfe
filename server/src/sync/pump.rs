//! The pump: one task per `/sync` websocket, authenticated on upgrade.
//!
//! Our own pump sits between the socket and samod so that (1) nothing leaves
//! before the storage has committed what it shows, (2) a bad frame closes the
//! connection with a close code and reason a client can log, and (3) the server
//! can close a connection itself.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::response::{IntoResponse, Response};
use fieldbook_shared::peer::wire::sync_document;
use futures::FutureExt;
use futures::{SinkExt, StreamExt};
use samod::{ConnFinishedReason, PeerId};

use crate::state::AppState;

use crate::auth::AuthUser;

/// The largest message a client may send (a whole customer's history fits easily).
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;
/// The websocket's read and write buffers to start with (see `upgrade`).
const SOCKET_BUFFER_BYTES: usize = 512;

/// Open sync connections one user may have at once: a few tablets and browser
/// tabs, never a flood that would starve everyone else.
pub const MAX_CONNECTIONS_PER_USER: usize = 16;

/// One of a user's open sync connections, counted until dropped.
struct Slot {
    conns: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<i64, usize>>>,
    user: i64,
}

impl Slot {
    fn take(state: &AppState, user: i64) -> Option<Slot> {
        let mut conns = state.sync_conns.lock().unwrap_or_else(|e| e.into_inner());
        let n = conns.entry(user).or_default();
        if *n >= MAX_CONNECTIONS_PER_USER {
            return None;
        }
        *n += 1;
        Some(Slot {
            conns: state.sync_conns.clone(),
            user,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = conns.get_mut(&self.user) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                conns.remove(&self.user);
            }
        }
    }
}

/// Authenticates the upgrade (the `AuthUser` extractor answers 401 first) and
/// hands the socket to samod, bound to the session's peer id.
pub async fn upgrade(
    user: AuthUser,
    State(state): State<AppState>,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(slot) = Slot::take(&state, user.id) else {
        tracing::warn!(user = %user.username, "sync connection refused: too many open at once");
        return crate::error::ServerError::TooMany(format!(
            "已有 {MAX_CONNECTIONS_PER_USER} 个同步连接 / this user already has {MAX_CONNECTIONS_PER_USER} sync connections open; close another device or tab and try again"
        ))
        .into_response();
    };
    // Boxed: the callback stays inside the connection's task for as long as
    // it lives, beside the future it returns (memory per idle client).
    let held = Box::new((user, state, slot));
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        // tungstenite's defaults are 128 KiB each, per connection. Clients
        // send frames of a few hundred bytes (a visit is under 1 KB): the read
        // buffer grows to the size of a bigger frame when one comes, read in
        // chunks of this size.
        .read_buffer_size(SOCKET_BUFFER_BYTES)
        .write_buffer_size(SOCKET_BUFFER_BYTES)
        .on_upgrade(move |socket| {
            let (user, state, slot) = *held;
            serve(socket, user, state, slot)
        })
}

/// How the server closes a socket: a close code and a reason, or just the end.
type Close = Option<(u16, String)>;

/// Sets the connection up, then returns the future that pumps it. (Not an
/// `async fn`: that would keep the socket and a second copy of the user and
/// state in the future for the connection's whole life.)
fn serve(
    // `mut` here: rebinding it inside the returned block would keep two
    // copies of the socket in the future.
    mut socket: WebSocket,
    user: AuthUser,
    state: AppState,
    slot: Slot,
) -> impl Future<Output = ()> + Send {
    state.acl.bind_peer(&user.peer_id, user.id);
    tracing::info!(user = %user.username, peer = %user.peer_id, "sync connection opened");
    // This task gives samod each frame itself and sends what samod queues for
    // the peer (`vendor/samod/PATCHED.md`, 6): no transport, channels or future per
    // connection in samod's IO loop, about 1 KB of every idle client.
    let (mut conn, from_samod) = match state
        .acceptor
        .accept_direct(Some(PeerId::from(user.peer_id.as_str())))
    {
        Ok(accepted) => accepted,
        Err(e) => {
            tracing::error!(error = %e, "sync repository stopped; refusing connection");
            return futures::future::ready(()).left_future();
        }
    };

    let storage = state.storage.clone();
    let repo = state.repo.clone();
    let acl = state.acl.clone();
    let authors = state.authors.clone();
    let mut acl_changed = acl.subscribe();
    drop(state);
    // Only what the pump uses stays in it for the connection's life.
    let AuthUser {
        id: user_id,
        username,
        peer_id,
        ..
    } = user;
    // Each message samod sends, once what it shows is on disk: wait until
    // samod has handed the storage every write queued before the message (a
    // document's writes and its messages leave it on different queues:
    // `vendor/samod/PATCHED.md`, 7), then until the storage has committed
    // them. (Boxed, and built out here: held inline, the waiting future took
    // a few hundred bytes of every idle connection. The stream itself is
    // boxed too: see the size note below.)
    let mut ready_out = Box::new(from_samod.then(move |msg| {
        let dispatched = repo.storage_dispatched();
        let storage = storage.clone();
        Box::pin(async move {
            dispatched.await;
            storage.barrier().await;
            msg
        })
    }));
    // Size: the task that runs this future is allocated in steps of 128
    // bytes (tokio aligns it so), and it held 1,152 of them. Boxing the
    // stream above (72 bytes) and the two strings' capacities, and sending
    // through the `Sink` method below, bring it to 1,024: a quarter of a
    // kilobyte less for every idle client (BENCHMARKS.md). A unit test keeps
    // it so; `cargo rustc -- -Zprint-type-sizes` shows the layout.
    let (username, peer_id) = (username.into_boxed_str(), peer_id.into_boxed_str());
    async move {
        // samod's queue to the peer is unbounded, but while a message is
        // being written to a slow peer this loop reads nothing more from it,
        // so a peer that stops reading cannot pile up replies to its own
        // requests there.
        let close: Close = loop {
            tokio::select! {
                outgoing = ready_out.next() => match outgoing {
                    Some(msg) => {
                        // The `Sink` method, not `WebSocket::send`: its future is
                        // 72 bytes smaller (see the size note above).
                        if SinkExt::send(&mut socket, Message::Binary(msg.into())).await.is_err() {
                            conn.end(ConnFinishedReason::ErrorSending("websocket closed".into()));
                            break None;
                        }
                    }
                    // samod closed the connection: a protocol error, or the repo stopped.
                    None => {
                        conn.end(ConnFinishedReason::WeDisconnected);
                        break Some((close_code::POLICY, "connection closed by the sync server (protocol error or access revoked)".into()));
                    }
                },
                // Signed out, revoked or disabled: stop at once.
                Ok(()) = acl_changed.changed() => {
                    if !acl.peer_is_live(&peer_id, user_id) {
                        tracing::info!(user = %username, peer = %peer_id, "sync connection closed: device signed out or user disabled");
                        conn.end(ConnFinishedReason::ErrorReceiving("access revoked".into()));
                        break Some((close_code::POLICY, "this device was signed out or the account disabled; sign in again".into()));
                    }
                }
                incoming = socket.next() => match incoming {
                    Some(Ok(Message::Binary(bytes))) => {
                        let hashes = match check_changes(&bytes) {
                            Ok(hashes) => hashes,
                            Err(why) => {
                                tracing::warn!(user = %username, peer = %peer_id, "sync frame refused: {why}");
                                conn.end(ConnFinishedReason::ErrorReceiving(why.clone()));
                                break Some((close_code::PROTOCOL, why));
                            }
                        };
                        // Before samod sees it, so its policy check finds the offer.
                        if let Some(doc) = sync_document(&bytes) {
                            acl.note_offer(&doc, &peer_id);
                            authors.note(&doc, hashes, user_id);
                        }
                        conn.receive(bytes.to_vec());
                    }
                    Some(Ok(Message::Text(_))) => {
                        conn.end(ConnFinishedReason::ErrorReceiving("text frame".into()));
                        break Some((close_code::UNSUPPORTED, "automerge-repo messages are binary CBOR frames; text frames are not accepted".into()));
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => break None,
                    Some(Err(e)) => {
                        let reason = if e.to_string().to_lowercase().contains("size") || e.to_string().contains("too long") {
                            (close_code::SIZE, format!("message larger than {MAX_MESSAGE_BYTES} bytes"))
                        } else {
                            (close_code::PROTOCOL, "malformed websocket frame".to_string())
                        };
                        tracing::warn!(user = %username, error = %e, "sync connection: bad frame");
                        conn.end(ConnFinishedReason::ErrorReceiving(reason.1.clone()));
                        break Some(reason);
                    }
                },
            }
        };
        // samod forgets the connection (its sync states, its offers) here.
        drop(conn);
        if let Some((code, reason)) = close {
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code,
                    reason: reason.into(),
                })))
                .await;
        }
        let _ = socket.close().await;
        acl.forget_offers(&peer_id);
        tracing::info!(user = %username, peer = %peer_id, "sync connection closed");
        drop(slot);
    }
    .right_future()
}

/// Refuses a `sync` or `request` frame whose changes automerge cannot load
/// without panicking, and otherwise returns the hashes of its changes, for
/// the history (read here so each frame's changes are decoded once).
/// automerge 0.12 panics on some malformed documents (an `assert!` in hexane,
/// found by the document_load fuzz target), and samod runs every document
/// actor in one task: one such frame would stop sync for every user until a
/// restart. The changes are loaded into a scratch document first, with the
/// panic caught; frames automerge merely rejects go on to samod, which answers
/// them itself.
pub fn check_changes(frame: &[u8]) -> Result<BTreeSet<String>, String> {
    use fieldbook_shared::peer::wire::Message as Wire;
    let (Ok(Wire::Sync { data, .. }) | Ok(Wire::Request { data, .. })) = Wire::decode(frame) else {
        return Ok(BTreeSet::new());
    };
    let Ok(message) = automerge::sync::Message::decode(&data) else {
        return Ok(BTreeSet::new());
    };
    if message.changes.is_empty() {
        return Ok(BTreeSet::new());
    }
    std::panic::catch_unwind(|| {
        let mut hashes = BTreeSet::new();
        let mut scratch = automerge::Automerge::new();
        for chunk in message.changes.iter() {
            // Usually one change (its actor is in its header), applied as
            // parsed; now and then a whole document, whose changes the
            // scratch load lists.
            match automerge::Change::from_bytes(chunk.to_vec()) {
                Ok(change) => {
                    hashes.insert(change.hash().to_string());
                    let _ = scratch.apply_changes([change]);
                }
                Err(_) => {
                    let _ = scratch.load_incremental(chunk);
                }
            }
        }
        hashes.extend(
            scratch
                .get_changes(&[])
                .iter()
                .map(|c| c.hash().to_string()),
        );
        hashes
    })
    .map_err(|_| "a sync message with changes that cannot be loaded (malformed document)".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::sync::SyncDoc;
    use fieldbook_shared::peer::wire::Message as Wire;

    /// The size note in `serve`: the pump's future, with axum's 128 bytes
    /// around it and tokio's 104 (header, scheduler, id, stage, trailer),
    /// must stay within a 1,024-byte task.
    #[test]
    fn the_connection_future_fits_a_1024_byte_task() {
        fn returned_size<A, B, C, D, R>(_: impl FnOnce(A, B, C, D) -> R) -> usize {
            std::mem::size_of::<R>()
        }
        let size = returned_size(serve);
        assert!(
            size <= 1024 - 128 - 104,
            "the connection's future is {size} bytes; its task no longer fits 1,024"
        );
    }

    fn sync_frame(changes: Vec<u8>) -> Vec<u8> {
        let mut doc = automerge::Automerge::new();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            automerge::transaction::Transactable::put(tx, automerge::ROOT, "type", "customer")
                .map(|_| ())
        })
        .unwrap();
        let mut m = doc
            .generate_sync_message(&mut automerge::sync::State::new())
            .unwrap();
        m.changes = changes.into();
        Wire::Sync {
            doc: "2FPg".into(),
            sender: "a".into(),
            target: "s".into(),
            data: m.encode(),
        }
        .encode()
    }

    /// Found by the document_load fuzz target: a 536-byte document (checksum
    /// made right) on which automerge 0.12 `load`/`load_incremental` panic.
    /// Sent as the changes of a sync frame it would have reached samod.
    #[test]
    fn a_frame_whose_changes_make_automerge_panic_is_refused() {
        let bad = include_bytes!("../../tests/fuzz/automerge_load_panics.automerge");
        assert!(check_changes(&sync_frame(bad.to_vec())).is_err());
        // Ordinary frames, and frames automerge just rejects, go through.
        let mut good = automerge::Automerge::new();
        good.transact::<_, _, automerge::AutomergeError>(|tx| {
            automerge::transaction::Transactable::put(tx, automerge::ROOT, "type", "book")
                .map(|_| ())
        })
        .unwrap();
        let hash = good.get_changes(&[])[0].hash().to_string();
        assert_eq!(
            check_changes(&sync_frame(good.save())),
            Ok(BTreeSet::from([hash.clone()])),
            "a whole document's changes"
        );
        let change = good.get_changes(&[])[0].raw_bytes().to_vec();
        assert_eq!(
            check_changes(&sync_frame(change)),
            Ok(BTreeSet::from([hash])),
            "a change"
        );
        assert_eq!(
            check_changes(&sync_frame(b"garbage".to_vec())),
            Ok(BTreeSet::new())
        );
        assert_eq!(check_changes(b"not cbor"), Ok(BTreeSet::new()));
    }
}
