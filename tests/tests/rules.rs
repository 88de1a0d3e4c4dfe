//! The operator's rules end to end: the managed-as tiers the city-wide rules give,
//! the center changing the thresholds (and every tablet getting them), and revenue
//! alerts reaching the manager and the heads above, through the real server.

use std::time::Duration;

use fieldbook_shared::book::Book;
use fieldbook_shared::customer::{Customer, LedgerEntry};
use fieldbook_shared::grading::last_twelve_months;
use fieldbook_shared::rules::Rules;
use fieldbook_shared::vocab::{Line, Nature};
use fieldbook_tests::{Device, TestServer, date_in_days, wait_for};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);

/// The 12 complete months before this one, oldest first (as the server counts).
fn months() -> Vec<String> {
    last_twelve_months(&date_in_days(0)[..7])
}

/// A customer whose year's revenue (and cross-city part) sits in the last
/// complete month, split evenly with the month before so no alert fires.
fn earning(name: &str, yuan: i64, cross_city_yuan: i64) -> Customer {
    let m = months();
    let mut c = Customer::new(name, "", Nature::Enterprise, vec![Line::Delivery]);
    for month in [&m[10], &m[11]] {
        c.ledger.push(LedgerEntry {
            month: month.clone(),
            line: Line::Delivery,
            amount_fen: yuan * 50,
            disbursed_fen: 0,
            cross_city_fen: cross_city_yuan * 50,
            estimate: false,
        });
    }
    c
}

/// Monthly revenue in fen, month by month, ending with the last complete month.
fn with_monthly(name: &str, fen_by_month: &[i64]) -> Customer {
    let m = months();
    let mut c = Customer::new(name, "", Nature::Enterprise, vec![Line::Delivery]);
    for (month, fen) in m[12 - fen_by_month.len()..].iter().zip(fen_by_month) {
        c.ledger.push(LedgerEntry {
            month: month.clone(),
            line: Line::Delivery,
            amount_fen: *fen,
            disbursed_fen: 0,
            cross_city_fen: 0,
            estimate: false,
        });
    }
    c
}

async fn row(server: &TestServer, token: &str, url: &str, ready: impl Fn(&Value) -> bool) -> Value {
    server.customer_row(token, url, ready).await
}

async fn put_rules(server: &TestServer, token: &str, body: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .put(format!("{}/api/rules", server.base()))
        .bearer_auth(token)
        .body(body.to_string())
        .send()
        .await
        .expect("PUT /api/rules");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn few_big_customers_rank_the_city_and_cross_city_mail_sets_a_floor() {
    let mut server = TestServer::new();
    // Two customers at or above 1,000,000 yuan: the top-ranks rule applies.
    let urls = server
        .seed_customers(&[
            (earning("跨城寄递大户", 3_200_000, 3_000_000), "m1", None),
            (earning("百五十万客户", 1_500_000, 0), "m1", None),
            (earning("五十万客户", 500_000, 0), "m3", None),
            (earning("三万客户", 30_000, 0), "m3", None),
        ])
        .await;
    server.start().await;
    let admin = server.login("admin").await;
    let tier = |c: &Value| {
        (
            c["grade_proposed"].as_str().unwrap_or_default().to_string(),
            c["managed_as"].as_str().unwrap_or_default().to_string(),
            c["managed_why"].clone(),
        )
    };
    let cross = row(&server, &admin.token, &urls[0], |c| {
        c["managed_as"] == "diamond"
    })
    .await;
    assert_eq!(
        tier(&cross),
        (
            "platinum".into(),
            "diamond".into(),
            json!({"kind": "cross_city"})
        )
    );
    let expect = [
        (1, "gold", "platinum", json!({"kind": "rank", "rank": 2})),
        (2, "gold", "platinum", json!({"kind": "rank", "rank": 3})),
        (3, "ordinary", "gold", json!({"kind": "rank", "rank": 4})),
    ];
    for (i, grade, managed, why) in expect {
        let c = row(&server, &admin.token, &urls[i], |c| {
            c["managed_as"] == managed
        })
        .await;
        assert_eq!(
            tier(&c),
            (grade.into(), managed.into(), why),
            "{}",
            c["name"]
        );
    }

    // The manager's tablet learns the tier through its book (it cannot rank the city itself).
    let mut m1 = Device::login(&server, "m1").await;
    m1.connect().await;
    let book = m1.find(&m1.session.user.book_url).await.expect("book");
    let tiers = wait_for("the managed tiers in m1's book", T, async || {
        let b = book.with_document(|d| Book::load(d).ok())?;
        (b.managed.len() == 2).then_some(b.managed)
    })
    .await;
    let big = tiers.iter().find(|t| t.url == urls[1]).expect("listed");
    assert_eq!(
        (big.grade.as_str(), big.why.as_str(), big.rank),
        ("platinum", "rank", 2)
    );
    let floor = tiers.iter().find(|t| t.url == urls[0]).expect("listed");
    assert_eq!(
        (floor.grade.as_str(), floor.why.as_str()),
        ("diamond", "cross_city")
    );

    // The center narrows the platinum ranks to the first: ranks 2 and 3 are
    // gold at once, though no customer's revenue changed (before, the tiers
    // were worked out again only when some revenue did).
    let (status, body) =
        put_rules(&server, &admin.token, r#"{"managed": {"top_platinum": 1}}"#).await;
    assert_eq!(status, 200, "{body}");
    for i in [1, 2] {
        let c = row(&server, &admin.token, &urls[i], |c| {
            c["managed_as"] == "gold"
        })
        .await;
        // Gold is their own grade now: managed as it, for that reason.
        assert_eq!(c["managed_why"]["kind"], "threshold", "{}", c["name"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_center_changes_the_rules_and_server_and_tablets_apply_them() {
    let mut server = TestServer::new();
    let small = server
        .seed_customer(&earning("三万客户", 30_000, 0), "m1", None)
        .await;
    server.start().await;
    let admin = server.login("admin").await;
    let m1 = server.login("m1").await;
    let before = row(&server, &m1.token, &small, |c| {
        c["grade_proposed"] == "ordinary"
    })
    .await;
    assert_eq!(before["annual_revenue_fen"], 3_000_000);

    // Only the center's admin may change them; a bad file changes nothing and says why.
    let (status, _) = put_rules(&server, &m1.token, r#"{"anomaly": {"fall_percent": 10}}"#).await;
    assert_eq!(status, 403);
    let (status, body) = put_rules(
        &server,
        &admin.token,
        r#"{"grading": {"city_factor_permille": 500}}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["problems"][0]["field"], "grading.city_factor_permille");
    let (status, body) =
        put_rules(&server, &admin.token, r#"{"grading": {"ordinry_fen": 1}}"#).await;
    assert_eq!(status, 400, "a misspelt setting is refused: {body}");
    assert_eq!(
        server.get_json(&m1.token, "/api/rules").await,
        serde_json::to_value(Rules::default()).unwrap()
    );

    // Ordinary now starts at 50,000 yuan: the 30,000-yuan customer drops out.
    let (status, body) = put_rules(
        &server,
        &admin.token,
        r#"{"grading": {"ordinary_fen": 5000000}}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["grading"]["ordinary_fen"], 5_000_000);
    assert_eq!(
        body["grading"]["gold_fen"], 20_000_000,
        "the rest keep their defaults"
    );
    row(&server, &m1.token, &small, |c| {
        c["grade_proposed"] == "none"
    })
    .await;

    // The tablet grades offline by the same numbers: they arrive in its book.
    let mut device = Device::login(&server, "m1").await;
    device.connect().await;
    let book = device
        .find(&device.session.user.book_url)
        .await
        .expect("book");
    wait_for("the new rules in m1's book", T, async || {
        let b = book.with_document(|d| Book::load(d).ok())?;
        (Rules::from_book(&b.rules).grading.ordinary_fen == 5_000_000).then_some(())
    })
    .await;

    // They are stored: a restart keeps them.
    server.kill();
    server.start().await;
    let m1 = server.login("m1").await;
    let rules = server.get_json(&m1.token, "/api/rules").await;
    assert_eq!(rules["grading"]["ordinary_fen"], 5_000_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revenue_alerts_reach_the_manager_and_the_heads_above() {
    let mut server = TestServer::new();
    server
        .seed_customers(&[
            // Halved last month (a fall of 50%), in East (so1).
            (
                with_monthly("东区下滑客户", &[200_000, 100_000]),
                "m1",
                None,
            ),
            // Up 40%, in West (so2).
            (
                with_monthly("西区增长客户", &[100_000, 140_000]),
                "m3",
                None,
            ),
            // Steady: no alert.
            (with_monthly("平稳客户", &[100_000, 105_000]), "m1", None),
        ])
        .await;
    server.start().await;
    let alerts = async |user: &str, n: usize| -> Vec<Value> {
        let token = server.login(user).await.token;
        wait_for("the alerts", T, async || {
            let a = server.get_json(&token, "/api/alerts").await;
            let a = a.as_array()?.clone();
            (a.len() == n).then_some(a)
        })
        .await
    };
    let m1 = alerts("m1", 1).await;
    assert_eq!(m1[0]["name"], "东区下滑客户");
    assert_eq!(m1[0]["alert"]["kind"], "fall_month_on_month");
    assert_eq!(m1[0]["alert"]["percent"], 50);
    assert_eq!(m1[0]["owner"], "m1");
    assert_eq!(alerts("head1", 1).await[0]["name"], "东区下滑客户");
    let m3 = alerts("m3", 1).await;
    assert_eq!(m3[0]["alert"]["kind"], "rise_month_on_month");
    assert_eq!(m3[0]["alert"]["percent"], 40);
    // The specialised company's head sees both units, falls first.
    let co = alerts("headco", 2).await;
    assert_eq!(co[0]["alert"]["kind"], "fall_month_on_month");
    assert_eq!(co[1]["alert"]["kind"], "rise_month_on_month");
    assert_eq!(alerts("m2", 0).await.len(), 0, "m2 manages none of them");
}

/// Every customer's grade, revenue figures, alerts and agreement statuses
/// as the server's tables hold them.
fn standing(server: &TestServer) -> Vec<String> {
    let c = server.sql();
    let mut out = Vec::new();
    for sql in [
        "SELECT doc_id || ' ' || annual_revenue_fen || ' ' || level_proposed || ' ' || grade_proposed
                || ' ' || cross_city_fen FROM customer_index ORDER BY doc_id",
        "SELECT doc_id || ' ' || n || ' ' || kind || ' ' || alert || ' ' || month FROM alerts ORDER BY doc_id, n",
        "SELECT doc_id || ' ' || agreement_id || ' ' || status FROM agreement_index ORDER BY doc_id, agreement_id",
    ] {
        let mut stmt = c.prepare(sql).expect("prepare");
        let rows: Vec<String> = stmt
            .query_map((), |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        out.extend(rows);
    }
    out
}

/// Waits until no customer waits for projection and the server has
/// recorded the month and rules they were projected under.
async fn all_projected(server: &TestServer, customers: i64) {
    wait_for("every customer projected", T, async || {
        let c = server.sql();
        c.query_row(
            "SELECT 1 FROM settings WHERE key = 'projected_with' AND value LIKE '20%'",
            (),
            |r| r.get::<_, i64>(0),
        )
        .ok()?;
        let queued: i64 = c
            .query_row("SELECT COUNT(*) FROM dirty_docs", (), |r| r.get(0))
            .ok()?;
        let projected: i64 = c
            .query_row("SELECT COUNT(*) FROM customer_index", (), |r| r.get(0))
            .ok()?;
        (queued == 0 && projected == customers).then_some(())
    })
    .await;
}

/// New rules are applied from the server's tables (the official ledger, the
/// approvals) rather than by reading every document again, and that gives
/// exactly what reading every document again gives: grades, revenue alerts
/// and agreement statuses alike.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_rules_applied_from_the_tables_give_what_projecting_every_document_gives() {
    let mut server = TestServer::new();
    let mut platinum = TestServer::platinum_customer("白金协议客户");
    platinum
        .agreements
        .push(fieldbook_shared::agreements::Agreement {
            id: "ag1".into(),
            number: "XY-2026-07".into(),
            lines: vec!["delivery".into()],
            start: date_in_days(-30),
            end: date_in_days(300),
            status: "active".into(),
            ..Default::default()
        });
    let customers = [
        (earning("三万客户", 30_000, 0), "m1", None),
        (earning("三十万客户", 300_000, 20_000), "m1", None),
        (platinum, "m1", None),
        (with_monthly("下滑客户", &[200_000, 100_000]), "m1", None),
        (with_monthly("增长客户", &[100_000, 140_000]), "m3", None),
    ];
    server.seed_customers(&customers).await;
    server.start().await;
    all_projected(&server, 5).await;
    let before = standing(&server);
    assert!(
        before.iter().any(|r| r.ends_with(" ag1 pending_approval")),
        "a platinum customer's agreement waits for approval: {before:#?}"
    );

    let admin = server.login("admin").await;
    let (status, body) = put_rules(
        &server,
        &admin.token,
        r#"{"grading": {"ordinary_fen": 5000000},
            "anomaly": {"fall_percent": 60, "rise_percent": 50},
            "agreements": {"approval_from": "diamond"}}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The PUT answers once the tables are up to date.
    let regraded = standing(&server);
    wait_for(
        "the log to say they were applied from the tables",
        T,
        async || {
            server
                .log_text()
                .contains("grades, alerts and agreements worked out again")
                .then_some(())
        },
    )
    .await;
    assert_ne!(before, regraded, "the new rules changed nothing");
    assert!(
        regraded.iter().any(|r| r.ends_with(" ag1 active")),
        "below the new approval grade the agreement is active: {regraded:#?}"
    );
    assert!(
        !regraded.iter().any(|r| r.contains("month_on_month")),
        "no alert passes the new thresholds: {regraded:#?}"
    );

    // The same rules, every document read again (as after a release with new
    // index tables): the same tables.
    server.kill();
    server
        .sql()
        .execute(
            "UPDATE settings SET value = 'then v0 rules' WHERE key = 'projected_with'",
            (),
        )
        .expect("forget how the projections were made");
    server.start().await;
    wait_for("every customer queued again", T, async || {
        server
            .log_text()
            .contains("projecting every customer again")
            .then_some(())
    })
    .await;
    all_projected(&server, 5).await;
    assert_eq!(standing(&server), regraded);
}
