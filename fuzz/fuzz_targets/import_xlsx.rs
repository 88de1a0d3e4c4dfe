//! The XLSX importer alone: the input is the first sheet's XML, put in a
//! valid workbook, so mutations reach the cell reader, its coordinate bounds
//! and the checks rather than dying in the zip layer (`import_table` covers
//! whole files).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fieldbook_fuzz::let_panics_unwind_from(&["calamine"]);
    let workbook = fieldbook_fuzz::workbook_with_sheet(data);
    fieldbook_fuzz::run(|| fieldbook_fuzz::import_file(&workbook));
});
