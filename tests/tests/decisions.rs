//! Desks (shared/src/desk.rs): a user's own document, where their tablet
//! keeps work-log notes and month hand-ins and records the decisions a head
//! takes, maybe offline, for the server to carry out or refuse. Real server,
//! real devices on websockets.

use std::time::Duration;

use automerge::Automerge;
use fieldbook_shared::book::Book;
use fieldbook_shared::customer::Customer;
use fieldbook_shared::desk::{self, DayNote, Decision, Desk, Submission};
use fieldbook_shared::vocab::{Line, Nature};
use fieldbook_tests::{Device, TestServer, wait_for};
use samod::DocHandle;
use serde_json::Value;

const T: Duration = Duration::from_secs(20);

async fn register(d: &Device, name: &str) -> String {
    let mut doc = Automerge::new();
    doc.transact(|tx| Customer::new(name, "", Nature::Enterprise, vec![Line::Letter]).create(tx))
        .unwrap();
    d.repo.create(doc).await.unwrap().url().to_string()
}

/// A new desk on the device, holding `decisions` (ids r0, r1, …).
async fn desk_with(d: &Device, user: &str, decisions: &[Decision]) -> DocHandle {
    let mut doc = Automerge::new();
    doc.transact(|tx| {
        Desk::new(user).create(tx)?;
        for (i, dec) in decisions.iter().enumerate() {
            desk::request(tx, &dec.request(&format!("r{i}"), "2026-12-05 10:00"))?;
        }
        Ok::<_, fieldbook_shared::SchemaError>(())
    })
    .unwrap();
    d.repo.create(doc).await.unwrap()
}

/// The desk once the server has answered `n` of its requests and hand-ins.
async fn answered(desk: &DocHandle, n: usize) -> Desk {
    wait_for("the server's answers in the desk", T, async || {
        desk.with_document(|d| Desk::load(d).ok())
            .filter(|k| k.outcomes.len() >= n)
    })
    .await
}

fn id_of(url: &str) -> String {
    url.trim_start_matches("automerge:").to_string()
}

async fn status(server: &TestServer, token: &str, url: &str, want: &'static str) -> Value {
    server
        .customer_row(token, url, move |c| c["registration_status"] == want)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heads_offline_decisions_are_carried_out_or_refused_with_the_reason() {
    let mut server = TestServer::new();
    server.start().await;
    let mut m1 = Device::login(&server, "m1").await;
    m1.connect().await;
    let a = register(&m1, "甲报备公司").await;
    let b = register(&m1, "乙报备公司").await;
    let c = register(&m1, "丙报备公司").await;
    let tok = m1.session.token.clone();
    for url in [&a, &b, &c] {
        status(&server, &tok, url, "pending").await;
    }

    // The inbox: the head of the level above sees the three; a manager has none.
    let headco = server.login("headco").await;
    let inbox = server.get_json(&headco.token, "/api/approvals").await;
    let mut names: Vec<&str> = inbox["registrations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    names.sort();
    assert_eq!(names, ["丙报备公司", "乙报备公司", "甲报备公司"], "{inbox}");
    assert_eq!(inbox["registrations"][0]["registered_by"], "m1");
    assert_eq!(inbox["totals"]["registrations"], 3);
    let refused = reqwest::Client::new()
        .get(format!("{}/api/approvals", server.base()))
        .bearer_auth(&tok)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);

    // The head decides offline: approve A, send B back, send C back.
    let mut head = Device::login(&server, "headco").await;
    let desk = desk_with(
        &head,
        "headco",
        &[
            Decision::ApproveRegistration { doc: id_of(&a) },
            Decision::ReturnRegistration {
                doc: id_of(&b),
                reason: "名称与营业执照不符".into(),
            },
            Decision::ReturnRegistration {
                doc: id_of(&c),
                reason: "重复报备".into(),
            },
        ],
    )
    .await;
    // Meanwhile the center approves C online: the head's return comes second.
    let admin = server.login("admin").await;
    let res = reqwest::Client::new()
        .post(format!(
            "{}/api/registrations/{}/approve",
            server.base(),
            id_of(&c)
        ))
        .bearer_auth(&admin.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);

    head.connect().await;
    let answers = answered(&desk, 3).await;
    let by_id = |id: &str| answers.outcome(id).cloned().unwrap();
    assert!(by_id("r0").ok, "{:?}", by_id("r0"));
    assert!(by_id("r1").ok, "{:?}", by_id("r1"));
    let late = by_id("r2");
    assert!(!late.ok, "decided first by the center: {late:?}");
    assert!(late.message.contains("已由"), "{}", late.message);
    status(&server, &tok, &a, "approved").await;
    status(&server, &tok, &b, "rejected").await;
    status(&server, &tok, &c, "approved").await;

    // The manager's tablet reads where each stands, with the reason.
    let book = m1.find(&m1.session.user.book_url).await.unwrap();
    let regs = wait_for("the decisions in the manager's book", T, async || {
        book.with_document(|d| Book::load(d).ok())
            .map(|b| b.registrations)
            .filter(|r| r.iter().any(|s| s.url == b && s.status == "rejected"))
    })
    .await;
    let of = |url: &str| regs.iter().find(|s| s.url == url).cloned().unwrap();
    assert_eq!(of(&a).status, "approved");
    assert_eq!(of(&b).reason, "名称与营业执照不符");
    assert!(!of(&b).decided_by.is_empty());

    // A head of the registering unit itself is not the level above: refused.
    let mut head1 = Device::login(&server, "head1").await;
    let d = register(&m1, "丁报备公司").await;
    status(&server, &tok, &d, "pending").await;
    let desk1 = desk_with(
        &head1,
        "head1",
        &[Decision::ApproveRegistration { doc: id_of(&d) }],
    )
    .await;
    head1.connect().await;
    let refused = answered(&desk1, 1).await;
    assert!(!refused.outcomes[0].ok);
    assert!(refused.outcomes[0].message.contains("上一级"));
    status(&server, &tok, &d, "pending").await;

    // A grade within a head's authority is fixed; one above it is refused.
    let e = register(&m1, "戊定级公司").await;
    status(&server, &tok, &e, "pending").await;
    let grades = desk_with(
        &head1,
        "head1",
        &[
            Decision::Grade {
                doc: id_of(&e),
                level: fieldbook_shared::grading::Level::Company,
                grade: fieldbook_shared::grading::Grade::Gold,
            },
            Decision::Grade {
                doc: id_of(&e),
                level: fieldbook_shared::grading::Level::District,
                grade: fieldbook_shared::grading::Grade::Platinum,
            },
        ],
    )
    .await;
    let answers = answered(&grades, 2).await;
    assert!(answers.outcome("r0").unwrap().ok, "{:?}", answers.outcomes);
    let above = answers.outcome("r1").unwrap();
    assert!(!above.ok && above.message.contains("大客中心"), "{above:?}");
    let row = server
        .customer_row(&tok, &e, |c| c["grade_approved"] == "gold")
        .await;
    assert_eq!(row["level_approved"], "company");

    // The head's book names the desk, so their other devices find it.
    let head_book = head.find(&head.session.user.book_url).await.unwrap();
    let desk_url = desk.url().to_string();
    wait_for("the desk in the head's book", T, async || {
        head_book
            .with_document(|d| Book::load(d).ok())
            .filter(|b| b.desks.contains(&desk_url))
            .map(|_| ())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_managers_work_log_notes_and_month_hand_in_reach_the_server() {
    let mut server = TestServer::new();
    server.start().await;
    let mut m1 = Device::login(&server, "m1").await;
    let month = fieldbook_tests::date_in_days(0)[..7].to_string();
    let mut doc = Automerge::new();
    doc.transact(|tx| {
        Desk::new("m1").create(tx)?;
        desk::add_note(
            tx,
            &DayNote {
                id: "n1".into(),
                day: format!("{month}-01"),
                time: "17:30".into(),
                text: "整理走访材料，联系专业公司".into(),
            },
        )?;
        desk::submit(
            tx,
            &Submission {
                id: "s1".into(),
                month: month.clone(),
                at: "2026-12-05 18:00".into(),
                note: "本月走访 12 家".into(),
            },
            &month,
        )
    })
    .unwrap();
    let desk = m1.repo.create(doc).await.unwrap();
    // A decision from a manager's desk is refused: it carries no authority.
    desk.with_document(|d| {
        d.transact(|tx| {
            desk::request(
                tx,
                &Decision::Grade {
                    doc: "2v8ZQ8b4tUHPmGjhc6ReXWgMTGb8".into(),
                    level: fieldbook_shared::grading::Level::District,
                    grade: fieldbook_shared::grading::Grade::Diamond,
                }
                .request("g1", "2026-12-05 18:01"),
            )
        })
        .unwrap();
    });
    m1.connect().await;
    let answers = answered(&desk, 2).await;
    let handed = answers.outcome("s1").unwrap();
    assert!(handed.ok, "{handed:?}");
    assert!(!answers.outcome("g1").unwrap().ok);

    let conn = server.sql();
    let note: String = conn
        .query_row("SELECT text FROM worklog_notes", (), |r| r.get(0))
        .unwrap();
    assert_eq!(note, "整理走访材料，联系专业公司");
    let (m, n): (String, String) = conn
        .query_row("SELECT month, note FROM worklog_submissions", (), |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((m.as_str(), n.as_str()), (month.as_str(), "本月走访 12 家"));
}

/// 裁定 from the head's desk: a line another unit registered first is ruled
/// to the later registration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_ruled_from_a_desk_moves_to_the_later_registration() {
    let mut server = TestServer::new();
    server.start().await;
    let mut m1 = Device::login(&server, "m1").await;
    m1.connect().await;
    let first = register(&m1, "重复报备商贸有限公司").await;
    let tok1 = m1.session.token.clone();
    server
        .customer_row(&tok1, &first, |c| {
            c["owned_lines"] == serde_json::json!(["letter"])
        })
        .await;
    let mut m3 = Device::login(&server, "m3").await;
    m3.connect().await;
    let mut doc = Automerge::new();
    doc.transact(|tx| {
        Customer::new(
            "重复报备商贸",
            "",
            Nature::Enterprise,
            vec![Line::Letter, Line::Finance],
        )
        .create(tx)
    })
    .unwrap();
    let later = m3.repo.create(doc).await.unwrap().url().to_string();
    let tok3 = m3.session.token.clone();
    server
        .customer_row(&tok3, &later, |c| {
            c["owned_lines"] == serde_json::json!(["finance"])
        })
        .await;
    let headco = server.login("headco").await.token;
    let inbox = server.get_json(&headco, "/api/approvals").await;
    let item = inbox["registrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "重复报备商贸")
        .cloned()
        .expect("the later registration in the inbox");
    assert_eq!(item["duplicate"][0][0], "letter", "{item}");
    assert!(
        item["same_as"]
            .as_str()
            .unwrap()
            .contains("重复报备商贸有限公司"),
        "{item}"
    );

    let mut head = Device::login(&server, "headco").await;
    let desk = desk_with(
        &head,
        "headco",
        &[Decision::RuleLine {
            doc: id_of(&later),
            line: Line::Letter,
        }],
    )
    .await;
    head.connect().await;
    let answers = answered(&desk, 1).await;
    assert!(answers.outcomes[0].ok, "{:?}", answers.outcomes);
    let row = server
        .customer_row(&tok3, &later, |c| {
            c["owned_lines"]
                .as_array()
                .is_some_and(|l| l.iter().any(|x| x == "letter"))
        })
        .await;
    assert!(
        row["duplicate_lines"]
            .as_array()
            .is_none_or(|d| d.is_empty()),
        "{row}"
    );
}

/// 交接申请: a manager asks from their desk to hand a customer over; the head
/// above sees it in 待审批 and approves it from theirs; the customer moves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_over_requested_by_the_manager_is_approved_by_the_head() {
    let mut server = TestServer::new();
    let urls = server
        .seed_customers(&[(
            Customer::new("交接申请公司", "", Nature::Enterprise, vec![Line::Letter]),
            "m1",
            None,
        )])
        .await;
    server.start().await;
    let url = urls[0].clone();
    let mut m1 = Device::login(&server, "m1").await;
    let mut m3 = Device::login(&server, "m3").await;
    let asks = desk_with(
        &m1,
        "m1",
        &[Decision::RequestHandover {
            doc: id_of(&url),
            to: "m2".into(),
            reason: "调往西区".into(),
        }],
    )
    .await;
    // Someone who is not the customer's manager cannot ask.
    let stranger = desk_with(
        &m3,
        "m3",
        &[Decision::RequestHandover {
            doc: id_of(&url),
            to: "m2".into(),
            reason: String::new(),
        }],
    )
    .await;
    m1.connect().await;
    m3.connect().await;
    assert!(answered(&asks, 1).await.outcomes[0].ok);
    assert!(!answered(&stranger, 1).await.outcomes[0].ok);

    let headco = server.login("headco").await.token;
    let inbox = server.get_json(&headco, "/api/approvals").await;
    assert_eq!(inbox["totals"]["handovers"], 1, "{inbox}");
    let request = inbox["handovers"][0]["id"].as_i64().unwrap();
    assert_eq!(inbox["handovers"][0]["reason"], "调往西区");
    let mut head = Device::login(&server, "headco").await;
    let decides = desk_with(
        &head,
        "headco",
        &[Decision::DecideHandover {
            request,
            approve: true,
        }],
    )
    .await;
    head.connect().await;
    let answers = answered(&decides, 1).await;
    assert!(answers.outcomes[0].ok, "{:?}", answers.outcomes);
    let admin = server.login("admin").await.token;
    let row = server
        .customer_row(&admin, &url, |c| c["owner"] == "m2")
        .await;
    assert_eq!(row["owner"], "m2");
    let inbox = server.get_json(&headco, "/api/approvals").await;
    assert_eq!(inbox["totals"]["handovers"], 0);
}

/// An agreement of a customer whose grade needs approval (platinum, by the
/// rules) waits in the head's 待审批 with its number, and a head over the
/// customer's unit approves it from there, as a desk request; a head of
/// another unit is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agreement_waiting_for_approval_is_in_the_inbox_and_approved_from_it() {
    let mut server = TestServer::new();
    let mut c = TestServer::platinum_customer("协议审批公司");
    c.agreements.push(fieldbook_shared::agreements::Agreement {
        id: "ag1".into(),
        number: "XY-2026-01".into(),
        lines: vec!["delivery".into()],
        start: "2026-12-01".into(),
        end: "2027-11-30".into(),
        terms: "月结九五折".into(),
        status: "pending_approval".into(),
        ..Default::default()
    });
    let url = server.seed_customer(&c, "m1", None).await;
    server.start().await;
    let head1 = server.login("head1").await.token;
    let inbox = wait_for("the agreement in the inbox", T, async || {
        let inbox = server.get_json(&head1, "/api/approvals").await;
        (inbox["totals"]["agreements"] == 1).then_some(inbox)
    })
    .await;
    assert_eq!(inbox["agreements"][0]["number"], "XY-2026-01", "{inbox}");
    assert_eq!(inbox["agreements"][0]["name"], "协议审批公司");
    // The head of the other unit: not theirs to approve.
    let head2 = server.login("head2").await.token;
    let theirs = server.get_json(&head2, "/api/approvals").await;
    assert_eq!(theirs["totals"]["agreements"], 0, "{theirs}");
    let mut other = Device::login(&server, "head2").await;
    let refused = desk_with(
        &other,
        "head2",
        &[Decision::ApproveAgreement {
            doc: id_of(&url),
            agreement: "ag1".into(),
        }],
    )
    .await;
    other.connect().await;
    assert!(!answered(&refused, 1).await.outcomes[0].ok);

    let mut head = Device::login(&server, "head1").await;
    let desk = desk_with(
        &head,
        "head1",
        &[Decision::ApproveAgreement {
            doc: id_of(&url),
            agreement: "ag1".into(),
        }],
    )
    .await;
    head.connect().await;
    let answers = answered(&desk, 1).await;
    assert!(answers.outcomes[0].ok, "{:?}", answers.outcomes);
    wait_for("the inbox without it", T, async || {
        let inbox = server.get_json(&head1, "/api/approvals").await;
        (inbox["totals"]["agreements"] == 0).then_some(())
    })
    .await;
}
