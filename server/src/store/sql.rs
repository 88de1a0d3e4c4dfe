//! One SQL connection over two engines: SQLite (embedded, the default) and
//! PostgreSQL (for several server nodes).
//!
//! The server's queries are written once, in the SQL both engines share, with
//! rusqlite's shape of API (`execute`, `query_row`, `prepare_cached`,
//! `query_map`, `optional`, transactions), so that a module does not know which
//! engine it runs on. What differs is bridged here, in one place:
//!
//! * **Values.** Parameters and columns pass through [`Value`] (null, integer,
//!   real, text, bytes). PostgreSQL is strict about types (an `i64` for an
//!   `INTEGER` column, a `SUM` that is `NUMERIC`): a parameter is written as
//!   the type the server expects, a column is read whatever its integer width.
//! * **Dialect.** On PostgreSQL a statement is rewritten once and cached:
//!   `?N` placeholders become `$N`, `INSERT OR IGNORE` becomes `ON CONFLICT DO
//!   NOTHING`, `INSERT OR REPLACE` an upsert on the table's primary key (read
//!   from the catalog), `LIMIT -1` `LIMIT ALL`.
//! * **Transactions.** SQLite has one writer: an IMMEDIATE transaction runs
//!   alone. On PostgreSQL an immediate transaction takes one transaction-level
//!   advisory lock, so the read-then-write decisions (first to register, the
//!   next customer number) stay serial across every node, as on SQLite.
//!
//! The PostgreSQL client is the blocking `postgres` crate (tokio-postgres
//! underneath): the server's database code runs on blocking threads (`Db::call`,
//! the storage writer), so a blocking client keeps one code path for both
//! engines. A closed connection is opened again before the next statement.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use postgres_types::{FromSql as PgFromSql, IsNull, ToSql as PgToSql, Type};

/// Where the data lives: a SQLite file, or a PostgreSQL database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; `sqlite:PATH` or a
    /// plain path is a SQLite file.
    pub fn parse(s: &str) -> Location {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Location::Postgres(s.to_string())
        } else {
            Location::Sqlite(PathBuf::from(s.strip_prefix("sqlite:").unwrap_or(s)))
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Location::Postgres(_))
    }

    /// As `--db` takes it.
    pub fn to_arg(&self) -> std::ffi::OsString {
        match self {
            Location::Sqlite(p) => p.clone().into_os_string(),
            Location::Postgres(url) => url.into(),
        }
    }

    /// The SQLite file, if the data is in one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(p) => Some(p),
            Location::Postgres(_) => None,
        }
    }

    /// For logs: the path, or the URL without its password.
    pub fn display(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => redact(url),
        }
    }
}

impl std::str::FromStr for Location {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Ok(Location::parse(s))
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Self {
        Location::Sqlite(p.to_owned())
    }
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Self {
        Location::Sqlite(p)
    }
}

impl From<&Location> for Location {
    fn from(l: &Location) -> Self {
        l.clone()
    }
}

impl From<&PathBuf> for Location {
    fn from(p: &PathBuf) -> Self {
        Location::Sqlite(p.clone())
    }
}

/// A URL's password replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// An error of either engine, or of reading a value as the wrong type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", pg_message(.0))]
    Postgres(#[from] postgres::Error),
    #[error("query returned no rows")]
    QueryReturnedNoRows,
    #[error("column {0}: {1}")]
    Type(usize, String),
    #[error("{0}")]
    Other(String),
}

/// PostgreSQL's own words for an error (its `Display` says only "db error").
fn pg_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut m = format!("{} ({})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                m.push_str(": ");
                m.push_str(detail);
            }
            m
        }
        None => e.to_string(),
    }
}

impl Error {
    /// A unique, primary key, foreign key, check or not-null constraint refused the write.
    pub fn is_constraint(&self) -> bool {
        match self {
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::ConstraintViolation
            }
            Error::Postgres(e) => e.code().is_some_and(|c| c.code().starts_with("23")),
            _ => false,
        }
    }

    /// A unique or primary key constraint refused the write.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            }
            Error::Postgres(e) => e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION),
            _ => false,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `optional()` on a single-row query: no row is `None`, as in rusqlite.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::QueryReturnedNoRows) => Ok(None),
            Err(Error::Sqlite(rusqlite::Error::QueryReturnedNoRows)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A value passed to or read from either engine.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// A Rust value that can be a statement's parameter.
pub trait ToSql {
    fn to_value(&self) -> Value;
}

macro_rules! to_sql_int {
    ($($t:ty),*) => {$(
        impl ToSql for $t {
            fn to_value(&self) -> Value {
                Value::Int(*self as i64)
            }
        }
    )*};
}
to_sql_int!(i64, i32, i16, i8, u32, u16, u8, usize, u64);

impl ToSql for bool {
    fn to_value(&self) -> Value {
        Value::Int(*self as i64)
    }
}
impl ToSql for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}
impl ToSql for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}
impl ToSql for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl ToSql for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}
impl ToSql for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}
impl ToSql for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}
impl<T: ToSql> ToSql for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
}
impl<T: ToSql + ?Sized> ToSql for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToSql + ?Sized> ToSql for Box<T> {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToSql + ?Sized> ToSql for std::rc::Rc<T> {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}
impl<T: ToSql + ?Sized> ToSql for Arc<T> {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

/// A statement's parameters: `params![…]`, an array of one type, or `()`.
pub trait Params {
    fn values(self) -> Vec<Value>;
}

impl Params for () {
    fn values(self) -> Vec<Value> {
        Vec::new()
    }
}
impl Params for &[&dyn ToSql] {
    fn values(self) -> Vec<Value> {
        self.iter().map(|p| p.to_value()).collect()
    }
}
impl<T: ToSql, const N: usize> Params for [T; N] {
    fn values(self) -> Vec<Value> {
        self.iter().map(|p| p.to_value()).collect()
    }
}
impl<T: ToSql, const N: usize> Params for &[T; N] {
    fn values(self) -> Vec<Value> {
        self.iter().map(|p| p.to_value()).collect()
    }
}
impl Params for Vec<Value> {
    fn values(self) -> Vec<Value> {
        self
    }
}

/// Parameters of any types: `params![a, b, c]`.
#[macro_export]
macro_rules! sql_params {
    () => {
        &[] as &[&dyn $crate::store::sql::ToSql]
    };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::store::sql::ToSql),+] as &[&dyn $crate::store::sql::ToSql]
    };
}
pub use crate::sql_params as params;

/// A column value read as a Rust value.
pub trait FromSql: Sized {
    fn from_value(v: Value) -> std::result::Result<Self, String>;
}

macro_rules! from_sql_int {
    ($($t:ty),*) => {$(
        impl FromSql for $t {
            fn from_value(v: Value) -> std::result::Result<Self, String> {
                match v {
                    Value::Int(i) => <$t>::try_from(i).map_err(|_| format!("{i} is out of range")),
                    other => Err(format!("{other:?} is not an integer")),
                }
            }
        }
    )*};
}
from_sql_int!(i64, i32, u32, u16, u8, usize, u64);

impl FromSql for bool {
    fn from_value(v: Value) -> std::result::Result<Self, String> {
        match v {
            Value::Int(i) => Ok(i != 0),
            other => Err(format!("{other:?} is not a boolean")),
        }
    }
}
impl FromSql for f64 {
    fn from_value(v: Value) -> std::result::Result<Self, String> {
        match v {
            Value::Real(f) => Ok(f),
            Value::Int(i) => Ok(i as f64),
            other => Err(format!("{other:?} is not a number")),
        }
    }
}
impl FromSql for String {
    fn from_value(v: Value) -> std::result::Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s),
            other => Err(format!("{other:?} is not text")),
        }
    }
}
impl FromSql for Vec<u8> {
    fn from_value(v: Value) -> std::result::Result<Self, String> {
        match v {
            Value::Blob(b) => Ok(b),
            Value::Text(s) => Ok(s.into_bytes()),
            other => Err(format!("{other:?} is not bytes")),
        }
    }
}
impl FromSql for Value {
    fn from_value(v: Value) -> std::result::Result<Self, String> {
        Ok(v)
    }
}
impl<T: FromSql> FromSql for Option<T> {
    fn from_value(v: Value) -> std::result::Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// A column by position or by name.
pub trait RowIndex {
    fn index(&self, row: &Row<'_>) -> Result<usize>;
}
impl RowIndex for usize {
    fn index(&self, _: &Row<'_>) -> Result<usize> {
        Ok(*self)
    }
}
impl RowIndex for &str {
    fn index(&self, row: &Row<'_>) -> Result<usize> {
        let found = match row {
            Row::Lite(r) => r.as_ref().column_index(self).ok(),
            Row::Pg(r) => r.columns().iter().position(|c| c.name() == *self),
        };
        found.ok_or_else(|| Error::Other(format!("no column named {self}")))
    }
}

/// One row of a result.
pub enum Row<'a> {
    Lite(&'a rusqlite::Row<'a>),
    Pg(&'a postgres::Row),
}

impl Row<'_> {
    /// The column `idx` as a `T`.
    pub fn get<I: RowIndex, T: FromSql>(&self, idx: I) -> Result<T> {
        let i = idx.index(self)?;
        T::from_value(self.value(i)?).map_err(|e| Error::Type(i, e))
    }

    /// The text column `i`, borrowed from the row (no copy).
    pub fn get_str(&self, i: usize) -> Result<&str> {
        match self {
            Row::Lite(r) => r
                .get_ref(i)?
                .as_str()
                .map_err(|e| Error::Type(i, e.to_string())),
            Row::Pg(r) => Ok(r.try_get::<_, &str>(i)?),
        }
    }

    fn value(&self, i: usize) -> Result<Value> {
        match self {
            Row::Lite(r) => Ok(match r.get_ref(i)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(n) => Value::Int(n),
                rusqlite::types::ValueRef::Real(f) => Value::Real(f),
                rusqlite::types::ValueRef::Text(t) => {
                    Value::Text(String::from_utf8_lossy(t).into_owned())
                }
                rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            }),
            Row::Pg(r) => {
                let PgValue(v) = r.try_get(i)?;
                Ok(v)
            }
        }
    }
}

/// A PostgreSQL column read as a [`Value`], whatever its integer width;
/// `NUMERIC` (a `SUM` of integers) as an integer when it has no fraction.
struct PgValue(Value);

impl<'a> PgFromSql<'a> for PgValue {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(PgValue(match *ty {
            Type::BOOL => Value::Int(bool::from_sql(ty, raw)? as i64),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)? as i64),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)? as i64),
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::OID => Value::Int(u32::from_sql(ty, raw)? as i64),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)? as f64),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::NUMERIC => numeric(raw)?,
            Type::BYTEA => Value::Blob(raw.to_vec()),
            _ => Value::Text(String::from_sql(ty, raw)?),
        }))
    }

    fn from_sql_null(
        _: &Type,
    ) -> std::result::Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(PgValue(Value::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// PostgreSQL's binary NUMERIC: digit count, weight, sign, scale, then
/// base-10000 digits.
fn numeric(raw: &[u8]) -> std::result::Result<Value, Box<dyn std::error::Error + Sync + Send>> {
    let word = |i: usize| -> std::result::Result<u16, Box<dyn std::error::Error + Sync + Send>> {
        raw.get(i * 2..i * 2 + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "a short NUMERIC".into())
    };
    let (ndigits, weight, sign, scale) = (word(0)?, word(1)? as i16, word(2)?, word(3)?);
    if sign == 0xC000 {
        return Ok(Value::Real(f64::NAN));
    }
    let mut whole: i128 = 0;
    let mut fraction = 0f64;
    // Digits before the point: weight + 1 of them (zeros past the stored ones).
    let before = (weight as i32 + 1).max(0) as usize;
    for i in 0..before {
        let digit = if i < ndigits as usize {
            word(4 + i)?
        } else {
            0
        };
        whole = whole
            .checked_mul(10_000)
            .and_then(|w| w.checked_add(digit as i128))
            .ok_or("a NUMERIC too large")?;
    }
    for i in before..ndigits as usize {
        fraction += word(4 + i)? as f64 * 10_000f64.powi(weight as i32 - i as i32);
    }
    let negative = sign == 0x4000;
    if scale == 0 || fraction == 0.0 {
        let v = i64::try_from(whole).map_err(|_| "a NUMERIC too large")?;
        Ok(Value::Int(if negative { -v } else { v }))
    } else {
        let v = whole as f64 + fraction;
        Ok(Value::Real(if negative { -v } else { v }))
    }
}

impl PgToSql for Value {
    /// Written as the type the server expects for the parameter: an integer
    /// into a `BIGINT`, `INTEGER` or `BOOLEAN`, text or a number into `TEXT`.
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut postgres_types::private::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match (self, ty) {
            (Value::Null, _) => Ok(IsNull::Yes),
            (Value::Int(i), &Type::INT8) => i.to_sql(ty, out),
            (Value::Int(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            (Value::Int(i), &Type::BOOL) => (*i != 0).to_sql(ty, out),
            (Value::Int(i), &Type::FLOAT8) => (*i as f64).to_sql(ty, out),
            (Value::Int(i), &Type::FLOAT4) => (*i as f32).to_sql(ty, out),
            (Value::Int(i), _) => i.to_string().to_sql(&Type::TEXT, out),
            (Value::Real(f), &Type::FLOAT4) => (*f as f32).to_sql(ty, out),
            (Value::Real(f), &Type::FLOAT8) => f.to_sql(ty, out),
            (Value::Real(f), _) => f.to_string().to_sql(&Type::TEXT, out),
            (Value::Text(s), &Type::BYTEA) => s.as_bytes().to_sql(ty, out),
            (Value::Text(s), &Type::INT8) => s.parse::<i64>()?.to_sql(ty, out),
            (Value::Text(s), &Type::INT4) => s.parse::<i32>()?.to_sql(ty, out),
            (Value::Text(s), _) => s.as_str().to_sql(&Type::TEXT, out),
            (Value::Blob(b), _) => b.as_slice().to_sql(&Type::BYTEA, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres_types::to_sql_checked!();
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

/// How a transaction begins: `Immediate` writes after reading and must run
/// alone (SQLite's write lock; an advisory lock on PostgreSQL).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionBehavior {
    Deferred,
    Immediate,
}

/// The advisory lock every immediate transaction takes on PostgreSQL.
const WRITE_LOCK: i64 = 0x4669_656c_6462; // "Fieldb"

/// A PostgreSQL connection. The client lives on a thread of its own, which
/// runs each statement sent to it: the `postgres` crate drives its socket with
/// a runtime of its own, which must not start on a thread of the server's
/// runtime (the CLI, start-up). A caller waits for the answer as it would for
/// SQLite's file.
pub struct Pg {
    jobs: std::sync::mpsc::Sender<PgJob>,
    /// The number of the connection now open (see [`Connection::generation`]).
    generation: Arc<std::sync::atomic::AtomicU64>,
    statements: RefCell<HashMap<String, Prepared>>,
    /// Each table's primary key, for `INSERT OR REPLACE`.
    keys: RefCell<Option<Arc<PrimaryKeys>>>,
}

type PgJob = Box<dyn FnOnce(&mut PgClient) + Send>;

/// Each table's primary key columns, in order.
type PrimaryKeys = HashMap<String, Vec<String>>;

/// What runs a prepared statement with its parameters (`execute` or `query`).
type PgCall<T> = fn(
    &mut postgres::Client,
    &postgres::Statement,
    &[&(dyn PgToSql + Sync)],
) -> std::result::Result<T, postgres::Error>;

/// A statement prepared on connection number `generation`, and its text to
/// prepare it again on a later one.
#[derive(Clone)]
pub struct Prepared {
    generation: u64,
    stmt: postgres::Statement,
    text: Arc<str>,
}

/// The client on its thread, connected again when its connection closed.
struct PgClient {
    url: String,
    client: Option<postgres::Client>,
    /// Bumped on each new connection: statements prepared on an earlier one are gone.
    generation: u64,
    shared_generation: Arc<std::sync::atomic::AtomicU64>,
}

impl PgClient {
    /// The client, and the number of its connection.
    fn client(&mut self) -> Result<(&mut postgres::Client, u64)> {
        if self.client.as_ref().is_some_and(|c| c.is_closed()) {
            self.client = None;
        }
        let generation = &mut self.generation;
        let client = match &mut self.client {
            Some(c) => c,
            empty => {
                let mut fresh = postgres::Client::connect(&self.url, postgres::NoTls)?;
                // Notices ("already exists, skipping") are not the server's news.
                fresh.batch_execute("SET client_min_messages = warning")?;
                *generation += 1;
                self.shared_generation
                    .store(*generation, std::sync::atomic::Ordering::SeqCst);
                empty.insert(fresh)
            }
        };
        Ok((client, *generation))
    }
}

impl Pg {
    fn connect(url: &str) -> Result<Pg> {
        let (jobs, rx) = std::sync::mpsc::channel::<PgJob>();
        let generation = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut client = PgClient {
            url: url.to_string(),
            client: None,
            generation: 0,
            shared_generation: generation.clone(),
        };
        std::thread::Builder::new()
            .name("postgres".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    job(&mut client);
                }
            })
            .map_err(|e| Error::Other(format!("cannot start the PostgreSQL thread: {e}")))?;
        let pg = Pg {
            jobs,
            generation,
            statements: RefCell::new(HashMap::new()),
            keys: RefCell::new(None),
        };
        pg.run(|c| c.client().map(|_| ()))?;
        Ok(pg)
    }

    /// Runs `f` on the client's thread and waits for its answer.
    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut PgClient) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.jobs
            .send(Box::new(move |c| {
                let _ = tx.send(f(c));
            }))
            .map_err(|_| Error::Other("the PostgreSQL thread has stopped".into()))?;
        rx.recv()
            .map_err(|_| Error::Other("the PostgreSQL thread has stopped".into()))?
    }

    /// Runs `f` with the connected client.
    fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut postgres::Client) -> std::result::Result<T, postgres::Error>
        + Send
        + 'static,
    ) -> Result<T> {
        self.run(move |c| Ok(f(c.client()?.0)?))
    }

    /// A statement prepared once per connection (translated from SQLite's dialect).
    fn prepare(&self, sql: &str) -> Result<Prepared> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let text: Arc<str> = translate(sql, &|table| self.primary_key(table))?.into();
        let prepared = self.run({
            let text = text.clone();
            move |c| {
                let (client, generation) = c.client()?;
                let stmt = client.prepare(&text)?;
                Ok(Prepared {
                    generation,
                    stmt,
                    text,
                })
            }
        })?;
        self.statements
            .borrow_mut()
            .insert(sql.to_string(), prepared.clone());
        Ok(prepared)
    }

    /// Runs a prepared statement, preparing it again first if the connection
    /// was opened anew since (a restarted database).
    fn statement<T: Send + 'static>(
        &self,
        sql: &str,
        prepared: &mut Prepared,
        values: Vec<Value>,
        f: PgCall<T>,
    ) -> Result<T> {
        let mut p = prepared.clone();
        let (result, p) = self.run(move |c| {
            let (client, generation) = c.client()?;
            if p.generation != generation {
                p.stmt = client.prepare(&p.text)?;
                p.generation = generation;
            }
            let refs: Vec<&(dyn PgToSql + Sync)> =
                values.iter().map(|v| v as &(dyn PgToSql + Sync)).collect();
            Ok((f(client, &p.stmt, &refs), p))
        })?;
        if p.generation != prepared.generation {
            *prepared = p.clone();
            self.statements.borrow_mut().insert(sql.to_string(), p);
        }
        Ok(result?)
    }

    fn primary_key(&self, table: &str) -> Result<Vec<String>> {
        if self.keys.borrow().is_none() {
            let rows = self.with(|c| {
                c.query(
                    "SELECT tc.table_name::text, kcu.column_name::text
                     FROM information_schema.table_constraints tc
                     JOIN information_schema.key_column_usage kcu
                       ON tc.constraint_name = kcu.constraint_name
                      AND tc.table_schema = kcu.table_schema
                     WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema()
                     ORDER BY tc.table_name, kcu.ordinal_position",
                    &[],
                )
            })?;
            let mut keys: HashMap<String, Vec<String>> = HashMap::new();
            for r in rows {
                keys.entry(r.get(0)).or_default().push(r.get(1));
            }
            *self.keys.borrow_mut() = Some(Arc::new(keys));
        }
        self.keys
            .borrow()
            .as_ref()
            .and_then(|k| k.get(table).cloned())
            .ok_or_else(|| {
                Error::Other(format!(
                    "INSERT OR REPLACE into {table}, which has no primary key"
                ))
            })
    }
}

enum Engine {
    Lite(rusqlite::Connection),
    Pg(Box<Pg>),
}

/// A connection to either engine.
pub struct Connection {
    engine: Engine,
}

impl Connection {
    /// Opens a connection to `location` (the file is created when missing).
    pub fn open(location: &Location) -> Result<Connection> {
        match location {
            Location::Sqlite(path) => Ok(Connection {
                engine: Engine::Lite(rusqlite::Connection::open(path)?),
            }),
            Location::Postgres(url) => Ok(Connection {
                engine: Engine::Pg(Box::new(Pg::connect(url)?)),
            }),
        }
    }

    /// A private SQLite database in memory (tests).
    pub fn open_in_memory() -> Result<Connection> {
        Ok(Connection {
            engine: Engine::Lite(rusqlite::Connection::open_in_memory()?),
        })
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.engine, Engine::Pg(_))
    }

    /// Which connection to the server this is: PostgreSQL's changes when a
    /// lost connection was opened again (what a session held, such as an
    /// advisory lock, is then gone). Always 0 on SQLite.
    pub fn generation(&self) -> u64 {
        match &self.engine {
            Engine::Lite(_) => 0,
            Engine::Pg(pg) => pg.generation.load(std::sync::atomic::Ordering::SeqCst),
        }
    }

    /// The SQLite connection, for what only SQLite has (pragmas, the busy handler).
    pub fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.engine {
            Engine::Lite(c) => Some(c),
            Engine::Pg(_) => None,
        }
    }

    /// Runs statements separated by `;`, without parameters.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.engine {
            Engine::Lite(c) => Ok(c.execute_batch(sql)?),
            Engine::Pg(pg) => {
                let sql = sql.to_string();
                pg.with(move |c| c.batch_execute(&sql))
            }
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    /// The first row of a query, or [`Error::QueryReturnedNoRows`].
    pub fn query_row<T, P: Params, F: FnOnce(&Row<'_>) -> Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        self.prepare_cached(sql)
    }

    /// A statement, prepared once per connection.
    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        match &self.engine {
            Engine::Lite(c) => Ok(Statement::Lite(c.prepare_cached(sql)?)),
            Engine::Pg(pg) => Ok(Statement::Pg(pg, sql.to_string(), pg.prepare(sql)?)),
        }
    }

    /// A deferred transaction.
    pub fn transaction(&mut self) -> Result<Transaction<'_>> {
        self.transaction_with_behavior(TransactionBehavior::Deferred)
    }

    pub fn transaction_with_behavior(
        &mut self,
        behavior: TransactionBehavior,
    ) -> Result<Transaction<'_>> {
        match (&self.engine, behavior) {
            (Engine::Lite(c), TransactionBehavior::Deferred) => {
                c.execute_batch("BEGIN DEFERRED")?
            }
            (Engine::Lite(c), TransactionBehavior::Immediate) => {
                c.execute_batch("BEGIN IMMEDIATE")?
            }
            (Engine::Pg(pg), TransactionBehavior::Deferred) => {
                pg.with(|c| c.batch_execute("BEGIN"))?
            }
            (Engine::Pg(pg), TransactionBehavior::Immediate) => pg.with(|c| {
                c.batch_execute(&format!(
                    "BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"
                ))
            })?,
        }
        Ok(Transaction {
            conn: self,
            done: false,
        })
    }
}

/// A prepared statement.
pub enum Statement<'c> {
    Lite(rusqlite::CachedStatement<'c>),
    Pg(&'c Pg, String, Prepared),
}

/// Rows read by [`Statement::query`], one at a time.
pub enum Rows<'s> {
    Lite(rusqlite::Rows<'s>),
    Pg(std::vec::IntoIter<postgres::Row>, Option<postgres::Row>),
}

impl Rows<'_> {
    #[allow(clippy::should_implement_trait)] // rusqlite's name: a row borrows the cursor
    pub fn next(&mut self) -> Result<Option<Row<'_>>> {
        match self {
            Rows::Lite(rows) => Ok(rows.next()?.map(Row::Lite)),
            Rows::Pg(rows, current) => {
                *current = rows.next();
                Ok(current.as_ref().map(Row::Pg))
            }
        }
    }
}

impl Statement<'_> {
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        let values = params.values();
        match self {
            Statement::Lite(s) => Ok(s.execute(rusqlite::params_from_iter(values.iter()))?),
            Statement::Pg(pg, sql, p) => {
                Ok(pg.statement(sql, p, values, |c, s, v| c.execute(s, v))? as usize)
            }
        }
    }

    pub fn query<P: Params>(&mut self, params: P) -> Result<Rows<'_>> {
        let values = params.values();
        match self {
            Statement::Lite(s) => Ok(Rows::Lite(s.query(rusqlite::params_from_iter(values))?)),
            Statement::Pg(pg, sql, p) => {
                let rows = pg.statement(sql, p, values, |c, s, v| c.query(s, v))?;
                Ok(Rows::Pg(rows.into_iter(), None))
            }
        }
    }

    pub fn query_row<T, P: Params, F: FnOnce(&Row<'_>) -> Result<T>>(
        &mut self,
        params: P,
        f: F,
    ) -> Result<T> {
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(r) => f(&r),
            None => Err(Error::QueryReturnedNoRows),
        }
    }

    /// Every row mapped by `f`: collect it as `Result<Vec<_>>`.
    pub fn query_map<T, P: Params, F: FnMut(&Row<'_>) -> Result<T>>(
        &mut self,
        params: P,
        mut f: F,
    ) -> Result<std::vec::IntoIter<Result<T>>> {
        let mut rows = self.query(params)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(f(&r));
        }
        Ok(out.into_iter())
    }

    /// Whether the query returns any row.
    pub fn exists<P: Params>(&mut self, params: P) -> Result<bool> {
        let mut rows = self.query(params)?;
        Ok(rows.next()?.is_some())
    }
}

/// A transaction; rolled back when dropped without [`Transaction::commit`].
pub struct Transaction<'c> {
    conn: &'c mut Connection,
    done: bool,
}

impl Transaction<'_> {
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        self.conn.execute_batch("COMMIT")
    }

    pub fn rollback(mut self) -> Result<()> {
        self.done = true;
        self.conn.execute_batch("ROLLBACK")
    }
}

impl std::ops::Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.done
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
        {
            tracing::error!(error = %e, "a transaction could not be rolled back");
        }
    }
}

/// A statement in SQLite's dialect, rewritten for PostgreSQL (module docs).
/// `primary_key` names a table's primary key columns.
fn translate(sql: &str, primary_key: &dyn Fn(&str) -> Result<Vec<String>>) -> Result<String> {
    let mut out = placeholders(sql);
    out = out.replace("LIMIT -1", "LIMIT ALL");
    if let Some(at) = out.find("INSERT OR IGNORE INTO") {
        out.replace_range(at..at + "INSERT OR IGNORE INTO".len(), "INSERT INTO");
        out = append_conflict(&out, "ON CONFLICT DO NOTHING");
    } else if let Some(at) = out.find("INSERT OR REPLACE INTO") {
        out.replace_range(at..at + "INSERT OR REPLACE INTO".len(), "INSERT INTO");
        let rest = &out[at + "INSERT INTO".len()..];
        let (table, cols) = rest
            .split_once('(')
            .and_then(|(t, cols)| cols.split_once(')').map(|(c, _)| (t.trim(), c)))
            .ok_or_else(|| Error::Other(format!("INSERT OR REPLACE without columns: {sql}")))?;
        let key = primary_key(table)?;
        let set: Vec<String> = cols
            .split(',')
            .map(|c| c.trim().to_string())
            .filter(|c| !key.contains(c))
            .map(|c| format!("{c} = EXCLUDED.{c}"))
            .collect();
        let clause = if set.is_empty() {
            format!("ON CONFLICT ({}) DO NOTHING", key.join(", "))
        } else {
            format!(
                "ON CONFLICT ({}) DO UPDATE SET {}",
                key.join(", "),
                set.join(", ")
            )
        };
        out = append_conflict(&out, &clause);
    }
    Ok(out)
}

/// `clause` added at the end of an INSERT, before any RETURNING.
fn append_conflict(sql: &str, clause: &str) -> String {
    let body = sql.trim_end().trim_end_matches(';');
    match body.find("RETURNING") {
        Some(at) => format!("{} {clause} {}", &body[..at], &body[at..]),
        None => format!("{body} {clause}"),
    }
}

/// `?N` → `$N` and `?` → `$k`, outside quoted strings and names.
fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    let mut next = 0;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    next += 1;
                    out.push_str(&format!("${next}"));
                } else {
                    next = next.max(digits.parse().unwrap_or(0));
                    out.push('$');
                    out.push_str(&digits);
                }
            }
            None => out.push(c),
        }
    }
    out
}

/// SQLite's schema text in PostgreSQL's types: integers are `BIGINT` (a
/// rowid-alias key an identity), bytes `BYTEA`, text compared byte by byte
/// (`COLLATE "C"`, as SQLite does, so orders and key ranges agree).
pub fn pg_schema(sqlite: &str) -> String {
    let mut out = String::with_capacity(sqlite.len() * 5 / 4);
    for line in sqlite.lines() {
        let (code, comment) = match line.find("--") {
            Some(at) => (&line[..at], &line[at..]),
            None => (line, ""),
        };
        let code = code.replace("WITHOUT ROWID", "").replace(
            "INTEGER PRIMARY KEY",
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        );
        let code = words(
            &code,
            &[
                ("INTEGER", "BIGINT"),
                ("BLOB", "BYTEA"),
                ("REAL", "DOUBLE PRECISION"),
                ("TEXT", "TEXT COLLATE \"C\""),
            ],
        );
        out.push_str(&code);
        let _ = comment;
        out.push('\n');
    }
    out
}

/// Whole-word replacements outside quoted strings.
fn words(s: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(s.len());
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let flush = |word: &mut String, out: &mut String| {
        let replaced = pairs.iter().find(|(from, _)| *from == word.as_str());
        out.push_str(replaced.map(|(_, to)| *to).unwrap_or(word));
        word.clear();
    };
    for c in s.chars() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        flush(&mut word, &mut out);
        if c == '\'' || c == '"' {
            quote = Some(c);
        }
        out.push(c);
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(table: &str) -> Result<Vec<String>> {
        Ok(match table {
            "visit_index" => vec!["doc_id".into(), "visit_id".into()],
            "pairs" => vec!["a".into(), "b".into()],
            _ => vec!["doc_id".into()],
        })
    }

    #[test]
    fn statements_are_rewritten_for_postgres() {
        assert_eq!(
            translate("SELECT x FROM t WHERE a = ?1 AND b = ?2 OR c = '?1'", &keys).unwrap(),
            "SELECT x FROM t WHERE a = $1 AND b = $2 OR c = '?1'"
        );
        assert_eq!(translate("SELECT ? , ?", &keys).unwrap(), "SELECT $1 , $2");
        assert_eq!(
            translate(
                "INSERT OR IGNORE INTO dirty_docs (doc_id) VALUES (?1)",
                &keys
            )
            .unwrap(),
            "INSERT INTO dirty_docs (doc_id) VALUES ($1) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            translate(
                "INSERT OR REPLACE INTO visit_index (doc_id, visit_id, date) VALUES (?1, ?2, ?3)",
                &keys
            )
            .unwrap(),
            "INSERT INTO visit_index (doc_id, visit_id, date) VALUES ($1, $2, $3) \
             ON CONFLICT (doc_id, visit_id) DO UPDATE SET date = EXCLUDED.date"
        );
        assert_eq!(
            translate("INSERT OR REPLACE INTO pairs (a, b) VALUES (?1, ?2)", &keys).unwrap(),
            "INSERT INTO pairs (a, b) VALUES ($1, $2) ON CONFLICT (a, b) DO NOTHING"
        );
        assert_eq!(
            translate("SELECT a FROM t LIMIT -1 OFFSET ?2", &keys).unwrap(),
            "SELECT a FROM t LIMIT ALL OFFSET $2"
        );
    }

    #[test]
    fn the_schema_is_written_in_postgres_types() {
        let pg = pg_schema(
            "CREATE TABLE t (\n id INTEGER PRIMARY KEY,\n n INTEGER NOT NULL DEFAULT 0, -- INTEGER\n b BLOB,\n s TEXT NOT NULL DEFAULT 'TEXT'\n) WITHOUT ROWID;",
        );
        assert_eq!(
            pg,
            "CREATE TABLE t (\n id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,\n n BIGINT NOT NULL DEFAULT 0, \n b BYTEA,\n s TEXT COLLATE \"C\" NOT NULL DEFAULT 'TEXT'\n) ;\n"
        );
    }

    #[test]
    fn numerics_are_read_as_integers_when_whole() {
        // 12345678: ndigits 2, weight 1, sign +, scale 0, digits 1234 5678.
        let raw: Vec<u8> = [2u16, 1, 0, 0, 1234, 5678]
            .iter()
            .flat_map(|w| w.to_be_bytes())
            .collect();
        assert_eq!(numeric(&raw).unwrap(), Value::Int(12_345_678));
        let neg: Vec<u8> = [1u16, 0, 0x4000, 0, 42]
            .iter()
            .flat_map(|w| w.to_be_bytes())
            .collect();
        assert_eq!(numeric(&neg).unwrap(), Value::Int(-42));
        // 1.5: digits 1, 5000 with weight 0, scale 1.
        let half: Vec<u8> = [2u16, 0, 0, 1, 1, 5000]
            .iter()
            .flat_map(|w| w.to_be_bytes())
            .collect();
        assert_eq!(numeric(&half).unwrap(), Value::Real(1.5));
        // Zero: no digits.
        assert_eq!(numeric(&[0, 0, 0, 0, 0, 0, 0, 0]).unwrap(), Value::Int(0));
    }

    #[test]
    fn a_password_is_not_shown() {
        assert_eq!(
            Location::parse("postgres://fb:secret@db:5432/fb").display(),
            "postgres://fb:***@db:5432/fb"
        );
        assert_eq!(
            Location::parse("sqlite:/var/fb.db"),
            Location::Sqlite("/var/fb.db".into())
        );
        assert_eq!(Location::parse("fb.db"), Location::Sqlite("fb.db".into()));
    }
}
