//! Helpers for Fieldbook's end-to-end tests: a real `fieldbook-server` process on
//! loopback with its own database (a SQLite file, or a PostgreSQL database of
//! its own when `FIELDBOOK_TEST_POSTGRES` names a server), and devices that are
//! real samod repos syncing over real websockets.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use automerge::Automerge;
use fieldbook_server::store::db::Db;
use fieldbook_server::store::sql::{Connection, Location};
use fieldbook_server::store::storage::SqlStorage;
use fieldbook_shared::api::LoginResponse;
use fieldbook_shared::customer::Customer;
use fieldbook_shared::vocab::Role;
use futures::{SinkExt, StreamExt, TryStreamExt};
use samod::{BackoffConfig, DialError, Dialer, DialerHandle, DocHandle, PeerId, Repo, Transport};
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};

pub mod browser;
pub mod js;
pub mod native_peer;
pub mod raw_ws;

/// The password of every test user.
pub const PASSWORD: &str = "secret-pass";

/// The test org: center > co1 > (so1, so2); users by username.
pub const USERS: &[(&str, &str, &str)] = &[
    ("m1", "manager", "so1"),
    ("m2", "manager", "so1"),
    ("m3", "manager", "so2"),
    ("head1", "head", "so1"),
    ("headco", "head", "co1"),
    ("head2", "head", "so2"),
    ("admin", "admin", "center"),
];

/// Waits for `check` to return `Some`, polling; panics with `what` after `timeout`.
pub async fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `fieldbook-server` binary, built once per test run.
pub fn server_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(p) = std::env::var("FIELDBOOK_SERVER_BIN") {
            return PathBuf::from(p);
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace root")
            .to_path_buf();
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "-p",
                "fieldbook-server",
                "--bin",
                "fieldbook-server",
            ])
            .current_dir(&root)
            .status()
            .expect("run cargo build for the server");
        assert!(status.success(), "building fieldbook-server failed");
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join("target"));
        target.join("debug").join("fieldbook-server")
    })
    .clone()
}

/// The PostgreSQL server of the run, when it has one:
/// `FIELDBOOK_TEST_POSTGRES=postgres://user@host:port` (`cargo xtask test`
/// starts a throwaway cluster and sets it).
pub fn test_postgres() -> Option<String> {
    std::env::var("FIELDBOOK_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
        .map(|u| u.trim_end_matches('/').to_string())
}

/// The run's PostgreSQL server, for a test that needs one.
pub fn require_postgres() -> String {
    test_postgres().expect(
        "this needs PostgreSQL: run `cargo xtask test` (or `cargo xtask bench-engines`), which \
         starts a throwaway cluster, or set FIELDBOOK_TEST_POSTGRES=postgres://user@host:port",
    )
}

/// Whether test servers keep their data in PostgreSQL: the PostgreSQL pass
/// of `cargo xtask test` sets `FIELDBOOK_TEST_ENGINE=postgres`.
pub fn servers_on_postgres() -> bool {
    std::env::var("FIELDBOOK_TEST_ENGINE").is_ok_and(|e| e == "postgres")
}

/// A database of one test on the run's PostgreSQL server; dropped with it.
pub struct PgDatabase {
    server: String,
    name: String,
}

impl PgDatabase {
    /// A new empty database on `server` (a URL without a database name).
    pub fn create(server: &str) -> PgDatabase {
        static N: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "fbtest_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        Connection::open(&Location::Postgres(format!("{server}/postgres")))
            .and_then(|c| c.execute_batch(&format!("CREATE DATABASE {name}")))
            .unwrap_or_else(|e| panic!("create a test database on {server}: {e}"));
        PgDatabase {
            server: server.to_string(),
            name,
        }
    }

    pub fn location(&self) -> Location {
        Location::Postgres(format!("{}/{}", self.server, self.name))
    }

    /// Cuts the database off as if its server were down: new connections
    /// refused, open ones ended. Other tests' databases are untouched.
    pub fn go_down(&self) {
        self.admin(&format!(
            "ALTER DATABASE {0} ALLOW_CONNECTIONS false;
             SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{0}'",
            self.name
        ));
    }

    /// Lets connections in again after [`PgDatabase::go_down`].
    pub fn come_back(&self) {
        self.admin(&format!(
            "ALTER DATABASE {} ALLOW_CONNECTIONS true",
            self.name
        ));
    }

    fn admin(&self, sql: &str) {
        Connection::open(&Location::Postgres(format!("{}/postgres", self.server)))
            .and_then(|c| c.execute_batch(sql))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let dropped = Connection::open(&Location::Postgres(format!("{}/postgres", self.server)))
            .and_then(|c| {
                c.execute_batch(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ))
            });
        if let Err(e) = dropped {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

/// A new database for a test: a SQLite file in `dir`, or a PostgreSQL
/// database when the servers run on it (see [`servers_on_postgres`]).
pub fn new_database(dir: &Path) -> (Location, Option<PgDatabase>) {
    if servers_on_postgres() {
        let pg = PgDatabase::create(&require_postgres());
        (pg.location(), Some(pg))
    } else {
        (Location::Sqlite(dir.join("fieldbook.db")), None)
    }
}

/// A real server process with its own database in a temporary directory.
pub struct TestServer {
    _dir: tempfile::TempDir,
    pub db: Location,
    _pg: Option<PgDatabase>,
    pub addr: SocketAddr,
    child: Option<Child>,
    pub log: PathBuf,
    /// The built client to serve at `/` (none by default).
    pub static_dir: Option<PathBuf>,
    /// `--unload-idle-secs` for the server (default: its own, or the environment's).
    pub unload_idle_secs: Option<u64>,
    /// `--claim-grace-secs` for the server (default: its own).
    pub claim_grace_secs: Option<u64>,
    /// `RUST_LOG` for the server (default: its own filter, or
    /// `FIELDBOOK_SERVER_LOG`'s): for a test that reads what is logged.
    pub log_filter: Option<String>,
    /// Whether the server has answered once on `addr` (from then on the
    /// address stays: devices reconnect to it).
    started: bool,
}

impl TestServer {
    /// A new database with the test org and users; not started yet.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, pg) = new_database(dir.path());
        Self::with_database(dir, db, pg)
    }

    /// [`TestServer::new`] on a PostgreSQL database of its own, whatever the
    /// run's engine (tests of several nodes).
    pub fn new_on_postgres() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let pg = PgDatabase::create(&require_postgres());
        Self::with_database(dir, pg.location(), Some(pg))
    }

    fn with_database(dir: tempfile::TempDir, db: Location, pg: Option<PgDatabase>) -> Self {
        let log = dir.path().join("server.log");
        Db::open(&db)
            .and_then(|d| {
                d.blocking(|c| {
                    fieldbook_server::auth::add_unit(c, "center", "大客户中心", None)?;
                    fieldbook_server::auth::add_unit(c, "co1", "寄递专业分公司", Some("center"))?;
                    fieldbook_server::auth::add_unit(c, "so1", "东区支局", Some("co1"))?;
                    fieldbook_server::auth::add_unit(c, "so2", "西区支局", Some("co1"))?;
                    for (u, role, unit) in USERS {
                        fieldbook_server::auth::add_user(
                            c,
                            u,
                            "",
                            PASSWORD,
                            &Role::parse(role),
                            unit,
                        )?;
                    }
                    Ok(())
                })
            })
            .expect("seed test users");
        let port = free_port();
        TestServer {
            _dir: dir,
            db,
            _pg: pg,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child: None,
            log,
            static_dir: None,
            unload_idle_secs: None,
            claim_grace_secs: None,
            log_filter: None,
            started: false,
        }
    }

    /// Another server node on this one's PostgreSQL database (its own
    /// address and log); not started yet.
    pub fn another_node(&self) -> TestServer {
        assert!(self.on_postgres(), "nodes share a PostgreSQL database");
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("server.log");
        TestServer {
            _dir: dir,
            db: self.db.clone(),
            _pg: None,
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            child: None,
            log,
            static_dir: self.static_dir.clone(),
            unload_idle_secs: self.unload_idle_secs,
            claim_grace_secs: self.claim_grace_secs,
            log_filter: self.log_filter.clone(),
            started: false,
        }
    }

    /// Stores a customer document assigned to `primary` (and `assistant`), as if
    /// registered earlier. Only while the server is not running.
    pub async fn seed_customer(
        &self,
        customer: &Customer,
        primary: &str,
        assistant: Option<&str>,
    ) -> String {
        self.seed_customers(&[(customer.clone(), primary, assistant)])
            .await
            .remove(0)
    }

    /// Stores many customers at once (see [`TestServer::seed_customer`]); their URLs in order.
    pub async fn seed_customers(
        &self,
        customers: &[(Customer, &str, Option<&str>)],
    ) -> Vec<String> {
        assert!(
            self.child.is_none(),
            "seed customers before starting the server"
        );
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let storage = SqlStorage::open(&self.db, tx).expect("open storage");
        let repo = Repo::build_tokio().with_storage(storage).load().await;
        let mut rows = Vec::new();
        for (customer, primary, assistant) in customers {
            let mut doc = Automerge::new();
            doc.transact(|tx| customer.create(tx))
                .expect("write customer");
            let handle = repo.create(doc).await.expect("create");
            rows.push((
                handle.document_id().to_string(),
                primary.to_string(),
                assistant.map(str::to_string),
            ));
        }
        repo.stop().await;
        let ids: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        Db::open(&self.db)
            .and_then(|d| {
                d.blocking(|c| {
                    let tx = c.transaction()?;
                    for (id, p, a) in &rows {
                        tx.execute(
                            "INSERT INTO customers (doc_id, primary_user, assistant_user, unit, registered_by, registered_at)
                             SELECT ?1, p.id, (SELECT id FROM users WHERE username = ?3), p.unit, p.id, '2026-01-01T00:00:00Z'
                             FROM users p WHERE p.username = ?2",
                            fieldbook_server::sql_params![id, p, a],
                        )?;
                    }
                    tx.commit()?;
                    Ok(())
                })
            })
            .expect("assign customers");
        ids.into_iter()
            .map(|id| format!("automerge:{id}"))
            .collect()
    }

    /// Serves the built client (client/dist, made by `cargo xtask dist`) at `/`.
    pub fn serve_client(&mut self) {
        let dist = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("root")
            .join("client")
            .join("dist");
        assert!(
            dist.join("index.html").is_file(),
            "{} has no build: run `cargo xtask dist` (or `cargo xtask test`)",
            dist.display()
        );
        self.static_dir = Some(dist);
    }

    /// Starts (or restarts) the server process and waits until it answers.
    /// The port was free when chosen, but a test running beside this one
    /// may take it before the server binds it: a first start then moves to
    /// another free port (a restart keeps its address, as devices expect).
    pub async fn start(&mut self) {
        for _ in 0..5 {
            match self.start_once().await {
                Ok(()) => {
                    self.started = true;
                    return;
                }
                Err(log) if !self.started && log.contains("Address already in use") => {
                    self.addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
                }
                Err(log) => panic!("server exited; log:\n{log}"),
            }
        }
        panic!("no free port for the server after five tries");
    }

    async fn start_once(&mut self) -> Result<(), String> {
        assert!(self.child.is_none(), "server already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = Command::new(server_binary())
            .args(["serve", "--db"])
            .arg(self.db.to_arg())
            .args(["--listen", &self.addr.to_string(), "--static"])
            .arg(
                self.static_dir
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("/nonexistent")),
            )
            // The server's own default filter unless the run asks for more.
            .env_remove("RUST_LOG")
            .envs(
                self.log_filter
                    .clone()
                    .or_else(|| std::env::var("FIELDBOOK_SERVER_LOG").ok())
                    .map(|l| ("RUST_LOG", l)),
            )
            .args(
                self.unload_idle_secs
                    .iter()
                    .flat_map(|n| ["--unload-idle-secs".to_string(), n.to_string()]),
            )
            .args(
                self.claim_grace_secs
                    .iter()
                    .flat_map(|n| ["--claim-grace-secs".to_string(), n.to_string()]),
            )
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn fieldbook-server");
        self.child = Some(child);
        let url = format!("{}/api/health", self.base());
        let http = reqwest::Client::new();
        let answered = wait_for(
            "the server to answer /api/health",
            Duration::from_secs(30),
            async || {
                if let Some(status) = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok())
                    .flatten()
                {
                    return Some(Err(format!("{status}\n{}", self.log_text())));
                }
                http.get(&url)
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status().is_success())
                    .map(|_| Ok(()))
            },
        )
        .await;
        if answered.is_err() {
            self.child = None;
        }
        answered
    }

    /// A connection to the server's database (either engine), for tests that
    /// look at or change its tables.
    pub fn sql(&self) -> Connection {
        Connection::open(&self.db).expect("open the server's database")
    }

    /// The PostgreSQL database this server owns, if it does.
    pub fn pg_database(&self) -> Option<&PgDatabase> {
        self._pg.as_ref()
    }

    /// Whether this run keeps data in PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self.db.is_postgres()
    }

    /// Kills the server with SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill server");
            child.wait().expect("reap server");
        }
    }

    /// The server process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn sync_url(&self) -> String {
        format!("ws://{}/sync", self.addr)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Logs in over REST.
    pub async fn login(&self, username: &str) -> LoginResponse {
        let res = reqwest::Client::new()
            .post(format!("{}/api/login", self.base()))
            .json(&serde_json::json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .expect("login request");
        assert!(
            res.status().is_success(),
            "login of {username} failed: {}",
            res.status()
        );
        res.json().await.expect("login body")
    }

    /// The `GET /api/customers` row of `url`, once `ready` holds for it (20 s at most).
    pub async fn customer_row(
        &self,
        token: &str,
        url: &str,
        ready: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        wait_for(
            "the customer's row in /api/customers",
            Duration::from_secs(20),
            async || {
                let list = self.get_json(token, "/api/customers").await;
                list.as_array()?
                    .iter()
                    .find(|c| c["url"] == url && ready(c))
                    .cloned()
            },
        )
        .await
    }

    /// `GET path` with a bearer token, as JSON.
    /// POSTs `body` as `content_type` (a spreadsheet, changes): status and JSON answer.
    pub async fn post_file(
        &self,
        token: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, serde_json::Value) {
        self.post_file_in("zh-CN", token, path, content_type, body)
            .await
    }

    /// [`TestServer::post_file`] asking for answers in `language` (Accept-Language).
    pub async fn post_file_in(
        &self,
        language: &str,
        token: &str,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> (u16, serde_json::Value) {
        let res = reqwest::Client::new()
            .post(format!("{}{path}", self.base()))
            .bearer_auth(token)
            .header("content-type", content_type)
            .header("accept-language", language)
            .body(body)
            .send()
            .await
            .expect("POST");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// A customer whose revenue in the last complete month (2,000,000 yuan)
    /// makes it platinum.
    pub fn platinum_customer(name: &str) -> Customer {
        use fieldbook_shared::customer::LedgerEntry;
        use fieldbook_shared::vocab::{Line, Nature};
        let months = fieldbook_shared::grading::last_twelve_months(&date_in_days(0)[..7]);
        let mut c = Customer::new(name, "", Nature::Enterprise, vec![Line::Delivery]);
        c.ledger.push(LedgerEntry {
            month: months[11].clone(),
            line: Line::Delivery,
            amount_fen: 200_000_000,
            disbursed_fen: 0,
            cross_city_fen: 0,
            estimate: false,
        });
        c
    }

    pub async fn get_json(&self, token: &str, path: &str) -> serde_json::Value {
        let res = reqwest::Client::new()
            .get(format!("{}{path}", self.base()))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET");
        assert!(res.status().is_success(), "GET {path}: {}", res.status());
        res.json().await.expect("json")
    }
}

impl Default for TestServer {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = self.log_text();
            // FIELDBOOK_LOG_LINES shows more when a failure needs the whole story.
            let lines = std::env::var("FIELDBOOK_LOG_LINES")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(60);
            let tail: Vec<&str> = log.lines().rev().take(lines).collect();
            eprintln!("--- server log (last {lines} lines) ---");
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
        self.kill();
    }
}

/// Bytes and messages a device put on the wire (websocket payloads), both ways.
#[derive(Debug, Default)]
pub struct Wire {
    pub bytes_out: AtomicU64,
    pub bytes_in: AtomicU64,
    pub msgs_out: AtomicU64,
    pub msgs_in: AtomicU64,
}

impl Wire {
    /// (bytes out, bytes in, messages out, messages in) so far.
    pub fn snapshot(&self) -> (u64, u64, u64, u64) {
        (
            self.bytes_out.load(Ordering::SeqCst),
            self.bytes_in.load(Ordering::SeqCst),
            self.msgs_out.load(Ordering::SeqCst),
            self.msgs_in.load(Ordering::SeqCst),
        )
    }
}

/// Dials the server's `/sync` with a bearer token, over a real websocket.
pub struct WsDialer {
    pub url: url::Url,
    pub token: String,
    pub wire: Arc<Wire>,
}

impl Dialer for WsDialer {
    type Error = tungstenite::Error;

    fn url(&self) -> url::Url {
        self.url.clone()
    }

    fn connect(
        &self,
    ) -> futures::future::BoxFuture<'static, Result<Transport, DialError<Self::Error>>> {
        let url = self.url.to_string();
        let token = self.token.clone();
        let (wire_in, wire_out) = (self.wire.clone(), self.wire.clone());
        Box::pin(async move {
            let mut req = url
                .into_client_request()
                .map_err(DialError::PermanentFailure)?;
            req.headers_mut().insert(
                "authorization",
                format!("Bearer {token}").parse().map_err(|e| {
                    DialError::PermanentFailure(tungstenite::Error::HttpFormat(
                        tungstenite::http::Error::from(e),
                    ))
                })?,
            );
            let (ws, _) = tokio_tungstenite::connect_async(req)
                .await
                .map_err(DialError::transient)?;
            let (sink, stream) = ws.split();
            let stream = stream
                .try_filter_map(move |m| {
                    let wire = wire_in.clone();
                    async move {
                        Ok(match m {
                            Message::Binary(b) => {
                                wire.bytes_in.fetch_add(b.len() as u64, Ordering::SeqCst);
                                wire.msgs_in.fetch_add(1, Ordering::SeqCst);
                                Some(b.to_vec())
                            }
                            _ => None,
                        })
                    }
                })
                .boxed();
            let sink = sink.with(move |b: Vec<u8>| {
                wire_out
                    .bytes_out
                    .fetch_add(b.len() as u64, Ordering::SeqCst);
                wire_out.msgs_out.fetch_add(1, Ordering::SeqCst);
                async move { Ok::<_, tungstenite::Error>(Message::Binary(b.into())) }
            });
            Ok(Transport::new(stream, Box::pin(sink)))
        })
    }
}

/// A user's device: a samod repo with its own (in-memory) storage that keeps its
/// documents while offline.
pub struct Device {
    pub repo: Repo,
    pub session: LoginResponse,
    /// What this device sent and received on `/sync`.
    pub wire: Arc<Wire>,
    sync_url: url::Url,
    dialer: Option<DialerHandle<tungstenite::Error>>,
}

impl Device {
    /// Logs `username` in and makes a device for that session (not yet online).
    pub async fn login(server: &TestServer, username: &str) -> Self {
        let session = server.login(username).await;
        let repo = Repo::build_tokio()
            .with_peer_id(PeerId::from(session.peer_id.as_str()))
            .load()
            .await;
        Device {
            repo,
            session,
            wire: Arc::default(),
            sync_url: server.sync_url().parse().expect("url"),
            dialer: None,
        }
    }

    /// Goes online through `server` from now on (another node of the same
    /// database: the session holds there too) and waits for the handshake.
    pub async fn connect_to(&mut self, server: &TestServer) {
        self.disconnect();
        self.sync_url = server.sync_url().parse().expect("sync url");
        self.connect().await;
    }

    /// Goes online and waits for the handshake.
    pub async fn connect(&mut self) {
        let dialer = WsDialer {
            url: self.sync_url.clone(),
            token: self.session.token.clone(),
            wire: self.wire.clone(),
        };
        let backoff = BackoffConfig {
            initial_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(500),
            max_retries: None,
        };
        let handle = self.repo.dial(backoff, Arc::new(dialer)).expect("dial");
        tokio::time::timeout(Duration::from_secs(20), handle.established())
            .await
            .expect("connect timed out")
            .expect("connect failed");
        self.dialer = Some(handle);
    }

    /// Whether the device's websocket is up (it redials by itself after a drop).
    pub fn is_connected(&self) -> bool {
        self.dialer.as_ref().is_some_and(|d| d.is_connected())
    }

    /// Goes offline.
    pub fn disconnect(&mut self) {
        if let Some(d) = self.dialer.take() {
            d.close();
        }
    }

    /// Opens a document through the server; `None` if unavailable to this user.
    pub async fn find(&self, url: &str) -> Option<DocHandle> {
        let id = url
            .trim_start_matches("automerge:")
            .parse()
            .expect("document id");
        tokio::time::timeout(Duration::from_secs(20), self.repo.find(id))
            .await
            .expect("find timed out")
            .expect("repo stopped")
    }

    /// Waits until the server has every change this device has of `doc`.
    pub async fn wait_synced(&self, doc: &DocHandle) {
        assert!(
            self.synced_within(doc, Duration::from_secs(20)).await,
            "timed out waiting for the server to have our changes"
        );
    }

    /// Whether the server says it has every change of `doc` within `limit`.
    pub async fn synced_within(&self, doc: &DocHandle, limit: Duration) -> bool {
        let conn = self
            .dialer
            .as_ref()
            .and_then(|d| d.connection_id())
            .expect("device is online");
        tokio::time::timeout(limit, doc.they_have_our_changes(conn))
            .await
            .is_ok()
    }

    /// The customer in `doc`, read through the shared schema.
    pub fn customer(doc: &DocHandle) -> Customer {
        doc.with_document(|d| Customer::load(d))
            .expect("customer document")
    }

    /// The ids of a customer's visits, sorted.
    pub fn visit_ids(doc: &DocHandle) -> Vec<String> {
        let mut ids: Vec<String> = Self::customer(doc)
            .visits
            .into_iter()
            .map(|v| v.id)
            .collect();
        ids.sort();
        ids
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        self.disconnect();
    }
}

/// Today plus `offset` days as `YYYY-MM-DD` (the operator's calendar), for tests that need dates near now.
pub fn date_in_days(offset: i64) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    // The operator's calendar, as the server and the tablets count days.
    fieldbook_shared::calendar::day_of(ms + offset * 86_400_000)
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}
