//! A customer's managers and hand-overs (主辅制): the history travels with the
//! document (offline); heads and the center hand a customer over (online).

use fieldbook_shared::api::UserRow;
use fieldbook_shared::customer::Handover;
use fieldbook_shared::vocab::Role;
use yew::prelude::*;

use crate::ctx::Ctx;
use crate::http;
use crate::i18n::M;
use crate::screens::value_of;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub doc_id: String,
    pub handovers: Vec<Handover>,
}

#[function_component(HandoverCard)]
pub fn handover_card(p: &Props) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let (token, role) = {
        let st = ctx.store.borrow();
        (st.session.token.clone(), st.session.user.role.clone())
    };
    let may_assign = matches!(role, Role::Head | Role::Admin);
    // (primary, assistant, note) being filled in; None while the form is closed.
    let form = use_state(|| None::<(String, String, String)>);
    let people = use_state(Vec::<UserRow>::new);
    let message = use_state(|| None::<String>);

    let open = {
        let (form, people, message, token) =
            (form.clone(), people.clone(), message.clone(), token.clone());
        Callback::from(move |_| {
            form.set(Some(Default::default()));
            message.set(None);
            let (people, message, token) = (people.clone(), message.clone(), token.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match http::call("GET", "/api/users", Some(&token), None).await {
                    Ok((200, body)) => {
                        let rows: Vec<UserRow> = serde_json::from_str(&body).unwrap_or_default();
                        people.set(
                            rows.into_iter()
                                .filter(|u| !u.disabled && u.role != Role::Admin)
                                .collect(),
                        );
                    }
                    Ok((_, body)) => message.set(Some(http::error_text(&body))),
                    Err(_) => message.set(Some(crate::i18n::pick("需要联网 / needs the network"))),
                }
            });
        })
    };
    let set = |i: usize| {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let Some(mut f) = (*form).clone() else { return };
            let v = value_of(&e);
            match i {
                0 => f.0 = v,
                1 => f.1 = v,
                _ => f.2 = v,
            }
            form.set(Some(f));
        })
    };
    let submit = {
        let (form, message, doc, token) = (
            form.clone(),
            message.clone(),
            p.doc_id.clone(),
            token.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some((primary, assistant, note)) = (*form).clone() else {
                return;
            };
            let body = serde_json::json!({
                "primary": primary,
                "assistant": (!assistant.is_empty()).then_some(assistant),
                "note": note,
            })
            .to_string();
            let (form, message, path, token) = (
                form.clone(),
                message.clone(),
                format!("/api/customers/{doc}/assign"),
                token.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                match http::call("POST", &path, Some(&token), Some(body)).await {
                    Ok((200, _)) => {
                        form.set(None);
                        message.set(Some(crate::i18n::pick("已交接 / handed over")));
                    }
                    Ok((_, body)) => message.set(Some(http::error_text(&body))),
                    Err(_) => message.set(Some(crate::i18n::pick("需要联网 / needs the network"))),
                }
            });
        })
    };

    html! {
        <div class="card handovers">
            <h3>{ ctx.t(M::Handovers) }</h3>
            if p.handovers.is_empty() { <p class="empty">{ ctx.t(M::None_) }</p> }
            <ul>{ for p.handovers.iter().map(|h| html! {
                <li class="handover">{ format!(
                    "{} · {} → {}{} · {} {}{}",
                    h.at.get(..10).unwrap_or(&h.at),
                    h.from_primary,
                    h.to_primary,
                    if h.to_assistant.is_empty() { String::new() } else { crate::i18n::say(format!("（辅：{0}）", h.to_assistant), format!("(assistant: {0})", h.to_assistant)) },
                    ctx.t(M::By),
                    h.by,
                    if h.note.is_empty() { String::new() } else { format!(" · {}", h.note) },
                ) }</li>
            }) }</ul>
            if let Some(m) = &*message { <p class="message">{ m.clone() }</p> }
            if may_assign && form.is_none() {
                <button class="assign" onclick={open}>{ ctx.t(M::HandOver) }</button>
            }
            if let Some((primary, assistant, note)) = (*form).clone() {
                <form class="assign" onsubmit={submit}>
                    <label>{ ctx.t(M::PrimaryManager) }
                        <select name="primary" onchange={set(0)}>
                            <option value="" selected={primary.is_empty()}>{ "—" }</option>
                            { for people.iter().map(|u| html! {
                                <option value={u.username.clone()} selected={u.username == primary}>{ format!("{}（{} · {}）", u.display_name, u.username, u.unit) }</option>
                            }) }
                        </select>
                    </label>
                    <label>{ ctx.t(M::AssistantManager) }
                        <select name="assistant" onchange={set(1)}>
                            <option value="" selected={assistant.is_empty()}>{ "—" }</option>
                            { for people.iter().map(|u| html! {
                                <option value={u.username.clone()} selected={u.username == assistant}>{ format!("{}（{} · {}）", u.display_name, u.username, u.unit) }</option>
                            }) }
                        </select>
                    </label>
                    <label>{ ctx.t(M::Note) }<input name="note" value={note} onchange={set(2)} /></label>
                    <button type="submit" class="primary" disabled={primary.is_empty()}>{ ctx.t(M::HandOver) }</button>
                </form>
            }
        </div>
    }
}
