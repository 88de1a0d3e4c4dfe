//! An uploaded import file (`POST /api/import/customers` and `/ledger`): read
//! as XLSX (by its zip signature) or CSV in UTF-8 or GBK, then checked as
//! customer rows and as ledger rows. Errors are answers; panics are bugs.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `read_table` catches panics of the XLSX reader (calamine 0.30 has some
    // on malformed workbooks): let them reach that guard.
    fieldbook_fuzz::let_panics_unwind_from(&["calamine"]);
    fieldbook_fuzz::run(|| fieldbook_fuzz::import_file(data));
});
