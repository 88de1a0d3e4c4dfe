//! A stored document's bytes: loaded the ways the server and the tablet load
//! them, hydrated as a customer, a book and the warning list, and a customer
//! run through every projection (grades, alerts, visits, care reminders,
//! complaints, agreements, registration, history). Nothing may panic.
//!
//! Two more views of the same input reach further than raw bytes would:
//! - the bytes with their chunk checksums made right and the heads check off,
//!   so mutations get past the checksum into the columns (a client can always
//!   compute a checksum: it protects against accidents, not people);
//! - the bytes read as values (`arbitrary`) for a customer written with the
//!   ordinary schema functions, saved and loaded back: any ledger figure, date
//!   or name a tablet could write.

use crate::{THIS_MONTH, TODAY, fix_checksums, project_customer};
use arbitrary::{Result, Unstructured};
use automerge::{Automerge, LoadOptions, VerificationMode};
use fieldbook_shared::book::Book;
use fieldbook_shared::credit::WarningList;
use fieldbook_shared::customer::{self, Contact, Customer, LedgerEntry, Visit};
use fieldbook_shared::rules::Rules;
use fieldbook_shared::vocab::Line;

/// The month after `month` (`YYYY-MM`), if it is one.
fn next_month(month: &str) -> Option<String> {
    let y: i32 = month.get(0..4)?.parse().ok()?;
    let m: i32 = month.get(5..7)?.parse().ok()?;
    if !(1..=12).contains(&m) || !(0..=9998).contains(&y) {
        return None;
    }
    let i = y * 12 + m;
    Some(format!("{:04}-{:02}", i / 12, i % 12 + 1))
}

fn read(doc: &Automerge) {
    let _ = fieldbook_server::history::new_changes(doc, "");
    let _ = customer::conflicts(doc);
    if let Ok(c) = Customer::load(doc) {
        let rules = Rules::default();
        project_customer(&c, THIS_MONTH, TODAY, &rules);
        // And as of the month after its latest figures, so they count.
        if let Some(month) = c
            .ledger
            .iter()
            .map(|e| e.month.as_str())
            .max()
            .and_then(next_month)
        {
            project_customer(&c, &month, &format!("{month}-15"), &rules);
        }
    }
    if let Ok(book) = Book::load(doc) {
        let rules = Rules::from_book(&book.rules);
        let _ = rules.validate();
    }
    let _ = WarningList::load(doc);
}

/// Runs one automerge load; a panic in it counts as a refusal. automerge 0.12
/// panics on some malformed documents (an `assert!` in hexane, found by this
/// target); the server refuses such changes before samod loads them
/// (`sync::check_changes`), so stored documents never hold them. Panics in
/// what follows (hydrating, projecting) are still failures.
fn guarded(load: impl FnOnce() -> Option<Automerge>) -> Option<Automerge> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(load))
        .ok()
        .flatten()
}

fn load_raw(data: &[u8]) {
    // How a whole saved document is opened.
    if let Some(doc) = guarded(|| Automerge::load(data).ok()) {
        read(&doc);
    }
    // How the server's storage and the tablet assemble stored chunks.
    let incremental = guarded(|| {
        let mut doc = Automerge::new();
        doc.load_incremental(data).ok().map(|_| doc)
    });
    if let Some(doc) = incremental {
        read(&doc);
    }
    let fixed = fix_checksums(data);
    let options = LoadOptions::new().verification_mode(VerificationMode::DontCheck);
    if let Some(doc) = guarded(|| Automerge::load_with_options(&fixed, options).ok()) {
        read(&doc);
    }
}

/// A customer whose values come from the input.
fn arbitrary_customer(u: &mut Unstructured) -> Result<Customer> {
    let mut c = Customer::new(
        u.arbitrary()?,
        u.arbitrary()?,
        fieldbook_shared::vocab::Nature::Enterprise,
        vec![Line::Delivery],
    );
    if c.name.trim().is_empty() {
        c.name = "x".into();
    }
    let months = ["2026-10", "2026-09", "2025-10", "2026-08", "2026-11"];
    for _ in 0..u.int_in_range(0..=8)? {
        let month = if u.ratio(1, 4)? {
            u.arbitrary::<String>()?
        } else {
            u.choose(&months)?.to_string()
        };
        c.ledger.push(LedgerEntry {
            month,
            line: u.choose(Line::ALL)?.clone(),
            amount_fen: u.arbitrary()?,
            disbursed_fen: u.arbitrary()?,
            cross_city_fen: u.arbitrary()?,
            estimate: false,
        });
    }
    for _ in 0..u.int_in_range(0..=2)? {
        c.contacts.push(Contact {
            id: u.arbitrary()?,
            name: u.arbitrary()?,
            birthday: u.arbitrary()?,
            ..Default::default()
        });
    }
    for _ in 0..u.int_in_range(0..=2)? {
        c.visits.push(Visit {
            id: u.arbitrary()?,
            date: u.arbitrary()?,
            visitors: u.arbitrary()?,
            ..Default::default()
        });
    }
    if u.arbitrary()? {
        let mut k = fieldbook_shared::complaints::Complaint::new(
            "k",
            "phone",
            "",
            "m",
            u.arbitrary()?,
            fieldbook_shared::grading::Grade::Gold,
        );
        k.status = u
            .choose(&fieldbook_shared::complaints::STATUSES)?
            .to_string();
        c.complaints.push(k);
    }
    if u.arbitrary()? {
        c.plans.push(fieldbook_shared::agreements::Plan {
            year: u.choose(&["2026", "2025"])?.to_string(),
            target_revenue_fen: u.arbitrary()?,
            ..Default::default()
        });
        let mut a = fieldbook_shared::agreements::Agreement {
            end: u.arbitrary()?,
            ..Default::default()
        };
        a.number = "HT-1".into();
        c.agreements.push(a);
    }
    Ok(c)
}

fn load_written(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(c) = arbitrary_customer(&mut u) else {
        return;
    };
    let mut doc = Automerge::new();
    if doc.transact(|tx| c.create(tx)).is_err() {
        return;
    }
    let saved = doc.save();
    let doc = Automerge::load(&saved).expect("a document we saved loads");
    read(&doc);
}

/// One input of the `document_load` target.
pub fn input(data: &[u8]) {
    // Let automerge's panics reach `guarded` (any other panic aborts at once).
    crate::let_panics_unwind_from(&["automerge", "hexane"]);
    crate::run(|| {
        load_raw(data);
        load_written(data);
    });
}
