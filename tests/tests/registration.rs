//! Registration races (报备): two managers of different units register the same
//! company offline; whichever registration reaches the server first owns the lines
//! it claims, the later one is linked to it, and its manager sees why.

use std::time::Duration;

use automerge::Automerge;
use fieldbook_shared::book::Book;
use fieldbook_shared::customer::Customer;
use fieldbook_shared::vocab::{Line, Nature};
use fieldbook_tests::{Device, TestServer, wait_for};
use serde_json::Value;

const T: Duration = Duration::from_secs(20);

async fn register_offline(d: &Device, name: &str, code: &str, lines: Vec<Line>) -> String {
    let mut doc = Automerge::new();
    doc.transact(|tx| Customer::new(name, code, Nature::Enterprise, lines).create(tx))
        .unwrap();
    d.repo.create(doc).await.unwrap().url().to_string()
}

/// The row of `url` once `ready` holds for it.
async fn row(server: &TestServer, token: &str, url: &str, ready: fn(&Value) -> bool) -> Value {
    server.customer_row(token, url, ready).await
}

fn decided(c: &Value) -> bool {
    c["owned_lines"].as_array().is_some_and(|a| !a.is_empty()) || !c["same_as"].is_null()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_offline_registrations_of_one_company_first_to_arrive_owns() {
    let mut server = TestServer::new();
    server.start().await;
    let mut east = Device::login(&server, "m1").await; // so1
    let mut west = Device::login(&server, "m3").await; // so2
    // Both register the same company (same credit code, differently written names) offline.
    let url_east = register_offline(
        &east,
        "新华书店有限公司",
        "91310000MA1RACE01",
        vec![Line::Delivery],
    )
    .await;
    let url_west = register_offline(
        &west,
        "新华书店",
        "91310000ma1race01",
        vec![Line::Delivery, Line::Finance],
    )
    .await;

    // They come online at the same moment.
    tokio::join!(east.connect(), west.connect());
    let admin = server.login("admin").await;
    row(&server, &admin.token, &url_east, decided).await;
    row(&server, &admin.token, &url_west, decided).await;
    // Both are in; read them again so each reflects the other.
    let a = row(&server, &admin.token, &url_east, decided).await;
    let b = row(&server, &admin.token, &url_west, decided).await;
    let (first, second, second_user) = if a["same_as"].is_null() {
        (a, b, "m3")
    } else {
        (b, a, "m1")
    };
    assert!(
        first["same_as"].is_null(),
        "exactly one registration is the original: {first} / {second}"
    );
    assert_eq!(
        second["same_as"], first["url"],
        "the later registration is linked to the earlier"
    );
    assert_eq!(
        first["owned_lines"],
        serde_json::json!(if first["url"] == url_east.as_str() {
            vec!["delivery"]
        } else {
            vec!["delivery", "finance"]
        })
    );
    let dup = second["duplicate_lines"].as_array().unwrap();
    assert_eq!(dup.len(), 1);
    assert_eq!(dup[0]["line"], "delivery");
    assert_eq!(dup[0]["owner_unit"], first["unit"]);
    if second_user == "m3" {
        assert_eq!(
            second["owned_lines"],
            serde_json::json!(["finance"]),
            "a line nobody claimed goes to the later unit"
        );
    }

    // The later manager's tablet is told why, through the book the server writes.
    let later = if second_user == "m3" { &west } else { &east };
    let book = later
        .find(&later.session.user.book_url)
        .await
        .expect("book");
    let notice = wait_for("the duplicate notice in the book", T, async || {
        book.with_document(|d| Book::load(d).ok()).and_then(|b| {
            b.notices
                .into_iter()
                .find(|n| n.url == second["url"].as_str().unwrap_or_default())
        })
    })
    .await;
    assert_eq!(notice.same_as, first["url"].as_str().unwrap());
    assert_eq!(notice.duplicate.len(), 1);
    assert!(notice.duplicate[0].starts_with("delivery:"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_of_a_known_customer_by_name_is_a_duplicate() {
    let mut server = TestServer::new();
    let existing = server
        .seed_customer(
            &Customer::new(
                "麦德龙商业集团有限公司",
                "",
                Nature::Enterprise,
                vec![Line::Letter],
            ),
            "m1",
            None,
        )
        .await;
    server.start().await;
    let mut west = Device::login(&server, "m3").await;
    let url = register_offline(&west, "麦德龙 商业集团", "", vec![Line::Letter]).await;
    west.connect().await;
    let r = row(&server, &west.session.token, &url, |c| {
        !c["same_as"].is_null()
    })
    .await;
    assert_eq!(r["same_as"], existing.as_str());
    assert_eq!(r["owned_lines"], serde_json::json!([]));
    assert_eq!(r["duplicate_lines"][0]["owner_unit"], "so1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn levels_and_grades_are_proposed_from_the_last_twelve_months() {
    use fieldbook_shared::customer::LedgerEntry;
    let mut server = TestServer::new();
    let months = fieldbook_shared::grading::last_twelve_months(&chrono_month());
    let with_revenue = |name: &str, total_fen: i64| {
        let mut c = Customer::new(name, "", Nature::Enterprise, vec![Line::Delivery]);
        // The whole year's revenue in the last complete month, plus a month that must not count.
        c.ledger.push(LedgerEntry {
            month: months[11].clone(),
            line: Line::Delivery,
            amount_fen: total_fen,
            disbursed_fen: 0,
            cross_city_fen: 0,
            estimate: false,
        });
        c.ledger.push(LedgerEntry {
            month: "2001-01".into(),
            line: Line::Delivery,
            amount_fen: 9_999_999_999,
            disbursed_fen: 0,
            cross_city_fen: 0,
            estimate: false,
        });
        c
    };
    // 500,000 yuan exactly (in fen) is district level; one fen less is not.
    let at = server
        .seed_customer(&with_revenue("恰好五十万", 50_000_000), "m1", None)
        .await;
    let under = server
        .seed_customer(&with_revenue("差一分", 50_000_000 - 1), "m1", None)
        .await;
    server.start().await;
    let token = server.login("m1").await.token;
    let get = async |url: &str| {
        row(&server, &token, url, |c| {
            c["annual_revenue_fen"].as_i64() > Some(0)
        })
        .await
    };
    let a = get(&at).await;
    assert_eq!(
        (
            a["annual_revenue_fen"].as_i64(),
            a["level_proposed"].as_str(),
            a["grade_proposed"].as_str()
        ),
        (Some(50_000_000), Some("district"), Some("gold"))
    );
    let b = get(&under).await;
    assert_eq!(
        (b["level_proposed"].as_str(), b["grade_proposed"].as_str()),
        (Some("company"), Some("gold"))
    );
}

/// This month as YYYY-MM (UTC), as the server computes it.
fn chrono_month() -> String {
    fieldbook_tests::date_in_days(0)[..7].to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visit_compliance_per_manager_and_month_respects_visibility() {
    use fieldbook_shared::customer::Visit;
    let mut server = TestServer::new();
    let visited = |name: &str, date: &str| {
        let mut c = Customer::new(name, "", Nature::Enterprise, vec![]);
        c.visits.push(Visit {
            id: format!("v-{name}"),
            date: date.into(),
            visitors: vec!["m1".into()],
            ..Default::default()
        });
        c
    };
    // The East head went along on this one.
    let mut with_head = visited("十一月走访过", "2026-11-05");
    with_head.visits[0].visitors.push("head1".into());
    server.seed_customer(&with_head, "m1", None).await;
    let missed = server
        .seed_customer(&visited("十月走访过", "2026-10-28"), "m1", None)
        .await;
    server
        .seed_customer(&visited("西区客户", "2026-11-02"), "m3", None)
        .await;
    server.start().await;

    let head = server.login("head1").await; // so1: sees m1's customers, not m3's
    let c = wait_for("the projection", T, async || {
        let c = server
            .get_json(&head.token, "/api/cadence?month=2026-11")
            .await;
        // Assignments are there from the start; visits once projected.
        let first = c.as_array()?.first()?;
        (first["due"] == 2 && first["visited"] == 1).then_some(c)
    })
    .await;
    assert_eq!(
        c.as_array().unwrap().len(),
        1,
        "only m1 is in head1's subtree: {c}"
    );
    assert_eq!(c[0]["manager"], "m1");
    assert_eq!(c[0]["visited"], 1);
    assert_eq!(
        c[0]["not_visited"],
        serde_json::json!([missed.trim_start_matches("automerge:")])
    );
    let admin = server.login("admin").await;
    let all = server
        .get_json(&admin.token, "/api/cadence?month=2026-11")
        .await;
    assert_eq!(all.as_array().unwrap().len(), 2);
    let res = reqwest::Client::new()
        .get(format!("{}/api/cadence?month=11-2026", server.base()))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);

    // Heads visit each customer of their unit once a quarter, in person.
    let heads = server
        .get_json(&admin.token, "/api/cadence/heads?quarter=2026-Q4")
        .await;
    let pick = |h: &str| {
        heads
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["head"] == h)
            .map(|r| (r["due"].clone(), r["visited"].clone()))
    };
    assert_eq!(pick("head1"), Some((2.into(), 1.into())), "{heads}");
    assert_eq!(pick("head2"), Some((1.into(), 0.into())), "{heads}");
    assert_eq!(pick("headco"), None, "co1 holds no customers itself");
    let own = server
        .get_json(&head.token, "/api/cadence/heads?quarter=2026-Q4")
        .await;
    assert_eq!(
        own.as_array().unwrap().len(),
        1,
        "only East's customers: {own}"
    );
    let res = reqwest::Client::new()
        .get(format!(
            "{}/api/cadence/heads?quarter=2026-Q5",
            server.base()
        ))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

/// POSTs and returns the status; the answer is printed, for a failing test's log.
async fn post_status(server: &TestServer, token: &str, path: &str, body: Value) -> u16 {
    let res = reqwest::Client::new()
        .post(format!("{}{path}", server.base()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    eprintln!(
        "POST {path} -> {status} {}",
        res.text().await.unwrap_or_default()
    );
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grades_and_registrations_are_approved_by_the_right_people() {
    let mut server = TestServer::new();
    let url = server
        .seed_customer(
            &Customer::new("审批测试客户", "", Nature::Enterprise, vec![]),
            "m1",
            None,
        )
        .await;
    server.start().await;
    let id = url.trim_start_matches("automerge:");
    let path = format!("/api/customers/{id}/grade");
    let tok = async |u: &str| server.login(u).await.token;
    let (m1, head1, head2, admin) = (
        tok("m1").await,
        tok("head1").await,
        tok("head2").await,
        tok("admin").await,
    );
    let gold = serde_json::json!({"level": "company", "grade": "gold"});
    assert_eq!(
        post_status(&server, &m1, &path, gold.clone()).await,
        403,
        "a manager does not approve"
    );
    assert_eq!(
        post_status(&server, &head2, &path, gold.clone()).await,
        403,
        "a head outside the customer's subtree"
    );
    assert_eq!(
        post_status(
            &server,
            &head1,
            &path,
            serde_json::json!({"level": "district", "grade": "platinum"})
        )
        .await,
        403,
        "platinum is the center's"
    );
    assert_eq!(
        post_status(
            &server,
            &head1,
            &path,
            serde_json::json!({"level": "x", "grade": "gold"})
        )
        .await,
        422,
        "bad level"
    );
    assert_eq!(post_status(&server, &head1, &path, gold).await, 200);
    let r = row(&server, &m1, &url, |c| !c["grade_approved"].is_null()).await;
    assert_eq!(
        (r["level_approved"].as_str(), r["grade_approved"].as_str()),
        (Some("company"), Some("gold"))
    );
    assert_eq!(
        post_status(
            &server,
            &admin,
            &path,
            serde_json::json!({"level": "district", "grade": "diamond"})
        )
        .await,
        200
    );

    // The tablet gets the approved grade through its book.
    let mut d = Device::login(&server, "m1").await;
    d.connect().await;
    let book = d.find(&d.session.user.book_url).await.unwrap();
    wait_for("the approved grade in the book", T, async || {
        book.with_document(|x| Book::load(x).ok())
            .filter(|b| {
                b.grades
                    .iter()
                    .any(|g| g.url == url && g.grade == fieldbook_shared::grading::Grade::Diamond)
            })
            .map(|_| ())
    })
    .await;

    // A registration is approved by the level above the registering unit.
    let new_url = register_offline(&d, "新报备待审批", "", vec![Line::Letter]).await;
    let new_row = row(&server, &m1, &new_url, decided).await;
    assert_eq!(new_row["registration_status"], "pending");
    let new_id = new_url.trim_start_matches("automerge:");
    let approve = format!("/api/registrations/{new_id}/approve");
    assert_eq!(
        post_status(&server, &head1, &approve, Value::Null).await,
        403,
        "the head of the same sub-office is not the level above"
    );
    let headco = tok("headco").await;
    assert_eq!(
        post_status(
            &server,
            &headco,
            &format!("/api/registrations/{new_id}/bless"),
            Value::Null
        )
        .await,
        404
    );
    assert_eq!(
        post_status(&server, &headco, &approve, Value::Null).await,
        200
    );
    let r = row(&server, &m1, &new_url, |c| {
        c["registration_status"] == "approved"
    })
    .await;
    assert_eq!(r["owner"], "m1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_level_above_can_rule_a_line_to_the_later_registration() {
    let mut server = TestServer::new();
    let first = server
        .seed_customer(
            &Customer::new(
                "美之家家居有限公司",
                "",
                Nature::Enterprise,
                vec![Line::Delivery],
            ),
            "m1",
            None,
        )
        .await;
    server.start().await;
    let mut west = Device::login(&server, "m3").await;
    let later = register_offline(&west, "美之家家居", "", vec![Line::Delivery]).await;
    west.connect().await;
    let admin = server.login("admin").await.token;
    row(&server, &admin, &later, |c| !c["same_as"].is_null()).await;

    let path = format!(
        "/api/registrations/{}/rule",
        later.trim_start_matches("automerge:")
    );
    let head1 = server.login("head1").await.token; // so1: not above so2
    assert_eq!(
        post_status(
            &server,
            &head1,
            &path,
            serde_json::json!({"line": "delivery"})
        )
        .await,
        403
    );
    let headco = server.login("headco").await.token; // co1: above so1 and so2
    assert_eq!(
        post_status(
            &server,
            &headco,
            &path,
            serde_json::json!({"line": "letter"})
        )
        .await,
        400,
        "a line it never claimed"
    );
    assert_eq!(
        post_status(
            &server,
            &headco,
            &path,
            serde_json::json!({"line": "delivery"})
        )
        .await,
        200
    );
    let l = row(&server, &admin, &later, |c| {
        c["owned_lines"] == serde_json::json!(["delivery"])
    })
    .await;
    assert!(l["duplicate_lines"].as_array().unwrap().is_empty());
    let f = row(&server, &admin, &first, |c| {
        c["owned_lines"] == serde_json::json!([])
    })
    .await;
    assert_eq!(f["duplicate_lines"][0]["owner_unit"], "so2");
}

/// Customer numbers 客户编号: the rules' pattern (a bad one refused, naming
/// its problem), a number given by the server on approval, in sequence,
/// never before; in the tablet's book and the list; an import keeps the
/// office's own number, refuses one already used and numbers the rest;
/// the export has them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approved_customers_are_numbered_by_the_rules_pattern() {
    let mut server = TestServer::new();
    server.start().await;
    let tok = async |u: &str| server.login(u).await.token;
    let (m1, headco, admin, head1) = (
        tok("m1").await,
        tok("headco").await,
        tok("admin").await,
        tok("head1").await,
    );
    let put_rules = async |body: Value| {
        let res = reqwest::Client::new()
            .put(format!("{}/api/rules", server.base()))
            .bearer_auth(&admin)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        (
            res.status().as_u16(),
            res.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    let (s, refused) =
        put_rules(serde_json::json!({"numbers": {"pattern": "31{city}{seq:4}"}})).await;
    assert_eq!(s, 400, "{refused}");
    let problem = &refused["problems"][0];
    assert_eq!(problem["field"], "numbers.pattern", "{refused}");
    assert!(
        problem["message"].as_str().unwrap().contains("{city}"),
        "{refused}"
    );
    let (s, _) = put_rules(serde_json::json!({"numbers": {"pattern": "31{line}{seq:4}"}})).await;
    assert_eq!(s, 200);

    let mut d = Device::login(&server, "m1").await;
    d.connect().await;
    let first = register_offline(&d, "编号一号公司", "", vec![Line::Delivery]).await;
    let second = register_offline(&d, "编号二号公司", "", vec![Line::Letter, Line::Delivery]).await;
    for url in [&first, &second] {
        let r = row(&server, &m1, url, decided).await;
        assert_eq!(r["customer_no"], "", "no number while pending");
        let id = url.trim_start_matches("automerge:");
        let approve = format!("/api/registrations/{id}/approve");
        assert_eq!(
            post_status(&server, &headco, &approve, Value::Null).await,
            200
        );
    }
    let number = |c: &Value| c["customer_no"].as_str().unwrap_or_default().to_string();
    let one = number(&row(&server, &m1, &first, |c| c["customer_no"] != "").await);
    let two = number(&row(&server, &m1, &second, |c| c["customer_no"] != "").await);
    assert_eq!((one.as_str(), two.as_str()), ("31JD0001", "31HJ0001"));
    // Approving again changes nothing.
    let id = first.trim_start_matches("automerge:");
    let approve = format!("/api/registrations/{id}/approve");
    assert_eq!(
        post_status(&server, &headco, &approve, Value::Null).await,
        200
    );
    assert_eq!(
        number(&row(&server, &m1, &first, |_| true).await),
        "31JD0001"
    );

    // The tablet reads it from its book.
    let book = d.find(&d.session.user.book_url).await.unwrap();
    wait_for("the number in the book", T, async || {
        book.with_document(|x| Book::load(x).ok())
            .filter(|b| {
                b.numbers
                    .iter()
                    .any(|n| n.url == first && n.number == "31JD0001")
            })
            .map(|_| ())
    })
    .await;

    // An import: the office's own number kept, a used one refused, the rest numbered.
    let upload = async |csv: &str| {
        server
            .post_file(
                &head1,
                "/api/import/customers",
                "text/csv",
                csv.as_bytes().to_vec(),
            )
            .await
    };
    let (s, report) =
        upload("客户名称,客户经理,业务类型,客户编号\n导入甲,m1,寄递,31JD0001\n").await;
    assert_eq!(s, 400, "{report}");
    assert_eq!(report["errors"][0]["column"], "客户编号", "{report}");
    let (s, report) =
        upload("客户名称,客户经理,业务类型,客户编号\n导入甲,m1,寄递,OLD-7\n导入乙,m1,寄递,\n")
            .await;
    assert_eq!((s, &report["imported"]), (200, &Value::from(2)), "{report}");
    let list = server.get_json(&head1, "/api/customers").await;
    let numbered = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .map(number)
            .unwrap_or_default()
    };
    assert_eq!(
        (numbered("导入甲").as_str(), numbered("导入乙").as_str()),
        ("OLD-7", "31JD0002")
    );
    let csv = reqwest::Client::new()
        .get(format!("{}/api/export/customers.csv", server.base()))
        .bearer_auth(&head1)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        csv.contains("客户编号") && csv.contains("OLD-7") && csv.contains("31JD0002"),
        "{csv}"
    );
}
