//! Screenshots of the tablet app with the demo data, for a person to look at:
//! `cargo xtask dist && cargo run -p fieldbook-tests --example screens` writes
//! target/screens/*.png (1280×800 landscape, then 800×1280 portrait).

use std::time::Duration;

use fieldbook_tests::browser::Browser;
use fieldbook_tests::{PASSWORD, TestServer};
use serde_json::json;

#[tokio::main]
async fn main() {
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screens");
    std::fs::create_dir_all(&out).expect("out dir");
    let mut server = TestServer::new();
    server.serve_client();
    let customers: Vec<_> = fieldbook_server::demo::demo_customers(140)
        .into_iter()
        .map(|c| (c, "m1", None))
        .collect();
    server.seed_customers(&customers).await;
    server.start().await;
    let t = Duration::from_secs(60);
    let b = Browser::start().await;
    b.goto(&server.base()).await;
    b.wait(
        "login",
        t,
        "return document.querySelector('input[name=username]')",
        json!([]),
    )
    .await;
    b.screenshot(&out.join("1-login.png")).await;
    b.fill("input[name=username]", "m1").await;
    b.fill("input[name=password]", PASSWORD).await;
    b.click("button[type=submit]").await;
    // 140 customers: the list draws its first page of 100.
    b.wait(
        "rows",
        t,
        "return document.querySelectorAll('li.row').length === 100 && document.querySelector('ul.rows').dataset.listed === '140'",
        json!([]),
    )
    .await;
    b.screenshot(&out.join("2-customers.png")).await;
    // Its end, the button to draw the rest showing.
    b.js(
        "document.querySelector('li.more').scrollIntoView(); return true",
        json!([]),
    )
    .await;
    b.screenshot(&out.join("2-customers-end.png")).await;
    b.js("window.scrollTo(0, 0); return true", json!([])).await;
    b.click("li.row").await;
    b.wait(
        "detail",
        t,
        "return document.querySelector('section.customer')",
        json!([]),
    )
    .await;
    b.screenshot(&out.join("3-customer.png")).await;
    b.click_text("button", "记录走访").await;
    b.wait(
        "form",
        t,
        "return document.querySelector('form.visit-form')",
        json!([]),
    )
    .await;
    b.screenshot(&out.join("4-visit-form.png")).await;
    // The import and export screen, with a preview of a clean file.
    b.goto(&server.base()).await;
    b.wait(
        "rows",
        t,
        "return document.querySelectorAll('li.row').length === 100",
        json!([]),
    )
    .await;
    b.click("button.transfer-button").await;
    b.wait(
        "transfer",
        t,
        "return document.querySelector('input[name=import-ledger]')",
        json!([]),
    )
    .await;
    b.screenshot(&out.join("5-import-export.png")).await;
    // A ledger with mistakes: the preview lists them row by row.
    let bad = "客户名称,月份,业务类型,收入(万元)\n没有这个客户,2026-10,寄递,1.5\n没有这个客户,2026-13,快递包裹,abc\n";
    b.choose_file("input[name=import-ledger]", "台帐.csv", bad)
        .await;
    b.wait(
        "the problems",
        t,
        "return document.querySelector('table.import-errors')",
        json!([]),
    )
    .await;
    b.screenshot(&out.join("5b-import-refused.png")).await;
    // Portrait, as a tablet held upright.
    b.set_window_size(800, 1280).await;
    b.goto(&server.base()).await;
    b.wait(
        "rows",
        t,
        "return document.querySelectorAll('li.row').length === 100",
        json!([]),
    )
    .await;
    b.screenshot(&out.join("6-customers-portrait.png")).await;
    b.click("li.row").await;
    b.wait(
        "detail",
        t,
        "return document.querySelector('section.customer')",
        json!([]),
    )
    .await;
    b.screenshot(&out.join("7-customer-portrait.png")).await;
    // The field manager's loop: the customer's 督办 and care cards, the 督办
    // list and the itinerary, upright and then landscape.
    for (size, suffix) in [((800, 1280), "portrait"), ((1280, 800), "landscape")] {
        b.set_window_size(size.0, size.1).await;
        for (hash, ready, name) in [
            ("#/followups", "section.follow-ups-list", "8-follow-ups"),
            ("#/plan", "section.plan", "9-plan"),
        ] {
            b.js("location.hash = arguments[0]; return true;", json!([hash]))
                .await;
            b.wait(
                name,
                t,
                "return document.querySelector(arguments[0])",
                json!([ready]),
            )
            .await;
            b.screenshot(&out.join(format!("{name}-{suffix}.png")))
                .await;
        }
        b.js("location.hash = '#/customers'; return true;", json!([]))
            .await;
        b.wait(
            "rows",
            t,
            "return document.querySelectorAll('li.row').length === 100",
            json!([]),
        )
        .await;
        b.click("li.row").await;
        for (card, name) in [
            ("card-follow-ups", "10-follow-up-card"),
            ("card-care", "11-care-card"),
            ("card-surveys", "15-survey-card"),
            ("card-attachments", "17-attachments-card"),
        ] {
            b.wait(
                name,
                t,
                "const c = document.getElementById(arguments[0]); if (!c) return false; c.scrollIntoView(); return true;",
                json!([card]),
            )
            .await;
            b.screenshot(&out.join(format!("{name}-{suffix}.png")))
                .await;
        }
    }
    // The head's loop: 待审批 (a registration from m1's tablet waits),
    // 月末核实 (m1's month) and 考核, upright and then landscape.
    let mut m1 = fieldbook_tests::Device::login(&server, "m1").await;
    m1.connect().await;
    let mut doc = automerge::Automerge::new();
    doc.transact(|tx| {
        fieldbook_shared::customer::Customer::new(
            "新报备物流有限公司",
            "91310000MA1NEW0001",
            fieldbook_shared::vocab::Nature::Enterprise,
            vec![fieldbook_shared::vocab::Line::Delivery],
        )
        .create(tx)
    })
    .expect("registration");
    let _ = m1.repo.create(doc).await.expect("create");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let h = Browser::start().await;
    h.goto(&server.base()).await;
    h.wait(
        "login",
        t,
        "return document.querySelector('input[name=username]')",
        json!([]),
    )
    .await;
    h.fill("input[name=username]", "headco").await;
    h.fill("input[name=password]", PASSWORD).await;
    h.click("button[type=submit]").await;
    h.wait(
        "the head's list",
        t,
        "return document.querySelectorAll('li.row').length > 0",
        json!([]),
    )
    .await;
    for (size, suffix) in [((800, 1280), "portrait"), ((1280, 800), "landscape")] {
        h.set_window_size(size.0, size.1).await;
        for (hash, ready, name) in [
            ("#/approvals", "li.inbox-item", "12-approvals"),
            ("#/review", "li.manager", "13-review"),
            ("#/scorecard", "table.scorecard", "14-scorecard"),
            ("#/events", "section.events", "16-events"),
        ] {
            h.js("location.hash = arguments[0]; return true;", json!([hash]))
                .await;
            h.wait(
                name,
                t,
                "return document.querySelector(arguments[0])",
                json!([ready]),
            )
            .await;
            if name == "13-review" {
                h.click("li.manager[data-user='m1'] button.pick-manager")
                    .await;
                h.wait(
                    "m1's month",
                    t,
                    "return document.querySelector('.manager-month')",
                    json!([]),
                )
                .await;
            }
            h.screenshot(&out.join(format!("{name}-{suffix}.png")))
                .await;
        }
    }
    // The unlock form of a start (the tablet's data is sealed at rest).
    b.refresh_locked().await;
    b.wait(
        "the unlock form",
        t,
        "return document.querySelector('form.unlock')",
        json!([]),
    )
    .await;
    b.screenshot(&out.join("18-unlock.png")).await;
    println!("screenshots in {}", out.display());
}
