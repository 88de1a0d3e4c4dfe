//! The figures as a BENCHMARKS.md section, and the one-line ratio for CI-style use.

use std::fmt::Write;
use std::path::PathBuf;

use crate::servers::Kind;
use crate::workloads::{Many, Reconnect, Reports, Storm, quantile};

const START: &str = "<!-- sync-bench:start -->";
const END: &str = "<!-- sync-bench:end -->";

/// The servers in every table, in this order (arrays below are indexed so).
pub const KINDS: [Kind; 3] = [Kind::Ours, Kind::Samod, Kind::Reference];

/// A storm size's runs: per server (as [`KINDS`]), one entry per round.
#[derive(Debug, Clone, Default)]
pub struct StormSet {
    pub managers: usize,
    pub paced: [Vec<Storm>; 3],
    pub flat: [Vec<Storm>; 3],
}

/// The idle workload's readings on one server: (clients, live memory, RSS),
/// starting from none connected.
#[derive(Debug, Clone, Default)]
pub struct IdleCurve {
    pub points: Vec<(usize, u64, u64)>,
    /// Why the curve ended before its last step, if it did.
    pub stopped: Option<String>,
}

impl IdleCurve {
    /// Bytes per client: the least-squares slope of `which` (1: live, 2: RSS)
    /// over the readings.
    pub fn slope(&self, which: usize) -> f64 {
        let pts: Vec<(f64, f64)> = self
            .points
            .iter()
            .map(|p| (p.0 as f64, if which == 1 { p.1 } else { p.2 } as f64))
            .collect();
        if pts.len() < 2 {
            return f64::NAN;
        }
        let n = pts.len() as f64;
        let (mx, my) = (
            pts.iter().map(|p| p.0).sum::<f64>() / n,
            pts.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        if sxx == 0.0 { f64::NAN } else { sxy / sxx }
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub quick: bool,
    pub interval_ms: u64,
    /// Our server's --unload-idle-secs in this run.
    pub unload_idle_secs: u64,
    /// Alternating rounds of each storm.
    pub rounds: usize,
    pub first_sync: Option<[f64; 3]>,
    pub one_visit: Option<[(u64, u64, u64, u64); 3]>,
    pub storms: Vec<StormSet>,
    pub idle: Option<[IdleCurve; 3]>,
    /// [ours, reference]: upstream samod does not run this one.
    pub many: Option<[Many; 2]>,
    /// Automerge alone, ms per visit on a realistic customer (20 visits).
    pub floor: Option<f64>,
    /// Flat-out server CPU per visit (ms) by the visits a customer already
    /// has; None where the run failed.
    pub growth: Vec<(usize, [Option<f64>; 3])>,
    pub reconnect: Option<[Reconnect; 3]>,
    /// Ours only.
    pub reports: Option<Reports>,
    /// Ours only: the others project nothing.
    pub cold: Option<crate::workloads::Cold>,
    /// Ours only: the others have no rules.
    pub rules: Option<crate::workloads::RuleChange>,
}

/// A run's latency figure, or None when the run delivered less than 95 % of
/// what was logged (its latencies would describe only what got through).
fn latency(x: &Storm, get: fn(&Storm) -> f64) -> Option<f64> {
    let whole =
        x.setup_failed.is_none() && x.offered > 0 && x.delivered as f64 >= 0.95 * x.offered as f64;
    whole.then(|| get(x)).filter(|v| v.is_finite())
}

/// Median and worst over the runs, a run without a figure counting as the
/// worst: the median is None when at least half the runs have none.
fn spread(runs: &[Storm], get: fn(&Storm) -> f64) -> (Option<f64>, Option<f64>) {
    let mut v: Vec<f64> = runs
        .iter()
        .map(|x| latency(x, get).unwrap_or(f64::INFINITY))
        .collect();
    v.sort_by(f64::total_cmp);
    let fin = |x: f64| x.is_finite().then_some(x);
    match v.len() {
        0 => (None, None),
        n => (fin(v[(n - 1) / 2]), fin(v[n - 1])),
    }
}

/// Delivered share over the runs, in percent.
fn delivered_pct(runs: &[Storm]) -> f64 {
    let (d, o) = runs
        .iter()
        .fold((0, 0), |(d, o), x| (d + x.delivered, o + x.offered));
    if o == 0 {
        0.0
    } else {
        d as f64 * 100.0 / o as f64
    }
}

/// "12 ms (worst 15)", or "n/a (delivered 21 %)".
fn latency_cell(runs: &[Storm], get: fn(&Storm) -> f64) -> String {
    match spread(runs, get) {
        (Some(m), Some(w)) if runs.len() > 1 => format!("{m:.0} ms (worst {w:.0})"),
        (Some(m), _) if runs.len() > 1 => format!("{m:.0} ms (worst n/a)"),
        (Some(m), _) => format!("{m:.0} ms"),
        (None, _) => format!("n/a (delivered {:.0} %)", delivered_pct(runs)),
    }
}

/// Median and lowest of a per-run figure where more is better.
fn median_low(runs: &[Storm], get: fn(&Storm) -> f64) -> (f64, f64) {
    let mut v: Vec<f64> = runs.iter().map(get).collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => (f64::NAN, f64::NAN),
        n => (v[(n - 1) / 2], v[0]),
    }
}

fn opt_ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) => ratio(a, b),
        _ => "n/a".into(),
    }
}

/// a / b, or a dash where that means nothing (a missing or negative figure).
fn ratio(a: f64, b: f64) -> String {
    if b <= 0.0 || a < 0.0 || !a.is_finite() || !b.is_finite() {
        "–".into()
    } else {
        format!("{:.2}", a / b)
    }
}

fn mb(b: u64) -> String {
    format!("{:.0} MB", b as f64 / 1e6)
}

/// A reading, or a dash where the run never got there.
fn mb_or_dash(b: u64) -> String {
    if b == 0 { "–".into() } else { mb(b) }
}

/// RSS after every batch, or where the server died or the time ran out.
fn many_end(m: &Many) -> String {
    match (m.died_after, m.stopped) {
        (Some(n), _) => format!("died after {n} documents"),
        (_, Some((secs, n, rss))) => format!(
            "stopped at the {secs} s limit: {n} of {} synced, {}",
            m.docs,
            mb(rss)
        ),
        _ => mb(m.rss_idle),
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024 / 1024);
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), {mem} GiB, Node {node}")
}

impl Report {
    /// The storm the ratio lines are taken from: 100 managers when run, else
    /// the smallest.
    fn anchor_storm(&self) -> Option<&StormSet> {
        self.storms
            .iter()
            .find(|x| x.managers == 100)
            .or_else(|| self.storms.iter().min_by_key(|x| x.managers))
    }

    /// `ratio throughput=X p99=Y` (ours over the JS reference) and
    /// `ratio-samod throughput=X p99=Y` (ours over upstream samod): medians of
    /// the flat-out throughput and of the paced p99, at 100 managers. A p99
    /// is n/a when that server's median run delivered less than 95 %.
    pub fn ratio_lines(&self) -> Vec<String> {
        let Some(set) = self.anchor_storm() else {
            return Vec::new();
        };
        let tp = |k: usize| median_low(&set.flat[k], |x| x.throughput).0;
        let p99 = |k: usize| spread(&set.paced[k], |x| x.p99_ms).0;
        [("ratio", 2), ("ratio-samod", 1)]
            .into_iter()
            .map(|(name, k)| {
                format!(
                    "{name} throughput={} p99={}",
                    ratio(tp(0), tp(k)),
                    opt_ratio(p99(0), p99(k))
                )
            })
            .collect()
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Machine: {}. Load generator and all three servers share it. Mode: {}; storms: {} alternating round(s) per server and size, \
             order rotated each round; each cell is the median, with the worst run.\n",
            machine(),
            if self.quick { "--quick" } else { "full" },
            self.rounds
        );
        s.push_str(
            "| workload | fieldbook | samod 0.16 | reference (JS) | ours / samod | ours / reference | goal |\n\
             | --- | --- | --- | --- | --- | --- | --- |\n",
        );
        let row = |s: &mut String, what: &str, cells: [String; 3], r: [String; 2], goal: &str| {
            let _ = writeln!(
                s,
                "| {what} | {} | {} | {} | {} | {} | {goal} |",
                cells[0], cells[1], cells[2], r[0], r[1]
            );
        };
        if let Some(t) = self.first_sync {
            row(
                &mut s,
                "first sync, 300 customers (median)",
                t.map(|x| format!("{x:.2} s")),
                [ratio(t[0], t[1]), ratio(t[0], t[2])],
                "",
            );
        }
        if let Some(v) = self.one_visit {
            let both = v.map(|x| (x.0 + x.1) as f64);
            row(
                &mut s,
                "one visit: bytes both ways",
                v.map(|x| format!("{} B", x.0 + x.1)),
                [ratio(both[0], both[1]), ratio(both[0], both[2])],
                "≤ 2 KB",
            );
            row(
                &mut s,
                "one visit: messages up / down",
                v.map(|x| format!("{} / {}", x.2, x.3)),
                [String::new(), String::new()],
                "≤ 2 round trips",
            );
        }
        for set in &self.storms {
            let n = set.managers;
            for (k, kind) in KINDS.iter().enumerate() {
                for (what, runs) in [("paced", &set.paced[k]), ("flat out", &set.flat[k])] {
                    let failed: Vec<&String> = runs
                        .iter()
                        .filter_map(|x| x.setup_failed.as_ref())
                        .collect();
                    if let Some(first) = failed.first() {
                        let _ = writeln!(
                            s,
                            "| storm {n}, {} {what}: {} of {} runs not measured | {first} | | | | | |",
                            kind.label(),
                            failed.len(),
                            runs.len()
                        );
                    }
                }
            }
            // A server none of whose runs was measured shows that, not zeros.
            let unmeasured = |k: usize| {
                let all = set.paced[k].iter().chain(&set.flat[k]);
                all.clone().count() > 0 && all.clone().all(|x| x.setup_failed.is_some())
            };
            let row =
                |s: &mut String, what: &str, cells: [String; 3], r: [String; 2], goal: &str| {
                    let cells = [0, 1, 2].map(|k| {
                        if unmeasured(k) {
                            "not set up".to_string()
                        } else {
                            cells[k].clone()
                        }
                    });
                    // ours / samod, ours / reference
                    let r = [(1, &r[0]), (2, &r[1])].map(|(k, x)| {
                        if !x.is_empty() && (unmeasured(0) || unmeasured(k)) {
                            "–".to_string()
                        } else {
                            x.clone()
                        }
                    });
                    row(s, what, cells, r, goal)
                };
            let tp: Vec<(f64, f64)> = set
                .flat
                .iter()
                .map(|r| median_low(r, |x| x.throughput))
                .collect();
            row(
                &mut s,
                &format!("storm {n} flat out: visits synced per second"),
                [0, 1, 2].map(|k| format!("{:.0} (worst {:.0})", tp[k].0, tp[k].1)),
                [ratio(tp[0].0, tp[1].0), ratio(tp[0].0, tp[2].0)],
                "≥ 1.5 / ≥ 3",
            );
            let p99f: Vec<Option<f64>> =
                set.flat.iter().map(|r| spread(r, |x| x.p99_ms).0).collect();
            row(
                &mut s,
                &format!("storm {n} flat out: p99 device to device"),
                [0, 1, 2].map(|k| latency_cell(&set.flat[k], |x| x.p99_ms)),
                [opt_ratio(p99f[0], p99f[1]), opt_ratio(p99f[0], p99f[2])],
                "",
            );
            let cpu: Vec<f64> = set
                .flat
                .iter()
                .map(|r| median_low(r, |x| x.cpu_ms_per_visit).0)
                .collect();
            row(
                &mut s,
                &format!("storm {n} flat out: server CPU per visit"),
                [0, 1, 2].map(|k| format!("{:.2} ms", cpu[k])),
                [ratio(cpu[0], cpu[1]), ratio(cpu[0], cpu[2])],
                "",
            );
            let del: Vec<f64> = set.paced.iter().map(|r| delivered_pct(r)).collect();
            row(
                &mut s,
                &format!("storm {n} paced: delivered of logged, all runs"),
                [0, 1, 2].map(|k| format!("{:.1} %", del[k])),
                [String::new(), String::new()],
                "100 %",
            );
            for (name, get) in [
                ("p50", (|x: &Storm| x.p50_ms) as fn(&Storm) -> f64),
                ("p99", |x: &Storm| x.p99_ms),
            ] {
                let m: Vec<Option<f64>> = set.paced.iter().map(|r| spread(r, get).0).collect();
                row(
                    &mut s,
                    &format!("storm {n} paced: {name} device to device"),
                    [0, 1, 2].map(|k| latency_cell(&set.paced[k], get)),
                    [opt_ratio(m[0], m[1]), opt_ratio(m[0], m[2])],
                    if name == "p99" {
                        "≤ 0.67 / ≤ 0.33"
                    } else {
                        ""
                    },
                );
            }
        }
        if let (Some(floor), Some(set)) = (self.floor, self.anchor_storm()) {
            let ours = median_low(&set.flat[0], |x| x.cpu_ms_per_visit).0;
            let _ = writeln!(
                s,
                "| server CPU per visit, storm {} flat out, against automerge alone (the floor: {floor:.3} ms) | {ours:.2} ms = {:.1}× the floor | | | | | ≤ 2× |",
                set.managers,
                ours / floor
            );
        }
        for (visits, cpu) in &self.growth {
            let cell = |c: Option<f64>| c.map_or("failed".into(), |c| format!("{c:.2} ms"));
            let r = |a: Option<f64>, b: Option<f64>| opt_ratio(a, b);
            row(
                &mut s,
                &format!("server CPU per visit, customer with {visits} visits (flat out)"),
                cpu.map(cell),
                [r(cpu[0], cpu[1]), r(cpu[0], cpu[2])],
                if *visits == 20 {
                    "≤ 0.40 ms"
                } else {
                    "sub-linear"
                },
            );
        }
        if let Some(rc) = &self.reconnect {
            let (n, per) = (rc[0].tablets, rc[0].visits / rc[0].tablets.max(1));
            let secs = |x: &Reconnect| {
                if let Some(why) = &x.setup_failed {
                    return format!("not measured: {why}");
                }
                x.secs.map_or(
                    format!(
                        "not all within the limit ({} of {} visits arrived)",
                        x.delivered, x.visits
                    ),
                    |t| format!("{t:.1} s"),
                )
            };
            row(
                &mut s,
                &format!(
                    "reconnect storm: {n} tablets, {per} offline visits each, back within 1 s: until all stored and on the other device"
                ),
                [0, 1, 2].map(|k| secs(&rc[k])),
                [
                    opt_ratio(rc[0].secs, rc[1].secs),
                    opt_ratio(rc[0].secs, rc[2].secs),
                ],
                "≤ 10 s",
            );
            row(
                &mut s,
                "reconnect storm: failed connections",
                [0, 1, 2].map(|k| {
                    if rc[k].setup_failed.is_some() {
                        "not set up".into()
                    } else {
                        rc[k].failed.to_string()
                    }
                }),
                [String::new(), String::new()],
                "0",
            );
            row(
                &mut s,
                "reconnect storm: peak RSS",
                [0, 1, 2].map(|k| {
                    if rc[k].setup_failed.is_some() {
                        "not set up".into()
                    } else {
                        mb(rc[k].peak_rss)
                    }
                }),
                [
                    ratio(rc[0].peak_rss as f64, rc[1].peak_rss as f64),
                    ratio(rc[0].peak_rss as f64, rc[2].peak_rss as f64),
                ],
                "≤ 500 MB",
            );
        }
        if let Some(r) = &self.reports {
            for (path, times, failed) in &r.endpoints {
                let _ = writeln!(
                    s,
                    "| `{path}` as the center over {} customers, during a paced storm of {} managers: p50 / p99 ({} answers{}) | {:.0} / {:.0} ms | no such API | no such API | | | p99 ≤ 200 ms |",
                    r.customers,
                    r.managers,
                    times.len(),
                    if *failed > 0 {
                        format!(", {failed} failed")
                    } else {
                        String::new()
                    },
                    quantile(times, 0.5),
                    quantile(times, 0.99)
                );
            }
            for (path, median, cpu) in &r.alone {
                let _ = writeln!(
                    s,
                    "| `{path}`, the same, the server otherwise idle: median, server CPU per answer | {median:.0} ms, {cpu:.0} ms CPU | | | | | |"
                );
            }
            let x = &r.storm;
            let _ = writeln!(
                s,
                "| that storm meanwhile: p99 device to device, delivered | {}, {} of {} | | | | | |",
                latency_cell(std::slice::from_ref(x), |x| x.p99_ms),
                x.delivered,
                x.offered
            );
        }
        if let Some(c) = &self.cold {
            let _ = writeln!(
                s,
                "| cold start over {} customers none projected yet: until it answers; a 300-customer first sync begun then ({} customers, {} still queued for projection when it was done); until all projected; until every book was written; peak RSS | {:.1} s; {:.2} s; {:.1} s; {:.1} s; {} MB | no projection | no projection | | | serving ≤ 2 s, first sync ≤ 1 s, projection ≤ 120 s |",
                c.customers,
                c.first_sync_customers,
                c.queued_after_first_sync,
                c.serving,
                c.first_sync,
                c.projected,
                c.books,
                c.peak_rss_mb
            );
        }
        if let Some(x) = &self.rules {
            let _ = writeln!(
                s,
                "| rule change over {} customers during a paced storm of {} managers (a new month takes the same path): until the PUT was answered and no customer waited for the new rules; until every manager's connected tablet has the new rules; the storm's p99, delivered; its p99 alone before the PUT, and from the PUT until the tablets had the rules | {:.1} s; {}; {}, {} of {}; {:.0} ms, {:.0} ms | no rules | no rules | | | ≤ 60 s, ≤ 30 s, p99 ≤ 50 ms |",
                x.customers,
                x.managers,
                x.reprojected_secs,
                match x.tablets_secs {
                    Some(t) => format!("{t:.1} s"),
                    None => format!("not all {} within the storm", x.tablets),
                },
                latency_cell(std::slice::from_ref(&x.storm), |x| x.p99_ms),
                x.storm.delivered,
                x.storm.offered,
                x.before_put.0,
                x.during_change.0
            );
        }
        if let Some(c) = &self.idle {
            let sizes: Vec<String> = c[0]
                .points
                .iter()
                .skip(1)
                .map(|p| p.0.to_string())
                .collect();
            let kb = |k: usize, which: usize| {
                let v = c[k].slope(which);
                let fig = if v.is_finite() {
                    format!("{:.1} KB", v / 1000.0)
                } else {
                    "n/a".into()
                };
                match &c[k].stopped {
                    Some(why) => format!("{fig} (stopped: {why})"),
                    None => fig,
                }
            };
            let live = [0, 1, 2].map(|k| c[k].slope(1));
            row(
                &mut s,
                &format!(
                    "idle: live memory per client, slope over 0 / {} clients (samod: RSS)",
                    sizes.join(" / ")
                ),
                [0, 1, 2].map(|k| kb(k, 1)),
                [ratio(live[0], live[1]), ratio(live[0], live[2])],
                "≤ 0.25 (JS)",
            );
            let rss = [0, 1, 2].map(|k| c[k].slope(2));
            row(
                &mut s,
                "idle: RSS per client, slope",
                [0, 1, 2].map(|k| kb(k, 2)),
                [ratio(rss[0], rss[1]), ratio(rss[0], rss[2])],
                "",
            );
        }
        if let Some([o, r]) = &self.many {
            let per = o.docs.div_ceil(o.batches.max(1));
            let two = |what: &str, a: String, b: String, q: String, goal: &str, s: &mut String| {
                let _ = writeln!(s, "| {what} | {a} | not run | {b} | | {q} | {goal} |");
            };
            two(
                &format!("{} documents: RSS at start", o.docs),
                mb(o.rss_start),
                mb(r.rss_start),
                String::new(),
                "",
                &mut s,
            );
            two(
                &format!("first {per} synced once"),
                mb_or_dash(o.rss_touched),
                mb_or_dash(r.rss_touched),
                ratio(o.rss_touched as f64, r.rss_touched as f64),
                "",
                &mut s,
            );
            two(
                &format!(
                    "first {per}, then {} s idle (ours unloads after {} s)",
                    o.idle_secs, self.unload_idle_secs
                ),
                mb_or_dash(o.rss_first_idle),
                mb_or_dash(r.rss_first_idle),
                ratio(o.rss_first_idle as f64, r.rss_first_idle as f64),
                "",
                &mut s,
            );
            two(
                &format!(
                    "all {} in {} batches of {per}, each then idle",
                    o.docs, o.batches
                ),
                many_end(o),
                many_end(r),
                ratio(o.rss_idle as f64, r.rss_idle as f64),
                "bounded",
                &mut s,
            );
            two(
                "highest RSS while syncing",
                mb(o.rss_peak),
                mb(r.rss_peak),
                ratio(o.rss_peak as f64, r.rss_peak as f64),
                "",
                &mut s,
            );
        }
        let _ = writeln!(
            s,
            "\nDurability: ours commits every change to SQLite with fsync before it acknowledges it; \
             samod 0.16 writes each change to a file (`tokio::fs::write`) with no fsync; the JS reference \
             (automerge-repo 2.5.6, Node file-system adapter) saves at most every 100 ms per document, no fsync. \
             Ours runs with access control on; the other two let anyone read and write anything.\n\n\
             Each manager has two devices on one customer. Paced: device A logs a visit every {} ms \
             ±50 %. Flat out: device A logs the next visit as soon as device B has the last one. \
             Throughput counts arrivals on device B during the storm; latency runs from just before \
             the commit on device A to the arrival on device B. A run that delivered less than 95 % of \
             what was logged has no latency figure (n/a, with the share delivered) and counts as the worst. \
             Goals a / b: against samod / against the JS reference.",
            self.interval_ms
        );
        for l in self.ratio_lines() {
            let _ = writeln!(s, "\n`{l}`");
        }
        s
    }
}

/// Replaces the section between the sync-bench markers in BENCHMARKS.md
/// (appending one if there is none).
pub fn write_into_benchmarks(section: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .join("BENCHMARKS.md");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let block = format!("{START}\n{section}{END}");
    let new = match (old.find(START), old.find(END)) {
        (Some(a), Some(b)) if a < b => format!("{}{block}{}", &old[..a], &old[b + END.len()..]),
        _ => format!(
            "{old}\n## Against the reference sync server\n\n`cargo run --release -p fieldbook-bench --bin sync-bench` (add `--quick` for a two-minute check).\n\n{block}\n"
        ),
    };
    std::fs::write(&path, new).expect("write BENCHMARKS.md");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(offered: usize, delivered: usize, p99: f64) -> Storm {
        Storm {
            offered,
            delivered,
            p99_ms: p99,
            ..Default::default()
        }
    }

    #[test]
    fn a_run_that_lost_visits_has_no_latency_and_counts_as_worst() {
        let runs = [run(100, 100, 10.0), run(100, 50, 1.0), run(100, 99, 30.0)];
        assert_eq!(spread(&runs, |x| x.p99_ms), (Some(30.0), None));
        assert_eq!(latency_cell(&runs, |x| x.p99_ms), "30 ms (worst n/a)");
        let lost = [run(100, 20, 1.0), run(100, 21, 1.0), run(100, 100, 5.0)];
        assert_eq!(spread(&lost, |x| x.p99_ms).0, None);
        assert_eq!(latency_cell(&lost, |x| x.p99_ms), "n/a (delivered 47 %)");
        let whole = [run(100, 100, 12.0), run(100, 100, 8.0), run(100, 100, 15.0)];
        assert_eq!(latency_cell(&whole, |x| x.p99_ms), "12 ms (worst 15)");
    }

    #[test]
    fn the_ratio_lines_use_medians_and_never_a_ratio_of_a_lossy_run() {
        let flat = |t: f64| Storm {
            throughput: t,
            offered: 10,
            delivered: 10,
            ..Default::default()
        };
        let set = StormSet {
            managers: 100,
            paced: [
                vec![
                    run(100, 100, 10.0),
                    run(100, 100, 12.0),
                    run(100, 100, 90.0),
                ],
                vec![
                    run(100, 100, 20.0),
                    run(100, 100, 30.0),
                    run(100, 100, 25.0),
                ],
                vec![run(100, 10, 1.0), run(100, 20, 1.0), run(100, 100, 40.0)],
            ],
            flat: [
                vec![flat(300.0), flat(600.0), flat(500.0)],
                vec![flat(250.0), flat(250.0), flat(100.0)],
                vec![flat(100.0), flat(50.0), flat(400.0)],
            ],
        };
        let r = Report {
            storms: vec![set],
            ..Default::default()
        };
        assert_eq!(
            r.ratio_lines(),
            [
                "ratio throughput=5.00 p99=n/a",
                "ratio-samod throughput=2.00 p99=0.48"
            ]
        );
    }

    #[test]
    fn the_idle_figure_is_the_slope() {
        let c = IdleCurve {
            points: vec![
                (0, 1_000_000, 5_000_000),
                (1000, 3_000_000, 9_000_000),
                (5000, 11_000_000, 25_000_000),
            ],
            stopped: None,
        };
        assert!((c.slope(1) - 2000.0).abs() < 1e-6);
        assert!((c.slope(2) - 4000.0).abs() < 1e-6);
    }
}
