//! Every committed seed through the target it starts: what the fuzzers
//! start from must run clean (a panic aborts this test with its message),
//! and each target must have seeds to start from.

use std::path::Path;

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| {
            let path = e.expect("a directory entry").path();
            let bytes = std::fs::read(&path).expect("a seed");
            (path.display().to_string(), bytes)
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
}

fn run_all(target: &str, input: fn(&[u8])) {
    for (name, bytes) in seeds(target) {
        eprintln!("{target}: {name}");
        input(&bytes);
    }
}

#[test]
fn sync_message_seeds_run_clean() {
    run_all("sync_message", fieldbook_fuzz::sync_message::input);
}

#[test]
fn document_load_seeds_run_clean() {
    run_all("document_load", fieldbook_fuzz::document_load::input);
}

#[test]
fn import_seeds_run_clean() {
    run_all("import_table", fieldbook_fuzz::imports::table);
    run_all("import_csv", fieldbook_fuzz::imports::csv);
    run_all("import_xlsx", fieldbook_fuzz::imports::xlsx);
}
