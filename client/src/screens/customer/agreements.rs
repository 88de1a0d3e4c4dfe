//! The agreements card (service agreements, a head's approval for platinum
//! and above) and the yearly plan card.

use fieldbook_shared::agreements;
use fieldbook_shared::vocab::{Line, Role};
use yew::prelude::*;

use crate::ctx::Ctx;
use crate::i18n::M;
use crate::screens::{new_id, value_of};
use crate::store::today;
use crate::widgets::yuan;

use super::CardProps;

#[function_component(AgreementsCards)]
pub fn agreements_cards(p: &CardProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let agreement_form = use_state(|| None::<agreements::Agreement>);
    let plan_form = use_state(|| None::<agreements::Plan>);
    let agreement_msg = use_state(|| None::<String>);
    let Some(row) = ctx.store.borrow().row(&p.doc_id) else {
        return Html::default();
    };
    let c = &row.customer;
    let me = ctx.store.borrow().session.user.username.clone();
    let save_agreement = {
        let (store, doc, form) = (ctx.store.clone(), p.doc_id.clone(), agreement_form.clone());
        Callback::from(move |_| {
            let Some(a) = (*form).clone() else { return };
            let (store, doc, form) = (store.clone(), doc.clone(), form.clone());
            super::save(
                store,
                doc,
                move |d| {
                    d.transact(|tx| agreements::add_agreement(tx, &a))
                        .map_err(|e| e.error.to_string())
                },
                move || form.set(None),
            );
        })
    };
    let set_af = |f: fn(&mut agreements::Agreement, String)| {
        let form = agreement_form.clone();
        Callback::from(move |e: Event| {
            let Some(mut a) = (*form).clone() else { return };
            f(&mut a, value_of(&e));
            form.set(Some(a));
        })
    };
    let save_plan = {
        let (store, doc, form) = (ctx.store.clone(), p.doc_id.clone(), plan_form.clone());
        Callback::from(move |_| {
            let Some(pl) = (*form).clone() else { return };
            let (store, doc, form) = (store.clone(), doc.clone(), form.clone());
            super::save(
                store,
                doc,
                move |d| {
                    d.transact(|tx| agreements::add_plan(tx, &pl))
                        .map_err(|e| e.error.to_string())
                },
                move || form.set(None),
            );
        })
    };
    let set_pf = |f: fn(&mut agreements::Plan, String)| {
        let form = plan_form.clone();
        Callback::from(move |e: Event| {
            let Some(mut p) = (*form).clone() else { return };
            f(&mut p, value_of(&e));
            form.set(Some(p));
        })
    };
    let can_approve = matches!(
        ctx.store.borrow().session.user.role,
        Role::Head | Role::Admin
    );
    // A decision the server makes (it checks who may approve and records it
    // in its own table); the approval reaches the document by sync.
    let approve_agreement = {
        let (token, doc, msg) = (
            ctx.store.borrow().session.token.clone(),
            p.doc_id.clone(),
            agreement_msg.clone(),
        );
        Callback::from(move |id: String| {
            let (token, doc, msg) = (token.clone(), doc.clone(), msg.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let path = format!("/api/customers/{doc}/agreements/{id}/approve");
                match crate::http::call("POST", &path, Some(&token), None).await {
                    Ok((200, _)) => msg.set(None),
                    Ok((_, body)) => msg.set(Some(crate::http::error_text(&body))),
                    Err(_) => msg.set(Some(crate::i18n::pick(
                        "审批需要联网 / approving needs the network",
                    ))),
                }
            });
        })
    };
    let today_s = today();
    html! {
        <>
            <div class="card agreements" id="card-agreements">
                <h3>{ ctx.t(M::Agreements) }</h3>
                if let Some(m) = &*agreement_msg { <p class="message agreement-message">{ m }</p> }
                if c.agreements.is_empty() { <p class="empty">{ ctx.t(M::NoAgreements) }</p> }
                <ul>{ for c.agreements.iter().map(|a| html! {
                    <li class="agreement" data-status={a.status.clone()}>
                        { format!("{} · {} → {} · {} · {}", a.number, a.start, a.end, a.lines.iter().map(|l| crate::i18n::label(&Line::parse(l)).to_string()).collect::<Vec<_>>().join("、"), a.terms) }
                        <span class="badge">{ crate::i18n::pick(agreement_status(&a.status)) }</span>
                        { super::attachments::link(&ctx, c, fieldbook_shared::attachments::About::Agreement(a.id.clone())) }
                        if let Some(days) = a.expires_in(&today_s) { <span class="badge overdue">{ crate::i18n::pick(&format!("{days}天后到期 / ends in {days} days")) }</span> }
                        if !a.approved_by.is_empty() { <span class="badge ok">{ format!("{} {} {}", ctx.t(M::Approved), a.approved_by, a.approved_on) }</span> }
                        if a.status == "pending_approval" && can_approve {
                            <button class="approve-agreement" onclick={approve_agreement.reform({ let id = a.id.clone(); move |_| id.clone() })}>{ ctx.t(M::Approve) }</button>
                        }
                    </li>
                }) }</ul>
                if let Some(a) = &*agreement_form {
                    <div class="agreement-form grid">
                        <input name="agreement_number" placeholder={ctx.t(M::AgreementNumber)} value={a.number.clone()} onchange={set_af(|a, v| a.number = v)} />
                        <input name="agreement_start" type="date" value={a.start.clone()} onchange={set_af(|a, v| a.start = v)} />
                        <input name="agreement_end" type="date" value={a.end.clone()} onchange={set_af(|a, v| a.end = v)} />
                        <input name="agreement_terms" placeholder={ctx.t(M::Terms)} value={a.terms.clone()} onchange={set_af(|a, v| a.terms = v)} />
                        <button class="save" onclick={save_agreement}>{ ctx.t(M::Save) }</button>
                    </div>
                } else {
                    <button class="add-agreement" onclick={let f = agreement_form.clone(); let lines = c.lines.iter().map(|l| l.as_str().to_string()).collect::<Vec<_>>(); let grade = row.grade; let approval_from = ctx.store.borrow().rules().agreements.approval_from;
                        move |_| f.set(Some(agreements::Agreement::new(&new_id("a"), "", lines.clone(), &today(), "", "", grade, approval_from)))}>{ ctx.t(M::AddAgreement) }</button>
                }
            </div>
            <div class="card plans">
                <h3>{ ctx.t(M::Plan) }</h3>
                { for c.plans.iter().map(|pl| {
                    let (actual, percent) = agreements::progress(pl, &fieldbook_shared::customer::official(&c.ledger));
                    html! {
                        <div class="plan" data-year={pl.year.clone()}>
                            <div>{ crate::i18n::say(format!("{0}年 · 目标 {1} · 已完成 {2}（{3}%）· {4}", pl.year, yuan(pl.target_revenue_fen), yuan(actual), percent, pl.responsible), format!("{0} · target {1} · done {2} ({3}%) · {4}", pl.year, yuan(pl.target_revenue_fen), yuan(actual), percent, pl.responsible)) }</div>
                            <progress max="100" value={percent.clamp(0, 100).to_string()}></progress>
                            if !pl.measures.is_empty() { <div class="measures">{ &pl.measures }</div> }
                        </div>
                    }
                }) }
                if let Some(pl) = &*plan_form {
                    <div class="plan-form grid">
                        <input name="plan_year" value={pl.year.clone()} onchange={set_pf(|p, v| p.year = v)} />
                        <input name="plan_target_yuan" type="number" placeholder={ctx.t(M::TargetYuan)} onchange={set_pf(|p, v| p.target_revenue_fen = v.trim().parse::<i64>().unwrap_or(0) * 100)} />
                        <input name="plan_responsible" value={pl.responsible.clone()} onchange={set_pf(|p, v| p.responsible = v)} />
                        <input name="plan_measures" placeholder={ctx.t(M::Measures)} onchange={set_pf(|p, v| p.measures = v)} />
                        <button class="save" onclick={save_plan}>{ ctx.t(M::Save) }</button>
                    </div>
                } else {
                    <button class="add-plan" onclick={let f = plan_form.clone(); let me = me.clone();
                        move |_| f.set(Some(agreements::Plan { year: today()[..4].to_string(), responsible: me.clone(), ..Default::default() }))}>{ ctx.t(M::AddPlan) }</button>
                }
            </div>
        </>
    }
}

fn agreement_status(s: &str) -> &'static str {
    match s {
        "pending_approval" => "待审批 / awaiting approval",
        "active" => "生效 / in force",
        "terminated" => "已终止 / terminated",
        _ => "—",
    }
}
