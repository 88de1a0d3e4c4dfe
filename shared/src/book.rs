//! The book document: the customer documents one user may open. Written by the
//! server alone (read-only for its user) from the assignment tables.

use automerge::ROOT;
use autosurgeon::{Doc, ReadDoc};
use autosurgeon::{Hydrate, Reconcile, hydrate};

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
    /// Customers this user held and lost in a hand-over, newest first: the
    /// tablet shows where they went, even when it never saw the hand-over.
    #[autosurgeon(missing = "Vec::new")]
    pub left: Vec<LeftCustomer>,
    /// The operator's rules in force (`rules::Rules` as JSON), so the tablet
    /// grades and alerts offline exactly as the server does. Empty: defaults.
    #[autosurgeon(with = "flex::string")]
    pub rules: String,
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
    /// A grade word ("platinum", …).
    #[autosurgeon(with = "flex::string")]
    pub grade: String,
    /// "rank" | "cross_city".
    #[autosurgeon(with = "flex::string")]
    pub why: String,
    /// The revenue rank in the city, when `why` is "rank".
    #[autosurgeon(with = "flex::int")]
    pub rank: i64,
}

/// A level and grade a head or the center fixed for a customer.
#[derive(Debug, Clone, Default, PartialEq, Hydrate, Reconcile)]
pub struct ApprovedGrade {
    #[autosurgeon(with = "flex::string")]
    pub url: String,
    #[autosurgeon(with = "flex::string")]
    pub level: String,
    #[autosurgeon(with = "flex::string")]
    pub grade: String,
}

/// Why a registration by this user is (partly) a duplicate (DOMAIN.md, 报备).
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
            left: Vec::new(),
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
}
