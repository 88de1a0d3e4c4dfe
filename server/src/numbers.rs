//! Customer numbers 客户编号: given by the server, never taken from a
//! tablet, when a registration is approved or a customer imported (and at
//! start, to approved customers of an earlier release that have none), from
//! the pattern in the rules (`fieldbook_shared::numbering`). The number is
//! kept in `customer_numbers`, reaches tablets in the books and is listed,
//! searched and exported.

use crate::store::sql::{Connection, OptionalExtension, params};
use fieldbook_shared::numbering::{Facts, Pattern};
use fieldbook_shared::vocab::Line;

use crate::error::ServerError;
use crate::state::AppState;

/// Gives `doc_id` its number if it has none; answers its number. `today`
/// (YYYY-MM-DD) sets `{year}`.
pub fn assign(
    c: &Connection,
    doc_id: &str,
    pattern: &str,
    today: &str,
) -> Result<String, ServerError> {
    if let Some(n) = number_of(c, doc_id)? {
        return Ok(n);
    }
    let (unit, lines): (String, String) = c
        .query_row(
            "SELECT c.unit, COALESCE(i.lines, g.lines, '') FROM customers c
             LEFT JOIN customer_index i ON i.doc_id = c.doc_id
             LEFT JOIN registrations g ON g.doc_id = c.doc_id
             WHERE c.doc_id = ?1",
            [doc_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| {
            ServerError::NotFound(format!("没有这个客户 {doc_id} / no customer {doc_id}"))
        })?;
    let line = lines.split(',').find(|l| !l.is_empty()).map(Line::parse);
    assign_with(c, doc_id, pattern, today, &unit, line.as_ref())
}

/// [`assign`] for a customer whose unit and first line the caller knows
/// (an import, before anything is projected).
pub fn assign_with(
    c: &Connection,
    doc_id: &str,
    pattern: &str,
    today: &str,
    unit: &str,
    line: Option<&Line>,
) -> Result<String, ServerError> {
    let pattern = Pattern::parse(pattern).map_err(ServerError::BadRequest)?;
    let facts = Facts {
        year: today.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0),
        line,
        unit,
    };
    let key = pattern.key(&facts);
    let mut seq: u64 = c
        .query_row(
            "SELECT last FROM number_sequences WHERE key = ?1",
            [&key],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .unwrap_or(0) as u64;
    // Skip numbers already given (kept from an import, or another pattern).
    let number = loop {
        seq += 1;
        let n = pattern.number(&facts, seq);
        let taken: bool = c.query_row(
            "SELECT EXISTS(SELECT 1 FROM customer_numbers WHERE number = ?1)",
            [&n],
            |r| r.get(0),
        )?;
        if !taken {
            break n;
        }
    };
    c.execute(
        "INSERT INTO number_sequences (key, last) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET last = excluded.last",
        params![key, seq as i64],
    )?;
    c.execute(
        "INSERT INTO customer_numbers (doc_id, number, assigned_at) VALUES (?1, ?2, ?3)",
        params![doc_id, number, crate::now()],
    )?;
    Ok(number)
}

/// Keeps the number an import gives (`客户编号`), unless another customer has it.
pub fn keep(c: &Connection, doc_id: &str, number: &str) -> Result<(), ServerError> {
    let holder: Option<String> = c
        .query_row(
            "SELECT doc_id FROM customer_numbers WHERE number = ?1",
            [number],
            |r| r.get(0),
        )
        .optional()?;
    match holder {
        Some(d) if d != doc_id => Err(ServerError::Conflict(format!(
            "客户编号 {number} 已被其他客户使用 / customer number {number} belongs to another customer"
        ))),
        Some(_) => Ok(()),
        None => {
            c.execute(
                "INSERT INTO customer_numbers (doc_id, number, assigned_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (doc_id) DO UPDATE SET number = excluded.number",
                params![doc_id, number, crate::now()],
            )?;
            Ok(())
        }
    }
}

pub fn number_of(c: &Connection, doc_id: &str) -> Result<Option<String>, ServerError> {
    Ok(c.query_row(
        "SELECT number FROM customer_numbers WHERE doc_id = ?1",
        [doc_id],
        |r| r.get(0),
    )
    .optional()?)
}

/// Numbers the approved customers that have none (a database of an earlier
/// release) and refreshes the books that list them. Answers how many.
pub async fn assign_missing(state: &AppState) -> Result<usize, ServerError> {
    let pattern = state.rules.get().numbers.pattern.clone();
    let today = crate::today();
    let docs: Vec<String> = state
        .db
        .call(move |c| {
            let tx =
                c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
            let docs: Vec<String> = {
                let mut stmt = tx.prepare(
                    "SELECT g.doc_id FROM registrations g JOIN customers c ON c.doc_id = g.doc_id
                     WHERE g.status = 'approved'
                       AND NOT EXISTS (SELECT 1 FROM customer_numbers n WHERE n.doc_id = g.doc_id)
                     ORDER BY g.received",
                )?;
                stmt.query_map((), |r| r.get(0))?
                    .collect::<Result<_, _>>()?
            };
            for d in &docs {
                assign(&tx, d, &pattern, &today)?;
            }
            tx.commit()?;
            Ok(docs)
        })
        .await?;
    crate::projection::books::refresh_for_customers(state, &docs).await?;
    Ok(docs.len())
}
