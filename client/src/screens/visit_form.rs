//! Log a visit: every field of the visit record; the date defaults to today.
//! "Saved" is shown only once the visit is in IndexedDB.

use fieldbook_shared::customer::{self, FollowUp, Visit};
use fieldbook_shared::vocab::VisitKind;
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::i18n::M;
use crate::screens::{new_id, value_of};
use crate::store::{self, today};
use crate::widgets::CreditWarning;

#[derive(Properties, PartialEq)]
pub struct Props {
    pub doc_id: String,
    /// The planned visit this logs (出访计划), if any.
    #[prop_or_default]
    pub plan: Option<String>,
    /// The customer event this logs (客户活动), if any: the visit is of that
    /// kind, its purpose the event's title.
    #[prop_or_default]
    pub event: Option<String>,
}

#[function_component(VisitForm)]
pub fn visit_form(p: &Props) -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let me = ctx.store.borrow().session.user.username.clone();
    // The visit and its follow-up as typed, kept as a draft: a reload or a
    // killed tab loses nothing (`drafts.rs`).
    let form = use_state(|| {
        (
            Visit {
                id: new_id("v"),
                date: today(),
                visitors: vec![me.clone()],
                ..Default::default()
            },
            FollowUp {
                owner: me.clone(),
                ..Default::default()
            },
        )
    });
    let draft_key = crate::drafts::key(&me, &format!("visit/{}", p.doc_id));
    // A planned visit gives its purpose (once, before anything is typed).
    {
        let (form, store, doc, plan) = (
            form.clone(),
            ctx.store.clone(),
            p.doc_id.clone(),
            p.plan.clone(),
        );
        use_effect_with(plan.clone(), move |_| {
            let purpose = plan.and_then(|id| {
                let row = store.borrow().row(&doc)?;
                row.customer
                    .planned_visits
                    .iter()
                    .find(|x| x.id == id)
                    .map(|x| x.purpose.clone())
            });
            if let Some(purpose) = purpose.filter(|_| form.0.purpose.is_empty()) {
                let mut x = (*form).clone();
                x.0.purpose = purpose;
                form.set(x);
            }
        });
    }
    // An event's visit: its kind and title (once, before anything is typed).
    {
        let (form, store, doc, event) = (
            form.clone(),
            ctx.store.clone(),
            p.doc_id.clone(),
            p.event.clone(),
        );
        use_effect_with(event.clone(), move |_| {
            let title = event.and_then(|id| {
                let row = store.borrow().row(&doc)?;
                row.customer
                    .events
                    .iter()
                    .find(|x| x.id == id)
                    .map(|x| x.title.clone())
            });
            if let Some(title) = title.filter(|_| form.0.purpose.is_empty()) {
                let mut x = (*form).clone();
                x.0.kind = VisitKind::Event;
                x.0.purpose = title;
                form.set(x);
            }
        });
    }
    crate::drafts::use_draft(draft_key.clone(), form.clone());
    let (visit, follow) = (&form.0, &form.1);
    let state = use_state(|| None::<Result<(), String>>);
    // A check-in from the location service, copied into the visit when it
    // arrives (the form may have changed meanwhile).
    let check_in = use_state(|| None::<CheckIn>);
    {
        let form = form.clone();
        use_effect_with((*check_in).clone(), move |ci| {
            if let Some(ci) = ci
                && form.0.check_in_at != ci.at
            {
                let mut x = (*form).clone();
                x.0.check_in_at = ci.at.clone();
                x.0.check_in_position = ci.position.clone();
                x.0.check_in_accuracy_m = ci.accuracy_m;
                x.0.check_in_note = ci.note.clone();
                form.set(x);
            }
        });
    }
    let ask_location = {
        let check_in = check_in.clone();
        Callback::from(move |_| locate(check_in.clone()))
    };
    let Some(row) = ctx.store.borrow().row(&p.doc_id) else {
        return html! {};
    };

    let set = |f: fn(&mut Visit, String)| {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let mut x = (*form).clone();
            f(&mut x.0, value_of(&e));
            form.set(x);
        })
    };
    let set_f = |f: fn(&mut FollowUp, String)| {
        let form = form.clone();
        Callback::from(move |e: Event| {
            let mut x = (*form).clone();
            f(&mut x.1, value_of(&e));
            form.set(x);
        })
    };
    let toggle_contact = |id: String| {
        let form = form.clone();
        Callback::from(move |_| {
            let mut x = (*form).clone();
            let met = &mut x.0.contacts_met;
            if let Some(i) = met.iter().position(|c| *c == id) {
                met.remove(i);
            } else {
                met.push(id.clone());
            }
            form.set(x);
        })
    };
    let onsubmit = {
        let (form, state, store, doc, go, draft_key, plan) = (
            form.clone(),
            state.clone(),
            ctx.store.clone(),
            p.doc_id.clone(),
            ctx.go.clone(),
            draft_key.clone(),
            p.plan.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let (mut v, f) = (*form).clone();
            if v.date.is_empty() {
                state.set(Some(Err("date".into())));
                return;
            }
            if !f.action.trim().is_empty() {
                v.follow_ups.push(FollowUp {
                    id: new_id("f"),
                    ..f
                });
            }
            let (state, store, doc, go, draft_key, plan) = (
                state.clone(),
                store.clone(),
                doc.clone(),
                go.clone(),
                draft_key.clone(),
                plan.clone(),
            );
            state.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                // The visit, and the plan it makes, in one change.
                let r = store::edit(&store, &doc, |d| {
                    d.transact(|tx| {
                        customer::add_visit(tx, &v)?;
                        match &plan {
                            Some(id) => fieldbook_shared::itinerary::made(tx, id, &v.id),
                            None => Ok(()),
                        }
                    })
                    .map(|_| ())
                    .map_err(|e| e.error.to_string())
                })
                .await;
                match r.map_err(|e| e.to_string()).and_then(|x| x) {
                    Ok(()) => {
                        crate::drafts::discard(&draft_key).await;
                        state.set(Some(Ok(())));
                        // Back where the visit was started from.
                        go.emit(if plan.is_some() {
                            Route::Plan
                        } else {
                            Route::Customer(doc)
                        });
                    }
                    Err(e) => state.set(Some(Err(e))),
                }
            });
        })
    };
    html! {
        <form class="visit-form" {onsubmit}>
            <div class="toolbar">
                <button type="button" onclick={let go = ctx.go.clone(); let id = p.doc_id.clone(); let key = draft_key.clone(); let planned = p.plan.is_some(); move |_| {
                    // Leaving the form on purpose: its draft goes (after any
                    // save already queued: IndexedDB keeps their order).
                    go.emit(if planned { Route::Plan } else { Route::Customer(id.clone()) });
                    let key = key.clone();
                    wasm_bindgen_futures::spawn_local(async move { crate::drafts::discard(&key).await });
                }}>{ format!("‹ {}", ctx.t(M::Back)) }</button>
                <h2>{ format!("{} · {}", ctx.t(M::LogVisit), row.customer.name) }</h2>
            </div>
            <CreditWarning name={row.customer.name.clone()} credit_code={row.customer.credit_code.clone()} />
            <div class="grid">
                <label>{ ctx.t(M::Date) }<input name="date" type="date" required=true value={visit.date.clone()} onchange={set(|v, x| v.date = x)} /></label>
                <label>{ ctx.t(M::Time) }<input name="time" type="time" value={visit.time.clone()} onchange={set(|v, x| v.time = x)} /></label>
                <label>{ ctx.t(M::Kind) }
                    <select name="kind" onchange={set(|v, x| v.kind = VisitKind::parse(&x))}>
                        { for VisitKind::ALL.iter().map(|k| html! { <option value={k.as_str().to_string()} selected={visit.kind == *k}>{ crate::i18n::label(&k) }</option> }) }
                    </select>
                </label>
                <label>{ ctx.t(M::Visitors) }<input name="visitors" value={visit.visitors.join(", ")}
                    onchange={set(|v, x| v.visitors = x.split([',', '，']).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())} /></label>
            </div>
            <fieldset>
                <legend>{ ctx.t(M::ContactsMet) }</legend>
                { for row.customer.contacts.iter().map(|c| html! {
                    <label class="check"><input type="checkbox" name="contacts_met" value={c.id.clone()} checked={visit.contacts_met.contains(&c.id)} onchange={toggle_contact(c.id.clone())} />{ format!("{}（{}）", c.name, crate::i18n::label(&c.role)) }</label>
                }) }
            </fieldset>
            <label>{ ctx.t(M::Purpose) }<input name="purpose" value={visit.purpose.clone()} onchange={set(|v, x| v.purpose = x)} /></label>
            <label>{ ctx.t(M::Summary) }<textarea name="summary" value={visit.summary.clone()} onchange={set(|v, x| v.summary = x)} /></label>
            <label>{ ctx.t(M::Needs) }<textarea name="needs" value={visit.needs.clone()} onchange={set(|v, x| v.needs = x)} /></label>
            <label>{ ctx.t(M::Opinions) }<textarea name="opinions" value={visit.opinions.clone()} onchange={set(|v, x| v.opinions = x)} /></label>
            <label>{ ctx.t(M::ComplaintsText) }<textarea name="complaints" value={visit.complaints.clone()} onchange={set(|v, x| v.complaints = x)} /></label>
            <label>{ ctx.t(M::CompetitorNews) }<textarea name="competitor_news" value={visit.competitor_news.clone()} onchange={set(|v, x| v.competitor_news = x)} /></label>
            <label>{ ctx.t(M::MailingDifficulties) }<textarea name="mailing_difficulties" value={visit.mailing_difficulties.clone()} onchange={set(|v, x| v.mailing_difficulties = x)} /></label>
            <fieldset class="grid">
                <legend>{ ctx.t(M::FollowUps) }</legend>
                <label>{ ctx.t(M::FollowUpAction) }<input name="follow_action" value={follow.action.clone()} onchange={set_f(|f, x| f.action = x)} /></label>
                <label>{ ctx.t(M::FollowUpOwner) }<input name="follow_owner" value={follow.owner.clone()} onchange={set_f(|f, x| f.owner = x)} /></label>
                <label>{ ctx.t(M::FollowUpDue) }<input name="follow_due" type="date" value={follow.due.clone()} onchange={set_f(|f, x| f.due = x)} /></label>
            </fieldset>
            <label>{ ctx.t(M::NextVisit) }<input name="next_visit" type="date" value={visit.next_visit.clone()} onchange={set(|v, x| v.next_visit = x)} /></label>
            <fieldset class="check-in">
                <legend>{ ctx.t(M::CheckIn) }</legend>
                if visit.check_in_at.is_empty() {
                    <button type="button" class="check-in-button" onclick={ask_location}>{ ctx.t(M::CheckInNow) }</button>
                } else {
                    <p class="checked-in">{ check_in_text(visit) }</p>
                }
            </fieldset>
            if let Some(Err(e)) = &*state { <p class="error" role="alert">{ e }</p> }
            <button type="submit" class="primary">{ ctx.t(M::Save) }</button>
        </form>
    }
}

/// A check-in as the location service answered.
#[derive(Clone, PartialEq)]
struct CheckIn {
    at: String,
    position: String,
    accuracy_m: i64,
    note: String,
}

/// Asks the tablet where it is (GPS works offline); the answer, or why
/// there is none, lands in `out`. The time is the tablet's, either way.
fn locate(out: UseStateHandle<Option<CheckIn>>) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    fn now() -> String {
        String::from(js_sys::Date::new_0().to_iso_string())
    }
    fn without(note: &str) -> CheckIn {
        CheckIn {
            at: now(),
            position: String::new(),
            accuracy_m: 0,
            note: note.to_string(),
        }
    }
    let Some(geo) = web_sys::window().and_then(|w| w.navigator().geolocation().ok()) else {
        out.set(Some(without(&crate::i18n::pick(
            "本设备不能定位 / this device cannot give its location",
        ))));
        return;
    };
    let ok = {
        let out = out.clone();
        // web-sys marks the position types unstable: read them as objects.
        Closure::once_into_js(move |p: wasm_bindgen::JsValue| {
            let coords = js_sys::Reflect::get(&p, &"coords".into()).unwrap_or_default();
            let num = |k: &str| {
                js_sys::Reflect::get(&coords, &k.into())
                    .ok()
                    .and_then(|v| v.as_f64())
            };
            out.set(Some(match (num("latitude"), num("longitude")) {
                (Some(lat), Some(lon)) => CheckIn {
                    at: now(),
                    position: format!("{lat:.5},{lon:.5}"),
                    accuracy_m: num("accuracy").unwrap_or(0.0).round() as i64,
                    note: String::new(),
                },
                _ => without(&crate::i18n::pick("位置不可用 / location unavailable")),
            }));
        })
    };
    let failed = {
        let out = out.clone();
        Closure::once_into_js(move |e: wasm_bindgen::JsValue| {
            let code = js_sys::Reflect::get(&e, &"code".into())
                .ok()
                .and_then(|c| c.as_f64())
                .unwrap_or(2.0) as u16;
            let why = match code {
                1 => "未获定位授权 / location not allowed",
                3 => "定位超时 / locating timed out",
                _ => "位置不可用 / location unavailable",
            };
            out.set(Some(without(&crate::i18n::pick(why))));
        })
    };
    let options = web_sys::PositionOptions::new();
    options.set_enable_high_accuracy(true);
    options.set_timeout(20_000);
    if geo
        .get_current_position_with_error_callback_and_options(
            ok.unchecked_ref(),
            Some(failed.unchecked_ref()),
            &options,
        )
        .is_err()
    {
        out.set(Some(without(&crate::i18n::pick(
            "位置不可用 / location unavailable",
        ))));
    }
}

/// A visit's check-in in words: when, and where or why not.
pub fn check_in_text(v: &Visit) -> String {
    let when = crate::widgets::local_time(&v.check_in_at);
    if v.check_in_position.is_empty() {
        format!(
            "{} {} · {}",
            crate::i18n::pick("已签到 / checked in"),
            when,
            v.check_in_note
        )
    } else {
        format!(
            "{} {} · {}（±{} m）",
            crate::i18n::pick("已签到 / checked in"),
            when,
            v.check_in_position,
            v.check_in_accuracy_m
        )
    }
}
