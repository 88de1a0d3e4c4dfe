//! The CSV importer alone: any text (UTF-8 or GBK, or neither) read field by
//! field within the import budget, then checked as both kinds of import.
//! Inputs that look like a workbook are left to `import_xlsx`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"PK") {
        return;
    }
    fieldbook_fuzz::run(|| fieldbook_fuzz::import_file(data));
});
