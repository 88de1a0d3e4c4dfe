//! The real JS automerge-repo client (npm @automerge/automerge-repo with its
//! websocket adapter, run by node) against our server, with a Rust client of the
//! same manager on the other side.

use std::time::Duration;

use fieldbook_shared::customer::{self, Visit};
use fieldbook_shared::vocab::{ContactRole, Line, Nature};
use fieldbook_tests::{Device, PASSWORD, TestServer, js, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_client_registers_a_customer_and_reads_a_rust_visit() {
    let mut server = TestServer::new();
    server.start().await;
    let base = server.base();

    // JS logs in as m1 and creates a customer; it returns once the server lists it.
    let created = tokio::task::spawn_blocking(move || {
        js::run(&["create", &base, "m1", PASSWORD, "JS创建的客户有限公司"])
    })
    .await
    .unwrap();
    let url = created["url"].as_str().expect("url").to_string();

    // A Rust device of the same manager finds it with its content.
    let mut rust = Device::login(&server, "m1").await;
    rust.connect().await;
    let doc = rust
        .find(&url)
        .await
        .expect("the Rust client finds the JS document");
    let c = Device::customer(&doc);
    assert_eq!(c.name, "JS创建的客户有限公司");
    assert_eq!(c.nature, Nature::Enterprise);
    assert_eq!(c.lines, [Line::Delivery, Line::Letter]);
    assert_eq!(c.contacts[0].name, "赵经理");
    assert_eq!(c.contacts[0].role, ContactRole::Handler);
    assert_eq!(c.ledger[0].amount_fen, 1_234_500);

    // The registration is the JS client's manager's.
    let list = server.get_json(&rust.session.token, "/api/customers").await;
    let row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["url"] == url.as_str())
        .expect("listed")
        .clone();
    assert_eq!(row["owner"], "m1");

    // Rust logs a visit; JS reads it back.
    let visit = Visit {
        id: "rust-v1".into(),
        date: "2026-11-22".into(),
        summary: "在Rust端记录的拜访".into(),
        ..Default::default()
    };
    doc.with_document(|d| d.transact(|tx| customer::add_visit(tx, &visit)))
        .unwrap();
    rust.wait_synced(&doc).await;
    let base = server.base();
    let u = url.clone();
    let read =
        tokio::task::spawn_blocking(move || js::run(&["read", &base, "m1", PASSWORD, &u, "1"]))
            .await
            .unwrap();
    assert_eq!(read["visits"][0]["id"], "rust-v1");
    assert_eq!(read["visits"][0]["summary"], "在Rust端记录的拜访");
    assert_eq!(read["name"], "JS创建的客户有限公司");

    // Another manager's JS client cannot read it.
    let base = server.base();
    let u = url.clone();
    let refused = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .args(["interop.mjs", "read", &base, "m3", PASSWORD, &u, "0"])
            .current_dir(js::dir())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        !refused.status.success(),
        "m3's JS client is refused the document"
    );
    let out = String::from_utf8_lossy(&refused.stdout);
    assert!(
        !out.contains("JS创建的客户"),
        "m3's JS client must not receive the content: {out}"
    );

    // The server's projection caught the visit too.
    let token = rust.session.token.clone();
    wait_for(
        "the visit in the projection",
        Duration::from_secs(20),
        async || {
            let list = server.get_json(&token, "/api/customers").await;
            list.as_array()?
                .iter()
                .find(|r| r["url"] == url.as_str() && r["visit_count"] == 1)
                .map(|_| ())
        },
    )
    .await;
}
