//! The tablet client's numbers: WASM size (raw and gzip), first sync of a
//! 300-customer book on a fresh browser profile, and offline cold start with 300
//! customers in IndexedDB until the list is drawn. Headless Chromium against a
//! real server on loopback; 5 runs each, medians printed.
//!
//! `--tablet`: as a tablet would, the CPU slowed 4× (DevTools throttling) and
//! every byte between browser and server through a link of 2 Mbit/s each way
//! and 150 ms round trip (a proxy in this process, so the WebSocket is held to
//! it as well as HTTP), which also counts the bytes of each first sync.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use fieldbook_tests::browser::Browser;
use fieldbook_tests::{PASSWORD, TestServer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Parser)]
#[command(about = "The tablet client in headless Chromium: first sync and offline cold start")]
struct Args {
    /// A tablet: CPU 4x slower, a 2 Mbit/s link with 150 ms round trip.
    #[arg(long)]
    tablet: bool,
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

/// Bytes through the link since the last reset: (browser to server, back).
#[derive(Default)]
struct Counted {
    up: AtomicU64,
    down: AtomicU64,
}

/// A TCP proxy on loopback to `to` that holds every connection to `bits_per_s`
/// each way and adds `rtt / 2` each way, counting bytes; returns its address.
async fn slow_link(
    to: std::net::SocketAddr,
    bits_per_s: u64,
    rtt: Duration,
    counted: Arc<Counted>,
) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("proxy port");
    let addr = listener.local_addr().expect("proxy address");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(to).await else {
                continue;
            };
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            let c = counted.clone();
            tokio::spawn(one_way(cr, sw, bits_per_s, rtt / 2, move |n| {
                c.up.fetch_add(n, Ordering::Relaxed);
            }));
            let c = counted.clone();
            tokio::spawn(one_way(sr, cw, bits_per_s, rtt / 2, move |n| {
                c.down.fetch_add(n, Ordering::Relaxed);
            }));
        }
    });
    addr
}

/// Copies `from` to `to` as a link would carry it: each chunk leaves once the
/// link has sent what came before it (at `bits_per_s`) and arrives `delay` later.
async fn one_way(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    bits_per_s: u64,
    delay: Duration,
    count: impl Fn(u64) + Send + 'static,
) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(tokio::time::Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut free_at = tokio::time::Instant::now();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        count(n as u64);
        let sending = Duration::from_secs_f64(n as f64 * 8.0 / bits_per_s as f64);
        free_at = free_at.max(tokio::time::Instant::now()) + sending;
        if tx.send((free_at + delay, buf[..n].to_vec())).is_err() {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
}

const N: usize = 300;
const T: Duration = Duration::from_secs(120);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
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
    let counted = Arc::new(Counted::default());
    let base = if args.tablet {
        let at = slow_link(
            server.addr,
            2_000_000,
            Duration::from_millis(150),
            counted.clone(),
        )
        .await;
        println!("tablet: CPU 4x slower, 2 Mbit/s each way, 150 ms round trip (proxy {at})");
        format!("http://{at}")
    } else {
        server.base()
    };
    let rows_drawn = "return (document.querySelector('ul.rows') ? Number(document.querySelector('ul.rows').dataset.listed ?? document.querySelectorAll('li.row').length) : 0) === arguments[0] ? performance.now() : null";
    let all_read = "return (document.querySelector('ul.rows') ? Number(document.querySelector('ul.rows').dataset.listed ?? document.querySelectorAll('li.row').length) : 0) === arguments[0] && !document.querySelector('.reading-rest') ? performance.now() : null";
    let synced = "const s = document.querySelector('.status'); return s && s.dataset.online === 'true' && s.dataset.pending === '0' && !document.querySelector('.status .progress')";

    let mut first_sync = Vec::new();
    let mut last = None;
    let mut bytes = Vec::new();
    for run in 0..args.runs {
        let b = Browser::start().await;
        if args.tablet {
            b.cdp("Emulation.setCPUThrottlingRate", json!({"rate": 4}))
                .await;
        }
        b.goto(&base).await;
        b.wait(
            "login form",
            T,
            "return document.querySelector('input[name=username]') !== null",
            json!([]),
        )
        .await;
        b.fill("input[name=username]", "m1").await;
        b.fill("input[name=password]", PASSWORD).await;
        let (up0, down0) = (
            counted.up.load(Ordering::Relaxed),
            counted.down.load(Ordering::Relaxed),
        );
        let t0 = Instant::now();
        b.click("button[type=submit]").await;
        b.wait("all customers", T, rows_drawn, json!([N])).await;
        b.wait("synced", T, synced, json!([])).await;
        let s = t0.elapsed().as_secs_f64();
        let (up, down) = (
            counted.up.load(Ordering::Relaxed) - up0,
            counted.down.load(Ordering::Relaxed) - down0,
        );
        println!(
            "first sync run {run}: {s:.3} s from pressing log in to {N} customers listed and synced{}",
            if args.tablet {
                format!(
                    " ({} KB up, {} KB down through the link)",
                    up / 1024,
                    down / 1024
                )
            } else {
                String::new()
            }
        );
        bytes.push((up + down) as f64);
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
    // The next starts list from the index (30 s lost with a client
    // before it).
    let indexed = b.list_index_kept(N, Duration::from_secs(30)).await;
    println!("list index kept: {indexed}");
    server.kill();

    // The data is sealed at rest (client/src/keyring.rs): a start shows the
    // unlock form, the password is typed, then the book is opened and drawn.
    // Measured apart, the person's typing left out: navigation start to the
    // form, and the press of 解锁 to the rows drawn (the key derivation,
    // decrypting every chunk, loading and drawing).
    let mut to_form = Vec::new();
    let mut unlock_to_rows = Vec::new();
    let mut unlock_to_read = Vec::new();
    let mut cold = Vec::new();
    for run in 0..args.runs {
        let form_ms = b.reload_to_unlock().await;
        let times = b.unlock_timing_rows(N, T).await;
        // Every document read as well (the list says 正在读取本机的其余客户
        // until then): with the list index the rows come first.
        let read = b
            .wait("every customer read", T, all_read, json!([N]))
            .await
            .as_f64()
            .unwrap_or(f64::NAN);
        let (a, u, r) = (form_ms, times.all - times.pressed, read - times.pressed);
        println!(
            "offline cold start run {run}: {a:.0} ms to the unlock form, {u:.0} ms from 解锁 to all {N} listed (the first page drawn), {:.0} ms together; {r:.0} ms from 解锁 to every customer read",
            a + u
        );
        to_form.push(a);
        unlock_to_rows.push(u);
        unlock_to_read.push(r);
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
    if args.tablet {
        println!(
            "client (tablet) median bytes of a first sync: {:.0} KB",
            median(bytes) / 1024.0
        );
    }
    println!(
        "client median{}: first sync {:.3} s, offline cold start {:.0} ms (to the unlock form {:.0} ms, 解锁 to rows {:.0} ms, to every customer read {:.0} ms; key derivation {:.0} ms), wasm {} KB gzip",
        if args.tablet {
            " (tablet: CPU 4x, 2 Mbit/s, 150 ms)"
        } else {
            ""
        },
        median(first_sync),
        median(cold),
        median(to_form),
        median(unlock_to_rows),
        median(unlock_to_read),
        median(derive),
        gz.len() / 1024
    );
}
