//! Reading projection rows for a set of customers (a report's scope, a
//! customer list): one indexed query per customer when the set is a small share
//! of all customers, one scan per table when it is a large one. At 10,000
//! customers a query per customer and table was 100,000 statements for one
//! report (about half a second, a fifth of it in SQLite's file locks); a scan
//! reads each table once. A small unit's report still reads only its own rows.

use std::collections::HashMap;

use crate::store::sql::{Connection, Result, Row, Value};

/// The set is read by scans when it holds at least this share of all customers.
const SCAN_SHARE: usize = 4;

/// The customers a read covers, and how they are read.
pub struct ByCustomer<'a> {
    docs: &'a [String],
    /// Each customer's place in `docs`, when the tables are scanned.
    scan: Option<HashMap<&'a str, usize>>,
}

impl<'a> ByCustomer<'a> {
    /// Reads of `docs` on `c`, by scan when they are at least a quarter of
    /// the customers stored.
    pub fn new(c: &Connection, docs: &'a [String]) -> Result<Self> {
        let all: i64 = c.query_row("SELECT COUNT(*) FROM customers", (), |r| r.get(0))?;
        let scan = (docs.len() * SCAN_SHARE >= usize::try_from(all).unwrap_or(0) && docs.len() > 1)
            .then(|| {
                docs.iter()
                    .enumerate()
                    .map(|(i, d)| (d.as_str(), i))
                    .collect()
            });
        Ok(ByCustomer { docs, scan })
    }

    /// Whether the tables are scanned (for tests).
    pub fn scans(&self) -> bool {
        self.scan.is_some()
    }

    /// Runs `select` for every customer in the set and hands each row to `put`
    /// with the customer's place in the set. `select`'s first column must be
    /// the customer's document id, named `key` in its WHERE (`c.doc_id`);
    /// `tail` follows the WHERE (an ORDER BY). `read` sees the whole row.
    pub fn each<T>(
        &self,
        c: &Connection,
        select: &str,
        key: &str,
        tail: &str,
        read: impl FnMut(&Row<'_>) -> Result<T>,
        put: impl FnMut(usize, T),
    ) -> Result<()> {
        self.each_where(c, select, key, "1 = 1", Vec::new(), tail, read, put)
    }

    /// As [`ByCustomer::each`], with only the rows meeting `cond`, whose
    /// parameters are `?1` to `?n` (`params`, n of them).
    #[allow(clippy::too_many_arguments)]
    pub fn each_where<T>(
        &self,
        c: &Connection,
        select: &str,
        key: &str,
        cond: &str,
        params: Vec<Value>,
        tail: &str,
        mut read: impl FnMut(&Row<'_>) -> Result<T>,
        mut put: impl FnMut(usize, T),
    ) -> Result<()> {
        match &self.scan {
            Some(place) => {
                let mut stmt = c.prepare_cached(&format!("{select} WHERE {cond} {tail}"))?;
                let mut rows = stmt.query(params)?;
                while let Some(r) = rows.next()? {
                    // Borrowed, not copied: a scan reads hundreds of
                    // thousands of rows, most of them kept.
                    if let Some(&i) = place.get(r.get_str(0)?) {
                        put(i, read(&r)?);
                    }
                }
            }
            None => {
                let n = params.len() + 1;
                let mut stmt =
                    c.prepare_cached(&format!("{select} WHERE {cond} AND {key} = ?{n} {tail}"))?;
                for (i, doc) in self.docs.iter().enumerate() {
                    let mut values = params.clone();
                    values.push(Value::Text(doc.clone()));
                    let mut rows = stmt.query(values)?;
                    while let Some(r) = rows.next()? {
                        put(i, read(&r)?);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(customers: usize) -> Connection {
        let dir = std::env::temp_dir().join(format!("fb-by-customer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("by.db");
        let _ = std::fs::remove_file(&path);
        let c = crate::store::db::open_and_migrate(&path).expect("db");
        c.execute_batch(
            "INSERT INTO units (code, name) VALUES ('u', 'u');
             INSERT INTO users (id, username, password_hash, role, unit, display_name) VALUES (1, 'm', '', 'manager', 'u', 'm');",
        )
        .expect("user");
        for i in 0..customers {
            c.execute(
                "INSERT INTO customers (doc_id, primary_user, unit, registered_by, registered_at) VALUES (?1, 1, 'u', 1, '2026-01-01')",
                [format!("d{i}")],
            )
            .expect("customer");
            for m in 0..2 {
                c.execute(
                    "INSERT INTO ledger_index (doc_id, month, amount_fen) VALUES (?1, ?2, ?3)",
                    crate::store::sql::params![
                        format!("d{i}"),
                        format!("2026-0{}", m + 1),
                        (i * 10 + m) as i64
                    ],
                )
                .expect("ledger");
            }
        }
        c
    }

    fn ledger(c: &Connection, by: &ByCustomer<'_>, n: usize) -> Vec<Vec<(String, i64)>> {
        let mut out = vec![Vec::new(); n];
        by.each(
            c,
            "SELECT doc_id, month, amount_fen FROM ledger_index",
            "doc_id",
            "",
            |r| Ok((r.get(1)?, r.get(2)?)),
            |i, x| out[i].push(x),
        )
        .expect("read");
        out
    }

    /// Both ways give each customer its own rows, in the set's order, and
    /// nothing of a customer outside the set.
    #[test]
    fn a_scan_and_queries_per_customer_read_the_same_rows() {
        let c = db(20);
        let big: Vec<String> = (0..20).rev().map(|i| format!("d{i}")).collect();
        let small = vec!["d7".to_string(), "d3".to_string()];
        let by_big = ByCustomer::new(&c, &big).expect("big");
        let by_small = ByCustomer::new(&c, &small).expect("small");
        assert!(by_big.scans());
        assert!(!by_small.scans());
        let all = ledger(&c, &by_big, big.len());
        assert_eq!(
            all[0],
            vec![("2026-01".into(), 190), ("2026-02".into(), 191)]
        );
        assert_eq!(all[19], vec![("2026-01".into(), 0), ("2026-02".into(), 1)]);
        let few = ledger(&c, &by_small, small.len());
        assert_eq!(few, vec![all[12].clone(), all[16].clone()]);
        // A scan over a set that leaves customers out reads none of theirs.
        let half: Vec<String> = (0..10).map(|i| format!("d{i}")).collect();
        let by_half = ByCustomer::new(&c, &half).expect("half");
        assert!(by_half.scans());
        let got = ledger(&c, &by_half, half.len());
        assert_eq!(got.len(), 10);
        assert_eq!(got[9], all[10]);
        // With a condition and its parameters, both ways keep only the rows
        // that meet it (the per-customer query numbers the key after them).
        for by in [&by_big, &by_small] {
            let docs = if by.scans() { &big } else { &small };
            let mut feb = vec![Vec::new(); docs.len()];
            by.each_where(
                &c,
                "SELECT doc_id, month, amount_fen FROM ledger_index",
                "doc_id",
                "month BETWEEN ?1 AND ?2",
                vec![Value::Text("2026-02".into()), Value::Text("2026-12".into())],
                "",
                |r| Ok((r.get::<_, String>(1)?, r.get::<_, i64>(2)?)),
                |i, x| feb[i].push(x),
            )
            .expect("read");
            let want: Vec<Vec<(String, i64)>> = docs
                .iter()
                .map(|d| {
                    let n: i64 = d[1..].parse().expect("n");
                    vec![("2026-02".to_string(), n * 10 + 1)]
                })
                .collect();
            assert_eq!(feb, want);
        }
    }
}
