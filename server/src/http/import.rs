//! `POST /api/import/customers` and `/api/import/ledger`: CSV (UTF-8 or GBK) or
//! XLSX. The whole file is checked first; one bad row and nothing is imported,
//! and the answer lists every bad row. Imports land in the customer documents,
//! so tablets receive them through sync.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;

use automerge::Automerge;
use axum::Json;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::io::Read as _;

use crate::store::sql::{OptionalExtension, params};
use calamine::{Reader, Xlsx};
use fieldbook_shared::access::Assignment;
use fieldbook_shared::customer::{Customer, LedgerEntry};
use fieldbook_shared::vocab::{Line, Nature, Role};
use samod::DocumentId;
use serde::Serialize;

use super::openapi::{Endpoint, IMPORT_LIMIT, NO, ep, file, schema};
use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::state::AppState;
use crate::{history, projection::books};

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("post", "/api/import/customers", "Import customers (heads, admin) from CSV (UTF-8/GBK) or XLSX; all rows or none", true, &[("dry_run", "true: check and answer what would be imported, write nothing")], Some(file), schema::<ImportReport>, post(customers).layer(DefaultBodyLimit::max(IMPORT_LIMIT))),
        ep("post", "/api/import/ledger", "Import monthly revenue from CSV (UTF-8/GBK) or XLSX into the customer documents; all rows or none", true, &[("dry_run", "true: check and answer what would be imported, write nothing")], Some(file), schema::<ImportReport>, post(ledger).layer(DefaultBodyLimit::max(IMPORT_LIMIT))),
        ep("get", "/api/import/{kind}/{file}", "An import's template: customers or ledger, template.xlsx (with a sheet explaining each column) or template.csv", true, NO, None, file, get(template)),
    ]
}

/// A user named as manager: (id, unit, role, disabled).
type Holder = (i64, String, String, bool);

/// The managers a file names, found; the credit codes already taken; and the
/// display names several users share, with those users.
type People = (
    BTreeMap<String, Holder>,
    BTreeSet<String>,
    BTreeMap<String, Vec<String>>,
);

/// A sheet: the header row and the data rows, with the numbers the rows have
/// in the file as a spreadsheet program shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// The file's row number of `rows[i]`.
    pub row_numbers: Vec<usize>,
    /// The file's row number of the header.
    pub header_row: usize,
}

/// Every column name an import knows, to recognise the header row below a
/// title (`2026年东区大客户清单`) or blank rows.
const KNOWN_COLUMNS: &[&str] = &[
    "客户名称",
    "name",
    "客户经理",
    "manager",
    "统一社会信用代码",
    "credit_code",
    "客户性质",
    "nature",
    "业务类型",
    "lines",
    "line",
    "地址",
    "address",
    "行业",
    "industry",
    "客户编号",
    "customer_no",
    "月份",
    "month",
    "收入",
    "amount",
    "金额",
    "代发金额",
    "disbursed",
    "异地邮件",
    "cross_city",
];

/// How far down the header may be.
const HEADER_WITHIN: usize = 10;

/// A header as people type it: trimmed, full-width brackets and spaces folded,
/// lower case (`收入（万元） ` is `收入(万元)`).
pub fn normalise_header(h: &str) -> String {
    h.trim()
        .replace('（', "(")
        .replace('）', ")")
        .replace([' ', '\u{3000}'], "")
        .to_lowercase()
}

/// Whether a row looks like a header: two or more cells, one a known column
/// (with or without a unit, `收入(万元)`).
fn looks_like_header(row: &[String]) -> bool {
    row.iter().filter(|c| !c.is_empty()).count() >= 2
        && row.iter().any(|c| {
            let h = normalise_header(c);
            let base = h.split('(').next().unwrap_or(&h);
            KNOWN_COLUMNS.contains(&base)
        })
}

/// One problem, where a person finds it in the spreadsheet (the header is row 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct RowError {
    pub row: usize,
    pub column: String,
    pub message: String,
}

/// The answer of an import.
#[derive(Debug, Default, Serialize, schemars::JsonSchema)]
pub struct ImportReport {
    pub imported: usize,
    pub errors: Vec<RowError>,
    /// A preview (`?dry_run=true`): nothing was written.
    pub dry_run: bool,
    /// Rows a preview found ready to import.
    pub would_import: usize,
    /// Customers the import creates (customers) or whose ledger it changes.
    pub customers: usize,
    /// Ledger months (per line) added, and already there and replaced.
    pub ledger_added: usize,
    pub ledger_replaced: usize,
    /// A manager's ledger import: the rows are their estimates, shown as
    /// such on the tablets, never graded or scored (the office's figures
    /// are imported by a head or the center).
    #[serde(default)]
    pub estimate: bool,
    /// Estimates left out because the office's figure for that month and
    /// line is already there.
    #[serde(default)]
    pub kept_official: usize,
}

/// `?dry_run=true`: check the whole file and answer what would be imported,
/// writing nothing.
#[derive(Debug, Default, serde::Deserialize, schemars::JsonSchema)]
pub struct ImportQuery {
    #[serde(default)]
    pub dry_run: bool,
}

fn preview(would_import: usize, customers: usize) -> Response {
    Json(ImportReport {
        dry_run: true,
        would_import,
        customers,
        ..Default::default()
    })
    .into_response()
}

fn whole_file(message: String) -> Vec<RowError> {
    vec![RowError {
        row: 0,
        column: String::new(),
        message,
    }]
}

/// What one import may make the server hold. An upload is bounded by the
/// router (`IMPORT_LIMIT`); these bound what parsing it may grow into, checked
/// where the data enters: a cell coordinate before anything is laid out for it,
/// a zip entry while it is inflated, a CSV record as it is read.
pub mod budget {
    /// Data rows (the header not counted).
    pub const MAX_ROWS: usize = 100_000;
    /// Columns of the header row; cells right of it are never read.
    pub const MAX_COLUMNS: usize = 256;
    /// Cells kept, rows times the header's width.
    pub const MAX_CELLS: usize = 1_000_000;
    /// Bytes of all an XLSX workbook's parts once inflated.
    pub const MAX_INFLATED: u64 = 48 * 1024 * 1024;
    /// Bytes of one CSV cell.
    pub const MAX_FIELD_BYTES: usize = 64 * 1024;
    /// Parts of an XLSX workbook.
    pub const MAX_PARTS: usize = 1_000;
}

/// Reads an XLSX (by its zip signature) or a CSV in UTF-8 (BOM or not) or GBK,
/// within [`budget`]. Blocking and CPU-bound: call it off the async threads.
pub fn read_table(bytes: &[u8]) -> Result<Table, Vec<RowError>> {
    if bytes.starts_with(b"PK\x03\x04") {
        // calamine 0.30 panics on some malformed workbooks (a cell naming a
        // shared string that is not there: found by the import_table fuzz
        // target); an upload must get an answer, not a dropped connection.
        std::panic::catch_unwind(|| read_xlsx(bytes)).unwrap_or_else(|_| {
            tracing::warn!("the XLSX reader panicked on an uploaded workbook");
            Err(whole_file(
                "无法读取此 XLSX 工作簿：内容不一致 / not a readable XLSX workbook: its contents are inconsistent".into(),
            ))
        })
    } else {
        read_csv(bytes)
    }
}

/// Rows as they are read: blank rows (often at the end of a sheet) are not
/// rows. The header is the first row, within the first ten, that looks like
/// one (title rows above it are skipped; with none, the first row is taken,
/// and the missing column is named); it sets the width every later row is
/// cut to.
struct Rows {
    /// Rows before the header was found: (file row, cells).
    above: Vec<(usize, Vec<String>)>,
    headers: Option<Vec<String>>,
    header_row: usize,
    rows: Vec<Vec<String>>,
    row_numbers: Vec<usize>,
    cells: usize,
}

impl Rows {
    fn new() -> Self {
        Rows {
            above: Vec::new(),
            headers: None,
            header_row: 0,
            rows: Vec::new(),
            row_numbers: Vec::new(),
            cells: 0,
        }
    }

    /// Takes `row` (file row `at`) as the header.
    fn set_header(&mut self, at: usize, mut row: Vec<String>) -> Result<(), Vec<RowError>> {
        while row.last().is_some_and(|c| c.is_empty()) {
            row.pop();
        }
        if row.len() > budget::MAX_COLUMNS {
            return Err(too_big(format!(
                "表头有 {} 列，导入最多读取 {} 列 / the header row has {} columns; an import reads at most {}",
                row.len(),
                budget::MAX_COLUMNS,
                row.len(),
                budget::MAX_COLUMNS
            )));
        }
        self.headers = Some(row);
        self.header_row = at;
        Ok(())
    }

    /// Adds one row of the file (`at` is its 1-based row number there).
    fn push(&mut self, at: usize, mut row: Vec<String>) -> Result<(), Vec<RowError>> {
        if row.iter().all(|c| c.is_empty()) {
            return Ok(());
        }
        match &self.headers {
            None => {
                if looks_like_header(&row) {
                    // Title rows above the header are not data.
                    self.above.clear();
                    return self.set_header(at, row);
                }
                self.above.push((at, row));
                if self.above.len() == HEADER_WITHIN {
                    self.no_header_found()?;
                }
            }
            Some(h) => {
                row.truncate(h.len());
                if self.rows.len() == budget::MAX_ROWS {
                    return Err(too_big(format!(
                        "第 {at} 行：文件超过 {} 行，请分成几次导入 / row {at}: the file has more than {} rows; split it into several imports",
                        budget::MAX_ROWS,
                        budget::MAX_ROWS
                    )));
                }
                self.cells += h.len().max(1);
                if self.cells > budget::MAX_CELLS {
                    return Err(too_big(format!(
                        "第 {at} 行：文件超过 {} 个单元格（行×列），请分成几次导入 / row {at}: the file has more than {} cells (rows × columns); split it into several imports",
                        budget::MAX_CELLS,
                        budget::MAX_CELLS
                    )));
                }
                self.rows.push(row);
                self.row_numbers.push(at);
            }
        }
        Ok(())
    }

    /// No row looked like a header: the first is taken as it (the check of
    /// the columns then names what it lacks) and the others are data.
    fn no_header_found(&mut self) -> Result<(), Vec<RowError>> {
        let mut above = std::mem::take(&mut self.above).into_iter();
        if let Some((at, first)) = above.next() {
            self.set_header(at, first)?;
            for (at, row) in above {
                self.push(at, row)?;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Table, Vec<RowError>> {
        if self.headers.is_none() {
            self.no_header_found()?;
        }
        match self.headers {
            None => Err(whole_file("文件是空的 / the file is empty".into())),
            Some(headers) => Ok(Table {
                headers,
                rows: self.rows,
                row_numbers: self.row_numbers,
                header_row: self.header_row,
            }),
        }
    }
}

fn too_big(message: String) -> Vec<RowError> {
    whole_file(message)
}

/// A CSV, read field by field from the upload's bytes (csv-core: no record
/// is held whole, so a row of a million commas costs nothing). The separators
/// and quotes are ASCII, which neither UTF-8 nor GBK uses inside a character,
/// so each field is decoded alone.
fn read_csv(bytes: &[u8]) -> Result<Table, Vec<RowError>> {
    use csv_core::ReadFieldResult;
    let mut input = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let gbk = std::str::from_utf8(input).is_err();
    let mut reader = csv_core::Reader::new();
    let (mut field, mut len) = (vec![0u8; 256], 0);
    let (mut row, mut at, mut rows) = (Vec::new(), 1, Rows::new());
    let mut column = 0;
    // Rows are numbered by lines, as a spreadsheet program shows the file
    // (csv-core skips blank lines; a quoted cell may span several).
    let (mut line, mut in_record) = (1, false);
    loop {
        if !in_record {
            while let Some((&b, rest)) = input.split_first() {
                match b {
                    b'\n' => line += 1,
                    b'\r' => {}
                    _ => break,
                }
                input = rest;
            }
            at = line;
            in_record = true;
        }
        let (result, read, wrote) = reader.read_field(input, &mut field[len..]);
        line += input[..read].iter().filter(|&&b| b == b'\n').count();
        input = &input[read..];
        len += wrote;
        match result {
            ReadFieldResult::InputEmpty => {}
            ReadFieldResult::OutputFull => {
                if field.len() >= budget::MAX_FIELD_BYTES {
                    return Err(too_big(format!(
                        "第 {at} 行：有单元格超过 {} 字节 / row {at}: a cell is longer than {} bytes",
                        budget::MAX_FIELD_BYTES,
                        budget::MAX_FIELD_BYTES
                    )));
                }
                field.resize(field.len() * 2, 0);
            }
            ReadFieldResult::Field { record_end } => {
                let raw = &field[..len];
                let col = column;
                column += 1;
                let width = match &rows.headers {
                    Some(h) => h.len(),
                    // The header row: a named column past the budget is refused.
                    None if col >= budget::MAX_COLUMNS && !raw.trim_ascii().is_empty() => {
                        return Err(too_big(format!(
                            "表头有 {} 列，导入最多读取 {} 列 / the header row has {} columns; an import reads at most {}",
                            col + 1,
                            budget::MAX_COLUMNS,
                            col + 1,
                            budget::MAX_COLUMNS
                        )));
                    }
                    None => budget::MAX_COLUMNS,
                };
                if row.len() < width {
                    let text = if gbk {
                        encoding_rs::GBK
                            .decode_without_bom_handling_and_without_replacement(raw)
                            .ok_or_else(|| {
                                whole_file(
                                    "文件既不是 UTF-8 或 GBK 文本，也不是 XLSX 工作簿 / the file is neither UTF-8 nor GBK text, nor an XLSX workbook"
                                        .into(),
                                )
                            })?
                    } else {
                        // The whole input was checked to be UTF-8 above.
                        String::from_utf8_lossy(raw)
                    };
                    row.push(text.trim().to_string());
                }
                len = 0;
                if record_end {
                    rows.push(at, std::mem::take(&mut row))?;
                    in_record = false;
                    column = 0;
                }
            }
            ReadFieldResult::End => break,
        }
    }
    rows.finish()
}

/// Inflates every part of the workbook into nothing, counting: a part that
/// inflates past the budget (a zip bomb) is refused before the XLSX reader
/// holds any of it. The sizes a zip declares can lie; these are counted.
fn check_inflated_size(bytes: &[u8]) -> Result<(), Vec<RowError>> {
    let unreadable = |e: zip::result::ZipError| {
        whole_file(format!(
            "无法读取此 XLSX 工作簿 / not a readable XLSX workbook: {e}"
        ))
    };
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(unreadable)?;
    if zip.len() > budget::MAX_PARTS {
        return Err(too_big(format!(
            "工作簿有 {} 个部件，导入最多读取 {} 个 / the workbook has {} parts; an import reads workbooks of at most {}",
            zip.len(),
            budget::MAX_PARTS,
            zip.len(),
            budget::MAX_PARTS
        )));
    }
    let mut left = budget::MAX_INFLATED;
    for i in 0..zip.len() {
        let part = zip.by_index(i).map_err(unreadable)?;
        let read = std::io::copy(&mut part.take(left + 1), &mut std::io::sink()).map_err(|e| {
            whole_file(format!(
                "无法读取此 XLSX 工作簿 / not a readable XLSX workbook: {e}"
            ))
        })?;
        if read > left {
            return Err(too_big(format!(
                "工作簿解压后超过 {} MB，请另存为 CSV 或拆分 / the workbook unpacks to more than {} MB; save it as CSV or split it",
                budget::MAX_INFLATED / (1024 * 1024),
                budget::MAX_INFLATED / (1024 * 1024)
            )));
        }
        left -= read;
    }
    Ok(())
}

/// The first sheet's cells, trimmed, streamed cell by cell: the sheet's
/// declared dimension and the coordinates in it are checked against the budget
/// before any row is laid out (a sheet claiming A1:XFD1048576 costs nothing).
fn read_xlsx(bytes: &[u8]) -> Result<Table, Vec<RowError>> {
    check_inflated_size(bytes)?;
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| {
        whole_file(format!(
            "无法读取此 XLSX 工作簿 / not a readable XLSX workbook: {e}"
        ))
    })?;
    let first = book
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| whole_file("工作簿没有工作表 / the workbook has no sheet".into()))?;
    let mut cells = book.worksheet_cells_reader(&first).map_err(|e| {
        whole_file(format!(
            "无法读取第一个工作表 / the first sheet cannot be read: {e}"
        ))
    })?;
    // Row number (0-based) → its non-empty cells (column, text).
    let mut sheet: BTreeMap<u32, Vec<(u32, String)>> = BTreeMap::new();
    let mut count = 0usize;
    while let Some(c) = cells.next_cell().map_err(|e| {
        whole_file(format!(
            "无法读取第一个工作表 / the first sheet cannot be read: {e}"
        ))
    })? {
        let (row, col) = c.get_position();
        // A date cell is read as its serial number (parse_month reads those).
        let text = match c.get_value() {
            calamine::DataRef::DateTime(d) => d.as_f64().to_string(),
            other => calamine::Data::from(other.clone()).to_string(),
        };
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        if row as usize > budget::MAX_ROWS + 1 {
            return Err(too_big(format!(
                "第 {} 行：工作表超过 {} 行，请分成几次导入 / row {}: the sheet has more than {} rows; split it into several imports",
                row as u64 + 1,
                budget::MAX_ROWS,
                row as u64 + 1,
                budget::MAX_ROWS
            )));
        }
        if col as usize >= budget::MAX_COLUMNS {
            // Right of any header an import reads: never looked at.
            continue;
        }
        count += 1;
        if count > budget::MAX_CELLS {
            return Err(too_big(format!(
                "工作表超过 {} 个单元格，请分成几次导入 / the sheet has more than {} cells; split it into several imports",
                budget::MAX_CELLS,
                budget::MAX_CELLS
            )));
        }
        sheet.entry(row).or_default().push((col, text.to_string()));
    }
    let mut rows = Rows::new();
    for (r, mut cs) in sheet {
        cs.sort_by_key(|(c, _)| *c);
        let width = rows.headers.as_ref().map_or(budget::MAX_COLUMNS, Vec::len);
        let last = cs.iter().map(|(c, _)| *c as usize + 1).max().unwrap_or(0);
        let mut row = vec![String::new(); last.min(width)];
        for (c, text) in cs {
            if let Some(slot) = row.get_mut(c as usize) {
                *slot = text;
            }
        }
        rows.push(r as usize + 1, row)?;
    }
    rows.finish()
}

/// The names a column goes by (the first is the template's).
const NAME: &[&str] = &["客户名称", "name"];
const MANAGER: &[&str] = &["客户经理", "manager"];
const CREDIT_CODE: &[&str] = &["统一社会信用代码", "credit_code"];
const NUMBER: &[&str] = &["客户编号", "customer_no"];
/// The longest customer number an import keeps.
const MAX_NUMBER_CHARS: usize = 40;

/// A column's header as the file writes it (`客户经理 `, `manager`), for
/// errors; its first name when the file has no such column.
pub fn as_written(headers: &[String], names: &[&str]) -> String {
    headers
        .iter()
        .find(|h| {
            let h = normalise_header(h);
            names.iter().any(|n| normalise_header(n) == h)
        })
        .cloned()
        .unwrap_or_else(|| names[0].to_string())
}

/// Finds a column by any of its names (as [`normalise_header`] reads them);
/// `Err` names the missing column.
fn column(t: &Table, names: &[&str]) -> Result<usize, RowError> {
    t.headers
        .iter()
        .position(|h| {
            let h = normalise_header(h);
            names.iter().any(|n| normalise_header(n) == h)
        })
        .ok_or_else(|| RowError {
            row: t.header_row,
            column: names[0].into(),
            message: format!(
                "表头缺少“{}”列 / the header row has no column {}",
                names[0],
                names.join(" / ")
            ),
        })
}

fn optional_column(t: &Table, names: &[&str]) -> Option<usize> {
    column(t, names).ok()
}

/// Fen in one unit of an amount column: `收入`, `收入(元)` are yuan,
/// `收入(万元)` ten thousand yuan.
const FEN_PER_YUAN: i64 = 100;
const FEN_PER_WAN: i64 = 1_000_000;

/// An amount column by any of its base names, with the unit its header names.
fn amount_column(t: &Table, bases: &[&str]) -> Option<(usize, i64)> {
    t.headers.iter().enumerate().find_map(|(i, h)| {
        let h = normalise_header(h);
        bases.iter().find_map(|b| {
            let b = normalise_header(b);
            if h == b || h == format!("{b}(元)") {
                Some((i, FEN_PER_YUAN))
            } else if h == format!("{b}(万元)") {
                Some((i, FEN_PER_WAN))
            } else {
                None
            }
        })
    })
}

fn cell(row: &[String], i: Option<usize>) -> String {
    i.and_then(|i| row.get(i)).cloned().unwrap_or_default()
}

/// Yuan with at most two decimals into fen, exactly (no floating point).
pub fn parse_yuan(s: &str) -> Result<i64, String> {
    parse_amount(s, FEN_PER_YUAN)
}

/// An amount as people write it (`¥12,345.00`, `12 345元`, `1.5` 万元) into
/// fen, exactly: no floating point, and more decimals than a fen is an error.
pub fn parse_amount(s: &str, fen_per_unit: i64) -> Result<i64, String> {
    let unit = if fen_per_unit == FEN_PER_WAN {
        "万元"
    } else {
        "元"
    };
    let t = s
        .trim()
        .trim_start_matches(['¥', '￥'])
        .trim_end_matches('元')
        .replace([',', '，', ' ', '\u{3000}'], "");
    let bad = || {
        format!(
            "“{s}”不是金额（以{unit}计，如 1234.50；不能为负，最小到分） / {s:?} is not an amount in {unit} (e.g. 1234.50, not negative, at most to the fen)"
        )
    };
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (!frac.is_empty() && !digits(frac)) || frac.len() > 6 {
        return Err(bad());
    }
    let too_large = || format!("“{s}”太大 / {s:?} is too large");
    let whole: i64 = whole.parse().map_err(|_| too_large())?;
    let scale = 10i64.pow(frac.len() as u32);
    let frac_value: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| bad())?
    };
    let frac_fen = frac_value * fen_per_unit;
    if frac_fen % scale != 0 {
        return Err(bad());
    }
    whole
        .checked_mul(fen_per_unit)
        .and_then(|w| w.checked_add(frac_fen / scale))
        .ok_or_else(too_large)
}

/// A business line by its code, its Chinese name or one of the aliases in
/// the operator's rules (`快递包裹` → 寄递).
fn parse_line(s: &str, aliases: &BTreeMap<String, Line>) -> Option<Line> {
    let s = s.trim();
    Line::ALL
        .iter()
        .find(|l| l.as_str().eq_ignore_ascii_case(s) || l.label_zh() == s)
        .cloned()
        .or_else(|| {
            aliases
                .iter()
                .find(|(k, _)| k.trim().eq_ignore_ascii_case(s))
                .map(|(_, l)| l.clone())
        })
}

/// A month as people write it: `2026-10`, `2026/10`, `2026.10`, `202610`,
/// `2026年10月`, `2026年10月份`, a date `2026-10-01`, or an Excel date
/// serial number (a date cell read as a number); into `YYYY-MM`.
pub fn parse_month(s: &str) -> Result<String, String> {
    let t = s.trim();
    if let Some(m) = serial_month(t) {
        return Ok(m);
    }
    let bad = || {
        format!(
            "“{t}”不是月份（如 2026-10、2026年10月） / {t:?} is not a month (e.g. 2026-10 or 2026年10月)"
        )
    };
    let num = |x: &str| -> Option<i64> {
        (!x.is_empty() && x.len() <= 4 && x.bytes().all(|b| b.is_ascii_digit()))
            .then(|| x.parse().ok())
            .flatten()
    };
    let (y, m) = if let Some((y, rest)) = t.split_once('年') {
        let m = rest.trim().trim_end_matches('份').trim_end_matches('月');
        (num(y.trim()), num(m.trim()))
    } else if let Some(sep) = ['-', '/', '.'].into_iter().find(|c| t.contains(*c)) {
        let mut parts = t.split(sep);
        (parts.next().and_then(num), parts.next().and_then(num))
    } else if t.len() == 6 && t.bytes().all(|b| b.is_ascii_digit()) {
        (num(&t[..4]), num(&t[4..]))
    } else {
        return Err(bad());
    };
    match (y, m) {
        (Some(year), Some(month)) if (1900..=2999).contains(&year) && (1..=12).contains(&month) => {
            Ok(fieldbook_shared::calendar::Month { year, month }.to_string())
        }
        _ => Err(bad()),
    }
}

/// An Excel date serial (days since 1899-12-30) of this century, as `YYYY-MM`.
fn serial_month(t: &str) -> Option<String> {
    let days: f64 = t.parse().ok()?;
    // 1927 to 2064: wider is a number, not a date.
    if !(10_000.0..60_000.0).contains(&days) {
        return None;
    }
    let (y, m, _) = fieldbook_shared::calendar::civil_from_days(days.floor() as i64 - 25_569);
    Some(format!("{y:04}-{m:02}"))
}

/// A customer row, checked for form (the server then checks people and duplicates).
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRow {
    pub row: usize,
    pub name: String,
    pub credit_code: String,
    pub nature: Nature,
    pub lines: Vec<Line>,
    pub address: String,
    pub industry: String,
    pub manager: String,
    /// The customer number the office already uses, if the file has one.
    pub number: String,
}

/// The rows, and every problem of form (a missing column is `Err`).
pub type Checked<T> = Result<(Vec<T>, Vec<RowError>), Vec<RowError>>;

pub fn customer_rows(t: &Table, aliases: &BTreeMap<String, Line>) -> Checked<CustomerRow> {
    let name = column(t, NAME).map_err(|e| vec![e])?;
    let manager = column(t, MANAGER).map_err(|e| vec![e])?;
    let code = optional_column(t, CREDIT_CODE);
    let nature = optional_column(t, &["客户性质", "nature"]);
    let lines = optional_column(t, &["业务类型", "lines"]);
    let address = optional_column(t, &["地址", "address"]);
    let industry = optional_column(t, &["行业", "industry"]);
    let number = optional_column(t, NUMBER);
    let header = |i: Option<usize>| cell(&t.headers, i);
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    for (r, &row) in t.rows.iter().zip(&t.row_numbers) {
        let mut bad = |column: &str, message: String| {
            errors.push(RowError {
                row,
                column: column.into(),
                message,
            })
        };
        let n = cell(r, Some(name));
        if n.is_empty() {
            bad(
                &header(Some(name)),
                "请填写客户名称 / a customer needs a name".into(),
            );
        }
        let m = cell(r, Some(manager));
        if m.is_empty() {
            bad(
                &header(Some(manager)),
                "请填写负责的客户经理（姓名、工号或登录名） / name the manager (display name, staff number or username) who will hold it".into(),
            );
        }
        let nat_text = cell(r, nature);
        let nat = if nat_text.is_empty() {
            Nature::Enterprise
        } else {
            match Nature::ALL
                .iter()
                .find(|x| x.as_str() == nat_text || x.label_zh() == nat_text)
            {
                Some(x) => x.clone(),
                None => {
                    bad(
                        &header(nature),
                        format!(
                            "“{nat_text}”不是客户性质（企业、个人、政府机构） / {nat_text:?} is not 企业, 个人 or 政府机构"
                        ),
                    );
                    Nature::Enterprise
                }
            }
        };
        let mut ls = Vec::new();
        for part in cell(r, lines)
            .split(['、', ',', '，', ';', '；'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match parse_line(part, aliases) {
                Some(l) => ls.push(l),
                None => bad(
                    &header(lines),
                    format!(
                        "“{part}”不是业务类型（寄递、金融、邮务、函件，或规则中的别名） / {part:?} is not a business line (寄递, 金融, 邮务, 函件, or an alias in the rules)"
                    ),
                ),
            }
        }
        out.push(CustomerRow {
            row,
            name: n,
            credit_code: cell(r, code).to_uppercase(),
            nature: nat,
            lines: ls,
            address: cell(r, address),
            industry: cell(r, industry),
            manager: m,
            number: cell(r, number).trim().to_string(),
        });
    }
    // A number is an identifier: short, no spaces (a cell may hold 64 KB).
    for c in out.iter().filter(|c| !c.number.is_empty()) {
        if c.number.chars().count() > MAX_NUMBER_CHARS || c.number.contains(char::is_whitespace) {
            errors.push(RowError {
                row: c.row,
                column: header(number),
                message: format!(
                    "客户编号不能含空格，最多 {MAX_NUMBER_CHARS} 个字符 / a customer number has no spaces and at most {MAX_NUMBER_CHARS} characters"
                ),
            });
        }
    }
    // The same customer number twice in one file is a mistake too.
    let mut numbers: BTreeMap<String, usize> = BTreeMap::new();
    for c in out.iter().filter(|c| !c.number.is_empty()) {
        if let Some(first) = numbers.insert(c.number.clone(), c.row) {
            errors.push(RowError {
                row: c.row,
                column: header(number),
                message: format!(
                    "与第 {first} 行的客户编号相同：{0} / the same customer number as row {first}: {0}",
                    c.number
                ),
            });
        }
    }
    // The same credit code twice in one file is a mistake in the file.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for c in &out {
        if c.credit_code.is_empty() {
            continue;
        }
        if let Some(first) = seen.insert(c.credit_code.clone(), c.row) {
            errors.push(RowError {
                row: c.row,
                column: header(code),
                message: format!(
                    "与第 {first} 行的统一社会信用代码相同 / the same credit code as row {first}"
                ),
            });
        }
    }
    Ok((out, errors))
}

/// A ledger row, checked for form.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerRow {
    pub row: usize,
    pub name: String,
    pub credit_code: String,
    pub entry: LedgerEntry,
}

pub fn ledger_rows(t: &Table, aliases: &BTreeMap<String, Line>) -> Checked<LedgerRow> {
    let month = column(t, &["月份", "month"]).map_err(|e| vec![e])?;
    let line = column(t, &["业务类型", "line"]).map_err(|e| vec![e])?;
    // Each amount column in yuan or ten thousand yuan, by its header.
    let (amount, amount_unit) = amount_column(t, &["收入", "金额", "amount"]).ok_or_else(|| {
        vec![RowError {
            row: t.header_row,
            column: "收入(元)".into(),
            message: "表头缺少“收入(元)”或“收入(万元)”列 / the header row has no column 收入(元) / 收入(万元) / amount".into(),
        }]
    })?;
    let name = optional_column(t, NAME);
    let code = optional_column(t, CREDIT_CODE);
    if name.is_none() && code.is_none() {
        return Err(vec![RowError {
            row: t.header_row,
            column: "客户名称".into(),
            message: "请用“客户名称”或“统一社会信用代码”列指明客户 / name the customer by 客户名称 or 统一社会信用代码".into(),
        }]);
    }
    let disbursed = amount_column(t, &["代发金额", "disbursed"]);
    let cross = amount_column(t, &["异地邮件", "cross_city"]);
    let header = |i: usize| t.headers.get(i).cloned().unwrap_or_default();
    let (mut out, mut errors) = (Vec::new(), Vec::new());
    for (r, &row) in t.rows.iter().zip(&t.row_numbers) {
        let mut bad = |column: &str, message: String| {
            errors.push(RowError {
                row,
                column: column.into(),
                message,
            })
        };
        let (n, c) = (cell(r, name), cell(r, code).to_uppercase());
        if n.is_empty() && c.is_empty() {
            let column = as_written(&t.headers, NAME);
            bad(&column, "请填写客户 / name the customer".into());
        }
        let m = parse_month(&cell(r, Some(month))).unwrap_or_else(|e| {
            bad(&header(month), e);
            String::new()
        });
        let l = parse_line(&cell(r, Some(line)), aliases).unwrap_or_else(|| {
            let v = cell(r, Some(line));
            bad(
                &header(line),
                format!(
                    "“{v}”不是业务类型（寄递、金融、邮务、函件，或规则中的别名） / {v:?} is not a business line (寄递, 金融, 邮务, 函件, or an alias in the rules)"
                ),
            );
            Line::Delivery
        });
        let mut money = |col: Option<(usize, i64)>, required: bool| -> i64 {
            let Some((i, unit)) = col else { return 0 };
            let s = cell(r, Some(i));
            if s.is_empty() && !required {
                return 0;
            }
            parse_amount(&s, unit).unwrap_or_else(|e| {
                errors.push(RowError {
                    row,
                    column: header(i),
                    message: e,
                });
                0
            })
        };
        let amount_fen = money(Some((amount, amount_unit)), true);
        let disbursed_fen = money(disbursed, false);
        let cross_city_fen = money(cross, false);
        out.push(LedgerRow {
            row,
            name: n,
            credit_code: c,
            entry: LedgerEntry {
                month: m,
                line: l,
                amount_fen,
                disbursed_fen,
                cross_city_fen,
                estimate: false,
            },
        });
    }
    Ok((out, errors))
}

/// A template's columns: (header, example, what it holds).
type Column = (&'static str, &'static str, &'static str);

const CUSTOMER_COLUMNS: [Column; 8] = [
    ("客户名称", "上海示例贸易有限公司", "必填。客户的全称"),
    (
        "统一社会信用代码",
        "91310000MA1EXAMPLE",
        "选填。18 位；同一代码的客户只能有一个",
    ),
    ("客户性质", "企业", "选填。企业、个人或政府机构；空着为企业"),
    (
        "业务类型",
        "寄递、函件",
        "选填。寄递、金融、邮务、函件，或规则中的别名（如快递包裹），用顿号或逗号分隔",
    ),
    ("地址", "上海市浦东新区示例路1号", "选填"),
    ("行业", "零售", "选填"),
    (
        "客户经理",
        "张伟",
        "必填。负责的客户经理：姓名、工号或登录名；同名的用户请写工号或登录名",
    ),
    (
        "客户编号",
        "",
        "选填。已有的客户编号照录（不能与其他客户重复）；空着由系统按规则编号",
    ),
];

const LEDGER_COLUMNS: [Column; 7] = [
    (
        "客户名称",
        "上海示例贸易有限公司",
        "客户名称或统一社会信用代码至少填一项；同名客户请用代码",
    ),
    ("统一社会信用代码", "91310000MA1EXAMPLE", "见上"),
    (
        "月份",
        "2026年10月",
        "必填。如 2026-10、2026/10、2026年10月，或日期单元格",
    ),
    (
        "业务类型",
        "寄递",
        "必填。寄递、金融、邮务、函件，或规则中的别名",
    ),
    (
        "收入(元)",
        "12345.00",
        "必填。元；可带 ￥ 和千分位；表头写作“收入(万元)”则以万元计。不能为负",
    ),
    ("代发金额(元)", "0", "选填。单位同上"),
    ("异地邮件(元)", "0", "选填。单位同上"),
];

/// `GET /api/import/{customers|ledger}/template.{xlsx|csv}`: the headers an
/// import reads, one example row, and (in the workbook) a second sheet that
/// explains each column.
pub async fn template(
    _user: AuthUser,
    Path((kind, file)): Path<(String, String)>,
) -> Result<Response, ServerError> {
    let columns = match kind.as_str() {
        "customers" => &CUSTOMER_COLUMNS[..],
        "ledger" => &LEDGER_COLUMNS,
        other => {
            return Err(ServerError::NotFound(format!(
                "没有导入 {other}：可用 customers 或 ledger / no import {other}: customers or ledger"
            )));
        }
    };
    let sheet = crate::http::export::Sheet {
        headers: columns.iter().map(|c| c.0).collect(),
        rows: vec![columns.iter().map(|c| c.1.to_string()).collect()],
    };
    let (bytes, mime) = match file.as_str() {
        "template.csv" => (
            crate::http::export::to_csv(&sheet)?,
            "text/csv; charset=utf-8",
        ),
        "template.xlsx" => {
            let x = |e: rust_xlsxwriter::XlsxError| ServerError::Internal(format!("XLSX: {e}"));
            let mut book = rust_xlsxwriter::Workbook::new();
            let bold = rust_xlsxwriter::Format::new().set_bold();
            let ws = book.add_worksheet().set_name("导入").map_err(x)?;
            for (c, (h, example, _)) in columns.iter().enumerate() {
                ws.write_string_with_format(0, c as u16, *h, &bold)
                    .map_err(x)?;
                ws.write_string(1, c as u16, *example).map_err(x)?;
                ws.set_column_width(c as u16, 20).map_err(x)?;
            }
            let help = book.add_worksheet().set_name("说明").map_err(x)?;
            help.write_string_with_format(0, 0, "列", &bold)
                .map_err(x)?;
            help.write_string_with_format(0, 1, "说明", &bold)
                .map_err(x)?;
            for (r, (h, _, what)) in columns.iter().enumerate() {
                help.write_string(r as u32 + 1, 0, *h).map_err(x)?;
                help.write_string(r as u32 + 1, 1, *what).map_err(x)?;
            }
            help.set_column_width(1, 80).map_err(x)?;
            (
                book.save_to_buffer().map_err(x)?,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        }
        other => {
            return Err(ServerError::NotFound(format!(
                "没有模板 {other}：可用 template.xlsx 或 template.csv / no template {other}: template.xlsx or template.csv"
            )));
        }
    };
    let name = format!(
        "{kind}-template.{}",
        file.rsplit('.').next().unwrap_or("csv")
    );
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, mime.to_string()),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// One import parses at a time, on a blocking thread: [`budget`] is then the
/// most that parsing holds at once, and the async threads keep serving.
static PARSING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// The file's rows, checked, and its header row (for errors found later).
async fn parse<T: Send + 'static>(
    state: &AppState,
    body: Bytes,
    rows: fn(&Table, &BTreeMap<String, Line>) -> Checked<T>,
) -> Result<Result<(Vec<T>, Vec<RowError>, Vec<String>), Vec<RowError>>, ServerError> {
    let aliases = state.rules.get().imports.line_aliases.clone();
    let _one_at_a_time = PARSING
        .acquire()
        .await
        .map_err(|e| ServerError::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        read_table(&body).and_then(|t| rows(&t, &aliases).map(|(r, e)| (r, e, t.headers)))
    })
    .await
    .map_err(|e| ServerError::Internal(format!("the import parser failed: {e}")))
}

fn refused_in(mut errors: Vec<RowError>, headers: &HeaderMap) -> Response {
    let english = crate::language::wants_english(headers);
    for e in &mut errors {
        e.message = crate::language::localise(&e.message, english);
    }
    refused(errors)
}

fn refused(errors: Vec<RowError>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(ImportReport {
            imported: 0,
            errors,
            ..Default::default()
        }),
    )
        .into_response()
}

/// `POST /api/import/customers` (heads for their subtree, the center for all).
pub async fn customers(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ServerError> {
    if let Some(refused) = crate::web_security::require_spreadsheet(&headers) {
        return Ok(refused);
    }
    if !matches!(user.role, Role::Head | Role::Admin) {
        return Err(ServerError::Forbidden(
            "客户由首席客户经理和大客中心导入 / customers are imported by unit heads and the center"
                .into(),
        ));
    }
    let (rows, mut errors, headers_written) = match parse(&state, body, customer_rows).await? {
        Ok(r) => r,
        Err(e) => return Ok(refused_in(e, &headers)),
    };
    // People and duplicates, against the database.
    let wanted: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.manager.clone(), r.credit_code.clone()))
        .collect();
    // A manager as the office names them: login name, else staff number
    // (工号, unique), else display name (张伟); a display name two users
    // share is refused with both, never guessed.
    let (managers, taken, ambiguous): People = state
        .db
        .call(move |c| {
            let mut who = c.prepare_cached(
                "SELECT id, unit, role, disabled FROM users WHERE username = ?1 OR staff_no = ?1
                     ORDER BY username = ?1 DESC LIMIT 1",
            )?;
            let mut by_name = c.prepare_cached(
                "SELECT u.id, u.unit, u.role, u.disabled, u.username, COALESCE(n.name, u.unit)
                 FROM users u LEFT JOIN units n ON n.code = u.unit
                 WHERE u.display_name = ?1 ORDER BY u.username",
            )?;
            let mut code = c.prepare_cached(
                "SELECT 1 FROM customer_index WHERE credit_code = ?1 AND credit_code <> ''",
            )?;
            let (mut managers, mut taken, mut ambiguous) =
                (BTreeMap::new(), BTreeSet::new(), BTreeMap::new());
            for (m, cc) in wanted {
                let seen = managers.contains_key(&m) || ambiguous.contains_key(&m);
                if seen {
                    // Looked up already (the same manager on many rows).
                } else if let Some(u) = who
                    .query_row([&m], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? != 0))
                    })
                    .optional()?
                {
                    managers.insert(m, u);
                } else {
                    let found: Vec<(Holder, String)> = by_name
                        .query_map([&m], |r| {
                            Ok((
                                (r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, i64>(3)? != 0),
                                format!("{}（{}）", r.get::<_, String>(4)?, r.get::<_, String>(5)?),
                            ))
                        })?
                        .collect::<Result<_, _>>()?;
                    match found.len() {
                        0 => {}
                        1 => {
                            managers.insert(m, found[0].0.clone());
                        }
                        _ => {
                            ambiguous.insert(m, found.into_iter().map(|f| f.1).collect());
                        }
                    }
                }
                if !cc.is_empty() && code.exists([&cc])? {
                    taken.insert(cc);
                }
            }
            Ok((managers, taken, ambiguous))
        })
        .await?;
    for r in &rows {
        match managers.get(&r.manager) {
            None => errors.push(RowError {
                row: r.row,
                column: as_written(&headers_written, MANAGER),
                message: match ambiguous.get(&r.manager) {
                    Some(who) => format!(
                        "“{0}”对应多位用户：{1}；请填写工号或登录名 / {0} names several users: {1}; use the staff number or the username",
                        r.manager,
                        who.join("、")
                    ),
                    None => format!(
                        "没有名为“{0}”的用户（姓名、工号或登录名） / there is no user {0} (display name, staff number or username)",
                        r.manager
                    ),
                },
            }),
            Some((_, unit, role, disabled)) => {
                let in_scope = user.role == Role::Admin || state.acl.is_within(unit, &user.unit);
                if *disabled || role == "admin" || !in_scope {
                    errors.push(RowError {
                        row: r.row,
                        column: as_written(&headers_written, MANAGER),
                        message: format!(
                            "{0} 不能接收你导入的客户（已停用、属大客中心或不在你的单位） / {0} cannot hold customers imported by you (disabled, the center, or outside your unit)",
                            r.manager
                        ),
                    });
                }
            }
        }
        if taken.contains(&r.credit_code) {
            errors.push(RowError {
                row: r.row,
                column: as_written(&headers_written, CREDIT_CODE),
                message: format!(
                    "统一社会信用代码为 {0} 的客户已存在 / a customer with credit code {0} already exists",
                    r.credit_code
                ),
            });
        }
    }
    // A number the office already uses must be free.
    let numbers: Vec<String> = rows
        .iter()
        .filter(|r| !r.number.is_empty())
        .map(|r| r.number.clone())
        .collect();
    let used: BTreeSet<String> = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT EXISTS(SELECT 1 FROM customer_numbers WHERE number = ?1)",
            )?;
            let mut used = BTreeSet::new();
            for n in numbers {
                if stmt.query_row([&n], |r| r.get::<_, bool>(0))? {
                    used.insert(n);
                }
            }
            Ok(used)
        })
        .await?;
    for r in rows.iter().filter(|r| used.contains(&r.number)) {
        errors.push(RowError {
            row: r.row,
            column: as_written(&headers_written, NUMBER),
            message: format!(
                "客户编号 {0} 已属于其他客户 / customer number {0} belongs to another customer",
                r.number
            ),
        });
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        return Ok(refused_in(errors, &headers));
    }
    if q.dry_run {
        return Ok(preview(rows.len(), rows.len()));
    }
    let actor = history::bind_server_actor(&state, user.id).await?;
    // Until they are registered, the projector leaves these customers be.
    let registering = state.registering.write().await;
    let mut created = Vec::new();
    let mut numbering = Vec::new();
    for r in &rows {
        let (id, unit, _, _) = managers[&r.manager].clone();
        let mut c = Customer::new(&r.name, &r.credit_code, r.nature.clone(), r.lines.clone());
        c.registered_on = crate::today();
        c.address = r.address.clone();
        c.industry = r.industry.clone();
        let mut doc = Automerge::new().with_actor(actor.clone());
        doc.transact(|tx| c.create(tx))
            .map_err(|e| ServerError::Internal(format!("{e:?}")))?;
        let hashes = history::hashes_of(&doc);
        let doc_id = state.repo.create(doc).await?.document_id().to_string();
        state.authors.note(&doc_id, hashes, user.id);
        numbering.push((r.number.clone(), r.lines.first().cloned()));
        created.push((doc_id, id, unit));
    }
    // Their rows name them: stored first.
    let ids: Vec<String> = created.iter().map(|(d, _, _)| d.clone()).collect();
    state.storage.wait_stored(&ids).await?;
    // One transaction registers them all, each with its number (客户编号):
    // the file's, else the rules' next.
    let (by, rows_to_store) = (user.id, created.clone());
    let (pattern, today) = (state.rules.get().numbers.pattern.clone(), crate::today());
    state
        .db
        .call(move |c| {
            let tx = c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
            for ((doc, manager, unit), (number, line)) in rows_to_store.iter().zip(&numbering) {
                tx.execute(
                    "INSERT INTO customers (doc_id, primary_user, assistant_user, unit, registered_by, registered_at)
                     VALUES (?1, ?2, NULL, ?3, ?4, ?5)",
                    params![doc, manager, unit, by, crate::now()],
                )?;
                if number.is_empty() {
                    crate::numbers::assign_with(&tx, doc, &pattern, &today, unit, line.as_ref())?;
                } else {
                    crate::numbers::keep(&tx, doc, number)?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await?;
    let mut users = BTreeSet::new();
    for (doc, manager, unit) in &created {
        state.acl.set_customer(
            doc,
            Assignment {
                primary: *manager,
                assistant: None,
                unit: unit.clone(),
            },
        );
        users.extend(state.acl.users_who_see(doc));
        let _ = state.changed.send(doc.clone());
    }
    drop(registering);
    // Answer only once the customers are listed, in reports and in the
    // lookups of a following import (the ledger, usually, at once).
    crate::projection::project_now(&state, created.iter().map(|c| c.0.clone()).collect()).await?;
    for u in users {
        books::refresh_user(&state, u).await?;
    }
    tracing::info!(by = %user.username, count = created.len(), "customers imported");
    Ok(Json(ImportReport {
        imported: created.len(),
        customers: created.len(),
        ..Default::default()
    })
    .into_response())
}

/// `POST /api/import/ledger`: monthly revenue per customer and line; a month and
/// line already there is replaced, others are added.
pub async fn ledger(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<ImportQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ServerError> {
    if let Some(refused) = crate::web_security::require_spreadsheet(&headers) {
        return Ok(refused);
    }
    let (rows, mut errors, headers_written) = match parse(&state, body, ledger_rows).await? {
        Ok(r) => r,
        Err(e) => return Ok(refused_in(e, &headers)),
    };
    let visible: BTreeSet<String> = state.acl.visible_customers(user.id).into_iter().collect();
    let keys: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.credit_code.clone(), r.name.clone()))
        .collect();
    let found: Vec<Vec<String>> = state
        .db
        .call(move |c| {
            let mut by_code = c.prepare_cached(
                "SELECT doc_id FROM customer_index WHERE credit_code = ?1 AND credit_code <> ''",
            )?;
            let mut by_name =
                c.prepare_cached("SELECT doc_id FROM customer_index WHERE name = ?1")?;
            let mut out = Vec::new();
            for (code, name) in keys {
                let docs: Vec<String> = if code.is_empty() {
                    by_name
                        .query_map([&name], |r| r.get(0))?
                        .collect::<Result<_, _>>()?
                } else {
                    by_code
                        .query_map([&code], |r| r.get(0))?
                        .collect::<Result<_, _>>()?
                };
                out.push(docs);
            }
            Ok(out)
        })
        .await?;
    let mut by_doc: BTreeMap<String, Vec<LedgerEntry>> = BTreeMap::new();
    for (r, docs) in rows.iter().zip(found) {
        let docs: Vec<&String> = docs.iter().filter(|d| visible.contains(*d)).collect();
        let (column, key) = if r.credit_code.is_empty() {
            (as_written(&headers_written, NAME), &r.name)
        } else {
            (as_written(&headers_written, CREDIT_CODE), &r.credit_code)
        };
        match docs.as_slice() {
            [one] => by_doc
                .entry((*one).clone())
                .or_default()
                .push(r.entry.clone()),
            [] => errors.push(RowError {
                row: r.row,
                column,
                message: format!(
                    "你的客户中没有“{key}”；请先导入或登记这个客户 / no customer of yours matches {key}; import or register it first"
                ),
            }),
            _ => errors.push(RowError {
                row: r.row,
                column,
                message: format!(
                    "有多个客户名为“{key}”；请用统一社会信用代码列指明 / several customers are named {key}; use the credit code column"
                ),
            }),
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        return Ok(refused_in(errors, &headers));
    }
    // A preview reads each customer's ledger to say what would be replaced;
    // an import does the same and then writes. A head's or the center's
    // import is the office's figure (also kept in the server's own table,
    // which alone grades and scores); a manager's is their estimate.
    let official_import = matches!(user.role, Role::Head | Role::Admin);
    let mut report = ImportReport {
        dry_run: q.dry_run,
        customers: by_doc.len(),
        estimate: !official_import,
        ..Default::default()
    };
    let docs: Vec<String> = by_doc.keys().cloned().collect();
    let actor = if q.dry_run {
        None
    } else {
        Some(history::bind_server_actor(&state, user.id).await?)
    };
    let mut official_rows: Vec<(String, Vec<LedgerEntry>)> = Vec::new();
    for (doc_id, mut entries) in by_doc {
        let id: DocumentId = doc_id
            .parse()
            .map_err(|_| ServerError::Internal(format!("bad document id {doc_id}")))?;
        let Some(handle) = state.repo.find(id).await? else {
            return Err(ServerError::Internal(format!(
                "customer {doc_id} is not stored"
            )));
        };
        for e in &mut entries {
            e.estimate = !official_import;
        }
        if !official_import {
            // An estimate never covers the office's figure.
            let official: BTreeSet<(String, String)> = handle.with_document(|d| {
                fieldbook_shared::customer::Customer::load(d).map(|c| {
                    fieldbook_shared::customer::official(&c.ledger)
                        .into_iter()
                        .map(|e| (e.month, e.line.as_str().to_string()))
                        .collect()
                })
            })?;
            let before = entries.len();
            entries.retain(|e| !official.contains(&(e.month.clone(), e.line.as_str().to_string())));
            report.kept_official += before - entries.len();
        }
        let (added, replaced) =
            handle.with_document(|d| fieldbook_shared::customer::ledger_effect(d, &entries))?;
        report.ledger_added += added;
        report.ledger_replaced += replaced;
        if q.dry_run {
            report.would_import += entries.len();
            continue;
        }
        report.imported += entries.len();
        if official_import {
            official_rows.push((doc_id.clone(), entries.clone()));
        }
        let actor = actor
            .clone()
            .ok_or_else(|| ServerError::Internal("no actor bound".into()))?;
        history::write_as(&state, &handle, actor, user.id, |d| {
            d.transact(|tx| fieldbook_shared::customer::merge_ledger(tx, &entries))
                .map(|_| ())
                .map_err(|e| ServerError::Schema(e.error))
        })?;
    }
    if !q.dry_run && !official_rows.is_empty() {
        let by = user.id;
        state
            .db
            .call(move |c| crate::projection::ledger::record_import(c, &official_rows, by))
            .await?;
    }
    if !q.dry_run {
        // Answer once the revenue is in the reports and the grades.
        crate::projection::project_now(&state, docs).await?;
        tracing::info!(by = %user.username, rows = report.imported, "ledger imported");
    }
    Ok(Json(report).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aliases() -> BTreeMap<String, Line> {
        fieldbook_shared::rules::ImportRules::default().line_aliases
    }

    #[test]
    fn a_customer_number_is_kept_short_unique_and_without_spaces() {
        let long = "K".repeat(41);
        let csv = format!(
            "客户名称,客户经理,客户编号\n甲,m1,OLD-1\n乙,m1,OLD-1\n丙,m1,A B\n丁,m1,{long}\n戊,m1,\n"
        );
        let t = read_table(csv.as_bytes()).unwrap();
        let (rows, errors) = customer_rows(&t, &aliases()).unwrap();
        assert_eq!(rows[0].number, "OLD-1");
        let rows_wrong: Vec<usize> = errors.iter().map(|e| e.row).collect();
        assert_eq!(rows_wrong, [4, 5, 3], "{errors:?}");
        assert!(errors.iter().all(|e| e.column == "客户编号"));
    }

    #[test]
    fn months_as_people_write_them() {
        for m in [
            "2026-10",
            "2026/10",
            "2026.10",
            "202610",
            "2026年10月",
            "2026年10月份",
            " 2026年10月 ",
            "2026-10-01",
            "2026-10-01T00:00:00",
        ] {
            assert_eq!(parse_month(m).as_deref(), Ok("2026-10"), "{m}");
        }
        // 2026-10-15 as an Excel date serial (a date cell read as a number).
        assert_eq!(parse_month("46310").as_deref(), Ok("2026-10"));
        assert_eq!(parse_month("46310.5").as_deref(), Ok("2026-10"));
        assert_eq!(parse_month("2026年3月").as_deref(), Ok("2026-03"));
        for bad in ["2026-13", "10月", "abc", "", "12345678"] {
            let e = parse_month(bad).unwrap_err();
            assert!(e.contains("不是月份"), "{bad}: {e}");
        }
    }

    #[test]
    fn amounts_as_people_write_them_exactly_to_the_fen() {
        assert_eq!(parse_amount("¥12,345.00", FEN_PER_YUAN), Ok(1_234_500));
        assert_eq!(parse_amount("￥ 12 345.6 元", FEN_PER_YUAN), Ok(1_234_560));
        assert_eq!(parse_amount("1.5", FEN_PER_WAN), Ok(1_500_000));
        assert_eq!(parse_amount("0.000001", FEN_PER_WAN), Ok(1));
        assert_eq!(parse_amount("12.3456", FEN_PER_WAN), Ok(12_345_600));
        assert!(parse_amount("0.0000001", FEN_PER_WAN).is_err());
        assert!(parse_amount("1.234", FEN_PER_YUAN).is_err());
        let e = parse_amount("-5", FEN_PER_YUAN).unwrap_err();
        assert!(e.contains("不能为负"), "{e}");
    }

    #[test]
    fn business_lines_by_their_aliases() {
        let a = aliases();
        assert_eq!(parse_line("快递包裹", &a), Some(Line::Delivery));
        assert_eq!(parse_line("ems", &a), Some(Line::Delivery));
        assert_eq!(parse_line("代发工资", &a), Some(Line::Finance));
        assert_eq!(parse_line("寄递", &a), Some(Line::Delivery));
        assert_eq!(parse_line("letter", &a), Some(Line::Letter));
        assert_eq!(parse_line("外卖", &a), None);
    }

    /// A title row and a blank row above the header: the header is found, and
    /// errors name rows as the file numbers them.
    #[test]
    fn the_header_is_found_below_a_title_and_rows_keep_their_numbers() {
        let csv = "2026年东区大客户收入台账,,,\n\n客户名称,月份,业务类型,收入（万元）\n甲公司,2026年10月,快递包裹,1.25\n乙公司,2026年13月,寄递,1\n";
        let t = read_table(csv.as_bytes()).unwrap();
        assert_eq!(t.header_row, 3);
        assert_eq!(t.row_numbers, [4, 5]);
        let (rows, errors) = ledger_rows(&t, &aliases()).unwrap();
        assert_eq!(rows[0].entry.month, "2026-10");
        assert_eq!(rows[0].entry.line, Line::Delivery);
        assert_eq!(rows[0].entry.amount_fen, 1_250_000);
        let at: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(at, [(5, "月份")]);
        // No header-like row: the first row is taken and the missing column named.
        let t = read_table("甲,乙\n丙,丁\n".as_bytes()).unwrap();
        let e = customer_rows(&t, &aliases()).unwrap_err();
        assert_eq!((e[0].row, e[0].column.as_str()), (1, "客户名称"));
    }

    #[test]
    fn yuan_is_parsed_exactly() {
        assert_eq!(parse_yuan("1234.5"), Ok(123_450));
        assert_eq!(parse_yuan("1,234.56"), Ok(123_456));
        assert_eq!(parse_yuan("0"), Ok(0));
        assert!(parse_yuan("-1").is_err());
        assert!(parse_yuan("1.234").is_err());
        assert!(parse_yuan("abc").is_err());
        assert!(parse_yuan("").is_err());
    }

    #[test]
    fn every_bad_row_is_named_and_gbk_is_read() {
        let csv = "客户名称,月份,业务类型,收入(元)\n甲公司,2026-10,寄递,100\n乙公司,2026-13,寄递,100\n丙公司,2026-10,外卖,-5\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(csv);
        let t = read_table(&gbk).unwrap();
        assert_eq!(t.headers[0], "客户名称");
        let e = ledger_rows(&t, &aliases()).unwrap().1;
        let at: Vec<(usize, &str)> = e.iter().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(at, [(3, "月份"), (4, "业务类型"), (4, "收入(元)")]);
    }

    /// Found by the import_table fuzz target: a workbook whose cells name
    /// shared strings it does not have made calamine 0.30 index out of bounds
    /// (a panic in the upload handler). Now it is a whole-file error.
    #[test]
    fn a_workbook_calamine_panics_on_is_an_error() {
        let xlsx = include_bytes!("../../tests/fuzz/xlsx_missing_shared_strings.xlsx");
        let e = read_table(xlsx).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].row, 0);
        assert!(e[0].message.contains("XLSX"), "{}", e[0].message);
    }

    fn refusal(bytes: &[u8]) -> String {
        let e = read_table(bytes).unwrap_err();
        assert_eq!((e.len(), e[0].row), (1, 0), "{e:?}");
        e[0].message.clone()
    }

    /// A 1.5 KB sheet claiming A1:XFD1048576 made calamine lay out 2^34 cells
    /// (the process aborted); one with cells A1 and Z200000 cost +284 MB.
    #[test]
    fn a_sheets_coordinates_are_bounded_before_any_row_is_laid_out() {
        let m = refusal(include_bytes!("../../tests/bombs/dimension.xlsx"));
        assert!(m.contains("more than 100000 rows"), "{m}");
        let m = refusal(include_bytes!("../../tests/bombs/tall.xlsx"));
        assert!(m.contains("row 200000"), "{m}");
        // The dimension a sheet claims is not believed, and costs nothing.
        let t = read_table(include_bytes!("../../tests/bombs/lying.xlsx")).unwrap();
        assert_eq!(t.headers, ["客户名称", "客户经理"]);
        assert_eq!(t.rows, [["甲公司", "m1"]]);
    }

    #[test]
    fn a_workbook_that_inflates_past_the_budget_is_refused() {
        let m = refusal(include_bytes!("../../tests/bombs/zipbomb.xlsx"));
        assert!(m.contains("unpacks to more than 48 MB"), "{m}");
    }

    /// A 16 MB CSV of commas held one `String` per field (+1,450 MB).
    #[test]
    fn csv_rows_are_cut_to_the_header_and_counted() {
        let mut csv = "客户名称,客户经理\n甲公司,m1".to_string();
        csv.push_str(&",".repeat(4_000_000));
        csv.push_str("\n\n\n乙公司,m2\n");
        let t = read_table(csv.as_bytes()).unwrap();
        assert_eq!(t.rows, [["甲公司", "m1"], ["乙公司", "m2"]]);

        let header = ",".repeat(300) + "x\n";
        assert!(refusal(header.as_bytes()).contains("301 columns"));

        let tall = "客户名称\n".to_string() + &"甲\n".repeat(budget::MAX_ROWS + 1);
        assert!(refusal(tall.as_bytes()).contains("more than 100000 rows"));

        let wide_cell = format!(
            "客户名称\n\"{}\"\n",
            "x".repeat(budget::MAX_FIELD_BYTES + 1)
        );
        assert!(refusal(wide_cell.as_bytes()).contains("row 2: a cell is longer"));
    }

    #[test]
    fn quoted_csv_fields_keep_their_commas_and_newlines() {
        let t = read_table("客户名称,地址\n\"甲,公司\",\"上海\n浦东\"\n".as_bytes()).unwrap();
        assert_eq!(t.rows, [["甲,公司", "上海\n浦东"]]);
        let bad = [0x81u8, 0x20, b'\n'];
        assert!(refusal(&bad).contains("neither UTF-8 nor GBK"));
    }

    #[test]
    fn a_missing_column_is_named() {
        let t = read_table("\u{feff}客户名称,地址\n甲公司,上海\n".as_bytes()).unwrap();
        let e = customer_rows(&t, &aliases()).unwrap_err();
        assert_eq!((e[0].row, e[0].column.as_str()), (1, "客户经理"));
    }
}
