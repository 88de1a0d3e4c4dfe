//! The customer care card 客户关怀 (礼仪公关): what was done for the
//! customer's people — the day, the occasion, for whom, what was done or
//! given, the cost, by whom — logged offline. Reminders of birthdays and
//! family events open the customer here.

use fieldbook_shared::care::{self, CareEntry};
use yew::prelude::*;

use crate::ctx::Ctx;
use crate::i18n::M;
use crate::screens::{new_id, value_of};
use crate::store::today;

use super::CardProps;

/// The form: the entry, and the cost as typed (yuan).
#[derive(Clone, Default, PartialEq)]
struct Draft {
    entry: CareEntry,
    cost: String,
}

#[function_component(CareCard)]
pub fn care_card(p: &CardProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let form = use_state(|| None::<Draft>);
    let Some(row) = ctx.store.borrow().row(&p.doc_id) else {
        return Html::default();
    };
    let c = &row.customer;
    let me = ctx.store.borrow().session.user.username.clone();
    let contact_name = |id: &str| {
        c.contacts
            .iter()
            .find(|k| k.id == id)
            .map(|k| k.name.clone())
            .unwrap_or_default()
    };
    let cost_fen = form.as_ref().and_then(|d| care::parse_yuan(&d.cost));
    let save = {
        let (store, doc, form) = (ctx.store.clone(), p.doc_id.clone(), form.clone());
        Callback::from(move |_| {
            let Some(d) = (*form).clone() else {
                return;
            };
            let Some(cost_fen) = care::parse_yuan(&d.cost) else {
                return;
            };
            let entry = CareEntry {
                cost_fen,
                ..d.entry
            };
            let (store, doc, form) = (store.clone(), doc.clone(), form.clone());
            super::save(
                store,
                doc,
                move |d| {
                    d.transact(|tx| care::log_care(tx, &entry))
                        .map_err(|e| e.error.to_string())
                },
                move || form.set(None),
            );
        })
    };
    let set = |f: fn(&mut Draft, String)| {
        let form = form.clone();
        Callback::from(move |e: Event| {
            if let Some(mut d) = (*form).clone() {
                f(&mut d, value_of(&e));
                form.set(Some(d));
            }
        })
    };
    let mut log: Vec<&CareEntry> = c.care_log.iter().collect();
    log.sort_by(|a, b| b.date.cmp(&a.date));
    let start = {
        let (form, me) = (form.clone(), me.clone());
        Callback::from(move |_| {
            form.set(Some(Draft {
                entry: CareEntry {
                    id: new_id("g"),
                    date: today(),
                    by: me.clone(),
                    ..Default::default()
                },
                cost: String::new(),
            }))
        })
    };
    html! {
        <div class="card care-log" id="card-care">
            <h3>{ ctx.t(M::CareLog) }</h3>
            if log.is_empty() { <p class="empty">{ ctx.t(M::NoCare) }</p> }
            <ul class="care-entries">{ for log.iter().map(|g| html! {
                <li class="care-entry" data-care={g.id.clone()}>
                    <strong>{ format!("{} · {}", g.date, g.occasion) }</strong>
                    if !g.contact_id.is_empty() { { format!(" · {}", contact_name(&g.contact_id)) } }
                    <div>{ &g.what }</div>
                    <div class="meta">{ format!("{} ¥{}.{:02} · {} {}", ctx.t(M::CostYuan), g.cost_fen / 100, g.cost_fen % 100, ctx.t(M::LoggedBy), g.by) }</div>
                </li>
            }) }</ul>
            if let Some(d) = &*form {
                <div class="care-form">
                    <label>{ ctx.t(M::Date) }<input name="care_date" type="date" value={d.entry.date.clone()} onchange={set(|d, v| d.entry.date = v)} /></label>
                    <label>{ ctx.t(M::Occasion) }
                        <input name="care_occasion" list="care-occasions" value={d.entry.occasion.clone()} onchange={set(|d, v| d.entry.occasion = v)} />
                        <datalist id="care-occasions">
                            { for ["生日", "春节", "中秋节", "端午节", "婚礼", "子女升学", "乔迁", "探望", "联谊活动"].iter().map(|o| html! { <option value={*o} /> }) }
                        </datalist>
                    </label>
                    <label>{ ctx.t(M::CareFor) }
                        <select name="care_contact" onchange={set(|d, v| d.entry.contact_id = v)}>
                            <option value="" selected={d.entry.contact_id.is_empty()}>{ "—" }</option>
                            { for c.contacts.iter().map(|k| html! { <option value={k.id.clone()} selected={d.entry.contact_id == k.id}>{ &k.name }</option> }) }
                        </select>
                    </label>
                    <label>{ ctx.t(M::CareWhat) }<input name="care_what" value={d.entry.what.clone()} onchange={set(|d, v| d.entry.what = v)} /></label>
                    <label>{ ctx.t(M::CostYuan) }<input name="care_cost" inputmode="decimal" value={d.cost.clone()} onchange={set(|d, v| d.cost = v)} /></label>
                    <button class="primary save-care" disabled={d.entry.what.trim().is_empty() || cost_fen.is_none()} onclick={save}>{ ctx.t(M::Save) }</button>
                    <button onclick={let f = form.clone(); move |_| f.set(None)}>{ ctx.t(M::Cancel) }</button>
                </div>
            } else {
                <button class="log-care" onclick={start}>{ ctx.t(M::LogCare) }</button>
            }
        </div>
    }
}
