//! The import targets: an uploaded file (`POST /api/import/customers` and
//! `/ledger`) read as XLSX (by its zip signature) or CSV in UTF-8 or GBK, then
//! checked as customer rows and as ledger rows. Errors are answers; panics
//! are bugs.

use crate::{import_file, let_panics_unwind_from, run, workbook_with_sheet};

/// `import_table`: any file.
pub fn table(data: &[u8]) {
    // `read_table` catches panics of the XLSX reader (calamine 0.30 has some
    // on malformed workbooks): let them reach that guard.
    let_panics_unwind_from(&["calamine"]);
    run(|| import_file(data));
}

/// `import_csv`: the CSV importer alone: any text (UTF-8 or GBK, or neither)
/// read field by field within the import budget, then checked as both kinds
/// of import. Inputs that look like a workbook are left to `import_xlsx`.
pub fn csv(data: &[u8]) {
    if data.starts_with(b"PK") {
        return;
    }
    run(|| import_file(data));
}

/// `import_xlsx`: the XLSX importer alone: the input is the first sheet's
/// XML, put in a valid workbook, so mutations reach the cell reader, its
/// coordinate bounds and the checks rather than dying in the zip layer
/// (`import_table` covers whole files).
pub fn xlsx(data: &[u8]) {
    let_panics_unwind_from(&["calamine"]);
    let workbook = workbook_with_sheet(data);
    run(|| import_file(&workbook));
}
