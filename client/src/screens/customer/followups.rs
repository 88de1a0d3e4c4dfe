//! The follow-ups card 督办 (谁走访谁督办): each follow-up raised on a visit,
//! open ones first, and the steps a manager takes on one — start, forward
//! to a line's office, close with the result and whether the customer was
//! told. Offline like every edit; the state is the shared rule's.

use fieldbook_shared::customer::FollowUp;
use fieldbook_shared::followups::{self, Filter, Step};
use fieldbook_shared::vocab::FollowUpState;
use yew::prelude::*;

use crate::ctx::Ctx;
use crate::i18n::M;
use crate::screens::value_of;
use crate::store::today;

use super::CardProps;

/// A step being written: (follow-up id, forward to, result, customer told).
#[derive(Clone, Default, PartialEq)]
struct Writing {
    id: String,
    forward_to: String,
    result: String,
    told: bool,
}

/// A follow-up's state as a badge (overdue besides, while open).
pub fn state_badges(ctx: &Ctx, f: &FollowUp, today: &str) -> Html {
    let state = f.state();
    let class = match state {
        FollowUpState::Done => "done",
        FollowUpState::Forwarded => "forwarded",
        FollowUpState::InProgress => "in-progress",
        _ => "open",
    };
    html! {
        <>
            <span class={classes!("badge", "state", class)}>{ crate::i18n::label(&state).to_string() }</span>
            if f.is_overdue(today) { <span class="badge overdue">{ ctx.t(M::FilterOverdue) }</span> }
        </>
    }
}

#[function_component(FollowUpsCard)]
pub fn follow_ups_card(p: &CardProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let writing = use_state(|| None::<Writing>);
    let refused = use_state(|| None::<String>);
    let Some(row) = ctx.store.borrow().row(&p.doc_id) else {
        return Html::default();
    };
    let today = today();
    let all = followups::of(&row.customer, Filter::All, &today);
    let (open, done): (Vec<_>, Vec<_>) = all.into_iter().partition(|(_, f)| f.is_open());
    let differ = ctx.store.borrow().follow_up_conflicts(&p.doc_id);
    let me = ctx.store.borrow().session.user.username.clone();

    // Takes a step offline: stored on the tablet, then synced.
    let take = {
        let (store, doc, writing, refused, me) = (
            ctx.store.clone(),
            p.doc_id.clone(),
            writing.clone(),
            refused.clone(),
            me.clone(),
        );
        Callback::from(move |(id, step): (String, Step)| {
            let (store, doc, writing, refused, me) = (
                store.clone(),
                doc.clone(),
                writing.clone(),
                refused.clone(),
                me.clone(),
            );
            wasm_bindgen_futures::spawn_local(async move {
                let at = js_sys::Date::new_0()
                    .to_iso_string()
                    .as_string()
                    .unwrap_or_default();
                let day = crate::store::today();
                let done = crate::store::edit(&store, &doc, move |d| {
                    d.transact(|tx| followups::take(tx, &id, &step, &me, &day, &at))
                        .map_err(|e| e.error.to_string())
                })
                .await;
                match done {
                    Ok(Ok(_)) => {
                        writing.set(None);
                        refused.set(None);
                    }
                    Ok(Err(why)) => refused.set(Some(crate::i18n::pick(&why))),
                    Err(e) => refused.set(Some(e.to_string())),
                }
            });
        })
    };
    let edit = |f: fn(&mut Writing, String)| {
        let writing = writing.clone();
        Callback::from(move |e: Event| {
            if let Some(mut w) = (*writing).clone() {
                f(&mut w, value_of(&e));
                writing.set(Some(w));
            }
        })
    };

    let item = |(visit, f): &(&fieldbook_shared::customer::Visit, &FollowUp)| {
        let id = f.id.clone();
        let is_writing = writing.as_ref().is_some_and(|w| w.id == id);
        let w = (*writing).clone().unwrap_or_default();
        let step = |s: Step| {
            let (take, id) = (take.clone(), id.clone());
            Callback::from(move |_| take.emit((id.clone(), s.clone())))
        };
        let open_form = {
            let (writing, id) = (writing.clone(), id.clone());
            Callback::from(move |_| {
                writing.set(Some(Writing {
                    id: id.clone(),
                    told: true,
                    ..Default::default()
                }))
            })
        };
        let toggle_told = {
            let writing = writing.clone();
            Callback::from(move |_| {
                if let Some(mut w) = (*writing).clone() {
                    w.told = !w.told;
                    writing.set(Some(w));
                }
            })
        };
        let results = differ
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, r)| r.clone());
        html! {
            <li class={classes!("follow-up", (!f.is_open()).then_some("done"))} data-follow-up={id.clone()}>
                <div class="what">
                    { state_badges(&ctx, f, &today) }
                    <strong>{ &f.action }</strong>
                </div>
                <div class="meta">
                    { format!("{} {} · {} {} · {} {}", ctx.t(M::RaisedOnVisit), visit.date, ctx.t(M::FollowUpOwner), if f.owner.is_empty() { "—" } else { f.owner.as_str() }, ctx.t(M::FollowUpDue), if f.due.is_empty() { "—" } else { f.due.as_str() }) }
                </div>
                if !f.forwarded_to.is_empty() {
                    <div class="forwarded">{ format!("{}：{}", ctx.t(M::ForwardedTo), f.forwarded_to) }</div>
                }
                if !f.is_open() {
                    <div class="result">{ format!("{}：{}", ctx.t(M::FollowUpResult), f.result) }</div>
                    <div class="closed">
                        { format!("{} · {} {} {}", if f.told_customer { format!("{} {}", ctx.t(M::ToldCustomer), f.told_on) } else { ctx.t(M::NotTold).to_string() }, f.closed_by, crate::widgets::local_time(&f.closed_at), ctx.t(M::ClosedByAt)) }
                    </div>
                }
                if let Some(results) = results {
                    <div class="conflict" role="alert">
                        <span class="badge conflict">{ ctx.t(M::ResultsDiffer) }</span>
                        { results.join(" ｜ ") }
                    </div>
                }
                if f.is_open() {
                    if is_writing {
                        <div class="follow-up-form">
                            <label>{ ctx.t(M::FollowUpResult) }
                                <textarea name="follow_result" value={w.result.clone()} onchange={edit(|w, v| w.result = v)} />
                            </label>
                            <label class="check">
                                <input type="checkbox" name="told_customer" checked={w.told} onclick={toggle_told} />
                                { ctx.t(M::ToldCustomer) }
                            </label>
                            <button class="primary close-follow-up" onclick={step(Step::Close { result: w.result.clone(), told_customer: w.told })}>{ ctx.t(M::CloseFollowUp) }</button>
                            <label>{ ctx.t(M::ForwardTo) }
                                <input name="forward_to" value={w.forward_to.clone()} onchange={edit(|w, v| w.forward_to = v)} />
                            </label>
                            <button class="forward-follow-up" disabled={w.forward_to.trim().is_empty()} onclick={step(Step::Forward { to: w.forward_to.clone() })}>{ ctx.t(M::Forward) }</button>
                            <button class="cancel" onclick={let wr = writing.clone(); move |_| wr.set(None)}>{ ctx.t(M::Cancel) }</button>
                        </div>
                    } else {
                        <div class="actions">
                            if f.state() == FollowUpState::Open {
                                <button class="start-follow-up" onclick={step(Step::Start)}>{ ctx.t(M::StartHandling) }</button>
                            }
                            <button class="primary handle-follow-up" onclick={open_form}>{ format!("{} / {}", ctx.t(M::CloseFollowUp), ctx.t(M::Forward)) }</button>
                        </div>
                    }
                }
            </li>
        }
    };

    html! {
        <div class="card follow-ups-card" id="card-follow-ups">
            <h3>{ format!("{}（{}）", ctx.t(M::FollowUps), open.len()) }</h3>
            if let Some(why) = &*refused { <p class="error" role="alert">{ why.clone() }</p> }
            if open.is_empty() && done.is_empty() { <p class="empty">{ ctx.t(M::NoFollowUps) }</p> }
            <ul class="follow-ups">{ for open.iter().map(item) }</ul>
            if !done.is_empty() {
                <details class="done-follow-ups">
                    <summary>{ format!("{}（{}）", ctx.t(M::FilterDone), done.len()) }</summary>
                    <ul class="follow-ups">{ for done.iter().map(item) }</ul>
                </details>
            }
        </div>
    }
}
