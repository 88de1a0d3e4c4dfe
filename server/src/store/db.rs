//! The database (SQLite or PostgreSQL): opening it, its schema and migrations.

use crate::store::sql::{Connection, Location, TransactionBehavior, params};

use crate::error::ServerError;

/// Opens (creating if needed) the database at `location` with Fieldbook's
/// settings.
pub fn open(location: impl Into<Location>) -> Result<Connection, ServerError> {
    let conn = Connection::open(&location.into())?;
    if let Some(lite) = conn.sqlite() {
        lite.busy_timeout(std::time::Duration::from_secs(10))?;
        // WAL lets readers run beside the writer; FULL makes a commit survive power loss.
        lite.pragma_update(None, "journal_mode", "WAL")?;
        lite.pragma_update(None, "synchronous", "FULL")?;
        lite.pragma_update(None, "foreign_keys", "ON")?;
    }
    Ok(conn)
}

/// The storage writer's wait for the write lock. Every storage commit holds up a
/// synced change (nothing is sent before it is on disk), and SQLite's own wait
/// sleeps 1, 2, 5, 10… ms between tries: in a visit storm a projection holding
/// the lock for 3 ms held a visit for 8 ms, and once for over half a second. This
/// tries every 0.1 ms, for 10 s or more in all. The other connections keep
/// SQLite's wait, so the storage writer is the one that gets the lock first.
pub fn wait_briefly(tries: i32) -> bool {
    if tries >= BRIEF_TRIES {
        return false;
    }
    std::thread::sleep(BRIEF_WAIT);
    true
}

const BRIEF_WAIT: std::time::Duration = std::time::Duration::from_micros(100);
const BRIEF_TRIES: i32 = 100_000;

/// Opens the database and brings its schema up to date.
pub fn open_and_migrate(location: impl Into<Location>) -> Result<Connection, ServerError> {
    let mut conn = open(location)?;
    if conn.is_postgres() {
        migrate_postgres(&mut conn)?;
    } else {
        migrate_sqlite(&conn)?;
    }
    Ok(conn)
}

/// Columns added after the first release of a table (SQLite's declarations).
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    (
        "customer_index",
        "annual_revenue_fen",
        "INTEGER NOT NULL DEFAULT 0",
    ),
    (
        "customer_index",
        "level_proposed",
        "TEXT NOT NULL DEFAULT 'none'",
    ),
    (
        "customer_index",
        "grade_proposed",
        "TEXT NOT NULL DEFAULT 'none'",
    ),
    (
        "customer_index",
        "cross_city_fen",
        "INTEGER NOT NULL DEFAULT 0",
    ),
    (
        "customer_index",
        "managed_as",
        "TEXT NOT NULL DEFAULT 'none'",
    ),
    (
        "customer_index",
        "managed_why",
        "TEXT NOT NULL DEFAULT 'threshold'",
    ),
    (
        "customer_index",
        "managed_rank",
        "INTEGER NOT NULL DEFAULT 0",
    ),
    (
        "customer_index",
        "last_change_ms",
        "INTEGER NOT NULL DEFAULT 0",
    ),
    ("customer_index", "heads", "TEXT NOT NULL DEFAULT ''"),
    // The change that recorded a hand-over on the document ('' before
    // this column: such a hand-over cannot order late changes, late.rs).
    ("handovers", "heads", "TEXT NOT NULL DEFAULT ''"),
    // Who delivered each change (history.rs); NULL before this column.
    ("change_log", "user_id", "INTEGER REFERENCES users(id)"),
    // The operator's staff number (工号), where the org has one; imports
    // name managers by it.
    ("users", "staff_no", "TEXT"),
    // Who decided a registration, when, and why it was sent back
    // (NULL / '' for decisions of earlier releases).
    (
        "registrations",
        "decided_by",
        "INTEGER REFERENCES users(id)",
    ),
    ("registrations", "decided_at", "TEXT"),
    ("registrations", "reason", "TEXT NOT NULL DEFAULT ''"),
];

/// Indexes on added columns: after the columns exist.
const ADDED_INDEXES: &str = "CREATE UNIQUE INDEX IF NOT EXISTS users_staff_no ON users(staff_no)
    WHERE staff_no IS NOT NULL";

/// SQLite: the schema, then each added column an earlier release's file lacks.
fn migrate_sqlite(conn: &Connection) -> Result<(), ServerError> {
    conn.execute_batch(SCHEMA)?;
    for (table, column, decl) in ADDED_COLUMNS {
        let exists: bool = conn.query_row(
            &format!("SELECT EXISTS(SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1)"),
            [column],
            |r| r.get(0),
        )?;
        if !exists {
            conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {decl}"))?;
        }
    }
    // Earlier releases recorded the customers the server assigned (imports)
    // as pending registrations; an assignment is its own approval. Such a
    // customer has a number (given at import), which a tablet's pending
    // registration never has: so this changes only those, and only once.
    conn.execute(
        "UPDATE registrations SET status = 'approved'
         WHERE status = 'pending' AND doc_id IN (SELECT doc_id FROM customer_numbers)",
        (),
    )?;
    conn.execute_batch(ADDED_INDEXES)?;
    Ok(())
}

/// PostgreSQL's migrations, in order: version *n* is applied once, in one
/// transaction, under an advisory lock, so nodes starting together neither
/// race nor half-apply. A later release that changes the schema appends a
/// version (written for both engines: SQLite's in `migrate_sqlite`).
fn postgres_migrations() -> Vec<(i64, String)> {
    // The added columns are re-declared IF NOT EXISTS: no notice for each.
    let mut first = "SET LOCAL client_min_messages = warning;\n".to_string();
    first.push_str(&crate::store::sql::pg_schema(SCHEMA));
    for (table, column, decl) in ADDED_COLUMNS {
        first.push_str(&format!(
            ";\nALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {}",
            crate::store::sql::pg_schema(decl).trim()
        ));
    }
    first.push_str(";\n");
    first.push_str(ADDED_INDEXES);
    vec![(1, first)]
}

/// The schema version a PostgreSQL database is at (0 when new).
pub fn postgres_version(conn: &Connection) -> Result<i64, ServerError> {
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        (),
        |r| r.get(0),
    )?)
}

fn migrate_postgres(conn: &mut Connection) -> Result<(), ServerError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    BIGINT PRIMARY KEY,
            applied_at TEXT NOT NULL
        )",
    )
    .or_else(|e| {
        // Two nodes creating it at once: the loser's CREATE fails; it exists.
        if e.is_constraint() { Ok(()) } else { Err(e) }
    })?;
    for (version, sql) in postgres_migrations() {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if postgres_version(&tx)? >= version {
            continue;
        }
        tx.execute_batch(&sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, crate::now()],
        )?;
        tx.commit()?;
        tracing::info!(version, "PostgreSQL schema migrated");
    }
    Ok(())
}

const SCHEMA: &str = r#"
-- samod's documents: one row per storage key ("/"-joined).
CREATE TABLE IF NOT EXISTS samod_storage (
    key  TEXT PRIMARY KEY NOT NULL,
    data BLOB NOT NULL
) WITHOUT ROWID;

-- Documents whose stored content changed and whose projection is not yet current.
CREATE TABLE IF NOT EXISTS dirty_docs (
    doc_id TEXT PRIMARY KEY NOT NULL
) WITHOUT ROWID;

-- The org tree 大客中心 -> 专业公司/分公司 -> 支局.
CREATE TABLE IF NOT EXISTS units (
    code   TEXT PRIMARY KEY NOT NULL,
    name   TEXT NOT NULL,
    parent TEXT REFERENCES units(code)
);

CREATE TABLE IF NOT EXISTS users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('manager', 'head', 'admin')),
    unit          TEXT NOT NULL REFERENCES units(code),
    book_doc      TEXT,
    disabled      INTEGER NOT NULL DEFAULT 0
);

-- Login sessions. Only a hash of the token is kept.
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    peer_id    TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- Server-owned assignment of each registered customer (who may see it).
CREATE TABLE IF NOT EXISTS customers (
    doc_id        TEXT PRIMARY KEY NOT NULL,
    primary_user  INTEGER NOT NULL REFERENCES users(id),
    assistant_user INTEGER REFERENCES users(id),
    unit          TEXT NOT NULL REFERENCES units(code),
    registered_by INTEGER NOT NULL REFERENCES users(id),
    registered_at TEXT NOT NULL
);

-- A document a user started syncing to the server that is not (yet) a registered
-- customer: only that user may open it until it registers.
CREATE TABLE IF NOT EXISTS claims (
    doc_id     TEXT PRIMARY KEY NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    claimed_at TEXT NOT NULL
);

-- Registrations (报备) in the order they reached the server, and what the
-- first-to-register rule decided for each (see shared/src/ownership.rs).
CREATE TABLE IF NOT EXISTS registrations (
    doc_id          TEXT PRIMARY KEY NOT NULL,
    unit            TEXT NOT NULL,
    name            TEXT NOT NULL,
    norm_name       TEXT NOT NULL,
    credit_code     TEXT NOT NULL,
    lines           TEXT NOT NULL,
    received        INTEGER NOT NULL UNIQUE,
    same_as         TEXT,
    owned_lines     TEXT NOT NULL DEFAULT '',
    duplicate_lines TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'pending'
);
CREATE INDEX IF NOT EXISTS registrations_code ON registrations(credit_code);
CREATE INDEX IF NOT EXISTS registrations_name ON registrations(norm_name);

-- Escrow keys of the tablets' local encryption keys (client/src/keyring.rs),
-- per user and device: released only to that user, signed in.
CREATE TABLE IF NOT EXISTS device_keys (
    user_id    INTEGER NOT NULL,
    device     TEXT NOT NULL,
    key        TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (user_id, device)
) WITHOUT ROWID;

-- Devices an administrator wiped (远程清除): the ended session's token, so
-- the device is told at its next call to delete its copy; and when it said
-- it had.
CREATE TABLE IF NOT EXISTS wiped_devices (
    token_hash   TEXT PRIMARY KEY NOT NULL,
    peer_id      TEXT NOT NULL,
    user_id      INTEGER NOT NULL,
    by_user      INTEGER NOT NULL,
    at           TEXT NOT NULL,
    confirmed_at TEXT
) WITHOUT ROWID;

-- Photos and attachments 照片与附件 (shared/src/attachments.rs): each file
-- once, by the SHA-256 of its bytes; and the customers it was attached to,
-- which decide who may read it (whoever may read one of them).
CREATE TABLE IF NOT EXISTS blobs (
    sha256    TEXT PRIMARY KEY NOT NULL,
    mime      TEXT NOT NULL,
    size      INTEGER NOT NULL,
    bytes     BLOB NOT NULL,
    stored_at TEXT NOT NULL
); -- a rowid table: SQLite keeps large rows poorly without one
CREATE TABLE IF NOT EXISTS blob_customers (
    sha256  TEXT NOT NULL,
    doc_id  TEXT NOT NULL,
    user_id INTEGER NOT NULL,
    at      TEXT NOT NULL,
    PRIMARY KEY (sha256, doc_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blob_customers_user ON blob_customers(user_id, at);

-- Desks 工作台 (shared/src/desk.rs): each user's own documents, by who
-- created them; what they hold is projected below and into decisions.
CREATE TABLE IF NOT EXISTS desks (
    doc_id     TEXT PRIMARY KEY NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    first_seen TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS desks_user ON desks(user_id);

-- The free notes of the work logs 工作日志, as the desks hold them.
CREATE TABLE IF NOT EXISTS worklog_notes (
    doc_id  TEXT NOT NULL,
    id      TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id),
    day     TEXT NOT NULL,
    time    TEXT NOT NULL,
    text    TEXT NOT NULL,
    PRIMARY KEY (doc_id, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS worklog_notes_user ON worklog_notes(user_id, day);

-- Months whose work log a manager handed in 月末提交 (the latest hand-in).
CREATE TABLE IF NOT EXISTS worklog_submissions (
    user_id      INTEGER NOT NULL REFERENCES users(id),
    month        TEXT NOT NULL,
    submitted_at TEXT NOT NULL,
    note         TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, month)
) WITHOUT ROWID;

-- The ledger as heads and the center imported it: the only revenue that
-- grades and scores (projection/ledger.rs). A customer's document ledger is
-- adopted once into it (ledger_adopted) when the server assigned it.
CREATE TABLE IF NOT EXISTS ledger_official (
    doc_id         TEXT NOT NULL,
    month          TEXT NOT NULL,
    line           TEXT NOT NULL,
    amount_fen     INTEGER NOT NULL,
    disbursed_fen  INTEGER NOT NULL,
    cross_city_fen INTEGER NOT NULL,
    recorded_by    INTEGER REFERENCES users(id),
    recorded_at    TEXT NOT NULL,
    PRIMARY KEY (doc_id, month, line)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger_adopted (
    doc_id     TEXT PRIMARY KEY NOT NULL,
    adopted_at TEXT NOT NULL
) WITHOUT ROWID;

-- Customer events 联谊活动 / 座谈会 (decisions.rs::create_event) and who was
-- invited; attendance as the customers' documents record it (projected).
CREATE TABLE IF NOT EXISTS events (
    id         TEXT PRIMARY KEY NOT NULL,
    kind       TEXT NOT NULL,
    title      TEXT NOT NULL,
    date       TEXT NOT NULL,
    place      TEXT NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_invitees (
    event_id  TEXT NOT NULL,
    doc_id    TEXT NOT NULL,
    attended  INTEGER NOT NULL DEFAULT 0,
    attendees TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (event_id, doc_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_invitees_doc ON event_invitees(doc_id);

-- Hand-over requests 交接申请: a customer's manager asks, a head decides.
CREATE TABLE IF NOT EXISTS handover_requests (
    id           INTEGER PRIMARY KEY,
    doc_id       TEXT NOT NULL,
    requested_by INTEGER NOT NULL REFERENCES users(id),
    to_user      INTEGER NOT NULL REFERENCES users(id),
    reason       TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending',
    decided_by   INTEGER REFERENCES users(id),
    decided_at   TEXT
);

-- 月末核实: a head's review of a manager's month (the latest counts).
CREATE TABLE IF NOT EXISTS month_reviews (
    user_id     INTEGER NOT NULL REFERENCES users(id),
    month       TEXT NOT NULL,
    reviewer_id INTEGER NOT NULL REFERENCES users(id),
    comment     TEXT NOT NULL,
    reviewed_at TEXT NOT NULL,
    PRIMARY KEY (user_id, month)
) WITHOUT ROWID;

-- 抽查: what a head's check of a visit found.
CREATE TABLE IF NOT EXISTS spot_checks (
    doc_id      TEXT NOT NULL,
    visit_id    TEXT NOT NULL,
    reviewer_id INTEGER NOT NULL REFERENCES users(id),
    comment     TEXT NOT NULL,
    checked_at  TEXT NOT NULL,
    PRIMARY KEY (doc_id, visit_id, reviewer_id)
) WITHOUT ROWID;

-- Requests from desks the server has answered (desk.rs): an answer is
-- given once, even if the desk is read again before its outcome is saved.
CREATE TABLE IF NOT EXISTS desk_answers (
    doc_id     TEXT NOT NULL,
    request_id TEXT NOT NULL,
    ok         INTEGER NOT NULL,
    message    TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (doc_id, request_id)
) WITHOUT ROWID;

-- Server-wide values (e.g. the id of the shared warning-list document).
CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- Bad-credit reports 不良资信: reported by anyone, confirmed by the center.
CREATE TABLE IF NOT EXISTS credit_warnings (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    credit_code  TEXT NOT NULL,
    kind         TEXT NOT NULL,
    note         TEXT NOT NULL,
    reported_by  INTEGER NOT NULL REFERENCES users(id),
    reported_at  TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'reported' CHECK (status IN ('reported', 'confirmed', 'rejected')),
    decided_by   INTEGER REFERENCES users(id),
    decided_at   TEXT
);

-- A person ruling otherwise on who owns a line of a customer (territorial disputes
-- go up one level: docs/domain.md, Registration and ownership): the line
-- belongs to this registration.
CREATE TABLE IF NOT EXISTS ownership_rulings (
    doc_id   TEXT NOT NULL,
    line     TEXT NOT NULL,
    ruled_by INTEGER NOT NULL REFERENCES users(id),
    ruled_at TEXT NOT NULL,
    PRIMARY KEY (doc_id, line)
);

-- Approved level and grade 客户分级: proposed by the rules, fixed by a person.
CREATE TABLE IF NOT EXISTS grade_approvals (
    doc_id      TEXT PRIMARY KEY NOT NULL,
    level       TEXT NOT NULL,
    grade       TEXT NOT NULL,
    approved_by INTEGER NOT NULL REFERENCES users(id),
    approved_at TEXT NOT NULL
);

-- Agreements 服务协议 approved by a head or the center: only this table makes
-- an agreement of a platinum or diamond customer active (a tablet's status
-- field is the manager's claim, not a decision).
CREATE TABLE IF NOT EXISTS agreement_approvals (
    doc_id       TEXT NOT NULL,
    agreement_id TEXT NOT NULL,
    approved_by  INTEGER NOT NULL REFERENCES users(id),
    approved_at  TEXT NOT NULL,
    PRIMARY KEY (doc_id, agreement_id)
) WITHOUT ROWID;

-- Projection of every visit, for compliance reports.
CREATE TABLE IF NOT EXISTS visit_index (
    doc_id   TEXT NOT NULL,
    visit_id TEXT NOT NULL,
    date     TEXT NOT NULL,
    kind     TEXT NOT NULL,
    visitors TEXT NOT NULL,
    PRIMARY KEY (doc_id, visit_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS visit_index_date ON visit_index(date);

-- Customer numbers 客户编号, given by the server (numbers.rs) on approval or
-- import; and the last sequence used per number-without-its-sequence.
CREATE TABLE IF NOT EXISTS customer_numbers (
    doc_id      TEXT PRIMARY KEY NOT NULL,
    number      TEXT NOT NULL UNIQUE,
    assigned_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS number_sequences (
    key  TEXT PRIMARY KEY NOT NULL,
    last INTEGER NOT NULL
) WITHOUT ROWID;

-- Follow-ups 督办 of each customer document (projection::plan): the heads'
-- list and its exports. `state` is the shared rule's word.
CREATE TABLE IF NOT EXISTS followup_index (
    doc_id        TEXT NOT NULL,
    id            TEXT NOT NULL,
    visit_id      TEXT NOT NULL,
    visit_date    TEXT NOT NULL,
    action        TEXT NOT NULL,
    owner         TEXT NOT NULL,
    due           TEXT NOT NULL,
    state         TEXT NOT NULL,
    forwarded_to  TEXT NOT NULL,
    result        TEXT NOT NULL,
    told_customer INTEGER NOT NULL,
    told_on       TEXT NOT NULL,
    closed_by     TEXT NOT NULL,
    closed_at     TEXT NOT NULL,
    closed_on     TEXT NOT NULL,
    PRIMARY KEY (doc_id, id)
) WITHOUT ROWID;

-- Projection of each customer document, for search and reports.
CREATE TABLE IF NOT EXISTS customer_index (
    doc_id       TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    credit_code  TEXT NOT NULL,
    nature       TEXT NOT NULL,
    lines        TEXT NOT NULL,
    address      TEXT NOT NULL,
    industry     TEXT NOT NULL,
    contacts     INTEGER NOT NULL,
    visit_count  INTEGER NOT NULL,
    last_visit   TEXT,
    open_follow_ups INTEGER NOT NULL,
    projected_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS customer_index_credit ON customer_index(credit_code);

-- What the reports read from each customer document (see projection.rs).
CREATE TABLE IF NOT EXISTS ledger_index (
    doc_id     TEXT NOT NULL,
    month      TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    PRIMARY KEY (doc_id, month)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS complaint_index (
    doc_id       TEXT NOT NULL,
    complaint_id TEXT NOT NULL,
    status       TEXT NOT NULL,
    steps        TEXT NOT NULL,
    satisfaction INTEGER NOT NULL,
    task_force   INTEGER NOT NULL,
    PRIMARY KEY (doc_id, complaint_id)
) WITHOUT ROWID;
-- Satisfaction surveys 客户满意度调查: the day and the average score ×10.
CREATE TABLE IF NOT EXISTS survey_index (
    doc_id      TEXT NOT NULL,
    survey_id   TEXT NOT NULL,
    day         TEXT NOT NULL,
    average_x10 INTEGER NOT NULL,
    PRIMARY KEY (doc_id, survey_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS plan_index (
    doc_id     TEXT NOT NULL,
    year       TEXT NOT NULL,
    target_fen INTEGER NOT NULL,
    PRIMARY KEY (doc_id, year)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS agreement_index (
    doc_id       TEXT NOT NULL,
    agreement_id TEXT NOT NULL,
    number       TEXT NOT NULL,
    end_date     TEXT NOT NULL,
    status       TEXT NOT NULL,
    PRIMARY KEY (doc_id, agreement_id)
) WITHOUT ROWID;

-- Each change of a customer document the server has seen, and when it first
-- did (Rust peers commit without a timestamp).
-- `user_id` is the user whose connection delivered it (history.rs; NULL for
-- the server's own changes and for those recorded before this column).
CREATE TABLE IF NOT EXISTS change_log (
    hash    TEXT PRIMARY KEY NOT NULL,
    doc_id  TEXT NOT NULL,
    seen_ms INTEGER NOT NULL,
    user_id INTEGER REFERENCES users(id)
) WITHOUT ROWID;

-- Automerge actors the server writes with for a user (hand-overs, imports),
-- and, from earlier releases, tablets' actors bound at their first sync.
CREATE TABLE IF NOT EXISTS actors (
    actor    TEXT PRIMARY KEY NOT NULL,
    user_id  INTEGER NOT NULL REFERENCES users(id),
    bound_at TEXT NOT NULL
) WITHOUT ROWID;

-- Hand-overs 交接 (主辅制): each change of a customer's managers, by whom, why.
CREATE TABLE IF NOT EXISTS handovers (
    id             INTEGER PRIMARY KEY,
    doc_id         TEXT NOT NULL,
    from_primary   INTEGER REFERENCES users(id),
    to_primary     INTEGER NOT NULL REFERENCES users(id),
    from_assistant INTEGER REFERENCES users(id),
    to_assistant   INTEGER REFERENCES users(id),
    at             TEXT NOT NULL,
    by_user        INTEGER NOT NULL REFERENCES users(id),
    note           TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS handovers_doc ON handovers(doc_id);

-- Revenue alerts 异动/流失 of each customer as of its last projection
-- (fieldbook_shared::anomaly), one row per alert, JSON in `alert`.
CREATE TABLE IF NOT EXISTS alerts (
    doc_id TEXT NOT NULL,
    n      INTEGER NOT NULL,
    kind   TEXT NOT NULL,
    alert  TEXT NOT NULL,
    month  TEXT NOT NULL,
    PRIMARY KEY (doc_id, n)
) WITHOUT ROWID;
"#;

/// The application's connection (users, sessions, assignments, projections),
/// used from async code through [`Db::call`], which runs off the async threads,
/// and a second connection for the long reads of reports and lists
/// ([`Db::read`]).
#[derive(Clone)]
pub struct Db {
    conn: std::sync::Arc<std::sync::Mutex<Connection>>,
    /// Opened at the first long read (most servers' tests never make one).
    reader: std::sync::Arc<std::sync::Mutex<Option<Connection>>>,
    location: Location,
}

impl Db {
    /// Opens the database at `location` and migrates it.
    pub fn open(location: impl Into<Location>) -> Result<Self, ServerError> {
        let location = location.into();
        Ok(Db {
            conn: std::sync::Arc::new(std::sync::Mutex::new(open_and_migrate(location.clone())?)),
            reader: std::sync::Arc::new(std::sync::Mutex::new(None)),
            location,
        })
    }

    /// Runs a read of many rows (a report, a customer list, a scorecard) on
    /// the reader connection, on a blocking thread. On the application's
    /// connection a center's report held every other call for its 100–300 ms
    /// (logins, decisions, the projection's commits) and waited behind them;
    /// with SQLite's WAL, and on PostgreSQL, a second connection reads its own
    /// snapshot beside them. `f` must not write.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, ServerError> + Send + 'static,
    ) -> Result<T, ServerError> {
        let reader = self.reader.clone();
        let location = self.location.clone();
        tokio::task::spawn_blocking(move || {
            let mut slot = reader.lock().unwrap_or_else(|e| e.into_inner());
            let conn = match &mut *slot {
                Some(conn) => conn,
                None => slot.insert(open(location)?),
            };
            f(conn)
        })
        .await
        .map_err(|e| ServerError::Internal(format!("database read task failed: {e}")))?
    }

    /// Runs `f` with the connection on a blocking thread. Transactions that write
    /// must be IMMEDIATE: a deferred one that reads first cannot wait for the
    /// storage writer and fails at once with "database is locked".
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, ServerError> + Send + 'static,
    ) -> Result<T, ServerError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| ServerError::Internal(format!("database task failed: {e}")))?
    }

    /// Runs `f` with the connection on the current thread (CLI and start-up only).
    pub fn blocking<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, ServerError>,
    ) -> Result<T, ServerError> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut conn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long read (a report) runs on its own connection: it is answered
    /// while the application's connection is busy, and sees what was
    /// committed on it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_long_read_is_not_held_by_the_application_connection() {
        let dir = std::env::temp_dir().join(format!("fb-db-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("read.db");
        let _ = std::fs::remove_file(&path);
        let db = Db::open(Location::Sqlite(path)).unwrap();
        db.call(|c| {
            c.execute("INSERT INTO units (code, name) VALUES ('u1', 'one')", ())?;
            Ok(())
        })
        .await
        .unwrap();
        // The application's connection is held until the read has answered.
        let (held_tx, held_rx) = std::sync::mpsc::channel::<()>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let app = db.clone();
        let busy = tokio::spawn(async move {
            app.call(move |_| {
                held_tx.send(()).ok();
                done_rx
                    .recv_timeout(std::time::Duration::from_secs(20))
                    .map_err(|_| ServerError::Internal("the read never answered".into()))
            })
            .await
        });
        tokio::task::spawn_blocking(move || held_rx.recv().unwrap())
            .await
            .unwrap();
        let name: String = db
            .read(
                |c| Ok(c.query_row("SELECT name FROM units WHERE code = 'u1'", (), |r| r.get(0))?),
            )
            .await
            .unwrap();
        assert_eq!(name, "one");
        done_tx.send(()).unwrap();
        busy.await.unwrap().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_storage_writer_tries_often_and_gives_up_late() {
        // Short steps, so a held lock costs a synced change little beyond the hold…
        assert!(BRIEF_WAIT < std::time::Duration::from_millis(1));
        // …and no sooner than SQLite's own wait on the other connections.
        assert!(BRIEF_WAIT * BRIEF_TRIES as u32 >= std::time::Duration::from_secs(10));
        assert!(wait_briefly(0));
        assert!(wait_briefly(BRIEF_TRIES - 1));
        assert!(!wait_briefly(BRIEF_TRIES));
    }

    /// A database of the release before `change_log.user_id`: its changes
    /// are kept, with no deliverer (history.rs names them by their actor).
    #[test]
    fn a_database_without_change_deliverers_is_migrated_and_keeps_its_rows() {
        let dir = std::env::temp_dir().join(format!("fb-migrate-cl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.db");
        let _ = std::fs::remove_file(&path);
        {
            let c = open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE change_log (hash TEXT PRIMARY KEY NOT NULL, doc_id TEXT NOT NULL,
                    seen_ms INTEGER NOT NULL) WITHOUT ROWID;
                 INSERT INTO change_log VALUES ('abc', 'doc', 42);",
            )
            .unwrap();
        }
        let c = open_and_migrate(&path).unwrap();
        let row: (String, i64, Option<i64>) = c
            .query_row("SELECT doc_id, seen_ms, user_id FROM change_log", (), |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(row, ("doc".to_string(), 42, None));
        drop(c);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A database of the release before decisions were recorded: its
    /// registrations keep their status, gain who-decided columns (empty), and
    /// an imported customer (numbered) recorded as pending is approved, while
    /// a tablet's pending registration stays pending.
    #[test]
    fn registrations_of_the_previous_release_are_migrated() {
        let dir = std::env::temp_dir().join(format!("fb-migrate-reg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.db");
        let _ = std::fs::remove_file(&path);
        {
            let c = open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE registrations (
                    doc_id TEXT PRIMARY KEY NOT NULL, unit TEXT NOT NULL, name TEXT NOT NULL,
                    norm_name TEXT NOT NULL, credit_code TEXT NOT NULL, lines TEXT NOT NULL,
                    received INTEGER NOT NULL UNIQUE, same_as TEXT,
                    owned_lines TEXT NOT NULL DEFAULT '', duplicate_lines TEXT NOT NULL DEFAULT '',
                    status TEXT NOT NULL DEFAULT 'pending');
                 CREATE TABLE customer_numbers (doc_id TEXT PRIMARY KEY NOT NULL,
                    number TEXT NOT NULL UNIQUE, assigned_at TEXT NOT NULL) WITHOUT ROWID;
                 INSERT INTO registrations (doc_id, unit, name, norm_name, credit_code, lines, received, status)
                    VALUES ('imported', 'so1', '导入公司', '导入', '', 'delivery', 1, 'pending'),
                           ('tablet', 'so1', '报备公司', '报备', '', 'delivery', 2, 'pending'),
                           ('rejected', 'so1', '退回公司', '退回', '', 'delivery', 3, 'rejected');
                 INSERT INTO customer_numbers VALUES ('imported', 'KH2026000001', '2026-01-01');",
            )
            .unwrap();
        }
        let c = open_and_migrate(&path).unwrap();
        let rows: Vec<(String, String, Option<i64>, String)> = c
            .prepare(
                "SELECT doc_id, status, decided_by, reason FROM registrations ORDER BY received",
            )
            .unwrap()
            .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let status: Vec<(&str, &str)> = rows.iter().map(|r| (r.0.as_str(), r.1.as_str())).collect();
        assert_eq!(
            status,
            [
                ("imported", "approved"),
                ("tablet", "pending"),
                ("rejected", "rejected")
            ]
        );
        assert!(rows.iter().all(|r| r.2.is_none() && r.3.is_empty()));
        drop(c);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A database of the release before `users.staff_no`: its users are kept,
    /// without staff numbers, and a staff number is then unique.
    #[test]
    fn a_database_without_staff_numbers_is_migrated_and_keeps_its_users() {
        let dir = std::env::temp_dir().join(format!("fb-migrate-staff-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.db");
        let _ = std::fs::remove_file(&path);
        {
            let c = open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE units (code TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,
                    parent TEXT REFERENCES units(code));
                 INSERT INTO units VALUES ('so-east', '东区支局', NULL);
                 CREATE TABLE users (
                    id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE,
                    display_name TEXT NOT NULL, password_hash TEXT NOT NULL,
                    role TEXT NOT NULL CHECK (role IN ('manager', 'head', 'admin')),
                    unit TEXT NOT NULL REFERENCES units(code), book_doc TEXT,
                    disabled INTEGER NOT NULL DEFAULT 0);
                 INSERT INTO users (username, display_name, password_hash, role, unit)
                    VALUES ('zhang.wei', '张伟', 'x', 'manager', 'so-east'),
                           ('li.na', '李娜', 'x', 'manager', 'so-east');",
            )
            .unwrap();
        }
        let c = open_and_migrate(&path).unwrap();
        let rows: Vec<(String, Option<String>)> = c
            .prepare("SELECT display_name, staff_no FROM users ORDER BY id")
            .unwrap()
            .query_map((), |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [("张伟".to_string(), None), ("李娜".to_string(), None)]
        );
        crate::auth::set_staff_no(&c, 1, "E0001").unwrap();
        assert!(matches!(
            crate::auth::set_staff_no(&c, 2, "E0001"),
            Err(ServerError::Conflict(_))
        ));
        assert!(matches!(
            crate::auth::set_staff_no(&c, 2, "E 1"),
            Err(ServerError::BadRequest(_))
        ));
        // Cleared, the number is free again.
        crate::auth::set_staff_no(&c, 1, "").unwrap();
        crate::auth::set_staff_no(&c, 2, "E0001").unwrap();
        drop(c);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A database of the release before `handovers.heads`: its hand-overs
    /// are kept and read as of unknown order (late.rs refuses to order late
    /// changes against them, with the reason).
    #[test]
    fn a_database_without_handover_heads_is_migrated_and_keeps_its_rows() {
        let dir = std::env::temp_dir().join(format!("fb-migrate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.db");
        let _ = std::fs::remove_file(&path);
        {
            let c = open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE users (id INTEGER PRIMARY KEY);
                 INSERT INTO users (id) VALUES (1), (2);
                 CREATE TABLE handovers (
                    id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL,
                    from_primary INTEGER REFERENCES users(id),
                    to_primary INTEGER NOT NULL REFERENCES users(id),
                    from_assistant INTEGER REFERENCES users(id),
                    to_assistant INTEGER REFERENCES users(id),
                    at TEXT NOT NULL, by_user INTEGER NOT NULL REFERENCES users(id),
                    note TEXT NOT NULL);
                 INSERT INTO handovers (doc_id, from_primary, to_primary, at, by_user, note)
                    VALUES ('doc', 1, 2, '2026-11-01T00:00:00Z', 2, '');",
            )
            .unwrap();
        }
        let c = open_and_migrate(&path).unwrap();
        let (doc, heads): (String, String) = c
            .query_row("SELECT doc_id, heads FROM handovers", (), |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((doc.as_str(), heads.as_str()), ("doc", ""));
        drop(c);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
