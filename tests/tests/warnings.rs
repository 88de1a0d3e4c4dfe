//! The bad-credit warning list: a manager reports, the center confirms, and every
//! user's device receives the warning in the shared document (readable offline).

use std::time::Duration;

use fieldbook_shared::credit::WarningList;
use fieldbook_tests::{Device, TestServer, wait_for};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);

async fn post(server: &TestServer, token: &str, path: &str, body: Value) -> (u16, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}{path}", server.base()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reported_confirmed_and_on_every_device() {
    let mut server = TestServer::new();
    server.start().await;
    let m1 = server.login("m1").await;
    let admin = server.login("admin").await;

    // Bad reports are refused with a reason.
    let (s, body) = post(
        &server,
        &m1.token,
        "/api/warnings",
        json!({"name": "某公司", "kind": "nonsense"}),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("deliberate_arrears"),
        "{body}"
    );
    let (s, _) = post(
        &server,
        &m1.token,
        "/api/warnings",
        json!({"name": " ", "kind": "other"}),
    )
    .await;
    assert_eq!(s, 400);

    let (s, report) = post(
        &server,
        &m1.token,
        "/api/warnings",
        json!({"name": "坑人贸易有限公司", "credit_code": "91310000bad0000001", "kind": "deliberate_arrears", "note": "连续六个月拖欠"}),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(report["status"], "reported");
    let id = report["id"].as_i64().unwrap();

    // Only the center decides.
    let (s, _) = post(
        &server,
        &m1.token,
        &format!("/api/warnings/{id}/confirm"),
        json!({}),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = post(
        &server,
        &admin.token,
        "/api/warnings/9999/confirm",
        json!({}),
    )
    .await;
    assert_eq!(s, 404);
    let (s, confirmed) = post(
        &server,
        &admin.token,
        &format!("/api/warnings/{id}/confirm"),
        json!({}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(confirmed["status"], "confirmed");

    // A manager of another unit gets it on the device, and a match is found by name or code.
    let mut d = Device::login(&server, "m3").await;
    d.connect().await;
    let url = d.session.user.warnings_url.clone();
    assert!(url.starts_with("automerge:"));
    let doc = d
        .find(&url)
        .await
        .expect("every user may read the warning list");
    let list = wait_for("the confirmed warning on the device", T, async || {
        doc.with_document(|x| WarningList::load(x).ok())
            .filter(|l| !l.entries.is_empty())
    })
    .await;
    assert_eq!(list.entries[0].kind, "deliberate_arrears");
    assert_eq!(list.matching("坑人贸易", "").len(), 1);
    assert_eq!(list.matching("换了个名字", "91310000BAD0000001").len(), 1);
    assert!(
        list.entries.iter().all(|w| !w.name.is_empty()),
        "who and which kind, no case notes"
    );

    // Managers see confirmed warnings in the API; the note stays with the center.
    let rows = server.get_json(&d.session.token, "/api/warnings").await;
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(
        rows[0]["note"], "",
        "another manager does not get the case notes"
    );
    let own = server.get_json(&m1.token, "/api/warnings").await;
    assert_eq!(
        own[0]["note"], "连续六个月拖欠",
        "the reporter keeps their note"
    );
}
