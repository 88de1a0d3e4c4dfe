//! 客户活动: the half-yearly events 联谊活动 / 座谈会 of a head's subtree
//! (`GET /api/events`, kept for offline reading), and a form to hold one —
//! kind, title, day, place, the customers invited from the head's book —
//! recorded as a desk request (offline too) that the server carries out,
//! writing the invitation on each customer's document.

use fieldbook_shared::api::EventRow;
use fieldbook_shared::desk::Decision;
use fieldbook_shared::events::{KINDS, kind_label};
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::http;
use crate::i18n::M;
use crate::screens::approvals::{badge, decide, standing};
use crate::screens::{new_id, value_of};

#[derive(Clone, Default, PartialEq)]
struct Draft {
    kind: String,
    title: String,
    date: String,
    place: String,
    invitees: Vec<String>,
    filter: String,
}

#[function_component(EventsScreen)]
pub fn events_screen() -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let token = ctx.store.borrow().session.token.clone();
    let list = use_state(|| None::<Vec<EventRow>>);
    let message = use_state(|| None::<String>);
    let error = use_state(|| None::<String>);
    let draft = use_state(|| None::<Draft>);
    let desk = ctx.store.borrow().desk();
    let took_effect = desk.outcomes.iter().filter(|o| o.ok).count();
    {
        let (list, message) = (list.clone(), message.clone());
        use_effect_with(took_effect, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match http::get_kept("/api/events", &token).await {
                    Ok((200, body, kept)) => {
                        message.set(kept.map(|at| {
                            crate::i18n::pick(&format!(
                                "离线：显示本机保存的 {} 的活动 / offline: the list kept at {}",
                                crate::widgets::local_time(&at),
                                crate::widgets::local_time(&at)
                            ))
                        }));
                        list.set(serde_json::from_str(&body).ok());
                    }
                    Ok((_, body, _)) => message.set(Some(http::error_text(&body))),
                    Err(_) => message.set(Some(crate::i18n::pick(
                        "离线，本机还没有活动列表 / offline, and the events were never loaded here",
                    ))),
                }
            });
        });
    }
    let label = |kind: &str| {
        let (zh, en) = kind_label(kind);
        crate::i18n::say(zh.to_string(), en.to_string())
    };
    let store = ctx.store.borrow();
    let rows = store.rows_by_name();
    let start = {
        let draft = draft.clone();
        Callback::from(move |_| {
            draft.set(Some(Draft {
                kind: KINDS[0].into(),
                date: crate::store::today(),
                ..Draft::default()
            }))
        })
    };
    let hold = {
        let (store, error, draft) = (ctx.store.clone(), error.clone(), draft.clone());
        Callback::from(move |_| {
            let Some(d) = (*draft).clone() else {
                return;
            };
            let title = d.title.trim().to_string();
            decide(
                &store,
                error.clone(),
                (
                    Decision::CreateEvent {
                        id: new_id("e"),
                        kind: d.kind,
                        title: title.clone(),
                        date: d.date,
                        place: d.place.trim().to_string(),
                        invitees: d.invitees,
                    },
                    title,
                ),
            );
            draft.set(None);
        })
    };
    // Events held from this tablet and not yet listed by the server.
    let listed: Vec<String> = list
        .as_ref()
        .map(|l| l.iter().map(|e| e.id.clone()).collect())
        .unwrap_or_default();
    let mine: Vec<_> = desk
        .requests
        .iter()
        .filter(|r| r.kind == "create_event" && !listed.contains(&r.target))
        .collect();
    let set = |f: fn(&mut Draft, String)| {
        let draft = draft.clone();
        Callback::from(move |e: Event| {
            if let Some(mut d) = (*draft).clone() {
                f(&mut d, value_of(&e));
                draft.set(Some(d));
            }
        })
    };
    html! {
        <section class="events">
            <div class="toolbar">
                <button onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Customers)}>{ format!("‹ {}", ctx.t(M::Back)) }</button>
                <h2>{ ctx.t(M::Events) }</h2>
                if draft.is_none() { <button class="primary hold-event" onclick={start}>{ ctx.t(M::HoldEvent) }</button> }
            </div>
            if let Some(m) = &*message { <p class="note kept">{ m.clone() }</p> }
            if let Some(e) = &*error { <p class="error">{ e.clone() }</p> }
            if let Some(d) = &*draft {
                <div class="card event-form">
                    <label>{ ctx.t(M::EventKind) }
                        <select name="event_kind" onchange={set(|d, v| d.kind = v)}>
                            { for KINDS.iter().map(|k| html! { <option value={*k} selected={d.kind == *k}>{ label(k) }</option> }) }
                        </select>
                    </label>
                    <label>{ ctx.t(M::EventTitle) }<input name="event_title" value={d.title.clone()} onchange={set(|d, v| d.title = v)} /></label>
                    <label>{ ctx.t(M::Date) }<input name="event_date" type="date" value={d.date.clone()} onchange={set(|d, v| d.date = v)} /></label>
                    <label>{ ctx.t(M::EventPlace) }<input name="event_place" value={d.place.clone()} onchange={set(|d, v| d.place = v)} /></label>
                    <h4>{ format!("{}（{}）", ctx.t(M::Invitees), d.invitees.len()) }</h4>
                    <input name="invitee_filter" type="search" placeholder={ctx.t(M::Search)} value={d.filter.clone()}
                        oninput={let dr = draft.clone(); Callback::from(move |e: InputEvent| if let Some(mut x) = (*dr).clone() { x.filter = value_of(&e.into()); dr.set(Some(x)) })} />
                    <ul class="invitees">
                        { for rows.iter().filter(|r| d.filter.trim().is_empty() || r.customer.name.contains(d.filter.trim())).take(50).map(|r| {
                            let id = r.doc_id.clone();
                            let checked = d.invitees.contains(&id);
                            let toggle = { let dr = draft.clone(); let id = id.clone(); Callback::from(move |_| if let Some(mut x) = (*dr).clone() {
                                if let Some(i) = x.invitees.iter().position(|v| *v == id) { x.invitees.remove(i); } else { x.invitees.push(id.clone()); }
                                dr.set(Some(x));
                            }) };
                            html! {
                                <li><label class="check"><input type="checkbox" name="invitee" value={id.clone()} checked={checked} onchange={toggle} />{ r.customer.name.clone() }</label></li>
                            }
                        }) }
                    </ul>
                    <button class="primary save-event" disabled={d.title.trim().is_empty() || d.invitees.is_empty()} onclick={hold}>{ ctx.t(M::HoldEvent) }</button>
                    <button onclick={let dr = draft.clone(); move |_| dr.set(None)}>{ ctx.t(M::Cancel) }</button>
                </div>
            }
            <div class="card event-list">
                <ul class="inbox-items">
                    { for mine.iter().map(|r| html! {
                        <li class="inbox-item event pending-event" data-event={r.target.clone()}>
                            <div class="what"><strong>{ &r.name }</strong><span>{ label(&r.value) }</span><span>{ &r.date }</span><span>{ &r.reason }</span></div>
                            { badge(&standing(&ctx, &desk, &["create_event"], &r.target)) }
                        </li>
                    }) }
                    { for list.iter().flatten().map(|e| html! {
                        <li class="inbox-item event" data-event={e.id.clone()}>
                            <div class="what"><strong>{ &e.title }</strong><span>{ label(&e.kind) }</span><span>{ &e.date }</span><span>{ &e.place }</span></div>
                            <div class="why">{ format!("{} · {}：{} · {}：{}", e.held_by, ctx.t(M::Invitees), e.invited, ctx.t(M::Attended), e.attended) }</div>
                        </li>
                    }) }
                </ul>
                if mine.is_empty() && list.as_ref().is_some_and(|l| l.is_empty()) { <p class="empty">{ ctx.t(M::NoEvents) }</p> }
            </div>
        </section>
    }
}
