//! Drives our sans-IO peer (`fieldbook_shared::peer`) over a real websocket from
//! native code, the way the browser shell does with web-sys.

use std::sync::{Arc, Mutex};

use fieldbook_shared::api::LoginResponse;
use fieldbook_shared::peer::{Effect, Peer};
use futures::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::TestServer;

/// Our peer, online or offline, with the effects it produced kept for inspection.
pub struct NativePeer {
    pub peer: Arc<Mutex<Peer>>,
    pub session: LoginResponse,
    /// Every non-send effect so far (persist, changed, unavailable, ...).
    pub effects: Arc<Mutex<Vec<Effect>>>,
    ws_url: String,
    out: Option<mpsc::UnboundedSender<Vec<u8>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as f64)
        .unwrap_or(0.0)
}

fn flush(
    peer: &Mutex<Peer>,
    out: Option<&mpsc::UnboundedSender<Vec<u8>>>,
    log: &Mutex<Vec<Effect>>,
) {
    let effects = peer.lock().expect("peer").take_effects();
    for e in effects {
        match e {
            Effect::Send(bytes) => {
                if let Some(out) = out {
                    let _ = out.send(bytes);
                }
            }
            other => log.lock().expect("log").push(other),
        }
    }
}

impl NativePeer {
    /// Logs in and makes an offline peer for that session.
    pub async fn login(server: &TestServer, username: &str) -> NativePeer {
        let session = server.login(username).await;
        let peer = Arc::new(Mutex::new(Peer::new(session.peer_id.clone())));
        let ws_url = format!("{}?token={}", server.sync_url(), session.token);
        NativePeer {
            peer,
            session,
            effects: Arc::default(),
            ws_url,
            out: None,
            task: None,
        }
    }

    /// Opens the websocket and pumps frames both ways until disconnected.
    pub async fn connect(&mut self) {
        let (ws, _) = tokio_tungstenite::connect_async(&self.ws_url)
            .await
            .expect("websocket");
        let (mut sink, mut stream) = ws.split();
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        self.out = Some(tx.clone());
        let (peer, log) = (self.peer.clone(), self.effects.clone());
        peer.lock().expect("peer").connected(now());
        flush(&peer, Some(&tx), &log);
        self.task = Some(tokio::spawn(async move {
            loop {
                tokio::select! {
                    frame = stream.next() => match frame {
                        Some(Ok(Message::Binary(b))) => {
                            peer.lock().expect("peer").receive(&b, now());
                            flush(&peer, Some(&tx), &log);
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    },
                    out = rx.recv() => match out {
                        Some(bytes) => if sink.send(Message::Binary(bytes.into())).await.is_err() { break },
                        None => break,
                    },
                }
            }
            peer.lock().expect("peer").disconnected(now());
        }));
    }

    /// Closes the websocket.
    pub async fn disconnect(&mut self) {
        self.out = None;
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
        self.peer.lock().expect("peer").disconnected(now());
    }

    /// Runs `f` on the peer and sends what it produced.
    pub fn with<R>(&self, f: impl FnOnce(&mut Peer) -> R) -> R {
        let r = f(&mut self.peer.lock().expect("peer"));
        flush(&self.peer, self.out.as_ref(), &self.effects);
        r
    }
}
