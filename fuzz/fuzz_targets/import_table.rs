//! An uploaded import file (`POST /api/import/customers` and `/ledger`): read
//! as XLSX (by its zip signature) or CSV in UTF-8 or GBK, then checked as
//! customer rows and as ledger rows. Errors are answers; panics are bugs.

#![no_main]

use fieldbook_server::import::{
    customer_rows, ledger_rows, parse_amount, parse_month, parse_yuan, read_table,
};
use libfuzzer_sys::fuzz_target;

fn one(data: &[u8]) {
    let Ok(table) = read_table(data) else {
        return;
    };
    let aliases = fieldbook_shared::rules::ImportRules::default().line_aliases;
    let _ = customer_rows(&table, &aliases);
    let _ = ledger_rows(&table, &aliases);
    for cell in table.rows.iter().flatten().take(64) {
        let _ = parse_yuan(cell);
        let _ = parse_amount(cell, 1_000_000);
        let _ = parse_month(cell);
    }
}

fuzz_target!(|data: &[u8]| {
    // `read_table` catches panics of the XLSX reader (calamine 0.30 has some
    // on malformed workbooks): let them reach that guard.
    fieldbook_fuzz::let_panics_unwind_from(&["calamine"]);
    fieldbook_fuzz::run(|| one(data));
});
