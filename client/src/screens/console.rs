//! The org console (机构与用户): the center's admin adds units and users,
//! disables and re-enables them, resets passwords and moves people between
//! units; heads see the users of their subtree. Online only: these are the
//! server's tables, not documents.

use fieldbook_shared::api::{Unit, UserRow};
use fieldbook_shared::vocab::Role;
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::http;
use crate::i18n::M;
use crate::screens::transfer::TransferCard;
use crate::screens::value_of;

/// A change to a user the admin asked for, waiting for their confirmation.
#[derive(Clone, PartialEq)]
enum Pending {
    Disable,
    Enable,
    Password(String),
    Move(String),
}

/// The new-user form: username, display name, password, role, unit.
#[derive(Clone, Default, PartialEq)]
struct NewUser {
    username: String,
    display_name: String,
    staff_no: String,
    password: String,
    role: String,
    unit: String,
}

#[function_component(ConsoleScreen)]
pub fn console_screen() -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let (token, is_admin, is_manager) = {
        let st = ctx.store.borrow();
        let role = &st.session.user.role;
        (
            st.session.token.clone(),
            *role == Role::Admin,
            *role == Role::Manager,
        )
    };
    let units = use_state(Vec::<Unit>::new);
    let users = use_state(Vec::<UserRow>::new);
    let message = use_state(|| None::<String>);
    let reload = use_state(|| 0u32);
    let new_user = use_state(|| NewUser {
        role: "manager".into(),
        ..Default::default()
    });
    let new_unit = use_state(|| (String::new(), String::new(), String::new()));
    // Per user, the password or unit typed but not yet applied, and the
    // change waiting for confirmation (nothing happens on a lost focus).
    let typed = use_state(std::collections::HashMap::<String, (String, String)>::new);
    // Per user, a staff number typed but not yet saved.
    let typed_staff = use_state(std::collections::HashMap::<String, String>::new);
    let confirming = use_state(|| None::<(String, Pending)>);
    // The user whose devices are shown.
    let open_devices = use_state(|| None::<String>);
    // Forms cleared after a success: their inputs are keyed by this.
    let form_generation = use_state(|| 0u32);
    {
        let (new_user, new_unit) = (new_user.clone(), new_unit.clone());
        use_effect_with(*form_generation, move |_| {
            new_user.set(NewUser {
                role: "manager".into(),
                ..Default::default()
            });
            new_unit.set(Default::default());
        });
    }

    {
        let (units, users, message, token) =
            (units.clone(), users.clone(), message.clone(), token.clone());
        use_effect_with(*reload, move |_| {
            // Managers only import and export here; the org is for heads and the center.
            if is_manager {
                return;
            }
            wasm_bindgen_futures::spawn_local(async move {
                for path in ["/api/units", "/api/users"] {
                    match http::get_kept(path, &token).await {
                        Ok((200, body, kept)) => {
                            if let Some(at) = kept {
                                message.set(Some(crate::i18n::pick(&format!(
                                    "离线：显示本机保存的 {at} 的数据，修改需要联网 / offline: the copy kept at {at}; changes need the network"
                                ))));
                            }
                            if path == "/api/units" {
                                units.set(serde_json::from_str(&body).unwrap_or_default())
                            } else {
                                users.set(serde_json::from_str(&body).unwrap_or_default())
                            }
                        }
                        Ok((_, body, _)) => message.set(Some(http::error_text(&body))),
                        Err(_) => {
                            message.set(Some(crate::i18n::pick("需要联网 / needs the network")))
                        }
                    }
                }
            });
        });
    }

    // One POST, then the tables are read again and the answer shown (in a
    // bar that stays in view); on success the forms are cleared.
    let send = {
        let (message, reload, token, generation) = (
            message.clone(),
            reload.clone(),
            token.clone(),
            form_generation.clone(),
        );
        Callback::from(move |(path, body): (String, serde_json::Value)| {
            let (message, reload, token, generation) = (
                message.clone(),
                reload.clone(),
                token.clone(),
                generation.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                match http::call("POST", &path, Some(&token), Some(body.to_string())).await {
                    Ok((200, _)) => {
                        message.set(Some(crate::i18n::pick("已保存 / saved")));
                        generation.set(*generation + 1);
                    }
                    Ok((_, body)) => message.set(Some(http::error_text(&body))),
                    Err(_) => message.set(Some(crate::i18n::pick("需要联网 / needs the network"))),
                }
                reload.set(*reload + 1);
            });
        })
    };
    let unit_options = |selected: &str| {
        units
            .iter()
            .map(|u| {
                html! { <option value={u.code.clone()} selected={u.code == selected}>{ format!("{}（{}）", u.name, u.code) }</option> }
            })
            .collect::<Html>()
    };

    let unit_name = |code: &str| {
        units
            .iter()
            .find(|u| u.code == code)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| code.to_string())
    };
    let user_rows = users.iter().map(|u| {
        let name = u.username.clone();
        let ask = |p: Pending| {
            let (confirming, name) = (confirming.clone(), name.clone());
            Callback::from(move |_| confirming.set(Some((name.clone(), p.clone()))))
        };
        let type_in = |password: bool| {
            let (typed, name) = (typed.clone(), name.clone());
            Callback::from(move |e: Event| {
                let mut t = (*typed).clone();
                let entry = t.entry(name.clone()).or_default();
                if password {
                    entry.0 = value_of(&e);
                } else {
                    entry.1 = value_of(&e);
                }
                typed.set(t);
            })
        };
        let (typed_password, typed_unit) = typed.get(&name).cloned().unwrap_or_default();
        let apply = {
            let (send, confirming, typed, name) =
                (send.clone(), confirming.clone(), typed.clone(), name.clone());
            Callback::from(move |_| {
                let Some((who, p)) = (*confirming).clone() else {
                    return;
                };
                let body = match p {
                    Pending::Disable => serde_json::json!({"disabled": true}),
                    Pending::Enable => serde_json::json!({"disabled": false}),
                    Pending::Password(pw) => serde_json::json!({"password": pw}),
                    Pending::Move(unit) => serde_json::json!({"unit": unit}),
                };
                send.emit((format!("/api/users/{who}"), body));
                confirming.set(None);
                let mut t = (*typed).clone();
                t.remove(&name);
                typed.set(t);
            })
        };
        let question = match &*confirming {
            Some((who, p)) if *who == name => Some(match p {
                Pending::Disable => format!("{} {}（{}）？{}", ctx.t(M::Disable), u.display_name, u.username, ctx.t(M::SignsOutEverywhere)),
                Pending::Enable => format!("{} {}（{}）？", ctx.t(M::Enable), u.display_name, u.username),
                Pending::Password(_) => format!("{} {}（{}）？{}", ctx.t(M::ResetPassword), u.display_name, u.username, ctx.t(M::SignsOutEverywhere)),
                Pending::Move(unit) => format!("{} {}（{}）→ {}？", ctx.t(M::MoveUser), u.display_name, u.username, unit_name(unit)),
            }),
            _ => None,
        };
        let chosen_unit = if typed_unit.is_empty() { u.unit.clone() } else { typed_unit.clone() };
        // A staff number needs no confirmation: it signs nobody out.
        let staff_typed = typed_staff.get(&name).cloned();
        let type_staff = {
            let (typed_staff, name) = (typed_staff.clone(), name.clone());
            Callback::from(move |e: Event| {
                let mut t = (*typed_staff).clone();
                t.insert(name.clone(), value_of(&e).trim().to_string());
                typed_staff.set(t);
            })
        };
        let save_staff = {
            let (send, typed_staff, name) = (send.clone(), typed_staff.clone(), name.clone());
            Callback::from(move |_| {
                let mut t = (*typed_staff).clone();
                if let Some(no) = t.remove(&name) {
                    send.emit((format!("/api/users/{name}"), serde_json::json!({"staff_no": no})));
                }
                typed_staff.set(t);
            })
        };
        html! {
            <>
            <tr class={classes!("user", u.disabled.then_some("disabled"))} data-user={u.username.clone()}>
                <td>{ &u.username }</td>
                <td>{ &u.display_name }</td>
                <td class="staff-no">
                    if is_admin {
                        <input class="staff-no" value={staff_typed.clone().unwrap_or_else(|| u.staff_no.clone())} placeholder={ctx.t(M::StaffNo)} onchange={type_staff} />
                        if staff_typed.as_ref().is_some_and(|s| *s != u.staff_no) {
                            <button class="staff-apply" onclick={save_staff}>{ ctx.t(M::SetStaffNo) }</button>
                        }
                    } else { { &u.staff_no } }
                </td>
                <td>{ crate::i18n::label(&u.role) }</td>
                <td>
                    if is_admin {
                        <select class="move" onchange={type_in(false)}>{ unit_options(&chosen_unit) }</select>
                        if chosen_unit != u.unit {
                            <button class="move-apply" onclick={ask(Pending::Move(chosen_unit.clone()))}>{ ctx.t(M::MoveUser) }</button>
                        }
                    } else { { unit_name(&u.unit) } }
                </td>
                <td>
                    { u.sessions }
                    if is_admin {
                        <button class="devices" onclick={let (open, name) = (open_devices.clone(), name.clone()); move |_| open.set(if open.as_deref() == Some(name.as_str()) { None } else { Some(name.clone()) })}>{ ctx.t(M::ShowDevices) }</button>
                    }
                </td>
                if is_admin {
                    <td>
                        <button class="toggle" onclick={ask(if u.disabled { Pending::Enable } else { Pending::Disable })}>{ if u.disabled { ctx.t(M::Enable) } else { ctx.t(M::Disable) } }</button>
                        <input class="reset" type="password" placeholder={ctx.t(M::NewPassword)} value={typed_password.clone()} onchange={type_in(true)} />
                        <button class="reset-apply" disabled={typed_password.is_empty()} onclick={ask(Pending::Password(typed_password.clone()))}>{ ctx.t(M::ResetPassword) }</button>
                    </td>
                }
            </tr>
            if open_devices.as_deref() == Some(u.username.as_str()) {
                <tr class="devices" data-user={u.username.clone()}><td colspan="7"><Devices username={u.username.clone()} /></td></tr>
            }
            if let Some(q) = question {
                <tr class="confirm" data-user={u.username.clone()}>
                    <td colspan="7" role="alert">
                        <span class="question">{ q }</span>
                        <button class="confirm-yes primary" onclick={apply}>{ ctx.t(M::Confirm) }</button>
                        <button class="confirm-no" onclick={let c = confirming.clone(); move |_| c.set(None)}>{ ctx.t(M::Cancel) }</button>
                    </td>
                </tr>
            }
            </>
        }
    });

    let set_user = |f: fn(&mut NewUser, String)| {
        let new_user = new_user.clone();
        Callback::from(move |e: Event| {
            let mut n = (*new_user).clone();
            f(&mut n, value_of(&e));
            new_user.set(n);
        })
    };
    let add_user = {
        let (send, new_user) = (send.clone(), new_user.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let n = (*new_user).clone();
            send.emit((
                "/api/users".into(),
                serde_json::json!({"username": n.username, "display_name": n.display_name,
                    "staff_no": n.staff_no, "password": n.password, "role": n.role, "unit": n.unit}),
            ));
        })
    };
    let set_unit = |i: usize| {
        let new_unit = new_unit.clone();
        Callback::from(move |e: Event| {
            let mut u = (*new_unit).clone();
            let v = value_of(&e);
            match i {
                0 => u.0 = v,
                1 => u.1 = v,
                _ => u.2 = v,
            }
            new_unit.set(u);
        })
    };
    let add_unit = {
        let (send, new_unit) = (send.clone(), new_unit.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (code, name, parent) = (*new_unit).clone();
            send.emit((
                "/api/units".into(),
                serde_json::json!({"code": code, "name": name, "parent": parent}),
            ));
        })
    };

    html! {
        <section class="console">
            <div class="toolbar">
                <button onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Customers)}>{ format!("‹ {}", ctx.t(M::Back)) }</button>
                // A manager sees only the spreadsheets here.
                <h2>{ ctx.t(if is_manager { M::ImportExport } else { M::Console }) }</h2>
            </div>
            if let Some(m) = &*message { <p class="message toast" role="status">{ m.clone() }</p> }
            <TransferCard />
            if !is_manager {
            <div class="card">
                <h3>{ format!("{}（{}）", ctx.t(M::Users), users.len()) }</h3>
                <table class="admin users">
                    <tr><th>{ ctx.t(M::Username) }</th><th>{ ctx.t(M::Name) }</th><th>{ ctx.t(M::StaffNo) }</th><th>{ ctx.t(M::Role) }</th><th>{ ctx.t(M::Unit) }</th><th>{ ctx.t(M::Devices) }</th>if is_admin { <th></th> }</tr>
                    { for user_rows }
                </table>
            </div>
            if is_admin {
                <form class="card add-user" onsubmit={add_user} key={format!("add-user-{}", *form_generation)}>
                    <h3>{ ctx.t(M::AddUser) }</h3>
                    <input name="username" placeholder={ctx.t(M::Username)} onchange={set_user(|n, v| n.username = v)} />
                    <input name="display_name" placeholder={ctx.t(M::Name)} onchange={set_user(|n, v| n.display_name = v)} />
                    <input name="staff_no" placeholder={ctx.t(M::StaffNo)} onchange={set_user(|n, v| n.staff_no = v)} />
                    <input name="password" type="password" placeholder={ctx.t(M::NewPassword)} onchange={set_user(|n, v| n.password = v)} />
                    <select name="role" onchange={set_user(|n, v| n.role = v)}>
                        // The role's one name (vocab.rs), as everywhere.
                        { for Role::ALL.iter().map(|r| html! {
                            <option value={r.as_str().to_string()} selected={*r == Role::Manager}>{ crate::i18n::label(&r) }</option>
                        }) }
                    </select>
                    <select name="unit" onchange={set_user(|n, v| n.unit = v)}>
                        <option value="">{ "—" }</option>
                        { unit_options(&new_user.unit) }
                    </select>
                    <button type="submit" class="primary">{ ctx.t(M::AddUser) }</button>
                </form>
            }
            <div class="card">
                <h3>{ format!("{}（{}）", ctx.t(M::Units), units.len()) }</h3>
                <table class="admin units">
                    { for units.iter().map(|u| html! {
                        <tr data-unit={u.code.clone()}><td>{ &u.code }</td><td>{ &u.name }</td><td>{ u.parent.clone().unwrap_or_default() }</td></tr>
                    }) }
                </table>
                if is_admin {
                    <form class="add-unit" onsubmit={add_unit} key={format!("add-unit-{}", *form_generation)}>
                        <input name="code" placeholder="code" onchange={set_unit(0)} />
                        <input name="name" placeholder={ctx.t(M::UnitName)} onchange={set_unit(1)} />
                        <select name="parent" onchange={set_unit(2)}>
                            <option value="">{ "—" }</option>
                            { unit_options(&new_unit.2) }
                        </select>
                        <button type="submit">{ ctx.t(M::AddUnit) }</button>
                    </form>
                }
            </div>
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct DevicesProps {
    username: String,
}

/// A user's signed-in devices, each with 远程清除 (after a question), and the
/// devices wiped before: when, and whether the device has said it deleted
/// its data.
#[function_component(Devices)]
fn devices(p: &DevicesProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let rows = use_state(|| None::<Vec<fieldbook_shared::api::SessionRow>>);
    let asking = use_state(|| None::<String>);
    let message = use_state(|| None::<String>);
    let token = ctx.store.borrow().session.token.clone();
    let reload = {
        let (rows, message, token, user) = (
            rows.clone(),
            message.clone(),
            token.clone(),
            p.username.clone(),
        );
        Callback::from(move |_: ()| {
            let (rows, message, token, user) =
                (rows.clone(), message.clone(), token.clone(), user.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match crate::http::call(
                    "GET",
                    &format!("/api/users/{user}/sessions"),
                    Some(&token),
                    None,
                )
                .await
                {
                    Ok((200, body)) => rows.set(serde_json::from_str(&body).ok()),
                    Ok((_, body)) => message.set(Some(crate::http::error_text(&body))),
                    Err(_) => message.set(Some(crate::i18n::pick("需要联网 / needs the network"))),
                }
            });
        })
    };
    {
        let reload = reload.clone();
        use_effect_with(p.username.clone(), move |_| reload.emit(()));
    }
    let wipe = {
        let (asking, message, token, reload) = (
            asking.clone(),
            message.clone(),
            token.clone(),
            reload.clone(),
        );
        Callback::from(move |_| {
            let Some(peer) = (*asking).clone() else {
                return;
            };
            let (message, token, reload) = (message.clone(), token.clone(), reload.clone());
            asking.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                match crate::http::call(
                    "POST",
                    &format!("/api/sessions/{peer}/wipe"),
                    Some(&token),
                    None,
                )
                .await
                {
                    Ok((200, _)) => reload.emit(()),
                    Ok((_, body)) => message.set(Some(crate::http::error_text(&body))),
                    Err(_) => message.set(Some(crate::i18n::pick("需要联网 / needs the network"))),
                }
            });
        })
    };
    // While a wiped device has not said it deleted its data, look again.
    let unconfirmed = rows.as_ref().is_some_and(|l| {
        l.iter()
            .any(|d| !d.wiped_at.is_empty() && d.wipe_confirmed_at.is_empty())
    });
    {
        let reload = reload.clone();
        use_effect_with(unconfirmed, move |waiting| {
            let timer = waiting
                .then(|| gloo_timers::callback::Interval::new(3_000, move || reload.emit(())));
            move || drop(timer)
        });
    }
    let Some(list) = (*rows).clone() else {
        return html! { <p class="devices">{ (*message).clone().unwrap_or_else(|| "…".into()) }</p> };
    };
    html! {
        <div class="device-list">
            if list.is_empty() { <p class="empty">{ ctx.t(M::NoDevices) }</p> }
            <ul>
                { for list.iter().map(|d| html! {
                    <li class={classes!("device", (!d.wiped_at.is_empty()).then_some("wiped"))} data-peer={d.peer_id.clone()}>
                        <code>{ d.peer_id.chars().take(14).collect::<String>() }</code>
                        if d.wiped_at.is_empty() {
                            <span>{ format!(" {} {}", ctx.t(M::SignedInSince), crate::widgets::local_time(&d.created_at)) }</span>
                            if asking.as_deref() == Some(d.peer_id.as_str()) {
                                <div class="confirm" role="alert">
                                    <span class="question">{ ctx.t(M::WipeQuestion) }</span>
                                    <button class="wipe-yes primary" onclick={wipe.clone()}>{ ctx.t(M::Confirm) }</button>
                                    <button class="wipe-no" onclick={let a = asking.clone(); move |_| a.set(None)}>{ ctx.t(M::Cancel) }</button>
                                </div>
                            } else {
                                <button class="wipe" onclick={let (a, peer) = (asking.clone(), d.peer_id.clone()); move |_| a.set(Some(peer.clone()))}>{ ctx.t(M::Wipe) }</button>
                            }
                        } else {
                            <span class="wiped-at">{ format!(" {} {} · ", ctx.t(M::WipedAt), crate::widgets::local_time(&d.wiped_at)) }</span>
                            if d.wipe_confirmed_at.is_empty() {
                                <span class="badge due">{ ctx.t(M::WipeUnconfirmed) }</span>
                            } else {
                                <span class="badge ok">{ format!("{} {}", ctx.t(M::WipeConfirmed), crate::widgets::local_time(&d.wipe_confirmed_at)) }</span>
                            }
                        }
                    </li>
                }) }
            </ul>
            if let Some(m) = &*message { <p class="error" role="alert">{ m }</p> }
        </div>
    }
}
