//! Bad input on `/sync`: malformed frames, text frames, oversized messages and a
//! forged sync message each close only the offending connection (or are refused),
//! the server stays up, and other clients keep syncing.

use std::time::Duration;

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ROOT};
use fieldbook_shared::customer::{self, Customer, Visit};
use fieldbook_shared::vocab::{Line, Nature};
use fieldbook_tests::raw_ws::{Ws, closed, raw};
use fieldbook_tests::{Device, TestServer, wait_for};
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const T: Duration = Duration::from_secs(20);
fn cbor_map(pairs: &[(&str, Value)]) -> Vec<u8> {
    let mut e = minicbor::Encoder::new(Vec::new());
    e.map(pairs.len() as u64).unwrap();
    for (k, v) in pairs {
        e.str(k).unwrap();
        match v {
            Value::Str(s) => e.str(s).unwrap(),
            Value::Bytes(b) => e.bytes(b).unwrap(),
            Value::Strs(l) => {
                e.array(l.len() as u64).unwrap();
                for s in l.iter() {
                    e.str(s).unwrap();
                }
                &mut e
            }
        };
    }
    e.into_writer()
}

enum Value<'a> {
    Str(&'a str),
    Bytes(Vec<u8>),
    Strs(&'a [&'a str]),
}

/// Joins as `peer` and waits for the server's `peer` answer.
async fn handshake(ws: &mut Ws, peer: &str) {
    let join = cbor_map(&[
        ("type", Value::Str("join")),
        ("senderId", Value::Str(peer)),
        ("supportedProtocolVersions", Value::Strs(&["1"])),
    ]);
    ws.send(Message::Binary(join.into())).await.unwrap();
    let reply = tokio::time::timeout(T, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Message::Binary(bytes) = reply else {
        panic!("expected a binary peer message, got {reply:?}")
    };
    assert!(
        bytes.windows(4).any(|w| w == b"peer"),
        "server answered the join with a peer message"
    );
}

/// A device that keeps syncing while others misbehave.
async fn bystander(server: &TestServer, url: &str) -> (Device, samod::DocHandle) {
    let mut d = Device::login(server, "m2").await;
    d.connect().await;
    let doc = d.find(url).await.expect("bystander opens its customer");
    (d, doc)
}

async fn bystander_still_syncs(server: &TestServer, d: &Device, doc: &samod::DocHandle, id: &str) {
    doc.with_document(|x| {
        x.transact(|tx| {
            customer::add_visit(
                tx,
                &Visit {
                    id: id.into(),
                    date: "2026-11-22".into(),
                    ..Default::default()
                },
            )
        })
    })
    .unwrap();
    d.wait_synced(doc).await;
    let token = d.session.token.clone();
    wait_for("the bystander's visit to be projected", T, async || {
        let list = server.get_json(&token, "/api/customers").await;
        let n = list.as_array()?.first()?["visit_count"].as_i64()?;
        (n >= 1).then_some(())
    })
    .await;
}

async fn setup() -> (TestServer, String) {
    let mut server = TestServer::new();
    let url = server
        .seed_customer(
            &Customer::new("恒丰银行", "", Nature::Enterprise, vec![Line::Finance]),
            "m2",
            None,
        )
        .await;
    server.start().await;
    (server, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_cbor_closes_only_that_connection() {
    let (mut server, url) = setup().await;
    let (d, doc) = bystander(&server, &url).await;
    let session = server.login("m1").await;

    let mut ws = raw(&server, &session.token).await;
    ws.send(Message::Binary(
        vec![0xff, 0x00, 0x13, 0x37, 0xde, 0xad].into(),
    ))
    .await
    .unwrap();
    closed(&mut ws).await;

    // A join that is valid CBOR but not a valid message.
    let mut ws = raw(&server, &session.token).await;
    ws.send(Message::Binary(
        cbor_map(&[("type", Value::Str("join"))]).into(),
    ))
    .await
    .unwrap();
    closed(&mut ws).await;

    bystander_still_syncs(&server, &d, &doc, "after-garbage").await;
    assert!(server.is_running(), "server survived malformed frames");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_frames_and_oversized_messages_are_refused_with_a_close_code() {
    let (mut server, url) = setup().await;
    let (d, doc) = bystander(&server, &url).await;
    let session = server.login("m1").await;

    let mut ws = raw(&server, &session.token).await;
    ws.send(Message::Text("{\"type\":\"join\"}".into()))
        .await
        .unwrap();
    assert_eq!(
        closed(&mut ws).await,
        Some(CloseCode::Unsupported),
        "text frame"
    );

    let mut ws = raw(&server, &session.token).await;
    handshake(&mut ws, &session.peer_id).await;
    // 100 MB in one frame (the limit is 16 MB).
    let huge = vec![0u8; 100 * 1024 * 1024];
    // The server may close while the frame is still being written.
    let _ = ws.send(Message::Binary(huge.into())).await;
    let code = closed(&mut ws).await;
    assert!(
        matches!(code, Some(CloseCode::Size) | None),
        "oversized message closed with {code:?}"
    );

    bystander_still_syncs(&server, &d, &doc, "after-oversized").await;
    assert!(server.is_running(), "server survived");
    let health = reqwest::get(format!("{}/api/health", server.base()))
        .await
        .unwrap();
    assert!(health.status().is_success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_sync_for_a_forbidden_document_changes_nothing() {
    let (mut server, url) = setup().await;
    let (d, doc) = bystander(&server, &url).await;
    let heads_before = doc.with_document(|x| x.get_heads());
    let doc_id = url.trim_start_matches("automerge:");

    // m1 may not see m2's customer, but sends changes for it anyway.
    let session = server.login("m1").await;
    let mut ws = raw(&server, &session.token).await;
    handshake(&mut ws, &session.peer_id).await;
    let mut forged = AutoCommit::new();
    forged.put(ROOT, "name", "被篡改").unwrap();
    let msg = automerge::sync::Message {
        heads: forged.get_heads(),
        need: vec![],
        have: vec![],
        changes: vec![forged.save()].into(),
        flags: None,
        version: automerge::sync::MessageVersion::V1,
    };
    for kind in ["request", "sync"] {
        let frame = cbor_map(&[
            ("type", Value::Str(kind)),
            ("documentId", Value::Str(doc_id)),
            ("senderId", Value::Str(&session.peer_id)),
            ("targetId", Value::Str("fieldbook-server")),
            ("data", Value::Bytes(msg.clone().encode())),
        ]);
        ws.send(Message::Binary(frame.into())).await.unwrap();
    }
    // The server answers doc-unavailable and sends nothing of the document.
    let reply = tokio::time::timeout(T, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let Message::Binary(bytes) = reply else {
        panic!("expected binary, got {reply:?}")
    };
    assert!(
        bytes.windows(15).any(|w| w == b"doc-unavailable"),
        "refused with doc-unavailable"
    );
    assert!(
        !bytes
            .windows(4)
            .any(|w| w == "恒丰".as_bytes()[..4].as_ref()),
        "no content leaked"
    );

    // Nothing reached the owner's replica or the server's copy.
    bystander_still_syncs(&server, &d, &doc, "owner-visit").await;
    let now = Device::customer(&doc);
    assert_eq!(now.name, "恒丰银行");
    let mut fresh = Device::login(&server, "m2").await;
    fresh.connect().await;
    let copy = fresh.find(&url).await.unwrap();
    wait_for("the fresh copy to have the owner's visit", T, async || {
        (Device::customer(&copy).visits.len() == 1).then_some(())
    })
    .await;
    assert_eq!(
        Device::customer(&copy).name,
        "恒丰银行",
        "the server's copy was not changed"
    );
    assert_ne!(
        heads_before,
        copy.with_document(|x| x.get_heads()),
        "sanity: the owner's own change did arrive"
    );
    assert!(server.is_running());
}

/// The HTTP status of a `/sync` upgrade (101 when it succeeds) and the socket.
async fn upgrade_status(server: &TestServer, token: &str) -> (u16, Option<Ws>, String) {
    use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
    let req = format!("{}?token={token}", server.sync_url())
        .into_client_request()
        .unwrap();
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, resp)) => (resp.status().as_u16(), Some(ws), String::new()),
        Err(tungstenite::Error::Http(resp)) => {
            let body =
                String::from_utf8_lossy(resp.body().as_deref().unwrap_or_default()).to_string();
            (resp.status().as_u16(), None, body)
        }
        Err(e) => panic!("unexpected websocket error {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_connections_from_one_user_is_capped_and_others_keep_syncing() {
    let (mut server, url) = setup().await;
    let (d, doc) = bystander(&server, &url).await;
    let session = server.login("m1").await;
    let cap = fieldbook_server::sync::MAX_CONNECTIONS_PER_USER;
    let mut open = Vec::new();
    for _ in 0..cap {
        let (status, ws, _) = upgrade_status(&server, &session.token).await;
        assert_eq!(status, 101, "connections up to the cap are accepted");
        open.push(ws.unwrap());
    }
    // Many more at once: every one refused with a message, none accepted.
    let flood =
        futures::future::join_all((0..50).map(|_| upgrade_status(&server, &session.token))).await;
    for (status, _, body) in &flood {
        assert_eq!(*status, 429, "over the cap: {body}");
        assert!(
            body.contains("sync connections"),
            "the refusal says why: {body}"
        );
    }
    bystander_still_syncs(&server, &d, &doc, "during-flood").await;

    // Closing one frees its place.
    let mut first = open.remove(0);
    first.close(None).await.unwrap();
    drop(first);
    wait_for("a freed connection slot", T, async || {
        let (status, ws, _) = upgrade_status(&server, &session.token).await;
        (status == 101).then_some(ws)
    })
    .await;
    assert!(server.is_running(), "server survived the flood");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refused_on_sync_and_rest() {
    let (mut server, _url) = setup().await;
    let session = server.login("m1").await;
    let (status, _, _) = upgrade_status(&server, &session.token).await;
    assert_eq!(status, 101, "fresh token accepted");
    // The session's time runs out (as after its 30 days).
    server
        .sql()
        .execute(
            "UPDATE sessions SET expires_at = '2000-01-01T00:00:00.000Z' WHERE peer_id = ?1",
            [&session.peer_id],
        )
        .unwrap();
    let (status, _, body) = upgrade_status(&server, &session.token).await;
    assert_eq!(status, 401, "expired token refused on /sync: {body}");
    let res = reqwest::Client::new()
        .get(format!("{}/api/me", server.base()))
        .bearer_auth(&session.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401, "expired token refused on REST");
    assert!(server.is_running());
}

/// Sync frames for made-up document ids each left a row in `claims`, never
/// cleaned (300 frames, 300 rows). A claim whose document's content never
/// arrives now expires: an hour by default, no time at all here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claims_for_documents_that_never_arrive_expire() {
    let (mut server, url) = setup().await;
    let session = server.login("m1").await;
    let mut ws = raw(&server, &session.token).await;
    handshake(&mut ws, &session.peer_id).await;
    let empty = automerge::sync::Message {
        heads: vec![],
        need: vec![],
        have: vec![],
        changes: Vec::<Vec<u8>>::new().into(),
        flags: None,
        version: automerge::sync::MessageVersion::V1,
    };
    for _ in 0..50 {
        let id = fieldbook_shared::peer::new_document_id();
        let frame = cbor_map(&[
            ("type", Value::Str("sync")),
            ("documentId", Value::Str(&id)),
            ("senderId", Value::Str(&session.peer_id)),
            ("targetId", Value::Str("fieldbook-server")),
            ("data", Value::Bytes(empty.clone().encode())),
        ]);
        ws.send(Message::Binary(frame.into())).await.unwrap();
    }
    let db = server.db.clone();
    let claims = move || -> i64 {
        fieldbook_server::store::sql::Connection::open(&db)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM claims", (), |r| r.get(0))
            .unwrap()
    };
    let made = wait_for("claims for the made-up ids", T, async || {
        let n = claims();
        (n >= 50).then_some(n)
    })
    .await;
    assert_eq!(made, 50);
    drop(ws);
    server.kill();
    server.claim_grace_secs = Some(0);
    server.start().await;
    wait_for("the claims to expire", T, async || {
        (claims() == 0).then_some(())
    })
    .await;
    // Registered customers and their documents are untouched.
    let (d, doc) = bystander(&server, &url).await;
    bystander_still_syncs(&server, &d, &doc, "after-sweep").await;
}

/// An unknown API path answers a JSON 404 (before, the app's HTML page with
/// 200), and the server's log written to a file carries no terminal colours
/// (issue #31).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_api_path_is_a_json_404_and_the_log_file_is_plain() {
    let mut server = TestServer::new();
    server.serve_client();
    server.start().await;
    let token = server.login("m1").await.token;
    let res = reqwest::Client::new()
        .get(format!("{}/api/no-such-thing", server.base()))
        .bearer_auth(&token)
        .send()
        .await
        .expect("GET");
    assert_eq!(res.status().as_u16(), 404);
    let body: serde_json::Value = res.json().await.expect("a JSON body");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("没有这个接口"),
        "{body}"
    );
    // The app itself is still served at other paths.
    let page = reqwest::get(format!("{}/customers/x", server.base()))
        .await
        .expect("GET");
    assert_eq!(page.status().as_u16(), 200);
    let log = server.log_text();
    assert!(log.contains("login"), "the log was written: {log}");
    assert!(!log.contains('\u{1b}'), "no ANSI escapes in the log file");
}
