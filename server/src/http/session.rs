//! `/api/login`, `/api/logout`, `/api/me`: sessions and who is signed in.

use crate::store::sql::OptionalExtension;
use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::response::{AppendHeaders, IntoResponse};
use axum::routing::{get, post};
use fieldbook_shared::api::{LoginRequest, LoginResponse, Me};

use super::openapi::{Endpoint, NO, ep, object, schema};
use crate::auth::{self, AuthUser, COOKIE, SESSION_DAYS};
use crate::error::ServerError;
use crate::projection::books;
use crate::state::AppState;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("post", "/api/login", "Sign in; the answer carries the token and the peer id to use on /sync", false, NO, Some(schema::<LoginRequest>), schema::<LoginResponse>, post(login)),
        ep("post", "/api/logout", "End this session (its websocket closes)", true, NO, None, object, post(logout)),
        ep("get", "/api/me", "The signed-in user, their book and the shared warning list", true, NO, None, schema::<Me>, get(me)),
        ep("post", "/api/device-key", "This user's escrow key for one of their devices (made on first ask): the tablet's local key is also kept wrapped under it, so a changed password does not lock the tablet out of its own data", true, NO, Some(schema::<DeviceKeyRequest>), schema::<DeviceKey>, post(device_key)),
    ]
}

/// `POST /api/login`: a token, the session's sync peer id and a session cookie.
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Json(req): Json<LoginRequest>,
) -> Result<impl IntoResponse, ServerError> {
    let now = std::time::Instant::now();
    if let Some(wait) = state.throttle.check(&req.username, addr, now) {
        return Err(ServerError::Throttled(wait.as_secs_f64().ceil() as u64));
    }
    let (token, user, evicted) = match auth::login(&state.db, &req.username, &req.password).await {
        Err(ServerError::Unauthorized(m)) if m == auth::BAD_LOGIN => {
            state.throttle.failed(&req.username, addr, now);
            tracing::info!(user = %req.username.chars().take(64).collect::<String>(), addr = ?addr, "failed login");
            return Err(ServerError::Unauthorized(m));
        }
        other => other?,
    };
    state.throttle.succeeded(&req.username);
    // Sessions beyond the per-user cap were ended: their sockets close.
    for peer in evicted {
        state.acl.unbind_peer(&peer);
    }
    let book = books::ensure(&state, user.id).await?;
    let me = me_of(&state, &user, &book).await?;
    tracing::info!(user = %user.username, peer = %user.peer_id, "login");
    let cookie = format!(
        "{COOKIE}={token}; {}; Max-Age={}",
        state.origins.cookie_flags(),
        SESSION_DAYS * 86_400
    );
    Ok((
        AppendHeaders([(SET_COOKIE, cookie)]),
        Json(LoginResponse {
            token,
            peer_id: user.peer_id,
            user: me,
        }),
    ))
}

/// The client's address, where the server was started with it (`app::start`
/// is; a router used without it gives `None`, and only usernames are throttled).
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// `POST /api/logout`: ends this session.
pub async fn logout(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<impl IntoResponse, ServerError> {
    let peer = user.peer_id.clone();
    state
        .db
        .call(move |c| {
            Ok(c.execute("DELETE FROM sessions WHERE peer_id = ?1", [peer])
                .map(|_| ())?)
        })
        .await?;
    state.acl.unbind_peer(&user.peer_id);
    let cookie = format!("{COOKIE}=; {}; Max-Age=0", state.origins.cookie_flags());
    Ok((
        AppendHeaders([(SET_COOKIE, cookie)]),
        Json(serde_json::json!({"ok": true})),
    ))
}

/// `GET /api/me`.
pub async fn me(State(state): State<AppState>, user: AuthUser) -> Result<Json<Me>, ServerError> {
    let book = match &user.book_doc {
        Some(b) => b.clone(),
        None => books::ensure(&state, user.id).await?,
    };
    Ok(Json(me_of(&state, &user, &book).await?))
}

async fn me_of(state: &AppState, user: &AuthUser, book: &str) -> Result<Me, ServerError> {
    let unit = user.unit.clone();
    let unit_name: Option<String> = state
        .db
        .call(move |c| {
            Ok(
                c.query_row("SELECT name FROM units WHERE code = ?1", [unit], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        })
        .await?;
    Ok(Me {
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        role: user.role.clone(),
        unit: user.unit.clone(),
        unit_name: unit_name.unwrap_or_else(|| user.unit.clone()),
        book_url: books::url_of(book),
        warnings_url: books::url_of(&crate::warnings::ensure_doc(state).await?),
    })
}

/// `POST /api/device-key`: which device.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
pub struct DeviceKeyRequest {
    /// The device's own random id (hex, 16–64 characters).
    pub device: String,
}

/// The escrow key of a user's device.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct DeviceKey {
    /// 32 random bytes, hex.
    pub key: String,
}

/// `POST /api/device-key`: the same key for the same user and device every
/// time (made at the first ask). Only the signed-in user gets their own.
pub async fn device_key(
    State(state): State<AppState>,
    user: AuthUser,
    Json(req): Json<DeviceKeyRequest>,
) -> Result<Json<DeviceKey>, ServerError> {
    let device = req.device.trim().to_ascii_lowercase();
    if !(16..=64).contains(&device.len()) || !device.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ServerError::BadRequest(
            "设备标识应为 16 到 64 位十六进制 / the device id must be 16 to 64 hex digits".into(),
        ));
    }
    let mut fresh = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut fresh);
    let (id, fresh) = (user.id, hex::encode(fresh));
    let key = state
        .db
        .call(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO device_keys (user_id, device, key, created_at) VALUES (?1, ?2, ?3, ?4)",
                crate::sql_params![id, device, fresh, crate::now()],
            )?;
            Ok(c.query_row(
                "SELECT key FROM device_keys WHERE user_id = ?1 AND device = ?2",
                crate::sql_params![id, device],
                |r| r.get::<_, String>(0),
            )?)
        })
        .await?;
    Ok(Json(DeviceKey { key }))
}
