//! `GET /api/scorecard` against figures computed by hand, on a real server:
//! a quarter of three customers, one handed over after the quarter (and in
//! the middle of the current month, scored too) and one
//! whose manager moved unit (docs/domain.md, Scorecard: a customer counts for
//! its manager now; a manager under their unit now; a unit's line counts the
//! customers in it).

use std::time::Duration;

use fieldbook_shared::customer::{Customer, FollowUp, LedgerEntry, Visit};
use fieldbook_shared::vocab::{FollowUpState, Line, Nature};
use fieldbook_tests::{TestServer, wait_for};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(20);

fn customer(name: &str, ledger: &[(&str, i64)], visits: &[(&str, &str)]) -> Customer {
    let mut c = Customer::new(name, "", Nature::Enterprise, vec![Line::Delivery]);
    for (month, yuan) in ledger {
        c.ledger.push(LedgerEntry {
            month: month.to_string(),
            line: Line::Delivery,
            amount_fen: yuan * 100,
            ..Default::default()
        });
    }
    for (i, (date, who)) in visits.iter().enumerate() {
        c.visits.push(Visit {
            id: format!("v{i}"),
            date: date.to_string(),
            visitors: vec![who.to_string()],
            ..Default::default()
        });
    }
    c
}

async fn post(server: &TestServer, token: &str, path: &str, body: Value) -> u16 {
    reqwest::Client::new()
        .post(format!("{}{path}", server.base()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn get(server: &TestServer, token: &str, path: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", server.base()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn line<'a>(card: &'a Value, list: &str, key: &str, name: &str) -> &'a Value {
    card[list]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == name)
        .unwrap_or_else(|| panic!("no {key} {name} in {card}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scorecard_of_a_quarter_matches_the_figures_by_hand() {
    let mut server = TestServer::new();
    // A (m1): 1,000 yuan a month in Q3, 500 in Q2; visited in July and
    // September; a follow-up closed the day before it was due.
    let mut a = customer(
        "甲考核公司",
        &[
            ("2026-04", 500),
            ("2026-05", 500),
            ("2026-06", 500),
            ("2026-07", 1000),
            ("2026-08", 1000),
            ("2026-09", 1000),
        ],
        &[("2026-07-15", "m1"), ("2026-09-01", "m1")],
    );
    a.visits[0].follow_ups.push(FollowUp {
        id: "f1".into(),
        action: "报价".into(),
        owner: "m1".into(),
        due: "2026-08-10".into(),
        closed: true,
        state: FollowUpState::Done,
        closed_by: "m1".into(),
        closed_on: "2026-08-09".into(),
        ..Default::default()
    });
    // B (m2, handed to m1 after the quarter, and in the middle of this
    // month): 200 yuan a month; a visit in August, and one by m2 this month
    // before the hand-over.
    let this_month = fieldbook_tests::date_in_days(0)[..7].to_string();
    let early_this_month = format!("{this_month}-01");
    let b = customer(
        "乙考核公司",
        &[("2026-07", 200), ("2026-08", 200), ("2026-09", 200)],
        &[("2026-08-02", "m2"), (&early_this_month, "m2")],
    );
    // C (m3 of so2, who then moves to so1): 300 yuan in August.
    let c = customer("丙考核公司", &[("2026-08", 300)], &[]);
    let urls = server
        .seed_customers(&[(a, "m1", None), (b, "m2", None), (c, "m3", None)])
        .await;
    server.start().await;
    let admin = server.login("admin").await.token;
    let b_id = urls[1].trim_start_matches("automerge:");
    assert_eq!(
        post(
            &server,
            &admin,
            &format!("/api/customers/{b_id}/assign"),
            json!({"primary": "m1"})
        )
        .await,
        200
    );
    assert_eq!(
        post(&server, &admin, "/api/users/m3", json!({"unit": "so1"})).await,
        200
    );

    let head1 = server.login("head1").await.token;
    let card: Value = wait_for("the quarter projected", T, async || {
        let (status, body) = get(&server, &head1, "/api/scorecard?period=2026-Q3").await;
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        (v["total"]["revenue_fen"] == 360_000 && v["total"]["follow_ups_closed"] == 1).then_some(v)
    })
    .await;
    assert_eq!(card["months"], json!(["2026-07", "2026-08", "2026-09"]));
    // m1 holds A and B now: both count wholly for m1.
    let m1 = line(&card, "managers", "manager", "m1");
    assert_eq!(m1["customers"], 2);
    assert_eq!(m1["revenue_fen"], 360_000, "A 300,000 + B 60,000");
    assert_eq!(m1["previous_fen"], 150_000, "A's Q2");
    assert_eq!(m1["growth_percent"], 140);
    assert_eq!(m1["yoy_percent"], Value::Null, "nothing a year before");
    assert_eq!(
        (
            &m1["visits_due"],
            &m1["visits_made"],
            &m1["compliance_percent"]
        ),
        (&json!(6), &json!(3), &json!(50)),
        "2 customers x 3 months; A in Jul and Sep, B in Aug"
    );
    assert_eq!(
        (&m1["follow_ups_closed"], &m1["follow_ups_on_time"]),
        (&json!(1), &json!(1))
    );
    // m2 no longer holds anything; m3 is in so1 now, holding nothing here.
    let m2 = line(&card, "managers", "manager", "m2");
    assert_eq!(
        (&m2["customers"], &m2["revenue_fen"]),
        (&json!(0), &json!(0))
    );
    let m3 = line(&card, "managers", "manager", "m3");
    assert_eq!((&m3["unit"], &m3["customers"]), (&json!("so1"), &json!(0)));
    let so1 = line(&card, "units", "unit", "so1");
    assert_eq!(
        (&so1["customers"], &so1["revenue_fen"]),
        (&json!(2), &json!(360_000))
    );
    let trend: Vec<i64> = card["unit_trend"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t[0] == "so1")
        .map(|t| t[2].as_i64().unwrap())
        .collect();
    assert_eq!(trend, [120_000, 120_000, 120_000]);

    // The center sees C under m3 (its manager now, in so1) and under so2
    // (the unit it is in).
    let all: Value = serde_json::from_str(
        &get(&server, &admin, "/api/scorecard?period=2026-Q3")
            .await
            .1,
    )
    .unwrap();
    let m3 = line(&all, "managers", "manager", "m3");
    assert_eq!(
        (&m3["unit"], &m3["customers"], &m3["revenue_fen"]),
        (&json!("so1"), &json!(1), &json!(30_000))
    );
    let so2 = line(&all, "units", "unit", "so2");
    assert_eq!(
        (&so2["customers"], &so2["revenue_fen"]),
        (&json!(1), &json!(30_000))
    );
    assert_eq!(all["total"]["revenue_fen"], 390_000);

    // This month, with B handed over in it: B counts wholly for m1, its
    // manager now, m2's visit before the hand-over included.
    let (status, body) = get(
        &server,
        &head1,
        &format!("/api/scorecard?period={this_month}"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let month: Value = serde_json::from_str(&body).unwrap();
    let m1 = line(&month, "managers", "manager", "m1");
    assert_eq!(
        (&m1["customers"], &m1["visits_due"], &m1["visits_made"]),
        (&json!(2), &json!(2), &json!(1)),
        "{month}"
    );
    let m2 = line(&month, "managers", "manager", "m2");
    assert_eq!(
        (&m2["customers"], &m2["visits_made"]),
        (&json!(0), &json!(0))
    );

    // A head only inside their subtree; a period that is none is refused.
    let head2 = server.login("head2").await.token;
    assert_eq!(
        get(&server, &head2, "/api/scorecard?unit=so1&period=2026-Q3")
            .await
            .0,
        403
    );
    let (status, body) = get(&server, &head1, "/api/scorecard?period=2026-Q5").await;
    assert_eq!(status, 400);
    assert!(body.contains("2026-Q5"), "{body}");
    let m1_token = server.login("m1").await.token;
    assert_eq!(get(&server, &m1_token, "/api/scorecard").await.0, 403);

    // The export: one line per manager, then per unit.
    let (status, csv) = get(&server, &head1, "/api/export/scorecard.csv?period=2026-Q3").await;
    assert_eq!(status, 200);
    let m1_line = csv.lines().find(|l| l.contains(",m1,")).expect(&csv);
    assert!(
        m1_line.contains("50%") && m1_line.contains("140%"),
        "{m1_line}"
    );
    // The quarterly visit report: the compliance report over a quarter.
    let (status, csv) = get(
        &server,
        &head1,
        "/api/export/report-compliance.csv?quarter=2026-Q3",
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        csv.contains("2026-07") && csv.contains("2026-09") && !csv.contains("2026-10"),
        "{csv}"
    );
}
