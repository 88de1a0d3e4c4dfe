//! The servers under test, seeded with the same documents: ours (the real
//! `fieldbook-server` process, access control on), upstream samod (the
//! published crate as a plain sync server, `bench/samod-anchor`) and the
//! reference (the usual automerge-repo sync server in Node,
//! `tests/js/ref-server.mjs`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use automerge::Automerge;
use fieldbook_server::store::db::Db;
use fieldbook_server::store::storage::SqlStorage;
use fieldbook_shared::book::Book;
use fieldbook_tests::{TestServer, Wire, WsDialer};
use futures::StreamExt;
use samod::storage::{Storage, StorageKey};
use samod::{BackoffConfig, DialerHandle, DocHandle, DocumentId, PeerId, Repo};
use tokio_tungstenite::tungstenite;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ours,
    /// samod 0.16 as published, no patches, no access control.
    Samod,
    /// The JS automerge-repo sync server.
    Reference,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Ours => "fieldbook",
            Kind::Samod => "samod",
            Kind::Reference => "reference",
        }
    }
}

/// How one client authenticates: ours needs a session's token and peer id; the
/// reference takes anyone.
#[derive(Debug, Clone, Default)]
pub struct Cred {
    pub token: String,
    pub peer_id: Option<String>,
}

/// What to load into a server before a workload: documents (saved Automerge
/// bytes), which manager owns each, and how many sessions each manager needs.
pub struct Plan<'a> {
    pub docs: &'a [Vec<u8>],
    pub owner: &'a dyn Fn(usize) -> usize,
    pub managers: usize,
    pub sessions_per_manager: usize,
    /// Sessions that may open every document (ours: the center's admin).
    pub admin_sessions: usize,
    /// Ours only: never unload documents (`--unload-idle-secs 0`).
    pub keep_loaded: bool,
}

impl<'a> Plan<'a> {
    /// `managers` with `sessions_per_manager` sessions each; documents
    /// unloaded as usual, no admin sessions.
    pub fn new(
        docs: &'a [Vec<u8>],
        owner: &'a dyn Fn(usize) -> usize,
        managers: usize,
        sessions_per_manager: usize,
    ) -> Self {
        Plan {
            docs,
            owner,
            managers,
            sessions_per_manager,
            admin_sessions: 0,
            keep_loaded: false,
        }
    }
}

/// A started, seeded server.
pub struct Seeded {
    pub kind: Kind,
    pub docs: Vec<DocumentId>,
    /// Per manager, its sessions.
    pub creds: Vec<Vec<Cred>>,
    pub admin: Vec<Cred>,
    /// Per manager, the document listing its customers (ours: the server's book).
    pub books: Vec<DocumentId>,
    process: Process,
}

/// Where our server keeps its data, and how many nodes serve it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
    /// Two nodes on one PostgreSQL database; each manager's second device on
    /// the second node, so every visit crosses from one node to the other.
    PostgresTwoNodes,
}

impl Engine {
    pub fn label(self) -> &'static str {
        match self {
            Engine::Sqlite => "SQLite",
            Engine::Postgres => "PostgreSQL, 1 node",
            Engine::PostgresTwoNodes => "PostgreSQL, 2 nodes",
        }
    }
}

enum Process {
    Ours(Box<TestServer>, Option<Box<TestServer>>),
    /// Upstream samod or the JS reference: a child process on `port`.
    External {
        child: Child,
        port: u16,
        /// Its standard output after "listening" (the reference answers
        /// "memory" requests there).
        out: std::sync::Mutex<BufReader<std::process::ChildStdout>>,
        _dir: tempfile::TempDir,
    },
}

impl Seeded {
    pub fn sync_url(&self) -> url::Url {
        self.sync_url_of(0)
    }

    /// The address for a manager's `device`-th device: on two nodes the
    /// second device is on the second node.
    pub fn sync_url_of(&self, device: usize) -> url::Url {
        let s = match &self.process {
            Process::Ours(_, Some(second)) if device % 2 == 1 => second.sync_url(),
            Process::Ours(s, _) => s.sync_url(),
            Process::External { port, .. } => format!("ws://127.0.0.1:{port}/"),
        };
        s.parse().expect("sync url")
    }

    pub fn pid(&self) -> u32 {
        match &self.process {
            Process::Ours(s, _) => s.pid().expect("server running"),
            Process::External { child, .. } => child.id(),
        }
    }

    /// Every server process (two nodes: both).
    fn pids(&self) -> Vec<u32> {
        match &self.process {
            Process::Ours(_, Some(second)) => {
                vec![self.pid(), second.pid().expect("second node running")]
            }
            _ => vec![self.pid()],
        }
    }

    /// CPU time the server processes have used so far (user + system), in
    /// seconds. (PostgreSQL's own is not counted: see BENCHMARKS.md.)
    pub fn cpu_secs(&self) -> f64 {
        self.pids()
            .iter()
            .map(|p| cpu_secs_of(&p.to_string()))
            .sum()
    }

    /// Our server's log so far (the others': empty).
    pub fn log_text(&self) -> String {
        match &self.process {
            Process::Ours(s, _) => s.log_text(),
            Process::External { .. } => String::new(),
        }
    }

    /// Our server's database (the others have none of ours).
    pub fn db(&self) -> Option<fieldbook_server::store::sql::Location> {
        match &self.process {
            Process::Ours(s, _) => Some(s.db.clone()),
            Process::External { .. } => None,
        }
    }

    /// Our server's HTTP address (the others have no HTTP API).
    pub fn http_base(&self) -> Option<String> {
        match &self.process {
            Process::Ours(s, _) => Some(s.base()),
            Process::External { .. } => None,
        }
    }

    /// The server processes' resident memory, in bytes.
    pub fn rss(&self) -> u64 {
        self.pids().iter().map(|p| rss_of(*p)).sum()
    }

    /// Live memory, as each server can tell it, in bytes: ours, jemalloc's
    /// count of live allocations (the last one its log gives, see
    /// `server/src/memory.rs`; the bench starts it with that logging on); the
    /// reference, V8's heap and external memory after a full collection;
    /// upstream samod, which reports nothing, its RSS.
    pub fn live_memory(&mut self) -> u64 {
        match &mut self.process {
            Process::Ours(s, _) => s
                .log_text()
                .lines()
                .rev()
                .find(|l| l.contains("heap after returning freed memory"))
                .and_then(|l| {
                    l.split_whitespace()
                        .find_map(|w| w.strip_prefix("allocated="))
                        .and_then(|v| v.parse().ok())
                })
                .unwrap_or(0),
            Process::External { child, out, .. } if self.kind == Kind::Reference => {
                use std::io::Write;
                let asked = child
                    .stdin
                    .as_mut()
                    .is_some_and(|i| i.write_all(b"memory\n").and_then(|()| i.flush()).is_ok());
                let mut line = String::new();
                if asked {
                    let _ = out.get_mut().map(|o| o.read_line(&mut line));
                }
                line.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            }
            Process::External { child, .. } => rss_of(child.id()),
        }
    }
}

impl Drop for Seeded {
    fn drop(&mut self) {
        if let Process::External { child, .. } = &mut self.process {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Resident set size of a process (Linux), in bytes.
pub fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// A samod client over a real websocket.
pub struct Client {
    pub repo: Repo,
    pub wire: Arc<Wire>,
    pub dialer: DialerHandle<tungstenite::Error>,
}

impl Client {
    pub async fn connect(url: &url::Url, cred: &Cred) -> Client {
        Self::try_connect(url, cred, Duration::from_secs(120))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Connects, or says why not within `within` (a server still working off
    /// an earlier backlog may not answer).
    pub async fn try_connect(
        url: &url::Url,
        cred: &Cred,
        within: Duration,
    ) -> Result<Client, String> {
        let mut builder = Repo::build_tokio();
        if let Some(p) = &cred.peer_id {
            builder = builder.with_peer_id(PeerId::from(p.as_str()));
        }
        let repo = builder.load().await;
        let wire = Arc::<Wire>::default();
        let dialer = dial(&repo, url, cred, wire.clone());
        match tokio::time::timeout(within, dialer.established()).await {
            Ok(Ok(_)) => Ok(Client { repo, wire, dialer }),
            Ok(Err(e)) => {
                repo.stop().await;
                Err(format!("connecting failed: {e:?}"))
            }
            Err(_) => {
                repo.stop().await;
                Err(format!("not connected within {} s", within.as_secs()))
            }
        }
    }

    /// Opens a document through the server, or says why not within `within`.
    pub async fn try_find(&self, id: &DocumentId, within: Duration) -> Result<DocHandle, String> {
        match tokio::time::timeout(within, self.repo.find(id.clone())).await {
            Ok(Ok(Some(d))) => Ok(d),
            Ok(Ok(None)) => Err(format!("document {id} unavailable")),
            Ok(Err(_)) => Err("the client repo stopped".into()),
            Err(_) => Err(format!("document not opened within {} s", within.as_secs())),
        }
    }

    /// Opens a document through the server (panics if unavailable: a seeding bug).
    pub async fn find(&self, id: &DocumentId) -> DocHandle {
        tokio::time::timeout(Duration::from_secs(120), self.repo.find(id.clone()))
            .await
            .unwrap_or_else(|_| panic!("opening {id} timed out"))
            .expect("repo running")
            .unwrap_or_else(|| panic!("document {id} unavailable"))
    }

    /// Waits until the server has every change of `doc`.
    pub async fn synced(&self, doc: &DocHandle) {
        let conn = self.dialer.connection_id().expect("online");
        tokio::time::timeout(Duration::from_secs(300), doc.they_have_our_changes(conn))
            .await
            .expect("server never acknowledged our changes");
    }

    pub async fn close(self) {
        self.dialer.close();
        self.repo.stop().await;
    }
}

/// Dials `url` from `repo`, retrying every 0.1 to 2 s until it connects.
fn dial(
    repo: &Repo,
    url: &url::Url,
    cred: &Cred,
    wire: Arc<Wire>,
) -> DialerHandle<tungstenite::Error> {
    let dialer = WsDialer {
        url: url.clone(),
        token: cred.token.clone(),
        wire,
    };
    let backoff = BackoffConfig {
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(2),
        max_retries: None,
    };
    repo.dial(backoff, Arc::new(dialer)).expect("dial")
}

/// A device that was offline connecting again (its repo kept its documents).
pub fn redial(repo: &Repo, url: &url::Url, cred: &Cred) -> DialerHandle<tungstenite::Error> {
    dial(repo, url, cred, Arc::default())
}

/// Starts our server (release build) with the plan's users, documents and sessions.
pub async fn start_ours(plan: &Plan<'_>) -> Seeded {
    start_ours_on(plan, Engine::Sqlite).await
}

/// [`start_ours`] on `engine` (PostgreSQL needs `FIELDBOOK_TEST_POSTGRES`:
/// `cargo xtask bench-engines` starts a throwaway cluster and sets it).
pub async fn start_ours_on(plan: &Plan<'_>, engine: Engine) -> Seeded {
    let Unstarted {
        mut server,
        ids,
        user_ids,
        creds,
        admin,
    } = seed_ours(plan, engine).await;
    if plan.keep_loaded {
        server.unload_idle_secs = Some(0);
    }
    let t = Instant::now();
    server.start().await;
    wait_startup_work(&server.db).await;
    println!(
        "fieldbook started and projected {} customers in {:.1} s",
        ids.len(),
        t.elapsed().as_secs_f64()
    );
    // The server writes the books after it starts listening: wait for them.
    let books = wait_books(&server.db, &user_ids).await;
    let second = if engine == Engine::PostgresTwoNodes {
        let mut b = server.another_node();
        b.start().await;
        Some(Box::new(b))
    } else {
        None
    };
    Seeded {
        kind: Kind::Ours,
        docs: ids,
        creds,
        admin,
        books,
        process: Process::Ours(Box::new(server), second),
    }
}

/// Our server with a plan's data on disk, not started yet.
pub struct Unstarted {
    pub server: TestServer,
    pub ids: Vec<DocumentId>,
    pub user_ids: Vec<i64>,
    pub creds: Vec<Vec<Cred>>,
    pub admin: Vec<Cred>,
}

/// The managers' password in every seeded server.
pub const PASSWORD: &str = "bench-password";

/// Writes a plan's users, documents and sessions where our server keeps its
/// data, as a restore would leave them: every document still to be projected.
pub async fn seed_ours(plan: &Plan<'_>, engine: Engine) -> Unstarted {
    let server = match engine {
        Engine::Sqlite => TestServer::new(),
        Engine::Postgres | Engine::PostgresTwoNodes => TestServer::new_on_postgres(),
    };
    // Managers in one go with one password hash: argon2 per user would take minutes.
    let hash = fieldbook_server::auth::hash_password(PASSWORD).expect("hash");
    let managers = plan.managers;
    let user_ids: Vec<i64> = Db::open(&server.db)
        .and_then(|d| {
            d.blocking(move |c| {
                let tx = c.transaction()?;
                let mut ids = Vec::new();
                for m in 0..managers {
                    ids.push(tx.query_row(
                        "INSERT INTO users (username, display_name, password_hash, role, unit)
                         VALUES (?1, ?1, ?2, 'manager', ?3) RETURNING id",
                        fieldbook_server::sql_params![
                            format!("bench{m}"),
                            hash,
                            if m % 2 == 0 { "so1" } else { "so2" }
                        ],
                        |r| r.get::<_, i64>(0),
                    )?);
                }
                tx.commit()?;
                Ok(ids)
            })
        })
        .expect("add managers");

    // The documents go into samod's storage as samod stores a compacted
    // document (one snapshot each); the server projects them at start, as after
    // a restore. Straight puts: a repo would keep every document it created.
    let t = Instant::now();
    let (changed, _rx) = tokio::sync::mpsc::unbounded_channel();
    let storage = SqlStorage::open(&server.db, changed).expect("storage");
    let ids = new_ids(plan.docs.len());
    futures::stream::iter(plan.docs.iter().zip(&ids))
        .map(|(bytes, id)| storage.put(snapshot_key(id, bytes), bytes.clone()))
        .buffer_unordered(1024)
        .collect::<Vec<()>>()
        .await;
    drop(storage);
    println!(
        "seeded fieldbook with {} documents in {:.1} s",
        ids.len(),
        t.elapsed().as_secs_f64()
    );

    let rows: Vec<(String, i64)> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.to_string(), user_ids[(plan.owner)(i)]))
        .collect();
    let (per, admins) = (plan.sessions_per_manager, plan.admin_sessions);
    let uids = user_ids.clone();
    let (creds, admin) = Db::open(&server.db)
        .and_then(|d| {
            d.blocking(move |c| {
                let tx = c.transaction()?;
                for (i, (id, user)) in rows.iter().enumerate() {
                    tx.execute(
                        "INSERT INTO customers (doc_id, primary_user, unit, registered_by, registered_at)
                         SELECT ?1, u.id, u.unit, u.id, '2026-01-01T00:00:00Z' FROM users u WHERE u.id = ?2",
                        fieldbook_server::sql_params![id, user],
                    )?;
                    // Its number (客户编号), as a running server's data has.
                    tx.execute(
                        "INSERT INTO customer_numbers (doc_id, number, assigned_at)
                         VALUES (?1, ?2, '2026-01-01T00:00:00Z')",
                        fieldbook_server::sql_params![id, format!("KH{i:08}")],
                    )?;
                }
                let mut creds = Vec::new();
                for u in &uids {
                    let mut mine = Vec::new();
                    for _ in 0..per {
                        let (token, peer) = fieldbook_server::auth::open_session(&tx, *u)?;
                        mine.push(Cred {
                            token,
                            peer_id: Some(peer),
                        });
                    }
                    creds.push(mine);
                }
                let admin_id: i64 =
                    tx.query_row("SELECT id FROM users WHERE username = 'admin'", (), |r| {
                        r.get(0)
                    })?;
                let mut admin = Vec::new();
                for _ in 0..admins {
                    let (token, peer) = fieldbook_server::auth::open_session(&tx, admin_id)?;
                    admin.push(Cred {
                        token,
                        peer_id: Some(peer),
                    });
                }
                tx.commit()?;
                Ok((creds, admin))
            })
        })
        .expect("assign customers and open sessions");

    Unstarted {
        server,
        ids,
        user_ids,
        creds,
        admin,
    }
}

/// Waits until the server has written every user's book (it does so in the
/// background after it starts listening); their ids, in `user_ids`' order.
pub async fn wait_books(
    db: &fieldbook_server::store::sql::Location,
    user_ids: &[i64],
) -> Vec<DocumentId> {
    let mut books: Vec<DocumentId> = Vec::new();
    for _ in 0..6000 {
        let ids_for_books = user_ids.to_vec();
        let read: Vec<Option<String>> = Db::open(db)
            .and_then(|d| {
                d.blocking(move |c| {
                    let mut out = Vec::new();
                    for u in &ids_for_books {
                        out.push(c.query_row(
                            "SELECT book_doc FROM users WHERE id = ?1",
                            [u],
                            |r| r.get(0),
                        )?);
                    }
                    Ok(out)
                })
            })
            .expect("books");
        if read.iter().all(Option::is_some) {
            books = read
                .into_iter()
                .flatten()
                .map(|b| b.parse().expect("book id"))
                .collect();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        books.len(),
        user_ids.len(),
        "the server wrote no book for some users in 10 minutes"
    );
    books
}

/// CPU time (user + system) process `pid` has used so far, in seconds; "self"
/// for the load generator.
pub fn cpu_secs_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after ')'.
    let rest = stat.rsplit_once(')').map_or("", |r| r.1);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after ')'.
    (ticks(11) + ticks(12)) / 100.0
}

/// Customers waiting for projection (books and other documents the server
/// writes left out; 1 when the count cannot be read).
pub fn customers_queued(db: &fieldbook_server::store::sql::Location) -> i64 {
    fieldbook_server::store::sql::Connection::open(db)
        .and_then(|c| {
            c.query_row(
                "SELECT count(*) FROM dirty_docs d
                 WHERE EXISTS (SELECT 1 FROM customers c WHERE c.doc_id = d.doc_id)",
                (),
                |r| r.get(0),
            )
        })
        .unwrap_or(1)
}

/// Documents waiting for projection (1 when the count cannot be read).
pub fn queued(db: &fieldbook_server::store::sql::Location) -> i64 {
    fieldbook_server::store::sql::Connection::open(db)
        .and_then(|c| c.query_row("SELECT count(*) FROM dirty_docs", (), |r| r.get(0)))
        .unwrap_or(1)
}

/// Waits until the server has projected every stored customer (its start-up
/// work), so a workload measures only itself.
pub async fn wait_startup_work(db: &fieldbook_server::store::sql::Location) {
    for _ in 0..6000 {
        if queued(db) == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not finish projecting its customers in 10 minutes");
}

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .join("tests")
        .join("js")
}

/// Installs the JS reference server's npm packages when they are missing (a
/// fresh clone has none until `cargo xtask test`), or says what to do.
pub fn ensure_js_packages() {
    let js = js_dir();
    if js
        .join("node_modules/@automerge/automerge-repo/package.json")
        .is_file()
    {
        return;
    }
    eprintln!(
        "installing the reference server's npm packages in {}",
        js.display()
    );
    // `npm install`, as `cargo xtask test` does: the lock pins the versions.
    let status = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund"])
        .current_dir(&js)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => {
            eprintln!(
                "`npm install` in {} failed ({s}): the comparison needs the JS reference server's packages; run it there by hand to see why",
                js.display()
            );
            std::process::exit(2);
        }
        Err(e) => {
            eprintln!(
                "cannot run npm ({e}): install Node.js and npm (Debian: `apt-get install nodejs npm`), then run this again"
            );
            std::process::exit(2);
        }
    }
}

/// Builds upstream samod's server (`bench/samod-anchor`, a cargo project of
/// its own so our patches do not apply) once, in release mode, or says why not.
fn samod_anchor_bin() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let root = js_dir().parent().and_then(Path::parent).expect("workspace root").to_path_buf();
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join("target"))
            .join("samod-anchor");
        eprintln!("building upstream samod's server (bench/samod-anchor)");
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "--locked", "--manifest-path"])
            .arg(root.join("bench/samod-anchor/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target)
            // Our workspace's settings are not samod-anchor's.
            .env_remove("CARGO_TARGET_DIR")
            .status();
        match status {
            Ok(s) if s.success() => target.join("release").join("samod-anchor"),
            other => {
                eprintln!(
                    "building bench/samod-anchor failed ({other:?}): it needs samod 0.16.0 from crates.io; run `cargo build --release --manifest-path bench/samod-anchor/Cargo.toml` to see why"
                );
                std::process::exit(2);
            }
        }
    })
    .clone()
}

/// Starts the reference server or upstream samod, with the plan's documents
/// already in its storage directory.
pub async fn start_external(kind: Kind, plan: &Plan<'_>) -> Seeded {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = dir.path().join("storage");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("free port")
        .local_addr()
        .expect("addr")
        .port();
    let mut command = match kind {
        Kind::Samod => Command::new(samod_anchor_bin()),
        _ => {
            let mut c = Command::new("node");
            // --expose-gc: the idle workload collects garbage before a reading.
            c.arg("--expose-gc").arg(js_dir().join("ref-server.mjs"));
            c
        }
    };
    let mut child = command
        .arg(port.to_string())
        .arg(&storage)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {} failed: {e}", kind.label()));
    let mut line = String::new();
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    out.read_line(&mut line).expect("server output");
    assert!(
        line.starts_with("listening"),
        "{} did not start: {line:?}",
        kind.label()
    );
    let mut seeded = Seeded {
        kind,
        docs: Vec::new(),
        creds: vec![vec![Cred::default(); plan.sessions_per_manager]; plan.managers],
        admin: vec![Cred::default(); plan.admin_sessions],
        books: Vec::new(),
        process: Process::External {
            child,
            port,
            out: std::sync::Mutex::new(out),
            _dir: dir,
        },
    };
    // The documents are written as the file-system adapter stores them, so the
    // reference, like ours, starts with them on disk and loads what is asked for.
    let t = Instant::now();
    let ids = new_ids(plan.docs.len());
    for (bytes, id) in plan.docs.iter().zip(&ids) {
        write_reference_file(&storage, id, bytes);
    }
    // The reference has no books: the same list, as a document of the same shape.
    let mut books = Vec::new();
    for m in 0..plan.managers {
        let mut book = Book::new(&format!("bench{m}"));
        book.customers = ids
            .iter()
            .enumerate()
            .filter(|(i, _)| (plan.owner)(*i) == m)
            .map(|(_, id)| format!("automerge:{id}"))
            .collect();
        let mut doc = Automerge::new();
        doc.transact(|tx| book.save(tx)).expect("book");
        let id = new_ids(1).remove(0);
        write_reference_file(&storage, &id, &doc.save());
        books.push(id);
    }
    println!(
        "seeded {} with {} documents in {:.1} s",
        kind.label(),
        ids.len(),
        t.elapsed().as_secs_f64()
    );
    seeded.docs = ids;
    seeded.books = books;
    seeded
}

/// Fresh random document ids, as a repo makes them.
fn new_ids(n: usize) -> Vec<DocumentId> {
    (0..n)
        .map(|_| DocumentId::try_from(rand::random::<[u8; 16]>().to_vec()).expect("16 bytes"))
        .collect()
}

/// samod's key for a document saved whole: `<id>/snapshot/<name>`; the name
/// only has to be unique, so it is the document's heads.
fn snapshot_key(id: &DocumentId, saved: &[u8]) -> StorageKey {
    StorageKey::from_parts([id.to_string(), "snapshot".into(), heads_name(saved)])
        .expect("snapshot key")
}

fn heads_name(saved: &[u8]) -> String {
    let doc = Automerge::load(saved).expect("fixture document");
    doc.get_heads()
        .iter()
        .map(|h| h.to_string())
        .collect::<Vec<_>>()
        .join("")
}

/// The reference's file for a document saved whole, where its file-system
/// adapter keeps it: `<dir>/<id[..2]>/<id[2..]>/snapshot/<name>`.
fn write_reference_file(storage: &Path, id: &DocumentId, saved: &[u8]) {
    let id_s = id.to_string();
    let dir = storage.join(&id_s[..2]).join(&id_s[2..]).join("snapshot");
    std::fs::create_dir_all(&dir).expect("reference storage dir");
    std::fs::write(dir.join(heads_name(saved)), saved).expect("reference storage file");
}

pub async fn start(kind: Kind, plan: &Plan<'_>) -> Seeded {
    match kind {
        Kind::Ours => start_ours(plan).await,
        Kind::Samod | Kind::Reference => start_external(kind, plan).await,
    }
}
