//! Drafts of the forms a manager fills in the field (a visit, a
//! registration): kept in IndexedDB's small durable store as they are typed,
//! so a reload, a killed tab or a flat battery does not lose them; restored
//! when the form opens again; discarded once it is saved or left.

use serde::Serialize;
use serde::de::DeserializeOwned;
use yew::prelude::*;

/// The draft of `form` (e.g. "visit/<doc>") of `user`.
pub fn key(user: &str, form: &str) -> String {
    format!("fieldbook.draft.{user}.{form}")
}

/// Keeps `state` as a draft under `key`: restores a kept draft once, when
/// the form opens, then saves every change. Answers whether the restore has
/// happened (until then nothing is saved, so a blank form never overwrites
/// a kept draft).
#[hook]
pub fn use_draft<T>(key: String, state: UseStateHandle<T>) -> bool
where
    T: Clone + PartialEq + Serialize + DeserializeOwned + 'static,
{
    let restored = use_state(|| false);
    {
        let (key, state, restored) = (key.clone(), state.clone(), restored.clone());
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(Some(stored)) = crate::idb::kv_get(&key).await
                    && let Ok(text) = crate::keyring::open_text(&stored)
                    && let Ok(draft) = serde_json::from_str::<T>(&text)
                {
                    state.set(draft);
                }
                restored.set(true);
            });
        });
    }
    {
        let value = (*state).clone();
        use_effect_with((value, *restored), move |(value, restored)| {
            if *restored
                && let Ok(text) = serde_json::to_string(value)
                && let Ok(text) = crate::keyring::seal_text(&text)
            {
                wasm_bindgen_futures::spawn_local(async move {
                    if let Err(e) = crate::idb::kv_set(&key, Some(&text)).await {
                        web_sys::console::error_1(&format!("draft not kept: {e}").into());
                    }
                });
            }
        });
    }
    *restored
}

/// Forgets a draft (the form was saved or left).
pub async fn discard(key: &str) {
    if let Err(e) = crate::idb::kv_set(key, None).await {
        web_sys::console::error_1(&format!("draft not removed: {e}").into());
    }
}
