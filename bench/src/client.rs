//! The tablet client's numbers: WASM size (raw and gzip), first sync of a
//! 300-customer book on a fresh browser profile, and offline cold start with 300
//! customers in IndexedDB until the list is drawn. Headless Chromium against a
//! real server on loopback; 5 runs each, medians printed.

use std::io::Write;
use std::time::{Duration, Instant};

use fieldbook_tests::browser::Browser;
use fieldbook_tests::{PASSWORD, TestServer};
use serde_json::json;

const N: usize = 300;
const T: Duration = Duration::from_secs(120);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let mut server = TestServer::new();
    server.serve_client();
    let dist = server.static_dir.clone().expect("dist");
    let wasm = std::fs::read(dist.join("fieldbook-client_bg.wasm")).expect("built client");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&wasm).expect("gzip");
    let gz = gz.finish().expect("gzip");
    println!(
        "wasm: {} bytes raw, {} bytes gzip (-9)",
        wasm.len(),
        gz.len()
    );

    let customers: Vec<_> = fieldbook_server::demo::demo_customers(N)
        .into_iter()
        .map(|c| (c, "m1", None))
        .collect();
    server.seed_customers(&customers).await;
    server.start().await;

    let rows_drawn = "return document.querySelectorAll('li.row').length === arguments[0] ? performance.now() : null";
    let synced = "const s = document.querySelector('.status'); return s && s.dataset.online === 'true' && s.dataset.pending === '0' && !document.querySelector('.status .progress')";

    let mut first_sync = Vec::new();
    let mut last = None;
    for run in 0..5 {
        let b = Browser::start().await;
        b.goto(&server.base()).await;
        b.wait(
            "login form",
            T,
            "return document.querySelector('input[name=username]') !== null",
            json!([]),
        )
        .await;
        b.fill("input[name=username]", "m1").await;
        b.fill("input[name=password]", PASSWORD).await;
        let t0 = Instant::now();
        b.click("button[type=submit]").await;
        b.wait("all customers", T, rows_drawn, json!([N])).await;
        b.wait("synced", T, synced, json!([])).await;
        let s = t0.elapsed().as_secs_f64();
        println!(
            "first sync run {run}: {s:.3} s from pressing log in to {N} customers listed and synced"
        );
        first_sync.push(s);
        last = Some(b);
    }
    let b = last.expect("a browser");
    b.refresh().await;
    b.wait(
        "service worker",
        T,
        "return navigator.serviceWorker.controller !== null",
        json!([]),
    )
    .await;
    b.wait("all customers", T, rows_drawn, json!([N])).await;
    server.kill();

    // The data is sealed at rest (client/src/keyring.rs): a start shows the
    // unlock form, the password is typed, then the book is opened and drawn.
    // Measured apart, the person's typing left out: navigation start to the
    // form, and the press of 解锁 to the rows drawn (the key derivation,
    // decrypting every chunk, loading and drawing).
    let mut to_form = Vec::new();
    let mut unlock_to_rows = Vec::new();
    let mut cold = Vec::new();
    for run in 0..5 {
        b.refresh_locked().await;
        let form_ms = b
            .wait(
                "the unlock form",
                T,
                "return document.querySelector('form.unlock button[type=submit]') ? performance.now() : null",
                json!([]),
            )
            .await
            .as_f64()
            .unwrap_or(f64::NAN);
        b.fill("form.unlock input[name=password]", PASSWORD).await;
        let pressed = b
            .js(
                "document.querySelector('form.unlock button[type=submit]').click(); return performance.now();",
                json!([]),
            )
            .await
            .as_f64()
            .unwrap_or(f64::NAN);
        let rows_ms = b
            .wait("all customers offline", T, rows_drawn, json!([N]))
            .await
            .as_f64()
            .unwrap_or(f64::NAN);
        let (a, u) = (form_ms, rows_ms - pressed);
        println!(
            "offline cold start run {run}: {a:.0} ms to the unlock form, {u:.0} ms from 解锁 to {N} rows drawn, {:.0} ms together",
            a + u
        );
        to_form.push(a);
        unlock_to_rows.push(u);
        cold.push(a + u);
    }
    // The key derivation alone, in the same page (PBKDF2-SHA256, the rounds the app uses).
    let mut derive = Vec::new();
    for _ in 0..3 {
        let ms = b
            .js_async(
                "const done = arguments[arguments.length - 1];
                 const t0 = performance.now();
                 crypto.subtle.importKey('raw', new TextEncoder().encode('a password'), 'PBKDF2', false, ['deriveBits'])
                   .then(k => crypto.subtle.deriveBits({name: 'PBKDF2', hash: 'SHA-256', salt: new Uint8Array(16), iterations: 600000}, k, 256))
                   .then(() => done(performance.now() - t0));",
                json!([]),
            )
            .await
            .as_f64()
            .unwrap_or(f64::NAN);
        derive.push(ms);
    }
    println!(
        "client median: first sync {:.3} s, offline cold start {:.0} ms (to the unlock form {:.0} ms, 解锁 to rows {:.0} ms; key derivation {:.0} ms), wasm {} KB gzip",
        median(first_sync),
        median(cold),
        median(to_form),
        median(unlock_to_rows),
        median(derive),
        gz.len() / 1024
    );
}
