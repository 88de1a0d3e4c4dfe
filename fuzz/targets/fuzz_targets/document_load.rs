//! A stored document's bytes, loaded, hydrated and projected: what it runs is `fieldbook_fuzz::document_load::input` (fuzz/src).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fieldbook_fuzz::document_load::input(data));
