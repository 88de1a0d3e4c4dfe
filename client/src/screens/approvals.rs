//! 待审批: what waits for a head's or the center's decision — registrations
//! (批准 / 退回 with a reason), levels and grades (定级), service agreements,
//! bad-credit reports (the center) — each with what the data says. The list
//! comes from `GET /api/approvals` (kept on the device for offline reading);
//! a decision is written to the user's desk as a request, works offline,
//! shows 待同步 until the server answers, then its answer: done, or not done
//! and why (someone decided first, the head was moved …).

use fieldbook_shared::api::{Inbox, InboxAgreement, InboxGrade, InboxRegistration, InboxWarning};
use fieldbook_shared::calendar;
use fieldbook_shared::credit::WarningKind;
use fieldbook_shared::desk::{self, Decision, Desk};
use fieldbook_shared::grading::{Grade, Level};
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::http;
use crate::i18n::M;
use crate::screens::{new_id, value_of};
use crate::store;
use crate::widgets::yuan;

/// Where the latest decision about `target` stands: (text, class), or
/// `None` when none was taken on this device's desks. Also whether it waits.
pub fn standing(
    ctx: &Ctx,
    desk: &Desk,
    kinds: &[&str],
    target: &str,
) -> Option<(String, &'static str)> {
    let r = desk
        .requests
        .iter()
        .rfind(|r| r.target == target && kinds.contains(&r.kind.as_str()))?;
    Some(standing_of(ctx, desk, r))
}

/// Where one request stands: waiting, done or not done (with the server's word).
pub fn standing_of(ctx: &Ctx, desk: &Desk, r: &desk::Request) -> (String, &'static str) {
    match desk.outcome(&r.id) {
        None => (ctx.t(M::AwaitingSync).to_string(), "pending"),
        Some(o) if o.ok => (
            format!(
                "{}：{}",
                ctx.t(M::TookEffect),
                crate::i18n::pick(&o.message)
            ),
            "ok",
        ),
        Some(o) => (
            format!("{}：{}", ctx.t(M::NotDone), crate::i18n::pick(&o.message)),
            "refused",
        ),
    }
}

/// Records `decision` about `about` (a name, for the list of one's
/// decisions) on the user's desk: a request for the server.
pub fn decide(
    store: &store::Store,
    error: UseStateHandle<Option<String>>,
    (decision, about): (Decision, String),
) {
    let store = store.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let now = js_sys::Date::now() as i64;
        let mut r = decision.request(
            &new_id("r"),
            &format!("{} {}", calendar::day_of(now), calendar::time_of(now)),
        );
        r.about = about;
        match store::desk_edit(&store, |d| d.transact(|tx| desk::request(tx, &r))).await {
            Ok(Ok(_)) => error.set(None),
            Ok(Err(e)) => error.set(Some(crate::i18n::pick(&e.error.to_string()))),
            Err(e) => error.set(Some(e.to_string())),
        }
    });
}

/// The badge of a decision's standing; buttons are offered unless one waits
/// or took effect.
pub fn badge(s: &Option<(String, &'static str)>) -> Html {
    match s {
        Some((text, class)) => {
            html! { <span class={classes!("decision", *class)}>{ text.clone() }</span> }
        }
        None => html! {},
    }
}

pub fn open(s: &Option<(String, &'static str)>) -> bool {
    !matches!(s, Some((_, "pending" | "ok")))
}

#[function_component(ApprovalsScreen)]
pub fn approvals_screen() -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let token = ctx.store.borrow().session.token.clone();
    let data = use_state(|| None::<Inbox>);
    let message = use_state(|| None::<String>);
    let error = use_state(|| None::<String>);
    let desk = ctx.store.borrow().desk();
    // Fetched again whenever one of this user's decisions took effect.
    let took_effect = desk.outcomes.iter().filter(|o| o.ok).count();
    {
        let (data, message) = (data.clone(), message.clone());
        use_effect_with(took_effect, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match http::get_kept("/api/approvals", &token).await {
                    Ok((200, body, kept)) => {
                        message.set(kept.map(|at| {
                            crate::i18n::pick(&format!(
                                "离线：显示本机保存的 {} 的待审批事项 / offline: the list kept at {}",
                                crate::widgets::local_time(&at),
                                crate::widgets::local_time(&at)
                            ))
                        }));
                        data.set(serde_json::from_str(&body).ok());
                    }
                    Ok((_, body, _)) => message.set(Some(http::error_text(&body))),
                    Err(_) => message.set(Some(crate::i18n::pick(
                        "离线，本机还没有待审批事项 / offline, and the approvals were never loaded here",
                    ))),
                }
            });
        });
    }
    let on_decide = {
        let (store, error) = (ctx.store.clone(), error.clone());
        Callback::from(move |d: (Decision, String)| decide(&store, error.clone(), d))
    };
    // One's decisions, newest first, with what the server did.
    let mine: Vec<&desk::Request> = desk.requests.iter().rev().take(20).collect();
    let kind_label = |k: &str| {
        ctx.t(match k {
            "approve_registration" => M::KindApproveReg,
            "return_registration" => M::KindReturnReg,
            "grade" => M::KindGrade,
            "approve_agreement" => M::KindApproveAgreement,
            "confirm_warning" => M::KindConfirmWarning,
            "report_warning" => M::KindReportWarning,
            "review_month" => M::KindReviewMonth,
            "rule_line" => M::KindRuleLine,
            "create_event" => M::KindCreateEvent,
            "request_handover" => M::KindRequestHandover,
            "decide_handover" => M::KindDecideHandover,
            "spot_check" => M::KindSpotCheck,
            _ => M::KindRejectWarning,
        })
    };
    let decisions = html! {
        <div class="card my-decisions">
            <h3>{ ctx.t(M::MyDecisions) }</h3>
            <ul class="inbox-items">
                { for mine.iter().map(|r| {
                    let s = Some(standing_of(&ctx, &desk, r));
                    html! {
                        <li class="inbox-item decided" data-target={r.target.clone()} data-kind={r.kind.clone()}>
                            <div class="what"><strong>{ if r.about.is_empty() { r.target.clone() } else { r.about.clone() } }</strong>
                                <span>{ kind_label(&r.kind) }</span><span>{ &r.at }</span>
                                if !r.reason.is_empty() { <span>{ &r.reason }</span> }
                            </div>
                            { badge(&s) }
                        </li>
                    }
                }) }
            </ul>
        </div>
    };
    let section = |title: M, total: usize, shown: usize, class: &'static str, items: Html| {
        html! {
            <div class={classes!("card", "inbox-part", class)}>
                <h3>{ format!("{}（{}）", ctx.t(title), total) }</h3>
                <ul class="inbox-items">{ items }</ul>
                if total > shown { <p class="more">{ format!("{} {}", ctx.t(M::AndMore), total - shown) }</p> }
            </div>
        }
    };
    let body = match &*data {
        None => html! {},
        Some(inbox) if inbox.totals.all() == 0 => {
            html! { <p class="empty">{ ctx.t(M::NothingToApprove) }</p> }
        }
        Some(inbox) => html! {
            <>
                if !inbox.registrations.is_empty() {
                    { section(M::Registrations, inbox.totals.registrations, inbox.registrations.len(), "registrations", html! {
                        { for inbox.registrations.iter().map(|r| html! {
                            <RegistrationItem item={r.clone()} standing={standing(&ctx, &desk, &["approve_registration", "return_registration"], &r.doc_id)} on_decide={on_decide.clone()}
                                rulings={r.duplicate.iter().map(|(line, _)| (line.clone(), desk.requests.iter().rfind(|q| q.kind == "rule_line" && q.target == r.doc_id && q.value == line.as_str()).map(|q| standing_of(&ctx, &desk, q)))).collect::<Vec<_>>()} />
                        }) }
                    }) }
                }
                if !inbox.grades.is_empty() {
                    { section(M::GradesToFix, inbox.totals.grades, inbox.grades.len(), "grades", html! {
                        { for inbox.grades.iter().map(|g| html! {
                            <GradeItem item={g.clone()} standing={standing(&ctx, &desk, &["grade"], &g.doc_id)} on_decide={on_decide.clone()} />
                        }) }
                    }) }
                }
                if !inbox.agreements.is_empty() {
                    { section(M::AgreementsToApprove, inbox.totals.agreements, inbox.agreements.len(), "agreements", html! {
                        { for inbox.agreements.iter().map(|a| agreement_item(&ctx, a, standing(&ctx, &desk, &["approve_agreement"], &a.doc_id), &on_decide)) }
                    }) }
                }
                if !inbox.handovers.is_empty() {
                    { section(M::HandoverRequests, inbox.totals.handovers, inbox.handovers.len(), "handovers", html! {
                        { for inbox.handovers.iter().map(|h| handover_item(&ctx, h, standing(&ctx, &desk, &["decide_handover"], &h.id.to_string()), &on_decide)) }
                    }) }
                }
                if !inbox.warnings.is_empty() {
                    { section(M::BadCredit, inbox.totals.warnings, inbox.warnings.len(), "warnings", html! {
                        { for inbox.warnings.iter().map(|w| warning_item(&ctx, w, standing(&ctx, &desk, &["confirm_warning", "reject_warning"], &w.id.to_string()), &on_decide)) }
                    }) }
                }
            </>
        },
    };
    html! {
        <section class="approvals">
            <div class="toolbar">
                <button onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Customers)}>{ format!("‹ {}", ctx.t(M::Back)) }</button>
                <h2>{ ctx.t(M::Approvals) }</h2>
            </div>
            if let Some(m) = &*message { <p class="note kept">{ m.clone() }</p> }
            if let Some(e) = &*error { <p class="error">{ e.clone() }</p> }
            { body }
            if !mine.is_empty() { { decisions } }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct ItemProps<T: PartialEq> {
    item: T,
    standing: Option<(String, &'static str)>,
    on_decide: Callback<(Decision, String)>,
    /// Registrations: where a ruling of each duplicate line stands.
    #[prop_or_default]
    rulings: Vec<(
        fieldbook_shared::vocab::Line,
        Option<(String, &'static str)>,
    )>,
}

#[function_component(RegistrationItem)]
fn registration_item(p: &ItemProps<InboxRegistration>) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let reason = use_state(String::new);
    let r = &p.item;
    let doc = r.doc_id.clone();
    let approve = p.on_decide.reform({
        let (doc, name) = (doc.clone(), r.name.clone());
        move |_| {
            (
                Decision::ApproveRegistration { doc: doc.clone() },
                name.clone(),
            )
        }
    });
    let send_back = p.on_decide.reform({
        let (doc, reason, name) = (doc.clone(), reason.clone(), r.name.clone());
        move |_| {
            (
                Decision::ReturnRegistration {
                    doc: doc.clone(),
                    reason: reason.trim().to_string(),
                },
                name.clone(),
            )
        }
    });
    let lines: Vec<String> = r
        .lines
        .iter()
        .map(|l| crate::i18n::label(&l).to_string())
        .collect();
    html! {
        <li class="inbox-item registration" data-doc={doc.clone()}>
            <div class="what"><strong>{ &r.name }</strong>
                <span>{ &r.unit_name }</span>
                <span>{ lines.join("·") }</span>
                if !r.credit_code.is_empty() { <span class="code">{ &r.credit_code }</span> }
            </div>
            <div class="why">
                { format!("{}：{} · {}", ctx.t(M::RegisteredBy), r.registered_by, crate::widgets::local_time(&r.registered_at)) }
                if !r.same_as.is_empty() { <span class="warn">{ format!(" · {}：{}", ctx.t(M::SameAs), r.same_as) }</span> }
                { for r.duplicate.iter().map(|(line, unit)| html! {
                    <span class="warn">{ format!(" · {}（{}）：{}", ctx.t(M::LinesTaken), crate::i18n::label(&line), unit) }</span>
                }) }
            </div>
            // 裁定: a line another unit registered first may be ruled to this one.
            { for r.duplicate.iter().map(|(line, _)| {
                let ruled = p.rulings.iter().find(|(l, _)| l == line).and_then(|(_, s)| s.clone());
                let rule = p.on_decide.reform({
                    let (doc, line, name) = (doc.clone(), line.clone(), r.name.clone());
                    move |_| (Decision::RuleLine { doc: doc.clone(), line: line.clone() }, name.clone())
                });
                html! {
                    <div class="ruling" data-line={line.as_str().to_string()}>
                        { badge(&ruled) }
                        if open(&ruled) {
                            <button class="rule-line" onclick={rule}>{ format!("{}：{}", ctx.t(M::RuleLine), crate::i18n::label(&line)) }</button>
                        }
                    </div>
                }
            }) }
            { badge(&p.standing) }
            if open(&p.standing) {
                <div class="actions">
                    <button class="primary approve" onclick={approve}>{ ctx.t(M::ApproveIt) }</button>
                    <input name="reason" placeholder={ctx.t(M::SendBackReason)} value={(*reason).clone()}
                        oninput={let s = reason.clone(); Callback::from(move |e: InputEvent| s.set(value_of(&e.into())))} />
                    <button class="send-back" disabled={reason.trim().is_empty()} onclick={send_back}>{ ctx.t(M::SendBack) }</button>
                </div>
            }
        </li>
    }
}

#[function_component(GradeItem)]
fn grade_item(p: &ItemProps<InboxGrade>) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let g = &p.item;
    let chosen = use_state(|| (g.proposed_level, g.proposed_grade));
    let doc = g.doc_id.clone();
    let as_proposed = p.on_decide.reform({
        let (doc, level, grade, name) = (
            doc.clone(),
            g.proposed_level,
            g.proposed_grade,
            g.name.clone(),
        );
        move |_| {
            (
                Decision::Grade {
                    doc: doc.clone(),
                    level,
                    grade,
                },
                format!(
                    "{name} → {}·{}",
                    crate::i18n::label(&level),
                    crate::i18n::label(&grade)
                ),
            )
        }
    });
    let fix = p.on_decide.reform({
        let (doc, chosen, name) = (doc.clone(), chosen.clone(), g.name.clone());
        move |_| {
            (
                Decision::Grade {
                    doc: doc.clone(),
                    level: chosen.0,
                    grade: chosen.1,
                },
                format!(
                    "{name} → {}·{}",
                    crate::i18n::label(&chosen.0),
                    crate::i18n::label(&chosen.1)
                ),
            )
        }
    });
    let head = matches!(
        ctx.store.borrow().session.user.role,
        fieldbook_shared::vocab::Role::Head
    );
    // A head may fix gold and below (the server checks it again).
    let grades: Vec<Grade> = Grade::ALL
        .into_iter()
        .filter(|x| !head || *x < Grade::Platinum)
        .collect();
    html! {
        <li class="inbox-item grade" data-doc={doc}>
            <div class="what"><strong>{ &g.name }</strong><span>{ &g.unit_name }</span></div>
            <div class="why">
                { format!("{}：{} · {}：{}·{}", ctx.t(M::Revenue12), yuan(g.annual_revenue_fen), ctx.t(M::ProposedAs), crate::i18n::label(&g.proposed_level), crate::i18n::label(&g.proposed_grade)) }
                if let Some((l, gr)) = g.approved { { format!(" · {}：{}·{}", ctx.t(M::CurrentlyAs), crate::i18n::label(&l), crate::i18n::label(&gr)) } }
            </div>
            { badge(&p.standing) }
            if g.center_only {
                <p class="center-only">{ ctx.t(M::CenterOnly) }</p>
            } else if open(&p.standing) {
                <div class="actions">
                    <button class="primary as-proposed" onclick={as_proposed}>{ ctx.t(M::AsProposed) }</button>
                    <select name="level" onchange={let c = chosen.clone(); Callback::from(move |e: Event| {
                        let v = value_of(&e);
                        if let Some(l) = Level::ALL.into_iter().find(|l| l.as_str() == v) { c.set((l, c.1)) }
                    })}>
                        { for Level::ALL.iter().map(|l| html! { <option value={l.as_str()} selected={chosen.0 == *l}>{ crate::i18n::label(&l) }</option> }) }
                    </select>
                    <select name="grade" onchange={let c = chosen.clone(); Callback::from(move |e: Event| {
                        let v = value_of(&e);
                        if let Some(g) = Grade::ALL.into_iter().find(|g| g.as_str() == v) { c.set((c.0, g)) }
                    })}>
                        { for grades.iter().map(|x| html! { <option value={x.as_str()} selected={chosen.1 == *x}>{ crate::i18n::label(&x) }</option> }) }
                    </select>
                    <button class="fix-grade" onclick={fix}>{ ctx.t(M::FixAs) }</button>
                </div>
            }
        </li>
    }
}

fn agreement_item(
    ctx: &Ctx,
    a: &InboxAgreement,
    standing: Option<(String, &'static str)>,
    on_decide: &Callback<(Decision, String)>,
) -> Html {
    let approve = on_decide.reform({
        let (doc, agreement, about) = (
            a.doc_id.clone(),
            a.agreement_id.clone(),
            format!("{} {}", a.name, a.number),
        );
        move |_| {
            (
                Decision::ApproveAgreement {
                    doc: doc.clone(),
                    agreement: agreement.clone(),
                },
                about.clone(),
            )
        }
    });
    html! {
        <li class="inbox-item agreement" data-doc={a.doc_id.clone()}>
            <div class="what"><strong>{ &a.name }</strong><span>{ &a.unit_name }</span></div>
            <div class="why">{ format!("{}：{} · {}", ctx.t(M::AgreementNumber), a.number, a.end_date) }</div>
            { badge(&standing) }
            if open(&standing) {
                <div class="actions"><button class="primary approve" onclick={approve}>{ ctx.t(M::ApproveIt) }</button></div>
            }
        </li>
    }
}

fn handover_item(
    ctx: &Ctx,
    h: &fieldbook_shared::api::InboxHandover,
    standing: Option<(String, &'static str)>,
    on_decide: &Callback<(Decision, String)>,
) -> Html {
    let id = h.id;
    let approve = on_decide.reform({
        let name = h.name.clone();
        move |_| {
            (
                Decision::DecideHandover {
                    request: id,
                    approve: true,
                },
                name.clone(),
            )
        }
    });
    let reject = on_decide.reform({
        let name = h.name.clone();
        move |_| {
            (
                Decision::DecideHandover {
                    request: id,
                    approve: false,
                },
                name.clone(),
            )
        }
    });
    html! {
        <li class="inbox-item handover" data-request={id.to_string()}>
            <div class="what"><strong>{ &h.name }</strong><span>{ &h.unit_name }</span>
                <span>{ format!("{} → {}", h.from, h.to) }</span>
            </div>
            <div class="why">
                { crate::widgets::local_time(&h.requested_at) }
                if !h.reason.is_empty() { { format!(" · {}", h.reason) } }
            </div>
            { badge(&standing) }
            if open(&standing) {
                <div class="actions">
                    <button class="primary approve" onclick={approve}>{ ctx.t(M::ApproveIt) }</button>
                    <button class="reject" onclick={reject}>{ ctx.t(M::SendBack) }</button>
                </div>
            }
        </li>
    }
}

fn warning_item(
    ctx: &Ctx,
    w: &InboxWarning,
    standing: Option<(String, &'static str)>,
    on_decide: &Callback<(Decision, String)>,
) -> Html {
    let id = w.id;
    let confirm = on_decide.reform({
        let name = w.name.clone();
        move |_| (Decision::ConfirmWarning { report: id }, name.clone())
    });
    let reject = on_decide.reform({
        let name = w.name.clone();
        move |_| (Decision::RejectWarning { report: id }, name.clone())
    });
    let kind = WarningKind::parse(&w.kind)
        .map(|k| crate::i18n::label(&k).to_string())
        .unwrap_or_else(|| w.kind.clone());
    html! {
        <li class="inbox-item warning" data-report={id.to_string()}>
            <div class="what"><strong>{ &w.name }</strong><span>{ kind }</span>
                if !w.credit_code.is_empty() { <span class="code">{ &w.credit_code }</span> }
            </div>
            <div class="why">
                { format!("{}：{} · {}", ctx.t(M::Reporter), w.reported_by, crate::widgets::local_time(&w.reported_at)) }
                if !w.note.is_empty() { { format!(" · {}", w.note) } }
            </div>
            { badge(&standing) }
            if open(&standing) {
                <div class="actions">
                    <button class="primary confirm" onclick={confirm}>{ ctx.t(M::ConfirmIt) }</button>
                    <button class="reject" onclick={reject}>{ ctx.t(M::RejectIt) }</button>
                </div>
            }
        </li>
    }
}
