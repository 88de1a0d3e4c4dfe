//! The figures as a BENCHMARKS.md section, and the one-line ratio for CI-style use.

use std::fmt::Write;
use std::path::PathBuf;

use crate::workloads::{Idle, Many, Storm};

const START: &str = "<!-- sync-bench:start -->";
const END: &str = "<!-- sync-bench:end -->";

/// Each pair is [ours, reference].
#[derive(Debug, Default)]
pub struct Report {
    pub quick: bool,
    pub interval_ms: u64,
    /// Our server's --unload-idle-secs in this run.
    pub unload_idle_secs: u64,
    pub first_sync: Option<[f64; 2]>,
    pub one_visit: Option<[(u64, u64, u64, u64); 2]>,
    /// Paced storms (latency) and flat-out storms (throughput), by size.
    pub storms: Vec<[Storm; 2]>,
    pub flat: Vec<[Storm; 2]>,
    /// Each server's idle readings, alternating rounds.
    pub idle: Option<[Vec<Idle>; 2]>,
    pub many: Option<[Many; 2]>,
}

fn ratio(a: f64, b: f64) -> String {
    if b == 0.0 || !a.is_finite() || !b.is_finite() {
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

/// The median of the readings' bytes per client (the mean of the middle two
/// when even).
fn median_per_client(readings: &[Idle]) -> f64 {
    let mut v: Vec<f64> = readings.iter().map(Idle::per_client).collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// "6.0 KB", or with more than one reading "6.0 KB (5.8, 6.0, 6.3)": the
/// median, then each reading in the order taken.
fn kb_readings(median: f64, readings: &[Idle]) -> String {
    let m = format!("{:.1} KB", median / 1000.0);
    if readings.len() < 2 {
        return m;
    }
    let each: Vec<String> = readings
        .iter()
        .map(|x| format!("{:.1}", x.per_client() / 1000.0))
        .collect();
    format!("{m} ({})", each.join(", "))
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
    /// `ratio throughput=X p99=Y` from the largest storm, ours over the
    /// reference: flat-out throughput, paced p99.
    pub fn ratio_line(&self) -> Option<String> {
        let [o, r] = self.storms.last()?;
        let [fo, fr] = self.flat.last()?;
        Some(format!(
            "ratio throughput={} p99={}",
            ratio(fo.throughput, fr.throughput),
            ratio(o.p99_ms, r.p99_ms)
        ))
    }

    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Machine: {}. Load generator and both servers share it. Ours: release build, access control on; \
             the reference: `tests/js/ref-server.mjs` (automerge-repo 2.5.6 with its websocket and Node file-system \
             adapters). Mode: {}.\n",
            machine(),
            if self.quick { "--quick" } else { "full" }
        );
        s.push_str("| workload | fieldbook | reference | ours / reference | goal |\n| --- | --- | --- | --- | --- |\n");
        if let Some([o, r]) = self.first_sync {
            let _ = writeln!(
                s,
                "| first sync, 300 customers (median) | {o:.2} s | {r:.2} s | {} | |",
                ratio(o, r)
            );
        }
        if let Some([o, r]) = self.one_visit {
            let _ = writeln!(
                s,
                "| one visit: bytes both ways | {} B | {} B | {} | ≤ 2 KB |",
                o.0 + o.1,
                r.0 + r.1,
                ratio((o.0 + o.1) as f64, (r.0 + r.1) as f64)
            );
            let _ = writeln!(
                s,
                "| one visit: messages up / down | {} / {} | {} / {} | | ≤ 2 round trips |",
                o.2, o.3, r.2, r.3
            );
        }
        for ([o, r], [fo, fr]) in self.storms.iter().zip(&self.flat) {
            let n = o.managers;
            for (what, x) in [
                ("fieldbook, paced", o),
                ("reference, paced", r),
                ("fieldbook, flat out", fo),
                ("reference, flat out", fr),
            ] {
                if let Some(why) = &x.setup_failed {
                    let _ = writeln!(s, "| storm {n}, {what}: not measured | {why} | | | |");
                }
            }
            let _ = writeln!(
                s,
                "| storm {n} flat out: visits synced per second | {:.1} | {:.1} | {} | ≥ 3 |",
                fo.throughput,
                fr.throughput,
                ratio(fo.throughput, fr.throughput)
            );
            let _ = writeln!(
                s,
                "| storm {n} flat out: p99 device to device | {:.0} ms | {:.0} ms | {} | |",
                fo.p99_ms,
                fr.p99_ms,
                ratio(fo.p99_ms, fr.p99_ms)
            );
            let _ = writeln!(
                s,
                "| storm {n} flat out: server CPU per visit | {:.2} ms | {:.2} ms | {} | |",
                fo.cpu_ms_per_visit,
                fr.cpu_ms_per_visit,
                ratio(fo.cpu_ms_per_visit, fr.cpu_ms_per_visit)
            );
            let _ = writeln!(
                s,
                "| storm {n} flat out: load generator CPU per visit | {:.2} ms | {:.2} ms | | |",
                fo.load_cpu_ms_per_visit, fr.load_cpu_ms_per_visit,
            );
            let _ = writeln!(
                s,
                "| storm {n} paced: visits delivered per second | {:.1} | {:.1} | {} | |",
                o.throughput,
                r.throughput,
                ratio(o.throughput, r.throughput)
            );
            let _ = writeln!(
                s,
                "| storm {n} paced: delivered / logged | {} / {} | {} / {} | | |",
                o.delivered, o.offered, r.delivered, r.offered
            );
            for (name, a, b) in [
                ("p50", o.p50_ms, r.p50_ms),
                ("p95", o.p95_ms, r.p95_ms),
                ("p99", o.p99_ms, r.p99_ms),
            ] {
                let goal = if name == "p99" { "≤ 0.33" } else { "" };
                let _ = writeln!(
                    s,
                    "| storm {n} paced: {name} device to device | {a:.0} ms | {b:.0} ms | {} | {goal} |",
                    ratio(a, b)
                );
            }
        }
        if let Some([o, r]) = &self.idle {
            let (mo, mr) = (median_per_client(o), median_per_client(r));
            let _ = writeln!(
                s,
                "| idle: RSS per connected client ({} clients{}) | {} | {} | {} | ≤ 0.25 |",
                o.first().map_or(0, |x| x.clients),
                if o.len() > 1 {
                    format!(", median of {} rounds", o.len())
                } else {
                    String::new()
                },
                kb_readings(mo, o),
                kb_readings(mr, r),
                ratio(mo, mr)
            );
        }
        if let Some([o, r]) = &self.many {
            let per = o.docs.div_ceil(o.batches.max(1));
            let _ = writeln!(
                s,
                "| {} documents: RSS at start | {} | {} | | |",
                o.docs,
                mb(o.rss_start),
                mb(r.rss_start)
            );
            let _ = writeln!(
                s,
                "| first {per} synced once | {} | {} | {} | |",
                mb_or_dash(o.rss_touched),
                mb_or_dash(r.rss_touched),
                ratio(o.rss_touched as f64, r.rss_touched as f64)
            );
            let _ = writeln!(
                s,
                "| first {per}, then {} s idle (ours unloads after {} s) | {} | {} | {} | |",
                o.idle_secs,
                self.unload_idle_secs,
                mb_or_dash(o.rss_first_idle),
                mb_or_dash(r.rss_first_idle),
                ratio(o.rss_first_idle as f64, r.rss_first_idle as f64)
            );
            let _ = writeln!(
                s,
                "| all {} in {} batches of {per}, each then idle | {} | {} | {} | bounded |",
                o.docs,
                o.batches,
                many_end(o),
                many_end(r),
                ratio(o.rss_idle as f64, r.rss_idle as f64)
            );
            let _ = writeln!(
                s,
                "| highest RSS while syncing | {} | {} | {} | |",
                mb(o.rss_peak),
                mb(r.rss_peak),
                ratio(o.rss_peak as f64, r.rss_peak as f64)
            );
        }
        let _ = writeln!(
            s,
            "\nEach manager has two devices on one customer. Paced: device A logs a visit every {} ms \
             ±50 %. Flat out: device A logs the next visit as soon as device B has the last one. \
             Throughput counts arrivals on device B during the storm; latency runs from just before \
             the commit on device A to the arrival on device B. The load generator's devices \
             share the cores with the server: flat out, the two together use the machine, so \
             server CPU per visit is the fairer measure of what each server could sustain alone.",
            self.interval_ms
        );
        if let Some(l) = self.ratio_line() {
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

    fn reading(kb_per_client: u64) -> Idle {
        Idle {
            clients: 1000,
            rss_before: 100_000_000,
            rss_after: 100_000_000 + kb_per_client * 1_000_000,
        }
    }

    #[test]
    fn the_idle_figure_is_the_median_reading() {
        let odd = [reading(22), reading(2), reading(10)];
        assert_eq!(median_per_client(&odd), 10_000.0);
        let even = [reading(22), reading(2), reading(10), reading(4)];
        assert_eq!(median_per_client(&even), 7_000.0);
        assert_eq!(
            kb_readings(median_per_client(&odd), &odd),
            "10.0 KB (22.0, 2.0, 10.0)"
        );
        assert_eq!(kb_readings(4_000.0, &[reading(4)]), "4.0 KB");
    }
}
