//! REST calls to the server (`fetch`), answering the status and the body text.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Why a call got no answer: the network (offline) rather than the server.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreachable;

/// The body a request carries.
enum Body<'a> {
    None,
    Json(String),
    File(&'a str, &'a [u8]),
}

/// Sends `method path` (bearer token, the app's language) and answers the response.
async fn fetch(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Body<'_>,
) -> Result<web_sys::Response, Unreachable> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(|_| Unreachable)?;
    match body {
        Body::None => {}
        Body::Json(b) => {
            init.set_body(&b.into());
            let _ = headers.set("content-type", "application/json");
        }
        Body::File(mime, bytes) => {
            init.set_body(&js_sys::Uint8Array::from(bytes).into());
            let _ = headers.set("content-type", mime);
        }
    }
    if let Some(t) = token {
        let _ = headers.set("authorization", &format!("Bearer {t}"));
    }
    // Refusals come back in the app's language, not the browser's.
    let _ = headers.set("accept-language", crate::session::lang().tag());
    init.set_headers(&headers);
    let req = web_sys::Request::new_with_str_and_init(path, &init).map_err(|_| Unreachable)?;
    let window = web_sys::window().ok_or(Unreachable)?;
    JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(|_| Unreachable)?
        .dyn_into()
        .map_err(|_| Unreachable)
}

/// The response's status and body text.
async fn text_of(resp: web_sys::Response) -> (u16, String) {
    let text = match resp.text() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    (resp.status(), text)
}

/// `method path` with an optional JSON body and bearer token.
pub async fn call(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> Result<(u16, String), Unreachable> {
    let body = body.map_or(Body::None, Body::Json);
    Ok(text_of(fetch(method, path, token, body).await?).await)
}

/// The server's error message in an error answer (in the chosen language),
/// else the whole body.
pub fn error_text(body: &str) -> String {
    serde_json::from_str::<fieldbook_shared::api::ErrorBody>(body)
        .map(|e| crate::i18n::pick(&e.error))
        .unwrap_or_else(|_| body.to_string())
}

/// A GET whose last good answer is kept on this device (local storage), so the
/// heads' screens still show something when the network drops. The answer
/// says when the kept copy is from, if it was used.
pub async fn get_kept(
    path: &str,
    token: &str,
) -> Result<(u16, String, Option<String>), Unreachable> {
    let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
    // Per session owner: one tablet may be shared by several people.
    let who = crate::session::load()
        .map(|s| s.user.username)
        .unwrap_or_default();
    let key = format!("fieldbook.kept.{who}.{path}");
    match call("GET", path, Some(token), None).await {
        Ok((200, body)) => {
            if let Some(st) = &storage {
                let stamp = js_sys::Date::new_0()
                    .to_iso_string()
                    .as_string()
                    .unwrap_or_default();
                let kept = serde_json::json!({"at": stamp, "body": body}).to_string();
                // Sealed at rest like the documents (`keyring.rs`). Full
                // storage only loses the offline copy, never the answer.
                if let Ok(kept) = crate::keyring::seal_text(&kept) {
                    let _ = st.set_item(&key, &kept);
                }
            }
            Ok((200, body, None))
        }
        Ok(other) => Ok((other.0, other.1, None)),
        Err(Unreachable) => {
            let kept = storage
                .and_then(|st| st.get_item(&key).ok().flatten())
                .and_then(|t| crate::keyring::open_text(&t).ok())
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
            match kept {
                Some(v) => Ok((
                    200,
                    v["body"].as_str().unwrap_or_default().to_string(),
                    Some(v["at"].as_str().unwrap_or_default().to_string()),
                )),
                None => Err(Unreachable),
            }
        }
    }
}

/// `PUT path` with a file's bytes as the body (an attachment).
pub async fn put_bytes(
    path: &str,
    token: &str,
    mime: &str,
    bytes: &[u8],
) -> Result<(u16, String), Unreachable> {
    let resp = fetch("PUT", path, Some(token), Body::File(mime, bytes)).await?;
    Ok(text_of(resp).await)
}

/// `GET path` answering the body's bytes (an attachment).
pub async fn get_bytes(path: &str, token: &str) -> Result<(u16, Vec<u8>), Unreachable> {
    let resp = fetch("GET", path, Some(token), Body::None).await?;
    let buf = match resp.array_buffer() {
        Ok(p) => JsFuture::from(p).await.map_err(|_| Unreachable)?,
        Err(_) => return Err(Unreachable),
    };
    Ok((resp.status(), js_sys::Uint8Array::new(&buf).to_vec()))
}
