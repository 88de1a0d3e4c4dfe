//! The itinerary 出访计划 and the work log 工作日志, offline: the chosen
//! day's planned visits first (each becomes a visit log in one tap), the
//! week after it, and what the day's log holds — visits, calls, follow-ups
//! closed, care given — from the documents on this device.

use fieldbook_shared::calendar::Day;
use fieldbook_shared::itinerary::{self, Planned};
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::i18n::M;
use crate::screens::value_of;
use crate::store::today;

#[function_component(PlanScreen)]
pub fn plan_screen() -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let day = use_state(today);
    let me = ctx.store.borrow().session.user.username.clone();
    let rows = ctx.store.borrow().rows();
    let customers: Vec<(&str, &fieldbook_shared::customer::Customer)> = rows
        .iter()
        .map(|r| (r.doc_id.as_str(), &r.customer))
        .collect();
    let week_end = Day::parse(&day)
        .map(|d| d.plus(7).to_string())
        .unwrap_or_else(|| (*day).clone());
    let plans = itinerary::itinerary(&customers, &me, &day, &week_end);
    let (on_day, later): (Vec<&Planned>, Vec<&Planned>) =
        plans.iter().partition(|p| p.date == *day);
    let only: Vec<&fieldbook_shared::customer::Customer> =
        rows.iter().map(|r| &r.customer).collect();
    let log = itinerary::work_log(&only, &me, &day);
    let item = |p: &&Planned| {
        let go = ctx.go.clone();
        let route = if p.plan_id.is_empty() {
            Route::LogVisit(p.doc_id.clone())
        } else {
            Route::LogPlanned(p.doc_id.clone(), p.plan_id.clone())
        };
        html! {
            <li class={classes!("planned", p.done.then_some("done"))} data-plan={p.plan_id.clone()}>
                <span class="when">{ &p.date }</span>
                <strong>{ &p.customer }</strong>
                <span class="purpose">{ &p.purpose }</span>
                if p.done {
                    <span class="badge ok">{ ctx.t(M::VisitMade) }</span>
                } else {
                    <button class="primary log-planned" onclick={move |_| go.emit(route.clone())}>{ ctx.t(M::LogVisit) }</button>
                }
            </li>
        }
    };
    let lines = |title: M, entries: Vec<String>, class: &'static str| {
        html! {
            <div class={classes!("log-part", class)}>
                <h4>{ format!("{}（{}）", ctx.t(title), entries.len()) }</h4>
                <ul>{ for entries.iter().map(|e| html! { <li>{ e.clone() }</li> }) }</ul>
            </div>
        }
    };
    html! {
        <section class="plan">
            <div class="toolbar">
                <button onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Customers)}>{ format!("‹ {}", ctx.t(M::Back)) }</button>
                <h2>{ ctx.t(M::Itinerary) }</h2>
                <input type="date" name="day" value={(*day).clone()}
                    onchange={let d = day.clone(); Callback::from(move |e: Event| { let v = value_of(&e); if Day::parse(&v).is_some() { d.set(v) } })} />
            </div>
            <div class="card day-plan">
                <h3>{ format!("{} · {}", ctx.t(M::DayPlan), *day) }</h3>
                if on_day.is_empty() { <p class="empty">{ ctx.t(M::NothingPlanned) }</p> }
                <ul class="planned-list">{ for on_day.iter().map(item) }</ul>
            </div>
            <div class="card week-plan">
                <h3>{ ctx.t(M::NextSevenDays) }</h3>
                <ul class="planned-list">{ for later.iter().map(item) }</ul>
            </div>
            <div class="card work-log">
                <h3>{ format!("{} · {}", ctx.t(M::WorkLog), *day) }</h3>
                if log.is_empty() { <p class="empty">{ ctx.t(M::NothingLogged) }</p> }
                { lines(M::Visits, log.visits.iter().map(|(c, v)| format!("{} {} · {} · {}", v.time, c, v.purpose, v.summary)).collect(), "visits") }
                { lines(M::Calls, log.calls.iter().map(|(c, v)| format!("{} {} · {}", v.time, c, v.summary)).collect(), "calls") }
                { lines(M::FollowUpsClosed, log.follow_ups_closed.iter().map(|(c, f)| format!("{} · {} · {}", c, f.action, f.result)).collect(), "follow-ups") }
                { lines(M::CareGiven, log.care.iter().map(|(c, g)| format!("{} · {} · {}", c, g.occasion, g.what)).collect(), "care") }
            </div>
        </section>
    }
}
