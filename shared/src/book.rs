//! The book document: the customer documents one user may open. Written by the
//! server alone (read-only for its user) from the assignment tables.

use automerge::ROOT;
use autosurgeon::{Doc, ReadDoc};
use autosurgeon::{Hydrate, Reconcile, hydrate};

use crate::grading::{Grade, Level, ManagedWhy};
use crate::onepass::OnePass;
use crate::{SCHEMA_VERSION, SchemaError, flex};

/// The `type` of a book document.
pub const BOOK_TYPE: &str = "book";

/// A user's book.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct Book {
    #[autosurgeon(rename = "type", with = "flex::string")]
    pub doc_type: String,
    #[autosurgeon(with = "flex::int")]
    pub schema: i64,
    /// The username this book belongs to.
    #[autosurgeon(with = "flex::string")]
    pub user: String,
    /// `automerge:` URLs of the customer documents, sorted.
    #[autosurgeon(with = "flex::strings")]
    pub customers: Vec<String>,
    /// What happened to the user's registrations that were not simply accepted.
    #[autosurgeon(missing = "Vec::new")]
    pub notices: Vec<RegistrationNotice>,
    /// Approved levels and grades of the customers listed (server-owned).
    #[autosurgeon(missing = "Vec::new")]
    pub grades: Vec<ApprovedGrade>,
    /// Customers the city-wide rules manage above their own grade (top ranks,
    /// cross-city mail): only the server sees every customer's revenue.
    #[autosurgeon(missing = "Vec::new")]
    pub managed: Vec<ManagedTier>,
    /// Customer numbers 客户编号 the server gave the customers listed.
    #[autosurgeon(missing = "Vec::new")]
    pub numbers: Vec<CustomerNumber>,
    /// Customers this user held and lost in a hand-over, newest first: the
    /// tablet shows where they went, even when it never saw the hand-over.
    #[autosurgeon(missing = "Vec::new")]
    pub left: Vec<LeftCustomer>,
    /// The user's desks (`automerge:` URLs, oldest first: shared/src/desk.rs),
    /// so that each of their devices finds them.
    #[autosurgeon(missing = "Vec::new")]
    pub desks: Vec<String>,
    /// Where registrations stand 报备: every customer listed that is still
    /// pending or was sent back, and those this user registered that were
    /// approved. A customer not named here is approved (or never needed it).
    #[autosurgeon(missing = "Vec::new")]
    pub registrations: Vec<RegistrationStatus>,
    /// Heads' reviews of this user's months 月末核实, newest first (last 12).
    #[autosurgeon(missing = "Vec::new")]
    pub reviews: Vec<MonthReview>,
    /// Spot checks 抽查 of visits to the customers listed (last 120 days).
    #[autosurgeon(missing = "Vec::new")]
    pub spot_checks: Vec<SpotCheckNote>,
    /// The operator's rules in force (`rules::Rules` as JSON), so the tablet
    /// grades and alerts offline exactly as the server does. Empty: defaults.
    #[autosurgeon(with = "flex::string")]
    pub rules: String,
}

/// Where a registration stands (server-owned: decisions.rs).
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct RegistrationStatus {
    #[autosurgeon(with = "flex::string")]
    pub url: String,
    /// "pending" 待审批, "approved" 已批准 or "rejected" 已退回.
    #[autosurgeon(with = "flex::string")]
    pub status: String,
    /// Why it was sent back.
    #[autosurgeon(with = "flex::string")]
    pub reason: String,
    /// Who decided (display name) and when (RFC 3339).
    #[autosurgeon(with = "flex::string")]
    pub decided_by: String,
    #[autosurgeon(with = "flex::string")]
    pub decided_at: String,
}

/// A head's review of a month of this user's work (server-owned).
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct MonthReview {
    /// YYYY-MM.
    #[autosurgeon(with = "flex::string")]
    pub month: String,
    /// The reviewer's display name.
    #[autosurgeon(with = "flex::string")]
    pub by: String,
    #[autosurgeon(with = "flex::string")]
    pub comment: String,
    /// RFC 3339.
    #[autosurgeon(with = "flex::string")]
    pub at: String,
}

/// What a head's check of a visit found (server-owned).
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct SpotCheckNote {
    #[autosurgeon(with = "flex::string")]
    pub url: String,
    #[autosurgeon(with = "flex::string")]
    pub visit_id: String,
    #[autosurgeon(with = "flex::string")]
    pub by: String,
    #[autosurgeon(with = "flex::string")]
    pub comment: String,
    #[autosurgeon(with = "flex::string")]
    pub at: String,
}

/// A customer's number 客户编号 (server-owned: numbering.rs).
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct CustomerNumber {
    #[autosurgeon(with = "flex::string")]
    pub url: String,
    #[autosurgeon(with = "flex::string")]
    pub number: String,
}

/// A customer managed above its threshold grade, and why.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct LeftCustomer {
    #[autosurgeon(with = "flex::string")]
    pub url: String,
    #[autosurgeon(with = "flex::string")]
    pub name: String,
    /// Username of the new primary manager.
    #[autosurgeon(with = "flex::string")]
    pub to: String,
    /// When (RFC 3339).
    #[autosurgeon(with = "flex::string")]
    pub at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct ManagedTier {
    #[autosurgeon(with = "flex::string")]
    pub url: String,
    /// Stored as its word ("platinum", …).
    #[autosurgeon(missing = "Grade::default")]
    pub grade: Grade,
    /// "rank" | "cross_city" (read it with [`ManagedTier::why`]).
    #[autosurgeon(with = "flex::string")]
    pub why: String,
    /// The revenue rank in the city, when `why` is "rank".
    #[autosurgeon(with = "flex::int")]
    pub rank: i64,
}

impl ManagedTier {
    pub fn new(url: String, grade: Grade, why: ManagedWhy) -> ManagedTier {
        let (word, rank) = why.to_stored();
        ManagedTier {
            url,
            grade,
            why: word.to_string(),
            rank,
        }
    }

    /// Why the customer is managed above its own grade.
    pub fn why(&self) -> ManagedWhy {
        ManagedWhy::from_stored(&self.why, self.rank)
    }
}

/// A level and grade a head or the center fixed for a customer.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct ApprovedGrade {
    #[autosurgeon(with = "flex::string")]
    pub url: String,
    /// Stored as its word, as the grade.
    #[autosurgeon(missing = "Level::default")]
    pub level: Level,
    #[autosurgeon(missing = "Grade::default")]
    pub grade: Grade,
}

/// Why a registration by this user is (partly) a duplicate (docs/domain.md,
/// Registration and ownership).
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct RegistrationNotice {
    /// The customer this user registered.
    #[autosurgeon(with = "flex::string")]
    pub url: String,
    /// The earlier registration of the same customer, if any.
    #[autosurgeon(with = "flex::string")]
    pub same_as: String,
    /// Lines this registration won.
    #[autosurgeon(with = "flex::strings")]
    pub owned: Vec<String>,
    /// Lines already owned by another unit, as `line:unit`.
    #[autosurgeon(with = "flex::strings")]
    pub duplicate: Vec<String>,
}

impl Book {
    /// An empty book for `user`.
    pub fn new(user: &str) -> Self {
        Book {
            doc_type: BOOK_TYPE.into(),
            schema: SCHEMA_VERSION as i64,
            user: user.into(),
            customers: Vec::new(),
            notices: Vec::new(),
            grades: Vec::new(),
            managed: Vec::new(),
            numbers: Vec::new(),
            left: Vec::new(),
            desks: Vec::new(),
            registrations: Vec::new(),
            reviews: Vec::new(),
            spot_checks: Vec::new(),
            rules: String::new(),
        }
    }

    /// Reads a book document.
    pub fn load<D: ReadDoc>(doc: &D) -> Result<Self, SchemaError> {
        let found = flex::read_string(doc, &ROOT, "type".into())?;
        if found != BOOK_TYPE {
            return Err(SchemaError::WrongType {
                expected: BOOK_TYPE,
                found,
            });
        }
        Ok(hydrate(&OnePass::new(doc))?)
    }

    /// Writes the book into `tx`, changing only what differs.
    pub fn save<T: Doc>(&self, tx: &mut T) -> Result<(), SchemaError> {
        autosurgeon::reconcile(tx, self)?;
        Ok(())
    }

    /// Writes into `tx` only the fields in which this book differs from
    /// `before` (the book as `tx` holds it). A whole-book reconcile reads
    /// every entry of every list back from the document to compare it: on
    /// the center's book of 100,000 customers that took seconds when only
    /// the rules had changed.
    pub fn save_changed<T: Doc>(&self, before: &Book, tx: &mut T) -> Result<(), SchemaError> {
        /// A field the derive writes with `flex::string`.
        struct Str<'a>(&'a String);
        impl Reconcile for Str<'_> {
            type Key<'k> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, r: R) -> Result<(), R::Error> {
                flex::string::reconcile(self.0, r)
            }
        }
        /// A field the derive writes with `flex::strings`.
        struct Strs<'a>(&'a Vec<String>);
        impl Reconcile for Strs<'_> {
            type Key<'k> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, r: R) -> Result<(), R::Error> {
                flex::strings::reconcile(self.0, r)
            }
        }
        if self.doc_type != before.doc_type
            || self.schema != before.schema
            || self.user != before.user
        {
            // Never happens for a book written by this server; stay exact.
            return self.save(tx);
        }
        // Every field named: a field added to `Book` and not written below
        // fails to compile here instead of never reaching the tablets.
        let Book {
            doc_type: _,
            schema: _,
            user: _,
            customers: _,
            notices: _,
            grades: _,
            managed: _,
            numbers: _,
            left: _,
            desks: _,
            registrations: _,
            reviews: _,
            spot_checks: _,
            rules: _,
        } = self;
        macro_rules! field {
            ($name:literal, $f:ident) => {
                if self.$f != before.$f {
                    autosurgeon::reconcile_prop(tx, ROOT, $name, &self.$f)?;
                }
            };
            ($name:literal, $f:ident, $wrap:ident) => {
                if self.$f != before.$f {
                    autosurgeon::reconcile_prop(tx, ROOT, $name, $wrap(&self.$f))?;
                }
            };
        }
        field!("customers", customers, Strs);
        field!("notices", notices);
        field!("grades", grades);
        field!("managed", managed);
        field!("numbers", numbers);
        field!("left", left);
        field!("desks", desks);
        field!("registrations", registrations);
        field!("reviews", reviews);
        field!("spot_checks", spot_checks);
        field!("rules", rules, Str);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable as T;
    use automerge::{Automerge, ObjType};

    /// A book as the release before typed grades wrote it (words in plain
    /// strings, as now): read into the types, an unknown word as `None`, and
    /// written back word for word, so that tablets of either release read
    /// the other's books.
    #[test]
    fn a_book_of_the_previous_release_reads_into_typed_grades_and_back() {
        let mut doc = Automerge::new();
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            T::put(tx, ROOT, "type", "book")?;
            T::put(tx, ROOT, "schema", 1)?;
            T::put(tx, ROOT, "user", "m1")?;
            T::put_object(tx, ROOT, "customers", ObjType::List)?;
            let grades = T::put_object(tx, ROOT, "grades", ObjType::List)?;
            let g = T::insert_object(tx, &grades, 0, ObjType::Map)?;
            T::put(tx, &g, "url", "automerge:a")?;
            T::put(tx, &g, "level", "company")?;
            T::put(tx, &g, "grade", "gold")?;
            let managed = T::put_object(tx, ROOT, "managed", ObjType::List)?;
            let m = T::insert_object(tx, &managed, 0, ObjType::Map)?;
            T::put(tx, &m, "url", "automerge:a")?;
            T::put(tx, &m, "grade", "platinum")?;
            T::put(tx, &m, "why", "rank")?;
            T::put(tx, &m, "rank", 2)?;
            let n = T::insert_object(tx, &managed, 1, ObjType::Map)?;
            T::put(tx, &n, "url", "automerge:b")?;
            T::put(tx, &n, "grade", "titanium")?;
            T::put(tx, &n, "why", "cross_city")?;
            Ok(())
        })
        .unwrap();
        let book = Book::load(&doc).unwrap();
        assert_eq!(book.grades[0].level, Level::Company);
        assert_eq!(book.grades[0].grade, Grade::Gold);
        assert_eq!(book.managed[0].grade, Grade::Platinum);
        assert_eq!(book.managed[0].why(), ManagedWhy::Rank { rank: 2 });
        assert_eq!(book.managed[1].grade, Grade::None, "an unknown word");
        assert_eq!(book.managed[1].why(), ManagedWhy::CrossCity);
        // Lists of later releases are simply empty in an earlier book.
        assert!(book.desks.is_empty() && book.registrations.is_empty());
        assert!(book.reviews.is_empty() && book.spot_checks.is_empty());

        let mut again = Automerge::new();
        again
            .transact::<_, _, SchemaError>(|tx| book.save(tx))
            .unwrap();
        let grades = automerge::ReadDoc::get(&again, ROOT, "grades")
            .unwrap()
            .unwrap()
            .1;
        let first = automerge::ReadDoc::get(&again, &grades, 0)
            .unwrap()
            .unwrap()
            .1;
        let level = automerge::ReadDoc::get(&again, &first, "level")
            .unwrap()
            .unwrap()
            .0;
        assert_eq!(level.into_string().unwrap(), "company");
        assert_eq!(
            ManagedTier::new("u".into(), Grade::Diamond, ManagedWhy::Rank { rank: 3 }),
            ManagedTier {
                url: "u".into(),
                grade: Grade::Diamond,
                why: "rank".into(),
                rank: 3,
            }
        );
    }

    /// Writing only what changed leaves the document as a whole-book save
    /// would, field by field, and an unchanged book makes no change.
    #[test]
    fn saving_only_what_changed_gives_what_saving_everything_gives() {
        let mut first = Book::new("h1");
        first.customers = (0..50).map(|i| format!("automerge:c{i}")).collect();
        first.grades = (0..50)
            .map(|i| ApprovedGrade {
                url: format!("automerge:c{i}"),
                level: Level::Company,
                grade: Grade::Gold,
            })
            .collect();
        first.desks = vec!["automerge:d1".into()];
        first.rules = "{}".into();
        let mut doc = Automerge::new();
        doc.transact::<_, _, SchemaError>(|tx| first.save(tx))
            .unwrap();

        let same = doc.get_heads();
        doc.transact::<_, _, SchemaError>(|tx| first.save_changed(&first, tx))
            .unwrap();
        assert_eq!(doc.get_heads(), same, "an unchanged book made a change");

        // Each field changed in turn, and several at once.
        type Change = Box<dyn Fn(&mut Book)>;
        let mut changes: Vec<Change> = vec![
            Box::new(|b| b.customers.truncate(20)),
            Box::new(|b| b.customers.push("automerge:new".into())),
            Box::new(|b| b.grades[3].grade = Grade::Diamond),
            Box::new(|b| {
                b.managed.push(ManagedTier::new(
                    "automerge:c1".into(),
                    Grade::Platinum,
                    ManagedWhy::CrossCity,
                ))
            }),
            Box::new(|b| {
                b.numbers.push(CustomerNumber {
                    url: "automerge:c2".into(),
                    number: "K-1".into(),
                })
            }),
            Box::new(|b| b.desks.clear()),
            Box::new(|b| {
                b.reviews.push(MonthReview {
                    month: "2026-11".into(),
                    ..Default::default()
                })
            }),
            Box::new(|b| b.rules = r#"{"grading":{}}"#.into()),
        ];
        changes.push(Box::new(|b| {
            b.rules = "{ }".into();
            b.grades.remove(0);
            b.left.push(LeftCustomer {
                url: "automerge:x".into(),
                ..Default::default()
            });
        }));
        let mut before = first.clone();
        for change in changes {
            let mut after = before.clone();
            change(&mut after);
            let mut whole = doc.fork();
            whole
                .transact::<_, _, SchemaError>(|tx| after.save(tx))
                .unwrap();
            doc.transact::<_, _, SchemaError>(|tx| after.save_changed(&before, tx))
                .unwrap();
            assert_eq!(Book::load(&doc).unwrap(), after);
            assert_eq!(Book::load(&whole).unwrap(), after);
            before = after;
        }
    }
}
