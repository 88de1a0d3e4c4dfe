//! The login session, kept in localStorage so a manager who logged in once can
//! open the app offline and work.

use fieldbook_shared::api::{LoginRequest, LoginResponse};

use crate::error::ClientError;

pub const KEY: &str = "fieldbook.session";
const LANG_KEY: &str = "fieldbook.lang";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The saved session, if any.
pub fn load() -> Option<LoginResponse> {
    if crate::wipe::waiting() {
        return None;
    }
    serde_json::from_str(&storage()?.get_item(KEY).ok()??).ok()
}

/// Saves the session: in localStorage (read synchronously at start) and in
/// IndexedDB (committed to disk at once; see [`restore`]).
pub fn save(s: &LoginResponse) {
    // The token is sealed like the data (`keyring.rs`): a copied disk gives
    // no way into the server. Already sealed, it is kept as it is.
    let mut s = s.clone();
    if !s.token.starts_with("fbe1:")
        && let Ok(t) = crate::keyring::seal_text(&s.token)
    {
        s.token = t;
    }
    if let (Some(st), Ok(json)) = (storage(), serde_json::to_string(&s)) {
        let _ = st.set_item(KEY, &json);
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = crate::idb::kv_set(KEY, Some(&json)).await {
                web_sys::console::warn_1(&format!("session not kept in IndexedDB: {e}").into());
            }
        });
    }
}

/// The session kept in IndexedDB, for when localStorage lost it (the browser
/// was killed before writing localStorage to disk); put back in localStorage.
pub async fn restore() -> Option<LoginResponse> {
    if crate::wipe::waiting()
        || crate::idb::kv_get(crate::wipe::MARK)
            .await
            .ok()
            .flatten()
            .is_some()
    {
        return None;
    }
    let json = crate::idb::kv_get(KEY).await.ok()??;
    let s: LoginResponse = serde_json::from_str(&json).ok()?;
    if let Some(st) = storage() {
        let _ = st.set_item(KEY, &json);
    }
    Some(s)
}

/// Forgets the session.
pub fn clear() {
    if let Some(st) = storage() {
        let _ = st.remove_item(KEY);
    }
    wasm_bindgen_futures::spawn_local(async {
        let _ = crate::idb::kv_set(KEY, None).await;
    });
}

/// The chosen language ("en" or default zh).
pub fn lang() -> crate::i18n::Lang {
    match storage()
        .and_then(|s| s.get_item(LANG_KEY).ok().flatten())
        .as_deref()
    {
        Some("en") => crate::i18n::Lang::En,
        _ => crate::i18n::Lang::Zh,
    }
}

/// Remembers the chosen language.
pub fn set_lang(l: crate::i18n::Lang) {
    if let Some(s) = storage() {
        let _ = s.set_item(
            LANG_KEY,
            if l == crate::i18n::Lang::En {
                "en"
            } else {
                "zh"
            },
        );
    }
}

/// `POST /api/login`; the error is a message for the person at the tablet.
pub async fn login(username: &str, password: &str) -> Result<LoginResponse, ClientError> {
    let body = serde_json::to_string(&LoginRequest {
        username: username.into(),
        password: password.into(),
    })
    .map_err(|e| ClientError::Document(e.to_string()))?;
    let (status, text) = crate::http::call("POST", "/api/login", None, Some(body))
        .await
        .map_err(|_| {
            ClientError::Unreachable(
                crate::i18n::t(lang(), crate::i18n::M::LoginNeedsNetwork).to_string(),
            )
        })?;
    if (200..300).contains(&status) {
        serde_json::from_str(&text)
            .map_err(|e| ClientError::Refused(format!("unexpected answer from the server: {e}")))
    } else {
        Err(ClientError::Refused(crate::http::error_text(&text)))
    }
}

/// The heads the server had of each document, by user (see `store`).
pub fn server_heads(user: &str) -> Vec<(String, Vec<automerge::ChangeHash>)> {
    let Some(text) = storage().and_then(|s| {
        s.get_item(&format!("fieldbook.heads.{user}"))
            .ok()
            .flatten()
    }) else {
        return Vec::new();
    };
    let raw: Vec<(String, Vec<String>)> = serde_json::from_str(&text).unwrap_or_default();
    raw.into_iter()
        .map(|(d, hs)| (d, hs.iter().filter_map(|h| h.parse().ok()).collect()))
        .collect()
}

/// When this device last finished a sync for `user` (ms since the epoch),
/// kept across reloads.
pub fn last_sync(user: &str) -> Option<f64> {
    storage()?
        .get_item(&format!("fieldbook.last-sync.{user}"))
        .ok()
        .flatten()?
        .parse()
        .ok()
}

pub fn save_last_sync(user: &str, ms: f64) {
    if let Some(st) = storage() {
        let _ = st.set_item(&format!("fieldbook.last-sync.{user}"), &ms.to_string());
    }
}

/// Saves the heads the server had of each document.
pub fn save_server_heads(user: &str, heads: &[(String, Vec<String>)]) {
    if let (Some(st), Ok(json)) = (storage(), serde_json::to_string(heads)) {
        let _ = st.set_item(&format!("fieldbook.heads.{user}"), &json);
    }
}

/// The desk this device created for `user` (shared/src/desk.rs), until the
/// book names it.
pub fn desk_id(user: &str) -> Option<String> {
    storage()?
        .get_item(&format!("fieldbook.desk.{user}"))
        .ok()
        .flatten()
        .filter(|d| !d.is_empty())
}

pub fn set_desk_id(user: &str, doc_id: &str) {
    if let Some(st) = storage() {
        let _ = st.set_item(&format!("fieldbook.desk.{user}"), doc_id);
    }
}
