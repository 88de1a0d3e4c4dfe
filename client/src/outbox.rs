//! Work this tablet could not deliver by sync: the changes of a customer that
//! left the book (handed over while the tablet was offline) before the server
//! had them. They are kept here, in IndexedDB, before the customer's own copy
//! is deleted; delivered through `POST /api/customers/{id}/late-changes` when
//! online; and shown with the reason while undelivered. Nothing is dropped in
//! silence: the sync indicator never says 已同步 while this holds anything.

use serde::{Deserialize, Serialize};

/// One customer's undelivered changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub doc_id: String,
    /// The customer's name, to show.
    pub name: String,
    /// What the changes hold, to show (e.g. the visits' summaries).
    pub summary: Vec<String>,
    /// Why it left the book (`已移交给 li.na`).
    pub reason: String,
    /// The changes, hex (one Automerge chunk).
    pub changes: String,
    /// The server's refusal, if it refused them (the item stays).
    #[serde(default)]
    pub refused: Option<String>,
}

/// A customer that left this tablet's book, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lost {
    pub doc_id: String,
    pub name: String,
    pub reason: String,
}

/// What is kept for one user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outbox {
    pub items: Vec<Item>,
    /// The most recent first, at most [`MAX_LOST`].
    pub lost: Vec<Lost>,
}

const MAX_LOST: usize = 50;

fn key(user: &str) -> String {
    format!("fieldbook.outbox.{user}")
}

impl Outbox {
    /// The user's outbox as kept in IndexedDB.
    pub async fn load(user: &str) -> Outbox {
        match crate::idb::kv_get(&key(user)).await {
            Ok(Some(stored)) => match crate::keyring::open_text(&stored) {
                Ok(json) => serde_json::from_str(&json).unwrap_or_default(),
                Err(e) => {
                    web_sys::console::error_1(&format!("outbox unreadable: {e}").into());
                    Outbox::default()
                }
            },
            _ => Outbox::default(),
        }
    }

    /// Keeps it (resolves once committed).
    pub async fn save(&self, user: &str) -> Result<(), crate::error::ClientError> {
        let json = serde_json::to_string(self).map_err(|e| e.to_string())?;
        crate::idb::kv_set(&key(user), Some(&crate::keyring::seal_text(&json)?)).await
    }

    /// A customer left the book; `changes` are its undelivered changes.
    pub fn left(&mut self, item: Option<Item>, lost: Lost) {
        self.lost.retain(|l| l.doc_id != lost.doc_id);
        self.lost.insert(0, lost);
        self.lost.truncate(MAX_LOST);
        if let Some(i) = item {
            self.items.retain(|x| x.doc_id != i.doc_id);
            self.items.push(i);
        }
    }

    /// Undelivered items (queued or refused).
    pub fn undelivered(&self) -> usize {
        self.items.len()
    }
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .filter_map(|i| u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// Posts one item's changes; `Ok(None)` delivered, `Ok(Some(why))` refused,
/// `Err` no answer (offline: try again later).
pub async fn deliver(item: &Item, token: &str) -> Result<Option<String>, ()> {
    let path = format!("/api/customers/{}/late-changes", item.doc_id);
    let bytes = from_hex(&item.changes);
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    let headers = web_sys::Headers::new().map_err(|_| ())?;
    let _ = headers.set("authorization", &format!("Bearer {token}"));
    let _ = headers.set("content-type", "application/octet-stream");
    let _ = headers.set("accept-language", crate::session::lang().tag());
    init.set_headers(&headers);
    let body = js_sys::Uint8Array::from(bytes.as_slice());
    init.set_body(&body.into());
    let req = web_sys::Request::new_with_str_and_init(&path, &init).map_err(|_| ())?;
    let window = web_sys::window().ok_or(())?;
    let resp = wasm_bindgen_futures::JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(|_| ())?;
    let resp: web_sys::Response = wasm_bindgen::JsCast::dyn_into(resp).map_err(|_| ())?;
    let text = match resp.text() {
        Ok(p) => wasm_bindgen_futures::JsFuture::from(p)
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    match resp.status() {
        200 => Ok(None),
        // Signed out, or the server failed: no verdict on the changes.
        401 | 500..=599 => Err(()),
        _ => Ok(Some(crate::http::error_text(&text))),
    }
}

/// Offers `text` as a file download (the manager keeps or forwards it).
pub fn download(name: &str, text: &str) {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("text/plain;charset=utf-8");
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Some(a) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("a").ok())
    {
        let _ = a.set_attribute("href", &url);
        let _ = a.set_attribute("download", name);
        if let Ok(a) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(a) {
            a.click();
        }
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_lost_customers_are_listed_once_newest_first() {
        let b = vec![0u8, 0x85, 0xff, 7];
        assert_eq!(from_hex(&to_hex(&b)), b);
        let mut o = Outbox::default();
        let lost = |d: &str| Lost {
            doc_id: d.into(),
            name: d.into(),
            reason: "已移交".into(),
        };
        o.left(None, lost("a"));
        o.left(None, lost("b"));
        o.left(None, lost("a"));
        assert_eq!(
            o.lost.iter().map(|l| l.doc_id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(o.undelivered(), 0);
    }
}
