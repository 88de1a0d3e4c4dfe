//! A large book's first sync on a fresh browser profile, at full speed and
//! with the CPU slowed 4× (a mid-range tablet): from pressing log in to every
//! customer listed, and to the indicator saying the whole book is kept on the
//! device (可离线使用, `data-ready-offline`). Headless Chromium against a real
//! server on loopback; `--customers N` (default 3,000), `--runs R` (default
//! 3); medians printed. A client without the ready-offline state (before it
//! existed) reports only the first figure.

use std::time::{Duration, Instant};

use clap::Parser;
use fieldbook_tests::browser::Browser;
use fieldbook_tests::{PASSWORD, TestServer};
use serde_json::json;

#[derive(Parser)]
#[command(about = "First sync of a large book in headless Chromium, at 1x and 4x CPU")]
struct Args {
    #[arg(long, default_value_t = 3_000)]
    customers: usize,
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

const T: Duration = Duration::from_secs(600);

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let n = args.customers;
    let mut server = TestServer::new();
    server.serve_client();
    let customers: Vec<_> = fieldbook_server::demo::demo_customers(n)
        .into_iter()
        .map(|c| (c, "m1", None))
        .collect();
    server.seed_customers(&customers).await;
    server.start().await;
    let listed = "return document.querySelectorAll('li.row').length === arguments[0]";
    let ready = "const s = document.querySelector('.status'); return s && s.dataset.readyOffline === 'true'";
    let has_ready =
        "const s = document.querySelector('.status'); return !!(s && 'readyOffline' in s.dataset)";
    let mut summary = Vec::new();
    // The last 1× browser is kept: the offline start below reopens its book.
    let mut kept: Option<Browser> = None;
    for rate in [1, 4] {
        let (mut to_list, mut to_ready) = (Vec::new(), Vec::new());
        for run in 0..args.runs {
            let b = Browser::start().await;
            if rate > 1 {
                b.cdp("Emulation.setCPUThrottlingRate", json!({"rate": rate}))
                    .await;
            }
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
            b.wait("every customer listed", T, listed, json!([n])).await;
            let l = t0.elapsed().as_secs_f64();
            to_list.push(l);
            let r = if b.js(has_ready, json!([])).await == json!(true) {
                b.wait("the book kept offline", T, ready, json!([])).await;
                let r = t0.elapsed().as_secs_f64();
                to_ready.push(r);
                format!("{r:.1} s")
            } else {
                "n/a".into()
            };
            println!("{rate}x CPU run {run}: {n} listed after {l:.1} s, ready offline after {r}");
            if rate == 1 && run + 1 == args.runs {
                kept = Some(b);
            } else {
                b.kill();
            }
        }
        summary.push(format!(
            "{rate}x CPU: listed {:.1} s, ready offline {:.1} s (medians of {})",
            median(to_list),
            median(to_ready),
            args.runs
        ));
    }
    if let Some(b) = kept {
        summary.extend(offline_start(&mut server, b, n, args.runs).await);
    }
    for s in summary {
        println!("book median {n} customers, {s}");
    }
}

/// The tab's memory with the whole book open, then starts with the server
/// down: from pressing 解锁 to every row drawn, at 1× and 4× CPU.
async fn offline_start(server: &mut TestServer, b: Browser, n: usize, runs: usize) -> Vec<String> {
    let rows_drawn = "return document.querySelectorAll('li.row').length === arguments[0] ? performance.now() : null";
    let memory = tab_memory(&b).await;
    println!("tab memory with {n} customers listed: {memory}");
    b.refresh().await;
    b.wait(
        "service worker",
        T,
        "return navigator.serviceWorker.controller !== null",
        json!([]),
    )
    .await;
    b.wait("every customer listed", T, rows_drawn, json!([n]))
        .await;
    server.kill();
    let mut out = vec![format!("tab memory {memory}")];
    for rate in [1, 4] {
        b.cdp("Emulation.setCPUThrottlingRate", json!({"rate": rate}))
            .await;
        let mut starts = Vec::new();
        for run in 0..runs {
            b.refresh_locked().await;
            b.wait(
                "the unlock form",
                T,
                "return document.querySelector('form.unlock button[type=submit]') !== null",
                json!([]),
            )
            .await;
            b.fill("form.unlock input[name=password]", PASSWORD).await;
            let pressed = b
                .js(
                    "document.querySelector('form.unlock button[type=submit]').click(); return performance.now();",
                    json!([]),
                )
                .await
                .as_f64()
                .unwrap_or(f64::NAN);
            let drawn = b
                .wait("every customer offline", T, rows_drawn, json!([n]))
                .await
                .as_f64()
                .unwrap_or(f64::NAN);
            let ms = drawn - pressed;
            println!("{rate}x CPU offline start run {run}: {ms:.0} ms from 解锁 to {n} rows drawn");
            starts.push(ms);
        }
        out.push(format!(
            "{rate}x CPU: offline start (解锁 to every row drawn) {:.0} ms (median of {runs})",
            median(starts)
        ));
    }
    b.kill();
    out
}

/// The largest renderer process's resident memory (this bench runs one
/// browser at a time, and the tab is its heaviest renderer) and the page's
/// JavaScript heap in use.
async fn tab_memory(b: &Browser) -> String {
    b.cdp("Performance.enable", json!({})).await;
    let metrics = b.cdp("Performance.getMetrics", json!({})).await;
    let js_heap = metrics["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["name"] == "JSHeapUsedSize")
        .and_then(|m| m["value"].as_f64())
        .unwrap_or(f64::NAN);
    let renderer_kb = renderer_rss_kb();
    format!(
        "renderer RSS {} MB (the WASM module's memory included), JS heap {:.0} MB",
        renderer_kb / 1024,
        js_heap / 1e6
    )
}

/// The resident memory of the largest Chromium renderer process, in KB.
fn renderer_rss_kb() -> u64 {
    let mut max = 0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let dir = entry.path();
        let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
        if !String::from_utf8_lossy(&cmdline).contains("--type=renderer") {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
        max = max.max(kb);
    }
    max
}
