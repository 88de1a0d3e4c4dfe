//! The app's one error type. Each says what went wrong in words a manager
//! can act on (shown as they are); the variant tells code what kind it is.

/// What can go wrong on the tablet.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClientError {
    /// IndexedDB refused or failed (full, blocked, private mode…).
    #[error("{0}")]
    Storage(String),
    /// A document is missing here or could not be changed.
    #[error("{0}")]
    Document(String),
    /// The server could not be reached.
    #[error("{0}")]
    Unreachable(String),
    /// The server refused, with its reason.
    #[error("{0}")]
    Refused(String),
}

/// IndexedDB calls name the step that failed.
impl From<&str> for ClientError {
    fn from(what: &str) -> ClientError {
        ClientError::Storage(what.to_string())
    }
}

impl From<String> for ClientError {
    fn from(what: String) -> ClientError {
        ClientError::Storage(what)
    }
}
