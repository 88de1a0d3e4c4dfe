//! A customer's per-field history (修改记录): who changed which field, when, from
//! what to what. Read from the server (which binds each device to its user).

use fieldbook_shared::history::HistoryEntry;
use yew::prelude::*;

use crate::ctx::Ctx;
use crate::http;
use crate::i18n::M;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub doc_id: String,
}

#[function_component(HistoryCard)]
pub fn history_card(p: &Props) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let entries = use_state(|| None::<Vec<HistoryEntry>>);
    let message = use_state(|| None::<String>);
    let load = {
        let (entries, message, doc) = (entries.clone(), message.clone(), p.doc_id.clone());
        let token = ctx.store.borrow().session.token.clone();
        Callback::from(move |_| {
            let (entries, message, token) = (entries.clone(), message.clone(), token.clone());
            let path = format!("/api/customers/{doc}/history");
            wasm_bindgen_futures::spawn_local(async move {
                match http::call("GET", &path, Some(&token), None).await {
                    Ok((200, body)) => {
                        message.set(None);
                        entries.set(serde_json::from_str(&body).ok());
                    }
                    Ok((_, body)) => message.set(Some(http::error_text(&body))),
                    Err(_) => message.set(Some(crate::i18n::pick("需要联网 / needs the network"))),
                }
            });
        })
    };
    html! {
        <div class="card history">
            <h3>{ ctx.t(M::History) }</h3>
            <button class="load-history" onclick={load}>{ ctx.t(M::ShowHistory) }</button>
            if let Some(m) = &*message { <p class="message">{ m.clone() }</p> }
            if let Some(list) = &*entries {
                <ul>{ for list.iter().map(|e| html! {
                    <li class="history-entry">
                        <span class="when">{ format!("{}{}", crate::widgets::local_time(&e.at), if e.received { ctx.t(M::WhenReceived) } else { "" }) }</span>
                        { " · " }
                        <span class="who">{ if e.user.is_empty() { ctx.t(M::SystemRecord).to_string() } else if e.user_name.is_empty() { e.user.clone() } else { e.user_name.clone() } }</span>
                        <ul>{ for e.changes.iter().map(|c| html! {
                            <li>{ format!("{}：{} → {}", c.field, if c.from.is_empty() { "—" } else { &c.from }, if c.to.is_empty() { "—" } else { &c.to }) }</li>
                        }) }</ul>
                    </li>
                }) }</ul>
            }
        </div>
    }
}
