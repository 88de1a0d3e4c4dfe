//! Runs the real JS automerge-repo client (tests/js/interop.mjs) under node.

use std::path::PathBuf;
use std::process::Command;

/// The folder with interop.mjs and its node_modules.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// Runs `node interop.mjs args...` and returns its stdout parsed as JSON.
pub fn run(args: &[&str]) -> serde_json::Value {
    let dir = dir();
    assert!(
        dir.join("node_modules/@automerge/automerge-repo").is_dir(),
        "npm packages missing in {}: run `cargo xtask test` (or `npm ci` there) first",
        dir.display()
    );
    let out = Command::new("node")
        .arg("interop.mjs")
        .args(args)
        .current_dir(&dir)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "node interop.mjs {args:?} failed:\n{}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON from node: {stdout}"));
    serde_json::from_str(last).expect("node printed JSON")
}
