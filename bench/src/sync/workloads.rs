//! The workloads, each run against one seeded server at a time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use automerge::{Automerge, ChangeHash, ReadDoc};
use fieldbook_shared::book::Book;
use fieldbook_shared::customer::{self, Contact, Customer, Visit};
use fieldbook_shared::vocab::{Line, Nature, VisitKind};
use futures::StreamExt;
use rand::Rng;
use samod::DocHandle;

use crate::report::IdleCurve;
use crate::servers::{Client, Seeded};

/// Documents as saved Automerge bytes, so both servers get the very same ones.
pub fn save(customers: &[Customer]) -> Vec<Vec<u8>> {
    customers
        .iter()
        .map(|c| {
            let mut doc = Automerge::new();
            doc.transact(|tx| c.create(tx)).expect("write customer");
            doc.save()
        })
        .collect()
}

/// Realistic customers: the demo's (24 months of ledger, contacts, visits).
pub fn realistic(n: usize) -> Vec<Vec<u8>> {
    save(&fieldbook_server::demo::demo_customers(n))
}

/// A customer as just registered on a tablet: one contact, one visit.
pub fn small(n: usize) -> Vec<Vec<u8>> {
    let customers: Vec<Customer> = (0..n)
        .map(|i| {
            let mut c = Customer::new(
                &format!("测试物流有限公司{i:06}"),
                &format!("91310000{i:09}X"),
                Nature::Enterprise,
                vec![Line::Delivery],
            );
            c.contacts.push(Contact {
                id: format!("c{i}"),
                name: "王经理".into(),
                phone: "13800000000".into(),
                ..Default::default()
            });
            c.visits.push(Visit {
                id: format!("v{i}"),
                date: "2026-11-01".into(),
                summary: "首次拜访".into(),
                ..Default::default()
            });
            c
        })
        .collect();
    save(&customers)
}

fn visit(id: String) -> Visit {
    Visit {
        id,
        date: "2026-11-22".into(),
        time: "10:30".into(),
        kind: VisitKind::Onsite,
        visitors: vec!["bench".into()],
        purpose: "年度协议洽谈".into(),
        summary: "与客户行政主管沟通2027年寄递协议续签，客户希望增加同城当日达服务。".into(),
        needs: "同城当日达，月结".into(),
        next_visit: "2026-12-15".into(),
        ..Default::default()
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

/// First sync: a fresh device opens manager 0's book and every customer in it.
/// Answers seconds, one figure per run (each run a new device and session).
pub async fn first_sync(s: &Seeded, run: usize) -> f64 {
    let url = s.sync_url();
    let start = Instant::now();
    let client = Client::connect(&url, &s.creds[0][run]).await;
    let book = client.find(&s.books[0]).await;
    let listed = book
        .with_document(|d| Book::load(d))
        .expect("book")
        .customers;
    let ids: Vec<samod::DocumentId> = listed
        .iter()
        .map(|u| u.trim_start_matches("automerge:").parse().expect("id"))
        .collect();
    let found: Vec<DocHandle> =
        futures::future::join_all(ids.iter().map(|id| client.find(id))).await;
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(found.len(), s.docs.len(), "every customer arrived");
    client.close().await;
    secs
}

/// One new visit on a customer with 20 earlier ones: (bytes up, bytes down,
/// messages up, messages down), the median of 7.
pub async fn one_visit(s: &Seeded) -> (u64, u64, u64, u64) {
    let client = Client::connect(&s.sync_url(), &s.creds[0][0]).await;
    let doc = client.find(&s.docs[0]).await;
    client.synced(&doc).await;
    let mut runs = Vec::new();
    for run in 0..8 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = client.wire.snapshot();
        doc.with_document(|d| {
            d.transact(|tx| customer::add_visit(tx, &visit(format!("one-{run}"))))
        })
        .expect("add visit");
        client.synced(&doc).await;
        // Acknowledgements may trail the "they have it" moment by a message.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = client.wire.snapshot();
        let r = (
            after.0 - before.0,
            after.1 - before.1,
            after.2 - before.2,
            after.3 - before.3,
        );
        // The first visit after opening carries a fuller sync message; the
        // steady state is what a day of visits costs.
        if run > 0 {
            runs.push(r);
        }
    }
    client.close().await;
    runs.sort_by_key(|r| r.0 + r.1);
    runs[runs.len() / 2]
}

#[derive(Debug, Clone, Default)]
pub struct Storm {
    /// Visits logged.
    pub offered: usize,
    /// Visits that reached the manager's second device.
    pub delivered: usize,
    /// Arrivals per second during the storm.
    pub throughput: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Server CPU time per delivered visit, in milliseconds.
    pub cpu_ms_per_visit: f64,
    /// The load generator's own CPU time per delivered visit (it shares the
    /// machine with the server), in milliseconds.
    pub load_cpu_ms_per_visit: f64,
    /// The devices could not all connect and open their customer (the server
    /// still working off an earlier storm, say): nothing else was measured.
    pub setup_failed: Option<String>,
    /// Each delivered visit: when it arrived, and its latency (for a
    /// workload that splits the storm in windows: the rule change).
    pub arrivals: Vec<(Instant, Duration)>,
}

impl Storm {
    /// The `p` quantile (0–1) of the latency of the visits that arrived in
    /// `[from, to)`, in ms, and how many they were.
    pub fn quantile_between(&self, p: f64, from: Instant, to: Instant) -> (f64, usize) {
        let mut lat: Vec<f64> = self
            .arrivals
            .iter()
            .filter(|(at, _)| *at >= from && *at < to)
            .map(|(_, d)| d.as_secs_f64() * 1000.0)
            .collect();
        lat.sort_by(|a, b| a.total_cmp(b));
        (quantile(&lat, p), lat.len())
    }
}

/// How long a workload may take to connect its devices and open their
/// customers before the server is reported as unable to.
const SETUP_LIMIT: Duration = Duration::from_secs(240);

/// Visit storm: `n` managers, each with two connected devices on one customer;
/// device A logs a visit every `pace` (±50 %), device B waits for it. Without a
/// pace, device A logs its next visit as soon as B has the last one (flat out:
/// what the server sustains with `n` managers busy at once).
pub async fn storm(s: &Seeded, n: usize, secs: u64, pace: Option<Duration>) -> Storm {
    storm_telling(s, n, secs, pace, None).await
}

/// [`storm`], telling `started` when the devices are set up and the storm begins.
pub async fn storm_telling(
    s: &Seeded,
    n: usize,
    secs: u64,
    pace: Option<Duration>,
    started: Option<&tokio::sync::Notify>,
) -> Storm {
    let (url_a, url_b) = (s.sync_url_of(0), s.sync_url_of(1));
    let within = Duration::from_secs(120);
    // A server that cannot set the devices up within this is reported as
    // such (upstream samod attaches every connection to every loaded
    // document, so its set-up grows with devices × documents).
    let setup_by = Instant::now() + SETUP_LIMIT;
    let set_up: Vec<Result<(Client, Client, DocHandle, DocHandle), String>> =
        futures::stream::iter(0..n)
            .map(|i| {
                let (url_a, url_b) = (&url_a, &url_b);
                async move {
                    let left = setup_by.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(format!("not set up within {} s", SETUP_LIMIT.as_secs()));
                    }
                    let within = within.min(left);
                    let a = Client::try_connect(url_a, &s.creds[i][0], within).await?;
                    let b = match Client::try_connect(url_b, &s.creds[i][1], within).await {
                        Ok(b) => b,
                        Err(e) => {
                            a.close().await;
                            return Err(e);
                        }
                    };
                    let opened = async {
                        Ok::<_, String>((
                            a.try_find(&s.docs[i], within).await?,
                            b.try_find(&s.docs[i], within).await?,
                        ))
                    }
                    .await;
                    match opened {
                        Ok((da, db)) => Ok((a, b, da, db)),
                        Err(e) => {
                            a.close().await;
                            b.close().await;
                            Err(e)
                        }
                    }
                }
            })
            .buffer_unordered(16)
            .collect()
            .await;
    let (pairs, errors): (Vec<_>, Vec<_>) = set_up.into_iter().partition(Result::is_ok);
    let pairs: Vec<_> = pairs.into_iter().flatten().collect();
    if let Some(Err(first)) = errors.first() {
        let why = format!(
            "{} of {n} managers' devices could not start ({first})",
            errors.len()
        );
        eprintln!("storm of {n} managers on {}: {why}", s.kind.label());
        for (a, b, _, _) in pairs {
            a.close().await;
            b.close().await;
        }
        return Storm {
            setup_failed: Some(why),
            ..Default::default()
        };
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    eprintln!(
        "storm of {n} managers under way ({})",
        if pace.is_some() { "paced" } else { "flat out" }
    );
    let cpu_before = s.cpu_secs();
    let load_cpu_before = crate::servers::cpu_secs_of("self");
    let start = Instant::now();
    if let Some(started) = started {
        started.notify_one();
    }
    let end = start + Duration::from_secs(secs);
    let arrivals: Arc<Mutex<Vec<(Instant, Duration)>>> = Arc::default();
    let offered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (i, (_, _, da, db)) in pairs.iter().enumerate() {
        let pending: Arc<Mutex<VecDeque<(ChangeHash, Instant)>>> = Arc::default();
        let arrived = Arc::new(tokio::sync::Notify::new());
        // Device B: each change event, take every pending visit it now has.
        let (db2, p2, arr, tell) = (
            db.clone(),
            pending.clone(),
            arrivals.clone(),
            arrived.clone(),
        );
        let mut changes = db.changes();
        tasks.push(tokio::spawn(async move {
            while changes.next().await.is_some() {
                let now = Instant::now();
                db2.with_document(|d| {
                    let mut p = p2.lock().expect("pending");
                    while let Some((h, t)) = p.front() {
                        if d.get_change_by_hash(h).is_none() {
                            break;
                        }
                        arr.lock().expect("arrivals").push((now, now - *t));
                        p.pop_front();
                    }
                });
                tell.notify_one();
            }
        }));
        // Device A: the writer.
        let (da2, off) = (da.clone(), offered.clone());
        tasks.push(tokio::spawn(async move {
            let jitter = |d: Duration| d.mul_f64(rand::rng().random_range(0.5..1.5));
            if let Some(p) = pace {
                tokio::time::sleep(jitter(p)).await;
            }
            let mut seq = 0;
            while Instant::now() < end {
                da2.with_document(|d| {
                    let t = Instant::now();
                    d.transact(|tx| customer::add_visit(tx, &visit(format!("s{i}-{seq}"))))
                        .expect("add visit");
                    // Counted and queued before samod sees the change, so B
                    // cannot beat either (counted after, a visit could arrive
                    // before it was counted as logged).
                    off.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    pending
                        .lock()
                        .expect("pending")
                        .push_back((d.get_heads()[0], t));
                });
                seq += 1;
                match pace {
                    Some(p) => tokio::time::sleep(jitter(p)).await,
                    None => {
                        let _ = tokio::time::timeout(Duration::from_secs(10), async {
                            while !pending.lock().expect("pending").is_empty() {
                                arrived.notified().await;
                            }
                        })
                        .await;
                    }
                }
            }
        }));
    }
    tokio::time::sleep_until((end).into()).await;
    // Let the backlog drain (its arrivals count for latency, not throughput).
    // A writer may still log one visit it began before the end: the count is
    // read again each time, and once more after the writers have stopped.
    let logged = || offered.load(std::sync::atomic::Ordering::SeqCst);
    let drain_until = Instant::now() + Duration::from_secs(30);
    while arrivals.lock().expect("arrivals").len() < logged() && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for t in &tasks {
        t.abort();
    }
    // Stopped for certain (a task running on another thread finishes its
    // current step), so the counts below are final.
    for t in tasks {
        let _ = t.await;
    }
    let offered_n = logged();
    let cpu = s.cpu_secs() - cpu_before;
    let load_cpu = crate::servers::cpu_secs_of("self") - load_cpu_before;
    let arr = arrivals.lock().expect("arrivals").clone();
    let in_window = arr.iter().filter(|(at, _)| *at <= end).count();
    let mut lat: Vec<f64> = arr.iter().map(|(_, d)| d.as_secs_f64() * 1000.0).collect();
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        if lat.is_empty() {
            f64::NAN
        } else {
            lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)]
        }
    };
    let result = Storm {
        offered: offered_n,
        delivered: arr.len(),
        throughput: in_window as f64 / secs as f64,
        p50_ms: pct(0.50),
        p95_ms: pct(0.95),
        p99_ms: pct(0.99),
        cpu_ms_per_visit: cpu * 1000.0 / arr.len().max(1) as f64,
        load_cpu_ms_per_visit: load_cpu * 1000.0 / arr.len().max(1) as f64,
        setup_failed: None,
        arrivals: arr,
    };
    for (a, b, _, _) in pairs {
        a.close().await;
        b.close().await;
    }
    result
}

/// Opens every document once through `clients` fresh clients (credentials from
/// `creds`), then closes them: the server has loaded each document.
pub async fn touch_all(s: &Seeded, creds: &[crate::servers::Cred]) {
    touch(s, &s.docs, creds).await;
}

/// Syncs each of `docs` once, over one connection per credential, then closes them.
pub async fn touch(s: &Seeded, docs: &[samod::DocumentId], creds: &[crate::servers::Cred]) {
    touch_counted(s, docs, creds, &AtomicUsize::new(0)).await;
}

/// `touch`, adding one to `synced` as each document arrives.
async fn touch_counted(
    s: &Seeded,
    docs: &[samod::DocumentId],
    creds: &[crate::servers::Cred],
    synced: &AtomicUsize,
) {
    let url = s.sync_url();
    let chunk = docs.len().div_ceil(creds.len()).max(1);
    futures::future::join_all(docs.chunks(chunk).zip(creds).map(|(ids, cred)| {
        let url = &url;
        async move {
            let c = Client::connect(url, cred).await;
            futures::stream::iter(ids)
                .map(|id| {
                    let c = &c;
                    async move {
                        c.find(id).await;
                        synced.fetch_add(1, Ordering::Relaxed);
                    }
                })
                .buffer_unordered(32)
                .collect::<Vec<()>>()
                .await;
            c.close().await;
        }
    }))
    .await;
}

/// Idle clients per manager: client `i` is device `i % IDLE_DEVICES` of
/// manager `i / IDLE_DEVICES` and opens customer `i`, which that manager owns.
pub const IDLE_DEVICES: usize = 16;

/// Idle: every document is synced once first (so only connections are
/// counted; the plan keeps every server from unloading them), then clients
/// connect in steps up to each of `sizes`, each opening its own customer and
/// staying idle. After each step (and once before the first) the server's
/// live memory and RSS are read, after `settle`. A step (or the first sync
/// of every document) not done within `limit` ends the curve there.
pub async fn idle_curve(
    s: &mut Seeded,
    sizes: &[usize],
    settle: Duration,
    limit: Duration,
) -> IdleCurve {
    let mut curve = IdleCurve::default();
    if tokio::time::timeout(limit, touch_all(s, &s.admin))
        .await
        .is_err()
    {
        curve.stopped = Some(format!(
            "syncing its {} documents once took over {} s",
            s.docs.len(),
            limit.as_secs()
        ));
        return curve;
    }
    tokio::time::sleep(settle).await;
    curve.points.push((0, s.live_memory(), s.rss()));
    let url = s.sync_url();
    let mut clients: Vec<(Client, DocHandle)> = Vec::new();
    for &n in sizes {
        let from = clients.len();
        let (shared, url) = (&*s, &url);
        let step = futures::stream::iter(from..n)
            .map(move |i| async move {
                let cred = &shared.creds[i / IDLE_DEVICES][i % IDLE_DEVICES];
                let c = Client::connect(url, cred).await;
                let d = c.find(&shared.docs[i]).await;
                (c, d)
            })
            .buffer_unordered(32)
            .collect::<Vec<_>>();
        match tokio::time::timeout(limit, step).await {
            Ok(more) => clients.extend(more),
            Err(_) => {
                curve.stopped = Some(format!(
                    "{from} to {n} clients took over {} s",
                    limit.as_secs()
                ));
                break;
            }
        }
        tokio::time::sleep(settle).await;
        curve.points.push((clients.len(), s.live_memory(), s.rss()));
    }
    for (c, _) in clients {
        c.close().await;
    }
    curve
}

#[derive(Debug, Clone, Default)]
pub struct Many {
    pub docs: usize,
    pub batches: usize,
    pub rss_start: u64,
    /// Just after the first batch was synced.
    pub rss_touched: u64,
    /// After the first batch, then the idle time.
    pub rss_first_idle: u64,
    /// After every batch (each synced once, then idle).
    pub rss_idle: u64,
    pub idle_secs: u64,
    pub touch_secs: f64,
    /// The highest RSS seen while syncing.
    pub rss_peak: u64,
    /// The server process died (ran out of memory, say) after this many
    /// documents had been synced.
    pub died_after: Option<usize>,
    /// The time limit ran out: (its seconds, documents synced by then, RSS then).
    pub stopped: Option<(u64, usize, u64)>,
}

/// Many documents: synced once each, in `batches` (a day's customers, say),
/// each batch followed by `idle_for` with nothing connected. A server whose
/// memory follows the documents in use ends near where the first batch left
/// it; one that keeps everything grows with every batch.
/// A server still syncing when `limit` has passed is stopped there (the full
/// run must end: the reference slows as its documents accumulate).
pub async fn many(s: &Seeded, idle_for: Duration, batches: usize, limit: Option<Duration>) -> Many {
    let deadline = limit.map(|l| tokio::time::Instant::now() + l);
    let synced = AtomicUsize::new(0);
    let rss_start = s.rss();
    let per = s.docs.len().div_ceil(batches.max(1)).max(1);
    let mut out = Many {
        docs: s.docs.len(),
        batches: s.docs.chunks(per).len(),
        rss_start,
        idle_secs: idle_for.as_secs(),
        ..Default::default()
    };
    for (i, batch) in s.docs.chunks(per).enumerate() {
        let t = Instant::now();
        // RSS is sampled while the batch syncs, for the peak and to notice a
        // server that died (its RSS reads as 0).
        let watch = async {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let rss = s.rss();
                if rss == 0 {
                    return;
                }
                out.rss_peak = out.rss_peak.max(rss);
            }
        };
        let out_of_time = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => futures::future::pending().await,
            }
        };
        let died = tokio::select! {
            _ = touch_counted(s, batch, &s.admin, &synced) => false,
            _ = watch => true,
            _ = out_of_time => {
                let n = synced.load(Ordering::Relaxed);
                let rss = s.rss();
                let secs = limit.unwrap_or_default().as_secs();
                out.rss_peak = out.rss_peak.max(rss);
                out.stopped = Some((secs, n, rss));
                out.touch_secs += t.elapsed().as_secs_f64();
                println!(
                    "many documents, {}: stopped at the {secs} s limit in batch {}, {n} documents synced, RSS {} MB",
                    s.kind.label(),
                    i + 1,
                    rss / 1_000_000
                );
                return out;
            }
        };
        out.touch_secs += t.elapsed().as_secs_f64();
        if died {
            out.died_after = Some(i * per);
            println!(
                "many documents, {}: the server died during batch {} (peak RSS {} MB)",
                s.kind.label(),
                i + 1,
                out.rss_peak / 1_000_000
            );
            return out;
        }
        out.rss_peak = out.rss_peak.max(s.rss());
        println!(
            "many documents, {}: batch {}/{} synced in {:.1} s, RSS {} MB",
            s.kind.label(),
            i + 1,
            out.batches,
            t.elapsed().as_secs_f64(),
            s.rss() / 1_000_000
        );
        if i == 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            out.rss_touched = s.rss();
        }
        tokio::time::sleep(idle_for).await;
        let rss = s.rss();
        if i == 0 {
            out.rss_first_idle = rss;
        }
        out.rss_idle = rss;
    }
    out
}

pub fn median_of(mut v: Vec<f64>) -> f64 {
    median(&mut v)
}

/// Customers with `visits` visits each: the demo's first customer (24 months
/// of ledger, contacts), its visits replaced by `visits` of them, saved once
/// and copied: every document holds the same bytes under its own id.
pub fn with_history(n: usize, visits: usize) -> Vec<Vec<u8>> {
    let mut c = fieldbook_server::demo::demo_customers(1).remove(0);
    c.visits = (0..visits).map(|v| visit(format!("h{v}"))).collect();
    let saved = save(&[c]).remove(0);
    vec![saved; n]
}

/// The floor: what automerge alone costs a server per visit, in milliseconds,
/// on `doc` (saved bytes). In process, no network, no storage, no access
/// control: a server document with two peers (the manager's two devices);
/// device A adds a visit; the server decodes A's message, applies it, answers A,
/// sends it on to device B, takes B's acknowledgement, and saves what changed
/// (`save_after` its last saved heads, as samod saves incrementally). Only the
/// server's steps are timed. The median over `visits` visits, taken ten at a
/// time from `doc` afresh, so the customer keeps about its history.
pub fn floor(doc: &[u8], visits: usize) -> f64 {
    let mut times = Vec::with_capacity(visits);
    for batch in 0..visits.div_ceil(10) {
        floor_batch(doc, batch, 10, &mut times);
    }
    median(&mut times)
}

/// `n` visits on fresh copies of `doc`, each one's server time pushed to `times`.
fn floor_batch(doc: &[u8], batch: usize, n: usize, times: &mut Vec<f64>) {
    use automerge::sync::{Message, State, SyncDoc};
    let load = || Automerge::load(doc).expect("fixture document");
    let (mut server, mut a, mut b) = (load(), load(), load());
    let (mut sa, mut sb, mut a_s, mut b_s) =
        (State::new(), State::new(), State::new(), State::new());
    let mut saved_heads = server.get_heads();
    for v in 0..=n {
        a.transact(|tx| customer::add_visit(tx, &visit(format!("floor-{batch}-{v}"))))
            .expect("add visit");
        let mut spent = Duration::ZERO;
        // Until nobody has anything to say.
        loop {
            let mut quiet = true;
            // Each device's message, as bytes on the wire.
            for (device, ds, ss) in [(&mut a, &mut a_s, &mut sa), (&mut b, &mut b_s, &mut sb)] {
                if let Some(m) = device.generate_sync_message(ds) {
                    quiet = false;
                    let bytes = m.encode();
                    let t = Instant::now();
                    let m = Message::decode(&bytes).expect("sync message");
                    server.receive_sync_message(ss, m).expect("apply");
                    spent += t.elapsed();
                }
            }
            for (device, ds, ss) in [(&mut a, &mut a_s, &mut sa), (&mut b, &mut b_s, &mut sb)] {
                let t = Instant::now();
                let out = server.generate_sync_message(ss).map(Message::encode);
                spent += t.elapsed();
                if let Some(bytes) = out {
                    quiet = false;
                    let m = Message::decode(&bytes).expect("sync message");
                    device.receive_sync_message(ds, m).expect("apply");
                }
            }
            let t = Instant::now();
            if server.get_heads() != saved_heads {
                let chunk = server.save_after(&saved_heads);
                std::hint::black_box(chunk);
                saved_heads = server.get_heads();
            }
            spent += t.elapsed();
            if quiet {
                break;
            }
        }
        // The first round brings the fresh sync states up to date.
        if v > 0 {
            times.push(spent.as_secs_f64() * 1000.0);
        }
    }
    assert_eq!(b.get_heads(), a.get_heads(), "device B has every visit");
}

/// One server's reconnect storm: see [`reconnect_storm`].
#[derive(Debug, Clone, Default)]
pub struct Reconnect {
    pub tablets: usize,
    /// Visits logged offline, in all.
    pub visits: usize,
    /// From the first reconnection until every visit was stored (the server
    /// acknowledged it to its device) and on the manager's other device; None
    /// when that did not happen within the limit.
    pub secs: Option<f64>,
    /// Visits on the other devices at the end.
    pub delivered: usize,
    /// Tablets that could not reconnect within the limit.
    pub failed: usize,
    pub peak_rss: u64,
    /// The devices could not be set up before going offline: nothing measured.
    pub setup_failed: Option<String>,
}

/// Reconnect storm: `n` tablets (each manager's device A) sync their customer,
/// go offline, log `per` visits each, then all reconnect within one second
/// (the morning, or the end of an outage), while each manager's device B
/// stays connected. Measures how long until every visit is stored and on
/// device B, how many tablets failed to reconnect, and the server's peak RSS.
pub async fn reconnect_storm(s: &Seeded, n: usize, per: usize, limit: Duration) -> Reconnect {
    let url = s.sync_url();
    let within = Duration::from_secs(120);
    let setup_by = Instant::now() + SETUP_LIMIT;
    let set_up: Vec<Result<(Client, Client, DocHandle, DocHandle), String>> =
        futures::stream::iter(0..n)
            .map(|i| {
                let url = &url;
                async move {
                    let left = setup_by.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(format!("not set up within {} s", SETUP_LIMIT.as_secs()));
                    }
                    let within = within.min(left);
                    let a = Client::try_connect(url, &s.creds[i][0], within).await?;
                    let b = Client::try_connect(url, &s.creds[i][1], within).await?;
                    let da = a.try_find(&s.docs[i], within).await?;
                    let db = b.try_find(&s.docs[i], within).await?;
                    Ok((a, b, da, db))
                }
            })
            // In order: device i redials with manager i's session.
            .buffered(16)
            .collect()
            .await;
    let failed_setup = set_up.iter().filter(|x| x.is_err()).count();
    let set_up: Vec<_> = set_up.into_iter().flatten().collect();
    if failed_setup > 0 {
        for (a, b, _, _) in set_up {
            a.close().await;
            b.close().await;
        }
        return Reconnect {
            tablets: n,
            visits: n * per,
            setup_failed: Some(format!(
                "{failed_setup} of {n} managers' devices could not connect and open their customer within {} s",
                SETUP_LIMIT.as_secs()
            )),
            ..Default::default()
        };
    }
    // Offline: device A's connection closed, then the visits logged.
    for (a, _, _, _) in &set_up {
        a.dialer.close();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut wanted = Vec::new();
    for (i, (_, _, da, _)) in set_up.iter().enumerate() {
        for v in 0..per {
            da.with_document(|d| {
                d.transact(|tx| customer::add_visit(tx, &visit(format!("r{i}-{v}"))))
            })
            .expect("offline visit");
        }
        wanted.push(da.with_document(|d| d.get_heads()));
    }
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(s.rss()));
    let watching = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let pids_rss = {
        let (peak, watching) = (peak.clone(), watching.clone());
        let pid = s.pid();
        tokio::spawn(async move {
            while watching.load(Ordering::Relaxed) {
                peak.fetch_max(crate::servers::rss_of(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let start = Instant::now();
    let failed = AtomicUsize::new(0);
    let done = futures::future::join_all(set_up.iter().zip(&wanted).enumerate().map(
        |(i, ((a, _, da, db), heads))| {
            let (url, failed) = (&url, &failed);
            async move {
                // Spread evenly over the first second.
                tokio::time::sleep(Duration::from_secs(1).mul_f64(i as f64 / n as f64)).await;
                let dialer = crate::servers::redial(&a.repo, url, &s.creds[i][0]);
                let finish = async {
                    match tokio::time::timeout(limit, dialer.established()).await {
                        Ok(Ok(_)) => {}
                        _ => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            return false;
                        }
                    }
                    let Some(conn) = dialer.connection_id() else {
                        failed.fetch_add(1, Ordering::Relaxed);
                        return false;
                    };
                    da.they_have_our_changes(conn).await;
                    let mut changes = db.changes();
                    while !db
                        .with_document(|d| heads.iter().all(|h| d.get_change_by_hash(h).is_some()))
                    {
                        // A stream that ended would otherwise spin until the limit.
                        if changes.next().await.is_none() {
                            return false;
                        }
                    }
                    true
                };
                let ok = tokio::time::timeout(limit, finish).await.unwrap_or(false);
                (ok, dialer)
            }
        },
    ))
    .await;
    let secs = start.elapsed().as_secs_f64();
    watching.store(false, Ordering::Relaxed);
    let _ = pids_rss.await;
    let all = done.iter().all(|(ok, _)| *ok);
    let delivered: usize = set_up
        .iter()
        .zip(&wanted)
        .map(|((_, _, _, db), heads)| {
            db.with_document(|d| heads.iter().all(|h| d.get_change_by_hash(h).is_some()))
        })
        .filter(|x| *x)
        .count()
        * per;
    for (_, dialer) in done {
        dialer.close();
    }
    for (a, b, _, _) in set_up {
        a.close().await;
        b.close().await;
    }
    Reconnect {
        tablets: n,
        visits: n * per,
        secs: all.then_some(secs),
        delivered,
        failed: failed.load(Ordering::Relaxed),
        peak_rss: peak.load(Ordering::Relaxed),
        setup_failed: None,
    }
}

/// What the reports workload measured: per endpoint, its path, the answer
/// times (ms) and the requests that failed; and the storm meanwhile.
#[derive(Debug, Clone, Default)]
pub struct Reports {
    pub customers: usize,
    pub managers: usize,
    pub endpoints: Vec<(String, Vec<f64>, usize)>,
    /// Each endpoint asked [`ALONE`] times before the storm, one request at a
    /// time on an idle server: (path, median ms, server CPU ms per answer).
    /// The storm's figures swing widely on a shared VM; these show what an
    /// answer costs.
    pub alone: Vec<(String, f64, f64)>,
    pub storm: Storm,
}

/// Answers per endpoint in the reports workload's idle phase.
const ALONE: usize = 10;

/// Reports under load (ours only: the others have no reports): while `n`
/// managers run a paced storm, the center asks for the reports, the customer
/// list and the scorecard over every customer, one request after another,
/// for as long as the storm lasts.
pub async fn reports_under_load(s: &Seeded, n: usize, secs: u64, pace: Duration) -> Reports {
    let base = s.http_base().expect("our server");
    let token = s.admin[0].token.clone();
    let paths = [
        "/api/reports".to_string(),
        "/api/customers".to_string(),
        "/api/scorecard?period=2026-11".to_string(),
    ];
    // Idle: after the seeding the server still has work of its own for a
    // while (books, their projections); wait until a second passes with
    // under 50 ms of its CPU (at most a minute).
    for _ in 0..60 {
        let before = s.cpu_secs();
        tokio::time::sleep(Duration::from_secs(1)).await;
        if s.cpu_secs() - before < 0.05 {
            break;
        }
    }
    let http = reqwest::Client::new();
    let mut alone = Vec::new();
    for path in &paths {
        let cpu_before = s.cpu_secs();
        let mut times = Vec::new();
        for _ in 0..ALONE {
            let t = Instant::now();
            let ok = match http
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await
            {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
            if ok {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            } else {
                eprintln!("reports: {path} failed on an idle server");
            }
        }
        let cpu_ms = (s.cpu_secs() - cpu_before) * 1000.0 / times.len().max(1) as f64;
        alone.push((path.clone(), quantile(&times, 0.5), cpu_ms));
    }
    let started = tokio::sync::Notify::new();
    let ask = async {
        started.notified().await;
        let end = Instant::now() + Duration::from_secs(secs);
        let http = reqwest::Client::new();
        let mut out: Vec<(String, Vec<f64>, usize)> =
            paths.iter().map(|p| (p.clone(), Vec::new(), 0)).collect();
        while Instant::now() < end {
            for (path, times, failed) in &mut out {
                let t = Instant::now();
                let answer = http
                    .get(format!("{base}{path}"))
                    .bearer_auth(&token)
                    .send()
                    .await;
                let ok = match answer {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    Ok(r) => {
                        eprintln!("reports: {path} answered {}", r.status());
                        false
                    }
                    Err(e) => {
                        eprintln!("reports: {path} failed: {e}");
                        false
                    }
                };
                if ok {
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                } else {
                    *failed += 1;
                }
            }
        }
        out
    };
    let (storm, endpoints) =
        tokio::join!(storm_telling(s, n, secs, Some(pace), Some(&started)), ask);
    Reports {
        customers: s.docs.len(),
        managers: n,
        endpoints,
        alone,
        storm,
    }
}

/// The `p`-quantile of `v` (sorted here), NaN when empty.
pub fn quantile(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        f64::NAN
    } else {
        v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
    }
}

/// A cold start: the server comes up on a store of customers none of which
/// it has projected yet (after a restore, or the first start of a new
/// release that projects again). Seconds from the process starting.
#[derive(Debug, Clone, Default)]
pub struct Cold {
    pub customers: usize,
    /// Until `/api/health` answered.
    pub serving: f64,
    /// A manager's first sync, begun as soon as the server answered: from the
    /// login request to the book and every customer in it on the device.
    pub first_sync: f64,
    pub first_sync_customers: usize,
    /// Customers still waiting for projection when that sync was done (0: it
    /// was not measured during projection).
    pub queued_after_first_sync: i64,
    /// Until every customer was projected (the books' own marks left out:
    /// projecting a book only clears its mark).
    pub projected: f64,
    /// Until every user's book was written.
    pub books: f64,
    /// The server's peak RSS (VmHWM), MB.
    pub peak_rss_mb: u64,
}

/// Starts `u` and measures its cold start (see [`Cold`]): manager 0's tablet
/// logs in and syncs its book the moment the server answers.
pub async fn cold_start(u: crate::servers::Unstarted) -> Cold {
    let crate::servers::Unstarted {
        mut server,
        ids,
        user_ids,
        ..
    } = u;
    let t = Instant::now();
    server.start().await;
    let serving = t.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let login: fieldbook_shared::api::LoginResponse = reqwest::Client::new()
        .post(format!("{}/api/login", server.base()))
        .json(&serde_json::json!({"username": "bench0", "password": crate::servers::PASSWORD}))
        .send()
        .await
        .expect("login request")
        .error_for_status()
        .expect("login of bench0")
        .json()
        .await
        .expect("login body");
    let cred = crate::servers::Cred {
        token: login.token,
        peer_id: Some(login.peer_id),
    };
    let url: url::Url = server.sync_url().parse().expect("sync url");
    let client = Client::connect(&url, &cred).await;
    let book_id: samod::DocumentId = login
        .user
        .book_url
        .trim_start_matches("automerge:")
        .parse()
        .expect("book id");
    let book = client.find(&book_id).await;
    let listed = book
        .with_document(|d| Book::load(d))
        .expect("book")
        .customers;
    assert!(!listed.is_empty(), "manager 0's book lists no customer");
    let found = futures::future::join_all(listed.iter().map(|u| {
        let id: samod::DocumentId = u.trim_start_matches("automerge:").parse().expect("id");
        let client = &client;
        async move { client.find(&id).await }
    }))
    .await;
    let first_sync = t1.elapsed().as_secs_f64();
    let queued = crate::servers::customers_queued(&server.db);
    client.close().await;
    while crate::servers::customers_queued(&server.db) > 0 {
        assert!(
            t.elapsed() < Duration::from_secs(1800),
            "customers not projected in 30 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let projected = t.elapsed().as_secs_f64();
    crate::servers::wait_books(&server.db, &user_ids).await;
    let books = t.elapsed().as_secs_f64();
    let pid = server.pid().expect("server running");
    let peak_rss_mb = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0)
        / 1024;
    // What the server says it did meanwhile, with its own timings.
    for line in server.log_text().lines().filter(|l| {
        [
            "projected what was queued",
            "managed-as tiers",
            "every book is up to date",
            "customer numbers given",
        ]
        .iter()
        .any(|m| l.contains(m))
    }) {
        println!("  server: {line}");
    }
    Cold {
        customers: ids.len(),
        serving,
        first_sync,
        first_sync_customers: found.len(),
        queued_after_first_sync: queued,
        projected,
        books,
        peak_rss_mb,
    }
}

/// What a change of the rules cost: the center's `PUT /api/rules` during a
/// paced storm, over a store of customers all projected already. A new
/// month takes the same path in the server (`projection/regrade.rs`).
#[derive(Debug, Clone, Default)]
pub struct RuleChange {
    pub customers: usize,
    pub managers: usize,
    /// The PUT's answer time (ours re-grades, then writes the tiers and
    /// the books, before it answers).
    pub put_secs: f64,
    /// From the PUT until no customer waited for the new rules (at most the
    /// storm's own customers queued for projection).
    pub reprojected_secs: f64,
    /// From the PUT until every manager's connected tablet had the new rules
    /// in its book (None: not every one within the storm).
    pub tablets_secs: Option<f64>,
    pub tablets: usize,
    /// The storm, which began before the PUT.
    pub storm: Storm,
    /// The storm's p99 (ms) and visits delivered before the PUT: the same
    /// storm on the same server without a rule change, the baseline.
    pub before_put: (f64, usize),
    /// … and from the PUT until every tablet had the new rules (or the
    /// storm ended).
    pub during_change: (f64, usize),
    /// The storm's p99 (ms) and visits in windows of 20 s, each window
    /// named by its start in seconds from the PUT (negative: before it).
    pub timeline: Vec<(f64, f64, usize)>,
}

/// The rule-change workload (ours only): `n` managers run a paced storm, each
/// also has a tablet holding their book; a few seconds in, the center
/// raises the ordinary grade's threshold.
pub async fn rule_change_under_load(s: &Seeded, n: usize, secs: u64, pace: Duration) -> RuleChange {
    let base = s.http_base().expect("our server");
    let db = s.db().expect("our server's database");
    let url = s.sync_url();
    // Each manager's third session: the tablet that holds the book.
    let tablets: Vec<(Client, DocHandle)> = futures::stream::iter(0..n)
        .map(|i| {
            let url = &url;
            async move {
                let c = Client::connect(url, &s.creds[i][2]).await;
                let book = c.find(&s.books[i]).await;
                (c, book)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let rules_of = |h: &DocHandle| h.with_document(|d| Book::load(d).map(|b| b.rules).ok());
    let before: Vec<Option<String>> = tablets.iter().map(|(_, b)| rules_of(b)).collect();
    let started = tokio::sync::Notify::new();
    // The storm runs alone for a fifth of its length (up to 30 s) first: its
    // latency then is the baseline the change is compared with.
    let alone = Duration::from_secs((secs / 5).clamp(3, 30));
    let change = async {
        started.notified().await;
        tokio::time::sleep(alone).await;
        // Every tablet reports when its book's rules differ from before.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
        let watchers: Vec<_> = tablets
            .iter()
            .zip(&before)
            .map(|((_, book), was)| {
                let (book, was, tx) = (book.clone(), was.clone(), tx.clone());
                tokio::spawn(async move {
                    let mut changes = book.changes();
                    loop {
                        let now = book.with_document(|d| Book::load(d).map(|b| b.rules).ok());
                        if now.is_some() && now != was {
                            let _ = tx.send(Instant::now());
                            return;
                        }
                        if changes.next().await.is_none() {
                            return;
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let t = Instant::now();
        let answer = reqwest::Client::new()
            .put(format!("{base}/api/rules"))
            .bearer_auth(&s.admin[0].token)
            .body(r#"{"grading": {"ordinary_fen": 5000000}}"#)
            .send()
            .await
            .expect("PUT /api/rules");
        assert!(
            answer.status().is_success(),
            "PUT /api/rules answered {}",
            answer.status()
        );
        let put_secs = t.elapsed().as_secs_f64();
        // The storm keeps up to its own customers queued: done when no more.
        let limit = t + Duration::from_secs(secs);
        while crate::servers::customers_queued(&db) > n as i64 && Instant::now() < limit {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let reprojected_secs = t.elapsed().as_secs_f64();
        let mut last = None;
        let mut told = 0;
        while let Ok(Some(at)) = tokio::time::timeout_at(limit.into(), rx.recv()).await {
            told += 1;
            last = Some(at);
        }
        for w in watchers {
            w.abort();
        }
        let tablets_secs = (told == tablets.len())
            .then(|| last.map(|l| (l - t).as_secs_f64()))
            .flatten();
        eprintln!(
            "rules: {told} of {} tablets had the new rules; no customer waiting for them after {reprojected_secs:.1} s",
            tablets.len()
        );
        (
            put_secs,
            reprojected_secs,
            tablets_secs,
            t,
            last.unwrap_or(limit),
        )
    };
    let (storm, (put_secs, reprojected_secs, tablets_secs, put_at, told_at)) = tokio::join!(
        storm_telling(s, n, secs, Some(pace), Some(&started)),
        change
    );
    for (c, _) in tablets {
        c.close().await;
    }
    // What the server says it did, with its own timings.
    for line in s.log_text().lines().filter(|l| {
        [
            "rules changed",
            "worked out again",
            "projecting every customer again",
            "managed-as tiers",
            "every book brought up to date",
        ]
        .iter()
        .any(|m| l.contains(m))
    }) {
        println!("  server: {line}");
    }
    RuleChange {
        customers: s.docs.len(),
        managers: n,
        put_secs,
        reprojected_secs,
        tablets_secs,
        tablets: n,
        before_put: storm.quantile_between(0.99, put_at - alone, put_at),
        timeline: {
            let mut windows = Vec::new();
            let last = storm.arrivals.iter().map(|(at, _)| *at).max();
            let mut from = put_at - alone;
            while last.is_some_and(|l| from <= l) {
                let to = from + Duration::from_secs(20);
                let (p99, n) = storm.quantile_between(0.99, from, to);
                let start = from.saturating_duration_since(put_at).as_secs_f64()
                    - put_at.saturating_duration_since(from).as_secs_f64();
                windows.push((start, p99, n));
                from = to;
            }
            windows
        },
        during_change: storm.quantile_between(0.99, put_at, told_at),
        storm,
    }
}
