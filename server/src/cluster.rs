//! Several server nodes on one PostgreSQL database.
//!
//! PostgreSQL is the only thing the nodes share; they coordinate through it
//! alone (no consensus or replication of our own):
//!
//! * **Events** on the channel `fieldbook` (LISTEN/NOTIFY), each
//!   `"<kind> <node> <arg>"`, a node ignoring its own:
//!   * `doc <node> <id>`: a document's change was committed (sent by the
//!     storage writer inside the commit, so it is delivered exactly when the
//!     change is durable). A node that has the document open merges what is
//!     stored into it, so the tablets syncing it there receive the change;
//!     the projector hears of it.
//!   * `acl <node>`: the access tables changed (an assignment, a hand-over, a
//!     user disabled or moved, a unit): every node reads them again, and each
//!     open socket is re-decided (a disabled user's close).
//!   * `unbind <node> <peer>`: a device signed out or wiped: its socket closes
//!     on whichever node holds it.
//!   * `rules <node>`: the rules changed: every node reads them again; the
//!     projecting node re-grades every customer (`projection/regrade.rs`).
//! * **One projector.** A node projects only while it holds a session advisory
//!   lock (`PROJECTOR_LOCK`) on a connection of its own; the others wait for it.
//!   When that node dies, its connection closes, PostgreSQL frees the lock and
//!   another node takes it and reads the durable queue (`dirty_docs`). So each
//!   change is projected by one node. New rules are applied from the tables
//!   by the node that took them and again by the projecting node when it
//!   hears of them (its batches of the meantime are queued again).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use crate::error::ServerError;
use crate::state::AppState;
use crate::store::sql::{Connection, Location};

/// The channel every node listens on.
pub const CHANNEL: &str = "fieldbook";

/// The session advisory lock the projecting node holds.
const PROJECTOR_LOCK: i64 = 0x4669_656c_6450; // "FieldP"

/// How often a waiting node tries for the projector's lock, and the holder
/// checks that its connection (and so the lock) is still there.
const LEADER_CHECK: Duration = Duration::from_millis(500);

/// This node in the cluster. Cheap to clone.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    node: String,
    location: Location,
    publish: std::sync::mpsc::Sender<String>,
    leader: AtomicBool,
}

/// An event from another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A document, and the storage keys its change was put under (none: read
    /// it whole).
    Doc(String, Vec<String>),
    Acl,
    Unbind(String),
    Rules,
}

impl Event {
    fn parse(payload: &str, me: &str) -> Option<Event> {
        let mut parts = payload.splitn(3, ' ');
        let (kind, node, arg) = (parts.next()?, parts.next()?, parts.next().unwrap_or(""));
        if node == me {
            return None;
        }
        Some(match kind {
            "doc" => {
                let mut words = arg.split(' ');
                let doc = words.next()?.to_string();
                Event::Doc(doc, words.map(str::to_string).collect())
            }
            "acl" => Event::Acl,
            "unbind" => Event::Unbind(arg.to_string()),
            "rules" => Event::Rules,
            _ => return None,
        })
    }
}

/// The payload of a document's event, for the storage writer's `pg_notify`:
/// the keys just put, unless they would not fit (NOTIFY takes 8,000 bytes),
/// when the other nodes read the document whole.
pub fn doc_payload(node: &str, doc: &str, keys: &[&str]) -> String {
    let with_keys = format!("doc {node} {doc} {}", keys.join(" "));
    if with_keys.len() <= MAX_PAYLOAD {
        with_keys.trim_end().to_string()
    } else {
        format!("doc {node} {doc}")
    }
}

/// What a NOTIFY payload may hold, with room to spare.
const MAX_PAYLOAD: usize = 7_000;

/// A node id: random, new at each start.
pub fn new_node_id() -> String {
    let bytes: [u8; 6] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Cluster {
    /// Joins the cluster at `location` (PostgreSQL) as `node`: a thread that
    /// sends this node's events and one that tries for the projector's lock.
    pub fn join(location: &Location, node: String) -> Result<Cluster, ServerError> {
        let (publish, outbox) = std::sync::mpsc::channel::<String>();
        let sender = Connection::open(location)?;
        std::thread::Builder::new()
            .name("cluster-publish".into())
            .spawn(move || {
                while let Ok(payload) = outbox.recv() {
                    if let Err(e) = sender.execute("SELECT pg_notify(?1, ?2)", [CHANNEL, &payload])
                    {
                        tracing::error!(error = %e, payload, "could not tell the other nodes");
                    }
                }
            })
            .map_err(|e| ServerError::Internal(format!("cannot start a cluster thread: {e}")))?;
        let cluster = Cluster {
            inner: Arc::new(Inner {
                node,
                location: location.clone(),
                publish,
                leader: AtomicBool::new(false),
            }),
        };
        let elect = cluster.clone();
        std::thread::Builder::new()
            .name("cluster-projector-lock".into())
            .spawn(move || elect.hold_projector_lock())
            .map_err(|e| ServerError::Internal(format!("cannot start a cluster thread: {e}")))?;
        tracing::info!(node = %cluster.node(), "joined the cluster on PostgreSQL");
        Ok(cluster)
    }

    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// Whether this node holds the projector's lock.
    pub fn is_projector(&self) -> bool {
        self.inner.leader.load(Ordering::SeqCst)
    }

    fn send(&self, kind: &str, arg: &str) {
        let payload = format!("{kind} {} {arg}", self.inner.node);
        if self.inner.publish.send(payload).is_err() {
            tracing::error!("the cluster's publishing thread has stopped");
        }
    }

    /// The access tables changed on this node.
    pub fn acl_changed(&self) {
        self.send("acl", "");
    }

    /// A device was signed out or wiped on this node.
    pub fn unbind(&self, peer: &str) {
        self.send("unbind", peer);
    }

    /// The rules changed on this node.
    pub fn rules_changed(&self) {
        self.send("rules", "");
    }

    /// Tries for the lock until it holds it, then checks the connection it
    /// holds it on; a lost connection is a lost lock: try again.
    fn hold_projector_lock(&self) {
        loop {
            let conn = match Connection::open(&self.inner.location) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "cluster: cannot reach PostgreSQL for the projector's lock");
                    std::thread::sleep(LEADER_CHECK * 4);
                    continue;
                }
            };
            loop {
                let held: Result<bool, _> =
                    conn.query_row("SELECT pg_try_advisory_lock(?1)", [PROJECTOR_LOCK], |r| {
                        r.get(0)
                    });
                match held {
                    Ok(true) => break,
                    Ok(false) => std::thread::sleep(LEADER_CHECK),
                    Err(e) => {
                        tracing::error!(error = %e, "cluster: trying for the projector's lock");
                        break;
                    }
                }
            }
            // Held (or the connection failed: the check below finds out).
            let generation = conn.generation();
            self.inner.leader.store(true, Ordering::SeqCst);
            tracing::info!(node = %self.node(), "this node projects for the cluster");
            loop {
                std::thread::sleep(LEADER_CHECK);
                let alive = conn.execute_batch("SELECT 1").is_ok();
                if !alive || conn.generation() != generation {
                    break;
                }
            }
            self.inner.leader.store(false, Ordering::SeqCst);
            tracing::warn!(node = %self.node(), "lost the projector's lock (its connection closed)");
        }
    }
}

/// Listens for the other nodes' events and applies them, until the server stops.
pub fn listen(state: AppState, cluster: Cluster) -> Result<(), ServerError> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let location = cluster.inner.location.clone();
    let me = cluster.node().to_string();
    let Location::Postgres(url) = location else {
        return Err(ServerError::Internal("a cluster needs PostgreSQL".into()));
    };
    std::thread::Builder::new()
        .name("cluster-listen".into())
        .spawn(move || {
            loop {
                if let Err(e) = listen_once(&url, &me, &tx) {
                    if tx.is_closed() {
                        return;
                    }
                    tracing::error!(error = %e, "cluster: listening failed; listening again");
                    std::thread::sleep(Duration::from_secs(1));
                }
                if tx.is_closed() {
                    return;
                }
            }
        })
        .map_err(|e| ServerError::Internal(format!("cannot start a cluster thread: {e}")))?;
    tokio::spawn(apply(state, rx));
    Ok(())
}

fn listen_once(
    url: &str,
    me: &str,
    tx: &tokio::sync::mpsc::UnboundedSender<Event>,
) -> Result<(), postgres::Error> {
    let mut client = postgres::Client::connect(url, postgres::NoTls)?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    // What changed while this node was not listening (its start, or a lost
    // connection) is unknown: read everything again once.
    let _ = tx.send(Event::Acl);
    let _ = tx.send(Event::Rules);
    loop {
        // Notifications until a quiet second, then a check that the server
        // still runs this node.
        let mut notifications = client.notifications();
        let mut events = notifications.timeout_iter(Duration::from_secs(1));
        while let Some(n) = events.next()? {
            if let Some(e) = Event::parse(n.payload(), me)
                && tx.send(e).is_err()
            {
                return Ok(());
            }
        }
        if tx.is_closed() {
            return Ok(());
        }
    }
}

/// Applies events in batches: many changes to one document are one merge, many
/// access changes one reload.
async fn apply(state: AppState, mut rx: tokio::sync::mpsc::UnboundedReceiver<Event>) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        tokio::time::sleep(Duration::from_millis(5)).await;
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        let mut docs: std::collections::BTreeMap<String, Option<Vec<String>>> = Default::default();
        let (mut acl, mut rules) = (false, false);
        for e in batch {
            match e {
                Event::Doc(d, keys) => {
                    // Keys from every event of the batch; one without keys
                    // (the list did not fit) reads the document whole.
                    let entry = docs.entry(d).or_insert_with(|| Some(Vec::new()));
                    match (entry.as_mut(), keys.is_empty()) {
                        (Some(all), false) => all.extend(keys),
                        _ => *entry = None,
                    }
                }
                Event::Acl => acl = true,
                Event::Rules => rules = true,
                Event::Unbind(peer) => state.acl.unbind_peer_here(&peer),
            }
        }
        if acl {
            let a = state.acl.clone();
            if let Err(e) = state.db.call(move |c| a.reload(c)).await {
                tracing::error!(error = %e, "cluster: could not read the access tables again");
            }
        }
        if rules {
            match state.db.call(|c| crate::rules::load(c)).await {
                Ok(current) => {
                    let changed = current.get() != state.rules.get();
                    state.rules.set(current.get());
                    let projector = state.cluster.as_ref().is_some_and(|c| c.is_projector());
                    // The node that took the PUT re-graded; this one
                    // does again what it projected before it heard (its
                    // batches then written are queued again themselves).
                    if changed && projector {
                        let again = async {
                            if crate::projection::regrade::regrade_all(&state)
                                .await?
                                .changed
                                > 0
                            {
                                crate::projection::after_regrade(&state).await?;
                            }
                            Ok::<_, crate::error::ServerError>(())
                        };
                        if let Err(e) = again.await {
                            tracing::error!(error = %e, "cluster: could not re-grade under the new rules");
                        }
                    }
                }
                Err(e) => tracing::error!(error = %e, "cluster: could not read the rules again"),
            }
        }
        if !docs.is_empty() {
            merge_stored(&state, docs).await;
        }
    }
}

/// Documents changed on other nodes: the projector hears of them, and those
/// open here take in what was stored (the chunks named, else the whole
/// document), so their devices here receive it.
async fn merge_stored(
    state: &AppState,
    docs: std::collections::BTreeMap<String, Option<Vec<String>>>,
) {
    let open: std::collections::HashSet<String> = state
        .repo
        .loaded_documents()
        .into_iter()
        .map(|d| d.to_string())
        .collect();
    for (doc, keys) in docs {
        let _ = state.changed.send(doc.clone());
        if !open.contains(&doc) {
            continue;
        }
        let Ok(id) = doc.parse::<samod::DocumentId>() else {
            continue;
        };
        let chunks = match keys {
            Some(keys) => state.storage.load_keys(keys).await,
            None => match state.storage.load_document(&doc).await {
                Ok(Some(d)) => vec![d.save()],
                Ok(None) => continue,
                Err(e) => {
                    tracing::error!(error = %e, doc, "cluster: could not read a changed document");
                    continue;
                }
            },
        };
        match state.repo.find(id).await {
            Ok(Some(handle)) => {
                let merged = handle.with_document(|d| {
                    chunks
                        .iter()
                        .try_for_each(|c| d.load_incremental(c).map(|_| ()))
                });
                if let Err(e) = merged {
                    tracing::error!(error = %e, doc, "cluster: could not merge a changed document");
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, doc, "cluster: could not open a changed document")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_hears_the_others_not_itself() {
        assert_eq!(
            Event::parse("doc n1 abc", "n2"),
            Some(Event::Doc("abc".into(), vec![]))
        );
        assert_eq!(
            Event::parse(
                &doc_payload("n1", "abc", &["abc/incremental/h1", "abc/snapshot/h2"]),
                "n2"
            ),
            Some(Event::Doc(
                "abc".into(),
                vec!["abc/incremental/h1".into(), "abc/snapshot/h2".into()]
            ))
        );
        let many: Vec<String> = (0..200)
            .map(|i| format!("abc/incremental/{i:064}"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            doc_payload("n1", "abc", &many),
            "doc n1 abc",
            "too long: read it whole"
        );
        assert_eq!(Event::parse("doc n1 abc", "n1"), None);
        assert_eq!(Event::parse("acl n1 ", "n2"), Some(Event::Acl));
        assert_eq!(
            Event::parse("unbind n1 fb-1", "n2"),
            Some(Event::Unbind("fb-1".into()))
        );
        assert_eq!(Event::parse("rules n1", "n2"), Some(Event::Rules));
        assert_eq!(Event::parse("what n1 x", "n2"), None);
        assert_eq!(doc_payload("n1", "abc", &[]), "doc n1 abc");
    }
}
