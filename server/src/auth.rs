//! Users, passwords and login sessions; `AuthUser` is the extractor that turns a
//! token (bearer header, `?token=` or the session cookie) into a user.

use crate::store::sql::{Connection, OptionalExtension, params};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use fieldbook_shared::vocab::Role;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::ServerError;
use crate::store::db::Db;

/// The message of a wrong username or password.
pub const BAD_LOGIN: &str = "用户名或密码错误 / wrong username or password";

/// The shortest password accepted for a new user or a reset.
pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MIN_PASSWORD_MESSAGE: &str = "密码至少 8 个字符 / a password needs at least 8 characters";

/// The session cookie's name.
pub const COOKIE: &str = "fieldbook_session";
/// How long a login lasts: a month, so a tablet keeps working offline between visits.
pub const SESSION_DAYS: i64 = 30;

/// An authenticated user.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit: String,
    pub book_doc: Option<String>,
    /// The sync peer id of this session.
    pub peer_id: String,
}

/// Hashes a password with argon2id and a random salt.
pub fn hash_password(password: &str) -> Result<String, ServerError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServerError::Internal(e.to_string()))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| ServerError::Internal(format!("cannot hash password: {e}")))?
        .to_string())
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Checks a username and password; on success opens a session and returns
/// (token, user, the peers of sessions it ended: see [`MAX_SESSIONS_PER_USER`]).
/// Unknown user and wrong password get the same answer, in the
/// same time. The database is read and written in two short calls; the
/// password is hashed between them on a blocking thread, never holding the
/// database (an argon2 check takes tens of milliseconds), and at most
/// `HASHING` checks run at once.
pub async fn login(
    db: &crate::store::db::Db,
    username: &str,
    password: &str,
) -> Result<(String, AuthUser, Vec<String>), ServerError> {
    static HASHING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);
    let name = username.trim().to_string();
    let row: Option<(i64, String, i64)> = db
        .call(move |c| {
            Ok(c.query_row(
                "SELECT id, password_hash, disabled FROM users WHERE username = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
        })
        .await?;
    let _hashing = HASHING
        .acquire()
        .await
        .map_err(|e| ServerError::Internal(e.to_string()))?;
    let (password, hash) = (
        password.to_string(),
        row.as_ref()
            .map_or_else(|| dummy_hash().to_string(), |r| r.1.clone()),
    );
    // An unknown user is checked against a dummy hash: the same time.
    let right = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| ServerError::Internal(format!("password check failed: {e}")))?;
    let Some((user_id, _, disabled)) = row.filter(|_| right) else {
        return Err(ServerError::Unauthorized(BAD_LOGIN.into()));
    };
    if disabled != 0 {
        return Err(ServerError::Unauthorized(
            "该账号已停用 / this account is disabled".into(),
        ));
    }
    db.call(move |c| {
        let (token, _peer_id) = open_session(c, user_id)?;
        let evicted = evict_oldest_sessions(c, user_id)?;
        let user = user_by_token(c, &token)?
            .ok_or_else(|| ServerError::Internal("new session vanished".into()))?;
        Ok((token, user, evicted))
    })
    .await
}

/// Signed-in devices one user may have at once; a login beyond it signs the
/// oldest out (sessions are rows; a script logging in forever must not grow them).
pub const MAX_SESSIONS_PER_USER: usize = 20;

/// Ends a user's sessions beyond the newest [`MAX_SESSIONS_PER_USER`]; returns
/// their peer ids (their sockets must close).
fn evict_oldest_sessions(conn: &Connection, user_id: i64) -> Result<Vec<String>, ServerError> {
    let peers: Vec<String> = conn
        .prepare(
            "SELECT peer_id FROM sessions WHERE user_id = ?1
             ORDER BY created_at DESC, peer_id DESC LIMIT -1 OFFSET ?2",
        )?
        .query_map(params![user_id, MAX_SESSIONS_PER_USER as i64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for p in &peers {
        conn.execute("DELETE FROM sessions WHERE peer_id = ?1", [p])?;
    }
    Ok(peers)
}

/// Opens a session for `user_id` (no password check: callers have done it, or
/// are the benchmarks seeding a database); returns its token and peer id.
pub fn open_session(conn: &Connection, user_id: i64) -> Result<(String, String), ServerError> {
    let token = random_hex(32);
    let peer_id = format!("fb-{}", random_hex(12));
    let expires = chrono::Utc::now() + chrono::Duration::days(SESSION_DAYS);
    let expires = expires.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    conn.execute(
        "INSERT INTO sessions (token_hash, user_id, peer_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_hash(&token), user_id, peer_id, crate::now(), expires],
    )?;
    // Our tablet writes with an actor made of its peer id (shared/src/peer): it is
    // this user's from the start, for the per-field history.
    let actor: String = peer_id.bytes().map(|b| format!("{b:02x}")).collect();
    conn.execute(
        "INSERT OR REPLACE INTO actors (actor, user_id, bound_at) VALUES (?1, ?2, ?3)",
        params![actor, user_id, crate::now()],
    )?;
    Ok((token, peer_id))
}

fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password("not a real password").unwrap_or_default())
}

/// The user of a live session, if the token is valid, unexpired and the user active.
pub fn user_by_token(conn: &Connection, token: &str) -> Result<Option<AuthUser>, ServerError> {
    let now = crate::now();
    let user = conn
        .query_row(
            "SELECT u.id, u.username, u.display_name, u.role, u.unit, u.book_doc, s.peer_id
             FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0",
            params![token_hash(token), now],
            |r| {
                Ok(AuthUser {
                    id: r.get(0)?,
                    username: r.get(1)?,
                    display_name: r.get(2)?,
                    role: Role::parse(&r.get::<_, String>(3)?),
                    unit: r.get(4)?,
                    book_doc: r.get(5)?,
                    peer_id: r.get(6)?,
                })
            },
        )
        .optional()?;
    Ok(user)
}

/// The token a request carries: `Authorization: Bearer`, then `?token=` (on
/// `/sync` only), then the cookie.
pub fn token_of(parts: &Parts) -> Option<String> {
    if let Some(t) = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(t.trim().to_string());
    }
    // In the query only on the sync socket (automerge-repo clients cannot
    // set headers there); a token in a REST URL ends up in logs and history.
    if let Some(q) = parts.uri.query().filter(|_| parts.uri.path() == "/sync") {
        for pair in q.split('&') {
            if let Some(t) = pair.strip_prefix("token=") {
                return Some(t.to_string());
            }
        }
    }
    for header in parts.headers.get_all(axum::http::header::COOKIE) {
        let Ok(s) = header.to_str() else { continue };
        for c in s.split(';') {
            if let Some(t) = c
                .trim()
                .strip_prefix(COOKIE)
                .and_then(|r| r.strip_prefix('='))
            {
                return Some(t.to_string());
            }
        }
    }
    None
}

/// Any state that holds the database can authenticate (`state.rs`).
impl<S: Send + Sync> FromRequestParts<S> for AuthUser
where
    Db: FromRef<S>,
{
    type Rejection = ServerError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Some(token) = token_of(parts) else {
            return Err(ServerError::Unauthorized(
                "请先登录 / please log in: no session token was sent".into(),
            ));
        };
        let found = Db::from_ref(state)
            .call(move |c| {
                let user = user_by_token(c, &token)?;
                let wiped = user.is_none() && is_wiped(c, &token)?;
                Ok((user, wiped))
            })
            .await?;
        match found {
            (Some(user), _) => Ok(user),
            (None, true) => Err(ServerError::Wiped),
            (None, false) => Err(ServerError::Unauthorized(
                "登录已失效 / the session is invalid or has expired; log in again".into(),
            )),
        }
    }
}

/// Whether `token` was the session of a device an administrator wiped.
pub fn is_wiped(c: &Connection, token: &str) -> Result<bool, ServerError> {
    Ok(c.query_row(
        "SELECT EXISTS(SELECT 1 FROM wiped_devices WHERE token_hash = ?1)",
        [token_hash(token)],
        |r| r.get(0),
    )?)
}

/// Wipes the device of session `peer_id`: the session ends and its token is
/// remembered, so the device learns at its next call that it must delete its
/// copy. Answers the user's id, or `None` when there is no such session.
pub fn wipe_device(c: &mut Connection, peer_id: &str, by: i64) -> Result<Option<i64>, ServerError> {
    let tx = c.transaction()?;
    let Some((hash, user)): Option<(String, i64)> = tx
        .query_row(
            "SELECT token_hash, user_id FROM sessions WHERE peer_id = ?1",
            [peer_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
    else {
        return Ok(None);
    };
    tx.execute(
        "INSERT OR REPLACE INTO wiped_devices (token_hash, peer_id, user_id, by_user, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        crate::sql_params![hash, peer_id, user, by, crate::now()],
    )?;
    tx.execute("DELETE FROM sessions WHERE peer_id = ?1", [peer_id])?;
    tx.commit()?;
    Ok(Some(user))
}

/// The wiped device of `token` says it has deleted its copy.
pub fn confirm_wipe(c: &Connection, token: &str) -> Result<bool, ServerError> {
    Ok(c.execute(
        "UPDATE wiped_devices SET confirmed_at = ?2 WHERE token_hash = ?1 AND confirmed_at IS NULL",
        crate::sql_params![token_hash(token), crate::now()],
    )? > 0)
}

/// Adds a unit (its parent must exist) or leaves an existing one as it is.
pub fn add_unit(
    conn: &Connection,
    code: &str,
    name: &str,
    parent: Option<&str>,
) -> Result<(), ServerError> {
    if code.trim().is_empty() {
        return Err(ServerError::BadRequest(
            "单位需要代码 / a unit needs a code".into(),
        ));
    }
    if let Some(p) = parent {
        let exists: bool = conn.query_row(
            "SELECT EXISTS(SELECT 1 FROM units WHERE code = ?1)",
            [p],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(ServerError::BadRequest(format!(
                "上级单位 {p} 不存在，请先添加 / parent unit {p} does not exist; add it first"
            )));
        }
    }
    conn.execute(
        "INSERT OR IGNORE INTO units (code, name, parent) VALUES (?1, ?2, ?3)",
        params![code, name, parent],
    )?;
    Ok(())
}

/// Adds a user; a unit that does not exist yet is created (at the top of the tree).
pub fn add_user(
    conn: &Connection,
    username: &str,
    display_name: &str,
    password: &str,
    role: &Role,
    unit: &str,
) -> Result<i64, ServerError> {
    let username = username.trim();
    if username.is_empty() || username.contains(char::is_whitespace) {
        return Err(ServerError::BadRequest(
            "用户名不能为空，也不能含空格 / a username must be non-empty and contain no spaces"
                .into(),
        ));
    }
    if !role.is_known() {
        return Err(ServerError::BadRequest(format!(
            "没有角色 {role}：可用 manager（客户经理）、head（首席客户经理）或 admin（大客中心） / unknown role {role}: use manager, head or admin"
        )));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ServerError::BadRequest(MIN_PASSWORD_MESSAGE.into()));
    }
    add_unit(conn, unit, unit, None)?;
    let display = if display_name.trim().is_empty() {
        username
    } else {
        display_name.trim()
    };
    conn.query_row(
        "INSERT INTO users (username, display_name, password_hash, role, unit) VALUES (?1, ?2, ?3, ?4, ?5)
         RETURNING id",
        params![username, display, hash_password(password)?, role.as_str(), unit],
        |r| r.get(0),
    )
    .map_err(|e| {
        if e.is_constraint() {
            ServerError::Conflict(format!("用户 {username} 已存在 / user {username} already exists"))
        } else {
            e.into()
        }
    })
}

/// The longest staff number (工号) kept; the operator's are a dozen characters.
pub const MAX_STAFF_NO_CHARS: usize = 32;

/// Sets or clears (an empty number) a user's staff number (工号). Two users
/// cannot share one: an import names a manager by it.
pub fn set_staff_no(conn: &Connection, user_id: i64, staff_no: &str) -> Result<(), ServerError> {
    let staff_no = staff_no.trim();
    if staff_no.chars().count() > MAX_STAFF_NO_CHARS || staff_no.contains(char::is_whitespace) {
        return Err(ServerError::BadRequest(format!(
            "工号不能含空格，最多 {MAX_STAFF_NO_CHARS} 个字符 / a staff number has no spaces and at most {MAX_STAFF_NO_CHARS} characters"
        )));
    }
    let holder: Option<String> = conn
        .query_row(
            "SELECT username FROM users WHERE staff_no = ?1 AND id <> ?2",
            params![staff_no, user_id],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(other) = holder.filter(|_| !staff_no.is_empty()) {
        return Err(ServerError::Conflict(format!(
            "工号 {staff_no} 已属于 {other} / staff number {staff_no} already belongs to {other}"
        )));
    }
    conn.execute(
        "UPDATE users SET staff_no = NULLIF(?2, '') WHERE id = ?1",
        params![user_id, staff_no],
    )?;
    Ok(())
}
