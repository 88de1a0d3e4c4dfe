//! Registration (报备) on the server: each registration is numbered in the order
//! it reached the server, and the ownership rule in `fieldbook_shared::ownership`
//! decides, for the customer's whole group of registrations, who owns which line.

use crate::store::sql::{OptionalExtension, Transaction, params};
use fieldbook_shared::customer::{Customer, Outline};
use fieldbook_shared::ownership::{self, Registration};
use fieldbook_shared::vocab::Line;

use crate::error::ServerError;

fn join(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| l.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// What a registration records of the customer: the name, credit code and
/// lines the first-to-register rule compares.
pub struct Registered<'a> {
    pub name: &'a str,
    pub credit_code: &'a str,
    pub lines: &'a [Line],
}

impl<'a> From<&'a Customer> for Registered<'a> {
    fn from(c: &'a Customer) -> Self {
        Registered {
            name: &c.name,
            credit_code: &c.credit_code,
            lines: &c.lines,
        }
    }
}

impl<'a> From<&'a Outline> for Registered<'a> {
    fn from(c: &'a Outline) -> Self {
        Registered {
            name: &c.name,
            credit_code: &c.credit_code,
            lines: &c.lines,
        }
    }
}

fn split(s: &str) -> Vec<Line> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(Line::parse)
        .collect()
}

/// Records the registration of `doc_id` by `unit` (once; later calls do nothing)
/// and re-decides its group. Returns every document whose decision changed.
/// `from_tablet`: registered from a tablet (报备), it waits for the level
/// above; otherwise the server assigned it (an import, the console, the
/// demo) and that assignment was the decision: it is approved.
pub fn record(
    tx: &Transaction,
    doc_id: &str,
    unit: &str,
    c: &Registered<'_>,
    from_tablet: bool,
) -> Result<Vec<String>, ServerError> {
    let exists: bool = tx.query_row(
        "SELECT EXISTS(SELECT 1 FROM registrations WHERE doc_id = ?1)",
        [doc_id],
        |r| r.get(0),
    )?;
    if exists {
        return Ok(Vec::new());
    }
    let norm = ownership::normalise_name(c.name);
    let code = ownership::normalise_code(c.credit_code);
    tx.execute(
        "INSERT INTO registrations (doc_id, unit, name, norm_name, credit_code, lines, received, status)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, (SELECT COALESCE(MAX(received), 0) + 1 FROM registrations), ?7)",
        params![doc_id, unit, c.name, norm, code, join(c.lines), if from_tablet { "pending" } else { "approved" }],
    )?;
    decide_group(tx, &norm, &code)
}

/// Re-decides every registration that may be the same customer as (name, code).
fn decide_group(tx: &Transaction, norm: &str, code: &str) -> Result<Vec<String>, ServerError> {
    let mut stmt = tx.prepare(
        "SELECT doc_id, unit, name, credit_code, lines, received, same_as, owned_lines, duplicate_lines
         FROM registrations WHERE (credit_code = ?2 AND ?2 <> '') OR (norm_name = ?1 AND ?1 <> '')",
    )?;
    let rows = stmt.query_map(params![norm, code], |r| {
        Ok((
            Registration {
                doc_id: r.get(0)?,
                unit: r.get(1)?,
                name: r.get(2)?,
                credit_code: r.get(3)?,
                lines: split(&r.get::<_, String>(4)?),
                received: r.get::<_, i64>(5)? as u64,
            },
            (
                r.get::<_, Option<String>>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, String>(8)?,
            ),
        ))
    })?;
    let rows: Vec<_> = rows.collect::<Result<_, _>>()?;
    let regs: Vec<Registration> = rows.iter().map(|r| r.0.clone()).collect();
    let mut decisions = ownership::decide_all(&regs);
    let rulings: Vec<(String, Line)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT line, ruled_at FROM ownership_rulings WHERE doc_id = ?1 ORDER BY ruled_at",
        )?;
        let mut out = Vec::new();
        for r in &regs {
            for line in stmt.query_map([&r.doc_id], |row| row.get::<_, String>(0))? {
                out.push((r.doc_id.clone(), Line::parse(&line?)));
            }
        }
        out
    };
    ownership::apply_rulings(&mut decisions, &regs, &rulings);
    let mut changed = Vec::new();
    for (reg, old) in &rows {
        let Some(d) = decisions.get(&reg.doc_id) else {
            continue;
        };
        let dup = d
            .duplicate
            .iter()
            .map(|(l, u)| format!("{}:{u}", l.as_str()))
            .collect::<Vec<_>>()
            .join(",");
        let new = (d.same_as.clone(), join(&d.owned), dup);
        if *old != new {
            tx.execute(
                "UPDATE registrations SET same_as = ?2, owned_lines = ?3, duplicate_lines = ?4 WHERE doc_id = ?1",
                params![reg.doc_id, new.0, new.1, new.2],
            )?;
            changed.push(reg.doc_id.clone());
        }
    }
    Ok(changed)
}

/// Records that `line` of the customer belongs to registration `doc_id`, and
/// re-decides its group. Returns every document whose decision changed.
pub fn rule(
    tx: &Transaction,
    doc_id: &str,
    line: &Line,
    by: i64,
) -> Result<Vec<String>, ServerError> {
    let row: Option<(String, String, String)> = tx
        .query_row(
            "SELECT norm_name, credit_code, lines FROM registrations WHERE doc_id = ?1",
            [doc_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((norm, code, lines)) = row else {
        return Err(ServerError::NotFound(format!(
            "没有这个报备 {doc_id} / no registration {doc_id}"
        )));
    };
    if !split(&lines).contains(line) {
        return Err(ServerError::BadRequest(format!(
            "报备 {doc_id} 没有申报业务 {line} / registration {doc_id} did not claim the line {line}"
        )));
    }
    tx.execute(
        "INSERT OR REPLACE INTO ownership_rulings (doc_id, line, ruled_by, ruled_at) VALUES (?1, ?2, ?3, ?4)",
        params![doc_id, line.as_str(), by, crate::now()],
    )?;
    decide_group(tx, &norm, &code)
}

/// The unit that registered `doc_id`.
pub fn unit_of(
    conn: &crate::store::sql::Connection,
    doc_id: &str,
) -> Result<Option<String>, ServerError> {
    Ok(conn
        .query_row(
            "SELECT unit FROM registrations WHERE doc_id = ?1",
            [doc_id],
            |r| r.get(0),
        )
        .optional()?)
}

/// What the rule decided for one registration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    pub same_as: Option<String>,
    pub owned: Vec<Line>,
    /// (line, the unit that owns it)
    pub duplicate: Vec<(Line, String)>,
}

/// The decision for `doc_id`, if it was registered through the server.
pub fn outcome(
    conn: &crate::store::sql::Connection,
    doc_id: &str,
) -> Result<Option<Outcome>, ServerError> {
    let row: Option<(Option<String>, String, String)> = conn
        .query_row(
            "SELECT same_as, owned_lines, duplicate_lines FROM registrations WHERE doc_id = ?1",
            [doc_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    Ok(row.map(|(same_as, owned, dup)| Outcome {
        same_as,
        owned: split(&owned),
        duplicate: dup
            .split(',')
            .filter_map(|p| p.split_once(':'))
            .map(|(l, u)| (Line::parse(l), u.to_string()))
            .collect(),
    }))
}
