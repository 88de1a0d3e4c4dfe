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
            b.kill();
        }
        summary.push(format!(
            "{rate}x CPU: listed {:.1} s, ready offline {:.1} s (medians of {})",
            median(to_list),
            median(to_ready),
            args.runs
        ));
    }
    for s in summary {
        println!("book median {n} customers, {s}");
    }
}
