//! The itinerary 出访计划 and the work log 工作日志, offline: the chosen
//! day's planned visits first (each becomes a visit log in one tap), the
//! week after it, and what the day's log holds — visits, calls, follow-ups
//! closed, care given — from the documents on this device — with the day's
//! free notes, and the month's hand-in 月末提交 (both kept in the user's desk,
//! shared/src/desk.rs).

use fieldbook_shared::calendar::{self, Day};
use fieldbook_shared::desk::{self, DayNote, Submission};
use fieldbook_shared::itinerary::{self, Planned};
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::i18n::M;
use crate::screens::{new_id, value_of};
use crate::store::{self, today};

#[function_component(PlanScreen)]
pub fn plan_screen() -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let day = use_state(today);
    let me = ctx.store.borrow().session.user.username.clone();
    let store = ctx.store.borrow();
    let rows = store.rows_by_name();
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
    let desk = ctx.store.borrow().desk();
    let note = use_state(String::new);
    let word = use_state(String::new);
    let error = use_state(|| None::<String>);
    let busy = use_state(|| false);
    let add_note = {
        let (store, note, error, busy, day) = (
            ctx.store.clone(),
            note.clone(),
            error.clone(),
            busy.clone(),
            (*day).clone(),
        );
        Callback::from(move |_| {
            let text = note.trim().to_string();
            if text.is_empty() || *busy {
                return;
            }
            let n = DayNote {
                id: new_id("n"),
                day: day.clone(),
                time: calendar::time_of(js_sys::Date::now() as i64),
                text,
            };
            let (store, note, error, busy) =
                (store.clone(), note.clone(), error.clone(), busy.clone());
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let r = store::desk_edit(&store, |d| d.transact(|tx| desk::add_note(tx, &n))).await;
                busy.set(false);
                match r {
                    Ok(Ok(_)) => {
                        note.set(String::new());
                        error.set(None);
                    }
                    Ok(Err(e)) => error.set(Some(crate::i18n::pick(&e.error.to_string()))),
                    Err(e) => error.set(Some(e.to_string())),
                }
            });
        })
    };
    // The month of the chosen day is handed in (the previous month, in its
    // first days, by choosing a day in it).
    let month = day.get(..7).unwrap_or_default().to_string();
    let this_month = calendar::month_of(js_sys::Date::now() as i64);
    let hand_in = {
        let (store, word, error, busy, month, this_month) = (
            ctx.store.clone(),
            word.clone(),
            error.clone(),
            busy.clone(),
            month.clone(),
            this_month.clone(),
        );
        Callback::from(move |_| {
            if *busy {
                return;
            }
            let now = js_sys::Date::now() as i64;
            let s = Submission {
                id: new_id("s"),
                month: month.clone(),
                at: format!("{} {}", calendar::day_of(now), calendar::time_of(now)),
                note: word.trim().to_string(),
            };
            let (store, word, error, busy, this_month) = (
                store.clone(),
                word.clone(),
                error.clone(),
                busy.clone(),
                this_month.clone(),
            );
            busy.set(true);
            wasm_bindgen_futures::spawn_local(async move {
                let r = store::desk_edit(&store, |d| {
                    d.transact(|tx| desk::submit(tx, &s, &this_month))
                })
                .await;
                busy.set(false);
                match r {
                    Ok(Ok(_)) => {
                        word.set(String::new());
                        error.set(None);
                    }
                    Ok(Err(e)) => error.set(Some(crate::i18n::pick(&e.error.to_string()))),
                    Err(e) => error.set(Some(e.to_string())),
                }
            });
        })
    };
    let submitted = desk.submission(&month).cloned();
    let submitted_state = submitted.as_ref().map(|s| match desk.outcome(&s.id) {
        None => (ctx.t(M::AwaitingSync).to_string(), "pending"),
        Some(o) if o.ok => (format!("{} · {}", ctx.t(M::HandedIn), s.at), "ok"),
        Some(o) => (
            format!("{}：{}", ctx.t(M::NotDone), crate::i18n::pick(&o.message)),
            "refused",
        ),
    });
    let notes: Vec<DayNote> = desk.notes_of(&day).cloned().collect();
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
                if log.is_empty() && notes.is_empty() { <p class="empty">{ ctx.t(M::NothingLogged) }</p> }
                { lines(M::Visits, log.visits.iter().map(|(c, v)| format!("{} {} · {} · {}", v.time, c, v.purpose, v.summary)).collect(), "visits") }
                { lines(M::Calls, log.calls.iter().map(|(c, v)| format!("{} {} · {}", v.time, c, v.summary)).collect(), "calls") }
                { lines(M::FollowUpsClosed, log.follow_ups_closed.iter().map(|(c, f)| format!("{} · {} · {}", c, f.action, f.result)).collect(), "follow-ups") }
                { lines(M::CareGiven, log.care.iter().map(|(c, g)| format!("{} · {} · {}", c, g.occasion, g.what)).collect(), "care") }
                { lines(M::DayNotes, notes.iter().map(|n| format!("{} {}", n.time, n.text)).collect(), "notes") }
                <div class="add-note">
                    <textarea name="note" rows="2" placeholder={ctx.t(M::NotePlaceholder)} value={(*note).clone()}
                        oninput={let n = note.clone(); Callback::from(move |e: InputEvent| n.set(value_of(&e.into())))} />
                    <button class="add-note-button" disabled={note.trim().is_empty() || *busy} onclick={add_note}>{ ctx.t(M::AddNote) }</button>
                </div>
            </div>
            <div class="card hand-in" data-month={month.clone()}>
                <h3>{ format!("{} · {}", ctx.t(M::HandIn), month) }</h3>
                <p class={classes!("hand-in-state", submitted_state.as_ref().map(|s| s.1))}>
                    { submitted_state.as_ref().map(|s| s.0.clone()).unwrap_or_else(|| ctx.t(M::NotHandedIn).to_string()) }
                </p>
                if let Some(r) = ctx.store.borrow().review(&month) {
                    <p class="month-reviewed">{ format!("{}：{}（{} · {}）", ctx.t(M::ReviewedBy), if r.comment.is_empty() { ctx.t(M::Reviewed).to_string() } else { r.comment.clone() }, r.by, crate::widgets::local_time(&r.at)) }</p>
                }
                if month <= this_month {
                    <input name="hand-in-note" placeholder={ctx.t(M::HandInNote)} value={(*word).clone()}
                        oninput={let w = word.clone(); Callback::from(move |e: InputEvent| w.set(value_of(&e.into())))} />
                    <button class="primary hand-in-button" disabled={*busy} onclick={hand_in}>
                        { ctx.t(if submitted.is_some() { M::HandInAgain } else { M::HandInLog }) }
                    </button>
                }
                if let Some(e) = &*error { <p class="error">{ e.clone() }</p> }
            </div>
        </section>
    }
}
