//! Two managers' devices sync through a real server: offline edits converge, and
//! nothing that reached the server is lost when it is killed.

use std::time::Duration;

use automerge::{Automerge, ReadDoc};
use fieldbook_shared::book::Book;
use fieldbook_shared::customer::{self, Contact, Customer, Visit};
use fieldbook_shared::vocab::{Line, Nature};
use fieldbook_tests::{Device, TestServer, wait_for};

const T: Duration = Duration::from_secs(20);

fn visit(id: &str, date: &str, summary: &str) -> Visit {
    Visit {
        id: id.into(),
        date: date.into(),
        summary: summary.into(),
        purpose: "走访".into(),
        ..Default::default()
    }
}

fn customer() -> Customer {
    Customer::new(
        "麦德龙商业集团有限公司",
        "91310000607216596X",
        Nature::Enterprise,
        vec![Line::Delivery],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_on_two_devices_converge() {
    let mut server = TestServer::new();
    let url = server.seed_customer(&customer(), "m1", Some("m2")).await;
    server.start().await;

    let mut a = Device::login(&server, "m1").await;
    let mut b = Device::login(&server, "m2").await;
    a.connect().await;
    b.connect().await;
    let doc_a = a.find(&url).await.expect("primary opens the customer");
    let doc_b = b.find(&url).await.expect("assistant opens the customer");

    a.disconnect();
    b.disconnect();
    doc_a
        .with_document(|d| {
            d.transact(|tx| customer::add_visit(tx, &visit("va", "2026-11-20", "谈年度协议")))
        })
        .unwrap();
    doc_a
        .with_document(|d| d.transact(|tx| customer::set_field(tx, "address", "上海市南京西路1号")))
        .unwrap();
    doc_b
        .with_document(|d| {
            d.transact(|tx| customer::add_visit(tx, &visit("vb", "2026-11-21", "电话回访")))
        })
        .unwrap();
    doc_b
        .with_document(|d| {
            d.transact(|tx| {
                customer::add_contact(
                    tx,
                    &Contact {
                        id: "cb".into(),
                        name: "李主任".into(),
                        ..Default::default()
                    },
                )
            })
        })
        .unwrap();
    doc_b
        .with_document(|d| d.transact(|tx| customer::set_field(tx, "address", "上海市淮海中路2号")))
        .unwrap();

    a.connect().await;
    b.connect().await;
    for doc in [&doc_a, &doc_b] {
        wait_for("both visits on both devices", T, async || {
            (Device::visit_ids(doc) == ["va", "vb"]).then_some(())
        })
        .await;
    }
    wait_for("identical heads", T, async || {
        let ha = doc_a.with_document(|d| d.get_heads());
        let hb = doc_b.with_document(|d| d.get_heads());
        (ha == hb).then_some(())
    })
    .await;
    let (ca, cb) = (Device::customer(&doc_a), Device::customer(&doc_b));
    assert_eq!(ca, cb, "replicas differ after sync");
    assert_eq!(ca.contacts.len(), 1);
    // Both addresses survive as a conflict; every replica picks the same winner.
    let conflicts = doc_a.with_document(|d| d.get_all(automerge::ROOT, "address").unwrap().len());
    assert_eq!(
        conflicts, 2,
        "the concurrent address edits are kept as a conflict"
    );

    // The server's projection follows the documents.
    let token = a.session.token.clone();
    wait_for("the projection to count both visits", T, async || {
        let list = server.get_json(&token, "/api/customers").await;
        let row = list
            .as_array()?
            .iter()
            .find(|c| c["url"] == url.as_str())?
            .clone();
        (row["visit_count"] == 2 && row["last_visit"] == "2026-11-21").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_the_server_acknowledged_is_lost_when_it_is_killed() {
    let mut server = TestServer::new();
    let url = server.seed_customer(&customer(), "m1", Some("m2")).await;
    server.start().await;

    let mut a = Device::login(&server, "m1").await;
    let mut b = Device::login(&server, "m2").await;
    a.connect().await;
    b.connect().await;
    let doc_a = a.find(&url).await.expect("open");
    let doc_b = b.find(&url).await.expect("open");

    // A logs a visit; once the server says it has it, the server is killed (SIGKILL).
    doc_a
        .with_document(|d| {
            d.transact(|tx| {
                customer::add_visit(tx, &visit("before-kill", "2026-11-22", "上门拜访"))
            })
        })
        .unwrap();
    a.wait_synced(&doc_a).await;
    server.kill();
    a.disconnect();

    // B works offline meanwhile.
    doc_b
        .with_document(|d| {
            d.transact(|tx| customer::add_visit(tx, &visit("offline", "2026-11-22", "离线记录")))
        })
        .unwrap();
    b.disconnect();

    server.start().await;
    // A stays offline: B can only get A's visit from what the server had on disk.
    b.connect().await;
    wait_for(
        "the acknowledged visit to come back from the restarted server",
        T,
        async || (Device::visit_ids(&doc_b) == ["before-kill", "offline"]).then_some(()),
    )
    .await;
    b.wait_synced(&doc_b).await;

    // A fresh device sees both, from the server alone.
    let mut c = Device::login(&server, "m1").await;
    c.connect().await;
    let doc_c = c.find(&url).await.expect("open on a fresh device");
    wait_for("both visits on a fresh device", T, async || {
        (Device::visit_ids(&doc_c) == ["before-kill", "offline"]).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_created_on_a_device_is_registered_to_its_manager() {
    let mut server = TestServer::new();
    server.start().await;
    let mut m1 = Device::login(&server, "m1").await;

    // Registered offline: the document exists only on the tablet.
    let mut doc = Automerge::new();
    let new = Customer::new(
        "美之家家居有限公司",
        "91310000MA1K3YJ12C",
        Nature::Enterprise,
        vec![Line::Delivery, Line::Letter],
    );
    doc.transact(|tx| new.create(tx)).unwrap();
    let handle = m1.repo.create(doc).await.unwrap();
    let url = handle.url().to_string();

    m1.connect().await;
    m1.wait_synced(&handle).await;
    let token = m1.session.token.clone();
    let row = wait_for(
        "the registration to appear in /api/customers",
        T,
        async || {
            let list = server.get_json(&token, "/api/customers").await;
            list.as_array()?
                .iter()
                .find(|c| c["url"] == url.as_str())
                .cloned()
        },
    )
    .await;
    assert_eq!(row["owner"], "m1");
    assert_eq!(row["unit"], "so1");
    assert_eq!(row["name"], "美之家家居有限公司");
    assert_eq!(row["credit_code"], "91310000MA1K3YJ12C");

    // It is in m1's book, which the server wrote.
    let book = m1.find(&m1.session.user.book_url).await.expect("own book");
    wait_for("the book to list the new customer", T, async || {
        book.with_document(|d| Book::load(d).ok())
            .filter(|b| b.customers.contains(&url))
            .map(|_| ())
    })
    .await;

    // The unit head sees it; a manager of another unit does not.
    let head = server.login("head1").await;
    let list = server.get_json(&head.token, "/api/customers").await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|c| c["url"] == url.as_str()),
        "head of so1 sees the registration"
    );
    let other = server.login("m3").await;
    let list = server.get_json(&other.token, "/api/customers").await;
    assert!(
        list.as_array().unwrap().is_empty(),
        "m3 sees nothing: {list}"
    );
}

/// A new tablet asks for its whole book at once. The server once read requests
/// and wrote answers in one loop, and such a burst could leave it waiting on
/// samod while samod waited on it: the device never got its customers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_device_opens_hundreds_of_customers_at_once() {
    let mut server = TestServer::new();
    let customers: Vec<(Customer, &str, Option<&str>)> =
        fieldbook_server::demo::demo_customers(300)
            .into_iter()
            .map(|c| (c, "m1", None))
            .collect();
    let urls = server.seed_customers(&customers).await;
    server.start().await;
    for run in 0..4 {
        let mut d = Device::login(&server, "m1").await;
        d.connect().await;
        let found = tokio::time::timeout(
            Duration::from_secs(60),
            futures::future::join_all(urls.iter().map(|u| d.find(u))),
        )
        .await
        .unwrap_or_else(|_| panic!("run {run}: the device never got all 300 customers"));
        assert!(
            found.iter().all(Option::is_some),
            "run {run}: every customer opened"
        );
        d.disconnect();
    }
}

/// samod attaches every connection to every loaded document unless told
/// otherwise; the server attaches a connection only to what its device
/// mentions (vendor/samod/PATCHED.md). Here m3's customer and every user's book
/// are loaded on the server, and m1's connection is tied to m1's customer
/// alone. Runs the server in-process to read samod's connection table.
#[tokio::test(flavor = "multi_thread")]
async fn a_connection_is_attached_only_to_the_documents_its_device_mentions() {
    let server = TestServer::new();
    let theirs = Customer::new(
        "华东医药股份有限公司",
        "91330000143083157E",
        Nature::Enterprise,
        vec![Line::Delivery],
    );
    let urls = server
        .seed_customers(&[(customer(), "m1", None), (theirs, "m3", None)])
        .await;
    let running = fieldbook_server::app::start(fieldbook_server::app::Config {
        db: server.db.clone(),
        listen: server.addr,
        static_dir: None,
        unload_idle: None,
        origins: Default::default(),
        claim_grace: fieldbook_server::housekeeping::CLAIM_GRACE,
    })
    .await
    .expect("start the server in-process");

    let mut m3 = Device::login(&server, "m3").await;
    m3.connect().await;
    assert!(m3.find(&urls[1]).await.is_some(), "m3 opens their customer");
    let mut m1 = Device::login(&server, "m1").await;
    m1.connect().await;
    let mine = m1.find(&urls[0]).await.expect("m1 opens their customer");
    m1.wait_synced(&mine).await;

    let attached = |peer: &str| -> Vec<String> {
        let (conns, _) = running.state.repo.connected_peers();
        let conn = conns
            .into_iter()
            .find(|c| {
                matches!(&c.state, samod::ConnectionState::Connected { their_peer_id }
                    if their_peer_id.to_string() == peer)
            })
            .unwrap_or_else(|| panic!("{peer} is connected"));
        let mut docs: Vec<String> = conn.docs.keys().map(|d| format!("automerge:{d}")).collect();
        docs.sort();
        docs
    };
    assert_eq!(attached(&m1.session.peer_id), vec![urls[0].clone()]);
    assert_eq!(attached(&m3.session.peer_id), vec![urls[1].clone()]);

    // And the attached pair syncs as before.
    mine.with_document(|d| {
        d.transact(|tx| customer::add_visit(tx, &visit("v-attach", "2026-11-20", "面谈")))
    })
    .expect("log a visit");
    m1.wait_synced(&mine).await;

    // A device that goes offline is forgotten (its sync states with it); the
    // other stays.
    let connected = |peer: &str| {
        let (conns, _) = running.state.repo.connected_peers();
        conns.iter().any(|c| {
            matches!(&c.state, samod::ConnectionState::Connected { their_peer_id }
                if their_peer_id.to_string() == peer)
        })
    };
    m1.disconnect();
    wait_for("m1's closed connection to be forgotten", T, async || {
        (!connected(&m1.session.peer_id)).then_some(())
    })
    .await;
    assert!(connected(&m3.session.peer_id), "m3 is still connected");
    drop((m1, m3));
    running.stop().await;
}

/// The server unloads a document no device is syncing once it has been idle
/// (vendor/samod/PATCHED.md), and loads it from storage when next asked:
/// nothing is lost, and a document a device is attached to stays loaded.
#[tokio::test(flavor = "multi_thread")]
async fn an_idle_document_is_unloaded_and_comes_back_whole() {
    let server = TestServer::new();
    let urls = server.seed_customers(&[(customer(), "m1", None)]).await;
    let id = urls[0].trim_start_matches("automerge:").to_string();
    let running = fieldbook_server::app::start(fieldbook_server::app::Config {
        db: server.db.clone(),
        listen: server.addr,
        static_dir: None,
        unload_idle: Some(Duration::from_secs(1)),
        origins: Default::default(),
        claim_grace: fieldbook_server::housekeeping::CLAIM_GRACE,
    })
    .await
    .expect("start the server in-process");
    let loaded = || {
        running
            .state
            .repo
            .loaded_documents()
            .iter()
            .any(|d| d.to_string() == id)
    };

    let mut tablet = Device::login(&server, "m1").await;
    tablet.connect().await;
    let doc = tablet.find(&urls[0]).await.expect("m1 opens the customer");
    doc.with_document(|d| {
        d.transact(|tx| customer::add_visit(tx, &visit("v-idle", "2026-11-20", "回访")))
    })
    .expect("log a visit");
    tablet.wait_synced(&doc).await;
    // Attached to a connected tablet: kept however long it is idle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(loaded(), "a document a tablet syncs stays loaded");

    tablet.disconnect();
    wait_for("the idle document to be unloaded", T, async || {
        (!loaded()).then_some(())
    })
    .await;

    // Asked for again, it is read from storage with the visit in it.
    let mut other = Device::login(&server, "m1").await;
    other.connect().await;
    let again = other.find(&urls[0]).await.expect("opens again");
    wait_for("the visit after the reload", T, async || {
        Device::customer(&again)
            .visits
            .iter()
            .any(|v| v.id == "v-idle")
            .then_some(())
    })
    .await;
    assert!(loaded());
    drop((tablet, other));
    running.stop().await;
}

/// A database restored with many customers and no projections: the server
/// projects them at start in bulk, many to a transaction, and each manager's
/// list and book carry all of theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_book_of_many_customers_is_projected_at_start() {
    let mut server = TestServer::new();
    let customers: Vec<(Customer, &str, Option<&str>)> =
        fieldbook_server::demo::demo_customers(700)
            .into_iter()
            .enumerate()
            .map(|(i, c)| (c, if i % 7 == 0 { "m3" } else { "m1" }, None))
            .collect();
    let urls = server.seed_customers(&customers).await;
    server.start().await;
    let m1 = server.login("m1").await;
    let list = wait_for("m1's 600 customers to be projected", T * 3, async || {
        let list = server.get_json(&m1.token, "/api/customers").await;
        let rows = list.as_array()?.clone();
        let projected = rows.iter().all(|r| r["name"] != "");
        (rows.len() == 600 && projected).then_some(rows)
    })
    .await;
    for (i, url) in urls.iter().enumerate() {
        let row = list.iter().find(|r| r["url"] == url.as_str());
        match (i % 7 == 0, row) {
            (true, None) => {}
            (false, Some(r)) => assert_eq!(r["name"], customers[i].0.name.as_str()),
            (mine, row) => panic!("customer {i} (m1's: {}): listed as {row:?}", !mine),
        }
    }
    let mut d = Device::login(&server, "m1").await;
    d.connect().await;
    let book = d.find(&d.session.user.book_url).await.expect("own book");
    wait_for("the book to list all 600", T, async || {
        book.with_document(|doc| Book::load(doc).ok())
            .filter(|b| b.customers.len() == 600)
            .map(|_| ())
    })
    .await;
}

/// samod builds a connection's info (a state for every document on it) only
/// once someone asks for it (vendor/samod-core/PATCHED.md, 4): asking still
/// gets a stream that follows the documents synced over the connection.
#[tokio::test(flavor = "multi_thread")]
async fn connection_info_still_follows_the_documents_synced() {
    let mut server = TestServer::new();
    let url = server.seed_customer(&customer(), "m1", None).await;
    server.start().await;
    let mut d = Device::login(&server, "m1").await;
    d.connect().await;
    let (_now, mut infos) = d.repo.connected_peers();
    let handle = d.find(&url).await.expect("own customer");
    let id = handle.document_id().clone();
    tokio::time::timeout(T, async {
        use futures::StreamExt;
        while let Some(infos) = infos.next().await {
            if infos.iter().any(|i| i.docs.contains_key(&id)) {
                return;
            }
        }
        panic!("the connection-info stream ended");
    })
    .await
    .expect("the connection info never listed the customer");
}

/// Opening a stored document reads it and writes nothing back
/// (vendor/samod-core/PATCHED.md, 8). Before, every load saved the document
/// again, and the save marked it for re-projection, which read it through the
/// repo (loading it again once it had been unloaded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_stored_document_writes_nothing_back() {
    let mut server = TestServer::new();
    let url = server.seed_customer(&customer(), "m1", None).await;
    let id = url.trim_start_matches("automerge:").to_string();
    let projected_at = |db: &fieldbook_server::store::sql::Location| -> Option<String> {
        let c = fieldbook_server::store::sql::Connection::open(db).expect("open the database");
        c.query_row(
            "SELECT projected_at FROM customer_index WHERE doc_id = ?1",
            [&id],
            |r| r.get(0),
        )
        .ok()
    };
    server.start().await;
    // The seeded customer is projected at start.
    wait_for(
        "the seeded customer projected",
        Duration::from_secs(10),
        async || projected_at(&server.db),
    )
    .await;
    // Let the start-up work settle (books, tiers) before taking the mark.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = projected_at(&server.db).expect("still projected");

    let mut m1 = Device::login(&server, "m1").await;
    m1.connect().await;
    let doc = m1.find(&url).await.expect("open the customer");
    m1.wait_synced(&doc).await;
    // Longer than the projection's gathering time (500 ms) and a commit.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        projected_at(&server.db),
        Some(before),
        "opening the customer wrote it back to storage and re-projected it"
    );
}

/// A large document is saved whole (compacted) in proportion to its size, not
/// after every ten changes (vendor/samod-core/PATCHED.md, 9): each save of a
/// customer with hundreds of visits compresses all of it. Compaction still
/// happens, and what is stored reads back whole after a kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_document_is_compacted_in_proportion_to_its_size() {
    let mut server = TestServer::new();
    let mut big = customer();
    for i in 0..300 {
        big.visits.push(visit(
            &format!("old-{i:03}"),
            "2026-10-01",
            "日常走访，了解寄递需求",
        ));
    }
    let url = server.seed_customer(&big, "m1", None).await;
    let id = url.trim_start_matches("automerge:").to_string();
    // (snapshots, incrementals) stored for the customer.
    let stored = |db: &fieldbook_server::store::sql::Location| -> (Vec<String>, usize) {
        let c = fieldbook_server::store::sql::Connection::open(db).expect("open the database");
        let mut stmt = c
            .prepare("SELECT key FROM samod_storage WHERE key >= ?1 AND key < ?2")
            .expect("query storage");
        let keys: Vec<String> = stmt
            .query_map([format!("{id}/"), format!("{id}0")], |r| r.get(0))
            .expect("read storage")
            .collect::<Result<_, _>>()
            .expect("read storage");
        let snapshots = keys.iter().filter(|k| k.contains("/snapshot/")).cloned();
        let incrementals = keys.iter().filter(|k| k.contains("/incremental/")).count();
        (snapshots.collect(), incrementals)
    };
    server.start().await;
    let mut m1 = Device::login(&server, "m1").await;
    m1.connect().await;
    let doc = m1.find(&url).await.expect("open the customer");
    m1.wait_synced(&doc).await;

    const NEW: usize = 150;
    let mut snapshots_seen = std::collections::BTreeSet::new();
    let mut most_incrementals = 0;
    for i in 0..NEW {
        doc.with_document(|d| {
            d.transact(|tx| {
                customer::add_visit(tx, &visit(&format!("new-{i:03}"), "2026-11-23", "上门拜访"))
            })
        })
        .expect("log a visit");
        m1.wait_synced(&doc).await;
        let (snapshots, incrementals) = stored(&server.db);
        snapshots_seen.extend(snapshots);
        most_incrementals = most_incrementals.max(incrementals);
    }
    // Published samod compacted after every 10 or so changes: 13 snapshots or more.
    assert!(
        (1..=4).contains(&snapshots_seen.len()),
        "{} snapshots written for {NEW} visits: {snapshots_seen:?}",
        snapshots_seen.len()
    );
    assert!(
        most_incrementals <= 130,
        "{most_incrementals} incremental chunks piled up uncompacted"
    );

    // All of it reads back from storage alone.
    server.kill();
    server.start().await;
    let mut fresh = Device::login(&server, "m1").await;
    fresh.connect().await;
    let doc = fresh.find(&url).await.expect("open on a fresh device");
    wait_for("every visit back from storage", T, async || {
        (Device::customer(&doc).visits.len() == 300 + NEW).then_some(())
    })
    .await;
}
