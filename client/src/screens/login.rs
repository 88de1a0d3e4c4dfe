//! The login form (`name="username"`, `name="password"`, a submit button).

use fieldbook_shared::api::LoginResponse;
use yew::prelude::*;

use crate::i18n::{Lang, M, t};
use crate::screens::value_of;
use crate::session;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub lang: Lang,
    pub on_login: Callback<LoginResponse>,
    /// Why the login shows (the device was wiped remotely), if there is a why.
    #[prop_or_default]
    pub notice: Option<String>,
}

#[function_component(LoginScreen)]
pub fn login_screen(p: &Props) -> Html {
    let username = use_state(String::new);
    let password = use_state(String::new);
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let onsubmit = {
        let (username, password, error, busy, on_login) = (
            username.clone(),
            password.clone(),
            error.clone(),
            busy.clone(),
            p.on_login.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (u, pw) = ((*username).clone(), (*password).clone());
            let (error, busy, on_login) = (error.clone(), busy.clone(), on_login.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                match session::login(&u, &pw).await {
                    // The password is known now: the device's key is opened
                    // (or set up) with it, the server having confirmed it.
                    Ok(s) => match crate::keyring::unlock(&s.user.username, &pw, Some(&s.token)).await {
                        Ok(()) => on_login.emit(s),
                        Err(crate::keyring::Refused::WrongPassword) => error.set(Some(
                            crate::i18n::pick("本机数据无法用这个密码解锁 / this device's data does not open with this password"),
                        )),
                        Err(crate::keyring::Refused::Other(e)) => error.set(Some(e)),
                    },
                    Err(e) => error.set(Some(e.to_string())),
                }
                busy.set(false);
            });
        })
    };
    let l = p.lang;
    html! {
        <form class="login" {onsubmit}>
            <h1>{ t(l, M::AppName) }</h1>
            <label>{ t(l, M::Username) }
                <input name="username" autocomplete="username" value={(*username).clone()}
                    onchange={let u = username.clone(); Callback::from(move |e: Event| u.set(value_of(&e)))} />
            </label>
            <label>{ t(l, M::Password) }
                <input name="password" type="password" autocomplete="current-password" value={(*password).clone()}
                    onchange={let pw = password.clone(); Callback::from(move |e: Event| pw.set(value_of(&e)))} />
            </label>
            if let Some(msg) = &p.notice { <p class="notice wiped" role="alert">{ msg }</p> }
            if let Some(msg) = &*error { <p class="error" role="alert">{ msg }</p> }
            <button type="submit" disabled={*busy}>{ t(l, M::LogIn) }</button>
        </form>
    }
}
