//! Any text through the CSV importer: what it runs is `fieldbook_fuzz::imports::csv` (fuzz/src).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fieldbook_fuzz::imports::csv(data));
