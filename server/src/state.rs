//! Everything a request handler or background task can reach, and the parts
//! of it a handler may take alone (`FromRef`).

use samod::{AcceptorHandle, Repo};

use axum::extract::FromRef;

use crate::acl::Acl;
use crate::rules;
use crate::store::db::Db;
use crate::store::storage::SqlStorage;
use crate::sync::authors::Authors;

/// Everything a request handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub acl: Acl,
    pub repo: Repo,
    pub storage: SqlStorage,
    pub acceptor: AcceptorHandle,
    /// The operator's rules in force.
    pub rules: rules::Current,
    /// Queues documents for the projector.
    pub changed: tokio::sync::mpsc::UnboundedSender<String>,
    /// Queues stored documents that are not customers for `desks::run`.
    pub desks: tokio::sync::mpsc::UnboundedSender<String>,
    /// Who sent changes to which document, to bind devices to users.
    pub authors: Authors,
    /// Documents queued by a bulk re-projection: read from storage, not
    /// opened in the repo (see `SqlStorage::load_document`).
    pub bulk: std::sync::Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
    /// Held (written) by an import while it creates customers and registers
    /// them: the projector, finding a customer with no holder, waits for it
    /// before it projects one as nobody's (see `projection::prepare`).
    pub registering: std::sync::Arc<tokio::sync::RwLock<()>>,
    /// Held while a batch of customers is projected: an import's projection
    /// (`projection::project_now`) and the background projector's, both
    /// told of the same documents, take turns, so the second finds them
    /// projected already and leaves them alone instead of doing it again.
    /// An import or decision waits at most half a minute for it
    /// (`projection::TURN_WAIT`), then projects beside the batch.
    pub projecting: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// Open sync websockets per user (capped: see `sync::MAX_CONNECTIONS_PER_USER`).
    pub sync_conns: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<i64, usize>>>,
    /// Which sites' pages may change state; the cookie's flags.
    pub origins: std::sync::Arc<crate::web_security::Origins>,
    /// Failed logins per username and address.
    pub throttle: crate::throttle::Throttle,
    /// The other nodes on the same PostgreSQL database (none on SQLite).
    pub cluster: Option<crate::cluster::Cluster>,
}

impl AppState {
    /// Creates a document in the repo and returns once it is in storage, so
    /// that its id may be written into a table (see `SqlStorage::wait_stored`).
    pub async fn create_stored(
        &self,
        doc: automerge::Automerge,
    ) -> Result<samod::DocHandle, crate::error::ServerError> {
        let handle = self.repo.create(doc).await?;
        self.storage
            .wait_stored(&[handle.document_id().to_string()])
            .await?;
        Ok(handle)
    }

    /// Marks documents about to be projected in bulk (see [`AppState::bulk`]).
    pub fn bulk_mark(&self, docs: &[String]) {
        self.bulk
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(docs.iter().cloned());
    }
}

/// The parts a handler may take alone (`State<Db>`, …), so that its
/// signature says what it uses.
macro_rules! sub_state {
    ($($field:ident: $ty:ty),* $(,)?) => {
        $(impl FromRef<AppState> for $ty {
            fn from_ref(state: &AppState) -> Self {
                state.$field.clone()
            }
        })*
    };
}

sub_state! {
    db: Db,
    acl: Acl,
    repo: Repo,
    rules: rules::Current,
    authors: Authors,
    throttle: crate::throttle::Throttle,
}
