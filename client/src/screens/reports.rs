//! Reports (报表) for heads and the center: visit compliance, levels and grades
//! with revenue share, growth and churn, complaints, plans, expiring agreements
//! and the online rate, over a unit subtree and a period. Charts are SVG drawn
//! here from the numbers; the server sends only data.

use fieldbook_shared::api::Unit;
use fieldbook_shared::grading::{Grade, Level};
use fieldbook_shared::reports::Reports;
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::http;
use crate::i18n::M;
use crate::screens::value_of;
use crate::widgets::yuan;

/// Horizontal bars: (label, value, text shown), scaled to `max`.
pub fn bars(class: &'static str, rows: &[(String, i64, String)], max: i64) -> Html {
    let max = max.max(1) as f64;
    let (w, row_h) = (720.0, 22.0);
    let label_w = 200.0;
    let h = row_h * rows.len().max(1) as f64;
    html! {
        <svg class={classes!("chart", "bars", class)} viewBox={format!("0 0 {w} {h}")} role="img">
            { for rows.iter().enumerate().map(|(i, (label, v, text))| {
                let y = i as f64 * row_h;
                // Room after the longest bar for its value, at the larger portrait size.
                let bw = (*v).max(0) as f64 / max * (w - label_w - 170.0);
                html! {
                    <g>
                        <text x="0" y={format!("{:.1}", y + 15.0)}>{ label.clone() }</text>
                        <rect x={format!("{label_w}")} y={format!("{:.1}", y + 4.0)} width={format!("{bw:.1}")} height="14">
                            <title>{ format!("{label}: {text}") }</title>
                        </rect>
                        <text x={format!("{:.1}", label_w + bw + 6.0)} y={format!("{:.1}", y + 15.0)}>{ text.clone() }</text>
                    </g>
                }
            }) }
        </svg>
    }
}

fn level_zh(s: &str) -> String {
    Level::ALL
        .iter()
        .find(|l| l.as_str() == s)
        .map(crate::i18n::label)
        .unwrap_or_else(|| "—".into())
}

fn grade_zh(s: &str) -> String {
    Grade::ALL
        .iter()
        .find(|g| g.as_str() == s)
        .map(crate::i18n::label)
        .unwrap_or_else(|| "—".into())
}

#[function_component(ReportsScreen)]
pub fn reports_screen() -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let token = ctx.store.borrow().session.token.clone();
    // (unit, from, to) as chosen; empty means the server's default.
    let filter = use_state(|| (String::new(), String::new(), String::new()));
    let data = use_state(|| None::<Reports>);
    let units = use_state(Vec::<Unit>::new);
    let message = use_state(|| None::<String>);
    {
        let (data, units, message, token) =
            (data.clone(), units.clone(), message.clone(), token.clone());
        use_effect_with((*filter).clone(), move |(unit, from, to)| {
            let mut query = Vec::new();
            for (k, v) in [("unit", unit), ("from", from), ("to", to)] {
                if !v.is_empty() {
                    query.push(format!("{k}={v}"));
                }
            }
            let path = format!("/api/reports?{}", query.join("&"));
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
                                "离线：显示本机保存的 {at} 的报表 / offline: the copy kept at {at}"
                            ))
                        }));
                        data.set(serde_json::from_str(&body).ok());
                    }
                    Ok((_, body, _)) => {
                        // Never the previous unit's figures under the new choice.
                        data.set(None);
                        message.set(Some(http::error_text(&body)));
                    }
                    Err(_) => message.set(Some(crate::i18n::pick(
                        "离线，本机还没有这份报表 / offline, and this report was never loaded here",
                    ))),
                }
            });
        });
    }
    // The units the user may report on: their own and those below it (the
    // center: all).
    let me = {
        let s = ctx.store.borrow();
        match s.session.user.role {
            fieldbook_shared::vocab::Role::Admin => None,
            _ => Some(s.session.user.unit.clone()),
        }
    };
    let set = |i: usize| {
        let filter = filter.clone();
        Callback::from(move |e: Event| {
            let mut f = (*filter).clone();
            let v = value_of(&e);
            match i {
                0 => f.0 = v,
                1 => f.1 = v,
                _ => f.2 = v,
            }
            filter.set(f);
        })
    };

    let body = match &*data {
        None => html! { <p class="empty">{ "…" }</p> },
        Some(r) => {
            // Compliance: the subtree's rate month by month, then per manager.
            let mut months: Vec<(String, usize, usize)> = Vec::new();
            for c in &r.compliance {
                match months.iter_mut().find(|m| m.0 == c.month) {
                    Some(m) => {
                        m.1 += c.due;
                        m.2 += c.visited;
                    }
                    None => months.push((c.month.clone(), c.due, c.visited)),
                }
            }
            let rate_rows: Vec<(String, i64, String)> = months
                .iter()
                .map(|(m, due, visited)| {
                    let rate = if *due == 0 {
                        100
                    } else {
                        (visited * 100 / due) as i64
                    };
                    (m.clone(), rate, format!("{rate}% ({visited}/{due})"))
                })
                .collect();
            let share_rows: Vec<(String, i64, String)> = r
                .grades
                .iter()
                .map(|g| {
                    (
                        format!("{} · {}", level_zh(&g.level), grade_zh(&g.grade)),
                        g.share_permille,
                        crate::i18n::pick(&format!(
                            "{0:.1}% · {1} · {2}户 / {0:.1}% · {1} · {2} customers",
                            g.share_permille as f64 / 10.0,
                            yuan(g.revenue_fen),
                            g.customers
                        )),
                    )
                })
                .collect();
            let step_rows: Vec<(String, i64, String)> = r
                .complaints
                .days_per_step
                .iter()
                .map(|(s, d)| {
                    (
                        fieldbook_shared::complaints::label_zh(s).to_string(),
                        *d,
                        format!("{:.1} 天", *d as f64 / 10.0),
                    )
                })
                .collect();
            let plan_rows: Vec<(String, i64, String)> = r
                .unit_plans
                .iter()
                .chain(r.plans.iter())
                .map(|p| {
                    (
                        format!(
                            "{} {}",
                            if p.name.is_empty() { &p.unit } else { &p.name },
                            p.year
                        ),
                        p.percent.min(150),
                        format!(
                            "{}% · {} / {}",
                            p.percent,
                            yuan(p.actual_fen),
                            yuan(p.target_fen)
                        ),
                    )
                })
                .collect();
            let falls: Vec<_> = r
                .growth
                .iter()
                .filter(|g| g.growth_percent.is_some_and(|p| p < 0))
                .take(10)
                .collect();
            html! {
                <>
                    <div class="card report online" data-report="online">
                        <h3>{ ctx.t(M::OnlineRate) }</h3>
                        <p class="big">{ format!("{}%（{}/{}）", r.online.rate_percent, r.online.online, r.online.key_customers) }</p>
                        <ul>{ for r.online.missing.iter().map(|(id, name, why)| {
                            let go = ctx.go.clone();
                            let id = id.clone();
                            html! { <li class="link" onclick={move |_| go.emit(Route::Customer(id.clone()))}>{ format!("{name}：{}", why.join("、")) }</li> }
                        }) }</ul>
                    </div>
                    <div class="card report compliance" data-report="compliance">
                        <h3>{ ctx.t(M::VisitCompliance) }</h3>
                        { bars("rate", &rate_rows, 100) }
                        <table class="admin">
                            <tr><th>{ ctx.t(M::Manager) }</th><th>{ ctx.t(M::Unit) }</th><th>{ ctx.t(M::Month) }</th><th>{ ctx.t(M::Due) }</th><th>{ ctx.t(M::VisitedCount) }</th><th>{ ctx.t(M::Rate) }</th></tr>
                            { for r.unit_compliance.iter().chain(r.compliance.iter()).filter(|c| c.month == r.to).map(|c| html! {
                                <tr><td>{ &c.manager }</td><td>{ &c.unit }</td><td>{ &c.month }</td><td>{ c.due }</td><td>{ c.visited }</td><td>{ format!("{}%", c.rate_percent) }</td></tr>
                            }) }
                        </table>
                    </div>
                    <div class="card report grades" data-report="grades">
                        <h3>{ format!("{} · {}", ctx.t(M::ByLevelAndGrade), yuan(r.total_revenue_fen)) }</h3>
                        { bars("share", &share_rows, 1000) }
                    </div>
                    <div class="card report growth" data-report="growth">
                        <h3>{ ctx.t(M::GrowthAndChurn) }</h3>
                        <ul>
                            { for falls.iter().map(|g| html! {
                                <li>{ format!("{} · {} → {} · {}%", g.name, yuan(g.previous_fen), yuan(g.revenue_fen), g.growth_percent.unwrap_or(0)) }</li>
                            }) }
                            { for r.lost.iter().map(|g| html! {
                                <li class="lost">{ crate::i18n::say(format!("{0} · 流失（上期 {1}）", g.name, yuan(g.previous_fen)), format!("{0} · lost (before: {1})", g.name, yuan(g.previous_fen))) }</li>
                            }) }
                        </ul>
                    </div>
                    <div class="card report complaints" data-report="complaints">
                        <h3>{ format!("{}：{} · 办结 {} · 超时 {} · 专项 {} · 满意度 {:.1}", ctx.t(M::Complaints), r.complaints.count, r.complaints.closed, r.complaints.overdue, r.complaints.task_force, r.complaints.satisfaction_x10 as f64 / 10.0) }</h3>
                        { bars("steps", &step_rows, step_rows.iter().map(|s| s.1).max().unwrap_or(1)) }
                    </div>
                    <div class="card report events" data-report="events">
                        <h3>{ ctx.t(M::EventsByHalf) }</h3>
                        <table class="admin events-by-half">
                            <tr><th>{ ctx.t(M::Unit) }</th><th>{ ctx.t(M::HalfYear) }</th><th>{ ctx.t(M::Events) }</th><th>{ ctx.t(M::Attended) }</th></tr>
                            { for r.events.iter().map(|e| html! {
                                <tr data-unit={e.unit.clone()} data-half={e.half.clone()} class={classes!((e.events == 0).then_some("late"))}>
                                    <td>{ &e.unit }</td><td>{ half_label(&e.half) }</td>
                                    <td>{ if e.events == 0 { ctx.t(M::NoEventHeld).to_string() } else { e.events.to_string() } }</td>
                                    <td>{ e.attended }</td>
                                </tr>
                            }) }
                        </table>
                    </div>
                    <div class="card report surveys" data-report="surveys">
                        <h3>{ format!("{}：{}", ctx.t(M::Surveys), if r.surveys > 0 { format!("{:.1}（{}）", r.survey_x10 as f64 / 10.0, r.surveys) } else { "—".into() }) }</h3>
                    </div>
                    <div class="card report plans" data-report="plans">
                        <h3>{ ctx.t(M::PlanVsActual) }</h3>
                        { bars("plans", &plan_rows, 150) }
                    </div>
                    <div class="card report follow-ups" data-report="follow-ups">
                        <h3>{ ctx.t(M::FollowUpsList) }</h3>
                        <table class="admin follow-up-tally">
                            <tr><th>{ ctx.t(M::FollowUpOwner) }</th><th>{ ctx.t(M::FilterOpen) }</th><th>{ ctx.t(M::FilterOverdue) }</th><th>{ ctx.t(M::ClosedInPeriod) }</th><th>{ ctx.t(M::ToldCustomer) }</th></tr>
                            { for r.follow_ups.iter().map(|t| html! {
                                <tr data-owner={t.owner.clone()} class={classes!((t.overdue > 0).then_some("late"))}>
                                    <td>{ if t.owner.is_empty() { "—".to_string() } else { t.owner.clone() } }</td>
                                    <td>{ t.open }</td><td>{ t.overdue }</td><td>{ t.closed }</td><td>{ t.told }</td>
                                </tr>
                            }) }
                        </table>
                    </div>
                    <div class="card report expiring" data-report="expiring">
                        <h3>{ format!("{}（{}）", ctx.t(M::ExpiringAgreements), r.expiring.len()) }</h3>
                        <ul>{ for r.expiring.iter().map(|e| html! {
                            <li>{ crate::i18n::say(format!("{0} · {1} · {2} · {3}天后到期", e.name, e.number, e.end, e.in_days), format!("{0} · {1} · {2} · ends in {3} days", e.name, e.number, e.end, e.in_days)) }</li>
                        }) }</ul>
                    </div>
                </>
            }
        }
    };

    html! {
        <section class="reports">
            <div class="toolbar">
                <button onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Customers)}>{ format!("‹ {}", ctx.t(M::Back)) }</button>
                <h2>{ ctx.t(M::Reports) }</h2>
            </div>
            <div class="filters">
                <select name="unit" onchange={set(0)}>
                    <option value="" selected={filter.0.is_empty()}>{ ctx.t(M::MyScope) }</option>
                    { for within(&units, &me).map(|u| html! { <option value={u.code.clone()} selected={filter.0 == u.code}>{ u.name.clone() }</option> }) }
                </select>
                <input name="from" type="month" onchange={set(1)} />
                <input name="to" type="month" onchange={set(2)} />
                if let Some(r) = &*data { <span class="period">{ format!("{} ~ {}", r.from, r.to) }</span> }
            </div>
            if let Some(m) = &*message { <p class="message">{ m.clone() }</p> }
            { body }
        </section>
    }
}

/// A half year `YYYY-H1` as a person reads it: 2026年上半年, 2026 H1.
fn half_label(half: &str) -> String {
    match half.split_once("-H") {
        Some((year, n)) => crate::i18n::say(
            format!("{year}年{}半年", if n == "1" { "上" } else { "下" }),
            format!("{year} H{n}"),
        ),
        None => half.to_string(),
    }
}

/// The units within `root`'s subtree (all of them without a root), in the
/// order listed.
pub fn within<'a>(units: &'a [Unit], root: &Option<String>) -> impl Iterator<Item = &'a Unit> {
    units.iter().filter(move |u| {
        let Some(root) = root else { return true };
        // Walk up the parents (bounded: a loop in the data ends it).
        let mut at = Some(u.code.clone());
        for _ in 0..units.len() + 1 {
            match at {
                Some(ref c) if c == root => return true,
                Some(ref c) => {
                    at = units
                        .iter()
                        .find(|x| &x.code == c)
                        .and_then(|x| x.parent.clone())
                }
                None => return false,
            }
        }
        false
    })
}
