//! An attacker's and a careless client's HTTP requests against a real server:
//! hostile spreadsheets stay within the import budget, password guessing is
//! throttled, other sites' pages cannot change state, a malformed query is a
//! 400 and not a panic, and every answer carries the security headers.

use std::time::Duration;

use fieldbook_tests::{PASSWORD, TestServer};
use serde_json::{Value, json};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// The server's peak resident memory so far (VmHWM), in bytes.
fn peak_rss(server: &TestServer) -> u64 {
    let pid = server.pid().expect("server running");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM")
        * 1024
}

async fn post(
    server: &TestServer,
    token: &str,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    // English answers, to read the limits below by their English words.
    server
        .post_file_in("en", token, path, content_type, body)
        .await
}

fn first_message(report: &Value) -> String {
    report["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Any manager may import a ledger, so any manager could send these. Before
/// the bounds, the first aborted the server (2^34 cells laid out), the second
/// cost +284 MB, the zip bomb +540 MB and the CSV of commas +1,450 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_spreadsheets_are_refused_within_the_import_budget() {
    let mut server = TestServer::new();
    server.start().await;
    let m1 = server.login("m1").await.token;
    let before = peak_rss(&server);
    let bombs: [(&str, &[u8], &str); 3] = [
        (
            "dimension",
            include_bytes!("../../server/tests/bombs/dimension.xlsx"),
            "more than 100000 rows",
        ),
        (
            "tall",
            include_bytes!("../../server/tests/bombs/tall.xlsx"),
            "row 200000",
        ),
        (
            "zip bomb",
            include_bytes!("../../server/tests/bombs/zipbomb.xlsx"),
            "unpacks to more than",
        ),
    ];
    for (what, bytes, says) in bombs {
        let (status, report) = post(&server, &m1, "/api/import/ledger", XLSX, bytes.to_vec()).await;
        assert_eq!(status, 400, "{what}: {report}");
        assert_eq!(report["imported"], 0, "{what}");
        assert!(first_message(&report).contains(says), "{what}: {report}");
    }
    // 16 MB of commas under a real header: read, cut to the header's width,
    // and refused for what it lacks, not for its size.
    let mut csv = "月份,业务类型,收入(元),客户名称\n2026-10,寄递,1,".to_string();
    csv.push_str(&",".repeat(16 * 1024 * 1024));
    let (status, report) = post(
        &server,
        &m1,
        "/api/import/ledger",
        "text/csv",
        csv.into_bytes(),
    )
    .await;
    assert_eq!(status, 400, "{report}");
    assert!(
        first_message(&report).contains("name the customer"),
        "{report}"
    );
    assert!(server.is_running(), "the server survived every upload");
    let grew = peak_rss(&server).saturating_sub(before);
    println!(
        "peak RSS grew by {:.1} MB over the four uploads",
        grew as f64 / 1e6
    );
    // The 16 MB body itself is held while it is read; parsing adds at most
    // a few MB to it (see import::budget).
    assert!(
        grew < 48 * 1024 * 1024,
        "peak RSS grew by {grew} bytes: an import escaped its budget"
    );
    // A form on another site can send text/plain; imports refuse it.
    let (status, body) = post(
        &server,
        &m1,
        "/api/import/ledger",
        "text/plain",
        b"a,b\n".to_vec(),
    )
    .await;
    assert_eq!(status, 415, "{body}");
    assert!(
        body["error"].as_str().unwrap_or_default().contains("CSV"),
        "{body}"
    );
}

async fn login_status(server: &TestServer, username: &str, password: &str) -> (u16, Option<u64>) {
    let res = reqwest::Client::new()
        .post(format!("{}/api/login", server.base()))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("login");
    let retry = res
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    (res.status().as_u16(), retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_is_throttled_per_user_and_others_still_sign_in() {
    let mut server = TestServer::new();
    server.start().await;
    for _ in 0..fieldbook_server::throttle::FREE_FAILURES {
        assert_eq!(login_status(&server, "m1", "guess").await.0, 401);
    }
    // The next try is not even checked, right password or not.
    let (status, retry) = login_status(&server, "m1", "guess").await;
    assert_eq!(status, 429);
    assert!(retry.is_some_and(|s| s >= 1), "Retry-After: {retry:?}");
    assert_eq!(login_status(&server, "m1", PASSWORD).await.0, 429);
    // Another user at the same address signs in as usual.
    assert_eq!(login_status(&server, "m2", PASSWORD).await.0, 200);
    // After the wait, the right password works and clears the count.
    tokio::time::sleep(Duration::from_secs(retry.unwrap_or(1) + 1)).await;
    assert_eq!(login_status(&server, "m1", PASSWORD).await.0, 200);
    assert_eq!(login_status(&server, "m1", "guess").await.0, 401);

    // An address guessing many usernames is throttled for all of them.
    for i in 0..fieldbook_server::throttle::FREE_FAILURES_PER_ADDRESS {
        login_status(&server, &format!("nobody{i}"), "guess").await;
    }
    assert_eq!(login_status(&server, "m2", PASSWORD).await.0, 429);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_sites_cannot_change_state_and_answers_carry_security_headers() {
    let mut server = TestServer::new();
    server.start().await;
    let m1 = server.login("m1").await.token;
    let client = reqwest::Client::new();
    let login = |origin: &str| {
        client
            .post(format!("{}/api/login", server.base()))
            .header("origin", origin)
            .json(&json!({"username": "m2", "password": PASSWORD}))
            .send()
    };
    let foreign = login("http://evil.example").await.unwrap();
    assert_eq!(foreign.status().as_u16(), 403);
    let own = login(&server.base()).await.unwrap();
    assert_eq!(own.status().as_u16(), 200);
    // Reading is not changing: a foreign GET is answered (CORS keeps the
    // answer from the other site's script).
    let me = client
        .get(format!("{}/api/me", server.base()))
        .bearer_auth(&m1)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status().as_u16(), 200);
    let h = me.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["referrer-policy"], "no-referrer");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");

    // The sync socket from a foreign page is refused before the upgrade.
    use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};
    let mut req = format!("{}?token={m1}", server.sync_url())
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status().as_u16(), 403),
        other => panic!(
            "a foreign origin's socket was not refused: {:?}",
            other.map(|r| r.1)
        ),
    }

    // A byte slice inside a character panicked the handler before.
    let bad = client
        .get(format!(
            "{}/api/cadence/heads?quarter=123%C3%A9Q1",
            server.base()
        ))
        .bearer_auth(&m1)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    let bad = client
        .get(format!("{}/api/cadence?month=12%C3%A9-01", server.base()))
        .bearer_auth(&m1)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert!(server.is_running());
    assert!(
        !server.log_text().contains("panicked"),
        "{}",
        server.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_stay_out_of_rest_urls_and_sessions_are_capped_per_user() {
    let mut server = TestServer::new();
    server.start().await;
    let first = server.login("m1").await.token;
    let client = reqwest::Client::new();
    let me = |token: String, in_query: bool| {
        let req = if in_query {
            client.get(format!("{}/api/me?token={token}", server.base()))
        } else {
            client
                .get(format!("{}/api/me", server.base()))
                .bearer_auth(token)
        };
        req.send()
    };
    // A token in a REST URL ends up in logs and browser history: refused.
    assert_eq!(
        me(first.clone(), true).await.unwrap().status().as_u16(),
        401
    );
    assert_eq!(
        me(first.clone(), false).await.unwrap().status().as_u16(),
        200
    );
    // Logging in again and again keeps at most the newest sessions.
    let cap = fieldbook_server::auth::MAX_SESSIONS_PER_USER;
    let mut last = String::new();
    for _ in 0..cap {
        last = server.login("m1").await.token;
    }
    let sessions: i64 = server.sql()
        .query_row(
            "SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'm1'",
            (),
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sessions as usize, cap);
    assert_eq!(
        me(first, false).await.unwrap().status().as_u16(),
        401,
        "the oldest was signed out"
    );
    assert_eq!(me(last, false).await.unwrap().status().as_u16(), 200);
}

/// A manager wrote an agreement into their platinum customer's document as
/// `status: active, approved_by: head1`; the server projected it as active and
/// it reached the head's reports. Approval is now the server's own record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_a_tablet_writes_is_not_an_approval() {
    use fieldbook_shared::agreements::{Agreement, add_agreement};
    use fieldbook_tests::{Device, date_in_days, wait_for};
    let mut server = TestServer::new();
    let c = TestServer::platinum_customer("白金客户");
    let url = server.seed_customer(&c, "m1", None).await;
    server.start().await;
    let doc_id = url.trim_start_matches("automerge:").to_string();

    let mut d = Device::login(&server, "m1").await;
    d.connect().await;
    let doc = d.find(&url).await.expect("m1's customer");
    let forged = Agreement {
        id: "forged".into(),
        number: "XY-2026-001".into(),
        start: date_in_days(-300),
        end: date_in_days(10),
        status: "active".into(),
        approved_by: "head1".into(),
        approved_on: date_in_days(-1),
        ..Default::default()
    };
    doc.with_document(|x| x.transact(|tx| add_agreement(tx, &forged)))
        .unwrap();
    d.wait_synced(&doc).await;

    let db = server.db.clone();
    let status = move || -> Option<String> {
        fieldbook_server::store::sql::Connection::open(&db)
            .ok()?
            .query_row(
                "SELECT status FROM agreement_index WHERE agreement_id = 'forged'",
                (),
                |r| r.get(0),
            )
            .ok()
    };
    let s = status.clone();
    wait_for(
        "the forged agreement projected",
        Duration::from_secs(20),
        async || s(),
    )
    .await;
    assert_eq!(status().as_deref(), Some("pending_approval"));
    let head = server.login("head1").await.token;
    let expiring = |reports: &Value| reports["expiring"].to_string().contains("XY-2026-001");
    assert!(!expiring(&server.get_json(&head, "/api/reports").await));

    let path = format!("/api/customers/{doc_id}/agreements/forged/approve");
    let m1 = server.login("m1").await.token;
    assert_eq!(
        post(&server, &m1, &path, "application/json", vec![])
            .await
            .0,
        403
    );
    let (s, body) = post(&server, &head, &path, "application/json", vec![]).await;
    assert_eq!(s, 200, "{body}");
    // Answered once recorded and projected.
    assert_eq!(status().as_deref(), Some("active"));
    assert!(expiring(&server.get_json(&head, "/api/reports").await));
}
