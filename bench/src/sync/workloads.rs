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
    pub managers: usize,
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
}

/// Visit storm: `n` managers, each with two connected devices on one customer;
/// device A logs a visit every `pace` (±50 %), device B waits for it. Without a
/// pace, device A logs its next visit as soon as B has the last one (flat out:
/// what the server sustains with `n` managers busy at once).
pub async fn storm(s: &Seeded, n: usize, secs: u64, pace: Option<Duration>) -> Storm {
    let (url_a, url_b) = (s.sync_url_of(0), s.sync_url_of(1));
    let within = Duration::from_secs(120);
    let set_up: Vec<Result<(Client, Client, DocHandle, DocHandle), String>> =
        futures::stream::iter(0..n)
            .map(|i| {
                let (url_a, url_b) = (&url_a, &url_b);
                async move {
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
            managers: n,
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
        managers: n,
        offered: offered_n,
        delivered: arr.len(),
        throughput: in_window as f64 / secs as f64,
        p50_ms: pct(0.50),
        p95_ms: pct(0.95),
        p99_ms: pct(0.99),
        cpu_ms_per_visit: cpu * 1000.0 / arr.len().max(1) as f64,
        load_cpu_ms_per_visit: load_cpu * 1000.0 / arr.len().max(1) as f64,
        setup_failed: None,
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

#[derive(Debug, Clone, Default)]
pub struct Idle {
    pub clients: usize,
    pub rss_before: u64,
    pub rss_after: u64,
}

impl Idle {
    pub fn per_client(&self) -> f64 {
        (self.rss_after as f64 - self.rss_before as f64) / self.clients as f64
    }
}

/// Idle: every document is loaded once first (so only connections are
/// counted), then `n` clients connect, each opens its customer and stays idle.
/// Every document is synced once first, so each idle client costs its
/// connection (the plan keeps our server from unloading the documents).
pub async fn idle(s: &Seeded, n: usize, settle: Duration) -> Idle {
    touch_all(s, &s.admin).await;
    tokio::time::sleep(settle).await;
    let rss_before = s.rss();
    let url = s.sync_url();
    let clients: Vec<(Client, DocHandle)> = futures::stream::iter(0..n)
        .map(|i| {
            let url = &url;
            async move {
                let c = Client::connect(url, &s.creds[i][0]).await;
                let d = c.find(&s.docs[i]).await;
                (c, d)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    tokio::time::sleep(settle).await;
    let rss_after = s.rss();
    for (c, _) in clients {
        c.close().await;
    }
    Idle {
        clients: n,
        rss_before,
        rss_after,
    }
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
