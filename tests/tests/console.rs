//! The console's server side: units and users run by the center, devices signed
//! out at once, and customers handed over between managers live.

use std::time::Duration;

use fieldbook_shared::book::Book;
use fieldbook_shared::customer::Customer;
use fieldbook_shared::vocab::{Line, Nature};
use fieldbook_tests::raw_ws::{closed, raw};
use fieldbook_tests::{Device, PASSWORD, TestServer, wait_for};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const T: Duration = Duration::from_secs(20);

async fn call(
    server: &TestServer,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let res = reqwest::Client::new()
        .request(method, format!("{}{path}", server.base()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn post(server: &TestServer, token: &str, path: &str, body: Value) -> (u16, Value) {
    call(server, reqwest::Method::POST, token, path, body).await
}

async fn status_of(server: &TestServer, token: &str, path: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}{path}", server.base()))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET")
        .status()
        .as_u16()
}

async fn login_status(server: &TestServer, username: &str, password: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/api/login", server.base()))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("login")
        .status()
        .as_u16()
}

/// Whether `device`'s book lists `url`, once that equals `want`.
async fn book_lists(device: &Device, url: &str, want: bool) {
    let book = device
        .find(&device.session.user.book_url)
        .await
        .expect("book");
    wait_for(
        &format!(
            "{}'s book to list the customer: {want}",
            device.session.user.username
        ),
        T,
        async || {
            let b = book.with_document(|d| Book::load(d).ok())?;
            (b.customers.iter().any(|c| c == url) == want).then_some(())
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_over_moves_the_customer_between_two_tablets_live() {
    let mut server = TestServer::new();
    let url = server
        .seed_customer(
            &Customer::new(
                "交接测试有限公司",
                "",
                Nature::Enterprise,
                vec![Line::Delivery],
            ),
            "m1",
            None,
        )
        .await;
    server.start().await;
    let id = url.trim_start_matches("automerge:").to_string();
    let mut old = Device::login(&server, "m1").await;
    let mut new = Device::login(&server, "m2").await;
    old.connect().await;
    new.connect().await;
    book_lists(&old, &url, true).await;
    assert!(new.find(&url).await.is_none(), "m2 may not open it yet");

    // Only a head over both, or the center, hands a customer over.
    let assign = format!("/api/customers/{id}/assign");
    let tok = async |u: &str| server.login(u).await.token;
    let (head1, head2, m1) = (tok("head1").await, tok("head2").await, tok("m1").await);
    let body = json!({"primary": "m2", "note": "经理调岗"});
    assert_eq!(post(&server, &m1, &assign, body.clone()).await.0, 403);
    assert_eq!(post(&server, &head2, &assign, body.clone()).await.0, 403);
    let (s, _) = post(&server, &head1, &assign, json!({"primary": "m3"})).await;
    assert_eq!(s, 403, "m3 is in West, outside head1's unit");
    let (s, _) = post(&server, &head1, &assign, json!({"primary": "nobody"})).await;
    assert_eq!(s, 400);

    let (s, h) = post(&server, &head1, &assign, body).await;
    assert_eq!(s, 200, "{h}");
    assert_eq!(
        (&h["from_primary"], &h["to_primary"], &h["by"]),
        (&json!("m1"), &json!("m2"), &json!("head1"))
    );

    // Live: the new manager's tablet receives it with the hand-over on it,
    // the old one's book drops it and a fresh device of m1 cannot open it.
    book_lists(&new, &url, true).await;
    let doc = wait_for("m2 to open the customer", T, async || new.find(&url).await).await;
    let got = wait_for("the hand-over on the document", T, async || {
        let c = Device::customer(&doc);
        (!c.handovers.is_empty()).then_some(c)
    })
    .await;
    assert_eq!(got.handovers[0].note, "经理调岗");
    assert_eq!(got.handovers[0].to_primary, "m2");
    book_lists(&old, &url, false).await;
    let mut fresh = Device::login(&server, "m1").await;
    fresh.connect().await;
    assert!(fresh.find(&url).await.is_none(), "m1 lost access");

    let m2 = tok("m2").await;
    let row = server.customer_row(&m2, &url, |c| c["owner"] == "m2").await;
    assert_eq!(row["unit"], "so1");
    let list = server
        .get_json(&m2, &format!("/api/customers/{id}/handovers"))
        .await;
    assert_eq!(list[0]["from_primary"], "m1");
    assert_eq!(list[0]["by"], "head1");
    assert_eq!(
        status_of(&server, &m1, &format!("/api/customers/{id}/handovers")).await,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_a_user_or_revoking_a_device_stops_its_sync_at_once() {
    let mut server = TestServer::new();
    let url = server
        .seed_customer(
            &Customer::new("停用测试公司", "", Nature::Enterprise, vec![]),
            "m1",
            None,
        )
        .await;
    server.start().await;
    let admin = server.login("admin").await.token;
    let m1 = server.login("m1").await;
    let mut ws = raw(&server, &m1.token).await;
    // Managers do not run the org.
    let (s, _) = post(
        &server,
        &m1.token,
        "/api/users/m2",
        json!({"disabled": true}),
    )
    .await;
    assert_eq!(s, 403);

    let (s, row) = post(&server, &admin, "/api/users/m1", json!({"disabled": true})).await;
    assert_eq!(s, 200, "{row}");
    assert_eq!(row["disabled"], true);
    assert_eq!(
        closed(&mut ws).await,
        Some(CloseCode::Policy),
        "its websocket closes"
    );
    assert_eq!(
        status_of(&server, &m1.token, "/api/me").await,
        401,
        "its token is refused"
    );
    assert_eq!(login_status(&server, "m1", PASSWORD).await, 401);
    // What it synced stays on the server.
    server.customer_row(&admin, &url, |_| true).await;
    let (s, _) = post(&server, &admin, "/api/users/m1", json!({"disabled": false})).await;
    assert_eq!(s, 200);
    assert_eq!(login_status(&server, "m1", PASSWORD).await, 200);

    // Revoking one device leaves the user's other devices alone.
    let (a, b) = (server.login("m2").await, server.login("m2").await);
    let (mut ws_a, mut ws_b) = (raw(&server, &a.token).await, raw(&server, &b.token).await);
    let sessions = server.get_json(&admin, "/api/users/m2/sessions").await;
    assert_eq!(sessions.as_array().unwrap().len(), 2);
    let (s, _) = call(
        &server,
        reqwest::Method::DELETE,
        &admin,
        &format!("/api/sessions/{}", a.peer_id),
        Value::Null,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(closed(&mut ws_a).await, Some(CloseCode::Policy));
    assert_eq!(status_of(&server, &a.token, "/api/me").await, 401);
    assert_eq!(status_of(&server, &b.token, "/api/me").await, 200);
    // The other device's websocket is still open: it still answers a ping.
    use futures::{SinkExt, StreamExt};
    ws_b.send(tokio_tungstenite::tungstenite::Message::Ping(
        vec![7].into(),
    ))
    .await
    .unwrap();
    let pong = tokio::time::timeout(T, ws_b.next())
        .await
        .expect("an answer");
    assert!(
        matches!(
            pong,
            Some(Ok(tokio_tungstenite::tungstenite::Message::Pong(_)))
        ),
        "{pong:?}"
    );
    // A signed-out device is told nothing more: only a wiped one deletes.
    let (s, body) = call(
        &server,
        reqwest::Method::GET,
        &a.token,
        "/api/me",
        Value::Null,
    )
    .await;
    assert_eq!((s, body.get("wipe")), (401, None), "{body}");

    // Wiping a device: only the center may; the device is signed out at
    // once and told, at each call with its old token, to delete its copy;
    // it says when it has, and the console lists both.
    let m2 = server.login("m2").await.token;
    let (s, _) = post(
        &server,
        &m2,
        &format!("/api/sessions/{}/wipe", b.peer_id),
        Value::Null,
    )
    .await;
    assert_eq!(s, 403, "a manager cannot wipe devices");
    let (s, _) = post(
        &server,
        &admin,
        "/api/sessions/no-such-peer/wipe",
        Value::Null,
    )
    .await;
    assert_eq!(s, 404);
    let (s, _) = post(
        &server,
        &admin,
        &format!("/api/sessions/{}/wipe", b.peer_id),
        Value::Null,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(closed(&mut ws_b).await, Some(CloseCode::Policy));
    let (s, body) = call(
        &server,
        reqwest::Method::GET,
        &b.token,
        "/api/me",
        Value::Null,
    )
    .await;
    assert_eq!((s, &body["wipe"]), (401, &Value::Bool(true)), "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("远程清除"),
        "{body}"
    );
    assert_eq!(
        status_of(&server, &m2, "/api/me").await,
        200,
        "other devices stay"
    );
    let listed = server.get_json(&admin, "/api/users/m2/sessions").await;
    let wiped: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["peer_id"] == b.peer_id.as_str())
        .collect();
    assert_eq!(wiped.len(), 1, "{listed}");
    assert!(!wiped[0]["wiped_at"].as_str().unwrap().is_empty());
    assert_eq!(wiped[0]["wipe_confirmed_at"], "");
    let (s, _) = post(&server, &b.token, "/api/wiped", Value::Null).await;
    assert_eq!(s, 200);
    let (s, _) = post(&server, &b.token, "/api/wiped", Value::Null).await;
    assert_eq!(s, 404, "said once");
    let (s, _) = post(&server, &m2, "/api/wiped", Value::Null).await;
    assert_eq!(s, 404, "a device not wiped has nothing to say");
    let listed = server.get_json(&admin, "/api/users/m2/sessions").await;
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["peer_id"] == b.peer_id.as_str()
                && !r["wipe_confirmed_at"].as_str().unwrap().is_empty()),
        "{listed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_center_adds_units_and_users_moves_them_and_resets_passwords() {
    let mut server = TestServer::new();
    server.start().await;
    let admin = server.login("admin").await.token;
    let head1 = server.login("head1").await.token;

    let (s, _) = post(
        &server,
        &head1,
        "/api/units",
        json!({"code": "so3", "name": "北区支局", "parent": "co1"}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = post(
        &server,
        &admin,
        "/api/units",
        json!({"code": "so3", "name": "北区支局", "parent": "nowhere"}),
    )
    .await;
    assert_eq!(s, 400);
    let (s, _) = post(
        &server,
        &admin,
        "/api/units",
        json!({"code": "so3", "name": "北区支局", "parent": "co1"}),
    )
    .await;
    assert_eq!(s, 200);
    let units = server.get_json(&head1, "/api/units").await;
    assert!(
        units
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["code"] == "so3" && u["parent"] == "co1"),
        "{units}"
    );

    let new_user = json!({"username": "m9", "display_name": "新经理", "password": "secret99", "role": "manager", "unit": "so3"});
    let (s, row) = post(&server, &admin, "/api/users", new_user.clone()).await;
    assert_eq!(s, 200, "{row}");
    assert_eq!(post(&server, &admin, "/api/users", new_user).await.0, 409);
    assert_eq!(login_status(&server, "m9", "secret99").await, 200);
    let sees = async |token: &str| -> bool {
        let users = server.get_json(token, "/api/users").await;
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "m9")
    };
    assert!(!sees(&head1).await, "m9 is not in head1's unit yet");

    let (s, row) = post(&server, &admin, "/api/users/m9", json!({"unit": "so1"})).await;
    assert_eq!((s, &row["unit"]), (200, &json!("so1")));
    assert!(sees(&head1).await, "moved into head1's unit");
    let (s, _) = post(&server, &admin, "/api/users/m9", json!({"unit": "mars"})).await;
    assert_eq!(s, 400);

    let (s, _) = post(&server, &admin, "/api/users/m9", json!({"password": "123"})).await;
    assert_eq!(s, 400, "too short");
    let (s, _) = post(
        &server,
        &admin,
        "/api/users/m9",
        json!({"password": "seven77"}),
    )
    .await;
    assert_eq!(s, 400, "seven characters are too short (issue #30)");
    let (s, _) = post(
        &server,
        &admin,
        "/api/users/m9",
        json!({"password": "another9"}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(login_status(&server, "m9", "secret99").await, 401);
    assert_eq!(login_status(&server, "m9", "another9").await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_names_who_changed_which_field_including_offline_edits() {
    use fieldbook_shared::customer;
    let mut server = TestServer::new();
    let url = server
        .seed_customer(
            &Customer::new("历史记录公司", "", Nature::Enterprise, vec![]),
            "m1",
            Some("m2"),
        )
        .await;
    server.start().await;
    let id = url.trim_start_matches("automerge:").to_string();
    // Seeded straight into storage, as by an earlier release: projected (its
    // first change recorded, with no deliverer) before any tablet echoes it.
    let m1_token = server.login("m1").await.token;
    wait_for("the seeded customer projected", T, async || {
        let list = server.get_json(&m1_token, "/api/customers").await;
        list.as_array()?
            .iter()
            .any(|c| c["name"] == "历史记录公司")
            .then_some(())
    })
    .await;
    let edit = |doc: &samod::DocHandle, field: &'static str, value: &'static str| {
        doc.with_document(|d| {
            d.transact(|tx| customer::set_field(tx, field, value))
                .unwrap()
        });
    };

    // m1 edits the address offline; it reaches the server when m1 reconnects.
    let mut m1 = Device::login(&server, "m1").await;
    m1.connect().await;
    let doc1 = m1.find(&url).await.expect("m1 opens it");
    m1.disconnect();
    edit(&doc1, "address", "上海市浦东新区");
    m1.connect().await;
    m1.wait_synced(&doc1).await;
    // m2 (the assistant) sets the industry online.
    let mut m2 = Device::login(&server, "m2").await;
    m2.connect().await;
    let doc2 = m2.find(&url).await.expect("m2 opens it");
    wait_for("m1's edit on m2's device", T, async || {
        (Device::customer(&doc2).address == "上海市浦东新区").then_some(())
    })
    .await;
    edit(&doc2, "industry", "物流");
    m2.wait_synced(&doc2).await;
    // The head hands it over: a change the server writes for head1.
    let head1 = server.login("head1").await.token;
    let (s, _) = post(
        &server,
        &head1,
        &format!("/api/customers/{id}/assign"),
        json!({"primary": "m2", "assistant": "m1"}),
    )
    .await;
    assert_eq!(s, 200);

    let token = server.login("m2").await.token;
    let history = wait_for("the three changes in the history", T, async || {
        let h = server
            .get_json(&token, &format!("/api/customers/{id}/history"))
            .await;
        let h = h.as_array()?.clone();
        let named = h.iter().filter(|e| e["user"] != "").count();
        let dated = h.iter().all(|e| e["at"] != "");
        (named == 3 && dated).then_some(h)
    })
    .await;
    let find = |field: &str| {
        history
            .iter()
            .find(|e| {
                e["changes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["field"] == field)
            })
            .unwrap_or_else(|| panic!("no change of {field}: {history:?}"))
            .clone()
    };
    let address = find("地址");
    assert_eq!(address["user"], "m1", "the offline edit is m1's");
    // And the name people read (the display name, the username without one).
    assert_eq!(address["user_name"], "m1");
    assert_eq!(address["changes"][0]["to"], "上海市浦东新区");
    assert_eq!(address["changes"][0]["from"], "");
    assert!(!address["at"].as_str().unwrap().is_empty());
    assert_eq!(find("行业")["user"], "m2");
    let handover = find("客户交接");
    assert_eq!(handover["user"], "head1");
    assert_eq!(handover["changes"][0]["from"], "m1");
    assert_eq!(handover["changes"][0]["to"], "m2");
    assert_eq!(history[0], handover, "newest first");

    // m2 writes as m1's device (the actor every sharer of the document sees):
    // the change is still m2's, the user whose connection delivered it
    // (issue #30; before, the history named m1).
    let m1_actor = doc1.with_document(|d| d.get_actor().clone());
    doc2.with_document(|d| {
        d.set_actor(m1_actor);
    });
    edit(&doc2, "address", "伪造的地址");
    m2.wait_synced(&doc2).await;
    let forged = wait_for("the forged edit in the history", T, async || {
        let h = server
            .get_json(&token, &format!("/api/customers/{id}/history"))
            .await;
        h.as_array()?
            .iter()
            .find(|e| e["changes"][0]["to"] == "伪造的地址")
            .cloned()
    })
    .await;
    assert_eq!(forged["user"], "m2", "named by its deliverer: {forged}");
    assert_eq!(
        forged["device"], address["device"],
        "written as m1's device"
    );
    // Someone who cannot see the customer cannot read its history.
    let m3 = server.login("m3").await.token;
    assert_eq!(
        status_of(&server, &m3, &format!("/api/customers/{id}/history")).await,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_is_described_by_an_openapi_document() {
    let mut server = TestServer::new();
    server.start().await;
    let doc: Value = reqwest::get(format!("{}/api/openapi.json", server.base()))
        .await
        .expect("GET /api/openapi.json")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["openapi"], "3.1.0");
    for (path, method) in [
        ("/api/customers", "get"),
        ("/api/customers/{id}/assign", "post"),
        ("/api/rules", "put"),
        ("/api/reports", "get"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    let summary = &doc["components"]["schemas"]["CustomerSummary"]["properties"];
    assert!(summary["managed_as"].is_object(), "{summary}");
}

/// Every refusal a person reads is in one language: Chinese by default (the
/// operator's), English when the request asks for it (`Accept-Language`);
/// the framework's own plain-text refusals too, as the same JSON shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_said_in_the_language_asked_for() {
    let mut server = TestServer::new();
    server.start().await;
    let admin = server.login("admin").await.token;
    let ask = async |language: &str, method: reqwest::Method, path: &str, body: &str| {
        let mut req = reqwest::Client::new()
            .request(method, format!("{}{path}", server.base()))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(body.to_string());
        if !language.is_empty() {
            req = req.header("accept-language", language);
        }
        let res = req.send().await.expect("request");
        let (status, kind) = (
            res.status().as_u16(),
            res.headers()["content-type"].to_str().unwrap().to_string(),
        );
        let body: Value = res.json().await.expect("a JSON refusal");
        assert!(kind.starts_with("application/json"), "{path}: {kind}");
        (
            status,
            body["error"].as_str().unwrap_or_default().to_string(),
        )
    };
    let chinese = |m: &str| m.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    use reqwest::Method as M;
    let cases = [
        (
            M::GET,
            "/api/customers/nope/history",
            "",
            404,
            "没有这个客户",
            "no customer",
        ),
        (
            M::GET,
            "/api/nowhere",
            "",
            404,
            "没有这个接口",
            "no such API path",
        ),
        (
            M::POST,
            "/api/users/admin",
            r#"{"disabled": true}"#,
            400,
            "不能停用自己的账号",
            "cannot disable your own",
        ),
        (
            M::POST,
            "/api/users",
            r#"{"username": "x"}"#,
            422,
            "请求无法处理",
            "the request was refused",
        ),
        (
            M::GET,
            "/api/reports?from=2026-13&to=2026-12",
            "",
            400,
            "期间应为",
            "the period must be",
        ),
    ];
    for (method, path, body, status, zh, en) in cases {
        for language in ["", "zh-CN,zh;q=0.9", "en-US,en;q=0.9"] {
            let (s, message) = ask(language, method.clone(), path, body).await;
            assert_eq!(s, status, "{path} {language}: {message}");
            if language.starts_with("en") {
                assert!(
                    message.contains(en) && !chinese(&message),
                    "{path}: {message}"
                );
            } else {
                assert!(
                    message.contains(zh) && !message.contains(en),
                    "{path}: {message}"
                );
                assert!(!message.contains(" / "), "one language: {message}");
            }
        }
    }
}

/// The escrow key of a tablet's local data key (`client/src/keyring.rs`):
/// the same for a user's device every time, another for another user or
/// device, only to the signed-in user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_devices_escrow_key_is_its_users_alone() {
    let mut server = TestServer::new();
    server.start().await;
    let (m1, m2) = (
        server.login("m1").await.token,
        server.login("m2").await.token,
    );
    let device = "0123456789abcdef0123456789abcdef";
    let key = async |token: &str, device: &str| {
        post(
            &server,
            token,
            "/api/device-key",
            serde_json::json!({ "device": device }),
        )
        .await
    };
    let (s, first) = key(&m1, device).await;
    assert_eq!(s, 200);
    let first = first["key"].as_str().unwrap().to_string();
    assert_eq!(first.len(), 64);
    assert_eq!(
        key(&m1, device).await.1["key"],
        first.as_str(),
        "the same again"
    );
    // A new login of the same user on the same device: the same key.
    let again = server.login("m1").await.token;
    assert_eq!(key(&again, device).await.1["key"], first.as_str());
    assert_ne!(
        key(&m2, device).await.1["key"],
        first.as_str(),
        "another user's"
    );
    assert_ne!(
        key(&m1, "fedcba9876543210fedcba9876543210").await.1["key"],
        first.as_str(),
        "another device's"
    );
    assert_eq!(key(&m1, "not-hex").await.0, 400);
    assert_eq!(key("no-such-token", device).await.0, 401);
}
