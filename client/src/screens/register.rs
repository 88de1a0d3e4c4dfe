//! Register a new customer (报备), offline too: a new document on this device that
//! becomes a registration when it reaches the server.

use fieldbook_shared::customer::Customer;
use fieldbook_shared::vocab::{Line, Nature};
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::i18n::M;
use crate::screens::value_of;
use crate::store;
use crate::widgets::CreditWarning;

/// The form as typed, kept as a draft (`drafts.rs`).
#[derive(Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct Draft {
    name: String,
    credit_code: String,
    nature: Nature,
    lines: Vec<Line>,
    address: String,
    industry: String,
}

#[function_component(RegisterScreen)]
pub fn register_screen() -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let c = use_state(Draft::default);
    let me = ctx.store.borrow().session.user.username.clone();
    let draft_key = crate::drafts::key(&me, "register");
    crate::drafts::use_draft(draft_key.clone(), c.clone());
    let error = use_state(|| None::<String>);
    let set = |f: fn(&mut Draft, String)| {
        let c = c.clone();
        Callback::from(move |e: Event| {
            let mut x = (*c).clone();
            f(&mut x, value_of(&e));
            c.set(x);
        })
    };
    let toggle = |line: Line| {
        let c = c.clone();
        Callback::from(move |_| {
            let mut x = (*c).clone();
            if let Some(i) = x.lines.iter().position(|l| *l == line) {
                x.lines.remove(i);
            } else {
                x.lines.push(line.clone());
            }
            c.set(x);
        })
    };
    let onsubmit = {
        let (c, error, store, go, draft_key) = (
            c.clone(),
            error.clone(),
            ctx.store.clone(),
            ctx.go.clone(),
            draft_key.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let mut new = Customer::new(&c.name, &c.credit_code, c.nature.clone(), c.lines.clone());
            new.registered_on = crate::store::today();
            let new = Customer {
                address: c.address.clone(),
                industry: c.industry.clone(),
                ..new
            };
            if new.name.is_empty() {
                error.set(Some(crate::i18n::pick("客户名称必填 / a name is required")));
                return;
            }
            let (error, store, go, draft_key) =
                (error.clone(), store.clone(), go.clone(), draft_key.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match store::register(&store, &new).await {
                    Ok(id) => {
                        crate::drafts::discard(&draft_key).await;
                        go.emit(Route::Customer(id))
                    }
                    Err(e) => error.set(Some(e.to_string())),
                }
            });
        })
    };
    html! {
        <form class="register" {onsubmit}>
            <div class="toolbar">
                <button type="button" onclick={let go = ctx.go.clone(); let key = draft_key.clone(); move |_| {
                    // Leaving the form on purpose: its draft goes (after any
                    // save already queued: IndexedDB keeps their order).
                    go.emit(Route::Customers);
                    let key = key.clone();
                    wasm_bindgen_futures::spawn_local(async move { crate::drafts::discard(&key).await });
                }}>{ format!("‹ {}", ctx.t(M::Back)) }</button>
                <h2>{ ctx.t(M::Register) }</h2>
            </div>
            <p class="hint">{ ctx.t(M::RegisterHint) }</p>
            <label>{ format!("{}（{}）", ctx.t(M::CustomerName), ctx.t(M::Required)) }<input name="name" required=true value={c.name.clone()} onchange={set(|c, v| c.name = v)} /></label>
            <label>{ ctx.t(M::CreditCode) }<input name="credit_code" value={c.credit_code.clone()} onchange={set(|c, v| c.credit_code = v)} /></label>
            <CreditWarning name={c.name.clone()} credit_code={c.credit_code.clone()} />
            <label>{ ctx.t(M::Nature) }
                <select name="nature" onchange={set(|c, v| c.nature = Nature::parse(&v))}>
                    { for Nature::ALL.iter().map(|n| html! { <option value={n.as_str().to_string()} selected={c.nature == *n}>{ crate::i18n::label(&n) }</option> }) }
                </select>
            </label>
            <fieldset>
                <legend>{ ctx.t(M::Lines) }</legend>
                { for Line::ALL.iter().map(|l| html! {
                    <label class="check"><input type="checkbox" name="lines" value={l.as_str().to_string()} checked={c.lines.contains(l)} onchange={toggle(l.clone())} />{ crate::i18n::label(&l) }</label>
                }) }
            </fieldset>
            <label>{ ctx.t(M::Address) }<input name="address" value={c.address.clone()} onchange={set(|c, v| c.address = v)} /></label>
            <label>{ ctx.t(M::Industry) }<input name="industry" value={c.industry.clone()} onchange={set(|c, v| c.industry = v)} /></label>
            if let Some(e) = &*error { <p class="error" role="alert">{ e }</p> }
            <button type="submit" class="primary">{ ctx.t(M::Save) }</button>
        </form>
    }
}
