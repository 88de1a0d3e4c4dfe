//! The app shell: login or the workbench, the route, the language, and the
//! context every screen reads the local repo from.

use fieldbook_shared::api::LoginResponse;
use yew::prelude::*;

use crate::ctx::{Ctx, Route};
use crate::i18n::{M, t};
use crate::screens::{
    console::ConsoleScreen, customer::CustomerScreen, customers::CustomersScreen,
    login::LoginScreen, register::RegisterScreen, reminders::RemindersScreen,
    reports::ReportsScreen, visit_form::VisitForm,
};
use crate::session;
use crate::store::{Engine, Store};
use crate::widgets::StatusBar;

#[function_component(App)]
pub fn app() -> Html {
    let lang = use_state(session::lang);
    let session = use_state(session::load);
    let store = use_state(|| None::<Store>);
    let error = use_state(|| None::<String>);
    let tick = use_state(|| 0u64);
    // This tab holds the key to the device's data (`keyring.rs`).
    let unlocked = use_state(crate::keyring::unlocked);
    // A remote wipe waiting from the last start is carried out first (below).
    let wiped = use_state(|| None::<String>);
    // The screen in the URL fragment, so reload, back and links land there.
    let route = use_state(|| Route::from_hash(&current_hash()));
    {
        let route = route.clone();
        use_effect_with((), move |_| {
            let on_change = wasm_bindgen::closure::Closure::<dyn FnMut()>::new(move || {
                let r = Route::from_hash(&current_hash());
                if let Some(w) = web_sys::window() {
                    w.scroll_to_with_x_and_y(0.0, 0.0);
                }
                route.set(r);
            });
            let window = web_sys::window();
            if let Some(w) = &window {
                let _ = w.add_event_listener_with_callback(
                    "hashchange",
                    wasm_bindgen::JsCast::unchecked_ref(on_change.as_ref()),
                );
            }
            move || {
                if let Some(w) = window {
                    let _ = w.remove_event_listener_with_callback(
                        "hashchange",
                        wasm_bindgen::JsCast::unchecked_ref(on_change.as_ref()),
                    );
                }
                drop(on_change);
            }
        });
    }

    // A remote wipe waiting from the last start is carried out first, and
    // nothing else shows until it is done (a login form shown meanwhile would
    // let someone sign in while the old user's data is still being deleted).
    // Then, with no session in localStorage (lost with a killed browser), the
    // copy in IndexedDB brings it back; a kept session is copied there too.
    let restoring = use_state(|| session::load().is_none());
    {
        let (session, store, restoring, wiped) = (
            session.clone(),
            store.clone(),
            restoring.clone(),
            wiped.clone(),
        );
        use_effect_with((), move |_| {
            let kept = (*session).clone();
            wasm_bindgen_futures::spawn_local(async move {
                if crate::wipe::pending().await {
                    session.set(None);
                    store.set(None);
                    wiped.set(Some(crate::i18n::pick(
                        "此设备已被管理员远程清除，本机的客户数据已全部删除 / an administrator wiped this device: every customer it held has been deleted",
                    )));
                } else if let Some(s) = kept {
                    session::save(&s);
                } else if let Some(s) = session::restore().await {
                    session.set(Some(s));
                }
                restoring.set(false);
            });
        });
    }

    // Open the local repo once there is a session (offline too).
    {
        let store = store.clone();
        let error = error.clone();
        let tick = tick.clone();
        use_effect_with(
            (*session).clone().map(|s| s.peer_id).filter(|_| *unlocked),
            move |peer| {
                if let (Some(_), Some(mut s)) = (peer, session::load()) {
                    // Unlocked: the kept token opens now.
                    match crate::keyring::open_text(&s.token) {
                        Ok(t) => s.token = t,
                        Err(e) => {
                            error.set(Some(e.to_string()));
                            return;
                        }
                    }
                    // A counter, not a clock: two changes in one millisecond must both redraw.
                    static TICKS: std::sync::atomic::AtomicU64 =
                        std::sync::atomic::AtomicU64::new(1);
                    let notify = Callback::from(move |_| {
                        tick.set(TICKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                    });
                    wasm_bindgen_futures::spawn_local(async move {
                        match Engine::open(s, notify).await {
                            Ok(st) => store.set(Some(st)),
                            Err(e) => error.set(Some(e.to_string())),
                        }
                    });
                }
            },
        );
    }

    let on_login = {
        let (session, unlocked) = (session.clone(), unlocked.clone());
        Callback::from(move |s: LoginResponse| {
            session::save(&s);
            session.set(Some(s));
            unlocked.set(true);
        })
    };
    let on_unlocked = {
        let (session, unlocked) = (session.clone(), unlocked.clone());
        Callback::from(move |new: Option<LoginResponse>| {
            if let Some(s) = new {
                session::save(&s);
                session.set(Some(s));
            }
            unlocked.set(true);
        })
    };
    let toggle_lang = {
        let lang = lang.clone();
        Callback::from(move |_| {
            let l = lang.other();
            session::set_lang(l);
            lang.set(l);
        })
    };
    let logout = {
        let session = session.clone();
        let store = store.clone();
        let unlocked = unlocked.clone();
        Callback::from(move |_| {
            // Work only in memory would be lost with the session: ask first.
            let unsaved = (*store)
                .as_ref()
                .map(|s| s.borrow().unsaved_writes())
                .unwrap_or(0);
            if unsaved > 0
                && !web_sys::window()
                    .and_then(|w| {
                        w.confirm_with_message(&crate::i18n::pick(
                            "尚有数据未保存到本机，仍要退出吗？ / Some data is not yet saved on this device. Log out anyway?",
                        ))
                        .ok()
                    })
                    .unwrap_or(false)
            {
                return;
            }
            // Another tab of this user may lead the device's sync now.
            if let Some(s) = (*store).as_ref() {
                s.borrow_mut().leave();
            }
            crate::keyring::lock();
            unlocked.set(false);
            session::clear();
            store.set(None);
            session.set(None);
        })
    };

    let lang_button =
        html! { <button class="lang" onclick={toggle_lang}>{ t(*lang, M::Language) }</button> };
    let Some(s) = (*session).clone() else {
        if *restoring {
            return html! { <div class="app loading">{ "…" }</div> };
        }
        return html! { <div class="app">{ lang_button }<LoginScreen lang={*lang} on_login={on_login} notice={(*wiped).clone()} /></div> };
    };
    if !*unlocked {
        let out = logout.clone();
        return html! { <div class="app">{ lang_button }<crate::screens::unlock::UnlockScreen lang={*lang} username={s.user.username.clone()} who={format!("{}（{}）· {}", s.user.display_name, s.user.username, s.user.unit_name)} on_unlocked={on_unlocked} on_logout={Callback::from(move |_| if let Ok(click) = web_sys::MouseEvent::new("click") { out.emit(click) })} /></div> };
    }
    let Some(st) = (*store).clone() else {
        let msg = (*error).clone().unwrap_or_else(|| "…".into());
        return html! { <div class="app loading">{ msg }</div> };
    };
    // A screen change is a change of the fragment (the listener above
    // follows it); leaving a form replaces its entry rather than adding one.
    let go = {
        let route = route.clone();
        Callback::from(move |r: Route| {
            let Some(w) = web_sys::window() else {
                route.set(r);
                return;
            };
            w.scroll_to_with_x_and_y(0.0, 0.0);
            let hash = format!("#{}", r.to_hash());
            let location = w.location();
            match Route::from_hash(&current_hash()) {
                // A saved visit returns to its customer: the entry it came from.
                // A planned visit's log returns to the itinerary it came from.
                Route::LogVisit(id) | Route::LogEventVisit(id, _)
                    if r == Route::Customer(id.clone()) =>
                {
                    if let Ok(h) = w.history() {
                        let _ = h.back();
                    }
                }
                Route::LogPlanned(..) if r == Route::Plan => {
                    if let Ok(h) = w.history() {
                        let _ = h.back();
                    }
                }
                here if here.is_form() => {
                    let _ = location.replace(&hash);
                }
                _ => {
                    let _ = location.set_hash(&hash);
                }
            }
            route.set(r);
        })
    };
    // The number of changes still waiting, when the server refused this session.
    let signed_out = {
        let e = st.borrow();
        e.signed_out().then(|| e.status().pending)
    };
    let ctx = Ctx {
        store: st,
        tick: *tick,
        lang: *lang,
        go,
    };
    let screen = match &*route {
        Route::Customers => html! { <CustomersScreen /> },
        Route::Customer(id) => html! { <CustomerScreen doc_id={id.clone()} /> },
        Route::LogVisit(id) => html! { <VisitForm doc_id={id.clone()} /> },
        Route::LogPlanned(id, plan) => {
            html! { <VisitForm doc_id={id.clone()} plan={Some(plan.clone())} /> }
        }
        Route::LogEventVisit(id, event) => {
            html! { <VisitForm doc_id={id.clone()} event={Some(event.clone())} /> }
        }
        Route::Plan => html! { <crate::screens::plan::PlanScreen /> },
        Route::Register => html! { <RegisterScreen /> },
        Route::Reminders => html! { <RemindersScreen /> },
        Route::FollowUps => html! { <crate::screens::followups::FollowUpsScreen /> },
        Route::Console => html! { <ConsoleScreen /> },
        Route::Reports => html! { <ReportsScreen /> },
        Route::Approvals => html! { <crate::screens::approvals::ApprovalsScreen /> },
        Route::Review => html! { <crate::screens::review::ReviewScreen /> },
        Route::Scorecard => html! { <crate::screens::scorecard::ScorecardScreen /> },
        Route::Events => html! { <crate::screens::events::EventsScreen /> },
    };
    html! {
        <ContextProvider<Ctx> context={ctx}>
            <div class="app">
                <header class="top">
                    <span class="brand">{ t(*lang, M::AppName) }</span>
                    <span class="who">{ format!("{} · {}", s.user.display_name, s.user.unit_name) }</span>
                    { lang_button }
                    <button class="logout" onclick={logout.clone()}>{ t(*lang, M::LogOut) }</button>
                </header>
                <StatusBar />
                if signed_out.is_some() {
                    <div class="banner signed-out">
                        { format!("{} {}", t(*lang, M::SignedOut), signed_out.unwrap_or(0)) }
                        <button class="sign-in-again" onclick={logout}>{ t(*lang, M::SignInAgain) }</button>
                    </div>
                }
                <main>{ screen }</main>
            </div>
        </ContextProvider<Ctx>>
    }
}

/// The page's URL fragment (`#/customer/…`), empty without one.
fn current_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}
