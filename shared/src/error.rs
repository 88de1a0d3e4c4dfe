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
    #[error("the document could not be read: {0}")]
    Hydrate(#[from] autosurgeon::HydrateError),
    #[error("the document could not be written: {0}")]
    Reconcile(#[from] autosurgeon::ReconcileError),
    #[error("automerge error: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    #[error("{0}")]
    Invalid(String),
}
