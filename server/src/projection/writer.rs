//! Writes a [`Plan`] into the index tables, inside the caller's transaction
//! (`projection::project_batch` writes a whole batch in one).

use crate::store::sql::{OptionalExtension, Params, Row, Transaction, Value, params};
use fieldbook_shared::grading::Grade;

use super::plan::Plan;
use crate::history::Senders;
use crate::now;

/// Writes `plan` (and the history records of the changes it was read with);
/// answers whether the customer's revenue figures, which rank it in the city
/// (`managed.rs`), changed.
pub fn write(
    tx: &Transaction,
    plan: &Plan,
    changes: &[(String, String)],
    senders: &Senders,
) -> crate::store::sql::Result<bool> {
    let (doc, row) = (&plan.doc, &plan.row);
    let before: Option<(i64, i64, String, String, i64, String, i64)> = tx
        .query_row(
            "SELECT annual_revenue_fen, cross_city_fen, managed_as, managed_why, managed_rank, heads, last_change_ms
             FROM customer_index WHERE doc_id = ?1",
            [doc],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)),
        )
        .optional()?;
    // When the content last changed, as the server saw it arrive.
    let last_change_ms = match &before {
        Some(b) if b.5 == plan.heads => b.6,
        _ => chrono::Utc::now().timestamp_millis(),
    };
    let standing_changed = before
        .as_ref()
        .is_none_or(|b| (b.0, b.1) != (row.annual_revenue_fen, row.cross_city_fen));
    // The managed-as tier is the city's business (managed::refresh); keep it.
    let managed = before
        .map(|b| (b.2, b.3, b.4))
        .unwrap_or_else(|| (row.grade.as_str().to_string(), "threshold".into(), 0));
    tx.execute(
        "INSERT OR REPLACE INTO customer_index
         (doc_id, name, credit_code, nature, lines, address, industry, contacts, visit_count, last_visit, open_follow_ups, projected_at,
          annual_revenue_fen, level_proposed, grade_proposed, cross_city_fen, managed_as, managed_why, managed_rank, last_change_ms, heads)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)",
        params![
            doc, row.name, row.credit_code, row.nature, row.lines, row.address, row.industry, row.contacts,
            row.visit_count, row.last_visit, row.open_follow_ups, now(), row.annual_revenue_fen,
            row.level.as_str(), row.grade.as_str(), row.cross_city_fen, managed.0, managed.1, managed.2,
            last_change_ms, plan.heads
        ],
    )?;
    write_details(tx, plan)?;
    crate::history::record(tx, doc, changes, senders)?;
    write_alerts(tx, doc, &plan.alerts, &plan.month)?;
    write_items(tx, doc, &plan.visits)?;
    write_items(tx, doc, &plan.follow_ups)?;
    Ok(standing_changed)
}

/// A row of an index table with one row per item of a customer (a visit, a
/// follow-up), keyed by `(doc_id, id)`: [`write_items`] writes only those
/// that differ.
trait ItemRow: PartialEq + Sized {
    /// Selects the document's rows, `?1` the document, columns as
    /// [`ItemRow::read`] reads them.
    const SELECT: &'static str;
    /// Inserts or replaces one row, `?1` the document, then
    /// [`ItemRow::values`] in order.
    const UPSERT: &'static str;
    /// Deletes one row, `?1` the document, `?2` the item's id.
    const DELETE: &'static str;
    fn id(&self) -> &str;
    fn read(r: &Row<'_>) -> crate::store::sql::Result<Self>;
    fn values(&self, doc: &str) -> Vec<Value>;
}

impl ItemRow for super::plan::VisitRow {
    const SELECT: &'static str =
        "SELECT visit_id, date, kind, visitors FROM visit_index WHERE doc_id = ?1";
    const UPSERT: &'static str = "INSERT OR REPLACE INTO visit_index (doc_id, visit_id, date, kind, visitors) VALUES (?1, ?2, ?3, ?4, ?5)";
    const DELETE: &'static str = "DELETE FROM visit_index WHERE doc_id = ?1 AND visit_id = ?2";
    fn id(&self) -> &str {
        &self.id
    }
    fn read(r: &Row<'_>) -> crate::store::sql::Result<Self> {
        Ok(Self {
            id: r.get(0)?,
            date: r.get(1)?,
            kind: r.get(2)?,
            visitors: r.get(3)?,
        })
    }
    fn values(&self, doc: &str) -> Vec<Value> {
        params![doc, self.id, self.date, self.kind, self.visitors].values()
    }
}

impl ItemRow for super::plan::FollowUpRow {
    const SELECT: &'static str =
        "SELECT id, visit_id, visit_date, action, owner, due, state, forwarded_to, result,
                told_customer, told_on, closed_by, closed_at, closed_on
         FROM followup_index WHERE doc_id = ?1";
    const UPSERT: &'static str =
        "INSERT OR REPLACE INTO followup_index (doc_id, id, visit_id, visit_date, action, owner, due,
            state, forwarded_to, result, told_customer, told_on, closed_by, closed_at, closed_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";
    const DELETE: &'static str = "DELETE FROM followup_index WHERE doc_id = ?1 AND id = ?2";
    fn id(&self) -> &str {
        &self.id
    }
    fn read(r: &Row<'_>) -> crate::store::sql::Result<Self> {
        Ok(Self {
            id: r.get(0)?,
            visit_id: r.get(1)?,
            visit_date: r.get(2)?,
            action: r.get(3)?,
            owner: r.get(4)?,
            due: r.get(5)?,
            state: r.get(6)?,
            forwarded_to: r.get(7)?,
            result: r.get(8)?,
            told_customer: r.get(9)?,
            told_on: r.get(10)?,
            closed_by: r.get(11)?,
            closed_at: r.get(12)?,
            closed_on: r.get(13)?,
        })
    }
    fn values(&self, doc: &str) -> Vec<Value> {
        params![
            doc,
            self.id,
            self.visit_id,
            self.visit_date,
            self.action,
            self.owner,
            self.due,
            self.state,
            self.forwarded_to,
            self.result,
            self.told_customer,
            self.told_on,
            self.closed_by,
            self.closed_at,
            self.closed_on
        ]
        .values()
    }
}

/// Brings `doc`'s rows in an item table (visits, follow-ups) to `items`,
/// writing only those that differ. A customer's visits are its history,
/// which only grows: deleting and writing all of them at every projection
/// held SQLite's write lock longer with each visit, and the storage writer,
/// which every synced change waits for, waited behind it (a 400 s storm's
/// p99 grew from 180 ms to over a second as each of its customers reached
/// 200 visits).
fn write_items<T: ItemRow>(
    tx: &Transaction,
    doc: &str,
    items: &[T],
) -> crate::store::sql::Result<()> {
    let mut had: std::collections::HashMap<String, T> = tx
        .prepare_cached(T::SELECT)?
        .query_map([doc], |r| T::read(r))?
        .map(|t| t.map(|t| (t.id().to_string(), t)))
        .collect::<Result<_, _>>()?;
    let mut upsert = tx.prepare_cached(T::UPSERT)?;
    for item in items {
        if had.remove(item.id()).as_ref() != Some(item) {
            upsert.execute(item.values(doc))?;
        }
    }
    let mut delete = tx.prepare_cached(T::DELETE)?;
    for id in had.keys() {
        delete.execute(params![doc, id])?;
    }
    Ok(())
}

/// Replaces `doc`'s revenue alerts (kind, JSON) as of `month`.
pub fn write_alerts(
    tx: &Transaction,
    doc: &str,
    alerts: &[(String, String)],
    month: &str,
) -> crate::store::sql::Result<()> {
    tx.execute("DELETE FROM alerts WHERE doc_id = ?1", [doc])?;
    let mut ins = tx.prepare_cached(
        "INSERT INTO alerts (doc_id, n, kind, alert, month) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (n, (kind, json)) in alerts.iter().enumerate() {
        ins.execute(params![doc, n as i64, kind, json, month])?;
    }
    Ok(())
}

/// The grade in force for `doc`: a person's decision, else the rules'
/// proposal as `customer_index` has it.
fn grade_in_force(tx: &Transaction, doc: &str) -> crate::store::sql::Result<Grade> {
    let grade: String = tx.query_row(
        "SELECT COALESCE((SELECT grade FROM grade_approvals WHERE doc_id = ?1),
                         (SELECT grade_proposed FROM customer_index WHERE doc_id = ?1), 'none')",
        [doc],
        |r| r.get(0),
    )?;
    Ok(Grade::parse(&grade))
}

/// Works `doc`'s agreement statuses out again after its grade or the rules'
/// `approval_from` changed, from what `agreement_index` holds (see
/// [`in_document_of`]); answers how many changed.
pub fn restatus_agreements(
    tx: &Transaction,
    doc: &str,
    approval_from: Grade,
) -> crate::store::sql::Result<usize> {
    let grade = grade_in_force(tx, doc)?;
    let rows: Vec<(String, String)> = {
        let mut stmt = tx
            .prepare_cached("SELECT agreement_id, status FROM agreement_index WHERE doc_id = ?1")?;
        stmt.query_map([doc], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    let mut approved = tx.prepare_cached(
        "SELECT 1 FROM agreement_approvals WHERE doc_id = ?1 AND agreement_id = ?2",
    )?;
    let mut set = tx.prepare_cached(
        "UPDATE agreement_index SET status = ?3 WHERE doc_id = ?1 AND agreement_id = ?2",
    )?;
    let mut changed = 0;
    for (id, status) in rows {
        let approved = approved.exists(params![doc, id])?;
        let now = agreement_status(
            in_document_of(&status, approved),
            grade,
            approved,
            approval_from,
        );
        if now != status {
            set.execute(params![doc, id, now])?;
            changed += 1;
        }
    }
    Ok(changed)
}

/// What the document said of an agreement, from the status recorded for it
/// and whether it was approved: the inverse of [`agreement_status`] where it
/// matters (an approved agreement is active whatever its document says,
/// unless terminated, so its document's word is not needed).
pub fn in_document_of(recorded: &str, approved: bool) -> &str {
    match recorded {
        "pending_approval" if !approved => "active",
        other => other,
    }
}

/// What the reports read besides the index row: revenue by month,
/// complaints, plans and agreements.
fn write_details(tx: &Transaction, plan: &Plan) -> crate::store::sql::Result<()> {
    let doc = &plan.doc;
    for table in [
        "ledger_index",
        "complaint_index",
        "plan_index",
        "agreement_index",
        "survey_index",
    ] {
        tx.execute(&format!("DELETE FROM {table} WHERE doc_id = ?1"), [doc])?;
    }
    let mut ins = tx.prepare_cached(
        "INSERT INTO ledger_index (doc_id, month, amount_fen) VALUES (?1, ?2, ?3)",
    )?;
    for (month, fen) in &plan.ledger {
        ins.execute(params![doc, month, fen])?;
    }
    let mut ins = tx.prepare_cached(
        "INSERT OR REPLACE INTO complaint_index (doc_id, complaint_id, status, steps, satisfaction, task_force)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for k in &plan.complaints {
        ins.execute(params![
            doc,
            k.id,
            k.status,
            k.steps,
            k.satisfaction,
            k.task_force
        ])?;
    }
    // Attendance of the events the server invited it to (only those rows).
    let mut attended = tx.prepare_cached(
        "UPDATE event_invitees SET attended = ?3, attendees = ?4 WHERE event_id = ?1 AND doc_id = ?2",
    )?;
    for (id, came, who) in &plan.events {
        attended.execute(params![id, doc, came, who])?;
    }
    let mut ins = tx.prepare_cached(
        "INSERT OR REPLACE INTO survey_index (doc_id, survey_id, day, average_x10) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (id, day, average) in &plan.surveys {
        ins.execute(params![doc, id, day, average])?;
    }
    let mut ins = tx.prepare_cached(
        "INSERT OR REPLACE INTO plan_index (doc_id, year, target_fen) VALUES (?1, ?2, ?3)",
    )?;
    for (year, target) in &plan.plans {
        ins.execute(params![doc, year, target])?;
    }
    let mut ins = tx.prepare_cached(
        "INSERT OR REPLACE INTO agreement_index (doc_id, agreement_id, number, end_date, status)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut approved = tx.prepare_cached(
        "SELECT 1 FROM agreement_approvals WHERE doc_id = ?1 AND agreement_id = ?2",
    )?;
    let grade = grade_in_force(tx, doc)?;
    for a in &plan.agreements {
        let status = agreement_status(
            &a.status_in_document,
            grade,
            approved.exists(params![doc, a.id])?,
            plan.approval_from,
        );
        ins.execute(params![doc, a.id, a.number, a.end, status])?;
    }
    Ok(())
}

/// An agreement's status as the server records it: the document's word for
/// what a manager may decide (a draft, a termination), the server's own
/// approvals table for what needs a head (platinum and above: docs/domain.md).
pub fn agreement_status(
    in_document: &str,
    grade: Grade,
    approved: bool,
    approval_from: Grade,
) -> &str {
    match in_document {
        "terminated" => "terminated",
        _ if approved => "active",
        // A tablet marks an agreement pending when it sees the grade call
        // for approval; whether it does is the server's to say.
        "active" | "pending_approval" if grade >= approval_from => "pending_approval",
        "pending_approval" => "active",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::projection::plan::VisitRow;

    /// A projection writes only the visit rows that changed, and leaves the
    /// table as the document has it: new, edited and removed visits alike.
    #[test]
    fn only_the_visits_that_changed_are_written() {
        let dir = std::env::temp_dir().join(format!("fb-writer-visits-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("w.db");
        let _ = std::fs::remove_file(&path);
        let mut c = crate::store::db::open_and_migrate(&path).expect("db");
        let visit = |id: &str, date: &str| VisitRow {
            id: id.into(),
            date: date.into(),
            kind: "visit".into(),
            visitors: "m1".into(),
        };
        let mut write = |visits: &[VisitRow]| -> (u64, Vec<(String, String)>) {
            let before = c.sqlite().expect("sqlite").total_changes();
            let tx = c.transaction().expect("tx");
            write_items(&tx, "d1", visits).expect("write");
            tx.commit().expect("commit");
            let written = c.sqlite().expect("sqlite").total_changes() - before;
            let rows = c
                .prepare(
                    "SELECT visit_id, date FROM visit_index WHERE doc_id = 'd1' ORDER BY visit_id",
                )
                .expect("select")
                .query_map((), |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("rows")
                .collect::<Result<Vec<_>, _>>()
                .expect("read");
            (written, rows)
        };
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let first: Vec<VisitRow> = (0..50)
            .map(|i| visit(&format!("v{i:02}"), "2026-11-01"))
            .collect();
        assert_eq!(write(&first).0, 50);
        // The same visits again: nothing written.
        assert_eq!(write(&first), (0, write(&first).1));
        // One more, one edited, one removed: three rows written.
        let mut next = first.clone();
        next.push(visit("v50", "2026-12-01"));
        next[3].date = "2026-11-03".into();
        next.remove(7);
        let (written, rows) = write(&next);
        assert_eq!(written, 3);
        assert_eq!(rows.len(), 50);
        assert!(rows.contains(&("v03".into(), "2026-11-03".into())));
        assert!(rows.contains(&("v50".into(), "2026-12-01".into())));
        assert!(!rows.iter().any(|(id, _)| id == "v07"));
        // None left: every row removed.
        let (written, rows) = write(&[]);
        assert_eq!((written, rows), (50, pairs(&[])));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_agreement_is_active_by_the_servers_approval_not_the_documents_word() {
        assert_eq!(
            agreement_status("active", Grade::Platinum, false, Grade::Platinum),
            "pending_approval"
        );
        assert_eq!(
            agreement_status("active", Grade::Diamond, true, Grade::Platinum),
            "active"
        );
        assert_eq!(
            agreement_status("active", Grade::Gold, false, Grade::Platinum),
            "active"
        );
        assert_eq!(
            agreement_status("draft", Grade::Diamond, true, Grade::Platinum),
            "active"
        );
        assert_eq!(
            agreement_status("terminated", Grade::Diamond, true, Grade::Platinum),
            "terminated"
        );
        assert_eq!(
            agreement_status("draft", Grade::Gold, false, Grade::Platinum),
            "draft"
        );
        // The rules may ask for approval from gold up.
        assert_eq!(
            agreement_status("active", Grade::Gold, false, Grade::Gold),
            "pending_approval"
        );
    }

    /// A new month or new rules restatus agreements from what was recorded
    /// (`restatus_agreements`): whatever the grade and the rules were, the
    /// recorded status and the approval give back what the document said,
    /// as far as any later grade and rules can tell.
    #[test]
    fn a_recorded_status_gives_back_what_the_document_said() {
        let grades = [
            Grade::None,
            Grade::Ordinary,
            Grade::Gold,
            Grade::Platinum,
            Grade::Diamond,
        ];
        for in_document in [
            "draft",
            "active",
            "pending_approval",
            "terminated",
            "expired",
        ] {
            for approved in [false, true] {
                for &grade in &grades {
                    for &from in &grades {
                        let recorded = agreement_status(in_document, grade, approved, from);
                        let again = in_document_of(recorded, approved);
                        for &grade2 in &grades {
                            for &from2 in &grades {
                                assert_eq!(
                                    agreement_status(again, grade2, approved, from2),
                                    agreement_status(in_document, grade2, approved, from2),
                                    "{in_document} approved={approved} {grade:?}/{from:?} then {grade2:?}/{from2:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
