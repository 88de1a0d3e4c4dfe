//! 报告不良资信: a manager reports the customer for bad credit, offline too;
//! the report is a request in their desk until the server files it for the
//! center, which confirms or rejects it on its 待审批 screen.

use fieldbook_shared::calendar;
use fieldbook_shared::credit::WarningKind;
use fieldbook_shared::desk::{self, Decision};
use yew::prelude::*;

use crate::ctx::Ctx;
use crate::i18n::M;
use crate::screens::{new_id, value_of};
use crate::store;

use super::CardProps;

const KINDS: [WarningKind; 4] = [
    WarningKind::AgencyFeeAbuse,
    WarningKind::DeliberateArrears,
    WarningKind::PremiumFraud,
    WarningKind::Other,
];

#[function_component(ReportCredit)]
pub fn report_credit(p: &CardProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let open = use_state(|| false);
    let kind = use_state(|| WarningKind::DeliberateArrears);
    let note = use_state(String::new);
    let error = use_state(|| None::<String>);
    let Some(row) = ctx.store.borrow().row(&p.doc_id) else {
        return html! {};
    };
    let (name, code) = (row.customer.name.clone(), row.customer.credit_code.clone());
    let desk = ctx.store.borrow().desk();
    let last = desk
        .requests
        .iter()
        .rfind(|r| r.kind == "report_warning" && r.name == name);
    let standing = last.map(|r| match desk.outcome(&r.id) {
        None => (ctx.t(M::AwaitingSync).to_string(), "pending"),
        Some(o) if o.ok => (crate::i18n::pick(&o.message), "ok"),
        Some(o) => (
            format!("{}：{}", ctx.t(M::NotDone), crate::i18n::pick(&o.message)),
            "refused",
        ),
    });
    let send = {
        let (store, kind, note, error, open) = (
            ctx.store.clone(),
            kind.clone(),
            note.clone(),
            error.clone(),
            open.clone(),
        );
        Callback::from(move |_| {
            let now = js_sys::Date::now() as i64;
            let r = Decision::ReportWarning {
                name: name.clone(),
                credit_code: code.clone(),
                kind: *kind,
                note: note.trim().to_string(),
            }
            .request(
                &new_id("r"),
                &format!("{} {}", calendar::day_of(now), calendar::time_of(now)),
            );
            let (store, error, open, note) =
                (store.clone(), error.clone(), open.clone(), note.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match store::desk_edit(&store, |d| d.transact(|tx| desk::request(tx, &r))).await {
                    Ok(Ok(_)) => {
                        error.set(None);
                        open.set(false);
                        note.set(String::new());
                    }
                    Ok(Err(e)) => error.set(Some(crate::i18n::pick(&e.error.to_string()))),
                    Err(e) => error.set(Some(e.to_string())),
                }
            });
        })
    };
    html! {
        <div class="report-credit">
            if let Some((text, class)) = &standing {
                <span class={classes!("decision", *class)}>{ format!("{}：{}", ctx.t(M::BadCreditReport), text) }</span>
            }
            if *open {
                <div class="card report-credit-form">
                    <label>{ ctx.t(M::BadCreditKind) }
                        <select name="credit_kind" onchange={let k = kind.clone(); Callback::from(move |e: Event| {
                            if let Some(x) = WarningKind::parse(&value_of(&e)) { k.set(x) }
                        })}>
                            { for KINDS.iter().map(|k| html! { <option value={k.as_str()} selected={*kind == *k}>{ crate::i18n::label(k) }</option> }) }
                        </select>
                    </label>
                    <label>{ ctx.t(M::WhatHappened) }
                        <textarea name="credit_note" value={(*note).clone()}
                            oninput={let n = note.clone(); Callback::from(move |e: InputEvent| n.set(value_of(&e.into())))} />
                    </label>
                    <button class="primary send-report" onclick={send}>{ ctx.t(M::SendReport) }</button>
                    <button onclick={let o = open.clone(); move |_| o.set(false)}>{ ctx.t(M::Cancel) }</button>
                    if let Some(e) = &*error { <p class="error">{ e.clone() }</p> }
                </div>
            } else {
                <button class="report-credit-button" onclick={let o = open.clone(); move |_| o.set(true)}>{ ctx.t(M::ReportBadCredit) }</button>
            }
        </div>
    }
}
