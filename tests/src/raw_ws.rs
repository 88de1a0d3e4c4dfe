//! A bare websocket on `/sync`, for tests that send hand-made frames or watch
//! the server close a connection.

use std::time::Duration;

use futures::StreamExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::TestServer;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Opens `/sync` with `token` (the upgrade must succeed).
pub async fn raw(server: &TestServer, token: &str) -> Ws {
    let req = format!("{}?token={token}", server.sync_url())
        .into_client_request()
        .unwrap();
    tokio_tungstenite::connect_async(req)
        .await
        .expect("upgrade")
        .0
}

/// Reads until the server closes (20 s at most); returns the close code, if it sent one.
pub async fn closed(ws: &mut Ws) -> Option<CloseCode> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("server did not close the connection")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}
