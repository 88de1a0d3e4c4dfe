//! An uploaded import file, CSV or XLSX: what it runs is `fieldbook_fuzz::imports::table` (fuzz/src).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fieldbook_fuzz::imports::table(data));
