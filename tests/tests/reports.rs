//! `GET /api/reports` end to end: every section is computed from the projections
//! of real customer documents, over a unit subtree and a period, and a head only
//! ever sees their own subtree.

use fieldbook_shared::agreements::{Agreement, Plan};
use fieldbook_shared::complaints::{Complaint, Step};
use fieldbook_shared::customer::{Contact, Customer, LedgerEntry, Visit};
use fieldbook_shared::grading::{Grade, last_twelve_months};
use fieldbook_shared::vocab::{Line, Nature};
use fieldbook_tests::{TestServer, date_in_days, wait_for};
use serde_json::Value;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// A customer with revenue in each of the last 12 complete months.
fn customer(name: &str, monthly_fen: i64) -> Customer {
    let mut c = Customer::new(
        name,
        "91310000REPORT001",
        Nature::Enterprise,
        vec![Line::Delivery],
    );
    c.address = "上海市".into();
    c.industry = "零售".into();
    for m in last_twelve_months(&date_in_days(0)[..7]) {
        c.ledger.push(LedgerEntry {
            month: m,
            line: Line::Delivery,
            amount_fen: monthly_fen,
            disbursed_fen: 0,
            cross_city_fen: 0,
            estimate: false,
        });
    }
    c
}

async fn report(server: &TestServer, token: &str, query: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(format!("{}/api/reports{query}", server.base()))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET /api/reports");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_cover_the_subtree_and_period_and_nothing_else() {
    let mut server = TestServer::new();
    // East (so1): 100,000 yuan a year, visited this month, a closed complaint, a
    // plan and an agreement ending in 10 days; a complete record.
    let mut east = customer("东区报表客户", 833_334);
    east.contacts.push(Contact {
        id: "k1".into(),
        name: "王经理".into(),
        ..Default::default()
    });
    east.visits.push(Visit {
        id: "v1".into(),
        date: date_in_days(0),
        visitors: vec!["m1".into()],
        ..Default::default()
    });
    let mut k = Complaint::new("c1", "phone", "延误", "m1", &date_in_days(-5), Grade::Gold);
    for (status, back) in [
        ("assigned", -4),
        ("in_progress", -3),
        ("replied", -2),
        ("closed", -1),
    ] {
        k.status = status.into();
        k.steps.push(Step {
            status: status.into(),
            by: "m1".into(),
            on: date_in_days(back),
            note: String::new(),
        });
    }
    k.satisfaction = 5;
    east.complaints.push(k);
    let year = date_in_days(0)[..4].to_string();
    east.plans.push(Plan {
        year: year.clone(),
        target_revenue_fen: 20_000_000,
        ..Default::default()
    });
    let mut a = Agreement::new(
        "a1",
        "XY-001",
        vec!["delivery".into()],
        &date_in_days(-300),
        &date_in_days(10),
        "",
        Grade::Gold,
        fieldbook_shared::grading::Grade::Platinum,
    );
    a.status = "active".into();
    east.agreements.push(a);
    // West (so2): larger, no contacts (so not "online").
    let west = customer("西区报表客户", 2_000_000);
    let urls = server
        .seed_customers(&[(east, "m1", None), (west, "m3", None)])
        .await;
    server.start().await;

    let admin = server.login("admin").await.token;
    // Wait until both are projected.
    wait_for(
        "both customers projected",
        Duration::from_secs(20),
        async || {
            let (_, r) = report(&server, &admin, "").await;
            (r["growth"].as_array()?.len() == 2).then_some(())
        },
    )
    .await;

    let head1 = server.login("head1").await.token;
    let (s, r) = report(&server, &head1, "").await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["unit"], "so1");
    let names = |key: &str| -> Vec<String> {
        r[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                x["name"]
                    .as_str()
                    .unwrap_or(x["manager"].as_str().unwrap_or(""))
                    .to_string()
            })
            .collect()
    };
    assert_eq!(names("growth"), ["东区报表客户"]);
    assert!(
        names("compliance").iter().all(|m| m == "m1"),
        "{}",
        r["compliance"]
    );
    assert_eq!(
        r["compliance"].as_array().unwrap().len(),
        12,
        "one row per month"
    );
    assert_eq!(r["total_revenue_fen"], 833_334 * 12);
    assert_eq!(r["grades"][0]["share_permille"], 1000);
    assert_eq!(r["complaints"]["count"], 1);
    assert_eq!(r["complaints"]["closed"], 1);
    assert_eq!(r["complaints"]["satisfaction_x10"], 50);
    assert_eq!(r["plans"][0]["year"], year.as_str());
    assert_eq!(r["expiring"][0]["number"], "XY-001");
    assert_eq!(r["expiring"][0]["in_days"], 10);
    assert_eq!(r["online"]["key_customers"], 1);
    assert_eq!(r["online"]["online"], 1, "{}", r["online"]);

    // This month only: the visit counts for m1.
    let month = &date_in_days(0)[..7];
    let (_, r) = report(&server, &head1, &format!("?from={month}&to={month}")).await;
    assert_eq!(r["compliance"][0]["visited"], 1);
    assert_eq!(r["compliance"][0]["rate_percent"], 100);

    // A head may not look at another subtree; bad periods are refused.
    assert_eq!(report(&server, &head1, "?unit=so2").await.0, 403);
    assert_eq!(
        report(&server, &head1, "?from=2026-13&to=2026-01").await.0,
        400
    );

    // The company head sees both units; the center can narrow to one.
    let headco = server.login("headco").await.token;
    let (_, r) = report(&server, &headco, "").await;
    assert_eq!(r["growth"].as_array().unwrap().len(), 2);
    let units: Vec<&str> = r["unit_compliance"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["month"] == r["to"])
        .map(|c| c["unit"].as_str().unwrap())
        .collect();
    assert_eq!(units, ["so1", "so2"], "compliance per unit too");
    assert_eq!(r["unit_plans"][0]["unit"], "so1");
    assert_eq!(r["unit_plans"][0]["target_fen"], 20_000_000);
    assert_eq!(r["online"]["key_customers"], 2);
    assert_eq!(
        r["online"]["missing"][0][2][0], "缺联系人",
        "{}",
        r["online"]
    );
    let (_, r) = report(&server, &admin, "?unit=so2").await;
    let west: Vec<&str> = r["growth"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(west, [urls[1].trim_start_matches("automerge:")]);

    // A manager's report is their own customers.
    let m3 = server.login("m3").await.token;
    let (_, r) = report(&server, &m3, "").await;
    assert_eq!(r["growth"].as_array().unwrap().len(), 1);
    assert_eq!(r["growth"][0]["name"], "西区报表客户");
}

/// Follow-ups 督办 over a subtree by state; and a database of the release
/// before `followup_index` (projected without it) fills it at its first start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ups_are_listed_by_state_and_an_earlier_database_fills_their_table() {
    use fieldbook_shared::customer::FollowUp;
    let mut server = TestServer::new();
    let mut c = Customer::new("督办列表公司", "", Nature::Enterprise, vec![Line::Delivery]);
    let follow_up = |id: &str, due: String, closed: bool| FollowUp {
        id: id.into(),
        action: format!("事项{id}"),
        owner: "m1".into(),
        due,
        closed,
        ..Default::default()
    };
    c.visits.push(Visit {
        id: "v1".into(),
        date: date_in_days(-20),
        follow_ups: vec![
            follow_up("late", date_in_days(-2), false),
            follow_up("soon", date_in_days(5), false),
            // Closed by a release before states: done.
            follow_up("old", date_in_days(-9), true),
        ],
        ..Default::default()
    });
    server.seed_customer(&c, "m1", None).await;
    let mut west = c.clone();
    west.name = "西区督办公司".into();
    server.seed_customer(&west, "m3", None).await;
    server.start().await;
    let head = server.login("head1").await.token;
    let ids = async |state: &str| -> Vec<String> {
        let rows = server
            .get_json(&head, &format!("/api/followups?state={state}"))
            .await;
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{}:{}",
                    r["customer"].as_str().unwrap(),
                    r["id"].as_str().unwrap()
                )
            })
            .collect()
    };
    wait_for("projected", T, async || {
        (ids("all").await.len() == 3).then_some(())
    })
    .await;
    // East's head: only east's customer; overdue first.
    assert_eq!(
        ids("open").await,
        ["督办列表公司:late", "督办列表公司:soon"]
    );
    assert_eq!(ids("overdue").await, ["督办列表公司:late"]);
    assert_eq!(ids("done").await, ["督办列表公司:old"]);
    let admin = server.login("admin").await.token;
    let all = server.get_json(&admin, "/api/followups?state=open").await;
    assert_eq!(
        all.as_array().unwrap().len(),
        4,
        "the center sees both units"
    );
    let bad = reqwest::Client::new()
        .get(format!("{}/api/followups?state=late", server.base()))
        .bearer_auth(&head)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    // The reports count them per owner by the same rule: m1 has two open,
    // one of them overdue; the old one closed on no known day.
    let (s, r) = report(&server, &head, "").await;
    assert_eq!(s, 200);
    assert_eq!(
        r["follow_ups"],
        serde_json::json!([{"owner": "m1", "open": 2, "overdue": 1, "closed": 0, "told": 0}]),
        "{}",
        r["follow_ups"]
    );

    // As an earlier release left it: projected, but without follow-ups. The
    // projector records its basis on its first tick, after the queue it found
    // at start; on a busy machine that may come after the lists above.
    let db_path = server.db.clone();
    let projected_with = || {
        let db = fieldbook_server::store::sql::Connection::open(&db_path).unwrap();
        db.query_row(
            "SELECT value FROM settings WHERE key = 'projected_with'",
            (),
            |r| r.get::<_, String>(0),
        )
        .ok()
    };
    wait_for("the projection basis recorded", T, async || {
        projected_with()
    })
    .await;
    server.kill();
    {
        let db = server.sql();
        let basis = projected_with().unwrap();
        let earlier = basis.replacen(
            &format!(" v{} ", fieldbook_server::projection::PROJECTION_FORMAT),
            " ",
            1,
        );
        assert_ne!(earlier, basis);
        db.execute(
            "UPDATE settings SET value = ?1 WHERE key = 'projected_with'",
            [&earlier],
        )
        .unwrap();
        db.execute("DELETE FROM followup_index", ()).unwrap();
    }
    server.start().await;
    let head = server.login("head1").await.token;
    wait_for(
        "the follow-ups projected at the first start",
        T,
        async || {
            let rows = server.get_json(&head, "/api/followups").await;
            (rows.as_array()?.len() == 3).then_some(())
        },
    )
    .await;
}
