//! Password guessing against everyone else: a signed-in user's `GET /api/me`
//! latency alone, and while one address sends 1,000 wrong passwords, 10 at a
//! time (before the throttle, each check held the database lock: 0.6–1.0 s
//! median for the other user). Prints medians and p99 side by side, and how
//! the guesses were answered. A real server on loopback (the one the tests
//! use, or `FIELDBOOK_SERVER_BIN`).

use std::time::{Duration, Instant};

use fieldbook_tests::TestServer;
use futures::StreamExt;
use serde_json::json;

const SAMPLES: usize = 300;
const GUESSES: usize = 1_000;

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

async fn me_latencies(server: &TestServer, token: &str, n: usize) -> Vec<f64> {
    let client = reqwest::Client::new();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let res = client
            .get(format!("{}/api/me", server.base()))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET /api/me");
        assert!(res.status().is_success());
        out.push(t.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    out
}

#[tokio::main]
async fn main() {
    let mut server = TestServer::new();
    server.start().await;
    let token = server.login("m1").await.token;
    me_latencies(&server, &token, 20).await; // warm-up
    let mut quiet = me_latencies(&server, &token, SAMPLES).await;

    let base = server.base();
    let guessing = tokio::spawn(async move {
        let started = Instant::now();
        let client = reqwest::Client::new();
        let statuses: Vec<u16> = futures::stream::iter(0..GUESSES)
            .map(|i| {
                let (client, base) = (client.clone(), base.clone());
                async move {
                    client
                        .post(format!("{base}/api/login"))
                        .json(&json!({"username": format!("guess{}", i % 50), "password": "wrong"}))
                        .send()
                        .await
                        .map(|r| r.status().as_u16())
                        .unwrap_or(0)
                }
            })
            .buffer_unordered(10)
            .collect()
            .await;
        (statuses, started.elapsed())
    });
    // Only requests made while the guesses are in flight count.
    let mut busy = Vec::new();
    while !guessing.is_finished() {
        busy.extend(me_latencies(&server, &token, 1).await);
    }
    let (statuses, took) = guessing.await.expect("guesses");
    let count = |s: u16| statuses.iter().filter(|&&x| x == s).count();
    println!(
        "guesses: {GUESSES} from one address, 10 at a time, in {:.2} s: {} answered 401, {} answered 429 (throttled), {} other",
        took.as_secs_f64(),
        count(401),
        count(429),
        GUESSES - count(401) - count(429)
    );
    let (qm, q99) = (percentile(&mut quiet, 0.5), percentile(&mut quiet, 0.99));
    let (bm, b99) = (percentile(&mut busy, 0.5), percentile(&mut busy, 0.99));
    println!("GET /api/me alone:          median {qm:.2} ms, p99 {q99:.2} ms ({SAMPLES} requests)");
    println!(
        "GET /api/me during guesses: median {bm:.2} ms, p99 {b99:.2} ms ({} requests)",
        busy.len()
    );
    println!(
        "login median ratio busy/alone={:.2} p99 ratio={:.2}",
        bm / qm,
        b99 / q99
    );
}
