//! Customer detail: profile (editable, with conflicts shown), contacts, ledger
//! chart, visits newest first, follow-ups, agreements.

use fieldbook_shared::customer::{self, Contact};
use fieldbook_shared::vocab::{ContactRole, Line, Role};
use fieldbook_shared::{agreements, complaints, grading};
use yew::prelude::*;

use crate::app::{Ctx, Route};
use crate::i18n::M;
use crate::screens::handover::HandoverCard;
use crate::screens::history::HistoryCard;
use crate::screens::{new_id, value_of};
use crate::store::{self, today};
use crate::widgets::{CreditWarning, LedgerChart, yuan};

#[derive(Properties, PartialEq)]
pub struct Props {
    pub doc_id: String,
}

#[function_component(CustomerScreen)]
pub fn customer_screen(p: &Props) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let editing = use_state(|| None::<(&'static str, String)>);
    let complaint_form = use_state(|| None::<(String, String)>);
    let agreement_form = use_state(|| None::<agreements::Agreement>);
    let plan_form = use_state(|| None::<agreements::Plan>);
    // (complaint id, department, satisfaction) while a step is being taken.
    let advancing = use_state(|| None::<(String, String, String)>);
    // The contact being added (true) or edited (false), as a draft.
    let contact_form = use_state(|| None::<(bool, Contact)>);
    let Some(row) = ctx.store.borrow().row(&p.doc_id) else {
        return html! { <p class="empty">{ "…" }</p> };
    };
    let c = &row.customer;
    let approved = ctx.store.borrow().approved(&p.doc_id);
    let managed = ctx.store.borrow().managed(&p.doc_id);
    let go = ctx.go.clone();

    let save_field = {
        let store = ctx.store.clone();
        let doc = p.doc_id.clone();
        let editing = editing.clone();
        Callback::from(move |(field, value): (&'static str, String)| {
            let (store, doc, editing) = (store.clone(), doc.clone(), editing.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let r = store::edit(&store, &doc, |d| {
                    d.transact(|tx| customer::set_field(tx, field, &value))
                        .map_err(|e| e.error.to_string())
                })
                .await;
                match r {
                    Ok(Ok(_)) => editing.set(None),
                    Ok(Err(e)) | Err(e) => web_sys::console::error_1(&e.into()),
                }
            });
        })
    };
    let field_row = |label: M, field: &'static str, value: &str| {
        let conflict = row.conflicts.iter().find(|(f, _)| *f == field);
        let is_editing = editing.as_ref().filter(|(f, _)| *f == field).cloned();
        html! {
            <div class="field" data-field={field}>
                <span class="label">{ ctx.t(label) }</span>
                if let Some((_, draft)) = is_editing {
                    <input name={field} value={draft.clone()}
                        onchange={let e2 = editing.clone(); Callback::from(move |e: Event| e2.set(Some((field, value_of(&e)))))} />
                    <button class="save" onclick={let s = save_field.clone(); let e2 = editing.clone(); move |_| if let Some(v) = (*e2).clone() { s.emit(v) }}>{ ctx.t(M::Save) }</button>
                    <button onclick={let e2 = editing.clone(); move |_| e2.set(None)}>{ ctx.t(M::Cancel) }</button>
                } else {
                    <span class="value">{ value }</span>
                    <button class="edit" onclick={let e2 = editing.clone(); let v = value.to_string(); move |_| e2.set(Some((field, v.clone())))}>{ ctx.t(M::Edit) }</button>
                }
                if let Some((_, values)) = conflict {
                    <div class="conflict" role="alert">
                        <span>{ ctx.t(M::Conflict) }</span>
                        { for values.iter().map(|v| {
                            let s = save_field.clone();
                            let v2 = v.clone();
                            html! { <button class="choose" data-value={v.clone()} onclick={move |_| s.emit((field, v2.clone()))}>{ format!("{} 「{}」", ctx.t(M::Keep), v) }</button> }
                        }) }
                    </div>
                }
            </div>
        }
    };

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
                    .filter(|e| e.month == m)
                    .map(|e| e.amount_fen)
                    .sum();
                (m, fen)
            })
            .collect::<Vec<_>>()
    };
    let mut visits: Vec<_> = c.visits.iter().collect();
    visits.sort_by(|a, b| {
        (b.date.as_str(), b.time.as_str()).cmp(&(a.date.as_str(), a.time.as_str()))
    });
    let follow_ups = fieldbook_shared::visits::open_follow_ups(c);

    let save_contact = {
        let store = ctx.store.clone();
        let doc = p.doc_id.clone();
        let form = contact_form.clone();
        let original = c.contacts.clone();
        Callback::from(move |_| {
            let Some((is_new, draft)) = (*form).clone() else {
                return;
            };
            if draft.name.trim().is_empty() {
                return;
            }
            let before = original
                .iter()
                .find(|k| k.id == draft.id)
                .cloned()
                .unwrap_or_default();
            let (store, doc, form) = (store.clone(), doc.clone(), form.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let r = store::edit(&store, &doc, |d| {
                    d.transact(|tx| {
                        if is_new {
                            return customer::add_contact(tx, &draft);
                        }
                        // Only the fields that changed, so concurrent edits of other fields survive.
                        let pairs = [
                            ("name", &before.name, &draft.name),
                            (
                                "role",
                                &before.role.as_str().to_string(),
                                &draft.role.as_str().to_string(),
                            ),
                            ("position", &before.position, &draft.position),
                            ("phone", &before.phone, &draft.phone),
                            ("birthday", &before.birthday, &draft.birthday),
                        ];
                        for (field, old, new) in pairs {
                            if old != new {
                                customer::set_contact_field(tx, &draft.id, field, new)?;
                            }
                        }
                        Ok(())
                    })
                    .map_err(|e| e.error.to_string())
                })
                .await;
                match r {
                    Ok(Ok(_)) => form.set(None),
                    Ok(Err(e)) | Err(e) => web_sys::console::error_1(&e.into()),
                }
            });
        })
    };
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
            wasm_bindgen_futures::spawn_local(async move {
                match store::edit(&store, &doc, |d| {
                    d.transact(|tx| complaints::record(tx, &c))
                        .map_err(|e| e.error.to_string())
                })
                .await
                {
                    Ok(Ok(_)) => form.set(None),
                    Ok(Err(e)) | Err(e) => web_sys::console::error_1(&e.into()),
                }
            });
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
            wasm_bindgen_futures::spawn_local(async move {
                let sat = satisfaction.parse::<i64>().ok();
                let dep = Some(department.as_str()).filter(|d| !d.is_empty());
                let r = store::edit(&store, &doc, |d| {
                    d.transact(|tx| complaints::advance(tx, &id, &me, &today(), dep, sat))
                        .map_err(|e| e.error.to_string())
                })
                .await;
                match r {
                    Ok(Ok(_)) => adv.set(None),
                    Ok(Err(e)) | Err(e) => web_sys::console::error_1(&e.into()),
                }
            });
        })
    };
    let save_agreement = {
        let (store, doc, form) = (ctx.store.clone(), p.doc_id.clone(), agreement_form.clone());
        Callback::from(move |_| {
            let Some(a) = (*form).clone() else { return };
            let (store, doc, form) = (store.clone(), doc.clone(), form.clone());
            wasm_bindgen_futures::spawn_local(async move {
                match store::edit(&store, &doc, |d| {
                    d.transact(|tx| agreements::add_agreement(tx, &a))
                        .map_err(|e| e.error.to_string())
                })
                .await
                {
                    Ok(Ok(_)) => form.set(None),
                    Ok(Err(e)) | Err(e) => web_sys::console::error_1(&e.into()),
                }
            });
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
            wasm_bindgen_futures::spawn_local(async move {
                match store::edit(&store, &doc, |d| {
                    d.transact(|tx| agreements::add_plan(tx, &pl))
                        .map_err(|e| e.error.to_string())
                })
                .await
                {
                    Ok(Ok(_)) => form.set(None),
                    Ok(Err(e)) | Err(e) => web_sys::console::error_1(&e.into()),
                }
            });
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
    let agreement_msg = use_state(|| None::<String>);
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
    let complaint_rules = ctx.store.borrow().rules().complaints.clone();
    let today_s = today();

    let set_cf = |f: fn(&mut Contact, String)| {
        let form = contact_form.clone();
        Callback::from(move |e: Event| {
            let Some((is_new, mut c)) = (*form).clone() else {
                return;
            };
            f(&mut c, value_of(&e));
            form.set(Some((is_new, c)));
        })
    };

    html! {
        <section class="customer" data-doc={p.doc_id.clone()}>
            <div class="toolbar">
                <button onclick={let go = go.clone(); move |_| go.emit(Route::Customers)}>{ format!("‹ {}", ctx.t(M::Back)) }</button>
                <h2 class="title">{ &c.name }</h2>
                <button class="primary" onclick={let go = go.clone(); let id = p.doc_id.clone(); move |_| go.emit(Route::LogVisit(id.clone()))}>{ ctx.t(M::LogVisit) }</button>
            </div>
            <CreditWarning name={c.name.clone()} credit_code={c.credit_code.clone()} />
            if let Some(n) = ctx.store.borrow().notice(&p.doc_id).filter(|n| !n.duplicate.is_empty() || !n.same_as.is_empty()) {
                <div class="card notice" role="alert">
                    <h3>{ ctx.t(M::RegistrationResult) }</h3>
                    <p>{ ctx.t(M::AlreadyRegistered) }
                        { n.duplicate.iter().map(|d| {
                            let (line, unit) = d.split_once(':').unwrap_or((d.as_str(), ""));
                            format!("{}（{}）", Line::parse(line).label_zh(), unit)
                        }).collect::<Vec<_>>().join("、") }
                    </p>
                    <p>{ ctx.t(M::YouOwn) }
                        { if n.owned.is_empty() { ctx.t(M::None_).to_string() } else { n.owned.iter().map(|l| Line::parse(l).label_zh().to_string()).collect::<Vec<_>>().join("、") } }
                    </p>
                </div>
            }
            <div class="card">
                <h3>{ ctx.t(M::Profile) }</h3>
                { field_row(M::Name, "name", &c.name) }
                { field_row(M::CreditCode, "credit_code", &c.credit_code) }
                { field_row(M::Address, "address", &c.address) }
                { field_row(M::Industry, "industry", &c.industry) }
                <div class="field"><span class="label">{ ctx.t(M::Nature) }</span><span class="value">{ c.nature.label_zh() }</span></div>
                <div class="field"><span class="label">{ ctx.t(M::Lines) }</span><span class="value">{ c.lines.iter().map(|l| l.label_zh()).collect::<Vec<_>>().join("、") }</span></div>
                <div class="field"><span class="label">{ ctx.t(M::AnnualRevenue) }</span><span class="value">{ yuan(row.annual_fen) }</span></div>
                <div class="field" data-field="level"><span class="label">{ ctx.t(M::Level) }</span><span class="value">{ format!("{}（{}）", row.level.label_zh(), ctx.t(M::Proposed)) }
                    if let Some((level, _)) = &approved { { format!(" · {}：{}", ctx.t(M::Approved), level.label_zh()) } }</span></div>
                <div class="field" data-field="grade"><span class="label">{ ctx.t(M::Grade) }</span><span class="value">{ format!("{}（{}）", row.grade.label_zh(), ctx.t(M::Proposed)) }
                    if let Some((_, grade)) = &approved { { format!(" · {}：{}", ctx.t(M::Approved), grade.label_zh()) } }</span></div>
                if let Some(m) = &managed {
                    <div class="field" data-field="managed"><span class="label">{ ctx.t(M::ManagedAs) }</span><span class="value">{ format!("{}（{}）", m.grade.label_zh(), m.why().label_zh()) }</span></div>
                }
            </div>
            <HandoverCard doc_id={p.doc_id.clone()} handovers={c.handovers.clone()} />
            <HistoryCard doc_id={p.doc_id.clone()} />
            <div class="card">
                <h3>{ ctx.t(M::Contacts) }</h3>
                <table class="contacts">
                    <tr><th>{ ctx.t(M::Name) }</th><th>{ ctx.t(M::Role) }</th><th>{ ctx.t(M::Position) }</th><th>{ ctx.t(M::Phone) }</th><th>{ ctx.t(M::Birthday) }</th><th></th></tr>
                    { for c.contacts.iter().map(|k| {
                        let form = contact_form.clone();
                        let k2 = k.clone();
                        html! {
                            <tr data-contact={k.id.clone()}><td>{ &k.name }</td><td>{ k.role.label_zh() }</td><td>{ &k.position }</td><td>{ &k.phone }</td><td>{ &k.birthday }</td>
                            <td><button class="edit" onclick={move |_| form.set(Some((false, k2.clone())))}>{ ctx.t(M::Edit) }</button></td></tr>
                        }
                    }) }
                </table>
                if let Some((_, draft)) = &*contact_form {
                    <div class="contact-form">
                        <input name="contact_name" placeholder={ctx.t(M::Name)} value={draft.name.clone()} onchange={set_cf(|c, v| c.name = v)} />
                        <select name="contact_role" onchange={set_cf(|c, v| c.role = ContactRole::parse(&v))}>
                            { for ContactRole::ALL.iter().map(|r| html! { <option value={r.as_str().to_string()} selected={draft.role == *r}>{ r.label_zh() }</option> }) }
                        </select>
                        <input name="contact_position" placeholder={ctx.t(M::Position)} value={draft.position.clone()} onchange={set_cf(|c, v| c.position = v)} />
                        <input name="contact_phone" type="tel" placeholder={ctx.t(M::Phone)} value={draft.phone.clone()} onchange={set_cf(|c, v| c.phone = v)} />
                        <input name="contact_birthday" type="date" value={draft.birthday.clone()} onchange={set_cf(|c, v| c.birthday = v)} />
                        <button class="save" onclick={save_contact}>{ ctx.t(M::Save) }</button>
                        <button onclick={let f = contact_form.clone(); move |_| f.set(None)}>{ ctx.t(M::Cancel) }</button>
                    </div>
                } else {
                    <button class="add-contact" onclick={let f = contact_form.clone(); move |_| f.set(Some((true, Contact { id: new_id("c"), ..Default::default() })))}>{ ctx.t(M::AddContact) }</button>
                }
            </div>
            <div class="card">
                <h3>{ ctx.t(M::Ledger) }</h3>
                <LedgerChart months={months} />
            </div>
            <div class="card">
                <h3>{ ctx.t(M::FollowUps) }</h3>
                <ul class="follow-ups">
                    { for follow_ups.iter().map(|(date, f)| html! { <li>{ format!("{} · {} · {} → {}", date, f.action, f.owner, f.due) }</li> }) }
                </ul>
            </div>
            <div class="card">
                <h3>{ ctx.t(M::Visits) }</h3>
                if visits.is_empty() { <p class="empty">{ ctx.t(M::NoVisits) }</p> }
                <ul class="visits">
                    { for visits.iter().map(|v| html! {
                        <li class="visit" data-visit={v.id.clone()}>
                            <div class="when">{ format!("{} {} · {}", v.date, v.time, v.kind.label_zh()) }</div>
                            <div class="purpose">{ &v.purpose }</div>
                            <div class="summary">{ &v.summary }</div>
                            if !v.needs.is_empty() { <div class="needs">{ format!("{}：{}", ctx.t(M::Needs), v.needs) }</div> }
                            if !v.next_visit.is_empty() { <div class="next">{ format!("{}：{}", ctx.t(M::NextVisit), v.next_visit) }</div> }
                        </li>
                    }) }
                </ul>
            </div>
            <div class="card complaints">
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
                                    if k.overdue(&today_s, &complaint_rules) { <span class="badge overdue">{ ctx.t(M::Overdue) }</span> }
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
                            { for [("phone", "电话"), ("visit", "走访"), ("letter", "信函"), ("online", "网络"), ("other", "其他")].into_iter().map(|(v, l)| html! { <option value={v} selected={channel == v}>{ l }</option> }) }
                        </select>
                        <textarea name="complaint_content" value={content.clone()}
                            onchange={let f = complaint_form.clone(); Callback::from(move |e: Event| if let Some(mut x) = (*f).clone() { x.1 = value_of(&e); f.set(Some(x)) })} />
                        <button class="save" onclick={save_complaint}>{ ctx.t(M::Save) }</button>
                    </div>
                } else {
                    <button class="record-complaint" onclick={let f = complaint_form.clone(); move |_| f.set(Some(("phone".into(), String::new())))}>{ ctx.t(M::RecordComplaint) }</button>
                }
            </div>
            <div class="card agreements">
                <h3>{ ctx.t(M::Agreements) }</h3>
                if let Some(m) = &*agreement_msg { <p class="message agreement-message">{ m }</p> }
                if c.agreements.is_empty() { <p class="empty">{ ctx.t(M::NoAgreements) }</p> }
                <ul>{ for c.agreements.iter().map(|a| html! {
                    <li class="agreement" data-status={a.status.clone()}>
                        { format!("{} · {} → {} · {} · {}", a.number, a.start, a.end, a.lines.iter().map(|l| Line::parse(l).label_zh().to_string()).collect::<Vec<_>>().join("、"), a.terms) }
                        <span class="badge">{ agreement_status(&a.status) }</span>
                        if let Some(days) = a.expires_in(&today_s) { <span class="badge overdue">{ format!("{}天后到期", days) }</span> }
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
                    <button class="add-agreement" onclick={let f = agreement_form.clone(); let lines = c.lines.iter().map(|l| l.as_str().to_string()).collect::<Vec<_>>(); let grade = row.grade;
                        move |_| f.set(Some(agreements::Agreement::new(&new_id("a"), "", lines.clone(), &today(), "", "", grade)))}>{ ctx.t(M::AddAgreement) }</button>
                }
            </div>
            <div class="card plans">
                <h3>{ ctx.t(M::Plan) }</h3>
                { for c.plans.iter().map(|pl| {
                    let (actual, percent) = agreements::progress(pl, &c.ledger);
                    html! {
                        <div class="plan" data-year={pl.year.clone()}>
                            <div>{ format!("{}年 · 目标 {} · 已完成 {}（{}%）· {}", pl.year, yuan(pl.target_revenue_fen), yuan(actual), percent, pl.responsible) }</div>
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
        </section>
    }
}

fn agreement_status(s: &str) -> &'static str {
    match s {
        "pending_approval" => "待审批",
        "active" => "生效",
        "terminated" => "已终止",
        _ => "—",
    }
}
