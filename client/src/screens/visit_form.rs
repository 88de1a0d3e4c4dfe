//! Log a visit: every field of the visit record; the date defaults to today.
//! "Saved" is shown only once the visit is in IndexedDB.

use fieldbook_shared::customer::{self, FollowUp, Visit};
use fieldbook_shared::vocab::VisitKind;
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::i18n::M;
use crate::screens::{new_id, value_of};
use crate::store::{self, today};
use crate::widgets::CreditWarning;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub doc_id: String,
}

#[function_component(VisitForm)]
pub fn visit_form(p: &Props) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let me = ctx.store.borrow().session.user.username.clone();
    // The visit and its follow-up as typed, kept as a draft: a reload or a
    // killed tab loses nothing (`drafts.rs`).
    let form = use_state(|| {
        (
            Visit {
                id: new_id("v"),
                date: today(),
                visitors: vec![me.clone()],
                ..Default::default()
            },
            FollowUp {
                owner: me.clone(),
                ..Default::default()
            },
        )
    });
    let draft_key = crate::drafts::key(&me, &format!("visit/{}", p.doc_id));
    crate::drafts::use_draft(draft_key.clone(), form.clone());
    let (visit, follow) = (&form.0, &form.1);
    let state = use_state(|| None::<Result<(), String>>);
    let Some(row) = ctx.store.borrow().row(&p.doc_id) else {
        return html! {};
    };

    let set = |f: fn(&mut Visit, String)| {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let mut x = (*form).clone();
            f(&mut x.0, value_of(&e));
            form.set(x);
        })
    };
    let set_f = |f: fn(&mut FollowUp, String)| {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let mut x = (*form).clone();
            f(&mut x.1, value_of(&e));
            form.set(x);
        })
    };
    let toggle_contact = |id: String| {
        let form = form.clone();
        Callback::from(move |_| {
            let mut x = (*form).clone();
            let met = &mut x.0.contacts_met;
            if let Some(i) = met.iter().position(|c| *c == id) {
                met.remove(i);
            } else {
                met.push(id.clone());
            }
            form.set(x);
        })
    };
    let onsubmit = {
        let (form, state, store, doc, go, draft_key) = (
            form.clone(),
            state.clone(),
            ctx.store.clone(),
            p.doc_id.clone(),
            ctx.go.clone(),
            draft_key.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (mut v, f) = (*form).clone();
            if v.date.is_empty() {
                state.set(Some(Err("date".into())));
                return;
            }
            if !f.action.trim().is_empty() {
                v.follow_ups.push(FollowUp {
                    id: new_id("f"),
                    ..f
                });
            }
            let (state, store, doc, go, draft_key) = (
                state.clone(),
                store.clone(),
                doc.clone(),
                go.clone(),
                draft_key.clone(),
            );
            state.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                let r = store::edit(&store, &doc, |d| {
                    d.transact(|tx| customer::add_visit(tx, &v))
                        .map(|_| ())
                        .map_err(|e| e.error.to_string())
                })
                .await;
                match r.map_err(|e| e.to_string()).and_then(|x| x) {
                    Ok(()) => {
                        crate::drafts::discard(&draft_key).await;
                        state.set(Some(Ok(())));
                        go.emit(Route::Customer(doc));
                    }
                    Err(e) => state.set(Some(Err(e))),
                }
            });
        })
    };
    html! {
        <form class="visit-form" {onsubmit}>
            <div class="toolbar">
                <button type="button" onclick={let go = ctx.go.clone(); let id = p.doc_id.clone(); let key = draft_key.clone(); move |_| {
                    // Leaving the form on purpose: its draft goes (after any
                    // save already queued: IndexedDB keeps their order).
                    go.emit(Route::Customer(id.clone()));
                    let key = key.clone();
                    wasm_bindgen_futures::spawn_local(async move { crate::drafts::discard(&key).await });
                }}>{ format!("‹ {}", ctx.t(M::Back)) }</button>
                <h2>{ format!("{} · {}", ctx.t(M::LogVisit), row.customer.name) }</h2>
            </div>
            <CreditWarning name={row.customer.name.clone()} credit_code={row.customer.credit_code.clone()} />
            <div class="grid">
                <label>{ ctx.t(M::Date) }<input name="date" type="date" required=true value={visit.date.clone()} onchange={set(|v, x| v.date = x)} /></label>
                <label>{ ctx.t(M::Time) }<input name="time" type="time" value={visit.time.clone()} onchange={set(|v, x| v.time = x)} /></label>
                <label>{ ctx.t(M::Kind) }
                    <select name="kind" onchange={set(|v, x| v.kind = VisitKind::parse(&x))}>
                        { for VisitKind::ALL.iter().map(|k| html! { <option value={k.as_str().to_string()} selected={visit.kind == *k}>{ k.label_zh() }</option> }) }
                    </select>
                </label>
                <label>{ ctx.t(M::Visitors) }<input name="visitors" value={visit.visitors.join(", ")}
                    onchange={set(|v, x| v.visitors = x.split([',', '，']).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())} /></label>
            </div>
            <fieldset>
                <legend>{ ctx.t(M::ContactsMet) }</legend>
                { for row.customer.contacts.iter().map(|c| html! {
                    <label class="check"><input type="checkbox" name="contacts_met" value={c.id.clone()} checked={visit.contacts_met.contains(&c.id)} onchange={toggle_contact(c.id.clone())} />{ format!("{}（{}）", c.name, c.role.label_zh()) }</label>
                }) }
            </fieldset>
            <label>{ ctx.t(M::Purpose) }<input name="purpose" value={visit.purpose.clone()} onchange={set(|v, x| v.purpose = x)} /></label>
            <label>{ ctx.t(M::Summary) }<textarea name="summary" value={visit.summary.clone()} onchange={set(|v, x| v.summary = x)} /></label>
            <label>{ ctx.t(M::Needs) }<textarea name="needs" value={visit.needs.clone()} onchange={set(|v, x| v.needs = x)} /></label>
            <label>{ ctx.t(M::Opinions) }<textarea name="opinions" value={visit.opinions.clone()} onchange={set(|v, x| v.opinions = x)} /></label>
            <label>{ ctx.t(M::ComplaintsText) }<textarea name="complaints" value={visit.complaints.clone()} onchange={set(|v, x| v.complaints = x)} /></label>
            <label>{ ctx.t(M::CompetitorNews) }<textarea name="competitor_news" value={visit.competitor_news.clone()} onchange={set(|v, x| v.competitor_news = x)} /></label>
            <fieldset class="grid">
                <legend>{ ctx.t(M::FollowUps) }</legend>
                <label>{ ctx.t(M::FollowUpAction) }<input name="follow_action" value={follow.action.clone()} onchange={set_f(|f, x| f.action = x)} /></label>
                <label>{ ctx.t(M::FollowUpOwner) }<input name="follow_owner" value={follow.owner.clone()} onchange={set_f(|f, x| f.owner = x)} /></label>
                <label>{ ctx.t(M::FollowUpDue) }<input name="follow_due" type="date" value={follow.due.clone()} onchange={set_f(|f, x| f.due = x)} /></label>
            </fieldset>
            <label>{ ctx.t(M::NextVisit) }<input name="next_visit" type="date" value={visit.next_visit.clone()} onchange={set(|v, x| v.next_visit = x)} /></label>
            if let Some(Err(e)) = &*state { <p class="error" role="alert">{ e }</p> }
            <button type="submit" class="primary">{ ctx.t(M::Save) }</button>
        </form>
    }
}
