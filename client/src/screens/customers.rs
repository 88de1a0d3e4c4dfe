//! My customers: search, filters, badges for overdue visits and open follow-ups.

use fieldbook_shared::grading::{Grade, Level};
use fieldbook_shared::visits::Cadence;
use fieldbook_shared::vocab::{Line, Role};
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::i18n::M;
use crate::screens::value_of;

/// How the list is searched, filtered and sorted: one value, so what a
/// control shows is what is applied. Kept in the tab's session storage, so
/// opening a customer and coming back, or a reload (offline too), keeps it.
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
struct View {
    query: String,
    level: String,
    grade: String,
    line: String,
    overdue: bool,
    sort: String,
}

const SORTS: [(&str, M); 4] = [
    ("name", M::SortByName),
    ("overdue", M::SortByOverdue),
    ("revenue", M::SortByRevenue),
    ("last_visit", M::SortByLastVisit),
];

impl Default for View {
    fn default() -> Self {
        View {
            query: String::new(),
            level: String::new(),
            grade: String::new(),
            line: String::new(),
            overdue: false,
            sort: "name".into(),
        }
    }
}

impl View {
    fn key(user: &str) -> String {
        format!("fieldbook.list.{user}")
    }

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window().and_then(|w| w.session_storage().ok().flatten())
    }

    /// As kept; a value no control offers (an older release's) is dropped,
    /// so no control can show one thing and apply another.
    fn load(user: &str) -> View {
        let mut v: View = Self::storage()
            .and_then(|s| s.get_item(&Self::key(user)).ok().flatten())
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        if !Level::ALL.iter().any(|l| l.as_str() == v.level) {
            v.level.clear();
        }
        if !Grade::ALL.iter().any(|g| g.as_str() == v.grade) {
            v.grade.clear();
        }
        if !Line::ALL.iter().any(|l| l.as_str() == v.line) {
            v.line.clear();
        }
        if !SORTS.iter().any(|(s, _)| *s == v.sort) {
            v.sort = "name".into();
        }
        v
    }

    fn save(&self, user: &str) {
        if let (Some(s), Ok(t)) = (Self::storage(), serde_json::to_string(self)) {
            let _ = s.set_item(&Self::key(user), &t);
        }
    }
}

/// Lines drawn at first, and added each time the end of the list comes near:
/// a head's 3,000 lines drawn at once held 77–87 MB of the page, and every
/// redraw while syncing or reading compared them all again (a third of a
/// first sync at 4× CPU; BENCHMARKS.md). The count, search, filters and
/// sorting cover every customer; only drawing waits for the scroll.
const PAGE: usize = 100;

#[function_component(CustomersScreen)]
pub fn customers_screen() -> Html {
    let ctx = use_context::<Ctx>().expect("context");
    let user = ctx.store.borrow().session.user.username.clone();
    let view = use_state(|| View::load(&user));
    // How many of the lines shown are drawn (`PAGE`); back to the first page
    // when the search, a filter or the sorting changes.
    let drawn = use_state_eq(|| PAGE);
    {
        let (user, drawn) = (user.clone(), drawn.clone());
        use_effect_with((*view).clone(), move |v| {
            v.save(&user);
            drawn.set(PAGE);
        });
    }
    let View {
        query,
        level,
        grade,
        line,
        overdue,
        sort,
    } = (*view).clone();
    // Heads and the center: how many decisions wait (the kept copy offline).
    let waiting = use_state(|| None::<usize>);
    let decides = matches!(
        ctx.store.borrow().session.user.role,
        Role::Head | Role::Admin
    );
    {
        let (waiting, token) = (waiting.clone(), ctx.store.borrow().session.token.clone());
        use_effect_with(decides, move |decides| {
            if *decides {
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok((200, body, _)) =
                        crate::http::get_kept("/api/approvals", &token).await
                        && let Ok(inbox) =
                            serde_json::from_str::<fieldbook_shared::api::Inbox>(&body)
                    {
                        waiting.set(Some(inbox.totals.all()));
                    }
                });
            }
        });
    }

    let rows = ctx.store.borrow().list();
    let loading = ctx.store.borrow().loading();
    let number = |doc: &str| ctx.store.borrow().number(doc).unwrap_or_default();
    let q = query.trim().to_lowercase();
    let mut shown: Vec<_> = rows
        .iter()
        .filter(|r| {
            q.is_empty()
                || r.name.to_lowercase().contains(&q)
                || r.credit_code.to_lowercase().contains(&q)
                || number(&r.doc_id).to_lowercase().contains(&q)
        })
        .filter(|r| level.is_empty() || r.level.as_str() == level.as_str())
        .filter(|r| grade.is_empty() || r.grade.as_str() == grade.as_str())
        .filter(|r| line.is_empty() || r.lines.iter().any(|l| l.as_str() == line.as_str()))
        .filter(|r| !overdue || r.cadence == Cadence::Overdue)
        .collect();
    // Sorted as chosen (the rows come sorted by name).
    let urgency = |c: &Cadence| match c {
        Cadence::Overdue => 0,
        Cadence::Due => 1,
        Cadence::Visited => 2,
    };
    match sort.as_str() {
        "overdue" => shown.sort_by_key(|r| urgency(&r.cadence)),
        "revenue" => shown.sort_by_key(|r| std::cmp::Reverse(r.annual_fen)),
        "last_visit" => shown.sort_by(|a, b| a.last_visit.cmp(&b.last_visit)),
        _ => {}
    }
    // The end of the list drawn so far: coming within a screen of view, it
    // draws the next page. Observed again after each page, so a tall screen
    // fills at once (an observer reports its first state on its own); not
    // again as lines arrive behind the drawn ones (each redraw of a sync).
    let more = use_node_ref();
    {
        let (more, drawn) = (more.clone(), drawn.clone());
        use_effect_with((*drawn, shown.len() > *drawn), move |&(n, more_to_draw)| {
            let observer = more_to_draw
                .then(|| more.cast::<web_sys::Element>())
                .flatten()
                .and_then(|el| draw_more_near(&el, move || drawn.set(n + PAGE)));
            move || {
                if let Some((observer, _closure)) = observer {
                    observer.disconnect();
                }
            }
        });
    }
    let set = |f: fn(&mut View, String)| {
        let view = view.clone();
        Callback::from(move |e: Event| {
            let mut v = (*view).clone();
            f(&mut v, value_of(&e));
            view.set(v);
        })
    };
    html! {
        <section class="customers">
            <div class="toolbar">
                <h2>{ format!("{} ({})", ctx.t(M::MyCustomers), rows.len()) }</h2>
                if shown.len() != rows.len() {
                    <span class="count">{ format!("{} {}", ctx.t(M::Showing), shown.len()) }</span>
                }
                if loading > 0 {
                    <span class="count reading-rest">{ format!("{}（{}）…", ctx.t(M::ReadingRest), loading) }</span>
                }
                <button class="reminders-button" onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Reminders)}>{ ctx.t(M::Reminders) }</button>
                <button class="plan-button" onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Plan)}>{ ctx.t(M::ItineraryShort) }</button>
                <button class="follow-ups-button" onclick={let go = ctx.go.clone(); move |_| go.emit(Route::FollowUps)}>{ format!("{}（{}）", ctx.t(M::FollowUpsList), rows.iter().map(|r| r.open_follow_ups).sum::<usize>()) }</button>
                if decides {
                    <button class="approvals-button" onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Approvals)}>
                        { match *waiting { Some(n) => format!("{}（{}）", ctx.t(M::Approvals), n), None => ctx.t(M::Approvals).to_string() } }
                    </button>
                    <button class="review-button" onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Review)}>{ ctx.t(M::MonthReview) }</button>
                    <button class="events-button" onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Events)}>{ ctx.t(M::Events) }</button>
                    <button class="scorecard-button" onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Scorecard)}>{ ctx.t(M::Scorecard) }</button>
                    <button class="reports-button" onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Reports)}>{ ctx.t(M::Reports) }</button>
                    <button class="console-button" onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Console)}>{ ctx.t(M::Console) }</button>
                } else {
                    <button class="transfer-button" onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Console)}>{ ctx.t(M::ImportExport) }</button>
                }
                <button class="primary" onclick={let go = ctx.go.clone(); move |_| go.emit(Route::Register)}>{ ctx.t(M::Register) }</button>
            </div>
            <div class="filters">
                <input type="search" name="q" placeholder={ctx.t(M::Search)} value={query.clone()}
                    oninput={let view = view.clone(); Callback::from(move |e: InputEvent| { let mut v = (*view).clone(); v.query = value_of(&e.into()); view.set(v) })} />
                <select name="level" onchange={set(|v, x| v.level = x)}>
                    <option value="" selected={level.is_empty()}>{ ctx.t(M::AllLevels) }</option>
                    { for Level::ALL.iter().map(|l| html! { <option value={l.as_str()} selected={level == l.as_str()}>{ crate::i18n::label(&l) }</option> }) }
                </select>
                <select name="grade" onchange={set(|v, x| v.grade = x)}>
                    <option value="" selected={grade.is_empty()}>{ ctx.t(M::AllGrades) }</option>
                    { for Grade::ALL.iter().map(|g| html! { <option value={g.as_str()} selected={grade == g.as_str()}>{ crate::i18n::label(&g) }</option> }) }
                </select>
                <select name="line" onchange={set(|v, x| v.line = x)}>
                    <option value="" selected={line.is_empty()}>{ ctx.t(M::AllLines) }</option>
                    { for Line::ALL.iter().map(|l| html! { <option value={l.as_str().to_string()} selected={line == l.as_str()}>{ crate::i18n::label(&l) }</option> }) }
                </select>
                <select name="sort" onchange={set(|v, x| v.sort = x)}>
                    { for SORTS.into_iter().map(|(v, m)| html! {
                        <option value={v} selected={sort == v}>{ ctx.t(m) }</option>
                    }) }
                </select>
                <label class="check">
                    <input type="checkbox" name="overdue" checked={overdue}
                        onchange={let view = view.clone(); Callback::from(move |_| { let mut v = (*view).clone(); v.overdue = !v.overdue; view.set(v) })} />
                    { ctx.t(M::OnlyOverdue) }
                </label>
            </div>
            <crate::widgets::OutboxCard />
            if shown.is_empty() {
                <p class="empty">{ ctx.t(M::NoCustomers) }</p>
            }
            <ul class="rows" data-listed={rows.len().to_string()} data-shown={shown.len().to_string()}>
                { for shown.iter().take(*drawn).map(|r| {
                    let go = ctx.go.clone();
                    let id = r.doc_id.clone();
                    let badge = match r.cadence {
                        Cadence::Overdue => html! { <span class="badge overdue">{ ctx.t(M::Overdue) }</span> },
                        Cadence::Due => html! { <span class="badge due">{ ctx.t(M::DueThisMonth) }</span> },
                        Cadence::Visited => html! { <span class="badge ok">{ ctx.t(M::VisitedThisMonth) }</span> },
                    };
                    html! {
                        <li class="row" key={r.doc_id.clone()} data-doc={r.doc_id.clone()} data-read={(!r.from_index).to_string()} onclick={move |_| go.emit(Route::Customer(id.clone()))}>
                            <div class="name">{ &r.name }
                                if let Some(n) = ctx.store.borrow().number(&r.doc_id) { <span class="customer-no">{ n }</span> }
                            </div>
                            <div class="meta">
                                <span>{ crate::i18n::label(&r.grade) }</span>
                                <span>{ crate::i18n::label(&r.level) }</span>
                                <span>{ r.lines.iter().map(|l| crate::i18n::label(&l).to_string()).collect::<Vec<_>>().join("·") }</span>
                                <span class="last-visit">{ format!("{} {}", ctx.t(M::LastVisit), r.last_visit.as_deref().unwrap_or("—")) }</span>
                            </div>
                            <div class="badges">
                                { badge }
                                if r.open_follow_ups > 0 {
                                    <span class="badge todo">{ format!("{} {}", r.open_follow_ups, ctx.t(M::OpenFollowUps)) }</span>
                                }
                                if r.conflicts { <span class="badge conflict">{ "⚠" }</span> }
                                { match ctx.store.borrow().registration(&r.doc_id).map(|x| x.status) {
                                    Some(s) if s == "pending" => html! { <span class="badge pending-approval">{ ctx.t(M::RegPending) }</span> },
                                    Some(s) if s == "rejected" => html! { <span class="badge returned">{ ctx.t(M::RegReturned) }</span> },
                                    _ => html! {},
                                } }
                                if ctx.store.borrow().notice(&r.doc_id).is_some_and(|n| !n.duplicate.is_empty()) {
                                    <span class="badge duplicate">{ ctx.t(M::DuplicateRegistration) }</span>
                                }
                            </div>
                        </li>
                    }
                }) }
                if shown.len() > *drawn {
                    <li class="more" ref={more}>
                        <button onclick={let drawn = drawn.clone(); move |_| drawn.set(*drawn + PAGE)}>
                            { crate::i18n::say(format!("显示更多（还有 {} 个）", shown.len() - *drawn), format!("Show more ({} more)", shown.len() - *drawn)) }
                        </button>
                    </li>
                }
            </ul>
        </section>
    }
}

type EntriesClosure = wasm_bindgen::closure::Closure<dyn FnMut(js_sys::Array)>;

/// Calls `near` once `el` comes within a screen's height of the viewport (or
/// is in it already). The observer and its closure live as long as the
/// returned pair; disconnect the observer when done.
fn draw_more_near(
    el: &web_sys::Element,
    near: impl Fn() + 'static,
) -> Option<(web_sys::IntersectionObserver, EntriesClosure)> {
    use wasm_bindgen::JsCast;
    let closure = EntriesClosure::new(move |entries: js_sys::Array| {
        let seen = entries.iter().any(|e| {
            e.dyn_into::<web_sys::IntersectionObserverEntry>()
                .is_ok_and(|e| e.is_intersecting())
        });
        if seen {
            near();
        }
    });
    let options = web_sys::IntersectionObserverInit::new();
    options.set_root_margin("0px 0px 100% 0px");
    let observer =
        web_sys::IntersectionObserver::new_with_options(closure.as_ref().unchecked_ref(), &options)
            .ok()?;
    observer.observe(el);
    Some((observer, closure))
}
