use thiserror::Error;

/// Why a document could not be read or written as a Fieldbook document.
#[derive(Debug, Error)]
pub enum SchemaError {
    #[error("the document is not a {expected} document (its type is {found:?})")]
    WrongType {
        expected: &'static str,
        found: String,
    },
    #[error("the document has schema version {0}, newer than this build understands (1)")]
    TooNew(u64),
    /// The document's content does not have the expected shape.
    #[error("the document could not be read: {0}")]
    Read(String),
    /// Writing to the document failed.
    #[error("the document could not be written: {0}")]
    Write(String),
    #[error("{0}")]
    Invalid(String),
}

// Kept as text: the library errors are large, and a person needs only the message.
impl From<autosurgeon::HydrateError> for SchemaError {
    fn from(e: autosurgeon::HydrateError) -> Self {
        SchemaError::Read(e.to_string())
    }
}

impl From<autosurgeon::ReconcileError> for SchemaError {
    fn from(e: autosurgeon::ReconcileError) -> Self {
        SchemaError::Write(e.to_string())
    }
}

impl From<automerge::AutomergeError> for SchemaError {
    fn from(e: automerge::AutomergeError) -> Self {
        SchemaError::Write(e.to_string())
    }
}
