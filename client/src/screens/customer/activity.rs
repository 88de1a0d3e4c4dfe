//! The activity cards: revenue by month, follow-ups (`followups.rs`), visits
//! newest first.

use fieldbook_shared::grading;
use yew::prelude::*;

use crate::ctx::Ctx;
use crate::i18n::M;
use crate::store::today;
use crate::widgets::LedgerChart;

use super::CardProps;

#[function_component(ActivityCards)]
pub fn activity_cards(p: &CardProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let Some(row) = ctx.store.borrow().row(&p.doc_id) else {
        return Html::default();
    };
    let c = &row.customer;
    // Ledger: revenue per month over the last 24 months, oldest first.
    let months = {
        let twelve = grading::last_twelve_months(&today()[..7]);
        let earlier = twelve
            .first()
            .map(|m| grading::last_twelve_months(m))
            .unwrap_or_default();
        earlier
            .into_iter()
            .chain(twelve)
            .map(|m| {
                let fen = c
                    .ledger
                    .iter()
                    .filter(|e| e.month == m && !e.estimate)
                    .map(|e| e.amount_fen)
                    .sum();
                (m, fen)
            })
            .collect::<Vec<_>>()
    };
    // A manager's own estimates: listed apart, not in the chart, never graded.
    let mut estimates: Vec<_> = c.ledger.iter().filter(|e| e.estimate).collect();
    estimates.sort_by(|a, b| (&b.month, b.line.as_str()).cmp(&(&a.month, a.line.as_str())));
    let mut visits: Vec<_> = c.visits.iter().collect();
    visits.sort_by(|a, b| {
        (b.date.as_str(), b.time.as_str()).cmp(&(a.date.as_str(), a.time.as_str()))
    });

    html! {
        <>
            <div class="card" id="card-ledger">
                <h3>{ ctx.t(M::Ledger) }</h3>
                <LedgerChart months={months} />
                if !estimates.is_empty() {
                    <div class="estimates">
                        <h4>{ ctx.t(M::Estimates) }</h4>
                        <ul>{ for estimates.iter().map(|e| html! {
                            <li>{ format!("{} · {} · {}", e.month, crate::i18n::label(&e.line), crate::widgets::yuan(e.amount_fen)) }</li>
                        }) }</ul>
                    </div>
                }
            </div>
            <super::followups::FollowUpsCard doc_id={p.doc_id.clone()} />
            <div class="card" id="card-visits">
                <h3>{ ctx.t(M::Visits) }</h3>
                if visits.is_empty() { <p class="empty">{ ctx.t(M::NoVisits) }</p> }
                <ul class="visits">
                    { for visits.iter().map(|v| html! {
                        <li class="visit" data-visit={v.id.clone()}>
                            <div class="when">{ format!("{} {} · {}", v.date, v.time, crate::i18n::label(&v.kind)) }</div>
                            <div class="purpose">{ &v.purpose }</div>
                            <div class="summary">{ &v.summary }</div>
                            if !v.needs.is_empty() { <div class="needs">{ format!("{}：{}", ctx.t(M::Needs), v.needs) }</div> }
                            if !v.mailing_difficulties.is_empty() { <div class="difficulties">{ format!("{}：{}", ctx.t(M::MailingDifficulties), v.mailing_difficulties) }</div> }
                            if !v.next_visit.is_empty() { <div class="next">{ format!("{}：{}", ctx.t(M::NextVisit), v.next_visit) }</div> }
                            if !v.check_in_at.is_empty() {
                                <div class="check-in">
                                    { crate::screens::visit_form::check_in_text(v) }
                                    if let Some((lat, lon)) = v.check_in_position.split_once(',') {
                                        { " " }<a class="map" target="_blank" rel="noopener" href={format!("https://uri.amap.com/marker?position={lon},{lat}")}>{ ctx.t(M::Navigate) }</a>
                                    }
                                </div>
                            }
                            { super::attachments::link(&ctx, &row.customer, fieldbook_shared::attachments::About::Visit(v.id.clone())) }
                            { for ctx.store.borrow().spot_checks(&p.doc_id, &v.id).iter().map(|c| html! {
                                <div class="spot-check">{ format!("{}：{}（{} · {}）", ctx.t(M::SpotCheck), c.comment, c.by, crate::widgets::local_time(&c.at)) }</div>
                            }) }
                        </li>
                    }) }
                </ul>
            </div>
        </>
    }
}
