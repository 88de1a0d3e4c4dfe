//! `fieldbook-server migrate --from fieldbook.db --to postgres://…`: a SQLite
//! deployment copied into an empty PostgreSQL database, in one transaction,
//! then verified: every table's row count, and every document's heads read
//! back from PostgreSQL equal to those in the SQLite file.

use std::collections::BTreeSet;

use crate::error::ServerError;
use crate::store::db;
use crate::store::sql::{Connection, Location, TransactionBehavior, Value};

/// What was copied.
#[derive(Debug, Default)]
pub struct Report {
    /// Rows per table, as counted in both databases.
    pub tables: Vec<(String, i64)>,
    /// Documents whose heads were compared (all of them).
    pub documents: usize,
}

/// Rows per INSERT: PostgreSQL takes at most 65,535 parameters per statement.
const MAX_PARAMS: usize = 30_000;
const MAX_ROWS: usize = 500;

/// Copies `from` (SQLite) into `to` (PostgreSQL, empty), then verifies.
pub fn copy(from: &Location, to: &Location) -> Result<Report, ServerError> {
    let (Some(path), true) = (from.sqlite_path(), to.is_postgres()) else {
        return Err(ServerError::BadRequest(
            "迁移从 SQLite 文件到 PostgreSQL / migrate copies a SQLite file (--from) into PostgreSQL (--to)".into(),
        ));
    };
    if !path.is_file() {
        return Err(ServerError::NotFound(format!(
            "没有这个数据库文件 {0} / no database file at {0}",
            path.display()
        )));
    }
    // Both brought to this release's schema first (the file may be older).
    let source = db::open_and_migrate(from)?;
    let mut target = db::open_and_migrate(to)?;
    let tables = tables_in_order(&source)?;
    for table in ["users", "samod_storage", "customers"] {
        let n: i64 =
            target.query_row(&format!("SELECT COUNT(*) FROM {table}"), (), |r| r.get(0))?;
        if n > 0 {
            return Err(ServerError::Conflict(format!(
                "目标数据库不是空的（{table} 有 {n} 行）；请用新建的数据库 / the target database is not empty ({table} has {n} rows): migrate into a new database"
            )));
        }
    }
    let tx = target.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The start-up rows an empty database gets (rules, settings) give way to the file's.
    for table in tables.iter().rev() {
        tx.execute(&format!("DELETE FROM {table}"), ())?;
    }
    for table in &tables {
        copy_table(&source, &tx, table)?;
    }
    // Identity columns continue after the copied ids.
    for table in ["users", "handover_requests", "credit_warnings", "handovers"] {
        tx.execute_batch(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        ))?;
    }
    tx.commit()?;
    verify(&source, &target, &tables)
}

/// The file's tables, those others refer to first (units, users).
fn tables_in_order(source: &Connection) -> Result<Vec<String>, ServerError> {
    let mut names: Vec<String> = source
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?
        .query_map((), |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    names.sort_by_key(|n| match n.as_str() {
        "units" => 0,
        "users" => 1,
        _ => 2,
    });
    Ok(names)
}

fn columns(source: &Connection, table: &str) -> Result<Vec<String>, ServerError> {
    Ok(source
        .prepare(&format!(
            "SELECT name FROM pragma_table_info('{table}') ORDER BY cid"
        ))?
        .query_map((), |r| r.get(0))?
        .collect::<Result<_, _>>()?)
}

fn copy_table(source: &Connection, target: &Connection, table: &str) -> Result<(), ServerError> {
    let cols = columns(source, table)?;
    let mut stmt = source.prepare(&format!("SELECT {} FROM {table}", cols.join(", ")))?;
    let mut rows = stmt.query(())?;
    let per_insert = (MAX_PARAMS / cols.len().max(1)).clamp(1, MAX_ROWS);
    let mut batch: Vec<Vec<Value>> = Vec::new();
    while let Some(r) = rows.next()? {
        let row: Vec<Value> = (0..cols.len())
            .map(|i| r.get::<_, Value>(i))
            .collect::<Result<_, _>>()?;
        batch.push(row);
        // Units refer to their parent: kept whole and ordered below.
        if batch.len() >= per_insert && table != "units" {
            insert(target, table, &cols, &batch)?;
            batch.clear();
        }
    }
    if table == "units" {
        return insert_units(target, &cols, batch);
    }
    if !batch.is_empty() {
        insert(target, table, &cols, &batch)?;
    }
    Ok(())
}

/// The org tree, parents before children however deep it is.
fn insert_units(
    target: &Connection,
    cols: &[String],
    mut pending: Vec<Vec<Value>>,
) -> Result<(), ServerError> {
    let at = |name: &str| cols.iter().position(|c| c == name);
    let (parent_at, code_at) = (at("parent"), at("code"));
    let mut done: BTreeSet<String> = BTreeSet::new();
    while !pending.is_empty() {
        let (ready, rest): (Vec<_>, Vec<_>) =
            pending
                .into_iter()
                .partition(|u| match parent_at.map(|i| &u[i]) {
                    Some(Value::Text(p)) => done.contains(p),
                    _ => true,
                });
        if ready.is_empty() {
            return Err(ServerError::Internal(
                "units whose parents are missing: the file's org tree is broken".into(),
            ));
        }
        for u in &ready {
            if let Some(Value::Text(code)) = code_at.map(|i| &u[i]) {
                done.insert(code.clone());
            }
        }
        for chunk in ready.chunks(MAX_ROWS) {
            insert(target, "units", cols, chunk)?;
        }
        pending = rest;
    }
    Ok(())
}

fn insert(
    target: &Connection,
    table: &str,
    cols: &[String],
    rows: &[Vec<Value>],
) -> Result<(), ServerError> {
    let mut n = 0;
    let values: Vec<String> = rows
        .iter()
        .map(|row| {
            let marks: Vec<String> = row
                .iter()
                .map(|_| {
                    n += 1;
                    format!("?{n}")
                })
                .collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES {}",
        cols.join(", "),
        values.join(", ")
    );
    target.execute(&sql, rows.concat())?;
    Ok(())
}

fn verify(
    source: &Connection,
    target: &Connection,
    tables: &[String],
) -> Result<Report, ServerError> {
    let mut report = Report::default();
    for table in tables {
        let count = |c: &Connection| -> Result<i64, ServerError> {
            Ok(c.query_row(&format!("SELECT COUNT(*) FROM {table}"), (), |r| r.get(0))?)
        };
        let (a, b) = (count(source)?, count(target)?);
        if a != b {
            return Err(ServerError::Internal(format!(
                "{table}: {a} rows in the file but {b} in PostgreSQL"
            )));
        }
        report.tables.push((table.clone(), a));
    }
    let docs: Vec<String> = source
        .prepare("SELECT DISTINCT substr(key, 1, instr(key, '/') - 1) FROM samod_storage WHERE instr(key, '/') > 0")?
        .query_map((), |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for doc in &docs {
        if doc == "storage-adapter-id" {
            continue;
        }
        let (a, b) = (heads(source, doc)?, heads(target, doc)?);
        if a != b {
            return Err(ServerError::Internal(format!(
                "document {doc}: its heads in PostgreSQL differ from the file's"
            )));
        }
        report.documents += 1;
    }
    Ok(report)
}

/// A document's heads, from its stored chunks.
fn heads(c: &Connection, doc: &str) -> Result<Vec<automerge::ChangeHash>, ServerError> {
    let chunks: Vec<Vec<u8>> = c
        .prepare("SELECT data FROM samod_storage WHERE key >= ?1 AND key < ?2 ORDER BY key")?
        .query_map([format!("{doc}/"), format!("{doc}0")], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut d = automerge::Automerge::new();
    for chunk in chunks {
        d.load_incremental(&chunk)
            .map_err(|e| ServerError::Internal(format!("stored document {doc}: {e}")))?;
    }
    let mut h = d.get_heads();
    h.sort();
    Ok(h)
}
