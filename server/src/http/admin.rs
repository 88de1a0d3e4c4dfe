//! The org tree and users, run by the key-account center's admin: units, users
//! (create, disable, reset password, move between units) and their devices.
//! Disabling a user or revoking a device stops its sync at once: its sessions
//! are deleted (tokens refused), its peers unbound (share policy none) and its
//! websockets closed; what it had synced stays on the server.

use crate::store::sql::{Connection, OptionalExtension, params};
use axum::Json;
use axum::extract::{Path, State};
use axum::routing::{delete, get, post};
use fieldbook_shared::api::{SessionRow, Unit, UserRow};
use fieldbook_shared::vocab::Role;
use serde::Deserialize;

use super::openapi::{Endpoint, NO, ep, object, schema};
use crate::acl::UserAcl;
use crate::auth::{self, AuthUser};
use crate::error::ServerError;
use crate::projection::books;
use crate::state::AppState;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("get", "/api/units", "The org tree", true, NO, None, schema::<Vec<Unit>>, get(units)),
        ep("post", "/api/units", "Add a unit (admin)", true, NO, Some(schema::<Unit>), schema::<Unit>, post(add_unit)),
        ep("get", "/api/users", "Users (heads: their subtree; admin: all)", true, NO, None, schema::<Vec<UserRow>>, get(users)),
        ep("post", "/api/users", "Add a user (admin)", true, NO, Some(schema::<NewUser>), schema::<UserRow>, post(add_user)),
        ep("post", "/api/users/{username}", "Disable/enable, reset the password, move or rename a user (admin)", true, NO, Some(schema::<UserChange>), schema::<UserRow>, post(change_user)),
        ep("get", "/api/users/{username}/sessions", "A user's signed-in devices (admin)", true, NO, None, schema::<Vec<SessionRow>>, get(sessions)),
        ep("delete", "/api/sessions/{peer_id}", "Sign one device out at once (admin)", true, NO, None, object, delete(revoke_session)),
        ep("post", "/api/sessions/{peer_id}/wipe", "Wipe a device remotely (admin): signed out at once, and told at its next call to delete its copy", true, NO, None, object, post(wipe_session)),
        ep("post", "/api/wiped", "A wiped device says it has deleted its copy (with the wiped session's token)", false, NO, None, object, post(wiped)),
    ]
}

fn require_admin(user: &AuthUser) -> Result<(), ServerError> {
    if user.role == Role::Admin {
        Ok(())
    } else {
        Err(ServerError::Forbidden(
            "只有大客中心管理员可以管理机构和用户 / only the center's admin manages units and users"
                .into(),
        ))
    }
}

/// `GET /api/units`: the whole tree (every signed-in user may read it).
pub async fn units(
    State(state): State<AppState>,
    _user: AuthUser,
) -> Result<Json<Vec<Unit>>, ServerError> {
    let rows = state
        .db
        .call(|c| {
            let mut stmt = c.prepare("SELECT code, name, parent FROM units ORDER BY code")?;
            let rows = stmt
                .query_map((), |r| {
                    Ok(Unit {
                        code: r.get(0)?,
                        name: r.get(1)?,
                        parent: r.get(2)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await?;
    Ok(Json(rows))
}

/// `POST /api/units` `{"code","name","parent"}`: adds a unit under an existing one.
pub async fn add_unit(
    State(state): State<AppState>,
    user: AuthUser,
    Json(unit): Json<Unit>,
) -> Result<Json<Unit>, ServerError> {
    require_admin(&user)?;
    let Some(parent) = unit.parent.clone().filter(|p| !p.is_empty()) else {
        return Err(ServerError::BadRequest(
            "新单位需要上级单位（大客中心是最上级） / a new unit needs a parent unit (the center is the top)".into(),
        ));
    };
    let u = unit.clone();
    state
        .db
        .call(move |c| {
            let exists: bool = c.query_row(
                "SELECT EXISTS(SELECT 1 FROM units WHERE code = ?1)",
                [&u.code],
                |r| r.get(0),
            )?;
            if exists {
                return Err(ServerError::Conflict(format!(
                    "单位 {0} 已存在 / unit {0} already exists",
                    u.code
                )));
            }
            auth::add_unit(c, u.code.trim(), u.name.trim(), Some(&parent))
        })
        .await?;
    state.acl.set_unit(&unit.code, unit.parent.clone());
    Ok(Json(unit))
}

/// `GET /api/users`: the admin sees everyone, a head the users of their subtree.
pub async fn users(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<UserRow>>, ServerError> {
    if user.role == Role::Manager {
        return Err(ServerError::Forbidden(
            "客户经理不能查看用户列表 / managers do not see the user list".into(),
        ));
    }
    let now = crate::now();
    let rows: Vec<UserRow> = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare(
                "SELECT u.username, u.display_name, u.role, u.unit, u.disabled,
                        (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > ?1),
                        COALESCE(u.staff_no, '')
                 FROM users u ORDER BY u.unit, u.username",
            )?;
            let rows = stmt
                .query_map([now], |r| {
                    Ok(UserRow {
                        username: r.get(0)?,
                        display_name: r.get(1)?,
                        role: Role::parse(&r.get::<_, String>(2)?),
                        unit: r.get(3)?,
                        disabled: r.get::<_, i64>(4)? != 0,
                        sessions: r.get(5)?,
                        staff_no: r.get(6)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await?;
    let rows = rows
        .into_iter()
        .filter(|r| user.role == Role::Admin || state.acl.is_within(&r.unit, &user.unit))
        .collect();
    Ok(Json(rows))
}

/// `POST /api/users` body.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct NewUser {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub password: String,
    pub role: Role,
    pub unit: String,
    /// The staff number (工号), if the org has them.
    #[serde(default)]
    pub staff_no: String,
}

/// `POST /api/users`: adds a user in an existing unit.
pub async fn add_user(
    State(state): State<AppState>,
    user: AuthUser,
    Json(new): Json<NewUser>,
) -> Result<Json<UserRow>, ServerError> {
    require_admin(&user)?;
    let n = new;
    let (unit, role, username) = (
        n.unit.clone(),
        n.role.clone(),
        n.username.trim().to_string(),
    );
    let id = state
        .db
        .call(move |c| {
            require_unit(c, &n.unit)?;
            let tx = c.transaction()?;
            let id = auth::add_user(
                &tx,
                &n.username,
                &n.display_name,
                &n.password,
                &n.role,
                &n.unit,
            )?;
            auth::set_staff_no(&tx, id, &n.staff_no)?;
            tx.commit()?;
            Ok(id)
        })
        .await?;
    state.acl.set_user(
        id,
        UserAcl {
            username: username.clone(),
            role: role.clone(),
            unit: unit.clone(),
            disabled: false,
        },
    );
    books::ensure(&state, id).await?;
    tracing::info!(by = %user.username, user = %username, "user added");
    Ok(Json(row_of(&state, &username).await?))
}

fn require_unit(c: &Connection, unit: &str) -> Result<(), ServerError> {
    let exists: bool = c.query_row(
        "SELECT EXISTS(SELECT 1 FROM units WHERE code = ?1)",
        [unit],
        |r| r.get(0),
    )?;
    if exists {
        Ok(())
    } else {
        Err(ServerError::BadRequest(format!(
            "单位 {unit} 不存在，请先添加 / unit {unit} does not exist; add it first"
        )))
    }
}

async fn row_of(state: &AppState, username: &str) -> Result<UserRow, ServerError> {
    let name = username.to_string();
    let now = crate::now();
    state
        .db
        .call(move |c| {
            c.query_row(
                "SELECT u.username, u.display_name, u.role, u.unit, u.disabled,
                        (SELECT COUNT(*) FROM sessions s WHERE s.user_id = u.id AND s.expires_at > ?2),
                        COALESCE(u.staff_no, '')
                 FROM users u WHERE u.username = ?1",
                params![name, now],
                |r| {
                    Ok(UserRow {
                        username: r.get(0)?,
                        display_name: r.get(1)?,
                        role: Role::parse(&r.get::<_, String>(2)?),
                        unit: r.get(3)?,
                        disabled: r.get::<_, i64>(4)? != 0,
                        sessions: r.get(5)?,
                        staff_no: r.get(6)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| ServerError::NotFound(format!("没有用户 {name} / no user {name}")))
        })
        .await
}

/// `POST /api/users/{username}` body: what to change (each part optional).
#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct UserChange {
    /// true disables (stopping every device at once), false enables again.
    pub disabled: Option<bool>,
    /// A new password; every device must sign in again.
    pub password: Option<String>,
    /// Moves the user to another unit (what they see follows at once).
    pub unit: Option<String>,
    pub display_name: Option<String>,
    /// A new staff number (工号); empty clears it.
    pub staff_no: Option<String>,
}

/// `POST /api/users/{username}`: disable or enable, reset the password, move
/// between units, rename.
pub async fn change_user(
    State(state): State<AppState>,
    user: AuthUser,
    Path(username): Path<String>,
    Json(change): Json<UserChange>,
) -> Result<Json<UserRow>, ServerError> {
    require_admin(&user)?;
    if change.disabled == Some(true) && username == user.username {
        return Err(ServerError::BadRequest(
            "不能停用自己的账号 / you cannot disable your own account".into(),
        ));
    }
    let hash = match &change.password {
        Some(p) if p.chars().count() < crate::auth::MIN_PASSWORD_CHARS => {
            return Err(ServerError::BadRequest(
                crate::auth::MIN_PASSWORD_MESSAGE.into(),
            ));
        }
        Some(p) => Some(auth::hash_password(p)?),
        None => None,
    };
    let name = username.clone();
    let (disabled, unit, display, staff_no) = (
        change.disabled,
        change.unit.clone(),
        change.display_name.clone(),
        change.staff_no.clone(),
    );
    let signed_out_everywhere = disabled == Some(true) || hash.is_some();
    let (id, acl_user, peers) = state
        .db
        .call(move |c| {
            let tx =
                c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
            let id: i64 = tx
                .query_row("SELECT id FROM users WHERE username = ?1", [&name], |r| {
                    r.get(0)
                })
                .optional()?
                .ok_or_else(|| {
                    ServerError::NotFound(format!("没有用户 {name} / no user {name}"))
                })?;
            if let Some(u) = &unit {
                require_unit(&tx, u)?;
                tx.execute("UPDATE users SET unit = ?2 WHERE id = ?1", params![id, u])?;
            }
            if let Some(d) = disabled {
                tx.execute(
                    "UPDATE users SET disabled = ?2 WHERE id = ?1",
                    params![id, d as i64],
                )?;
            }
            if let Some(h) = &hash {
                tx.execute(
                    "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                    params![id, h],
                )?;
            }
            if let Some(n) = display.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                tx.execute(
                    "UPDATE users SET display_name = ?2 WHERE id = ?1",
                    params![id, n],
                )?;
            }
            if let Some(s) = &staff_no {
                auth::set_staff_no(&tx, id, s)?;
            }
            let peers: Vec<String> = if signed_out_everywhere {
                let mut stmt = tx.prepare("SELECT peer_id FROM sessions WHERE user_id = ?1")?;
                let peers = stmt
                    .query_map([id], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                tx.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
                peers
            } else {
                Vec::new()
            };
            let acl_user = tx.query_row(
                "SELECT username, role, unit, disabled FROM users WHERE id = ?1",
                [id],
                |r| {
                    Ok(UserAcl {
                        username: r.get(0)?,
                        role: Role::parse(&r.get::<_, String>(1)?),
                        unit: r.get(2)?,
                        disabled: r.get::<_, i64>(3)? != 0,
                    })
                },
            )?;
            tx.commit()?;
            Ok((id, acl_user, peers))
        })
        .await?;
    // The policy streams and open websockets re-check on this change.
    state.acl.set_user(id, acl_user);
    for p in &peers {
        state.acl.unbind_peer(p);
    }
    if change.unit.is_some() {
        books::refresh_user(&state, id).await?;
    }
    tracing::info!(by = %user.username, user = %username, devices_signed_out = peers.len(), "user changed");
    Ok(Json(row_of(&state, &username).await?))
}

/// `GET /api/users/{username}/sessions`: the user's signed-in devices.
pub async fn sessions(
    State(state): State<AppState>,
    user: AuthUser,
    Path(username): Path<String>,
) -> Result<Json<Vec<SessionRow>>, ServerError> {
    require_admin(&user)?;
    let now = crate::now();
    let rows = state
        .db
        .call(move |c| {
            let mut stmt = c.prepare(
                "SELECT s.peer_id, s.created_at, s.expires_at, '', '' FROM sessions s
                 JOIN users u ON u.id = s.user_id
                 WHERE u.username = ?1 AND s.expires_at > ?2
                 UNION ALL
                 SELECT w.peer_id, '', '', w.at, COALESCE(w.confirmed_at, '') FROM wiped_devices w
                 JOIN users u ON u.id = w.user_id
                 WHERE u.username = ?1
                 ORDER BY 4, 2",
            )?;
            let rows = stmt
                .query_map(params![username, now], |r| {
                    Ok(SessionRow {
                        peer_id: r.get(0)?,
                        created_at: r.get(1)?,
                        expires_at: r.get(2)?,
                        wiped_at: r.get(3)?,
                        wipe_confirmed_at: r.get(4)?,
                    })
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await?;
    Ok(Json(rows))
}

/// `DELETE /api/sessions/{peer_id}`: revokes one device: its token is refused
/// and its websocket closed at once.
pub async fn revoke_session(
    State(state): State<AppState>,
    user: AuthUser,
    Path(peer_id): Path<String>,
) -> Result<Json<serde_json::Value>, ServerError> {
    require_admin(&user)?;
    let peer = peer_id.clone();
    let deleted = state
        .db
        .call(move |c| Ok(c.execute("DELETE FROM sessions WHERE peer_id = ?1", [peer])?))
        .await?;
    if deleted == 0 {
        return Err(ServerError::NotFound(format!(
            "没有这台设备的登录 {peer_id} / no session {peer_id}"
        )));
    }
    state.acl.unbind_peer(&peer_id);
    tracing::info!(by = %user.username, peer = %peer_id, "device revoked");
    Ok(Json(serde_json::json!({"revoked": peer_id})))
}

/// `POST /api/sessions/{peer_id}/wipe`: a lost or stolen tablet. Its session
/// ends at once (its socket closes); its token is remembered, so when it next
/// reaches the server it is told to delete every customer it holds.
pub async fn wipe_session(
    State(state): State<AppState>,
    user: AuthUser,
    Path(peer_id): Path<String>,
) -> Result<Json<serde_json::Value>, ServerError> {
    require_admin(&user)?;
    let (peer, by) = (peer_id.clone(), user.id);
    let wiped = state
        .db
        .call(move |c| crate::auth::wipe_device(c, &peer, by))
        .await?;
    if wiped.is_none() {
        return Err(ServerError::NotFound(format!(
            "没有这台设备的登录 {peer_id} / no session {peer_id}"
        )));
    }
    state.acl.unbind_peer(&peer_id);
    tracing::warn!(by = %user.username, peer = %peer_id, "device wiped remotely");
    Ok(Json(serde_json::json!({"wiped": peer_id})))
}

/// `POST /api/wiped`: the wiped device, with its old token, says its copy is
/// deleted (the console shows when).
pub async fn wiped(
    State(state): State<AppState>,
    parts: axum::http::request::Parts,
) -> Result<Json<serde_json::Value>, ServerError> {
    let Some(token) = crate::auth::token_of(&parts) else {
        return Err(ServerError::Unauthorized(
            "请先登录 / please log in: no session token was sent".into(),
        ));
    };
    let confirmed = state
        .db
        .call(move |c| crate::auth::confirm_wipe(c, &token))
        .await?;
    if !confirmed {
        return Err(ServerError::NotFound(
            "没有待确认的远程清除 / no wipe waits for this device".into(),
        ));
    }
    tracing::info!("a wiped device deleted its copy");
    Ok(Json(serde_json::json!({"confirmed": true})))
}
