//! 月末核实, the month-end review: a head picks a month and one of the
//! managers below them, reads what the manager did that month — visits with
//! their content, follow-ups closed, care given, the work log's notes, the
//! hand-in — spot-checks a visit (抽查) and marks the month reviewed with a
//! comment the manager reads. Hand-ins, notes and reviews come from
//! `GET /api/worklogs` (kept for offline reading); the rest from the customer
//! documents on this tablet. Checks and reviews are desk requests, as in 待审批.

use fieldbook_shared::api::ManagerMonth;
use fieldbook_shared::desk::{Decision, Desk};
use fieldbook_shared::itinerary;
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::http;
use crate::i18n::M;
use crate::screens::approvals::{badge, decide, open, standing_of};
use crate::screens::value_of;

/// Where the latest request of `kind` on (`target`, `value`) stands.
fn standing(
    ctx: &Ctx,
    desk: &Desk,
    kind: &str,
    target: &str,
    value: &str,
) -> Option<(String, &'static str)> {
    desk.requests
        .iter()
        .rfind(|r| r.kind == kind && r.target == target && r.value == value)
        .map(|r| standing_of(ctx, desk, r))
}

#[function_component(ReviewScreen)]
pub fn review_screen() -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let token = ctx.store.borrow().session.token.clone();
    let month = use_state(|| fieldbook_shared::calendar::month_of(js_sys::Date::now() as i64));
    let managers = use_state(|| None::<Vec<ManagerMonth>>);
    let chosen = use_state(|| None::<String>);
    let message = use_state(|| None::<String>);
    let error = use_state(|| None::<String>);
    let desk = ctx.store.borrow().desk();
    let took_effect = desk.outcomes.iter().filter(|o| o.ok).count();
    {
        let (managers, message) = (managers.clone(), message.clone());
        use_effect_with(((*month).clone(), took_effect), move |(month, _)| {
            let path = format!("/api/worklogs?month={month}");
            wasm_bindgen_futures::spawn_local(async move {
                match http::get_kept(&path, &token).await {
                    Ok((200, body, kept)) => {
                        message.set(kept.map(|at| {
                            crate::i18n::pick(&format!(
                                "离线：显示本机保存的 {} 的数据 / offline: the copy kept at {}",
                                crate::widgets::local_time(&at),
                                crate::widgets::local_time(&at)
                            ))
                        }));
                        managers.set(serde_json::from_str(&body).ok());
                    }
                    Ok((_, body, _)) => {
                        managers.set(None);
                        message.set(Some(http::error_text(&body)));
                    }
                    Err(_) => {
                        managers.set(None);
                        message.set(Some(crate::i18n::pick(
                            "离线，本机还没有这个月的数据 / offline, and this month was never loaded here",
                        )));
                    }
                }
            });
        });
    }
    let on_decide = {
        let (store, error) = (ctx.store.clone(), error.clone());
        Callback::from(move |d: (Decision, String)| decide(&store, error.clone(), d))
    };
    let list = managers.as_deref().unwrap_or_default();
    let picked = chosen
        .as_ref()
        .and_then(|u| list.iter().find(|m| &m.username == u));
    html! {
        <section class="review">
            <div class="toolbar">
                <button onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Customers)}>{ format!("‹ {}", ctx.t(M::Back)) }</button>
                <h2>{ ctx.t(M::MonthReview) }</h2>
                <input type="month" name="month" value={(*month).clone()}
                    onchange={let m = month.clone(); Callback::from(move |e: Event| {
                        let v = value_of(&e);
                        if fieldbook_shared::desk::is_month(&v) { m.set(v) }
                    })} />
            </div>
            if let Some(m) = &*message { <p class="note kept">{ m.clone() }</p> }
            if let Some(e) = &*error { <p class="error">{ e.clone() }</p> }
            <div class="card managers">
                <h3>{ ctx.t(M::Managers) }</h3>
                <ul class="manager-list">
                    { for list.iter().map(|m| {
                        let pick = { let c = chosen.clone(); let u = m.username.clone(); move |_| c.set(Some(u.clone())) };
                        let current = chosen.as_deref() == Some(m.username.as_str());
                        html! {
                            <li class={classes!("manager", current.then_some("chosen"))} data-user={m.username.clone()}>
                                <button class="pick-manager" onclick={pick}>{ format!("{} · {}", m.display_name, m.unit_name) }</button>
                                <span class={classes!("badge", if m.handed_in.is_some() { "ok" } else { "due" })}>
                                    { ctx.t(if m.handed_in.is_some() { M::HandedIn } else { M::NotHandedIn }) }
                                </span>
                                <span class={classes!("badge", if m.review.is_some() { "ok" } else { "todo" })}>
                                    { ctx.t(if m.review.is_some() { M::Reviewed } else { M::NotReviewed }) }
                                </span>
                            </li>
                        }
                    }) }
                </ul>
                if picked.is_none() { <p class="empty">{ ctx.t(M::ChooseManager) }</p> }
            </div>
            if let Some(m) = picked {
                <ManagerMonthView month={(*month).clone()} manager={m.clone()} on_decide={on_decide} />
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct MonthProps {
    month: String,
    manager: ManagerMonth,
    on_decide: Callback<(Decision, String)>,
}

#[function_component(ManagerMonthView)]
fn manager_month(p: &MonthProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let comment = use_state(String::new);
    let checking = use_state(|| None::<(String, String)>);
    let check_text = use_state(String::new);
    let store = ctx.store.borrow();
    let rows = store.rows_by_name();
    let customers: Vec<(&str, &fieldbook_shared::customer::Customer)> = rows
        .iter()
        .map(|r| (r.doc_id.as_str(), &r.customer))
        .collect();
    let log = itinerary::month_log(&customers, &p.manager.username, &p.month);
    let desk = ctx.store.borrow().desk();
    let m = &p.manager;
    let review_state = standing(&ctx, &desk, "review_month", &m.username, &p.month);
    let mark = p.on_decide.reform({
        let (who, month, comment, name) = (
            m.username.clone(),
            p.month.clone(),
            comment.clone(),
            m.display_name.clone(),
        );
        move |_| {
            (
                Decision::ReviewMonth {
                    manager: who.clone(),
                    month: month.clone(),
                    comment: comment.trim().to_string(),
                },
                format!("{name} · {month}"),
            )
        }
    });
    let record_check = {
        let (on_decide, checking, check_text) =
            (p.on_decide.clone(), checking.clone(), check_text.clone());
        Callback::from(move |about: String| {
            if let Some((doc, visit)) = (*checking).clone() {
                on_decide.emit((
                    Decision::SpotCheck {
                        doc,
                        visit,
                        comment: check_text.trim().to_string(),
                    },
                    about,
                ));
                checking.set(None);
                check_text.set(String::new());
            }
        })
    };
    html! {
        <div class="card manager-month" data-user={m.username.clone()}>
            <h3>{ format!("{} · {}", m.display_name, p.month) }</h3>
            <p class="hand-in-state">
                { match &m.handed_in {
                    Some((at, note)) => format!("{} · {}{}", ctx.t(M::HandedIn), at, if note.is_empty() { String::new() } else { format!(" · {note}") }),
                    None => ctx.t(M::NotHandedIn).to_string(),
                } }
            </p>
            <h4>{ format!("{}（{}）", ctx.t(M::Visits), log.visits.len()) }</h4>
            <ul class="month-visits">
                { for log.visits.iter().map(|(doc, name, v)| {
                    let s = standing(&ctx, &desk, "spot_check", doc, &v.id);
                    let checks = ctx.store.borrow().spot_checks(doc, &v.id);
                    let this = Some((doc.clone(), v.id.clone()));
                    let about = format!("{} · {} {}", name, v.date, v.purpose);
                    html! {
                        <li class="month-visit" data-visit={v.id.clone()}>
                            <div class="when">{ format!("{} {} · {} · {}", v.date, v.time, name, crate::i18n::label(&v.kind)) }</div>
                            <div class="purpose">{ &v.purpose }</div>
                            <div class="summary">{ &v.summary }</div>
                            { for checks.iter().map(|c| html! { <div class="spot-check">{ format!("{}：{}（{}）", ctx.t(M::SpotCheck), c.comment, c.by) }</div> }) }
                            { badge(&s) }
                            if *checking == this {
                                <div class="actions">
                                    <input name="check" placeholder={ctx.t(M::CheckPlaceholder)} value={(*check_text).clone()}
                                        oninput={let t = check_text.clone(); Callback::from(move |e: InputEvent| t.set(value_of(&e.into())))} />
                                    <button class="primary record-check" disabled={check_text.trim().is_empty()}
                                        onclick={let r = record_check.clone(); move |_| r.emit(about.clone())}>{ ctx.t(M::RecordCheck) }</button>
                                </div>
                            } else if open(&s) {
                                <button class="spot-check-button" onclick={let c = checking.clone(); move |_| c.set(this.clone())}>{ ctx.t(M::SpotCheck) }</button>
                            }
                        </li>
                    }
                }) }
            </ul>
            <h4>{ format!("{}（{}）", ctx.t(M::FollowUpsClosed), log.follow_ups_closed.len()) }</h4>
            <ul>{ for log.follow_ups_closed.iter().map(|(c, f)| html! { <li>{ format!("{} · {} · {} · {}", f.closed_on, c, f.action, f.result) }</li> }) }</ul>
            <h4>{ format!("{}（{}）", ctx.t(M::CareGiven), log.care.len()) }</h4>
            <ul>{ for log.care.iter().map(|(c, g)| html! { <li>{ format!("{} · {} · {} · {}", g.date, c, g.occasion, g.what) }</li> }) }</ul>
            <h4>{ format!("{}（{}）", ctx.t(M::DayNotes), m.notes.len()) }</h4>
            <ul class="month-notes">{ for m.notes.iter().map(|(d, t, x)| html! { <li>{ format!("{d} {t} · {x}") }</li> }) }</ul>
            <div class="review-box">
                if let Some((by, text, at)) = &m.review {
                    <p class="reviewed">{ format!("{}：{}（{} · {}）", ctx.t(M::Reviewed), text, by, crate::widgets::local_time(at)) }</p>
                }
                { badge(&review_state) }
                if open(&review_state) {
                    <textarea name="review_comment" placeholder={ctx.t(M::ReviewComment)} value={(*comment).clone()}
                        oninput={let c = comment.clone(); Callback::from(move |e: InputEvent| c.set(value_of(&e.into())))} />
                    <button class="primary mark-reviewed" onclick={mark}>{ ctx.t(M::MarkReviewed) }</button>
                }
            </div>
        </div>
    }
}
