//! 考核: the scorecard of the managers and units of a head's subtree for a
//! month, a quarter or a year (`GET /api/scorecard`, kept for offline
//! reading): a bar per manager for revenue and for visit compliance, a
//! trend per unit, and every figure in a table; CSV and Excel exports.

use fieldbook_shared::api::Unit;
use fieldbook_shared::scorecard::{ScoreRow, Scorecard};
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::http;
use crate::i18n::M;
use crate::screens::reports::{bars, within};
use crate::screens::value_of;
use crate::widgets::yuan;

fn pct(p: Option<i64>) -> String {
    p.map(|p| format!("{p:+}%")).unwrap_or_else(|| "—".into())
}

#[function_component(ScorecardScreen)]
pub fn scorecard_screen() -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let token = ctx.store.borrow().session.token.clone();
    let this_month = fieldbook_shared::calendar::month_of(js_sys::Date::now() as i64);
    // (unit, period); the period a month, a quarter or a year. By default
    // the last complete month: a month's ledger is imported after it ends.
    let last_month = fieldbook_shared::calendar::Month::parse(&this_month)
        .map(|m| m.plus(-1).to_string())
        .unwrap_or_else(|| this_month.clone());
    let filter = use_state(|| (String::new(), last_month));
    let data = use_state(|| None::<Scorecard>);
    let units = use_state(Vec::<Unit>::new);
    let message = use_state(|| None::<String>);
    {
        let (data, units, message, token) =
            (data.clone(), units.clone(), message.clone(), token.clone());
        use_effect_with((*filter).clone(), move |(unit, period)| {
            let mut path = format!("/api/scorecard?period={period}");
            if !unit.is_empty() {
                path.push_str(&format!("&unit={unit}"));
            }
            wasm_bindgen_futures::spawn_local(async move {
                if units.is_empty()
                    && let Ok((200, body, _)) = http::get_kept("/api/units", &token).await
                {
                    units.set(serde_json::from_str(&body).unwrap_or_default());
                }
                match http::get_kept(&path, &token).await {
                    Ok((200, body, kept)) => {
                        message.set(kept.map(|at| {
                            crate::i18n::pick(&format!(
                                "离线：显示本机保存的 {} 的考核 / offline: the copy kept at {}",
                                crate::widgets::local_time(&at),
                                crate::widgets::local_time(&at)
                            ))
                        }));
                        data.set(serde_json::from_str(&body).ok());
                    }
                    Ok((_, body, _)) => {
                        data.set(None);
                        message.set(Some(http::error_text(&body)));
                    }
                    Err(_) => {
                        data.set(None);
                        message.set(Some(crate::i18n::pick(
                            "离线，本机还没有这份考核 / offline, and this scorecard was never loaded here",
                        )));
                    }
                }
            });
        });
    }
    let me = {
        let s = ctx.store.borrow();
        match s.session.user.role {
            fieldbook_shared::vocab::Role::Admin => None,
            _ => Some(s.session.user.unit.clone()),
        }
    };
    let unit_name = |code: &str| {
        units
            .iter()
            .find(|u| u.code == code)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| code.to_string())
    };
    // Periods offered: this month and the five before, this quarter and the
    // three before, this year and last.
    let periods: Vec<String> = {
        let now = fieldbook_shared::calendar::Month::parse(&this_month);
        let mut out = Vec::new();
        if let Some(m) = now {
            out.extend((0..6).map(|i| m.plus(-i).to_string()));
            out.extend((0..4).map(|i| m.plus(-3 * i).quarter().to_string()));
            out.push(m.year.to_string());
            out.push((m.year - 1).to_string());
        }
        out
    };
    let row = |r: &ScoreRow, who: String| {
        html! {
            <tr data-manager={r.manager.clone()} data-unit={r.unit.clone()}>
                <td>{ who }</td>
                <td>{ r.customers }</td>
                <td>{ r.registered }</td>
                <td>{ yuan(r.revenue_fen) }</td>
                <td>{ pct(r.growth_percent) }</td>
                <td>{ pct(r.yoy_percent) }</td>
                <td>{ format!("{:.1}%", r.key_share_permille as f64 / 10.0) }</td>
                <td class="compliance">{ format!("{}%", r.compliance_percent) }</td>
                <td>{ format!("{}/{}", r.follow_ups_on_time, r.follow_ups_closed) }</td>
                <td>{ format!("{}/{}", r.complaints_on_time, r.complaints) }</td>
                <td>{ if r.satisfaction_x10 > 0 { format!("{:.1}", r.satisfaction_x10 as f64 / 10.0) } else { "—".into() } }</td>
                <td>{ if r.plan_target_fen > 0 { format!("{}%", r.plan_percent) } else { "—".into() } }</td>
                <td>{ r.lost }</td>
                <td class="survey">{ if r.surveys > 0 { format!("{:.1}（{}）", r.survey_x10 as f64 / 10.0, r.surveys) } else { "—".into() } }</td>
            </tr>
        }
    };
    let body = match &*data {
        None => html! {},
        Some(card) => {
            let who = |r: &ScoreRow| {
                if r.manager.is_empty() {
                    unit_name(&r.unit)
                } else if r.name.is_empty() {
                    r.manager.clone()
                } else {
                    r.name.clone()
                }
            };
            let revenue: Vec<(String, i64, String)> = card
                .managers
                .iter()
                .map(|r| {
                    (
                        who(r),
                        r.revenue_fen,
                        format!("{} · {}", yuan(r.revenue_fen), pct(r.growth_percent)),
                    )
                })
                .collect();
            let compliance: Vec<(String, i64, String)> = card
                .managers
                .iter()
                .map(|r| {
                    (
                        who(r),
                        r.compliance_percent,
                        format!(
                            "{}%（{}/{}）",
                            r.compliance_percent, r.visits_made, r.visits_due
                        ),
                    )
                })
                .collect();
            let trend: Vec<(String, i64, String)> = card
                .unit_trend
                .iter()
                .map(|(u, m, fen)| (format!("{} {}", unit_name(u), m), *fen, yuan(*fen)))
                .collect();
            let max_revenue = revenue.iter().map(|r| r.1).max().unwrap_or(1);
            let max_trend = trend.iter().map(|r| r.1).max().unwrap_or(1);
            let query = format!(
                "period={}{}",
                card.period,
                if card.unit.is_empty() {
                    String::new()
                } else {
                    format!("&unit={}", card.unit)
                }
            );
            html! {
                <>
                    <div class="card score revenue" data-score="revenue">
                        <h3>{ format!("{} · {} · {} {} · {} {}", ctx.t(M::Revenue), yuan(card.total.revenue_fen), ctx.t(M::Sequential), pct(card.total.growth_percent), ctx.t(M::YoY), pct(card.total.yoy_percent)) }</h3>
                        { bars("revenue", &revenue, max_revenue) }
                    </div>
                    <div class="card score compliance" data-score="compliance">
                        <h3>{ format!("{} · {}%", ctx.t(M::VisitCompliance), card.total.compliance_percent) }</h3>
                        { bars("rate", &compliance, 100) }
                    </div>
                    <div class="card score trend" data-score="trend">
                        <h3>{ ctx.t(M::UnitTrend) }</h3>
                        { bars("trend", &trend, max_trend) }
                    </div>
                    <div class="card score table" data-score="table">
                        <h3>{ ctx.t(M::AllFigures) }</h3>
                        <div class="table-scroll">
                            <table class="admin scorecard">
                                <tr>
                                    <th>{ ctx.t(M::Manager) }</th><th>{ ctx.t(M::CustomersCount) }</th><th>{ ctx.t(M::NewRegistrations) }</th>
                                    <th>{ ctx.t(M::Revenue) }</th><th>{ ctx.t(M::Sequential) }</th><th>{ ctx.t(M::YoY) }</th><th>{ ctx.t(M::KeyShare) }</th>
                                    <th>{ ctx.t(M::VisitCompliance) }</th><th>{ ctx.t(M::FollowUpsOnTime) }</th><th>{ ctx.t(M::ComplaintsOnTime) }</th>
                                    <th>{ ctx.t(M::Satisfaction) }</th><th>{ ctx.t(M::PlanCompletion) }</th><th>{ ctx.t(M::ChurnedCustomers) }</th><th>{ ctx.t(M::SurveyScore) }</th>
                                </tr>
                                { for card.managers.iter().map(|r| row(r, if r.name.is_empty() { r.manager.clone() } else { r.name.clone() })) }
                                { for card.units.iter().map(|r| row(r, unit_name(&r.unit))) }
                                { row(&card.total, ctx.t(M::Total).to_string()) }
                            </table>
                        </div>
                        <p class="exports">
                            <a class="export" href={format!("/api/export/scorecard.csv?{query}")} download="">{ "CSV" }</a>
                            <a class="export" href={format!("/api/export/scorecard.xlsx?{query}")} download="">{ "Excel" }</a>
                        </p>
                    </div>
                </>
            }
        }
    };
    html! {
        <section class="scorecard-screen">
            <div class="toolbar">
                <button onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Customers)}>{ format!("‹ {}", ctx.t(M::Back)) }</button>
                <h2>{ ctx.t(M::Scorecard) }</h2>
            </div>
            <div class="filters">
                <select name="unit" onchange={let f = filter.clone(); Callback::from(move |e: Event| f.set((value_of(&e), f.1.clone())))}>
                    <option value="" selected={filter.0.is_empty()}>{ ctx.t(M::MyScope) }</option>
                    { for within(&units, &me).map(|u| html! { <option value={u.code.clone()} selected={filter.0 == u.code}>{ u.name.clone() }</option> }) }
                </select>
                <select name="period" onchange={let f = filter.clone(); Callback::from(move |e: Event| f.set((f.0.clone(), value_of(&e))))}>
                    { for periods.iter().map(|p| html! { <option value={p.clone()} selected={filter.1 == *p}>{ p.clone() }</option> }) }
                </select>
            </div>
            if let Some(m) = &*message { <p class="message">{ m.clone() }</p> }
            { body }
        </section>
    }
}
