//! `sync-bench`: Fieldbook's server against two anchors, the same documents and
//! the same load, in one run: upstream samod 0.16 as published
//! (`bench/samod-anchor`) and the reference automerge-repo sync server (Node,
//! the npm packages). Clients are samod repos over real websockets on loopback.
//!
//! Workloads: first sync of a 300-customer book, a visit storm (N managers with
//! two devices each, alternating rounds), one visit's bytes and round trips,
//! automerge's own cost per visit (the floor), CPU per visit as a customer's
//! history grows, a reconnect storm, live memory per idle client, and server
//! memory after many documents were each synced once.
//!
//! `--quick` finishes in a few minutes (after building) and ends with
//! `ratio throughput=X p99=Y` (ours over the JS reference) and `ratio-samod
//! throughput=X p99=Y` (ours over upstream samod); `--write` puts the figures
//! into BENCHMARKS.md.

mod report;
mod servers;
mod workloads;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use servers::{Engine, Kind, Plan};

/// The same allocator as our server's: under glibc's malloc the load generator spent
/// about a tenth of its CPU in the allocator, and it shares the 2 cores with whichever
/// server is being measured (both get the same generator).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser, Debug)]
#[command(about = "Fieldbook's server against the reference automerge-repo sync server")]
struct Args {
    /// Small sizes, for a check in under two minutes.
    #[arg(long)]
    quick: bool,
    /// Managers in the visit storm, e.g. 100,500,1000.
    #[arg(long, value_delimiter = ',')]
    storm: Option<Vec<usize>>,
    /// Seconds each storm lasts.
    #[arg(long)]
    storm_secs: Option<u64>,
    /// Each device logs a visit every this many milliseconds (±50 %).
    #[arg(long, default_value_t = 2000)]
    interval_ms: u64,
    /// Alternating rounds of each storm per server (order rotated each round).
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Idle clients connected, in steps, for the memory-per-client slope
    /// (default 1000,5000,10000; --quick 300,1000).
    #[arg(long, value_delimiter = ',')]
    idle: Option<Vec<usize>>,
    /// Seconds to wait before each idle reading (default 4 with --quick, else
    /// 7); longer leaves time to attach a profiler to a server.
    #[arg(long)]
    idle_settle_secs: Option<u64>,
    /// Tablets in the reconnect storm (default 1000; --quick 100).
    #[arg(long)]
    reconnect: Option<usize>,
    /// Visits a customer already has, for CPU per visit as history grows
    /// (default 20,200,2000; --quick 20,200).
    #[arg(long, value_delimiter = ',')]
    growth: Option<Vec<usize>>,
    /// Customers and managers for reports under load (default 10000,500;
    /// --quick 1000,100): the center's reports during a paced storm.
    #[arg(long, value_delimiter = ',')]
    reports: Option<Vec<usize>>,
    /// Customers for the cold start (default 100000; --quick 10000), about
    /// 300 to a manager, none projected when the server starts.
    #[arg(long)]
    cold: Option<usize>,
    /// Customers and managers for the rule change (default 100000,500;
    /// --quick 10000,100): the center's PUT /api/rules during a paced storm.
    #[arg(long, value_delimiter = ',')]
    rules: Option<Vec<usize>>,
    /// Seconds the rule change's storm lasts at most (default 400; --quick 120).
    #[arg(long)]
    rules_secs: Option<u64>,
    /// Managers in each growth storm (flat out, 10 s; --quick 5 s).
    #[arg(long, default_value_t = 50)]
    growth_managers: usize,
    /// Documents for the many-documents workload.
    #[arg(long)]
    many: Option<usize>,
    /// Seconds the many documents are left alone before the last reading.
    #[arg(long)]
    many_idle_secs: Option<u64>,
    /// Many documents against our server alone (the reference keeps every
    /// document in memory, which for 100,000 does not fit here); printed, not
    /// written into BENCHMARKS.md.
    #[arg(long)]
    many_ours_only: bool,
    /// Batches the many documents are synced in, each followed by the idle time.
    #[arg(long)]
    many_batches: Option<usize>,
    /// Seconds each server gets for the many-documents workload before it is
    /// stopped and reported as such (default: none with --quick, else 600).
    #[arg(long)]
    many_limit_secs: Option<u64>,
    /// Our server unloads a document no device syncs after this many idle
    /// seconds (its --unload-idle-secs; default 2 with --quick, else 30).
    #[arg(long)]
    unload_idle_secs: Option<u64>,
    /// Runs of the first sync per server.
    #[arg(long)]
    runs: Option<usize>,
    /// Only these workloads: first-sync, one-visit, storm, floor, growth,
    /// reconnect, reports, cold, rules, idle, many, engines
    /// (engines is never run unless named: it needs PostgreSQL, see
    /// `cargo xtask bench-engines`).
    #[arg(long, value_delimiter = ',')]
    only: Option<Vec<String>>,
    /// Write the figures into BENCHMARKS.md (between its sync-bench markers).
    #[arg(long)]
    write: bool,
    /// Our server's binary; by default the bench builds it in release mode.
    #[arg(long, env = "FIELDBOOK_SERVER_BIN")]
    server_bin: Option<PathBuf>,
}

/// Our server started on `customers` realistic customers shared round-robin
/// by `n` managers, each with `sessions` devices, and one admin session.
async fn unit_of(customers: usize, n: usize, sessions: usize) -> servers::Seeded {
    let docs = workloads::realistic(customers);
    let plan = Plan {
        docs: &docs,
        owner: &|i| i % n,
        managers: n,
        sessions_per_manager: sessions,
        admin_sessions: 1,
        keep_loaded: false,
    };
    servers::start(Kind::Ours, &plan).await
}

/// Builds our server in release mode (what would be deployed) and points the
/// test harness at it.
fn release_server(given: Option<PathBuf>) -> PathBuf {
    let bin = given.unwrap_or_else(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("root")
            .to_path_buf();
        let status = std::process::Command::new(env!("CARGO"))
            .args([
                "build",
                "--release",
                "-p",
                "fieldbook-server",
                "--bin",
                "fieldbook-server",
            ])
            .current_dir(&root)
            .status()
            .expect("cargo build");
        assert!(status.success(), "building the server failed");
        std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join("target"))
            .join("release")
            .join("fieldbook-server")
    });
    // SAFETY: set before any thread reads the environment.
    unsafe { std::env::set_var("FIELDBOOK_SERVER_BIN", &bin) };
    bin
}

fn main() {
    let args = Args::parse();
    servers::ensure_js_packages();
    release_server(args.server_bin.clone());
    let unload = args
        .unload_idle_secs
        .unwrap_or(if args.quick { 2 } else { 30 });
    // SAFETY: set before any thread reads the environment; the test harness
    // starts our server with the bench's environment.
    unsafe { std::env::set_var("FIELDBOOK_UNLOAD_IDLE_SECS", unload.to_string()) };
    if std::env::var_os("FIELDBOOK_SERVER_LOG").is_none() {
        // jemalloc's live bytes in our server's log after each trim: the
        // idle workload's live-memory reading (servers::Seeded::live_memory).
        // SAFETY: as above.
        unsafe {
            std::env::set_var(
                "FIELDBOOK_SERVER_LOG",
                "info,samod=warn,samod_core=warn,fieldbook_server::memory=debug",
            )
        };
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(run(args));
}

async fn run(args: Args) {
    let unload: u64 = std::env::var("FIELDBOOK_UNLOAD_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let q = args.quick;
    let named = |w: &str| args.only.as_ref().is_some_and(|o| o.iter().any(|x| x == w));
    let wants = |w: &str| args.only.is_none() || named(w);
    let mut r = report::Report {
        quick: q,
        interval_ms: args.interval_ms,
        unload_idle_secs: unload,
        rounds: args.rounds.max(1),
        ..Default::default()
    };
    let kinds = report::KINDS;
    let rounds = args.rounds.max(1);

    if wants("first-sync") || wants("one-visit") {
        let runs = args.runs.unwrap_or(if q { 2 } else { 5 });
        let docs = workloads::realistic(300);
        let plan = Plan {
            docs: &docs,
            owner: &|_| 0,
            managers: 1,
            sessions_per_manager: runs + 1,
            admin_sessions: 0,
            keep_loaded: false,
        };
        let mut seeded = Vec::new();
        for kind in kinds {
            seeded.push(servers::start(kind, &plan).await);
        }
        if wants("first-sync") {
            let mut times = [Vec::new(), Vec::new(), Vec::new()];
            for run in 0..runs {
                for (k, s) in seeded.iter().enumerate() {
                    let t = workloads::first_sync(s, run).await;
                    println!("first sync, {}: run {run}: {t:.2} s", s.kind.label());
                    times[k].push(t);
                }
            }
            r.first_sync = Some(times.map(workloads::median_of));
        }
        if wants("one-visit") {
            let mut v = Vec::new();
            for s in &seeded {
                let x = workloads::one_visit(s).await;
                println!(
                    "one visit, {}: {} B up in {} messages, {} B down in {} messages",
                    s.kind.label(),
                    x.0,
                    x.2,
                    x.1,
                    x.3
                );
                v.push(x);
            }
            r.one_visit = Some([v[0], v[1], v[2]]);
        }
    }

    if wants("storm") {
        let sizes = args
            .storm
            .clone()
            .unwrap_or(if q { vec![100] } else { vec![100, 500, 1000] });
        let secs = args.storm_secs.unwrap_or(if q { 5 } else { 60 });
        for n in sizes {
            let docs = workloads::realistic(n);
            let plan = Plan::new(&docs, &|i| i, n, 2);
            let mut set = report::StormSet {
                managers: n,
                ..Default::default()
            };
            // A server that could not set its devices up at this size is not
            // tried again at it (each try costs the set-up limit).
            let mut gave_up: [Option<workloads::Storm>; 3] = Default::default();
            for round in 1..=rounds {
                // Order rotated each round, so no server always runs first.
                for i in 0..kinds.len() {
                    let k = (i + round - 1) % kinds.len();
                    let kind = kinds[k];
                    if let Some(failed) = &gave_up[k] {
                        set.paced[k].push(failed.clone());
                        set.flat[k].push(failed.clone());
                        continue;
                    }
                    let s = servers::start(kind, &plan).await;
                    let pace = Duration::from_millis(args.interval_ms);
                    let x = workloads::storm(&s, n, secs, Some(pace)).await;
                    println!(
                        "storm, {} (round {round} of {rounds}): {n} managers, a visit each every {} ms: {} logged, {} delivered, {:.1}/s, p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms",
                        kind.label(),
                        args.interval_ms,
                        x.offered,
                        x.delivered,
                        x.throughput,
                        x.p50_ms,
                        x.p95_ms,
                        x.p99_ms
                    );
                    if x.setup_failed.is_some() {
                        gave_up[k] = Some(x.clone());
                        set.paced[k].push(x.clone());
                        set.flat[k].push(x);
                        continue;
                    }
                    set.paced[k].push(x);
                    // Flat out on a fresh server: one still working off the paced
                    // storm's backlog would be measured on that as well.
                    drop(s);
                    let s = servers::start(kind, &plan).await;
                    let y = workloads::storm(&s, n, secs, None).await;
                    println!(
                        "storm, {} (round {round} of {rounds}): {n} managers flat out: {} logged, {} delivered, {:.1}/s, p50 {:.0} ms, p99 {:.0} ms, server CPU {:.2} ms a visit, load generator CPU {:.2} ms a visit",
                        kind.label(),
                        y.offered,
                        y.delivered,
                        y.throughput,
                        y.p50_ms,
                        y.p99_ms,
                        y.cpu_ms_per_visit,
                        y.load_cpu_ms_per_visit
                    );
                    set.flat[k].push(y);
                }
            }
            r.storms.push(set);
        }
    }

    if wants("floor") {
        // The storm's documents: the demo's customers, 20 visits or so.
        let doc = workloads::with_history(1, 20).remove(0);
        let ms = workloads::floor(&doc, if q { 200 } else { 1000 });
        println!(
            "floor: automerge alone, one visit on a customer with 20 visits: {ms:.3} ms of server work"
        );
        r.floor = Some(ms);
    }

    if wants("growth") {
        let sizes = args.growth.clone().unwrap_or(if q {
            vec![20, 200]
        } else {
            vec![20, 200, 2000]
        });
        let n = args.growth_managers;
        let secs = if q { 5 } else { 10 };
        for (g, visits) in sizes.into_iter().enumerate() {
            let docs = workloads::with_history(n, visits);
            let plan = Plan::new(&docs, &|i| i, n, 2);
            let mut cpu = [None; 3];
            for i in 0..kinds.len() {
                let k = (i + g) % kinds.len();
                let s = servers::start(kinds[k], &plan).await;
                let y = workloads::storm(&s, n, secs, None).await;
                println!(
                    "growth, {}: customers with {visits} visits, {n} managers flat out: {} delivered, {:.1}/s, server CPU {:.2} ms a visit",
                    kinds[k].label(),
                    y.delivered,
                    y.throughput,
                    y.cpu_ms_per_visit
                );
                cpu[k] =
                    (y.setup_failed.is_none() && y.delivered > 0).then_some(y.cpu_ms_per_visit);
            }
            r.growth.push((visits, cpu));
        }
    }

    if wants("reconnect") {
        let n = args.reconnect.unwrap_or(if q { 100 } else { 1000 });
        let docs = workloads::realistic(n);
        let plan = Plan::new(&docs, &|i| i, n, 2);
        let mut out = Vec::new();
        for kind in kinds {
            let s = servers::start(kind, &plan).await;
            let x = workloads::reconnect_storm(&s, n, 5, Duration::from_secs(120)).await;
            if let Some(why) = &x.setup_failed {
                println!("reconnect storm, {}: not measured: {why}", kind.label());
            } else {
                println!(
                    "reconnect storm, {}: {n} tablets with 5 offline visits each: {}, {} of {} visits on the other device, {} failed connections, peak RSS {} MB",
                    kind.label(),
                    x.secs.map_or("not all within 120 s".into(), |t| format!(
                        "all stored and delivered in {t:.1} s"
                    )),
                    x.delivered,
                    x.visits,
                    x.failed,
                    x.peak_rss / 1_000_000
                );
            }
            out.push(x);
        }
        r.reconnect = Some([out[0].clone(), out[1].clone(), out[2].clone()]);
    }

    if named("engines") {
        engines(&args).await;
    }

    if wants("reports") {
        let given = args.reports.clone().unwrap_or_default();
        let customers = given
            .first()
            .copied()
            .unwrap_or(if q { 1000 } else { 10_000 });
        let n = given.get(1).copied().unwrap_or(if q { 100 } else { 500 });
        let s = unit_of(customers, n, 2).await;
        let secs = if q { 10 } else { 30 };
        let x = workloads::reports_under_load(&s, n, secs, Duration::from_millis(args.interval_ms))
            .await;
        for (path, median, cpu) in &x.alone {
            println!(
                "reports, fieldbook: {path} over {customers} customers on an idle server: median {median:.0} ms, server CPU {cpu:.0} ms an answer"
            );
        }
        for (path, times, failed) in &x.endpoints {
            println!(
                "reports, fieldbook: {path} over {customers} customers during a paced storm of {n} managers: {} answers, {failed} failed, p50 {:.0} ms, p99 {:.0} ms",
                times.len(),
                workloads::quantile(times, 0.5),
                workloads::quantile(times, 0.99)
            );
        }
        println!(
            "reports, fieldbook: the storm meanwhile: {} of {} delivered, p99 {:.0} ms",
            x.storm.delivered, x.storm.offered, x.storm.p99_ms
        );
        r.reports = Some(x);
    }

    if wants("cold") {
        let customers = args.cold.unwrap_or(if q { 10_000 } else { 100_000 });
        let managers = customers.div_ceil(300).max(1);
        let t = std::time::Instant::now();
        let docs = workloads::realistic(customers);
        println!(
            "cold start: {customers} realistic customers made in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let plan = Plan {
            docs: &docs,
            owner: &|i| i % managers,
            managers,
            sessions_per_manager: 0,
            admin_sessions: 0,
            keep_loaded: false,
        };
        let u = servers::seed_ours(&plan, servers::Engine::Sqlite).await;
        drop(docs);
        let c = workloads::cold_start(u).await;
        println!(
            "cold start, fieldbook: {} customers: answering after {:.1} s; a first sync of {} customers begun then took {:.2} s ({} still queued for projection); all projected after {:.1} s, every book after {:.1} s; peak RSS {} MB",
            c.customers,
            c.serving,
            c.first_sync_customers,
            c.first_sync,
            c.queued_after_first_sync,
            c.projected,
            c.books,
            c.peak_rss_mb
        );
        r.cold = Some(c);
    }

    if wants("rules") {
        let given = args.rules.clone().unwrap_or_default();
        let customers = given
            .first()
            .copied()
            .unwrap_or(if q { 10_000 } else { 100_000 });
        let n = given.get(1).copied().unwrap_or(if q { 100 } else { 500 });
        let s = unit_of(customers, n, 3).await;
        let secs = args.rules_secs.unwrap_or(if q { 120 } else { 400 });
        let x =
            workloads::rule_change_under_load(&s, n, secs, Duration::from_millis(args.interval_ms))
                .await;
        println!(
            "rules, fieldbook: over {customers} customers during a paced storm of {n} managers: PUT answered in {:.2} s; no customer waiting for the new rules {:.1} s after it; {}; the storm meanwhile: {} of {} delivered, p50 {:.0} ms, p99 {:.0} ms",
            x.put_secs,
            x.reprojected_secs,
            match x.tablets_secs {
                Some(t) => format!("all {} tablets had the new rules after {t:.1} s", x.tablets),
                None => format!("not all {} tablets had the new rules", x.tablets),
            },
            x.storm.delivered,
            x.storm.offered,
            x.storm.p50_ms,
            x.storm.p99_ms
        );
        println!(
            "rules, fieldbook: the storm's p99 before the PUT {:.0} ms ({} visits), from the PUT until every tablet had the new rules {:.0} ms ({} visits)",
            x.before_put.0, x.before_put.1, x.during_change.0, x.during_change.1
        );
        let windows: Vec<String> = x
            .timeline
            .iter()
            .map(|(at, p99, n)| format!("{at:+.0} s: {p99:.0} ms ({n})"))
            .collect();
        println!(
            "rules, fieldbook: the storm's p99 by 20 s from the PUT: {}",
            windows.join(", ")
        );
        r.rules = Some(x);
    }

    if wants("idle") {
        let mut sizes = args.idle.clone().unwrap_or(if q {
            vec![300, 1000]
        } else {
            vec![1000, 5000, 10_000]
        });
        sizes.sort_unstable();
        let n = sizes.last().copied().unwrap_or(0);
        let docs = workloads::small(n);
        // Sixteen devices per manager (our server's cap per user): our server
        // writes every user's book before it listens, which for 10,000 users
        // made directly in its tables took longer than the harness waits.
        let plan = Plan {
            docs: &docs,
            owner: &|i| i / workloads::IDLE_DEVICES,
            managers: n.div_ceil(workloads::IDLE_DEVICES),
            sessions_per_manager: workloads::IDLE_DEVICES,
            admin_sessions: 4,
            // As on the others, every document stays loaded: the figure is
            // then the connection's own cost (ours would otherwise load each
            // client's document again for it; see BENCHMARKS.md).
            keep_loaded: true,
        };
        // Ours returns freed memory to the system at most every 3 s
        // (server/src/memory.rs) and logs its live bytes then: read after it has.
        let settle = Duration::from_secs(args.idle_settle_secs.unwrap_or(if q { 4 } else { 7 }));
        let mut curves: [report::IdleCurve; 3] = Default::default();
        for (k, kind) in kinds.into_iter().enumerate() {
            let mut s = servers::start(kind, &plan).await;
            let limit = Duration::from_secs(if q { 60 } else { 180 });
            curves[k] = workloads::idle_curve(&mut s, &sizes, settle, limit).await;
            if let Some(why) = &curves[k].stopped {
                println!("idle, {}: stopped: {why}", kind.label());
            }
            for (clients, live, rss) in &curves[k].points {
                println!(
                    "idle, {}: {clients} clients, live {} MB, RSS {} MB",
                    kind.label(),
                    live / 1_000_000,
                    rss / 1_000_000
                );
            }
        }
        r.idle = Some(curves);
    }

    if wants("many") {
        let n = args.many.unwrap_or(if q { 1000 } else { 100_000 });
        // Long enough for ours to unload (--unload-idle-secs) and trim (every 3 s).
        let idle_for = Duration::from_secs(args.many_idle_secs.unwrap_or(if q { 6 } else { 60 }));
        let batches = args.many_batches.unwrap_or(if q { 2 } else { 5 });
        let docs = workloads::small(n);
        let plan = Plan {
            docs: &docs,
            owner: &|i| i % 100,
            managers: 100.min(n),
            sessions_per_manager: 0,
            admin_sessions: 4,
            keep_loaded: false,
        };
        let mut pair = Vec::new();
        let many_kinds: &[Kind] = if args.many_ours_only {
            &[Kind::Ours]
        } else {
            &[Kind::Ours, Kind::Reference]
        };
        for &kind in many_kinds {
            let s = servers::start(kind, &plan).await;
            let limit = args
                .many_limit_secs
                .or(if q { None } else { Some(600) })
                .map(Duration::from_secs);
            let x = workloads::many(&s, idle_for, batches, limit).await;
            println!(
                "many documents, {}: {n} documents in {} batches, RSS at start {} MB, first batch synced {} MB, then {} s idle {} MB, after every batch {} MB ({:.1} KB per document; peak {} MB; syncing took {:.1} s)",
                kind.label(),
                x.batches,
                x.rss_start / 1_000_000,
                x.rss_touched / 1_000_000,
                x.idle_secs,
                x.rss_first_idle / 1_000_000,
                x.rss_idle / 1_000_000,
                x.rss_idle as f64 / n as f64 / 1000.0,
                x.rss_peak / 1_000_000,
                x.touch_secs
            );
            pair.push(x);
        }
        if let [ours, reference] = &pair[..] {
            r.many = Some([ours.clone(), reference.clone()]);
        }
    }

    let text = r.markdown();
    println!("\n{text}");
    if args.write {
        report::write_into_benchmarks(&text);
        println!("wrote BENCHMARKS.md");
    }
    for line in r.ratio_lines() {
        println!("{line}");
    }
}

/// Our server's visit storm on SQLite, on PostgreSQL and on two nodes of one
/// PostgreSQL database (each manager's second device on the second node, so
/// every visit crosses nodes), alternating, the same load for each: what each
/// engine costs per visit, and whether two nodes deliver every visit.
async fn engines(args: &Args) {
    let q = args.quick;
    let sizes = args
        .storm
        .clone()
        .unwrap_or(if q { vec![100] } else { vec![100, 500] });
    let secs = args.storm_secs.unwrap_or(if q { 5 } else { 30 });
    let rounds = args.runs.unwrap_or(if q { 1 } else { 3 });
    let all = [Engine::Sqlite, Engine::Postgres, Engine::PostgresTwoNodes];
    println!(
        "engines: our server's storm, {} s each, {rounds} round(s) alternating; a visit is delivered when the manager's other device has it",
        secs
    );
    for n in sizes {
        let docs = workloads::realistic(n);
        let plan = Plan::new(&docs, &|i| i, n, 2);
        let mut paced: Vec<Vec<workloads::Storm>> = vec![Vec::new(); all.len()];
        let mut flat: Vec<Vec<workloads::Storm>> = vec![Vec::new(); all.len()];
        for round in 0..rounds {
            // Order rotated each round, so no engine always runs first.
            for k in 0..all.len() {
                let e = (k + round) % all.len();
                let engine = all[e];
                let s = servers::start_ours_on(&plan, engine).await;
                let pace = Duration::from_millis(args.interval_ms);
                let x = workloads::storm(&s, n, secs, Some(pace)).await;
                println!(
                    "engines, {}: {n} managers paced: {} logged, {} delivered, p50 {:.0} ms, p99 {:.0} ms, server CPU {:.2} ms a visit",
                    engine.label(),
                    x.offered,
                    x.delivered,
                    x.p50_ms,
                    x.p99_ms,
                    x.cpu_ms_per_visit
                );
                paced[e].push(x);
                drop(s);
                let s = servers::start_ours_on(&plan, engine).await;
                let y = workloads::storm(&s, n, secs, None).await;
                println!(
                    "engines, {}: {n} managers flat out: {} logged, {} delivered, {:.1}/s, p50 {:.0} ms, p99 {:.0} ms, server CPU {:.2} ms a visit",
                    engine.label(),
                    y.offered,
                    y.delivered,
                    y.throughput,
                    y.p50_ms,
                    y.p99_ms,
                    y.cpu_ms_per_visit
                );
                flat[e].push(y);
            }
        }
        println!(
            "| {n} managers | paced p50 / p99 (ms) | delivered | flat out visits/s | flat p50 / p99 (ms) | server CPU a visit (ms) |"
        );
        println!("| --- | --- | --- | --- | --- | --- |");
        for (e, engine) in all.iter().enumerate() {
            let med = |v: Vec<f64>| workloads::median_of(v);
            let p = &paced[e];
            let f = &flat[e];
            let delivered: usize = p.iter().map(|x| x.delivered).sum::<usize>()
                + f.iter().map(|x| x.delivered).sum::<usize>();
            let offered: usize = p.iter().map(|x| x.offered).sum::<usize>()
                + f.iter().map(|x| x.offered).sum::<usize>();
            println!(
                "| {} | {:.0} / {:.0} | {delivered} of {offered} | {:.1} | {:.0} / {:.0} | {:.2} |",
                engine.label(),
                med(p.iter().map(|x| x.p50_ms).collect()),
                med(p.iter().map(|x| x.p99_ms).collect()),
                med(f.iter().map(|x| x.throughput).collect()),
                med(f.iter().map(|x| x.p50_ms).collect()),
                med(f.iter().map(|x| x.p99_ms).collect()),
                med(f.iter().map(|x| x.cpu_ms_per_visit).collect()),
            );
        }
    }
}
