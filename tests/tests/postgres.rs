//! PostgreSQL's own tests: a SQLite deployment copied into PostgreSQL by
//! `fieldbook-server migrate`; two server nodes on one database. (Every other end-to-end test runs a second time
//! with its server on PostgreSQL: `cargo xtask test`.)

use std::process::Command;
use std::time::Duration;

use fieldbook_server::store::sql::Location;
use fieldbook_shared::customer::{self, Customer, Visit};
use fieldbook_shared::vocab::{Line, Nature};
use fieldbook_tests::raw_ws::{closed, raw};
use fieldbook_tests::{Device, PgDatabase, TestServer, require_postgres, server_binary, wait_for};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const T: Duration = Duration::from_secs(20);

fn names(list: &serde_json::Value) -> Vec<String> {
    let mut n: Vec<String> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect();
    n.sort();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_deployment_migrates_into_postgres_and_serves_the_same() {
    let postgres = require_postgres();
    let mut server = TestServer::new();
    assert!(
        !server.on_postgres(),
        "the deployment to copy is a SQLite file"
    );
    let east = Customer::new(
        "迁移测试东区公司",
        "",
        Nature::Enterprise,
        vec![Line::Delivery],
    );
    let west = Customer::new(
        "迁移测试西区公司",
        "",
        Nature::Enterprise,
        vec![Line::Postal],
    );
    let urls = server
        .seed_customers(&[(east, "m1", None), (west, "m3", None)])
        .await;
    server.start().await;
    // A visit synced from a tablet, so the copy holds a change made live.
    let mut m1 = Device::login(&server, "m1").await;
    m1.connect().await;
    let doc = m1.find(&urls[0]).await.expect("m1's customer");
    doc.with_document(|d| {
        d.transact(|tx| {
            customer::add_visit(
                tx,
                &Visit {
                    id: "before-the-move".into(),
                    date: "2026-11-30".into(),
                    summary: "迁移前的走访".into(),
                    ..Default::default()
                },
            )
        })
    })
    .expect("log a visit");
    m1.wait_synced(&doc).await;
    let head = server.login("head1").await.token;
    let before = wait_for("the visit projected", T, async || {
        let list = server.get_json(&head, "/api/customers").await;
        let row = list.as_array()?.first()?.clone();
        (row["visit_count"] == 1).then_some(list)
    })
    .await;
    let heads_before = doc.with_document(|d| d.get_heads());
    drop(m1);
    server.kill();

    // The copy, into a new database.
    let target = PgDatabase::create(&postgres);
    let Location::Sqlite(file) = server.db.clone() else {
        unreachable!("checked above")
    };
    let migrate = |to: &Location| {
        Command::new(server_binary())
            .args(["migrate", "--from"])
            .arg(&file)
            .arg("--to")
            .arg(to.to_arg())
            .output()
            .expect("run migrate")
    };
    let out = migrate(&target.location());
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("verified"), "{said}");
    // Run twice, it refuses: the target is no longer empty.
    let again = migrate(&target.location());
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // The same server, now on PostgreSQL: the same list for the head, the
    // same passwords, and the tablet's document with the same heads.
    server.db = target.location();
    server.start().await;
    assert!(server.on_postgres());
    let head = server.login("head1").await.token;
    let after = wait_for("the copy serving its customers", T, async || {
        let list = server.get_json(&head, "/api/customers").await;
        (list.as_array()?.len() == before.as_array()?.len()).then_some(list)
    })
    .await;
    assert_eq!(names(&after), names(&before));
    assert_eq!(after[0]["visit_count"], 1, "{after}");
    let mut m1 = Device::login(&server, "m1").await;
    m1.connect().await;
    let doc = m1
        .find(&urls[0])
        .await
        .expect("m1's customer from PostgreSQL");
    m1.wait_synced(&doc).await;
    let mut heads_after = doc.with_document(|d| d.get_heads());
    let mut heads_before = heads_before;
    heads_after.sort();
    heads_before.sort();
    assert_eq!(heads_after, heads_before);
    assert!(
        Device::customer(&doc)
            .visits
            .iter()
            .any(|v| v.id == "before-the-move")
    );
    // m3's customer stays m3's: access came across with the tables.
    assert!(m1.find(&urls[1]).await.is_none(), "m1 opened m3's customer");
    server.kill();
    drop(target);
}

fn log_visit(doc: &samod::DocHandle, id: &str) {
    doc.with_document(|d| {
        d.transact(|tx| {
            customer::add_visit(
                tx,
                &Visit {
                    id: id.into(),
                    date: "2026-12-01".into(),
                    summary: format!("走访 {id}"),
                    ..Default::default()
                },
            )
        })
    })
    .expect("log a visit");
}

async fn visit_count(server: &TestServer, token: &str) -> Option<i64> {
    let list = server.get_json(token, "/api/customers").await;
    list.as_array()?.first()?["visit_count"].as_i64()
}

async fn send(
    server: &TestServer,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: serde_json::Value,
) -> u16 {
    reqwest::Client::new()
        .request(method, format!("{}{path}", server.base()))
        .header("origin", server.base())
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

/// Two server nodes on one PostgreSQL database: a change accepted by one
/// reaches a tablet on the other, sessions hold on both, a user disabled or a
/// device signed out on one is closed on the other, the lists agree, and when
/// a node dies the other goes on projecting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_database_serve_as_one() {
    let mut a = TestServer::new_on_postgres();
    let c = Customer::new("双节点公司", "", Nature::Enterprise, vec![Line::Delivery]);
    let url = a.seed_customer(&c, "m1", Some("m2")).await;
    a.start().await;
    let mut b = a.another_node();
    b.start().await;

    let mut on_a = Device::login(&a, "m1").await;
    let mut on_b = Device::login(&b, "m2").await;
    on_a.connect().await;
    on_b.connect().await;
    let doc_a = on_a.find(&url).await.expect("m1 opens it on node A");
    let doc_b = on_b.find(&url).await.expect("m2 opens it on node B");
    log_visit(&doc_a, "from-a");
    wait_for("node A's visit on node B's tablet", T, async || {
        Device::visit_ids(&doc_b)
            .contains(&"from-a".to_string())
            .then_some(())
    })
    .await;
    log_visit(&doc_b, "from-b");
    wait_for("node B's visit on node A's tablet", T, async || {
        (Device::visit_ids(&doc_a) == ["from-a", "from-b"]).then_some(())
    })
    .await;

    // One database: a token from A works on B; both list what either took.
    let head = a.login("head1").await.token;
    for node in [&a, &b] {
        wait_for("both visits projected", T, async || {
            (visit_count(node, &head).await == Some(2)).then_some(())
        })
        .await;
    }

    // A user disabled on A: their socket on B closes.
    let admin = a.login("admin").await.token;
    let m3 = b.login("m3").await;
    let mut ws = raw(&b, &m3.token).await;
    let took = std::time::Instant::now();
    let s = send(
        &a,
        reqwest::Method::POST,
        &admin,
        "/api/users/m3",
        serde_json::json!({"disabled": true}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(closed(&mut ws).await, Some(CloseCode::Policy));
    println!(
        "disabled on node A, closed on node B after {:?}",
        took.elapsed()
    );
    // A device signed out on A: its socket on B closes.
    let m2 = b.login("m2").await;
    let mut ws = raw(&b, &m2.token).await;
    let took = std::time::Instant::now();
    let s = send(
        &a,
        reqwest::Method::DELETE,
        &admin,
        &format!("/api/sessions/{}", m2.peer_id),
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(closed(&mut ws).await, Some(CloseCode::Policy));
    println!(
        "signed out on node A, closed on node B after {:?}",
        took.elapsed()
    );

    // One node projects at a time: the one holding the lock.
    const PROJECTS: &str = "this node projects for the cluster";
    let projectors = [&a, &b]
        .iter()
        .filter(|n| n.log_text().contains(PROJECTS))
        .count();
    assert_eq!(projectors, 1, "nodes projecting at once");
    let b_projected = b.log_text().contains(PROJECTS);

    // Node A dies: B goes on, and projects what its tablet logs.
    on_a.disconnect();
    a.kill();
    log_visit(&doc_b, "after-a-died");
    on_b.wait_synced(&doc_b).await;
    wait_for("node B projecting alone", T, async || {
        (visit_count(&b, &head).await == Some(3)).then_some(())
    })
    .await;
    assert!(
        b_projected || b.log_text().contains(PROJECTS),
        "node B took the projector's lock"
    );
    b.kill();
}

/// Two nodes started at once on a database whose users have no books yet
/// both make the missing books: each user ends with one stored book, which
/// either node opens. A node once read a book id the other had written
/// before the book was stored, and every login of that user failed; the race
/// is a matter of milliseconds, so this test catches it only sometimes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_starting_together_give_each_user_one_book_both_open() {
    let mut a = TestServer::new_on_postgres();
    const MORE: usize = 100;
    {
        let c = a.sql();
        for i in 0..MORE {
            c.execute(
                "INSERT INTO users (username, display_name, password_hash, role, unit)
                 SELECT ?1, ?1, password_hash, role, unit FROM users WHERE username = 'm1'",
                [format!("extra{i}")],
            )
            .expect("add a user");
        }
    }
    let mut b = a.another_node();
    tokio::join!(a.start(), b.start());
    for node in [&a, &b] {
        wait_for("the node to bring every book up to date", T, async || {
            let log = node.log_text();
            (log.contains("every book is up to date") || log.contains("could not bring every book"))
                .then_some(())
        })
        .await;
        assert!(
            !node.log_text().contains("missing"),
            "a node found a document id before the document:\n{}",
            node.log_text()
        );
    }
    let unstored: i64 = a
        .sql()
        .query_row(
            "SELECT COUNT(*) FROM users u WHERE u.book_doc IS NULL OR NOT EXISTS
             (SELECT 1 FROM samod_storage s WHERE s.key >= u.book_doc || '/' AND s.key < u.book_doc || '0')",
            (),
            |r| r.get(0),
        )
        .expect("count users without a stored book");
    assert_eq!(unstored, 0, "users without a stored book");
    for u in ["extra0", "extra99", "m1", "head1"] {
        let on_a = a.login(u).await.user.book_url;
        let on_b = b.login(u).await.user.book_url;
        assert_eq!(on_a, on_b, "{u} has one book on both nodes");
    }
    a.kill();
    b.kill();
}

/// A hand-over decided on node A moves the customer on node B at once: the
/// new manager's tablet there opens it, the old one's loses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_over_on_one_node_takes_effect_on_the_other() {
    let mut a = TestServer::new_on_postgres();
    let c = Customer::new(
        "交接双节点公司",
        "",
        Nature::Enterprise,
        vec![Line::Delivery],
    );
    let url = a.seed_customer(&c, "m1", None).await;
    a.start().await;
    let mut b = a.another_node();
    b.start().await;
    let mut m3 = Device::login(&b, "m3").await;
    m3.connect().await;
    assert!(m3.find(&url).await.is_none(), "not m3's yet");
    let admin = a.login("admin").await.token;
    let id = url.trim_start_matches("automerge:");
    let took = std::time::Instant::now();
    let s = send(
        &a,
        reqwest::Method::POST,
        &admin,
        &format!("/api/customers/{id}/assign"),
        serde_json::json!({"primary": "m3"}),
    )
    .await;
    assert_eq!(s, 200);
    let doc = wait_for("m3 opening it on node B", T, async || m3.find(&url).await).await;
    println!(
        "handed over on node A, opened on node B after {:?}",
        took.elapsed()
    );
    assert_eq!(Device::customer(&doc).name, "交接双节点公司");
    let mut m1 = Device::login(&b, "m1").await;
    m1.connect().await;
    assert!(m1.find(&url).await.is_none(), "m1 no longer holds it");
    a.kill();
    b.kill();
}

/// Two offline registrations of one company reach two nodes at the same
/// moment: one is the original, exactly once, the other is linked to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_registrations_of_one_company_on_two_nodes_have_one_first() {
    let mut a = TestServer::new_on_postgres();
    a.start().await;
    let mut b = a.another_node();
    b.start().await;
    let mut east = Device::login(&a, "m1").await;
    let mut west = Device::login(&b, "m3").await;
    let register = async |d: &Device, name: &str, code: &str| {
        let mut doc = automerge::Automerge::new();
        doc.transact(|tx| {
            Customer::new(name, code, Nature::Enterprise, vec![Line::Delivery]).create(tx)
        })
        .unwrap();
        d.repo.create(doc).await.unwrap().url().to_string()
    };
    let url_east = register(&east, "双节点书店有限公司", "91310000MA1NODE01").await;
    let url_west = register(&west, "双节点书店", "91310000ma1node01").await;
    tokio::join!(east.connect(), west.connect());
    let admin = a.login("admin").await.token;
    let decided = |c: &serde_json::Value| {
        c["owned_lines"].as_array().is_some_and(|a| !a.is_empty()) || !c["same_as"].is_null()
    };
    a.customer_row(&admin, &url_east, decided).await;
    b.customer_row(&admin, &url_west, decided).await;
    let e = a.customer_row(&admin, &url_east, decided).await;
    let w = b.customer_row(&admin, &url_west, decided).await;
    let originals = [&e, &w].iter().filter(|r| r["same_as"].is_null()).count();
    assert_eq!(originals, 1, "exactly one original: {e} / {w}");
    let (first, second) = if e["same_as"].is_null() {
        (&e, &w)
    } else {
        (&w, &e)
    };
    assert_eq!(second["same_as"], first["url"]);
    a.kill();
    b.kill();
}

/// Node A killed with SIGKILL in the middle of a visit storm: its tablets
/// go on through node B, and every visit any device logged is in the
/// database and on both devices of each manager.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_storm_loses_nothing_and_its_tablets_go_on_through_the_other() {
    let mut a = TestServer::new_on_postgres();
    let urls = a
        .seed_customers(&[
            (
                Customer::new("风暴甲公司", "", Nature::Enterprise, vec![Line::Delivery]),
                "m1",
                None,
            ),
            (
                Customer::new("风暴乙公司", "", Nature::Enterprise, vec![Line::Delivery]),
                "m3",
                None,
            ),
        ])
        .await;
    a.start().await;
    let mut b = a.another_node();
    b.start().await;
    // Per manager, one device on A and one on B.
    let mut devices = Vec::new();
    for (user, url) in [("m1", &urls[0]), ("m3", &urls[1])] {
        let mut on_a = Device::login(&a, user).await;
        let mut on_b = Device::login(&b, user).await;
        on_a.connect().await;
        on_b.connect().await;
        let doc_a = on_a.find(url).await.expect("open on A");
        let doc_b = on_b.find(url).await.expect("open on B");
        devices.push((on_a, on_b, doc_a, doc_b));
    }
    let mut logged = vec![Vec::new(); devices.len()];
    for round in 0..40 {
        for (i, (_, _, doc_a, doc_b)) in devices.iter().enumerate() {
            let id = format!("storm-{i}-{round}");
            // Alternately on A's device and B's.
            log_visit(if round % 2 == 0 { doc_a } else { doc_b }, &id);
            logged[i].push(id);
        }
        if round == 20 {
            a.kill();
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    // A's tablets reconnect to B (a balancer would send them there).
    for (on_a, _, _, _) in devices.iter_mut() {
        on_a.connect_to(&b).await;
    }
    for (i, (on_a, on_b, doc_a, doc_b)) in devices.iter().enumerate() {
        on_a.wait_synced(doc_a).await;
        on_b.wait_synced(doc_b).await;
        let mut want = logged[i].clone();
        want.sort();
        wait_for("both devices with every visit", T, async || {
            (Device::visit_ids(doc_a) == want && Device::visit_ids(doc_b) == want).then_some(())
        })
        .await;
    }
    // What the database holds, read by a fresh device through B.
    let mut fresh = Device::login(&b, "admin").await;
    fresh.connect().await;
    for (i, url) in urls.iter().enumerate() {
        let doc = fresh
            .find(url)
            .await
            .expect("the customer from the database");
        fresh.wait_synced(&doc).await;
        let mut want = logged[i].clone();
        want.sort();
        assert_eq!(Device::visit_ids(&doc), want);
    }
    b.kill();
}

/// The database goes away under a working server (its connections ended,
/// new ones refused) and comes back: meanwhile a visit is not acknowledged;
/// afterwards the server connects again by itself, acknowledges it, and
/// nothing is lost across a kill of the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_going_away_acknowledges_nothing_and_loses_nothing() {
    let mut server = TestServer::new_on_postgres();
    let c = Customer::new("断库测试公司", "", Nature::Enterprise, vec![Line::Delivery]);
    let url = server.seed_customer(&c, "m1", None).await;
    server.start().await;
    let mut m1 = Device::login(&server, "m1").await;
    m1.connect().await;
    let doc = m1.find(&url).await.expect("m1's customer");
    log_visit(&doc, "before");
    m1.wait_synced(&doc).await;

    let pg = server.pg_database().expect("on PostgreSQL");
    pg.go_down();
    log_visit(&doc, "while-down");
    assert!(
        !m1.synced_within(&doc, std::time::Duration::from_secs(3))
            .await,
        "a visit was acknowledged while the database was away"
    );
    pg.come_back();
    assert!(
        m1.synced_within(&doc, std::time::Duration::from_secs(30))
            .await,
        "the server did not connect again by itself"
    );
    log_visit(&doc, "after");
    m1.wait_synced(&doc).await;
    drop(m1);
    server.kill();
    server.start().await;
    let mut fresh = Device::login(&server, "m1").await;
    fresh.connect().await;
    let doc = fresh.find(&url).await.expect("from the database");
    fresh.wait_synced(&doc).await;
    assert_eq!(Device::visit_ids(&doc), ["after", "before", "while-down"]);
    let head = server.login("head1").await.token;
    wait_for("the visits projected", T, async || {
        (visit_count(&server, &head).await == Some(3)).then_some(())
    })
    .await;
    server.kill();
}
