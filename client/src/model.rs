//! What the screens show, kept apart from how it is stored and synced: the
//! rows of the customer list, what the book says (notices, approved grades,
//! managed-as tiers, the rules), the bad-credit list, and which documents
//! are kept in IndexedDB. Pure: the driver (`store.rs`, which owns IndexedDB,
//! the websocket and the timers) turns what happens into [`Action`]s, and
//! [`Model::apply`] says which documents it must read next. Unit-tested
//! natively (`cargo test -p fieldbook-client`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use fieldbook_shared::book::{
    Book, ManagedTier, MonthReview, RegistrationNotice, RegistrationStatus, SpotCheckNote,
};
use fieldbook_shared::calendar;
use fieldbook_shared::credit::{Warning, WarningList};
use fieldbook_shared::customer::Customer;
use fieldbook_shared::grading::{self, Grade, Level};
use fieldbook_shared::rules::Rules;
use fieldbook_shared::visits::{self, Cadence};

use crate::listing::{Entry, ListRow};

/// One customer as the list and detail screens show it.
#[derive(Clone, PartialEq, Debug)]
pub struct Row {
    pub doc_id: String,
    pub customer: Customer,
    pub annual_fen: i64,
    pub level: Level,
    pub grade: Grade,
    pub cadence: Cadence,
    pub open_follow_ups: usize,
    /// Fields two devices set differently: (field, values).
    pub conflicts: Vec<(&'static str, Vec<String>)>,
}

impl Row {
    /// A customer's row under `rules` at `now_ms`: the same assessment the
    /// server's projector makes (`grading::assess`), in the operator's month.
    pub fn of(
        doc_id: &str,
        customer: Customer,
        conflicts: Vec<(&'static str, Vec<String>)>,
        rules: &Rules,
        now_ms: i64,
    ) -> Row {
        // A manager's estimates are shown, never graded.
        let assessed = grading::assess(
            &fieldbook_shared::customer::official(&customer.ledger),
            &calendar::month_of(now_ms),
            &rules.grading,
        );
        Row {
            doc_id: doc_id.to_string(),
            annual_fen: assessed.annual_fen,
            level: assessed.level,
            grade: assessed.grade,
            cadence: visits::cadence_of(&customer, &calendar::day_of(now_ms)),
            open_follow_ups: visits::open_follow_ups(&customer).len(),
            conflicts,
            customer,
        }
    }
}

/// What happened, as the model needs to know it.
pub enum Action {
    /// The user's book was read (`None`: not on this device yet).
    Book {
        book: Option<Box<Book>>,
        now_ms: i64,
    },
    /// A customer document changed. The model asks for it to be read now,
    /// or, while a chunk of it waits for IndexedDB, once that is committed
    /// (a customer is shown only once what is shown is stored).
    Changed(String),
    /// A customer document was read.
    Customer {
        doc_id: String,
        customer: Box<Customer>,
        conflicts: Vec<(&'static str, Vec<String>)>,
        now_ms: i64,
    },
    /// A chunk of this document was queued for IndexedDB.
    Queued(String),
    /// A batch of chunk writes finished (one entry per write), committed or not.
    Committed { docs: Vec<String>, ok: bool },
    /// Chunks of this document are in IndexedDB (loaded at start, or stored
    /// by another tab).
    Kept(String),
    /// The customer left the book (a hand-over): gone from this device, with
    /// the given number of its queued writes discarded.
    Forgotten { doc_id: String, dropped: usize },
    /// The shared bad-credit list was read.
    Warnings(WarningList),
    /// The list index kept on the device was read (`listing.rs`): the
    /// customers kept here are listed from it until their documents are read.
    Index(BTreeMap<String, Entry>),
}

/// The screens' state.
#[derive(Default)]
pub struct Model {
    rows: BTreeMap<String, Row>,
    /// Documents to read once their queued chunks are committed.
    waiting: BTreeSet<String>,
    /// Documents with a committed chunk in IndexedDB: only these are listed.
    kept: BTreeSet<String>,
    /// Per document, chunk writes queued or in a transaction not yet committed.
    unsaved: HashMap<String, usize>,
    /// The customers the book lists.
    listed: BTreeSet<String>,
    notices: HashMap<String, RegistrationNotice>,
    approved: HashMap<String, (Level, Grade)>,
    managed: HashMap<String, ManagedTier>,
    /// Customer numbers 客户编号 the server gave (by document id).
    numbers: HashMap<String, String>,
    /// Where registrations stand, as the book says (by document id).
    registrations: HashMap<String, RegistrationStatus>,
    /// The user's desks the book names (document ids, oldest first).
    desks: Vec<String>,
    /// Heads' reviews of this user's months, newest first.
    reviews: Vec<MonthReview>,
    /// Spot checks of visits, by (document id, visit id).
    spot_checks: HashMap<(String, String), Vec<SpotCheckNote>>,
    /// Whether a book has been read (until then nothing is known of
    /// registrations).
    book_read: bool,
    rules: Rules,
    warnings: WarningList,
    /// The list index as read at start (customers not read yet are listed
    /// from it).
    index: BTreeMap<String, Entry>,
    /// A customer was read or left since the index was last taken.
    index_dirty: bool,
}

/// What the driver must do after an action.
#[derive(Debug, Default, PartialEq)]
pub struct Update {
    /// Documents to read now (then `Action::Customer`).
    pub read: Vec<String>,
    /// Customers the book no longer lists: their changes go to the outbox,
    /// then they leave this device (`Action::Forgotten`).
    pub gone: Vec<String>,
    /// Customers the book lists (to fetch those not on this device).
    pub listed: Vec<String>,
    /// The rules changed (their time zone is put in force).
    pub rules_changed: bool,
}

/// The document id of an `automerge:` URL.
pub fn doc_id_of(url: &str) -> String {
    url.trim_start_matches("automerge:").to_string()
}

impl Model {
    pub fn apply(&mut self, action: Action) -> Update {
        let mut update = Update::default();
        match action {
            Action::Book { book, now_ms } => {
                let rules = book
                    .as_ref()
                    .map(|b| Rules::from_book(&b.rules))
                    .unwrap_or_default();
                if rules != self.rules {
                    rules.apply_calendar();
                    self.rules = rules;
                    update.rules_changed = true;
                    // Grades depend on the thresholds: every row again.
                    let ids: Vec<String> = self.rows.keys().cloned().collect();
                    for id in ids {
                        if let Some(r) = self.rows.remove(&id) {
                            let row = Row::of(&id, r.customer, r.conflicts, &self.rules, now_ms);
                            self.rows.insert(id, row);
                        }
                    }
                }
                let Some(book) = book else {
                    return update;
                };
                self.managed = book
                    .managed
                    .iter()
                    .map(|m| (doc_id_of(&m.url), m.clone()))
                    .collect();
                self.numbers = book
                    .numbers
                    .iter()
                    .map(|n| (doc_id_of(&n.url), n.number.clone()))
                    .collect();
                self.approved = book
                    .grades
                    .iter()
                    .map(|g| (doc_id_of(&g.url), (g.level, g.grade)))
                    .collect();
                self.registrations = book
                    .registrations
                    .iter()
                    .map(|r| (doc_id_of(&r.url), r.clone()))
                    .collect();
                self.desks = book.desks.iter().map(|u| doc_id_of(u)).collect();
                self.reviews = book.reviews.clone();
                self.spot_checks = HashMap::new();
                for c in &book.spot_checks {
                    self.spot_checks
                        .entry((doc_id_of(&c.url), c.visit_id.clone()))
                        .or_default()
                        .push(c.clone());
                }
                self.book_read = true;
                self.notices = book
                    .notices
                    .iter()
                    .map(|n| (doc_id_of(&n.url), n.clone()))
                    .collect();
                let wanted: BTreeSet<String> =
                    book.customers.iter().map(|u| doc_id_of(u)).collect();
                update.gone = self.listed.difference(&wanted).cloned().collect();
                update.listed = wanted.iter().cloned().collect();
                self.listed = wanted;
            }
            Action::Changed(doc_id) => {
                if self.unsaved.contains_key(&doc_id) {
                    self.waiting.insert(doc_id);
                } else {
                    update.read.push(doc_id);
                }
            }
            Action::Customer {
                doc_id,
                customer,
                conflicts,
                now_ms,
            } => {
                let row = Row::of(&doc_id, *customer, conflicts, &self.rules, now_ms);
                // Its line now comes from the document (`list`): the index's
                // entry is not needed again.
                self.index.remove(&doc_id);
                self.rows.insert(doc_id, row);
                self.index_dirty = true;
            }
            Action::Queued(doc_id) => *self.unsaved.entry(doc_id).or_insert(0) += 1,
            Action::Committed { docs, ok } => {
                for d in docs {
                    if let Some(n) = self.unsaved.get_mut(&d) {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            self.unsaved.remove(&d);
                        }
                    }
                    if ok {
                        self.kept.insert(d);
                    }
                }
                let ready: Vec<String> = self
                    .waiting
                    .iter()
                    .filter(|d| !self.unsaved.contains_key(*d))
                    .cloned()
                    .collect();
                for d in ready {
                    self.waiting.remove(&d);
                    update.read.push(d);
                }
            }
            Action::Kept(doc_id) => {
                self.kept.insert(doc_id);
            }
            Action::Forgotten { doc_id, dropped } => {
                self.rows.remove(&doc_id);
                self.index.remove(&doc_id);
                self.index_dirty = true;
                self.kept.remove(&doc_id);
                self.waiting.remove(&doc_id);
                if let Some(n) = self.unsaved.get_mut(&doc_id) {
                    *n = n.saturating_sub(dropped);
                    if *n == 0 {
                        self.unsaved.remove(&doc_id);
                    }
                }
            }
            Action::Warnings(list) => self.warnings = list,
            Action::Index(entries) => self.index = entries,
        }
        update
    }

    /// Customers in the book kept on this device, sorted by name: a
    /// customer is listed only once its chunk is committed to IndexedDB.
    /// Borrowed: the screens that go over every customer at each draw
    /// (reminders, follow-ups, plan, events, review) cloned them all.
    pub fn rows_by_name(&self) -> Vec<&Row> {
        let mut rows: Vec<&Row> = self.kept_rows().collect();
        rows.sort_by(|a, b| a.customer.name.cmp(&b.customer.name));
        rows
    }

    /// The same customers, borrowed and in no order: for a pass over all of
    /// them (the files pass), which cloned a head's 3,000 customers whole
    /// every 20 seconds.
    pub fn kept_rows(&self) -> impl Iterator<Item = &Row> {
        self.rows.values().filter(|r| self.kept.contains(&r.doc_id))
    }

    /// The customer list, sorted by name: every customer kept on this
    /// device, from its document when read, else from the list index.
    pub fn list(&self, now_ms: i64) -> Vec<ListRow> {
        let mut list: Vec<ListRow> = self
            .kept
            .iter()
            .filter_map(|d| match self.rows.get(d) {
                Some(r) => Some(ListRow::of_row(r)),
                None => self
                    .index
                    .get(d)
                    .map(|e| ListRow::of_entry(d, e, &self.rules, now_ms)),
            })
            .collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        list
    }

    /// The list index to keep: each kept customer from its document when
    /// read, else as the index had it.
    pub fn index_entries(&self) -> BTreeMap<String, Entry> {
        self.kept
            .iter()
            .filter_map(|d| match self.rows.get(d) {
                Some(r) => Some((d.clone(), Entry::of(&r.customer, !r.conflicts.is_empty()))),
                None => self.index.get(d).map(|e| (d.clone(), e.clone())),
            })
            .collect()
    }

    /// Whether the index changed since the last call.
    pub fn take_index_dirty(&mut self) -> bool {
        std::mem::take(&mut self.index_dirty)
    }

    pub fn row(&self, doc_id: &str) -> Option<Row> {
        self.rows.get(doc_id).cloned()
    }

    pub fn is_kept(&self, doc_id: &str) -> bool {
        self.kept.contains(doc_id)
    }

    /// Whether a chunk of `doc_id` waits for IndexedDB.
    pub fn is_unsaved(&self, doc_id: &str) -> bool {
        self.unsaved.contains_key(doc_id)
    }

    /// Chunk writes not yet committed (queued or in a transaction).
    pub fn unsaved_writes(&self) -> usize {
        self.unsaved.values().sum()
    }

    pub fn nothing_unsaved(&self) -> bool {
        self.unsaved.is_empty()
    }

    /// What the server said about this user's registrations, by document id.
    pub fn notice(&self, doc_id: &str) -> Option<RegistrationNotice> {
        self.notices.get(doc_id).cloned()
    }

    /// The approved (level, grade) of a customer, if a head or the center fixed it.
    pub fn approved(&self, doc_id: &str) -> Option<(Level, Grade)> {
        self.approved.get(doc_id).cloned()
    }

    /// Where the registration of a customer stands: as the book says, or
    /// pending for a customer this device holds that the book does not list
    /// yet (registered here, not yet accepted by the server); `None` for an
    /// approved customer that is not this user's registration.
    pub fn registration(&self, doc_id: &str) -> Option<RegistrationStatus> {
        if let Some(r) = self.registrations.get(doc_id) {
            return Some(r.clone());
        }
        (self.book_read && !self.listed.contains(doc_id)).then(|| RegistrationStatus {
            url: format!("automerge:{doc_id}"),
            status: "pending".into(),
            ..RegistrationStatus::default()
        })
    }

    /// A head's review of this user's `month`, if one.
    pub fn review(&self, month: &str) -> Option<&MonthReview> {
        self.reviews.iter().find(|r| r.month == month)
    }

    /// What heads' spot checks of a visit found.
    pub fn spot_checks(&self, doc_id: &str, visit_id: &str) -> &[SpotCheckNote] {
        self.spot_checks
            .get(&(doc_id.to_string(), visit_id.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The user's desks the book names (document ids, oldest first).
    pub fn desks(&self) -> &[String] {
        &self.desks
    }

    /// The customer's number 客户编号, once the server gave one.
    pub fn number(&self, doc_id: &str) -> Option<&str> {
        self.numbers.get(doc_id).map(String::as_str)
    }

    /// The tier a customer is managed at above its own grade, if any.
    pub fn managed(&self, doc_id: &str) -> Option<ManagedTier> {
        self.managed.get(doc_id).cloned()
    }

    /// The operator's rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Confirmed bad-credit warnings about a customer with this name and code.
    pub fn warnings_for(&self, name: &str, credit_code: &str) -> Vec<Warning> {
        self.warnings
            .matching(name, credit_code)
            .into_iter()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::Index;
    use fieldbook_shared::customer::LedgerEntry;
    use fieldbook_shared::vocab::{Line, Nature};

    /// 2026-11-15 12:00 China time.
    const NOW: i64 = 1_794_715_200_000;

    fn customer(name: &str, yuan_a_month: i64) -> Customer {
        let mut c = Customer::new(name, "", Nature::Enterprise, vec![Line::Delivery]);
        for m in 1..=10 {
            c.ledger.push(LedgerEntry {
                month: format!("2026-{m:02}"),
                line: Line::Delivery,
                amount_fen: yuan_a_month * 100,
                ..Default::default()
            });
        }
        c
    }

    fn read(m: &mut Model, doc: &str, c: Customer) {
        m.apply(Action::Customer {
            doc_id: doc.into(),
            customer: Box::new(c),
            conflicts: Vec::new(),
            now_ms: NOW,
        });
    }

    /// A customer with a visit this month and an open follow-up, whose
    /// ledger holds an estimate as well as the office's figures.
    fn visited(name: &str, yuan_a_month: i64) -> Customer {
        let mut c = customer(name, yuan_a_month);
        c.ledger.push(LedgerEntry {
            month: "2026-10".into(),
            line: Line::Delivery,
            amount_fen: 900_000_000,
            estimate: true,
            ..Default::default()
        });
        c.visits.push(fieldbook_shared::customer::Visit {
            id: "v1".into(),
            date: "2026-11-03".into(),
            follow_ups: vec![fieldbook_shared::customer::FollowUp {
                id: "f1".into(),
                action: "报价".into(),
                ..Default::default()
            }],
            ..Default::default()
        });
        c
    }

    /// A line listed from the index reads as the line of the document it
    /// was taken from: the same level, grade (estimates left out), cadence
    /// and follow-ups.
    #[test]
    fn an_index_line_is_the_line_of_its_document() {
        let rules = Rules::default();
        for c in [visited("甲", 80_000), customer("乙", 3_000)] {
            let row = Row::of("d1", c.clone(), Vec::new(), &rules, NOW);
            let from_doc = ListRow::of_row(&row);
            let entry = Entry::of(&c, false);
            let from_index = ListRow::of_entry("d1", &entry, &rules, NOW);
            assert!(from_index.from_index && !from_doc.from_index);
            assert_eq!(
                ListRow {
                    from_index: false,
                    ..from_index
                },
                from_doc
            );
        }
        // Under other rules or in another month, the index is assessed again.
        let c = visited("甲", 80_000);
        let entry = Entry::of(&c, false);
        let january = NOW + 62 * 24 * 3_600_000;
        let row = Row::of("d1", c, Vec::new(), &rules, january);
        assert_eq!(
            ListRow::of_entry("d1", &entry, &rules, january).cadence,
            row.cadence
        );
        assert_eq!(row.cadence, Cadence::Overdue);
    }

    #[test]
    fn the_list_comes_from_the_index_until_each_document_is_read() {
        let mut m = Model::default();
        for d in ["d1", "d2"] {
            m.apply(Action::Kept(d.into()));
        }
        let entries: BTreeMap<String, Entry> = [
            ("d1", customer("乙", 3_000)),
            ("d2", customer("甲", 3_000)),
            // Left the device (no chunk kept): never listed.
            ("d3", customer("丙", 3_000)),
        ]
        .into_iter()
        .map(|(d, c)| (d.to_string(), Entry::of(&c, false)))
        .collect();
        m.apply(Action::Index(entries));
        let names = |m: &Model| -> Vec<(String, bool)> {
            m.list(NOW)
                .into_iter()
                .map(|r| (r.name, r.from_index))
                .collect()
        };
        assert_eq!(names(&m), [("乙".into(), true), ("甲".into(), true)]);
        assert!(
            m.rows_by_name().is_empty(),
            "the screens that need documents wait"
        );
        // Read: the document's line replaces the index's, renamed since.
        read(&mut m, "d1", customer("乙公司", 3_000));
        assert_eq!(names(&m), [("乙公司".into(), false), ("甲".into(), true)]);
        assert_eq!(
            m.index.keys().collect::<Vec<_>>(),
            ["d2", "d3"],
            "a read customer's index entry let go"
        );
        assert_eq!(
            m.kept_rows().map(|r| r.doc_id.as_str()).collect::<Vec<_>>(),
            ["d1"]
        );
        assert!(m.take_index_dirty());
        assert!(!m.take_index_dirty());
        // What is kept next: the read document, and the index's line of the
        // one not read yet; not a customer that left.
        let kept = m.index_entries();
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["d1", "d2"]);
        assert_eq!(kept["d1"].name, "乙公司");
        m.apply(Action::Forgotten {
            doc_id: "d2".into(),
            dropped: 0,
        });
        assert_eq!(names(&m), [("乙公司".into(), false)]);
        assert!(m.take_index_dirty());
        assert_eq!(m.index_entries().keys().collect::<Vec<_>>(), ["d1"]);
    }

    #[test]
    fn an_index_of_another_version_or_unreadable_is_not_used() {
        let entries: BTreeMap<String, Entry> =
            [("d1".to_string(), Entry::of(&customer("甲", 1), true))].into();
        let json = serde_json::to_vec(&Index::new(entries.clone())).expect("json");
        assert_eq!(Index::parse(&json), Some(entries.clone()));
        let mut other = Index::new(entries);
        other.version = crate::listing::INDEX_VERSION + 1;
        let json = serde_json::to_vec(&other).expect("json");
        assert_eq!(Index::parse(&json), None);
        assert_eq!(Index::parse(b"{\"version\":1,"), None);
    }

    #[test]
    fn a_customer_is_listed_only_once_its_chunk_is_committed() {
        let mut m = Model::default();
        m.apply(Action::Queued("d1".into()));
        // Changed while its chunk waits: not read yet, not listed.
        assert_eq!(
            m.apply(Action::Changed("d1".into())).read,
            Vec::<String>::new()
        );
        assert!(m.rows_by_name().is_empty());
        assert_eq!(m.unsaved_writes(), 1);
        // A failed commit keeps it out of the list, and the write counted off.
        let u = m.apply(Action::Committed {
            docs: vec!["d1".into()],
            ok: false,
        });
        assert_eq!(u.read, vec!["d1".to_string()]);
        read(&mut m, "d1", customer("甲公司", 1000));
        assert!(m.rows_by_name().is_empty(), "not kept: a write failed");
        assert!(m.row("d1").is_some(), "read, for the detail screen");
        // Queued again and committed: listed.
        m.apply(Action::Queued("d1".into()));
        m.apply(Action::Changed("d1".into()));
        let u = m.apply(Action::Committed {
            docs: vec!["d1".into()],
            ok: true,
        });
        assert_eq!(u.read, vec!["d1".to_string()]);
        read(&mut m, "d1", customer("甲公司", 1000));
        assert_eq!(m.rows_by_name().len(), 1);
        assert!(m.nothing_unsaved());
        // A change with nothing waiting is read at once.
        assert_eq!(
            m.apply(Action::Changed("d1".into())).read,
            vec!["d1".to_string()]
        );
    }

    #[test]
    fn rows_are_sorted_by_name_and_graded_by_the_books_rules() {
        let mut m = Model::default();
        for (d, name) in [("d1", "乙公司"), ("d2", "甲公司")] {
            m.apply(Action::Kept(d.into()));
            read(&mut m, d, customer(name, 2000));
        }
        let names: Vec<String> = m
            .rows_by_name()
            .iter()
            .map(|r| r.customer.name.clone())
            .collect();
        assert_eq!(names, vec!["乙公司".to_string(), "甲公司".to_string()]);
        // ¥20,000 over the last twelve complete months: ordinary by default.
        assert_eq!(m.row("d1").unwrap().grade, Grade::Ordinary);
        assert_eq!(m.row("d1").unwrap().annual_fen, 2_000_000);
        // The book raises ordinary to ¥50,000: the rows are graded again.
        let mut rules = Rules::default();
        rules.grading.ordinary_fen = 5_000_000;
        let mut book = Book::new("m1");
        book.rules = rules.to_tablet_json();
        let u = m.apply(Action::Book {
            book: Some(Box::new(book)),
            now_ms: NOW,
        });
        assert!(u.rules_changed);
        assert_eq!(m.row("d1").unwrap().grade, Grade::None);
        assert_eq!(m.rules().grading.ordinary_fen, 5_000_000);
    }

    #[test]
    fn the_book_lists_notices_approvals_tiers_and_who_left() {
        let mut m = Model::default();
        let mut book = Book::new("m1");
        book.customers = vec!["automerge:d1".into(), "automerge:d2".into()];
        book.grades.push(fieldbook_shared::book::ApprovedGrade {
            url: "automerge:d1".into(),
            level: Level::Company,
            grade: Grade::Gold,
        });
        book.managed.push(ManagedTier::new(
            "automerge:d2".into(),
            Grade::Platinum,
            grading::ManagedWhy::Rank { rank: 2 },
        ));
        let u = m.apply(Action::Book {
            book: Some(Box::new(book.clone())),
            now_ms: NOW,
        });
        assert_eq!(u.listed, vec!["d1".to_string(), "d2".to_string()]);
        assert!(u.gone.is_empty());
        assert_eq!(m.approved("d1"), Some((Level::Company, Grade::Gold)));
        assert_eq!(
            m.managed("d2").map(|t| t.why()),
            Some(grading::ManagedWhy::Rank { rank: 2 })
        );
        // d2 is handed over: the book drops it, the model says it is gone.
        book.customers.pop();
        m.apply(Action::Kept("d2".into()));
        read(&mut m, "d2", customer("乙公司", 10));
        let u = m.apply(Action::Book {
            book: Some(Box::new(book)),
            now_ms: NOW,
        });
        assert_eq!(u.gone, vec!["d2".to_string()]);
        m.apply(Action::Forgotten {
            doc_id: "d2".into(),
            dropped: 0,
        });
        assert!(m.row("d2").is_none());
        assert!(!m.is_kept("d2"));
    }

    #[test]
    fn a_registration_stands_as_the_book_says_or_pending_until_listed() {
        let mut m = Model::default();
        assert_eq!(m.registration("d9"), None, "nothing known before a book");
        let mut book = Book::new("m1");
        book.customers = vec!["automerge:d1".into(), "automerge:d2".into()];
        book.desks = vec!["automerge:k1".into()];
        book.registrations.push(RegistrationStatus {
            url: "automerge:d1".into(),
            status: "rejected".into(),
            reason: "重复报备".into(),
            decided_by: "王主任".into(),
            decided_at: "2026-12-05T02:00:00Z".into(),
        });
        m.apply(Action::Book {
            book: Some(Box::new(book)),
            now_ms: NOW,
        });
        let d1 = m.registration("d1").unwrap();
        assert_eq!(
            (d1.status.as_str(), d1.reason.as_str()),
            ("rejected", "重复报备")
        );
        assert_eq!(m.registration("d2"), None, "listed, not named: approved");
        assert_eq!(
            m.registration("d3").map(|r| r.status),
            Some("pending".to_string()),
            "registered on this device, not yet accepted"
        );
        assert_eq!(m.desks(), ["k1".to_string()]);
    }
}
