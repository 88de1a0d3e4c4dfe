//! REST calls to the server (`fetch`), answering the status and the body text.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Why a call got no answer: the network (offline) rather than the server.
#[derive(Debug, Clone, PartialEq)]
pub struct Unreachable;

/// `method path` with an optional JSON body and bearer token.
pub async fn call(
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> Result<(u16, String), Unreachable> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new().map_err(|_| Unreachable)?;
    if let Some(b) = body {
        init.set_body(&b.into());
        let _ = headers.set("content-type", "application/json");
    }
    if let Some(t) = token {
        let _ = headers.set("authorization", &format!("Bearer {t}"));
    }
    init.set_headers(&headers);
    let req = web_sys::Request::new_with_str_and_init(path, &init).map_err(|_| Unreachable)?;
    let window = web_sys::window().ok_or(Unreachable)?;
    let resp = JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(|_| Unreachable)?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| Unreachable)?;
    let text = match resp.text() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    Ok((resp.status(), text))
}

/// The server's error message in an error answer, else the whole body.
pub fn error_text(body: &str) -> String {
    serde_json::from_str::<fieldbook_shared::api::ErrorBody>(body)
        .map(|e| e.error)
        .unwrap_or_else(|_| body.to_string())
}
