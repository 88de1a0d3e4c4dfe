//! Fieldbook's build tasks (`cargo xtask <task>`): everything a fresh machine
//! needs, in Rust, so no Makefile or shell script grows beside the code.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

mod postgres;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Fieldbook's build tasks")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Build the client, load the demo data (first time) and start the server.
    Run {
        #[arg(long, default_value = "fieldbook.db")]
        db: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Install what the tests need (wasm32 target, wasm-bindgen, npm packages) and run every test.
    Test {
        /// Lint the workspace with clippy (`-D warnings`) while building it:
        /// what `cargo clippy --workspace --all-targets -- -D warnings` checks,
        /// without building every dependency a second time (CI runs this).
        #[arg(long)]
        clippy: bool,
        /// Extra arguments for `cargo test` (e.g. a test name filter).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Build the client into client/dist (wasm32, wasm-bindgen, static files).
    Dist,
    /// Re-derive vendor/patches/<crate>.patch from the published crates and
    /// the vendored trees; fails if a patch on file disagrees (unless --write).
    VendorDiff {
        /// Write the patches instead of comparing them.
        #[arg(long)]
        write: bool,
    },
    /// Run each cargo-fuzz target in fuzz/ for a while (installs cargo-fuzz if missing).
    Fuzz {
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Only these targets (default: all of them).
        targets: Vec<String>,
    },
    /// Our server's visit storm on SQLite, PostgreSQL and two PostgreSQL nodes,
    /// side by side (`sync-bench --only engines`), in a throwaway PostgreSQL cluster.
    BenchEngines {
        /// Extra arguments for sync-bench (e.g. --quick, --storm 100,500).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let result = match Cli::parse().task {
        Task::Run { db, listen } => run(&db, &listen),
        Task::Test { clippy, args } => test(clippy, &args),
        Task::Dist => dist(),
        Task::VendorDiff { write } => vendor_diff(write),
        Task::Fuzz { seconds, targets } => fuzz(seconds, &targets),
        Task::BenchEngines { args } => bench_engines(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Runs a command in the workspace root, failing with its name if it fails.
fn sh(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}");
    eprintln!("xtask: $ {shown}");
    if cmd.get_current_dir().is_none() {
        cmd.current_dir(root());
    }
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}"))
    }
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.current_dir(root()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn run(db: &Path, listen: &str) -> Result {
    dist()?;
    sh(Command::new(cargo()).args(["build", "-p", "fieldbook-server"]))?;
    let server = target_dir().join("debug").join("fieldbook-server");
    sh(Command::new(&server).arg("demo").arg("--db").arg(db))?;
    eprintln!("xtask: open http://{listen}/ and log in as one of the users above");
    sh(Command::new(&server)
        .arg("serve")
        .arg("--db")
        .arg(db)
        .args(["--listen", listen, "--static", "client/dist"]))
}

fn test(clippy: bool, args: &[String]) -> Result {
    let lint = if clippy { Some(clippy_driver()?) } else { None };
    // The vendored crates are the published ones plus the patches on file.
    vendor_diff(false)?;
    ensure_npm_packages()?;
    ensure_chromium()?;
    dist()?;
    // Every target `cargo test --workspace` runs, and the server's binary, in
    // one build: the same packages give the same features, so no dependency
    // is built twice (the tests' own `cargo build -p fieldbook-server` would
    // build a third of them again with the server's features alone).
    sh(workspace_cargo(&lint).args([
        "build",
        "--workspace",
        "--lib",
        "--bins",
        "--tests",
        "--examples",
    ]))?;
    let server = target_dir().join("debug").join("fieldbook-server");
    // The vendored crates lie outside the workspace (each its own lock file);
    // their tests cover our patches (each one's `PATCHED.md`). Built
    // without debuginfo (VENDOR_DEBUG).
    for vendored in ["samod-core", "tungstenite"] {
        sh(Command::new(cargo())
            .args(["test", "--lib", "--config", VENDOR_DEBUG, "--manifest-path"])
            .arg(root().join("vendor").join(vendored).join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", target_dir().join("vendor")))?;
    }
    // samod's own tests (but those that need JavaScript tooling or GLib), on
    // our samod-core: in a copy outside the workspace, so that the patched
    // lock file stays out of vendor/ (vendor-diff compares that tree).
    let samod = std::env::temp_dir().join(format!("fieldbook-samod-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&samod);
    copy_tracked(&root().join("vendor").join("samod"), &samod)?;
    let core = root().join("vendor").join("samod-core");
    let tested = sh(Command::new(cargo())
        .args([
            "test",
            "--features",
            "tokio,axum",
            "--lib",
            "--config",
            VENDOR_DEBUG,
        ])
        .args(SAMOD_TESTS.iter().flat_map(|t| ["--test", t]))
        .arg("--config")
        .arg(format!(
            "patch.crates-io.samod-core.path={:?}",
            core.display().to_string()
        ))
        .current_dir(&samod)
        .env("CARGO_TARGET_DIR", target_dir().join("vendor")));
    let _ = std::fs::remove_dir_all(&samod);
    tested?;
    // A throwaway PostgreSQL cluster: the tests of PostgreSQL itself
    // (migration, several nodes) use it in the first pass; in the second,
    // every end-to-end test's server keeps its data there, a database each.
    let cluster = postgres::Cluster::start()?;
    sh(workspace_cargo(&lint)
        .args(["test", "--workspace"])
        .args(args)
        .env("FIELDBOOK_SERVER_BIN", &server)
        .env("FIELDBOOK_TEST_POSTGRES", cluster.url()))?;
    // `--workspace` again, not `-p fieldbook-tests`: the same features, so
    // nothing is rebuilt.
    sh(workspace_cargo(&lint)
        .args(["test", "--workspace"])
        .args(postgres_test_targets()?.iter().flat_map(|t| ["--test", t]))
        .args(args)
        .env("FIELDBOOK_SERVER_BIN", &server)
        .env("FIELDBOOK_TEST_POSTGRES", cluster.url())
        .env("FIELDBOOK_TEST_ENGINE", "postgres"))
}

/// cargo for the main workspace's build and tests; with `lint`, building
/// through clippy's driver, which lints each crate of the workspace as
/// `cargo clippy -- -D warnings` does and then compiles it. (`cargo clippy`
/// only checks: run beside the tests' build, every dependency was compiled
/// twice, once checked and once built: over two minutes of CI.) cargo keys
/// the workspace's crates by that wrapper, so every run over the main
/// workspace in one `cargo xtask test` sets it alike, or they are rebuilt.
fn workspace_cargo(lint: &Option<PathBuf>) -> Command {
    let mut cmd = Command::new(cargo());
    // jemalloc's make builds its static library twice, with and without
    // -fPIC, and tikv-jemalloc-sys links only the first (`jemalloc_pic`):
    // asked for that one alone, a fresh build spends ~60 s less CPU on it.
    // (Not watched by its build script: no rebuild when this changes.)
    let make_flags = std::env::var("MAKEFLAGS").unwrap_or_default();
    cmd.env(
        "MAKEFLAGS",
        format!("{make_flags} STATIC_LIBS=lib/libjemalloc_pic.a").trim_start(),
    );
    if let Some(driver) = lint {
        // `cargo clippy`'s own way of handing its arguments to the driver.
        cmd.env("RUSTC_WORKSPACE_WRAPPER", driver).env(
            "CLIPPY_ARGS",
            "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__",
        );
    }
    cmd
}

/// clippy's driver, beside the toolchain's rustc.
fn clippy_driver() -> Result<PathBuf> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = output(Command::new(&rustc).args(["--print", "sysroot"]))
        .ok_or_else(|| format!("`{rustc} --print sysroot` failed"))?;
    let driver = Path::new(sysroot.trim()).join("bin").join("clippy-driver");
    if driver.is_file() {
        Ok(driver)
    } else {
        Err(format!(
            "{} is missing: install clippy (`rustup component add clippy`)",
            driver.display()
        ))
    }
}

fn bench_engines(args: &[String]) -> Result {
    ensure_npm_packages()?;
    let cluster = postgres::Cluster::start()?;
    sh(Command::new(cargo())
        .args([
            "run",
            "--release",
            "-p",
            "fieldbook-bench",
            "--bin",
            "sync-bench",
            "--",
            "--only",
            "engines",
        ])
        .args(args)
        .env("FIELDBOOK_TEST_POSTGRES", cluster.url()))
}

/// The end-to-end test files that run again on PostgreSQL: all but the
/// browser's (they test the tablet, whatever the server stores in),
/// `convergence` (samod replicas in one process, no server), `storage`
/// (SQLite's own locking) and `postgres` (PostgreSQL's own, run once).
fn postgres_test_targets() -> Result<Vec<String>> {
    let dir = root().join("tests").join("tests");
    let mut targets: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e
                .file_name()
                .to_string_lossy()
                .strip_suffix(".rs")?
                .to_string();
            (!["browser", "convergence", "storage", "postgres"].contains(&name.as_str()))
                .then_some(name)
        })
        .collect();
    targets.sort();
    Ok(targets)
}

/// The vendored crates' tests built without debuginfo (their own profiles
/// ask for all of it): a fifth less time to build them, 200 → 159 s
/// (175 s with line tables), measured on this machine on 2026-12-07. A
/// failure still names its test and its message.
const VENDOR_DEBUG: &str = "profile.dev.debug=false";

/// samod's integration tests that run here (not `js_interop`, which builds
/// a JavaScript server, nor `gio_storage_test`, `localpool_smoke` and
/// `threadpool`, which need features the server does not use).
const SAMOD_TESTS: &[&str] = &[
    "smoke",
    "share_policy",
    "streaming_share_policy",
    "sink_error",
    "tokio_storage_test",
    "connector_integration",
    "authentication",
];

/// Copies the files git tracks under `from` into `to` (no build output).
fn copy_tracked(from: &Path, to: &Path) -> Result {
    let files = output(Command::new("git").args(["ls-files", "-z", "--"]).arg(from))
        .ok_or("git ls-files failed")?;
    for f in files.split('\0').filter(|f| !f.is_empty()) {
        let src = root().join(f);
        let rel = src.strip_prefix(from).map_err(|e| e.to_string())?;
        let dst = to.join(rel);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::copy(&src, &dst).map_err(|e| format!("{}: {e}", src.display()))?;
    }
    Ok(())
}

/// The crates under vendor/, each the published crate plus one patch.
const VENDORED: &[&str] = &["samod", "samod-core", "tungstenite"];

/// Re-derives each vendored crate's patch: the published `.crate` (from
/// cargo's cache, else static.crates.io, checked against the index's
/// checksum) unpacked beside a copy of the vendored tree, and
/// `git diff --no-index` between them. Compares with (or writes)
/// vendor/patches/<crate>.patch.
fn vendor_diff(write: bool) -> Result {
    let work = target_dir().join("vendor-diff");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let patches = root().join("vendor").join("patches");
    std::fs::create_dir_all(&patches).map_err(|e| format!("{}: {e}", patches.display()))?;
    let mut stale = Vec::new();
    for name in VENDORED {
        let vendored = root().join("vendor").join(name);
        let version = package_version(&vendored.join("Cargo.toml"))?;
        let krate = published_crate(name, &version, &work)?;
        let dir = work.join(name);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        sh(Command::new("tar")
            .arg("-xzf")
            .arg(&krate)
            .arg("-C")
            .arg(&dir))?;
        std::fs::rename(dir.join(format!("{name}-{version}")), dir.join("a"))
            .map_err(|e| format!("unpacking {name}: {e}"))?;
        // The vendored tree as git has it (no build output, no stray files).
        copy_tracked(&vendored, &dir.join("b"))?;
        // Not part of the patch: cargo's unpacking marks, and our notes.
        for side in ["a", "b"] {
            for f in [".cargo-ok", ".cargo_vcs_info.json", "PATCHED.md"] {
                let _ = std::fs::remove_file(dir.join(side).join(f));
            }
        }
        let diff = Command::new("git")
            .args([
                "-c",
                "core.quotepath=off",
                "diff",
                "--no-index",
                "--no-color",
                "--no-ext-diff",
                "--binary",
                "a",
                "b",
            ])
            .current_dir(&dir)
            .output()
            .map_err(|e| format!("git diff: {e}"))?;
        // 1: the trees differ (they do: that is the patch); more: an error.
        if diff.status.code().is_none_or(|c| c > 1) {
            return Err(format!(
                "git diff for {name} failed: {}",
                String::from_utf8_lossy(&diff.stderr)
            ));
        }
        let file = patches.join(format!("{name}.patch"));
        let on_file = std::fs::read(&file).unwrap_or_default();
        let lines = diff.stdout.iter().filter(|b| **b == b'\n').count();
        if write {
            std::fs::write(&file, &diff.stdout).map_err(|e| format!("{}: {e}", file.display()))?;
            eprintln!("xtask: wrote {} ({lines} lines)", file.display());
        } else if on_file != diff.stdout {
            stale.push(format!("vendor/patches/{name}.patch"));
        } else {
            eprintln!(
                "xtask: vendor/{name} = {name} {version} + vendor/patches/{name}.patch ({lines} lines)"
            );
        }
    }
    if stale.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the vendored trees and their patches disagree: {} (a vendored file was \
             changed without its patch: run `cargo xtask vendor-diff --write`, review \
             the patch and explain it in the crate's PATCHED.md)",
            stale.join(", ")
        ))
    }
}

/// The `version` of a Cargo.toml's `[package]`.
fn package_version(manifest: &Path) -> Result<String> {
    let text =
        std::fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(v) = line.strip_prefix("version") {
            return Ok(v
                .trim_start_matches([' ', '='])
                .trim()
                .trim_matches('"')
                .to_string());
        }
    }
    Err(format!("no [package] version in {}", manifest.display()))
}

/// The published `.crate` of `name` `version`: cargo's own cache if it has
/// it (cargo checked it), else downloaded and checked against the index.
fn published_crate(name: &str, version: &str, work: &Path) -> Result<PathBuf> {
    let file = format!("{name}-{version}.crate");
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default();
    if let Ok(registries) = std::fs::read_dir(cargo_home.join("registry").join("cache")) {
        for registry in registries.flatten() {
            let cached = registry.path().join(&file);
            if cached.is_file() {
                return Ok(cached);
            }
        }
    }
    let path = work.join(&file);
    let url = format!("https://static.crates.io/crates/{name}/{file}");
    sh(Command::new("curl")
        .args(["-sSfL", "--retry", "3", "-o"])
        .arg(&path)
        .arg(&url))?;
    // The sparse index lists each version's sha256.
    let prefix = match name.len() {
        1 => "1".to_string(),
        2 => "2".to_string(),
        3 => format!("3/{}", &name[..1]),
        _ => format!("{}/{}", &name[..2], &name[2..4]),
    };
    let index = output(
        Command::new("curl")
            .args(["-sSfL", "--retry", "3"])
            .arg(format!("https://index.crates.io/{prefix}/{name}")),
    )
    .ok_or_else(|| format!("cannot read the crates.io index entry of {name}"))?;
    // One JSON object a line (written with or without spaces after colons).
    let wanted = index
        .lines()
        .map(|l| l.replace("\": ", "\":"))
        .find(|l| l.contains(&format!("\"vers\":\"{version}\"")))
        .and_then(|l| Some(l.split("\"cksum\":\"").nth(1)?.get(..64)?.to_string()))
        .ok_or_else(|| format!("{name} {version} is not in the crates.io index"))?;
    let sum = output(Command::new("sha256sum").arg(&path)).unwrap_or_default();
    if !sum.starts_with(&wanted) {
        return Err(format!(
            "{file} from {url} does not match the index's checksum"
        ));
    }
    Ok(path)
}

fn dist() -> Result {
    ensure_wasm_target()?;
    let bindgen = ensure_wasm_bindgen()?;
    sh(Command::new(cargo()).args([
        "build",
        "-p",
        "fieldbook-client",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        "wasm-release",
    ]))?;
    let out = root().join("client").join("dist");
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let wasm = target_dir().join("wasm32-unknown-unknown/wasm-release/fieldbook-client.wasm");
    sh(Command::new(bindgen).arg(&wasm).arg(&out))?;
    let statics = root().join("client").join("static");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&statics)
        .map_err(|e| format!("cannot read {}: {e}", statics.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    for path in &files {
        let name = path.file_name().unwrap_or_default();
        std::fs::copy(path, out.join(name)).map_err(|e| format!("cannot copy {path:?}: {e}"))?;
    }
    // Stamp the service worker with a hash of the build: a new build, a new cache.
    let mut hash: u64 = 0xcbf29ce484222325;
    for name in [
        "fieldbook-client_bg.wasm",
        "fieldbook-client.js",
        "index.html",
        "boot.js",
        "app.css",
    ] {
        let bytes =
            std::fs::read(out.join(name)).map_err(|e| format!("cannot read {name}: {e}"))?;
        for b in bytes {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x100000001b3);
        }
    }
    let sw = out.join("sw.js");
    let text = std::fs::read_to_string(&sw).map_err(|e| format!("cannot read sw.js: {e}"))?;
    std::fs::write(&sw, text.replace("__BUILD__", &format!("{hash:016x}")))
        .map_err(|e| format!("cannot write sw.js: {e}"))?;
    eprintln!(
        "xtask: client built into {} (build {hash:016x})",
        out.display()
    );
    Ok(())
}

/// The fuzz targets in fuzz/fuzz_targets, and what each one reads.
const FUZZ_TARGETS: [&str; 5] = [
    "sync_message",
    "document_load",
    "import_table",
    "import_csv",
    "import_xlsx",
];

/// Builds each fuzz target (address sanitizer) and runs it for `seconds`,
/// starting from the committed seeds (fuzz/seeds/<target>) and the corpus of
/// earlier runs (fuzz/corpus/<target>, not committed). A crash fails the task
/// and names the input libFuzzer saved under fuzz/targets/artifacts/<target>/.
fn fuzz(seconds: u64, only: &[String]) -> Result {
    let targets: Vec<&str> = if only.is_empty() {
        FUZZ_TARGETS.to_vec()
    } else {
        for t in only {
            if !FUZZ_TARGETS.contains(&t.as_str()) {
                return Err(format!(
                    "no fuzz target {t}; there are {}",
                    FUZZ_TARGETS.join(", ")
                ));
            }
        }
        only.iter().map(String::as_str).collect()
    };
    ensure_cargo_fuzz()?;
    // Seeds and corpus in fuzz/; cargo-fuzz's own workspace (the targets,
    // their build and the inputs that crashed) in fuzz/targets.
    let fuzz_dir = root().join("fuzz");
    // libFuzzer needs nightly's -Z flags: nightly if it is installed, else the
    // stable compiler told to accept them.
    let nightly = output(Command::new("rustup").args(["toolchain", "list"]))
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("nightly"));
    eprintln!(
        "xtask: fuzzing with {}",
        if nightly {
            "the nightly toolchain"
        } else {
            "stable and RUSTC_BOOTSTRAP=1 (no nightly toolchain installed)"
        }
    );
    let mut summary = Vec::new();
    let mut crashed = Vec::new();
    for target in targets {
        let corpus = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&corpus)
            .map_err(|e| format!("cannot create {}: {e}", corpus.display()))?;
        let mut cmd = fuzz_command(nightly);
        cmd.current_dir(root())
            .args(["fuzz", "run", "--fuzz-dir", "fuzz/targets", target])
            .arg(&corpus)
            .arg(fuzz_dir.join("seeds").join(target))
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            // An input slower than this is a finding too (a frame or a file
            // that ties the server up).
            .arg("-timeout=30")
            .arg("-print_final_stats=1");
        let run = run_fuzzer(&mut cmd)?;
        let line = match (&run.artifact, run.success) {
            (None, true) => format!("{target}: {} runs, no crash", run.runs),
            (Some(a), _) => format!("{target}: {} runs, CRASH, input saved as {a}", run.runs),
            (None, false) => format!("{target}: {} runs, FAILED (see above)", run.runs),
        };
        if !run.success || run.artifact.is_some() {
            crashed.push(target);
        }
        eprintln!("xtask: {line}");
        summary.push(line);
    }
    eprintln!("xtask: fuzzing, {seconds} s per target:");
    for line in &summary {
        eprintln!("xtask:   {line}");
    }
    if crashed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzzing found a crash in {}: reproduce with `cargo fuzz run --fuzz-dir fuzz/targets <target> <input>`, minimise with `cargo fuzz tmin`",
            crashed.join(", ")
        ))
    }
}

/// `cargo` on the toolchain the fuzz build needs, with nothing inherited from
/// the cargo running xtask (which would pin its own toolchain).
fn fuzz_command(nightly: bool) -> Command {
    let mut cmd = Command::new("cargo");
    for var in [
        "CARGO",
        "RUSTC",
        "RUSTDOC",
        "RUSTUP_TOOLCHAIN",
        "CARGO_TARGET_DIR",
    ] {
        cmd.env_remove(var);
    }
    if nightly {
        cmd.env("RUSTUP_TOOLCHAIN", "nightly");
    } else {
        cmd.env("RUSTC_BOOTSTRAP", "1");
    }
    cmd
}

struct FuzzRun {
    success: bool,
    runs: String,
    artifact: Option<String>,
}

/// Runs `cargo fuzz run`, passing its output through and picking out the
/// number of runs and the saved input of a crash.
fn run_fuzzer(cmd: &mut Command) -> Result<FuzzRun> {
    use std::io::BufRead;
    let shown = format!("{cmd:?}");
    eprintln!("xtask: $ {shown}");
    let mut child = cmd
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let mut runs = String::from("?");
    let mut artifact = None;
    if let Some(stderr) = child.stderr.take() {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            eprintln!("{line}");
            if let Some(n) = line.strip_prefix("stat::number_of_executed_units:") {
                runs = n.trim().to_string();
            } else if let Some(n) = line
                .strip_prefix("Done ")
                .and_then(|rest| rest.split_whitespace().next())
            {
                runs = n.to_string();
            } else if let Some(path) = line
                .split_once("Test unit written to ")
                .map(|(_, p)| p.trim().to_string())
            {
                artifact = Some(path);
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("{shown} did not finish: {e}"))?;
    Ok(FuzzRun {
        success: status.success(),
        runs,
        artifact,
    })
}

fn ensure_cargo_fuzz() -> Result {
    let installed = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if installed {
        return Ok(());
    }
    sh(Command::new(cargo()).args(["install", "cargo-fuzz", "--locked"]))
}

fn target_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"))
}

fn ensure_wasm_target() -> Result {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    sh(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// wasm-bindgen's generator (xtask/wasm-bindgen: the CLI's library alone,
/// pinned to the client's wasm-bindgen), built into `target/tools` by cargo,
/// which does nothing when it is up to date.
fn ensure_wasm_bindgen() -> Result<PathBuf> {
    let tools = target_dir().join("tools");
    sh(Command::new(cargo())
        .args(["build", "--quiet", "--locked", "--manifest-path"])
        .arg(root().join("xtask").join("wasm-bindgen").join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&tools)
        // Not the main workspace's: its features and profiles are its own.
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CARGO_TARGET_DIR"))?;
    Ok(tools.join("debug").join("fieldbook-wasm-bindgen"))
}

fn ensure_npm_packages() -> Result {
    let js = root().join("tests").join("js");
    if js
        .join("node_modules/@automerge/automerge-repo/package.json")
        .is_file()
    {
        return Ok(());
    }
    // `npm install`, not `npm ci`: the lock file lacks cbor-extract's per-platform
    // optional packages, which `npm ci` insists on; versions stay pinned by the lock.
    sh(Command::new("npm")
        .args(["install", "--no-audit", "--no-fund"])
        .current_dir(&js))
}

/// Debian's Chromium and ChromeDriver for the browser tests.
fn ensure_chromium() -> Result {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return Ok(());
    }
    sh(Command::new("apt-get").arg("update"))?;
    sh(Command::new("apt-get")
        .args([
            "install",
            "-y",
            "--no-install-recommends",
            "chromium",
            "chromium-driver",
        ])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// The settings (no comments, no blank lines) of the tables of a Cargo.toml
/// named `table` or `table.…`: the fuzz workspace must repeat the main one's
/// dev profile and patches.
#[cfg(test)]
fn settings_of<'a>(manifest: &'a str, table: &str) -> Vec<&'a str> {
    let mut inside = false;
    let mut settings = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            inside = line == format!("[{table}]") || line.starts_with(&format!("[{table}."));
        }
        if inside && !line.is_empty() && !line.starts_with('#') {
            settings.push(line);
        }
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifests() -> (String, String) {
        let read = |p: &Path| std::fs::read_to_string(p).expect("read a manifest");
        (
            read(&root().join("Cargo.toml")),
            read(&root().join("fuzz").join("targets").join("Cargo.toml")),
        )
    }

    /// The version of `crate` in a lock file.
    fn locked(path: &Path, krate: &str) -> Result<String> {
        let lock = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut lines = lock.lines();
        while let Some(line) = lines.next() {
            if line == format!("name = \"{krate}\"")
                && let Some(v) = lines
                    .next()
                    .and_then(|l| l.strip_prefix("version = \""))
                    .and_then(|v| v.strip_suffix('"'))
            {
                return Ok(v.to_string());
            }
        }
        Err(format!("{krate} is not in {}", path.display()))
    }

    #[test]
    fn the_bindgen_tool_is_the_clients_wasm_bindgen() {
        let client = locked(&root().join("Cargo.lock"), "wasm-bindgen").expect("locked");
        let tool = root().join("xtask").join("wasm-bindgen");
        let support = locked(&tool.join("Cargo.lock"), "wasm-bindgen-cli-support").expect("locked");
        assert_eq!(
            support, client,
            "xtask/wasm-bindgen builds wasm-bindgen-cli-support {support}, the client uses wasm-bindgen {client}: pin the same in xtask/wasm-bindgen/Cargo.toml"
        );
    }

    #[test]
    fn clippy_is_a_flag_of_the_test_task_not_an_argument_for_cargo_test() {
        let parsed = |args: &[&str]| match Cli::try_parse_from(args).expect("parses").task {
            Task::Test { clippy, args } => (clippy, args),
            _ => panic!("not the test task"),
        };
        assert_eq!(
            parsed(&["xtask", "test", "--clippy", "browser", "--", "--nocapture"]),
            (
                true,
                vec!["browser".into(), "--".into(), "--nocapture".into()]
            )
        );
        assert_eq!(
            parsed(&["xtask", "test", "sync"]),
            (false, vec!["sync".into()])
        );
    }

    #[test]
    fn the_fuzz_workspace_patches_what_the_main_one_does() {
        let (main, fuzz) = manifests();
        // The paths differ by the directory: compare the crates' names.
        let names = |m: &str| -> Vec<String> {
            settings_of(m, "patch.crates-io")
                .iter()
                .skip(1)
                .filter_map(|l| l.split('=').next())
                .map(|n| n.trim().to_string())
                .collect()
        };
        assert!(names(&main).contains(&"tungstenite".to_string()), "{main}");
        assert_eq!(
            names(&fuzz),
            names(&main),
            "fuzz/targets/Cargo.toml's [patch.crates-io] differs from Cargo.toml's"
        );
    }
}
