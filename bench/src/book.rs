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
    /// Profile the page's first run at 1x CPU (Chromium's sampling profiler)
    /// and print the functions that took the most time, then stop.
    #[arg(long)]
    profile: bool,
    /// Profile the offline start at 1x CPU instead (after one first sync).
    #[arg(long)]
    profile_offline: bool,
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
    // The seeded customers are projected when the server starts: the tablet
    // is measured against a server at rest, as it finds one in the morning.
    let idle = std::time::Instant::now();
    while queued(&server) > 0 {
        assert!(
            idle.elapsed() < T,
            "the server did not project its customers"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "the server projected {n} customers in {:.1} s",
        idle.elapsed().as_secs_f64()
    );
    let listed = "return (document.querySelector('ul.rows') ? Number(document.querySelector('ul.rows').dataset.listed ?? document.querySelectorAll('li.row').length) : 0) === arguments[0]";
    let ready = "const s = document.querySelector('.status'); return s && s.dataset.readyOffline === 'true'";
    let has_ready =
        "const s = document.querySelector('.status'); return !!(s && 'readyOffline' in s.dataset)";
    let mut summary = Vec::new();
    // The last 1× browser is kept: the offline start below reopens its book.
    let mut kept: Option<Browser> = None;
    let (rates, runs): (&[u32], usize) = if args.profile_offline {
        (&[1], 1)
    } else {
        (&[1, 4], args.runs)
    };
    for &rate in rates {
        let (mut to_list, mut to_ready) = (Vec::new(), Vec::new());
        for run in 0..runs {
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
            if args.profile {
                b.cdp("Profiler.enable", json!({})).await;
                b.cdp("Profiler.setSamplingInterval", json!({"interval": 1000}))
                    .await;
                b.cdp("Profiler.start", json!({})).await;
            }
            let t0 = Instant::now();
            b.click("button[type=submit]").await;
            b.wait("every customer listed", T, listed, json!([n])).await;
            let l = t0.elapsed().as_secs_f64();
            if args.profile {
                let p = b.cdp("Profiler.stop", json!({})).await;
                print_profile(&p["profile"], l);
                b.kill();
                return;
            }
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
            if rate == 1 && run + 1 == runs {
                kept = Some(b);
            } else {
                b.kill();
            }
        }
        summary.push(format!(
            "{rate}x CPU: listed {:.1} s, ready offline {:.1} s (medians of {})",
            median(to_list),
            median(to_ready),
            runs
        ));
    }
    if let Some(b) = kept {
        summary.extend(offline_start(&mut server, b, n, runs, args.profile_offline).await);
    }
    for s in summary {
        println!("book median {n} customers, {s}");
    }
}

/// The functions with the most samples in a CPU profile (self time), and
/// the callers that account for them.
fn print_profile(p: &serde_json::Value, secs: f64) {
    let nodes = p["nodes"].as_array().cloned().unwrap_or_default();
    let mut hits: std::collections::HashMap<String, u64> = Default::default();
    let mut total = 0;
    for node in &nodes {
        let f = &node["callFrame"];
        let name = format!(
            "{} ({}:{})",
            f["functionName"].as_str().unwrap_or("?"),
            f["url"]
                .as_str()
                .unwrap_or("")
                .rsplit('/')
                .next()
                .unwrap_or(""),
            f["lineNumber"]
        );
        let h = node["hitCount"].as_u64().unwrap_or(0);
        total += h;
        *hits.entry(name).or_default() += h;
    }
    let mut v: Vec<_> = hits.into_iter().collect();
    v.sort_by_key(|x| std::cmp::Reverse(x.1));
    println!("profile of {secs:.1} s, {total} samples; most self time:");
    for (name, h) in v.iter().take(25) {
        println!(
            "  {:5.1} %  {name}",
            *h as f64 * 100.0 / total.max(1) as f64
        );
    }
    // Inclusive time of our own functions: each sample counted once for
    // every distinct function on its stack.
    let short = |n: &serde_json::Value| {
        n["callFrame"]["functionName"]
            .as_str()
            .unwrap_or("?")
            .to_string()
    };
    let by_id: std::collections::HashMap<u64, &serde_json::Value> = nodes
        .iter()
        .filter_map(|n| Some((n["id"].as_u64()?, n)))
        .collect();
    let mut parent: std::collections::HashMap<u64, u64> = Default::default();
    for n in &nodes {
        for c in n["children"].as_array().into_iter().flatten() {
            if let (Some(c), Some(id)) = (c.as_u64(), n["id"].as_u64()) {
                parent.insert(c, id);
            }
        }
    }
    let mut inclusive: std::collections::HashMap<String, u64> = Default::default();
    for n in &nodes {
        let h = n["hitCount"].as_u64().unwrap_or(0);
        if h == 0 {
            continue;
        }
        let mut seen = std::collections::HashSet::new();
        let mut at = n["id"].as_u64();
        while let Some(id) = at {
            if let Some(node) = by_id.get(&id) {
                let name = short(node);
                if (name.contains("fieldbook") || name.contains("yew")) && seen.insert(name.clone())
                {
                    *inclusive.entry(name).or_default() += h;
                }
            }
            at = parent.get(&id).copied();
        }
    }
    let mut v: Vec<_> = inclusive.into_iter().collect();
    v.sort_by_key(|x| std::cmp::Reverse(x.1));
    println!("most inclusive time (ours):");
    for (name, h) in v.iter().take(40) {
        println!(
            "  {:5.1} %  {name}",
            *h as f64 * 100.0 / total.max(1) as f64
        );
    }
}

/// Documents the server has still to project.
fn queued(server: &TestServer) -> i64 {
    fieldbook_server::store::sql::Connection::open(&server.db)
        .and_then(|c| c.query_row("SELECT count(*) FROM dirty_docs", (), |r| r.get(0)))
        .unwrap_or(1)
}

/// The tab's memory after its first sync, then starts with the server down,
/// at 1× and 4× CPU: from pressing 解锁 to the first row drawn, to the whole
/// book listed (from the list index, with a client that keeps one; the list
/// draws its first page, the rest as it is scrolled), and to every customer
/// read (the list no longer says 正在读取本机的其余客户); the tab's memory
/// after the last 1× start, then with every line drawn.
async fn offline_start(
    server: &mut TestServer,
    b: Browser,
    n: usize,
    runs: usize,
    profile: bool,
) -> Vec<String> {
    let rows_drawn = "return (document.querySelector('ul.rows') ? Number(document.querySelector('ul.rows').dataset.listed ?? document.querySelectorAll('li.row').length) : 0) === arguments[0] ? performance.now() : null";
    let all_read = "return (document.querySelector('ul.rows') ? Number(document.querySelector('ul.rows').dataset.listed ?? document.querySelectorAll('li.row').length) : 0) === arguments[0] && !document.querySelector('.reading-rest') ? performance.now() : null";
    let mut out = Vec::new();
    note_memory(
        &b,
        &mut out,
        &format!("after the first sync, {n} customers listed"),
    )
    .await;
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
    // The next starts list from the index (30 s lost with a client
    // before it).
    let indexed = b.list_index_kept(n, Duration::from_secs(30)).await;
    println!("list index kept: {indexed}");
    server.kill();
    for rate in [1, 4] {
        b.cdp("Emulation.setCPUThrottlingRate", json!({"rate": rate}))
            .await;
        let (mut starts, mut firsts, mut reads) = (Vec::new(), Vec::new(), Vec::new());
        for run in 0..runs {
            b.reload_to_unlock().await;
            if profile {
                b.cdp("Profiler.enable", json!({})).await;
                b.cdp("Profiler.setSamplingInterval", json!({"interval": 1000}))
                    .await;
                b.cdp("Profiler.start", json!({})).await;
            }
            let times = b.unlock_timing_rows(n, T).await;
            // Every document read as well (the list says 正在读取本机的其余
            // 客户 until then): with the list index the rows come first.
            let read = b
                .wait("every customer read", T, all_read, json!([n]))
                .await
                .as_f64()
                .unwrap_or(f64::NAN);
            let ms = times.all - times.pressed;
            let first_ms = times.first - times.pressed;
            let read_ms = read - times.pressed;
            println!(
                "{rate}x CPU offline start run {run}: {first_ms:.0} ms from 解锁 to the first rows, {ms:.0} ms to all {n} listed (the first page drawn), {read_ms:.0} ms to every customer read"
            );
            starts.push(ms);
            firsts.push(first_ms);
            reads.push(read_ms);
            if rate == 1 && run + 1 == runs {
                // A new page (the reload): its memory is this start's alone.
                note_memory(&b, &mut out, "after an offline start").await;
                b.draw_whole_list().await;
                note_memory(
                    &b,
                    &mut out,
                    "after an offline start, every line drawn (scrolled to the end)",
                )
                .await;
                screens_drawn(&b, &mut out).await;
            }
            if profile {
                let p = b.cdp("Profiler.stop", json!({})).await;
                print_profile(&p["profile"], ms / 1000.0);
                b.kill();
                return Vec::new();
            }
        }
        out.push(format!(
            "{rate}x CPU: offline start (解锁 to the first rows drawn) {:.0} ms, to all listed {:.0} ms, to every customer read {:.0} ms (medians of {runs})",
            median(firsts),
            median(starts),
            median(reads)
        ));
    }
    b.kill();
    out
}

/// How long the screens that go over every customer take to draw, from the
/// address changing (the list shown before) to the next frame after the
/// screen is in the page: medians of 5, printed and kept for the summary.
async fn screens_drawn(b: &Browser, out: &mut Vec<String>) {
    let draw = "const [hash, sel] = [arguments[0], arguments[1]];
        const t0 = performance.now();
        location.hash = hash;
        return new Promise(done => {
            const look = () => document.querySelector(sel)
                ? requestAnimationFrame(() => done(performance.now() - t0))
                : setTimeout(look, 0);
            look();
        })";
    let mut line = Vec::new();
    for (hash, sel) in [
        ("#/reminders", "section.reminders"),
        ("#/followups", "section.follow-ups-list"),
        ("#/plan", "section.plan"),
    ] {
        let mut ms = Vec::new();
        for _ in 0..5 {
            b.js(draw, json!(["#/", "ul.rows"])).await;
            ms.push(
                b.js(draw, json!([hash, sel]))
                    .await
                    .as_f64()
                    .unwrap_or(f64::NAN),
            );
        }
        line.push(format!("{hash} {:.0} ms", median(ms)));
    }
    // Back to the list: the next start (a reload) opens where this left off.
    b.js(draw, json!(["#/", "ul.rows"])).await;
    let line = format!(
        "screens drawn over every customer (1x, medians of 5): {}",
        line.join(", ")
    );
    println!("{line}");
    out.push(line);
}

/// Prints the tab's memory `when` and keeps the line for the summary.
async fn note_memory(b: &Browser, out: &mut Vec<String>, when: &str) {
    let memory = tab_memory(b).await;
    println!("tab memory {when}: {memory}");
    out.push(format!("tab memory {when}: {memory}"));
}

/// The largest renderer process's resident memory (this bench runs one
/// browser at a time, and the tab is its heaviest renderer) and the page's
/// JavaScript heap in use, after a forced collection: without it the figure
/// said when the page last collected (after scrolling through a 3,000-line
/// list: 641 MB, 333 MB once collected).
async fn tab_memory(b: &Browser) -> String {
    b.cdp("HeapProfiler.collectGarbage", json!({})).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
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
        "renderer RSS {} MB (the WASM module's memory included), JS heap {:.0} MB, WASM memory {:.0} MB",
        renderer_kb / 1024,
        js_heap / 1e6,
        wasm_memory(b).await / 1e6
    )
}

/// The size of the page's WebAssembly memories, in bytes: found through the
/// DevTools protocol (`Runtime.queryObjects`), so the app exposes nothing.
/// A WebAssembly memory only grows: this is the peak of the tab's life.
async fn wasm_memory(b: &Browser) -> f64 {
    let proto = b
        .cdp(
            "Runtime.evaluate",
            json!({"expression": "WebAssembly.Memory.prototype"}),
        )
        .await;
    let Some(proto_id) = proto["result"]["objectId"].as_str() else {
        return f64::NAN;
    };
    let found = b
        .cdp(
            "Runtime.queryObjects",
            json!({"prototypeObjectId": proto_id}),
        )
        .await;
    let Some(list_id) = found["objects"]["objectId"].as_str() else {
        return f64::NAN;
    };
    let size = b
        .cdp(
            "Runtime.callFunctionOn",
            json!({
                "objectId": list_id,
                "functionDeclaration": "function() { return this.reduce((s, m) => s + m.buffer.byteLength, 0); }",
                "returnByValue": true,
            }),
        )
        .await;
    size["result"]["value"].as_f64().unwrap_or(f64::NAN)
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
