//! 申请交接: the customer's manager asks for it to go to another manager
//! (leaving, a move, a better fit), offline too — a request in their desk;
//! a head decides on 待审批, and the hand-over then reaches every tablet.

use fieldbook_shared::calendar;
use fieldbook_shared::desk::{self, Decision};
use fieldbook_shared::vocab::Role;
use yew::prelude::*;

use crate::ctx::Ctx;
use crate::i18n::M;
use crate::screens::approvals::{badge, standing};
use crate::screens::{new_id, value_of};
use crate::store;

use super::CardProps;

#[function_component(HandoverRequest)]
pub fn handover_request(p: &CardProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let form = use_state(|| None::<(String, String)>);
    let error = use_state(|| None::<String>);
    if ctx.store.borrow().session.user.role != Role::Manager {
        return Html::default();
    }
    let desk = ctx.store.borrow().desk();
    let now = standing(&ctx, &desk, &["request_handover"], &p.doc_id);
    let send = {
        let (store, form, error, doc) = (
            ctx.store.clone(),
            form.clone(),
            error.clone(),
            p.doc_id.clone(),
        );
        let name = ctx
            .store
            .borrow()
            .row(&p.doc_id)
            .map(|r| r.customer.name.clone())
            .unwrap_or_default();
        Callback::from(move |_| {
            let Some((to, reason)) = (*form).clone() else {
                return;
            };
            let ms = js_sys::Date::now() as i64;
            let mut r = Decision::RequestHandover {
                doc: doc.clone(),
                to: to.trim().to_string(),
                reason: reason.trim().to_string(),
            }
            .request(
                &new_id("r"),
                &format!("{} {}", calendar::day_of(ms), calendar::time_of(ms)),
            );
            r.about = name.clone();
            let (store, form, error) = (store.clone(), form.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match store::desk_edit(&store, |d| d.transact(|tx| desk::request(tx, &r))).await {
                    Ok(Ok(_)) => {
                        form.set(None);
                        error.set(None);
                    }
                    Ok(Err(e)) => error.set(Some(crate::i18n::pick(&e.error.to_string()))),
                    Err(e) => error.set(Some(e.to_string())),
                }
            });
        })
    };
    html! {
        <div class="handover-request">
            if now.is_some() { <span>{ format!("{}：", ctx.t(M::HandoverRequest)) }</span>{ badge(&now) } }
            if let Some((to, reason)) = &*form {
                <div class="card handover-request-form">
                    <label>{ ctx.t(M::HandTo) }
                        <input name="handover_to" value={to.clone()}
                            onchange={let f = form.clone(); Callback::from(move |e: Event| if let Some((_, r)) = (*f).clone() { f.set(Some((value_of(&e), r))) })} />
                    </label>
                    <label>{ ctx.t(M::Why) }
                        <input name="handover_reason" value={reason.clone()}
                            onchange={let f = form.clone(); Callback::from(move |e: Event| if let Some((t, _)) = (*f).clone() { f.set(Some((t, value_of(&e)))) })} />
                    </label>
                    <button class="primary send-handover-request" disabled={to.trim().is_empty()} onclick={send}>{ ctx.t(M::SendRequest) }</button>
                    <button onclick={let f = form.clone(); move |_| f.set(None)}>{ ctx.t(M::Cancel) }</button>
                    if let Some(e) = &*error { <p class="error">{ e.clone() }</p> }
                </div>
            } else {
                <button class="request-handover" onclick={let f = form.clone(); move |_| f.set(Some((String::new(), String::new())))}>{ ctx.t(M::RequestHandover) }</button>
            }
        </div>
    }
}
