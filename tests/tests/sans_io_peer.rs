//! Our sans-IO peer (the one the browser runs) against the real server, beside
//! samod devices and the JS automerge-repo client.

use std::time::Duration;

use automerge::Automerge;
use fieldbook_shared::customer::{self, Customer, Visit};
use fieldbook_shared::peer::Effect;
use fieldbook_shared::vocab::{Line, Nature};
use fieldbook_tests::native_peer::NativePeer;
use fieldbook_tests::{Device, PASSWORD, TestServer, js, wait_for};

const T: Duration = Duration::from_secs(20);

fn id(url: &str) -> String {
    url.trim_start_matches("automerge:").to_string()
}

fn visit(id: &str, summary: &str) -> Visit {
    Visit {
        id: id.into(),
        date: "2026-11-22".into(),
        summary: summary.into(),
        ..Default::default()
    }
}

fn visits_of(p: &NativePeer, doc: &str) -> Vec<String> {
    let mut v: Vec<String> = p
        .with(|peer| peer.document(doc).and_then(|d| Customer::load(d).ok()))
        .map(|c| c.visits.into_iter().map(|v| v.id).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_both_ways_with_a_samod_device_and_survives_going_offline() {
    let mut server = TestServer::new();
    let url = server
        .seed_customer(
            &Customer::new(
                "锦江宾馆有限公司",
                "",
                Nature::Enterprise,
                vec![Line::Delivery],
            ),
            "m1",
            None,
        )
        .await;
    server.start().await;
    let doc = id(&url);

    let mut ours = NativePeer::login(&server, "m1").await;
    ours.connect().await;
    ours.with(|p| p.find(doc.clone()));
    let name = wait_for("our peer to receive the customer", T, async || {
        ours.with(|p| {
            p.document(&doc)
                .and_then(|d| Customer::load(d).ok())
                .map(|c| c.name)
        })
    })
    .await;
    assert_eq!(name, "锦江宾馆有限公司");
    assert!(
        ours.effects
            .lock()
            .unwrap()
            .iter()
            .any(|e| matches!(e, Effect::Persist { doc_id, .. } if *doc_id == doc)),
        "received changes are persisted"
    );

    // Ours -> server -> samod device.
    ours.with(|p| {
        p.change(&doc, |d| {
            d.transact(|tx| customer::add_visit(tx, &visit("ours", "我们的拜访")))
        })
    })
    .unwrap()
    .unwrap();
    let mut device = Device::login(&server, "m1").await;
    device.connect().await;
    let handle = device.find(&url).await.expect("device opens");
    wait_for("the device to see our visit", T, async || {
        Device::customer(&handle)
            .visits
            .iter()
            .any(|v| v.id == "ours")
            .then_some(())
    })
    .await;
    wait_for("the server to acknowledge", T, async || {
        (ours.with(|p| p.pending_changes()) == 0).then_some(())
    })
    .await;
    assert!(ours.with(|p| p.last_synced_ms()).is_some());

    // Samod device -> server -> ours.
    handle
        .with_document(|d| d.transact(|tx| customer::add_visit(tx, &visit("device", "设备的拜访"))))
        .unwrap();
    wait_for("our peer to see the device's visit", T, async || {
        (visits_of(&ours, &doc) == ["device", "ours"]).then_some(())
    })
    .await;

    // Offline on both, then reconnect: converge.
    ours.disconnect().await;
    device.disconnect();
    ours.with(|p| {
        p.change(&doc, |d| {
            d.transact(|tx| customer::add_visit(tx, &visit("ours-offline", "离线")))
        })
    })
    .unwrap()
    .unwrap();
    assert_eq!(
        ours.with(|p| p.pending_changes()),
        1,
        "one change not yet on the server"
    );
    handle
        .with_document(|d| {
            d.transact(|tx| customer::add_visit(tx, &visit("device-offline", "离线2")))
        })
        .unwrap();
    ours.connect().await;
    device.connect().await;
    let all = ["device", "device-offline", "ours", "ours-offline"];
    wait_for("our peer to converge", T, async || {
        (visits_of(&ours, &doc) == all).then_some(())
    })
    .await;
    wait_for("the device to converge", T, async || {
        let mut v: Vec<String> = Device::customer(&handle)
            .visits
            .into_iter()
            .map(|v| v.id)
            .collect();
        v.sort();
        (v == all).then_some(())
    })
    .await;
    wait_for("nothing pending", T, async || {
        (ours.with(|p| p.pending_changes()) == 0).then_some(())
    })
    .await;

    // What was persisted reloads into the same document.
    let chunks: Vec<Vec<u8>> = ours
        .effects
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Effect::Persist {
                doc_id,
                bytes,
                compacted,
            } if *doc_id == doc => Some((*compacted, bytes.clone())),
            _ => None,
        })
        .fold(Vec::new(), |mut acc, (compacted, b)| {
            if compacted {
                acc.clear();
            }
            acc.push(b);
            acc
        });
    let mut reloaded = fieldbook_shared::peer::Peer::new("reload".into());
    reloaded.load_document(doc.clone(), chunks).unwrap();
    let heads = ours.with(|p| p.document(&doc).unwrap().get_heads());
    assert_eq!(
        reloaded.document(&doc).unwrap().get_heads(),
        heads,
        "persisted chunks rebuild the document"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registers_a_new_customer_and_is_refused_what_it_may_not_see() {
    let mut server = TestServer::new();
    let forbidden = server
        .seed_customer(
            &Customer::new("别人的客户", "", Nature::Enterprise, vec![]),
            "m3",
            None,
        )
        .await;
    server.start().await;
    let mut ours = NativePeer::login(&server, "m1").await;

    // Registered offline, synced later.
    let mut doc = Automerge::new();
    let c = Customer::new(
        "离线报备有限公司",
        "91310000MA1PEER01",
        Nature::Enterprise,
        vec![Line::Letter],
    );
    doc.transact(|tx| c.create(tx)).unwrap();
    let new_id = ours.with(|p| p.create_document(doc));
    ours.connect().await;
    let token = ours.session.token.clone();
    let row = wait_for("the registration in /api/customers", T, async || {
        let list = server.get_json(&token, "/api/customers").await;
        list.as_array()?
            .iter()
            .find(|r| r["id"] == new_id.as_str())
            .cloned()
    })
    .await;
    assert_eq!(row["owner"], "m1");
    assert_eq!(row["name"], "离线报备有限公司");

    ours.with(|p| p.find(id(&forbidden)));
    wait_for(
        "doc-unavailable for the forbidden customer",
        T,
        async || {
            ours.effects
                .lock()
                .unwrap()
                .iter()
                .any(|e| {
                    *e == Effect::DocumentUnavailable {
                        doc_id: id(&forbidden),
                    }
                })
                .then_some(())
        },
    )
    .await;
    assert!(ours.with(|p| p.document(&id(&forbidden)).is_none()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interoperates_with_the_js_client_through_the_server() {
    let mut server = TestServer::new();
    server.start().await;
    let base = server.base();
    let created = tokio::task::spawn_blocking(move || {
        js::run(&["create", &base, "m1", PASSWORD, "JS建的客户"])
    })
    .await
    .unwrap();
    let url = created["url"].as_str().unwrap().to_string();
    let doc = id(&url);

    let mut ours = NativePeer::login(&server, "m1").await;
    ours.connect().await;
    ours.with(|p| p.find(doc.clone()));
    let c = wait_for("our peer to read the JS document", T, async || {
        ours.with(|p| p.document(&doc).and_then(|d| Customer::load(d).ok()))
    })
    .await;
    assert_eq!(c.name, "JS建的客户");
    assert_eq!(c.contacts[0].name, "赵经理");

    ours.with(|p| {
        p.change(&doc, |d| {
            d.transact(|tx| customer::add_visit(tx, &visit("from-our-peer", "我们的客户端记录")))
        })
    })
    .unwrap()
    .unwrap();
    wait_for("the server to have it", T, async || {
        (ours.with(|p| p.pending_changes()) == 0).then_some(())
    })
    .await;
    let base = server.base();
    let read =
        tokio::task::spawn_blocking(move || js::run(&["read", &base, "m1", PASSWORD, &url, "1"]))
            .await
            .unwrap();
    assert_eq!(read["visits"][0]["id"], "from-our-peer");
    assert_eq!(read["visits"][0]["summary"], "我们的客户端记录");
}

/// What the browser does: offline change, reload from persisted chunks, server
/// restarted, reconnect: the change reaches the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reloaded_peer_sends_its_offline_change_after_a_server_restart() {
    let mut server = TestServer::new();
    let url = server
        .seed_customer(
            &Customer::new("重载测试客户", "", Nature::Enterprise, vec![]),
            "m1",
            None,
        )
        .await;
    server.start().await;
    let doc = id(&url);
    let mut ours = NativePeer::login(&server, "m1").await;
    ours.connect().await;
    ours.with(|p| p.find(doc.clone()));
    wait_for("the customer", T, async || {
        ours.with(|p| p.document(&doc).map(|_| ()))
    })
    .await;
    wait_for("in sync", T, async || {
        (ours.with(|p| p.pending_changes()) == 0).then_some(())
    })
    .await;

    server.kill();
    ours.disconnect().await;
    ours.with(|p| {
        p.change(&doc, |d| {
            d.transact(|tx| customer::add_visit(tx, &visit("offline", "离线")))
        })
    })
    .unwrap()
    .unwrap();
    let chunks: Vec<Vec<u8>> = ours
        .effects
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            Effect::Persist { doc_id, bytes, .. } if *doc_id == doc => Some(bytes.clone()),
            _ => None,
        })
        .collect();
    let server_heads = ours.with(|p| p.server_heads(&doc));

    // "Reload": a new peer from what was persisted.
    server.start().await;
    let mut reloaded = NativePeer::login(&server, "m1").await;
    reloaded.with(|p| {
        p.load_document(doc.clone(), chunks).unwrap();
        p.set_server_heads(&doc, server_heads);
    });
    assert_eq!(reloaded.with(|p| p.pending_changes()), 1);
    reloaded.connect().await;
    wait_for(
        "the reloaded peer's change to reach the server",
        T,
        async || (reloaded.with(|p| p.pending_changes()) == 0).then_some(()),
    )
    .await;
    let mut device = Device::login(&server, "m1").await;
    device.connect().await;
    let h = device.find(&url).await.unwrap();
    wait_for("the server to have the offline visit", T, async || {
        Device::customer(&h)
            .visits
            .iter()
            .any(|v| v.id == "offline")
            .then_some(())
    })
    .await;
}
