//! Customer detail, built from cards: the profile, hand-overs, history,
//! key people, activity (revenue, follow-ups, visits), complaints,
//! agreements and plans. Each card reads the customer from the store itself
//! and keeps its own forms.

use fieldbook_shared::vocab::Line;
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::i18n::M;
use crate::screens::handover::HandoverCard;
use crate::screens::history::HistoryCard;
use crate::widgets::CreditWarning;

mod activity;
mod agreements;
mod attachments;
mod care;
mod complaints;
mod contacts;
mod credit;
mod events;
pub mod followups;
mod handover_request;
mod profile;
mod survey;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub doc_id: String,
}

/// What every card gets: the customer (the store is in the context).
#[derive(Properties, PartialEq)]
pub struct CardProps {
    pub doc_id: String,
}

#[function_component(CustomerScreen)]
pub fn customer_screen(p: &Props) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    {
        // Opened (from a list drawn from the index) before the start read
        // its document: read it now, not in its turn.
        let store = ctx.store.clone();
        use_effect_with(p.doc_id.clone(), move |doc| {
            let waiting = {
                let e = store.borrow();
                e.loading() > 0 && e.row(doc).is_none()
            };
            if waiting {
                let doc = doc.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    crate::store::Engine::read_now(&store, &doc).await;
                });
            }
        });
    }
    let Some(row) = ctx.store.borrow().row(&p.doc_id) else {
        // Not here (yet, or a link to a customer of another book).
        return html! {
            <section class="customer missing">
                <div class="toolbar">
                    <button onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Customers)}>{ format!("‹ {}", ctx.t(M::Back)) }</button>
                </div>
                <p class="empty">{ "…" }</p>
            </section>
        };
    };
    let c = &row.customer;
    let go = ctx.go.clone();
    let doc = p.doc_id.clone();
    // The next visit the latest visit planned.
    let next_visit = c
        .visits
        .iter()
        .max_by(|a, b| (a.date.as_str(), a.time.as_str()).cmp(&(b.date.as_str(), b.time.as_str())))
        .map(|v| v.next_visit.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "—".into());
    html! {
        <section class="customer" data-doc={p.doc_id.clone()}>
            <div class="toolbar">
                <button onclick={let go = go.clone(); move |_| go.emit(Route::Customers)}>{ format!("‹ {}", ctx.t(M::Back)) }</button>
                <h2 class="title">{ &c.name }</h2>
                <button class="primary" onclick={let go = go.clone(); let id = p.doc_id.clone(); move |_| go.emit(Route::LogVisit(id.clone()))}>{ ctx.t(M::LogVisit) }</button>
            </div>
            if let Some(r) = ctx.store.borrow().registration(&p.doc_id) {
                <div class={classes!("card", "registration-status", r.status.clone())} role={(r.status == "rejected").then_some("alert")}>
                    <strong>{ ctx.t(match r.status.as_str() { "approved" => M::RegApproved, "rejected" => M::RegReturned, _ => M::RegPending }) }</strong>
                    if !r.reason.is_empty() { <span class="reason">{ format!("：{}", r.reason) }</span> }
                    if !r.decided_by.is_empty() {
                        <span class="by">{ format!("（{} · {}）", r.decided_by, crate::widgets::local_time(&r.decided_at)) }</span>
                    }
                </div>
            }
            <PlanVisit doc_id={p.doc_id.clone()} />
            <CreditWarning name={c.name.clone()} credit_code={c.credit_code.clone()} />
            <credit::ReportCredit doc_id={p.doc_id.clone()} />
            <handover_request::HandoverRequest doc_id={p.doc_id.clone()} />
            if let Some(n) = ctx.store.borrow().notice(&p.doc_id).filter(|n| !n.duplicate.is_empty() || !n.same_as.is_empty()) {
                <div class="card notice" role="alert">
                    <h3>{ ctx.t(M::RegistrationResult) }</h3>
                    <p>{ ctx.t(M::AlreadyRegistered) }
                        { n.duplicate.iter().map(|d| {
                            let (line, unit) = d.split_once(':').unwrap_or((d.as_str(), ""));
                            format!("{}（{}）", crate::i18n::label(&Line::parse(line)), unit)
                        }).collect::<Vec<_>>().join("、") }
                    </p>
                    <p>{ ctx.t(M::YouOwn) }
                        { if n.owned.is_empty() { ctx.t(M::None_).to_string() } else { n.owned.iter().map(|l| crate::i18n::label(&Line::parse(l)).to_string()).collect::<Vec<_>>().join("、") } }
                    </p>
                </div>
            }
            // The customer at a glance, before the details.
            <div class="card summary">
                <span data-summary="grade">{ format!("{} {}", ctx.t(M::Grade), crate::i18n::label(&row.grade)) }</span>
                <span data-summary="revenue">{ format!("{} {}", ctx.t(M::AnnualRevenue), crate::widgets::yuan(row.annual_fen)) }</span>
                <span data-summary="last">{ format!("{} {}", ctx.t(M::LastVisit), c.last_visit().unwrap_or("—")) }</span>
                <span data-summary="next">{ format!("{} {}", ctx.t(M::NextVisit), next_visit) }</span>
                <span data-summary="follow-ups" class={classes!((row.open_follow_ups > 0).then_some("todo"))}>{ format!("{} {}", ctx.t(M::OpenFollowUps), row.open_follow_ups) }</span>
            </div>
            // An index of the cards: a tap scrolls to one (the fragment holds
            // the screen's address, so these are buttons, not anchors).
            <nav class="card-index">
                { for [("card-profile", M::Profile), ("card-contacts", M::Contacts), ("card-care", M::CareLog), ("card-visits", M::Visits), ("card-follow-ups", M::FollowUps), ("card-ledger", M::Ledger), ("card-complaints", M::Complaints), ("card-surveys", M::Surveys), ("card-agreements", M::Agreements), ("card-attachments", M::Attachments)].into_iter().map(|(id, m)| html! {
                    <button class="jump" data-card={id} onclick={move |_| scroll_to(id)}>{ ctx.t(m) }</button>
                }) }
            </nav>
            <profile::ProfileCard doc_id={doc.clone()} />
            <HandoverCard doc_id={doc.clone()} handovers={c.handovers.clone()} />
            <HistoryCard doc_id={doc.clone()} />
            <contacts::ContactsCard doc_id={doc.clone()} />
            <care::CareCard doc_id={doc.clone()} />
            <activity::ActivityCards doc_id={doc.clone()} />
            <complaints::ComplaintsCard doc_id={doc.clone()} />
            <survey::SurveyCard doc_id={doc.clone()} />
            <events::EventsCard doc_id={doc.clone()} />
            <agreements::AgreementsCards doc_id={doc.clone()} />
            <attachments::AttachmentsCard doc_id={doc} />
        </section>
    }
}

/// 安排走访: a day and a purpose, planned on the customer, offline.
#[function_component(PlanVisit)]
fn plan_visit(p: &CardProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let form = use_state(|| None::<fieldbook_shared::itinerary::PlannedVisit>);
    let me = ctx.store.borrow().session.user.username.clone();
    let set = |f: fn(&mut fieldbook_shared::itinerary::PlannedVisit, String)| {
        let form = form.clone();
        Callback::from(move |e: Event| {
            if let Some(mut x) = (*form).clone() {
                f(&mut x, crate::screens::value_of(&e));
                form.set(Some(x));
            }
        })
    };
    let save = save_form(&ctx, &p.doc_id, &form, |tx, x| {
        fieldbook_shared::itinerary::plan(tx, x)
    });
    match &*form {
        None => html! {
            <div class="plan-visit">
                <button class="plan-visit-button" onclick={let f = form.clone(); move |_| f.set(Some(fieldbook_shared::itinerary::PlannedVisit {
                    id: crate::screens::new_id("p"),
                    date: crate::store::today(),
                    by: me.clone(),
                    ..Default::default()
                }))}>{ ctx.t(M::PlanVisit) }</button>
            </div>
        },
        Some(x) => html! {
            <div class="card plan-visit-form">
                <label>{ ctx.t(M::Date) }<input type="date" name="plan_date" value={x.date.clone()} onchange={set(|x, v| x.date = v)} /></label>
                <label>{ ctx.t(M::Purpose) }<input name="plan_purpose" value={x.purpose.clone()} onchange={set(|x, v| x.purpose = v)} /></label>
                <button class="primary save-plan" onclick={save}>{ ctx.t(M::Save) }</button>
                <button onclick={let f = form.clone(); move |_| f.set(None)}>{ ctx.t(M::Cancel) }</button>
            </div>
        },
    }
}

/// Saves an edit of the customer document; once it is stored, `done` runs
/// (a form closes). A refusal is logged.
fn save<T: 'static>(
    store: crate::store::Store,
    doc: String,
    edit: impl FnOnce(&mut automerge::Automerge) -> Result<T, String> + 'static,
    done: impl FnOnce() + 'static,
) {
    wasm_bindgen_futures::spawn_local(async move {
        match crate::store::edit(&store, &doc, edit).await {
            Ok(Ok(_)) => done(),
            Ok(Err(e)) => web_sys::console::error_1(&e.into()),
            Err(e) => web_sys::console::error_1(&e.to_string().into()),
        }
    });
}

/// A small form's Save: applies `edit` with the form's value to the
/// customer document, then closes the form (once stored).
fn save_form<F, E>(
    ctx: &Ctx,
    doc: &str,
    form: &UseStateHandle<Option<F>>,
    edit: E,
) -> Callback<MouseEvent>
where
    F: Clone + 'static,
    E: Fn(
            &mut automerge::transaction::Transaction<'_>,
            &F,
        ) -> Result<(), fieldbook_shared::SchemaError>
        + Clone
        + 'static,
{
    let (store, doc, form) = (ctx.store.clone(), doc.to_string(), form.clone());
    Callback::from(move |_| {
        let Some(value) = (*form).clone() else {
            return;
        };
        let (form, edit) = (form.clone(), edit.clone());
        save(
            store.clone(),
            doc.clone(),
            move |d| {
                d.transact(|tx| edit(tx, &value))
                    .map_err(|e| e.error.to_string())
            },
            move || form.set(None),
        );
    })
}

/// Scrolls the card with this id into view.
fn scroll_to(id: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
    {
        el.scroll_into_view();
    }
}
