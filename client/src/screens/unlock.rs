//! 解锁: what this tablet keeps is encrypted (`keyring.rs`); at each start
//! the signed-in manager opens it with their password, offline too. A
//! password changed elsewhere is checked with the server (online) and opens
//! the data through the escrow key. Another person can sign out instead.

use fieldbook_shared::api::LoginResponse;
use yew::prelude::*;

use crate::error::ClientError;
use crate::i18n::{Lang, M, t};
use crate::keyring::{self, Refused};
use crate::screens::value_of;
use crate::session;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub lang: Lang,
    pub username: String,
    /// Whose tablet this is, as shown (名字 · 单位).
    pub who: String,
    /// Unlocked; with a new session when the server was asked (a changed
    /// password, or a first key set up).
    pub on_unlocked: Callback<Option<LoginResponse>>,
    pub on_logout: Callback<()>,
}

/// Unlocks with `password`: locally first; else, online, through a login
/// (which confirms a new password and sets up a key a device lacks).
async fn unlock(user: &str, password: &str) -> Result<Option<LoginResponse>, String> {
    let set_up = keyring::is_set_up(user).await;
    if set_up {
        match keyring::unlock(user, password, None).await {
            Ok(()) => return Ok(None),
            Err(Refused::Other(e)) => return Err(e),
            Err(Refused::WrongPassword) => {}
        }
    }
    match session::login(user, password).await {
        Ok(s) => match keyring::unlock(user, password, Some(&s.token)).await {
            Ok(()) => Ok(Some(s)),
            Err(Refused::WrongPassword) => Err(crate::i18n::pick("密码不正确 / wrong password")),
            Err(Refused::Other(e)) => Err(e),
        },
        // The server cannot be reached: not yet set up, the tablet opens as
        // before this release (no key yet); set up, the password was checked
        // against this device's and did not open it.
        Err(ClientError::Unreachable(_)) if !set_up => keyring::unlock(user, password, None)
            .await
            .map(|_| None)
            .map_err(|_| crate::i18n::pick("无法解锁 / could not unlock")),
        Err(ClientError::Unreachable(_)) => Err(crate::i18n::pick(
            "密码不正确（离线时按本机保存的密码核对） / wrong password (offline, checked against this device's)",
        )),
        Err(e) => Err(e.to_string()),
    }
}

#[function_component(UnlockScreen)]
pub fn unlock_screen(p: &Props) -> Html {
    let password = use_state(String::new);
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let user = p.username.clone();
    let onsubmit = {
        let (password, error, busy, done) = (
            password.clone(),
            error.clone(),
            busy.clone(),
            p.on_unlocked.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (pw, user) = ((*password).clone(), user.clone());
            let (error, busy, done) = (error.clone(), busy.clone(), done.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                match unlock(&user, &pw).await {
                    Ok(new) => done.emit(new),
                    Err(e) => error.set(Some(e)),
                }
                busy.set(false);
            });
        })
    };
    let l = p.lang;
    html! {
        <form class="unlock login" {onsubmit}>
            <h1>{ t(l, M::AppName) }</h1>
            <p class="who">{ &p.who }</p>
            <p class="hint">{ t(l, M::UnlockHint) }</p>
            <label>{ t(l, M::Password) }
                <input name="password" type="password" autocomplete="current-password" value={(*password).clone()}
                    onchange={let pw = password.clone(); Callback::from(move |e: Event| pw.set(value_of(&e)))} />
            </label>
            if let Some(msg) = &*error { <p class="error" role="alert">{ msg }</p> }
            <button type="submit" disabled={*busy}>{ if *busy { t(l, M::Unlocking) } else { t(l, M::Unlock) } }</button>
            <button type="button" class="switch-user" onclick={let out = p.on_logout.clone(); move |_| out.emit(())}>{ t(l, M::LogOut) }</button>
        </form>
    }
}
