//! The 督办 list: every follow-up of the customers on this device, by state
//! (open, overdue, done, all), offline; a tap opens the customer at its
//! follow-ups card, where the steps are taken. Overdue is the shared rule.

use fieldbook_shared::followups::{self, Filter};
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::i18n::M;
use crate::screens::customer::followups::state_badges;
use crate::store::today;

#[function_component(FollowUpsScreen)]
pub fn follow_ups_screen() -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let filter = use_state(|| Filter::Open);
    let store = ctx.store.borrow();
    let rows = store.rows_by_name();
    let today = today();
    let count = |f: Filter| {
        rows.iter()
            .map(|r| followups::of(&r.customer, f, &today).len())
            .sum::<usize>()
    };
    let mut shown: Vec<_> = rows
        .iter()
        .flat_map(|r| {
            followups::of(&r.customer, *filter, &today)
                .into_iter()
                .map(move |(v, f)| (r, v.date.clone(), f.clone()))
        })
        .collect();
    // Overdue first, then by due day (none last).
    shown.sort_by(|a, b| {
        let key = |x: &(_, String, fieldbook_shared::customer::FollowUp)| {
            (!x.2.is_overdue(&today), x.2.due.is_empty(), x.2.due.clone())
        };
        key(a).cmp(&key(b))
    });
    let tab = |f: Filter, m: M| {
        let filter = filter.clone();
        let active = *filter == f;
        html! {
            <button class={classes!("tab", active.then_some("active"))} aria-pressed={active.to_string()}
                data-filter={format!("{f:?}").to_lowercase()}
                onclick={move |_| filter.set(f)}>{ format!("{}（{}）", ctx.t(m), count(f)) }</button>
        }
    };
    html! {
        <section class="follow-ups-list">
            <div class="toolbar">
                <button onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Customers)}>{ format!("‹ {}", ctx.t(M::Back)) }</button>
                <h2>{ ctx.t(M::FollowUpsList) }</h2>
            </div>
            <div class="tabs">
                { tab(Filter::Open, M::FilterOpen) }
                { tab(Filter::Overdue, M::FilterOverdue) }
                { tab(Filter::Done, M::FilterDone) }
                { tab(Filter::All, M::FilterAll) }
            </div>
            <div class="card">
                if shown.is_empty() { <p class="empty">{ ctx.t(M::NoFollowUps) }</p> }
                <ul class="follow-up-rows">{ for shown.iter().map(|(r, visit_date, f)| {
                    let go = ctx.go.clone();
                    let id = r.doc_id.clone();
                    html! {
                        <li class="link follow-up-row" data-follow-up={f.id.clone()} onclick={move |_| go.emit(Route::Customer(id.clone()))}>
                            <div class="what">{ state_badges(&ctx, f, &today) }<strong>{ &f.action }</strong>{ format!(" · {}", r.customer.name) }</div>
                            <div class="meta">{ format!("{} {} · {} {} · {} {}", ctx.t(M::FollowUpDue), if f.due.is_empty() { "—" } else { f.due.as_str() }, ctx.t(M::FollowUpOwner), if f.owner.is_empty() { "—" } else { f.owner.as_str() }, ctx.t(M::RaisedOnVisit), visit_date) }</div>
                            if !f.is_open() { <div class="result">{ format!("{}：{}", ctx.t(M::FollowUpResult), f.result) }</div> }
                        </li>
                    }
                }) }</ul>
            </div>
        </section>
    }
}
