//! Remote wipe 远程清除: an administrator wiped this device (a lost or stolen
//! tablet). The server says so when the device next calls it with its old
//! token (a 401 with `wipe`); the device then deletes everything of that user
//! it holds — the documents' chunks, the attachments' files, the outbox,
//! drafts, kept report copies, sync marks, the session — tells the server it
//! has, and shows the login with the reason.
//!
//! The wipe is marked first and carried out at the next start, before any
//! database is opened (`pending`), so no open connection holds a deletion up
//! and a wipe cut short by a killed tab is finished at the next start.

pub const MARK: &str = "fieldbook.wipe";

/// The wipe to carry out: whose data, and the token to report it with.
#[derive(serde::Serialize, serde::Deserialize)]
struct Mark {
    user: String,
    token: String,
}

fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The server said to wipe: marks it and reloads (the start carries it out).
pub fn ordered(user: &str, token: &str) {
    let mark = serde_json::to_string(&Mark {
        user: user.into(),
        token: token.into(),
    })
    .unwrap_or_default();
    if let Some(s) = local() {
        let _ = s.set_item(MARK, &mark);
    }
    wasm_bindgen_futures::spawn_local(async move {
        // Also in IndexedDB, which reaches the disk at once.
        let _ = crate::idb::kv_set(MARK, Some(&mark)).await;
        if let Some(w) = web_sys::window() {
            let _ = w.location().reload();
        }
    });
}

/// Whether a wipe waits (then nothing may be opened: no session is used).
pub fn waiting() -> bool {
    local().is_some_and(|s| s.get_item(MARK).ok().flatten().is_some())
}

/// Whether the key `key` (`fieldbook.<kind>.<user>[.<more>]`) holds `user`'s data.
pub fn belongs_to(key: &str, user: &str) -> bool {
    let Some((_, tail)) = key
        .strip_prefix("fieldbook.")
        .and_then(|rest| rest.split_once('.'))
    else {
        return false;
    };
    tail == user || tail.starts_with(&format!("{user}."))
}

/// Deletes one IndexedDB database, waiting until it is gone (connections
/// elsewhere close on `versionchange`: `idb::open_db`).
async fn delete_database(name: &str) -> Result<(), String> {
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or("no IndexedDB")?;
    let req = factory
        .delete_database(name)
        .map_err(|_| format!("cannot delete {name}"))?;
    crate::idb::done(&req)
        .await
        .map(|_| ())
        .map_err(|_| format!("{name} was not deleted"))
}

/// Carries out a waiting wipe; answers whether there was one.
pub async fn pending() -> bool {
    let kept = match local().and_then(|s| s.get_item(MARK).ok().flatten()) {
        Some(m) => Some(m),
        None => crate::idb::kv_get(MARK).await.ok().flatten(),
    };
    let Some(mark) = kept.and_then(|m| serde_json::from_str::<Mark>(&m).ok()) else {
        return false;
    };
    let user = mark.user.as_str();
    for db in [
        format!("fieldbook-{user}"),
        format!("fieldbook-blobs-{user}"),
        format!("fieldbook-index-{user}"),
    ] {
        if let Err(e) = delete_database(&db).await {
            web_sys::console::error_1(&e.into());
        }
    }
    for storage in [
        local(),
        web_sys::window().and_then(|w| w.session_storage().ok().flatten()),
    ]
    .into_iter()
    .flatten()
    {
        let keys: Vec<String> = (0..storage.length().unwrap_or(0))
            .filter_map(|i| storage.key(i).ok().flatten())
            .collect();
        for k in keys {
            if belongs_to(&k, user) || k == crate::session::KEY {
                let _ = storage.remove_item(&k);
            }
        }
    }
    for k in crate::idb::kv_keys().await.unwrap_or_default() {
        if belongs_to(&k, user) || k == crate::session::KEY {
            let _ = crate::idb::kv_set(&k, None).await;
        }
    }
    // Said to the server, which shows it in the console (a device that
    // cannot say it shows there as wiped, not confirmed).
    if let Err(e) = crate::http::call("POST", "/api/wiped", Some(&mark.token), None).await {
        web_sys::console::warn_1(&format!("the wipe could not be confirmed: {e:?}").into());
    }
    if let Some(s) = local() {
        let _ = s.remove_item(MARK);
    }
    let _ = crate::idb::kv_set(MARK, None).await;
    true
}

#[cfg(test)]
mod tests {
    use super::belongs_to;

    #[test]
    fn a_users_keys_are_told_from_another_users_with_dots_in_names() {
        assert!(belongs_to(
            "fieldbook.kept.zhang.wei./api/reports",
            "zhang.wei"
        ));
        assert!(belongs_to("fieldbook.outbox.zhang.wei", "zhang.wei"));
        assert!(belongs_to(
            "fieldbook.draft.zhang.wei.visit/abc",
            "zhang.wei"
        ));
        assert!(!belongs_to("fieldbook.outbox.zhang.wei2", "zhang.wei"));
        assert!(!belongs_to("fieldbook.kept.li.na./api/x", "zhang.wei"));
        assert!(!belongs_to("fieldbook.session", "zhang.wei"));
        assert!(!belongs_to("other.outbox.zhang.wei", "zhang.wei"));
    }
}
