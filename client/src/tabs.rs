//! One sync engine per device, however many tabs of the app are open.
//!
//! The tabs of one user on one device elect a leader with a Web Lock
//! (`navigator.locks`, held for the tab's life): only the leader opens the
//! sync socket. Every tab reads and writes IndexedDB, whose chunk keys two
//! writers cannot share (`fieldbook_shared::peer::chunks`), and tells the
//! others on a BroadcastChannel which documents it stored; they merge those
//! documents' chunks from IndexedDB, so an edit in any tab shows in every
//! other within a moment, online or offline, and the leader sends a
//! follower's edits to the server. The leader also broadcasts its sync status,
//! which every tab shows. When the leader's tab closes, the lock passes to a
//! waiting tab, which connects.

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::store::{Engine, Store};

/// What the leading tab tells the others about the device's sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaderStatus {
    pub online: bool,
    pub pending: usize,
    pub last_sync_ms: Option<f64>,
    pub undelivered: usize,
    pub signed_out: bool,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Note {
    /// These documents have new chunks in IndexedDB.
    Stored {
        docs: Vec<String>,
    },
    Status(LeaderStatus),
    /// A tab joined: the leader says its status again.
    Hello,
}

fn channel_name(user: &str) -> String {
    format!("fieldbook-tabs-{user}")
}

/// The device-wide lock this tab holds or waits for; released when the tab
/// signs out (another tab of the same user may lead then).
#[derive(Clone)]
pub struct Lock(Rc<RefCell<LockState>>);

enum LockState {
    Waiting,
    Held(js_sys::Function),
    Left,
}

impl Lock {
    pub fn release(&self) {
        if let LockState::Held(resolve) =
            std::mem::replace(&mut *self.0.borrow_mut(), LockState::Left)
        {
            let _ = resolve.call0(&JsValue::NULL);
        }
    }
}

/// Joins the device's tabs: listens on the channel and waits for the lock;
/// the tab that gets it connects. Without the Locks API (an old browser),
/// every tab leads, as before.
pub fn join(store: &Store) {
    let user = store.borrow().session.user.username.clone();
    if let Ok(channel) = web_sys::BroadcastChannel::new(&channel_name(&user)) {
        let s = store.clone();
        let on_note =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                let Some(text) = ev.data().as_string() else {
                    return;
                };
                match serde_json::from_str::<Note>(&text) {
                    Ok(Note::Stored { docs }) => {
                        let s = s.clone();
                        wasm_bindgen_futures::spawn_local(async move {
                            for doc in docs {
                                Engine::merge_stored(&s, &doc).await;
                            }
                        });
                    }
                    Ok(Note::Status(status)) => Engine::heard_leader(&s, status),
                    Ok(Note::Hello) => Engine::greeted(&s),
                    Err(_) => {}
                }
            });
        channel.set_onmessage(Some(on_note.as_ref().unchecked_ref()));
        on_note.forget();
        if let Ok(hello) = serde_json::to_string(&Note::Hello) {
            post(&channel, &hello);
        }
        store.borrow_mut().set_channel(channel);
    }
    let s = store.clone();
    match request_lock(&format!("fieldbook-engine-{user}"), move || {
        Engine::lead(&s)
    }) {
        Some(lock) => store.borrow_mut().set_lock(lock),
        None => Engine::lead(store),
    }
}

/// `navigator.locks.request(name, cb)`, where `cb` runs once the lock is
/// granted and returns a promise settled only by [`Lock::release`] (else the
/// lock is held until the tab goes). `None` when the browser has no Locks API.
fn request_lock(name: &str, granted: impl FnOnce() + 'static) -> Option<Lock> {
    let navigator = web_sys::window()?.navigator();
    let locks = js_sys::Reflect::get(&navigator, &"locks".into()).ok()?;
    if locks.is_undefined() || locks.is_null() {
        return None;
    }
    let request: js_sys::Function = js_sys::Reflect::get(&locks, &"request".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let lock = Lock(Rc::new(RefCell::new(LockState::Waiting)));
    let held = lock.clone();
    let cb = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        if matches!(*held.0.borrow(), LockState::Left) {
            // Signed out before it was granted: give it back at once.
            return js_sys::Promise::resolve(&JsValue::NULL).into();
        }
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            *held.0.borrow_mut() = LockState::Held(resolve);
        });
        granted();
        promise.into()
    });
    request.call2(&locks, &JsValue::from_str(name), &cb).ok()?;
    Some(lock)
}

/// Tells the other tabs that `docs` have new chunks stored.
pub fn stored(channel: &web_sys::BroadcastChannel, docs: Vec<String>) {
    if let Ok(text) = serde_json::to_string(&Note::Stored { docs }) {
        let _ = channel.post_message(&JsValue::from_str(&text));
    }
}

/// The status note, to send with [`post`] when it differs from the last one.
pub fn status_note(status: LeaderStatus) -> String {
    serde_json::to_string(&Note::Status(status)).unwrap_or_default()
}

pub fn post(channel: &web_sys::BroadcastChannel, text: &str) {
    let _ = channel.post_message(&JsValue::from_str(text));
}
