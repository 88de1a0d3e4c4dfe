//! One websocket binary frame, down every path that reads it: what it runs is `fieldbook_fuzz::sync_message::input` (fuzz/src).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fieldbook_fuzz::sync_message::input(data));
