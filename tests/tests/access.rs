//! Access control on `/sync` and the REST API: who may open which customer.

use std::sync::Arc;
use std::time::Duration;

use fieldbook_shared::book::Book;
use fieldbook_shared::customer::Customer;
use fieldbook_shared::vocab::{Line, Nature};
use fieldbook_tests::{Device, TestServer, WsDialer, wait_for};
use samod::{BackoffConfig, PeerId, Repo};
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};

const T: Duration = Duration::from_secs(20);

fn customer(name: &str) -> Customer {
    Customer::new(name, "", Nature::Government, vec![Line::Postal])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_assigned_managers_their_heads_and_admins_open_a_customer() {
    let mut server = TestServer::new();
    let url = server
        .seed_customer(&customer("东区税务局"), "m1", None)
        .await;
    server.start().await;

    for (user, may) in [
        ("m1", true),     // primary
        ("m2", false),    // same sub-office, not assigned
        ("m3", false),    // another sub-office
        ("head1", true),  // head of the customer's sub-office
        ("headco", true), // head of the parent company: the subtree
        ("head2", false), // head of a sibling sub-office
        ("admin", true),  // the center
    ] {
        let mut d = Device::login(&server, user).await;
        d.connect().await;
        let found = d.find(&url).await;
        assert_eq!(
            found.is_some(),
            may,
            "{user} may open the customer: expected {may}"
        );
        if let Some(doc) = found {
            assert_eq!(Device::customer(&doc).name, "东区税务局");
        }
        let list = server.get_json(&d.session.token, "/api/customers").await;
        let listed = list
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["url"] == url.as_str());
        assert_eq!(
            listed, may,
            "{user} sees the customer in /api/customers: expected {may}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_refuses_missing_and_bad_tokens_and_accepts_all_three_token_forms() {
    let mut server = TestServer::new();
    server.start().await;
    let session = server.login("m1").await;

    async fn status_of(req: tungstenite::handshake::client::Request) -> u16 {
        match tokio_tungstenite::connect_async(req).await {
            Ok((_, resp)) => resp.status().as_u16(),
            Err(tungstenite::Error::Http(resp)) => resp.status().as_u16(),
            Err(e) => panic!("unexpected websocket error {e}"),
        }
    }
    let base = server.sync_url();
    assert_eq!(
        status_of(base.clone().into_client_request().unwrap()).await,
        401,
        "no token"
    );
    assert_eq!(
        status_of(
            format!("{base}?token=garbage")
                .into_client_request()
                .unwrap()
        )
        .await,
        401,
        "garbage token"
    );
    let mut bad_bearer = base.clone().into_client_request().unwrap();
    bad_bearer
        .headers_mut()
        .insert("authorization", "Bearer 0000".parse().unwrap());
    assert_eq!(status_of(bad_bearer).await, 401, "bad bearer");

    assert_eq!(
        status_of(
            format!("{base}?token={}", session.token)
                .into_client_request()
                .unwrap()
        )
        .await,
        101,
        "query token"
    );
    let mut bearer = base.clone().into_client_request().unwrap();
    bearer.headers_mut().insert(
        "authorization",
        format!("Bearer {}", session.token).parse().unwrap(),
    );
    assert_eq!(status_of(bearer).await, 101, "bearer token");
    let mut cookie = base.clone().into_client_request().unwrap();
    cookie.headers_mut().insert(
        "cookie",
        format!("fieldbook_session={}", session.token)
            .parse()
            .unwrap(),
    );
    assert_eq!(status_of(cookie).await, 101, "session cookie");

    // REST answers 401 the same way, with a message, and no token leaks into the log.
    let res = reqwest::get(format!("{}/api/me", server.base()))
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: serde_json::Value = res.json().await.unwrap();
    // In Chinese unless the request asks for English (language.rs).
    assert!(
        body["error"].as_str().unwrap().contains("请先登录"),
        "{body}"
    );
    let bad_login = reqwest::Client::new()
        .post(format!("{}/api/login", server.base()))
        .json(&serde_json::json!({"username": "m1", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    let unknown = reqwest::Client::new()
        .post(format!("{}/api/login", server.base()))
        .json(&serde_json::json!({"username": "nobody", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_login.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert_eq!(
        bad_login.text().await.unwrap(),
        unknown.text().await.unwrap(),
        "same answer for unknown user and wrong password"
    );
    assert!(
        !server.log_text().contains(&session.token),
        "the token appears in the server log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_cannot_claim_another_sessions_identity() {
    let mut server = TestServer::new();
    let url = server
        .seed_customer(&customer("南区邮政客户"), "m1", None)
        .await;
    server.start().await;
    let session = server.login("m1").await;

    // Valid token, but the handshake announces a different peer id.
    let repo = Repo::build_tokio()
        .with_peer_id(PeerId::from("fb-someone-else"))
        .load()
        .await;
    let dialer = WsDialer {
        url: server.sync_url().parse().unwrap(),
        token: session.token.clone(),
        wire: Default::default(),
    };
    let backoff = BackoffConfig {
        initial_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(50),
        max_retries: Some(2),
    };
    let handle = repo.dial(backoff, Arc::new(dialer)).unwrap();
    let outcome = tokio::time::timeout(T, handle.established())
        .await
        .expect("dialer gives up");
    assert!(
        outcome.is_err(),
        "a mismatched peer id must not complete the handshake"
    );
    let id = url.trim_start_matches("automerge:").parse().unwrap();
    let found = tokio::time::timeout(T, repo.find(id))
        .await
        .unwrap()
        .unwrap();
    assert!(found.is_none(), "nothing synced to the impostor");
    repo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn books_are_written_by_the_server_alone() {
    let mut server = TestServer::new();
    let url = server
        .seed_customer(&customer("北区银行"), "m1", None)
        .await;
    server.start().await;
    let mut d = Device::login(&server, "m1").await;
    d.connect().await;
    let book = d.find(&d.session.user.book_url).await.expect("own book");
    wait_for("the book to list the customer", T, async || {
        book.with_document(|doc| Book::load(doc).ok())
            .filter(|b| b.customers == [url.clone()])
            .map(|_| ())
    })
    .await;

    // The device tries to add a customer to its own book.
    book.with_document(|doc| {
        doc.transact(|tx| {
            let mut b = Book::load(tx).unwrap();
            b.customers
                .push("automerge:2FPgKkLMa1LanXejHJtDMD1ebhAz".into());
            b.save(tx)
        })
    })
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Another device of the same user sees the server's book, unchanged.
    let mut fresh = Device::login(&server, "m1").await;
    fresh.connect().await;
    let other = fresh
        .find(&fresh.session.user.book_url)
        .await
        .expect("book");
    let b = other.with_document(|doc| Book::load(doc)).unwrap();
    assert_eq!(b.customers, std::slice::from_ref(&url));

    // Another user cannot open it at all.
    let mut m2 = Device::login(&server, "m2").await;
    m2.connect().await;
    assert!(m2.find(&d.session.user.book_url).await.is_none());
}

/// The server writes every user's book when it starts, without waiting for a
/// login: a user added while it was down gets a book, and so does everyone
/// else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn books_are_written_after_the_start_without_a_login() {
    let mut server = TestServer::new();
    server.start().await;
    let without_book = |server: &TestServer| -> i64 {
        server
            .sql()
            .query_row(
                "SELECT COUNT(*) FROM users WHERE book_doc IS NULL",
                (),
                |r| r.get(0),
            )
            .expect("count")
    };
    wait_for("every seeded user's book", T, async || {
        (without_book(&server) == 0).then_some(())
    })
    .await;
    server.kill();
    fieldbook_server::store::db::Db::open(server.db.clone())
        .and_then(|d| {
            d.blocking(|c| {
                fieldbook_server::auth::add_user(
                    c,
                    "latecomer",
                    "",
                    "a long enough password",
                    &fieldbook_shared::vocab::Role::Manager,
                    "so1",
                )?;
                Ok(())
            })
        })
        .expect("add a user while the server is down");
    assert_eq!(without_book(&server), 1);
    server.start().await;
    wait_for("the latecomer's book, with no login", T, async || {
        (without_book(&server) == 0).then_some(())
    })
    .await;
}
