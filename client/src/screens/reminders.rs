//! Today's work, offline: overdue visits, open follow-ups (whoever visits follows
//! up), revenue alerts (异动 and possible churn) and care reminders.

use fieldbook_shared::anomaly::{self, Alert};
use fieldbook_shared::care::{self, Occasion};
use fieldbook_shared::visits::{self, Cadence};
use fieldbook_shared::vocab::Role;
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::i18n::M;
use crate::store::today;

/// How many rows a reminders card shows before "show all".
const FIRST_ROWS: usize = 10;

#[function_component(RemindersScreen)]
pub fn reminders_screen() -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    // Long lists show their first rows and a button for the rest (a head's
    // subtree can hold a hundred reminders).
    let expanded = use_state(std::collections::BTreeSet::<&'static str>::new);
    let store = ctx.store.borrow();
    let rows = store.rows_by_name();
    let today = today();
    let go = |id: &str| {
        let go = ctx.go.clone();
        let id = id.to_string();
        Callback::from(move |_| go.emit(Route::Customer(id.clone())))
    };
    let overdue: Vec<_> = rows
        .iter()
        .filter(|r| r.cadence == Cadence::Overdue)
        .collect();
    let mut follow_ups: Vec<_> = rows
        .iter()
        .flat_map(|r| {
            visits::open_follow_ups(&r.customer)
                .into_iter()
                .map(move |(_, f)| (r, f.clone()))
        })
        .collect();
    follow_ups.sort_by(|a, b| a.1.due.cmp(&b.1.due));
    let rules = ctx.store.borrow().rules().anomaly.clone();
    let mut alerts: Vec<_> = rows
        .iter()
        .flat_map(|r| {
            anomaly::alerts(
                &fieldbook_shared::customer::official(&r.customer.ledger),
                &today[..7],
                &rules,
            )
            .into_iter()
            .map(move |a| (r, a))
        })
        .collect();
    alerts.sort_by(|a, b| a.1.cmp(&b.1));
    // Festivals once; each customer's people's days with the customer, so
    // that a tap opens it to log the care given.
    let mut care: Vec<(Option<&str>, care::Reminder)> =
        care::upcoming(&[], &today, care::DEFAULT_DAYS)
            .into_iter()
            .map(|c| (None, c))
            .collect();
    for r in &rows {
        care.extend(
            care::upcoming(
                std::slice::from_ref(&r.customer),
                &today,
                care::DEFAULT_DAYS,
            )
            .into_iter()
            .filter(|c| !matches!(c.what, Occasion::Festival(_)))
            .map(|c| (Some(r.doc_id.as_str()), c)),
        );
    }
    care.sort_by(|a, b| a.1.cmp(&b.1));
    let today_ref = today.as_str();
    let expiring: Vec<_> = rows
        .iter()
        .flat_map(|r| {
            r.customer
                .agreements
                .iter()
                .filter_map(move |a| a.expires_in(today_ref).map(|d| (r, a.clone(), d)))
        })
        .collect();

    // Satisfaction surveys due (every six months by default).
    let survey_rules = ctx.store.borrow().rules().surveys.clone();
    let surveys_due: Vec<_> = rows
        .iter()
        .filter(|r| fieldbook_shared::surveys::due(&r.customer, &today, &survey_rules))
        .collect();
    // A unit head visits each customer at least once a quarter, in person.
    let (me, role) = {
        let st = ctx.store.borrow();
        (
            st.session.user.username.clone(),
            st.session.user.role.clone(),
        )
    };
    let quarter = visits::quarter_of(&today).unwrap_or_default();
    let head_due: Vec<_> = if role == Role::Head {
        rows.iter()
            .filter(|r| !visits::visited_by_in_quarter(&r.customer, &me, &quarter))
            .collect()
    } else {
        Vec::new()
    };

    let capped = |key: &'static str, rows: Vec<Html>| {
        let total = rows.len();
        let all = expanded.contains(key) || total <= FIRST_ROWS;
        let more = {
            let expanded = expanded.clone();
            Callback::from(move |_| {
                let mut e = (*expanded).clone();
                e.insert(key);
                expanded.set(e);
            })
        };
        html! {
            <>
                <ul>{ for rows.into_iter().take(if all { total } else { FIRST_ROWS }) }</ul>
                if !all {
                    <button class="show-all" data-list={key} onclick={more}>{ format!("{}（{}）", ctx.t(M::ShowAll), total) }</button>
                }
            </>
        }
    };
    html! {
        <section class="reminders">
            <div class="toolbar">
                <button onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Customers)}>{ format!("‹ {}", ctx.t(M::Back)) }</button>
                <h2>{ ctx.t(M::Reminders) }</h2>
            </div>
            <div class="card overdue">
                <h3>{ format!("{}（{}）", ctx.t(M::Overdue), overdue.len()) }</h3>
                { capped("overdue", overdue.iter().map(|r| html! {
                    <li class="link" onclick={go(&r.doc_id)}>{ format!("{} · {}", r.customer.name, r.customer.last_visit().unwrap_or("—")) }</li>
                }).collect()) }
            </div>
            if role == Role::Head {
                <div class="card head-due">
                    <h3>{ format!("{}（{} · {}）", ctx.t(M::HeadVisitsDue), quarter, head_due.len()) }</h3>
                    { capped("head-due", head_due.iter().map(|r| html! {
                        <li class="link" onclick={go(&r.doc_id)}>{ r.customer.name.clone() }</li>
                    }).collect()) }
                </div>
            }
            <div class="card follow-ups">
                <h3>{ format!("{}（{}）", ctx.t(M::FollowUps), follow_ups.len()) }</h3>
                { capped("follow-ups", follow_ups.iter().map(|(r, f)| {
                    let late = f.is_overdue(&today);
                    html! {
                        <li class={classes!("link", late.then_some("late"))} onclick={go(&r.doc_id)}>
                            { format!("{} → {} · {} · {}", f.due, f.action, f.owner, r.customer.name) }
                            if late { <span class="badge overdue">{ ctx.t(M::FilterOverdue) }</span> }
                        </li>
                    }
                }).collect()) }
            </div>
            <div class="card alerts">
                <h3>{ format!("{}（{}）", ctx.t(M::RevenueAlerts), alerts.len()) }</h3>
                { capped("alerts", alerts.iter().map(|(r, a)| {
                    let text = match a {
                        Alert::Lost { months } => crate::i18n::pick(&format!("疑似流失：连续{months}个月无收入 / possibly lost: no revenue for {months} months")),
                        Alert::FallMonthOnMonth { month, percent } => crate::i18n::pick(&format!("{month} 环比下降 {percent}% / {month} down {percent}% on the month before")),
                        Alert::FallYearOnYear { month, percent } => crate::i18n::pick(&format!("{month} 同比下降 {percent}% / {month} down {percent}% on a year before")),
                        Alert::RiseMonthOnMonth { month, percent } => crate::i18n::pick(&format!("{month} 环比上升 {percent}% / {month} up {percent}% on the month before")),
                        Alert::RiseYearOnYear { month, percent } => crate::i18n::pick(&format!("{month} 同比上升 {percent}% / {month} up {percent}% on a year before")),
                    };
                    html! { <li class="link alert" onclick={go(&r.doc_id)}>{ format!("{} · {}", r.customer.name, text) }</li> }
                }).collect()) }
            </div>
            <div class="card expiring">
                <h3>{ format!("{}（{}）", ctx.t(M::ExpiringAgreements), expiring.len()) }</h3>
                { capped("expiring", expiring.iter().map(|(r, a, d)| html! {
                    <li class="link" onclick={go(&r.doc_id)}>{ crate::i18n::say(format!("{0} · {1} · {2} · {3}天后到期", r.customer.name, a.number, a.end, d), format!("{0} · {1} · {2} · ends in {3} days", r.customer.name, a.number, a.end, d)) }</li>
                }).collect()) }
            </div>
            <div class="card surveys-due">
                <h3>{ format!("{}（{}）", ctx.t(M::SurveysDue), surveys_due.len()) }</h3>
                { capped("surveys-due", surveys_due.iter().map(|r| html! {
                    <li class="link" onclick={go(&r.doc_id)}>{ format!("{} · {}", r.customer.name, r.customer.surveys.iter().map(|s| s.date.as_str()).max().unwrap_or("—")) }</li>
                }).collect()) }
            </div>
            <div class="card care">
                <h3>{ format!("{}（{}）", ctx.t(M::Care), care.len()) }</h3>
                { capped("care", care.iter().map(|(doc, c)| {
                    let what = match &c.what {
                        Occasion::Birthday { customer, contact } => crate::i18n::say(format!("{contact}（{customer}）生日"), format!("{contact} ({customer}): birthday")),
                        Occasion::Festival(name) => name.to_string(),
                        Occasion::FamilyEvent { customer, contact, occasion } => crate::i18n::say(format!("{contact}（{customer}）{occasion}"), format!("{contact} ({customer}): {occasion}")),
                    };
                    let when = crate::i18n::pick(&if c.in_days == 0 { "今天 / today".to_string() } else { format!("{0}天后 / in {0} days", c.in_days) });
                    match doc {
                        Some(doc) => html! {
                            <li class="care-item link" onclick={go(doc)}>
                                { format!("{} · {} · {}", c.date, what, when) }
                                <span class="badge todo">{ ctx.t(M::LogCare) }</span>
                            </li>
                        },
                        None => html! { <li class="care-item">{ format!("{} · {} · {}", c.date, what, when) }</li> },
                    }
                }).collect()) }
            </div>
        </section>
    }
}
