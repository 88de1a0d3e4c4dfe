//! The complaints card 投诉: record, then walk each complaint to closed.

use fieldbook_shared::complaints;
use yew::prelude::*;

use crate::ctx::Ctx;
use crate::i18n::M;
use crate::screens::{new_id, value_of};
use crate::store::today;

use super::CardProps;

#[function_component(ComplaintsCard)]
pub fn complaints_card(p: &CardProps) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let complaint_form = use_state(|| None::<(String, String)>);
    // (complaint id, department, satisfaction) while a step is being taken.
    let advancing = use_state(|| None::<(String, String, String)>);
    let Some(row) = ctx.store.borrow().row(&p.doc_id) else {
        return Html::default();
    };
    let c = &row.customer;
    let me = ctx.store.borrow().session.user.username.clone();
    let save_complaint = {
        let (store, doc, form, me, grade) = (
            ctx.store.clone(),
            p.doc_id.clone(),
            complaint_form.clone(),
            me.clone(),
            row.grade,
        );
        Callback::from(move |_| {
            let Some((channel, content)) = (*form).clone() else {
                return;
            };
            let c =
                complaints::Complaint::new(&new_id("t"), &channel, &content, &me, &today(), grade);
            let (store, doc, form) = (store.clone(), doc.clone(), form.clone());
            super::save(
                store,
                doc,
                move |d| {
                    d.transact(|tx| complaints::record(tx, &c))
                        .map_err(|e| e.error.to_string())
                },
                move || form.set(None),
            );
        })
    };
    let take_step = {
        let (store, doc, adv, me) = (
            ctx.store.clone(),
            p.doc_id.clone(),
            advancing.clone(),
            me.clone(),
        );
        Callback::from(move |_| {
            let Some((id, department, satisfaction)) = (*adv).clone() else {
                return;
            };
            let (store, doc, adv, me) = (store.clone(), doc.clone(), adv.clone(), me.clone());
            let sat = satisfaction.parse::<i64>().ok();
            super::save(
                store,
                doc,
                move |d| {
                    let dep = Some(department.as_str()).filter(|d| !d.is_empty());
                    d.transact(|tx| complaints::advance(tx, &id, &me, &today(), dep, sat))
                        .map_err(|e| e.error.to_string())
                },
                move || adv.set(None),
            );
        })
    };
    let complaint_rules = ctx.store.borrow().rules().complaints.clone();
    let today_s = today();
    html! {
            <div class="card complaints" id="card-complaints">
                <h3>{ ctx.t(M::Complaints) }</h3>
                <ul class="complaint-list">
                    { for c.complaints.iter().map(|k| {
                        let open = k.status != "closed";
                        let adv = advancing.clone();
                        let id = k.id.clone();
                        let is_advancing = advancing.as_ref().is_some_and(|a| a.0 == k.id);
                        html! {
                            <li class="complaint" data-complaint={k.id.clone()} data-status={k.status.clone()}>
                                <div>{ format!("{} · {} · {}", k.steps.first().map(|s| s.on.as_str()).unwrap_or(""), complaints::label_zh(&k.status), k.content) }
                                    if k.task_force { <span class="badge conflict">{ ctx.t(M::TaskForce) }</span> }
                                    if k.overdue(&today_s, &complaint_rules) { <span class="badge overdue">{ ctx.t(M::StepOverdue) }</span> }
                                    if k.satisfaction > 0 { <span class="badge ok">{ format!("{} {}/5", ctx.t(M::Satisfaction), k.satisfaction) }</span> }
                                </div>
                                if open && !is_advancing {
                                    <button class="next-step" onclick={move |_| adv.set(Some((id.clone(), String::new(), String::new())))}>
                                        { format!("→ {}", complaints::next(&k.status).map(complaints::label_zh).unwrap_or("")) }
                                    </button>
                                }
                                if is_advancing {
                                    <div class="step-form">
                                        if k.status == "recorded" {
                                            <input name="department" placeholder={ctx.t(M::Department)}
                                                onchange={let a = advancing.clone(); Callback::from(move |e: Event| if let Some(mut x) = (*a).clone() { x.1 = value_of(&e); a.set(Some(x)) })} />
                                        }
                                        if k.status == "replied" {
                                            <select name="satisfaction" onchange={let a = advancing.clone(); Callback::from(move |e: Event| if let Some(mut x) = (*a).clone() { x.2 = value_of(&e); a.set(Some(x)) })}>
                                                <option value="">{ ctx.t(M::Satisfaction) }</option>
                                                { for (1..=5).map(|n| html! { <option value={n.to_string()}>{ n }</option> }) }
                                            </select>
                                        }
                                        <button class="save" onclick={take_step.clone()}>{ ctx.t(M::Save) }</button>
                                        <button onclick={let a = advancing.clone(); move |_| a.set(None)}>{ ctx.t(M::Cancel) }</button>
                                    </div>
                                }
                            </li>
                        }
                    }) }
                </ul>
                if let Some((channel, content)) = &*complaint_form {
                    <div class="complaint-form">
                        <select name="channel" onchange={let f = complaint_form.clone(); Callback::from(move |e: Event| if let Some(mut x) = (*f).clone() { x.0 = value_of(&e); f.set(Some(x)) })}>
                            { for [("phone", "电话 / phone"), ("visit", "走访 / visit"), ("letter", "信函 / letter"), ("online", "网络 / online"), ("other", "其他 / other")].into_iter().map(|(v, l)| html! { <option value={v} selected={channel == v}>{ crate::i18n::pick(l) }</option> }) }
                        </select>
                        <textarea name="complaint_content" value={content.clone()}
                            onchange={let f = complaint_form.clone(); Callback::from(move |e: Event| if let Some(mut x) = (*f).clone() { x.1 = value_of(&e); f.set(Some(x)) })} />
                        <button class="save" onclick={save_complaint}>{ ctx.t(M::Save) }</button>
                    </div>
                } else {
                    <button class="record-complaint" onclick={let f = complaint_form.clone(); move |_| f.set(Some(("phone".into(), String::new())))}>{ ctx.t(M::RecordComplaint) }</button>
                }
            </div>
    }
}
