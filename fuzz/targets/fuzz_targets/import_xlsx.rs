//! A first sheet's XML through the XLSX importer: what it runs is `fieldbook_fuzz::imports::xlsx` (fuzz/src).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fieldbook_fuzz::imports::xlsx(data));
