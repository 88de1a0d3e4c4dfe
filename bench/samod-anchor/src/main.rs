//! `samod-anchor <port> <storage dir>`: the published samod 0.16 as a plain
//! sync server, for sync-bench to compare ours against. One repo, the
//! file-system storage samod ships (the layout of automerge-repo's Node
//! adapter, so the bench seeds it as it seeds the JS reference), websockets
//! through axum, no access control and no patches: what samod's own examples
//! stand up. Durability: samod's file-system storage writes each chunk
//! with `tokio::fs::write` and never fsyncs (ours commits with fsync). Prints "listening <port>" once it accepts connections.

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::response::Response;
use samod::{AcceptorHandle, Repo, ShareConfig};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [port, dir] = args.as_slice() else {
        eprintln!("usage: samod-anchor <port> <storage dir>");
        std::process::exit(2);
    };
    let repo = Repo::build_tokio()
        .with_storage(samod::storage::TokioFilesystemStorage::new(dir))
        // A sync server's choice, as the JS reference's: answer requests,
        // announce nothing (announcing would send every loaded document to
        // every device that connects).
        .with_share_policy(ShareConfig::read_write().with_announce(false))
        .load()
        .await;
    let url: url::Url = format!("ws://127.0.0.1:{port}/").parse().expect("url");
    let acceptor = repo.make_acceptor(url).expect("repo running");
    let app = axum::Router::new()
        .route("/", axum::routing::get(upgrade))
        .with_state(acceptor);
    let listener =
        match tokio::net::TcpListener::bind(("127.0.0.1", port.parse().unwrap_or(0))).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot listen on port {port}: {e}");
                std::process::exit(1);
            }
        };
    println!("listening {port}");
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("server stopped: {e}");
    }
    repo.stop().await;
}

async fn upgrade(ws: WebSocketUpgrade, State(acceptor): State<AcceptorHandle>) -> Response {
    // As samod's own tests do: the repo drives the connection from here on.
    ws.on_upgrade(move |socket| async move {
        if acceptor.accept_axum(socket, None).is_err() {
            eprintln!("repo stopped");
        }
    })
}
