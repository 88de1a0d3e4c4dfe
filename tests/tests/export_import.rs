//! Export and import for the office: CSV and XLSX with Chinese headers, only what
//! the caller may see; imports are all-or-nothing, name every bad row, and land
//! in the customer documents that tablets sync.

use std::io::Cursor;
use std::time::Duration;

use calamine::{Reader, open_workbook_auto_from_rs};
use fieldbook_shared::customer::Customer;
use fieldbook_shared::vocab::{Line, Nature};
use fieldbook_tests::{Device, TestServer, wait_for};
use serde_json::Value;

const T: Duration = Duration::from_secs(20);

async fn get(server: &TestServer, token: &str, path: &str) -> (u16, String, Vec<u8>) {
    let res = reqwest::Client::new()
        .get(format!("{}{path}", server.base()))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET");
    let status = res.status().as_u16();
    let mime = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, mime, res.bytes().await.unwrap().to_vec())
}

async fn upload(server: &TestServer, token: &str, path: &str, body: Vec<u8>) -> (u16, Value) {
    server.post_file(token, path, "text/csv", body).await
}

fn customer(name: &str, code: &str) -> Customer {
    let mut c = Customer::new(name, code, Nature::Enterprise, vec![Line::Delivery]);
    c.address = "上海市".into();
    c
}

async fn server_with_two_units() -> (TestServer, Vec<String>) {
    two_units_logging(None).await
}

/// [`server_with_two_units`] with the server's log filter (`RUST_LOG`).
async fn two_units_logging(filter: Option<&str>) -> (TestServer, Vec<String>) {
    let mut server = TestServer::new();
    server.log_filter = filter.map(String::from);
    let urls = server
        .seed_customers(&[
            (customer("东区导出公司", "91310000EXPORT0001"), "m1", None),
            (customer("西区导出公司", "91310000EXPORT0002"), "m3", None),
        ])
        .await;
    server.start().await;
    let admin = server.login("admin").await.token;
    wait_for("both projected", T, async || {
        let list = server.get_json(&admin, "/api/customers").await;
        (list.as_array()?.iter().filter(|c| c["name"] != "").count() == 2).then_some(())
    })
    .await;
    (server, urls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_exports_only_their_subtree_as_csv_and_a_real_workbook() {
    let (server, _) = server_with_two_units().await;
    let head1 = server.login("head1").await.token;
    let (s, mime, csv) = get(&server, &head1, "/api/export/customers.csv").await;
    assert_eq!(s, 200);
    assert!(mime.starts_with("text/csv"), "{mime}");
    assert!(
        csv.starts_with(b"\xEF\xBB\xBF"),
        "a BOM for spreadsheet programs"
    );
    let text = String::from_utf8(csv).unwrap();
    assert!(text.contains("客户名称,统一社会信用代码"), "{text}");
    assert!(
        text.contains("东区导出公司") && !text.contains("西区导出公司"),
        "{text}"
    );

    let (s, mime, xlsx) = get(&server, &head1, "/api/export/customers.xlsx").await;
    assert_eq!(s, 200);
    assert!(mime.contains("spreadsheetml"), "{mime}");
    let mut book = open_workbook_auto_from_rs(Cursor::new(xlsx)).expect("a valid workbook");
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(
        rows.len(),
        2,
        "the header and East's one customer: {rows:?}"
    );
    assert_eq!(rows[0][0], "客户名称");
    assert_eq!(rows[1][0], "东区导出公司");
    assert_eq!(rows[1][6], "m1");

    // Reports export the same way, and respect the subtree too.
    let (s, _, grades) = get(&server, &head1, "/api/export/report-grades.csv").await;
    assert_eq!(s, 200);
    assert!(
        String::from_utf8(grades)
            .unwrap()
            .contains("级别,等级,客户数")
    );
    let (s, _, _) = get(&server, &head1, "/api/export/report-grades.csv?unit=so2").await;
    assert_eq!(s, 403);
    let (s, _, _) = get(&server, &head1, "/api/export/customers.pdf").await;
    assert_eq!(s, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_import_with_one_bad_row_imports_nothing_and_then_lands_on_the_tablet() {
    let (server, urls) = server_with_two_units().await;
    let m1 = server.login("m1").await.token;
    let bad = "统一社会信用代码,月份,业务类型,收入(元)\n\
               91310000EXPORT0001,2026-09,寄递,1200.50\n\
               91310000EXPORT0001,2026-13,寄递,800\n\
               91310000EXPORT0002,2026-09,寄递,100\n";
    let (s, report) = upload(&server, &m1, "/api/import/ledger", bad.as_bytes().to_vec()).await;
    assert_eq!(s, 400, "{report}");
    assert_eq!(report["imported"], 0);
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2, "every bad row: {report}");
    assert_eq!(
        (errors[0]["row"].as_i64(), errors[0]["column"].as_str()),
        (Some(3), Some("月份"))
    );
    assert_eq!(errors[1]["row"], 4, "West's customer is not m1's: {report}");

    // Nothing landed.
    let mut tablet = Device::login(&server, "m1").await;
    tablet.connect().await;
    let doc = tablet.find(&urls[0]).await.expect("m1's customer");
    assert!(Device::customer(&doc).ledger.is_empty());

    let good = "统一社会信用代码,月份,业务类型,收入(元)\n\
                91310000EXPORT0001,2026-09,寄递,1200.50\n\
                91310000EXPORT0001,2026-10,寄递,800\n";
    let (s, report) = upload(&server, &m1, "/api/import/ledger", good.as_bytes().to_vec()).await;
    assert_eq!((s, &report["imported"]), (200, &Value::from(2)), "{report}");
    let ledger = wait_for("the imported months on m1's tablet", T, async || {
        let l = Device::customer(&doc).ledger;
        (l.len() == 2).then_some(l)
    })
    .await;
    assert_eq!(ledger[0].amount_fen, 120_050);
    // Importing the same month again replaces it rather than adding a duplicate.
    let again = "统一社会信用代码,月份,业务类型,收入(元)\n91310000EXPORT0001,2026-10,寄递,900\n";
    let (s, _) = upload(
        &server,
        &m1,
        "/api/import/ledger",
        again.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, 200);
    wait_for("the replaced month", T, async || {
        let l = Device::customer(&doc).ledger;
        (l.len() == 2 && l.iter().any(|e| e.amount_fen == 90_000)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_imports_customers_from_gbk_csv_for_their_managers() {
    let (server, _) = server_with_two_units().await;
    let csv = "客户名称,统一社会信用代码,客户性质,业务类型,地址,行业,客户经理\n\
               导入一号公司,91310000IMPORT0001,企业,寄递、函件,上海市,零售,m1\n\
               导入二号公司,91310000IMPORT0002,企业,金融,上海市,银行,m2\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(csv);
    let m1 = server.login("m1").await.token;
    let (s, _) = upload(&server, &m1, "/api/import/customers", gbk.to_vec()).await;
    assert_eq!(s, 403, "managers do not import customers");

    let head1 = server.login("head1").await.token;
    // A manager outside head1's unit, and a credit code that exists: nothing is imported.
    let bad = "客户名称,统一社会信用代码,客户经理\n外区公司,,m3\n重复公司,91310000EXPORT0001,m1\n";
    let (s, report) = upload(
        &server,
        &head1,
        "/api/import/customers",
        bad.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, 400, "{report}");
    let rows: Vec<i64> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["row"].as_i64().unwrap())
        .collect();
    assert_eq!(rows, [2, 3]);

    let (s, report) = upload(&server, &head1, "/api/import/customers", gbk.to_vec()).await;
    assert_eq!((s, &report["imported"]), (200, &Value::from(2)), "{report}");
    let row = wait_for("the imported customer in m1's list", T, async || {
        let list = server.get_json(&m1, "/api/customers").await;
        list.as_array()?
            .iter()
            .find(|c| c["name"] == "导入一号公司")
            .cloned()
    })
    .await;
    assert_eq!(row["owner"], "m1");
    assert_eq!(row["lines"], serde_json::json!(["delivery", "letter"]));
    // m1's tablet receives it through its book.
    let mut tablet = Device::login(&server, "m1").await;
    tablet.connect().await;
    let doc = tablet
        .find(row["url"].as_str().unwrap())
        .await
        .expect("on m1's tablet");
    assert_eq!(Device::customer(&doc).industry, "零售");
}

/// The normal order of an office's first day: customers, then at once their
/// revenue. Before, the import answered before the customers were projected:
/// the ledger import right after was refused row by row ("no customer of
/// yours matches") and /api/customers lacked them for 7 to 59 s. Meanwhile a
/// tablet keeps logging visits, so the server is busy syncing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_then_their_ledger_import_back_to_back_while_tablets_sync() {
    // The projector's count of what it projected, read below.
    let (server, urls) = two_units_logging(Some(
        "info,samod=warn,samod_core=warn,fieldbook_server::projection=debug",
    ))
    .await;
    let head1 = server.login("head1").await.token;
    let busy = {
        let mut d = Device::login(&server, "m1").await;
        d.connect().await;
        let doc = d.find(&urls[0]).await.expect("m1's customer");
        tokio::spawn(async move {
            for i in 0..200 {
                doc.with_document(|x| {
                    x.transact(|tx| {
                        fieldbook_shared::customer::add_visit(
                            tx,
                            &fieldbook_shared::customer::Visit {
                                id: format!("busy-{i}"),
                                date: "2026-11-20".into(),
                                summary: "导入期间的走访".into(),
                                ..Default::default()
                            },
                        )
                    })
                })
                .unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            drop(d);
        })
    };
    // The office's first day, 12 months each, with a third of the 3,000
    // customers the issue found it with: a race, so a guard by chance. With
    // the import's wait for projection taken out, 1,000 failed 2 runs of 3
    // here (288 and 10 unlisted), 3,000 passed the 1 run tried (a larger
    // import gives the background projector longer to catch up).
    const N: usize = 1_000;
    let mut customers = "客户名称,统一社会信用代码,客户经理\n".to_string();
    let mut ledger = "统一社会信用代码,月份,业务类型,收入(元)\n".to_string();
    for i in 0..N {
        let code = format!("91310000BULK{i:06}");
        customers.push_str(&format!("批量客户{i},{code},{}\n", ["m1", "m2"][i % 2]));
        for m in 1..=12 {
            ledger.push_str(&format!("{code},2025-{m:02},寄递,{}\n", 1000 + i));
        }
    }
    let (s, report) = upload(
        &server,
        &head1,
        "/api/import/customers",
        customers.into_bytes(),
    )
    .await;
    assert_eq!((s, &report["imported"]), (200, &Value::from(N)), "{report}");
    // At once: every customer is listed, and the ledger finds every one.
    let list = server.get_json(&head1, "/api/customers").await;
    let listed = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            c["name"]
                .as_str()
                .unwrap_or_default()
                .starts_with("批量客户")
        })
        .count();
    assert_eq!(listed, N, "listed right after the import's answer");
    let (s, report) = upload(&server, &head1, "/api/import/ledger", ledger.into_bytes()).await;
    assert_eq!(
        (s, &report["imported"]),
        (200, &Value::from(12 * N)),
        "{report}"
    );
    busy.await.unwrap();
    // The projector waited for the import to register its customers instead
    // of projecting each as nobody's first (700 of 1,000 were, with a warning
    // each, before it did).
    let log = server.log_text();
    assert!(
        !log.contains("customer document with no holder"),
        "customers projected before the import registered them:\n{}",
        log.lines()
            .filter(|l| l.contains("no holder"))
            .take(3)
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Each import projects its customers before it answers; the background
    // projector, told of the same documents, leaves alone those projected
    // as they stand. It projected each imported customer three to four
    // times (3,115 to 3,823 projections for 1,000) before it did; now about
    // once per import, and again those whose storage samod wrote once more
    // after the import had projected them (storage marks a document dirty at
    // every write, even one that adds nothing): 2,004 to 2,336 in runs here.
    // Counted once the background projector has had time for what it was
    // told (it gathers for half a second, then rests twice as long as a
    // batch took).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let log = server.log_text();
    let projected: usize = log
        .lines()
        .filter(|l| l.contains("customers projected"))
        .filter_map(|l| {
            l.split("projected=")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum();
    eprintln!("{projected} projections for {N} imported customers and 200 visits");
    for l in log
        .lines()
        .filter(|l| l.contains("customers projected") || l.contains("imported"))
    {
        eprintln!("LOG {l}");
    }
    assert!(
        projected <= 2 * N + N / 2 + 100,
        "{projected} projections for {N} imported customers: projected again when unchanged?"
    );
}

/// Spreadsheets shaped like an office's own (issue #34): a merged title row
/// above the header and managers by their Chinese names; a GBK CSV with
/// months as 2026年10月, amounts as ￥12,345.00 and a line written 快递包裹; a
/// ledger in 万元 stored to the fen; a name two users share refused with both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offices_own_spreadsheets_import() {
    let (server, _) = server_with_two_units().await;
    {
        let c = server.sql();
        c.execute_batch(
            "UPDATE users SET display_name = '张伟' WHERE username = 'm1';
             UPDATE users SET display_name = '李娜' WHERE username IN ('m2', 'm3');",
        )
        .unwrap();
    }
    let head1 = server.login("head1").await.token;
    let xlsx_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    ws.merge_range(
        0,
        0,
        0,
        2,
        "2026年东区大客户清单",
        &rust_xlsxwriter::Format::new(),
    )
    .unwrap();
    for (c, h) in ["客户名称", "统一社会信用代码", "客户经理 "]
        .iter()
        .enumerate()
    {
        ws.write_string(1, c as u16, *h).unwrap();
    }
    for (r, row) in [
        ["标题下的一号公司", "91310000OFFICE0001", "张伟"],
        ["标题下的二号公司", "91310000OFFICE0002", "m2"],
    ]
    .iter()
    .enumerate()
    {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 2, c as u16, *v).unwrap();
        }
    }
    let xlsx = book.save_to_buffer().unwrap();
    let (s, report) = server
        .post_file(&head1, "/api/import/customers", xlsx_type, xlsx)
        .await;
    assert_eq!((s, &report["imported"]), (200, &Value::from(2)), "{report}");

    // 李娜 is two users: refused, naming both, in Chinese.
    let csv = "客户名称,客户经理\n同名经理公司,李娜\n";
    let (s, report) = server
        .post_file(&head1, "/api/import/customers", "text/csv", csv.into())
        .await;
    assert_eq!(s, 400, "{report}");
    let message = report["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("m2") && message.contains("m3") && message.contains("多位用户"),
        "{message}"
    );
    // Chinese unless the request asks for English; then English alone.
    assert!(!message.contains("several users"), "{message}");
    let (_, report) = server
        .post_file_in(
            "en-US,en;q=0.9",
            &head1,
            "/api/import/customers",
            "text/csv",
            csv.into(),
        )
        .await;
    let message = report["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("names several users") && !message.contains("多位用户"),
        "{message}"
    );

    // A staff number (工号) names one of them; two users cannot share one.
    let admin = server.login("admin").await.token;
    let staff = |no: &str| {
        serde_json::json!({ "staff_no": no })
            .to_string()
            .into_bytes()
    };
    let json = "application/json";
    let (s, row) = server
        .post_file(&admin, "/api/users/m2", json, staff(" E0002 "))
        .await;
    assert_eq!((s, &row["staff_no"]), (200, &Value::from("E0002")), "{row}");
    let (s, refusal) = server
        .post_file(&admin, "/api/users/m3", json, staff("E0002"))
        .await;
    let why = refusal["error"].as_str().unwrap_or_default();
    assert!(s == 409 && why.contains("已属于 m2"), "{s} {refusal}");
    let csv = "客户名称,客户经理
工号公司,E0002
";
    let (s, report) = server
        .post_file(&head1, "/api/import/customers", "text/csv", csv.into())
        .await;
    assert_eq!((s, &report["imported"]), (200, &Value::from(1)), "{report}");

    // The ledger as Excel saves a CSV in China: GBK, 2026年10月, ￥ (GBK has
    // only the full-width sign) and 快递包裹.
    let csv = "统一社会信用代码,月份,业务类型,收入（元）\n\
               91310000OFFICE0001,2026年10月,快递包裹,\"￥12,345.00\"\n\
               91310000OFFICE0001,2026年9月份,代发工资,800元\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(csv);
    let (s, report) = server
        .post_file(&head1, "/api/import/ledger", "text/csv", gbk.to_vec())
        .await;
    assert_eq!((s, &report["imported"]), (200, &Value::from(2)), "{report}");
    // And one in ten thousand yuan, stored to the fen.
    let csv = "客户名称,月份,业务类型,收入(万元)\n标题下的二号公司,2026/10,寄递,1.2345\n";
    let (s, report) = server
        .post_file(&head1, "/api/import/ledger", "text/csv", csv.into())
        .await;
    assert_eq!((s, &report["imported"]), (200, &Value::from(1)), "{report}");

    let list = server.get_json(&head1, "/api/customers").await;
    let url = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["url"].as_str())
            .unwrap_or_else(|| panic!("{name} listed"))
            .to_string()
    };
    let mut d = Device::login(&server, "head1").await;
    d.connect().await;
    let first = d.find(&url("标题下的一号公司")).await.expect("first");
    let c = Device::customer(&first);
    let mut ledger: Vec<(String, Line, i64)> = c
        .ledger
        .iter()
        .map(|e| (e.month.clone(), e.line.clone(), e.amount_fen))
        .collect();
    ledger.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        ledger,
        [
            ("2026-09".to_string(), Line::Finance, 80_000),
            ("2026-10".to_string(), Line::Delivery, 1_234_500)
        ]
    );
    let second = d.find(&url("标题下的二号公司")).await.expect("second");
    assert_eq!(Device::customer(&second).ledger[0].amount_fen, 1_234_500);
    let first_row = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "标题下的一号公司")
        .unwrap();
    assert_eq!(first_row["owner"], "m1", "张伟 is m1");
    let by_staff_no = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "工号公司")
        .unwrap();
    assert_eq!(by_staff_no["owner"], "m2", "E0002 is m2");
}

/// A preview answers what an import would do and writes nothing; the
/// templates are a workbook with the headers, an example and a sheet that
/// explains each column, and a CSV with the same headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_writes_nothing_and_the_templates_explain_each_column() {
    let (server, _) = server_with_two_units().await;
    let head1 = server.login("head1").await.token;
    let csv = "客户名称,客户经理\n预览公司,m1\n";
    let (s, report) = upload(
        &server,
        &head1,
        "/api/import/customers?dry_run=true",
        csv.into(),
    )
    .await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(
        (
            &report["dry_run"],
            &report["would_import"],
            &report["imported"]
        ),
        (&Value::from(true), &Value::from(1), &Value::from(0))
    );
    let listed = server.get_json(&head1, "/api/customers").await;
    assert!(
        !listed.to_string().contains("预览公司"),
        "a preview imports nothing"
    );
    let (s, report) = upload(&server, &head1, "/api/import/customers", csv.into()).await;
    assert_eq!((s, &report["imported"]), (200, &Value::from(1)), "{report}");

    // A ledger preview says which months it adds and which it replaces.
    let ledger = "客户名称,月份,业务类型,收入
预览公司,2026-09,寄递,100
预览公司,2026-10,寄递,200
";
    let (s, _) = upload(&server, &head1, "/api/import/ledger", ledger.into()).await;
    assert_eq!(s, 200);
    let again = "客户名称,月份,业务类型,收入
预览公司,2026-10,寄递,250
预览公司,2026-11,寄递,300
预览公司,2026-11,金融,30
";
    let (s, report) = upload(
        &server,
        &head1,
        "/api/import/ledger?dry_run=true",
        again.into(),
    )
    .await;
    assert_eq!(s, 200, "{report}");
    assert_eq!(
        [
            &report["would_import"],
            &report["customers"],
            &report["ledger_added"],
            &report["ledger_replaced"],
            &report["imported"]
        ],
        [3, 1, 2, 1, 0].map(Value::from).each_ref(),
        "{report}"
    );
    // Had the preview written, all three would now be replacements.
    let (s, report) = upload(&server, &head1, "/api/import/ledger", again.into()).await;
    assert_eq!(
        (s, &report["imported"], &report["ledger_replaced"]),
        (200, &Value::from(3), &Value::from(1)),
        "{report}"
    );

    let (s, mime, xlsx) = get(&server, &head1, "/api/import/ledger/template.xlsx").await;
    assert_eq!(s, 200);
    assert!(mime.contains("spreadsheetml"), "{mime}");
    let mut book = open_workbook_auto_from_rs(Cursor::new(xlsx)).unwrap();
    assert_eq!(book.sheet_names(), ["导入", "说明"]);
    let sheet = book.worksheet_range("导入").unwrap();
    assert_eq!(
        sheet.get_value((0, 2)).map(|d| d.to_string()),
        Some("月份".into())
    );
    let help = book.worksheet_range("说明").unwrap();
    assert!(help.height() >= 8, "one line per column");
    let (s, _, csv) = get(&server, &head1, "/api/import/customers/template.csv").await;
    assert_eq!(s, 200);
    let text = String::from_utf8(csv).unwrap();
    assert!(
        text.contains("客户名称") && text.contains("客户经理"),
        "{text}"
    );
}

/// The ledger's authority: revenue a tablet writes into a document, or a
/// manager imports (their estimate), is never graded or scored; a head's
/// import is. The manager's estimate never covers the office's figure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revenue_from_a_tablet_or_a_managers_import_is_never_graded_or_scored() {
    use fieldbook_shared::customer::{LedgerEntry, add_ledger};
    let (server, urls) = server_with_two_units().await;
    let months =
        fieldbook_shared::grading::last_twelve_months(&fieldbook_tests::date_in_days(0)[..7]);
    let (forged_month, estimated_month, official_month) = (&months[9], &months[10], &months[11]);
    // A tablet writes five million yuan into its customer's document.
    let mut tablet = Device::login(&server, "m1").await;
    tablet.connect().await;
    let doc = tablet.find(&urls[0]).await.expect("m1's customer");
    doc.with_document(|d| {
        d.transact(|tx| {
            add_ledger(
                tx,
                &[LedgerEntry {
                    month: forged_month.clone(),
                    line: Line::Delivery,
                    amount_fen: 500_000_000,
                    ..Default::default()
                }],
            )
        })
        .unwrap();
    });
    tablet.wait_synced(&doc).await;
    // The manager imports an estimate; the head imports the office's figure.
    let m1 = server.login("m1").await.token;
    let estimate = format!(
        "统一社会信用代码,月份,业务类型,收入(元)\n91310000EXPORT0001,{estimated_month},寄递,700000\n"
    );
    let (s, report) = upload(&server, &m1, "/api/import/ledger", estimate.into_bytes()).await;
    assert_eq!(
        (s, &report["estimate"]),
        (200, &Value::from(true)),
        "{report}"
    );
    let head1 = server.login("head1").await.token;
    let official = format!(
        "统一社会信用代码,月份,业务类型,收入(元)\n91310000EXPORT0001,{official_month},寄递,1200\n"
    );
    let (s, report) = upload(&server, &head1, "/api/import/ledger", official.into_bytes()).await;
    assert_eq!(
        (s, &report["estimate"]),
        (200, &Value::from(false)),
        "{report}"
    );

    // Graded from the head's figure alone.
    let row = server
        .customer_row(&head1, &urls[0], |c| {
            c["annual_revenue_fen"].as_i64() > Some(0)
        })
        .await;
    assert_eq!(row["annual_revenue_fen"], 120_000, "{row}");
    assert_eq!(
        row["grade_proposed"], "none",
        "not the forged millions' grade"
    );
    let card = server
        .get_json(
            &head1,
            &format!("/api/scorecard?period={}", &official_month[..4]),
        )
        .await;
    let year_total: i64 = card["total"]["revenue_fen"].as_i64().unwrap();
    assert!(
        year_total <= 120_000,
        "only the office's figure is scored: {card}"
    );

    // On the tablet: the estimate is marked, the office's figure is not.
    let ledger = wait_for("both imports on the tablet", T, async || {
        let l = Device::customer(&doc).ledger;
        (l.len() == 3).then_some(l)
    })
    .await;
    let by_month = |m: &str| ledger.iter().find(|e| e.month == m).cloned().unwrap();
    assert!(by_month(estimated_month).estimate);
    assert!(!by_month(official_month).estimate);
    // A manager's estimate for a month the office has leaves it alone.
    let over = format!(
        "统一社会信用代码,月份,业务类型,收入(元)\n91310000EXPORT0001,{official_month},寄递,999999\n"
    );
    let (s, report) = upload(&server, &m1, "/api/import/ledger", over.into_bytes()).await;
    assert_eq!(
        (s, &report["kept_official"]),
        (200, &Value::from(1)),
        "{report}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(by_month(official_month).amount_fen, 120_000);
    let l = Device::customer(&doc).ledger;
    assert_eq!(
        l.iter()
            .find(|e| e.month == *official_month)
            .unwrap()
            .amount_fen,
        120_000
    );
}
