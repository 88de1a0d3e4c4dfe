//! samod's `Storage` on the database (SQLite or PostgreSQL).
//!
//! One writer thread commits puts in groups (many puts, one commit) and tells the
//! projector which documents changed; reads run on a blocking thread with their
//! own connection. samod's storage is infallible, so every database error is
//! logged loudly and retried: a put is never reported done before it is committed.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::store::sql::{Connection, Location, OptionalExtension, params};
use samod::storage::{Storage, StorageKey};
use tokio::sync::{oneshot, watch};

use crate::error::ServerError;
use crate::store::db;

enum Write {
    Put(String, Vec<u8>),
    Delete(String),
}

struct Job {
    seq: u64,
    write: Write,
    done: oneshot::Sender<()>,
}

/// Puts that have started but are not yet committed, by sequence number.
#[derive(Default)]
struct InFlight {
    next_seq: u64,
    pending: BTreeSet<u64>,
}

/// samod's storage in the database. Cheap to clone.
#[derive(Clone)]
pub struct SqlStorage {
    writer: mpsc::Sender<Job>,
    reader: Arc<Mutex<Connection>>,
    in_flight: Arc<Mutex<InFlight>>,
    committed: watch::Receiver<u64>,
}

impl SqlStorage {
    /// Opens the storage on the database at `path`. `changed` receives the id of
    /// every document whose stored data changed, after the change is committed.
    pub fn open(
        location: &Location,
        changed: tokio::sync::mpsc::UnboundedSender<String>,
    ) -> Result<Self, ServerError> {
        Self::open_as(location, changed, None)
    }

    /// [`SqlStorage::open`] for a node of a cluster (PostgreSQL): each
    /// commit also tells the other nodes which documents it changed, in the
    /// same transaction, so they hear of a change exactly when it is durable.
    pub fn open_as(
        location: &Location,
        changed: tokio::sync::mpsc::UnboundedSender<String>,
        node: Option<String>,
    ) -> Result<Self, ServerError> {
        let writer_conn = db::open(location)?;
        let (committed_tx, committed) = watch::channel(0u64);
        if let Some(lite) = writer_conn.sqlite() {
            lite.busy_handler(Some(db::wait_briefly))?;
            // The writer's commits never checkpoint: see `checkpoint_loop`.
            lite.pragma_update(None, "wal_autocheckpoint", 0)?;
            let checkpointer = db::open(location)?;
            let stopped = committed.clone();
            std::thread::Builder::new()
                .name("sqlite-checkpoint".into())
                .spawn(move || checkpoint_loop(checkpointer, stopped))
                .map_err(|e| {
                    ServerError::Internal(format!("cannot start the WAL checkpointer: {e}"))
                })?;
        }
        let reader = db::open(location)?;
        let (tx, rx) = mpsc::channel::<Job>();
        let in_flight = Arc::new(Mutex::new(InFlight::default()));
        let thread_in_flight = in_flight.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                writer_loop(
                    writer_conn,
                    node,
                    rx,
                    thread_in_flight,
                    committed_tx,
                    changed,
                )
            })
            .map_err(|e| ServerError::Internal(format!("cannot start the storage writer: {e}")))?;
        Ok(SqlStorage {
            writer: tx,
            reader: Arc::new(Mutex::new(reader)),
            in_flight,
            committed,
        })
    }

    /// Waits until every put that had started when this was called is committed.
    /// The sync transport calls it before sending a message, so nothing that shows
    /// the server has a change leaves before the change is on disk.
    pub async fn barrier(&self) {
        let target = {
            let f = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            f.next_seq
        };
        let mut committed = self.committed.clone();
        loop {
            let oldest_pending = {
                let f = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
                f.pending.first().copied()
            };
            match oldest_pending {
                Some(seq) if seq < target => {
                    if committed.changed().await.is_err() {
                        return; // writer gone: the server is stopping
                    }
                }
                _ => return,
            }
        }
    }

    fn submit(&self, write: Write) -> impl Future<Output = ()> + Send + 'static {
        let (done, wait) = oneshot::channel();
        let seq = {
            let mut f = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            let seq = f.next_seq;
            f.next_seq += 1;
            f.pending.insert(seq);
            seq
        };
        let sent = self.writer.send(Job { seq, write, done });
        async move {
            if sent.is_err() {
                tracing::error!("storage writer has stopped; a write was not stored");
                return;
            }
            let _ = wait.await;
        }
    }

    /// Waits until each of `doc_ids` has data committed to storage. samod's
    /// `Repo::create` returns before the new document's first put is
    /// committed; a document's id must not be written into a table (where
    /// another node, or this one after a crash, would look for it) before
    /// then.
    pub async fn wait_stored(&self, doc_ids: &[String]) -> Result<(), ServerError> {
        const PATIENCE: Duration = Duration::from_secs(60);
        let started = std::time::Instant::now();
        let mut missing: Vec<String> = doc_ids.to_vec();
        loop {
            self.barrier().await;
            let ask = std::mem::take(&mut missing);
            missing = self
                .read("wait_stored", move |c| {
                    let mut stmt = c.prepare_cached(
                        "SELECT 1 FROM samod_storage WHERE key >= ?1 AND key < ?2 LIMIT 1",
                    )?;
                    let mut out = Vec::new();
                    for id in &ask {
                        let found = stmt
                            .query_row([format!("{id}/"), format!("{id}0")], |_| Ok(()))
                            .optional()?;
                        if found.is_none() {
                            out.push(id.clone());
                        }
                    }
                    Ok(out)
                })
                .await;
            if missing.is_empty() {
                return Ok(());
            }
            if started.elapsed() > PATIENCE {
                return Err(ServerError::Internal(format!(
                    "{} new document(s) not stored after {PATIENCE:?}, first {}",
                    missing.len(),
                    missing[0]
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// A stored document read straight from storage, without opening it in the
    /// repo: samod keeps every document it opens (and its state for every
    /// connection) until it stops, so bulk work such as projecting every
    /// customer again must not open them all.
    pub async fn load_document(
        &self,
        doc_id: &str,
    ) -> Result<Option<automerge::Automerge>, ServerError> {
        let (from, to) = (format!("{doc_id}/"), format!("{doc_id}0"));
        let chunks: Vec<Vec<u8>> = self
            .read_or_fail("load_document", move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT data FROM samod_storage WHERE key >= ?1 AND key < ?2 ORDER BY key",
                )?;
                let rows = stmt.query_map([&from, &to], |r| r.get(0))?;
                rows.collect()
            })
            .await?;
        if chunks.is_empty() {
            return Ok(None);
        }
        // Decoding is CPU work (milliseconds for a customer with history):
        // off the async threads, so that requests are answered meanwhile.
        let doc_id = doc_id.to_string();
        tokio::task::spawn_blocking(move || {
            let mut doc = automerge::Automerge::new();
            for chunk in chunks {
                doc.load_incremental(&chunk)
                    .map_err(|e| ServerError::Internal(format!("stored document {doc_id}: {e}")))?;
            }
            Ok(Some(doc))
        })
        .await
        .map_err(|e| ServerError::Internal(format!("loading a stored document failed: {e}")))?
    }

    /// The chunks stored under `keys` (those still there), in key order.
    pub async fn load_keys(&self, mut keys: Vec<String>) -> Vec<Vec<u8>> {
        keys.sort();
        keys.dedup();
        self.read("load_keys", move |c| {
            let mut stmt = c.prepare_cached("SELECT data FROM samod_storage WHERE key = ?1")?;
            let mut out = Vec::new();
            for k in &keys {
                if let Some(d) = stmt.query_row([k], |r| r.get(0)).optional()? {
                    out.push(d);
                }
            }
            Ok(out)
        })
        .await
    }

    /// A read of the server's own tables on this store's reader connection,
    /// beside the application's: the projector reads the next batch's rows
    /// while the last batch is being written (`projection::project_all`).
    pub async fn read_beside<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, ServerError> + Send + 'static,
    ) -> Result<T, ServerError> {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let conn = reader.lock().unwrap_or_else(|e| e.into_inner());
            f(&conn)
        })
        .await
        .map_err(|e| ServerError::Internal(format!("a read beside the writer failed: {e}")))?
    }

    /// [`SqlStorage::read`] for callers that can take an error (the
    /// projection keeps the document queued): a few tries, then the error.
    /// Retrying for ever, a read left running when the server stopped and
    /// its database went away kept the process from ending.
    async fn read_or_fail<T: Send + 'static>(
        &self,
        what: &'static str,
        f: impl Fn(&Connection) -> crate::store::sql::Result<T> + Send + 'static,
    ) -> Result<T, ServerError> {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let conn = reader.lock().unwrap_or_else(|e| e.into_inner());
            let mut delay = Duration::from_millis(10);
            let mut tries = 0;
            loop {
                match f(&conn) {
                    Ok(v) => return Ok(v),
                    Err(e) if tries >= 6 => {
                        return Err(ServerError::Internal(format!(
                            "storage read failed during {what}: {e}"
                        )));
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "STORAGE ERROR during {what}; retrying in {delay:?}");
                        std::thread::sleep(delay);
                        delay *= 2;
                        tries += 1;
                    }
                }
            }
        })
        .await
        .map_err(|e| ServerError::Internal(format!("storage read task failed during {what}: {e}")))?
    }

    async fn read<T: Send + Default + 'static>(
        &self,
        what: &'static str,
        f: impl Fn(&Connection) -> crate::store::sql::Result<T> + Send + 'static,
    ) -> T {
        let reader = self.reader.clone();
        let result = tokio::task::spawn_blocking(move || {
            let conn = reader.lock().unwrap_or_else(|e| e.into_inner());
            retry(what, || f(&conn))
        })
        .await;
        match result {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "storage read task failed during {what}");
                T::default()
            }
        }
    }
}

/// Retries a database operation until it succeeds, logging each failure: samod's
/// storage cannot return an error, and answering "not found" for a failed read
/// or "done" for a failed write would lose data.
fn retry<T>(what: &str, mut f: impl FnMut() -> crate::store::sql::Result<T>) -> T {
    let mut delay = Duration::from_millis(10);
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) => {
                tracing::error!(error = %e, "STORAGE ERROR during {what}; retrying in {delay:?}");
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}

fn doc_of(key: &str) -> Option<&str> {
    let doc = key.split('/').next()?;
    (doc != "storage-adapter-id" && !doc.is_empty()).then_some(doc)
}

/// How often the checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Copies committed pages from SQLite's write-ahead log into the database
/// file, on its own thread and connection, until the storage writer stops.
/// Left to SQLite, a checkpoint runs inside whichever commit finds the log
/// past 1,000 pages: often the storage writer's, which holds up every synced
/// change behind it (nothing is sent before its commit), for as long as
/// copying the pages and syncing the file take: the storm's tail. A passive
/// checkpoint waits for no reader and no writer.
fn checkpoint_loop(conn: Connection, writer: watch::Receiver<u64>) {
    let Some(lite) = conn.sqlite() else { return };
    // The writer's `watch` closes when its thread ends (the storage is dropped).
    while writer.has_changed().is_ok() {
        std::thread::sleep(CHECKPOINT_EVERY);
        let done = lite.query_row("PRAGMA wal_checkpoint(PASSIVE)", (), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        });
        if let Err(e) = done {
            tracing::warn!(error = %e, "WAL checkpoint failed; tried again shortly");
        }
    }
}

fn writer_loop(
    mut conn: Connection,
    node: Option<String>,
    rx: mpsc::Receiver<Job>,
    in_flight: Arc<Mutex<InFlight>>,
    committed: watch::Sender<u64>,
    changed: tokio::sync::mpsc::UnboundedSender<String>,
) {
    while let Ok(first) = rx.recv() {
        // Group commit: everything already queued goes into one transaction.
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
            if batch.len() >= 512 {
                break;
            }
        }
        let mut docs = BTreeSet::new();
        // SQLite: an immediate transaction (a deferred one could not wait for
        // the write lock). PostgreSQL: no lock beyond the rows: every write
        // here is an upsert of a content-addressed key or a mark.
        let behavior = if conn.is_postgres() {
            crate::store::sql::TransactionBehavior::Deferred
        } else {
            crate::store::sql::TransactionBehavior::Immediate
        };
        retry("commit", || {
            docs.clear();
            // Per document, the keys put: the other nodes read just those.
            let mut put_keys: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
            let tx = conn.transaction_with_behavior(behavior)?;
            {
                let mut put = tx.prepare_cached(
                    "INSERT OR REPLACE INTO samod_storage (key, data) VALUES (?1, ?2)",
                )?;
                let mut del = tx.prepare_cached("DELETE FROM samod_storage WHERE key = ?1")?;
                let mut dirty =
                    tx.prepare_cached("INSERT OR IGNORE INTO dirty_docs (doc_id) VALUES (?1)")?;
                for job in &batch {
                    let (key, put_key) = match &job.write {
                        Write::Put(key, data) => {
                            put.execute(params![key, data])?;
                            (key, true)
                        }
                        Write::Delete(key) => {
                            del.execute(params![key])?;
                            (key, false)
                        }
                    };
                    if let Some(doc) = doc_of(key) {
                        if docs.insert(doc.to_string()) {
                            dirty.execute(params![doc])?;
                        }
                        let keys = put_keys.entry(doc).or_default();
                        if put_key {
                            keys.push(key);
                        }
                    }
                }
                if let Some(node) = &node {
                    for (doc, keys) in &put_keys {
                        tx.execute(
                            "SELECT pg_notify(?1, ?2)",
                            [
                                crate::cluster::CHANNEL,
                                &crate::cluster::doc_payload(node, doc, keys),
                            ],
                        )?;
                    }
                }
            }
            tx.commit()
        });
        let mut last = 0;
        {
            let mut f = in_flight.lock().unwrap_or_else(|e| e.into_inner());
            for job in &batch {
                f.pending.remove(&job.seq);
                last = last.max(job.seq);
            }
        }
        for job in batch {
            let _ = job.done.send(());
        }
        committed.send_replace(last);
        for doc in docs {
            let _ = changed.send(doc);
        }
    }
}

impl Storage for SqlStorage {
    fn load(&self, key: StorageKey) -> impl Future<Output = Option<Vec<u8>>> + Send {
        let key = key.to_string();
        async move {
            self.read("load", move |c| {
                c.query_row(
                    "SELECT data FROM samod_storage WHERE key = ?1",
                    [&key],
                    |r| r.get(0),
                )
                .optional()
            })
            .await
        }
    }

    fn load_range(
        &self,
        prefix: StorageKey,
    ) -> impl Future<Output = HashMap<StorageKey, Vec<u8>>> + Send {
        let prefix = prefix.to_string();
        async move {
            let rows: Vec<(String, Vec<u8>)> = self
                .read("load_range", move |c| {
                    // Keys under "a/b" are "a/b/..." : the range ["a/b/", "a/b0"), "0" being "/" + 1.
                    let mut stmt = c.prepare_cached(
                        "SELECT key, data FROM samod_storage WHERE key = ?1 OR (key >= ?1 || '/' AND key < ?1 || '0')",
                    )?;
                    let rows = stmt.query_map([&prefix], |r| Ok((r.get(0)?, r.get(1)?)))?;
                    rows.collect()
                })
                .await;
            rows.into_iter()
                .filter_map(|(k, v)| match StorageKey::from_parts(k.split('/')) {
                    Ok(key) => Some((key, v)),
                    Err(_) => {
                        tracing::error!(key = %k, "STORAGE ERROR: unreadable storage key skipped");
                        None
                    }
                })
                .collect()
        }
    }

    fn put(&self, key: StorageKey, data: Vec<u8>) -> impl Future<Output = ()> + Send {
        self.submit(Write::Put(key.to_string(), data))
    }

    fn delete(&self, key: StorageKey) -> impl Future<Output = ()> + Send {
        self.submit(Write::Delete(key.to_string()))
    }
}
