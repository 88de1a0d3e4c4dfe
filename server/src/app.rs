//! Start-up: the database, the sync repository, the projector and the HTTP routes.

use std::net::SocketAddr;
use std::path::PathBuf;

use samod::Repo;
use tokio::net::TcpListener;

use crate::acl::Acl;
use crate::error::ServerError;
use crate::state::AppState;
use crate::store::db::Db;
use crate::store::sql::Location;
use crate::store::storage::SqlStorage;
use crate::sync::policy::Policy;
use crate::{history, projection, projection::books, rules, warnings};

/// What `serve` needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub db: Location,
    pub listen: SocketAddr,
    /// The built client to serve at `/`, if present.
    pub static_dir: Option<PathBuf>,
    /// Unload a document no device is syncing after this long idle (`None`:
    /// keep every document loaded until the server stops).
    pub unload_idle: Option<std::time::Duration>,
    /// Which sites' pages may change state, and the public address.
    pub origins: crate::web_security::Origins,
    /// How long a claim waits for its document's content (`housekeeping`).
    pub claim_grace: std::time::Duration,
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    server: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, stops the repository (flushing what it holds) and waits.
    pub async fn stop(self) {
        self.server.abort();
        self.state.repo.stop().await;
    }
}

/// Opens everything and starts serving on `config.listen`.
pub async fn start(config: Config) -> Result<Running, ServerError> {
    let db = Db::open(&config.db)?;
    let acl = db.blocking(|c| Acl::load(c))?;
    let rules = db.blocking(|c| rules::load(c))?;
    // The operator's day and month from here on are the rules' (their zone).
    rules.get().apply_calendar();
    let (changed_tx, changed_rx) = tokio::sync::mpsc::unbounded_channel();
    // On PostgreSQL this is one node of a cluster (cluster.rs), however many
    // there are: its stored changes are announced to the others.
    let node = config.db.is_postgres().then(crate::cluster::new_node_id);
    let storage = SqlStorage::open_as(&config.db, changed_tx.clone(), node.clone())?;
    let cluster = match &node {
        Some(node) => {
            let c = crate::cluster::Cluster::join(&config.db, node.clone())?;
            acl.join(c.clone());
            Some(c)
        }
        None => None,
    };
    let repo = Repo::build_tokio()
        .with_storage(storage.clone())
        .with_peer_id(samod::PeerId::from("fieldbook-server"))
        .with_share_policy(Policy {
            acl: acl.clone(),
            db: db.clone(),
        })
        // Our policy never announces (a device mentions what it holds or
        // wants first), so attaching each connection only to the documents its
        // device mentions changes nothing a device sees, and spares the
        // connections x documents pairs samod would otherwise keep
        // (vendor/samod/PATCHED.md).
        .with_attach_on_demand(true)
        // Memory then follows the documents in use, not every document ever
        // synced since the start (samod never unloads by itself).
        .with_unload_idle_after(config.unload_idle)
        .load()
        .await;
    let acceptor = repo.make_acceptor(
        samod::Url::parse("ws://fieldbook/sync")
            .map_err(|e| ServerError::Internal(e.to_string()))?,
    )?;
    let (desks_tx, desks_rx) = tokio::sync::mpsc::unbounded_channel();
    let state = AppState {
        db,
        acl,
        repo,
        storage,
        acceptor,
        rules,
        changed: changed_tx,
        desks: desks_tx,
        authors: history::Authors::default(),
        bulk: std::sync::Arc::default(),
        registering: std::sync::Arc::default(),
        projecting: std::sync::Arc::default(),
        sync_conns: std::sync::Arc::default(),
        throttle: crate::throttle::Throttle::default(),
        origins: std::sync::Arc::new(config.origins.clone()),
        cluster: cluster.clone(),
    };

    warnings::publish(&state).await?;
    if let Some(cluster) = cluster {
        crate::cluster::listen(state.clone(), cluster)?;
    }
    tokio::spawn(projection::run(state.clone(), changed_rx));
    tokio::spawn(crate::desks::run(state.clone(), desks_rx));
    tokio::spawn(crate::memory::trim_after_frees(state.clone()));
    tokio::spawn(crate::housekeeping::run(state.clone(), config.claim_grace));

    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    let app = crate::http::router(state.clone(), config.static_dir.as_deref());
    tracing::info!(%addr, db = %config.db.display(), "Fieldbook server listening");
    // Every user's book is brought up to date after the server is listening,
    // not before: it reads every customer each user may see, which at 10,000
    // users kept the server from answering for over 30 s. Books are kept
    // current while the server runs, so this only catches up on what changed
    // while it was down; a login ensures its own user's book at once.
    let catch_up = state.clone();
    tokio::spawn(async move {
        let t = std::time::Instant::now();
        match books::ensure_all(&catch_up).await {
            Ok(n) => tracing::info!(
                users = n,
                secs = t.elapsed().as_secs_f64(),
                "every book is up to date"
            ),
            Err(e) => {
                tracing::error!(error = %e, "could not bring every book up to date; each is refreshed at its user's next login or change")
            }
        }
    });
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    Ok(Running {
        addr,
        state,
        server,
    })
}
