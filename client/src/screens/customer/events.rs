//! The customer's events card 客户活动: the events it was invited to, and
//! whether it came and who, recorded by its manager offline. The follow-ups
//! raised there are logged as a visit of kind 客户活动 (they join 督办).

use fieldbook_shared::events::{self, EventEntry};
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::i18n::M;
use crate::screens::value_of;

use super::CardProps;

#[function_component(EventsCard)]
pub fn events_card(p: &CardProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let editing = use_state(|| None::<EventEntry>);
    let Some(row) = ctx.store.borrow().row(&p.doc_id) else {
        return Html::default();
    };
    let c = &row.customer;
    if c.events.is_empty() {
        return Html::default();
    }
    let save = {
        let (store, doc, editing) = (ctx.store.clone(), p.doc_id.clone(), editing.clone());
        Callback::from(move |_| {
            let Some(e) = (*editing).clone() else {
                return;
            };
            let done = editing.clone();
            super::save(
                store.clone(),
                doc.clone(),
                move |d| {
                    d.transact(|tx| events::record_attendance(tx, &e.id, e.attended, &e.attendees))
                        .map_err(|e| e.error.to_string())
                },
                move || done.set(None),
            );
        })
    };
    let mut list: Vec<&EventEntry> = c.events.iter().collect();
    list.sort_by(|a, b| b.date.cmp(&a.date));
    html! {
        <div class="card events-card" id="card-events">
            <h3>{ ctx.t(M::Events) }</h3>
            <ul>
                { for list.iter().map(|e| {
                    let (zh, en) = events::kind_label(&e.kind);
                    let this = editing.as_ref().filter(|x| x.id == e.id).cloned();
                    html! {
                        <li class="event-entry" data-event={e.id.clone()}>
                            <strong>{ format!("{} · {} · {}", e.date, crate::i18n::say(zh.to_string(), en.to_string()), e.title) }</strong>
                            <span>{ format!(" · {}", e.place) }</span>
                            <div class={classes!("attendance", e.attended.then_some("came"))}>
                                { if e.attended { format!("{}：{}", ctx.t(M::Attended), e.attendees) } else { ctx.t(M::NotAttended).to_string() } }
                            </div>
                            if let Some(x) = this {
                                <div class="attendance-form">
                                    <label class="check"><input type="checkbox" name="attended" checked={x.attended}
                                        onchange={let ed = editing.clone(); Callback::from(move |_| if let Some(mut y) = (*ed).clone() { y.attended = !y.attended; ed.set(Some(y)) })} />{ ctx.t(M::Attended) }</label>
                                    <input name="attendees" placeholder={ctx.t(M::WhoCame)} value={x.attendees.clone()}
                                        onchange={let ed = editing.clone(); Callback::from(move |ev: Event| if let Some(mut y) = (*ed).clone() { y.attendees = value_of(&ev); ed.set(Some(y)) })} />
                                    <button class="primary save-attendance" onclick={save.clone()}>{ ctx.t(M::Save) }</button>
                                </div>
                            } else {
                                <button class="record-attendance" onclick={let ed = editing.clone(); let e = (*e).clone(); move |_| ed.set(Some(e.clone()))}>{ ctx.t(M::RecordAttendance) }</button>
                                <button class="event-visit" onclick={let go = ctx.go.clone(); let id = p.doc_id.clone(); let ev = e.id.clone(); move |_| go.emit(Route::LogEventVisit(id.clone(), ev.clone()))}>{ ctx.t(M::LogEventVisit) }</button>
                            }
                        </li>
                    }
                }) }
            </ul>
        </div>
    }
}
