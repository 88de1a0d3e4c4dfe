//! What a browser is told and shown on every answer: security headers, a
//! refusal of state-changing requests from other sites (the Origin check), and
//! the cookie's flags. SameSite=Strict cookies are one layer; these are the
//! others, so that no single browser behaviour is all that stands in the way.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fieldbook_shared::api::ErrorBody;

/// The app: its own scripts and the WebAssembly they start, its own styles,
/// fetches and the sync socket to its own origin, and nothing may frame it.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; worker-src 'self'; \
     manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Who may send state-changing requests from a browser.
#[derive(Debug, Clone, Default)]
pub struct Origins {
    /// Origins (`https://fieldbook.example.cn`) allowed besides the server's
    /// own, which is read from the request's Host (or is `public_url`'s).
    pub allowed: Vec<String>,
    /// The address people open, when the server is behind a proxy
    /// (`--public-url`); an `https` one also makes cookies `Secure`.
    pub public_url: Option<String>,
}

impl Origins {
    /// The origin part (`scheme://host[:port]`) of a URL, lower-cased.
    pub fn origin_of(url: &str) -> String {
        let url = url.trim().trim_end_matches('/').to_ascii_lowercase();
        match url.split_once("://") {
            Some((scheme, rest)) => {
                let host = rest.split('/').next().unwrap_or_default();
                format!("{scheme}://{host}")
            }
            None => url,
        }
    }

    /// Whether a request that came with this Origin and Host may change state.
    pub fn allows(&self, origin: &str, host: Option<&str>) -> bool {
        let origin = origin.trim().to_ascii_lowercase();
        if self
            .public_url
            .iter()
            .chain(&self.allowed)
            .any(|o| Self::origin_of(o) == origin)
        {
            return true;
        }
        // No public URL: the server's own origin is the one in the Host
        // header, over either scheme (a proxy may end TLS in front of us).
        self.public_url.is_none()
            && host.is_some_and(|h| {
                let h = h.to_ascii_lowercase();
                origin == format!("http://{h}") || origin == format!("https://{h}")
            })
    }

    /// Whether cookies are sent only over HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.trim().to_ascii_lowercase().starts_with("https://"))
    }

    /// The session cookie's flags after its value.
    pub fn cookie_flags(&self) -> &'static str {
        if self.secure_cookies() {
            "Path=/; HttpOnly; SameSite=Strict; Secure"
        } else {
            "Path=/; HttpOnly; SameSite=Strict"
        }
    }
}

fn refuse(status: StatusCode, message: String) -> Response {
    (
        status,
        Json(ErrorBody {
            error: message,
            wipe: false,
        }),
    )
        .into_response()
}

/// Refuses a state-changing request (any method but GET, HEAD and OPTIONS,
/// and the sync socket's upgrade) whose Origin is another site's. Requests
/// without an Origin come from programs, not from a page a browser shows,
/// and go on to authentication like any other.
pub async fn check_origin(
    State(origins): State<Arc<Origins>>,
    req: Request,
    next: Next,
) -> Response {
    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        || req.uri().path() == "/sync";
    if changes_state && let Some(origin) = req.headers().get(header::ORIGIN) {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        let origin = origin.to_str().unwrap_or("(not text)");
        if !origins.allows(origin, host) {
            tracing::warn!(%origin, path = %req.uri().path(), "cross-site request refused");
            return refuse(
                StatusCode::FORBIDDEN,
                format!(
                    "请求来自其他网站，已拒绝 / a request from another site ({origin}) was refused"
                ),
            );
        }
    }
    next.run(req).await
}

/// Puts the security headers on every answer; API answers are never stored.
pub async fn headers(req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    let set = |h: &mut HeaderMap, name, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(h, header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::X_FRAME_OPTIONS, "DENY");
    set(h, header::REFERRER_POLICY, "no-referrer");
    if api {
        set(h, header::CACHE_CONTROL, "no-store");
    }
    res
}

/// The content types a spreadsheet upload may have. A plain HTML form can
/// only send `text/plain`, `multipart/form-data` or form-encoded bodies, so
/// requiring one of these keeps imports out of another site's reach.
pub const SPREADSHEET_TYPES: [&str; 5] = [
    "text/csv",
    "application/csv",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/octet-stream",
];

/// The refusal (415) of an upload not declared as a spreadsheet, if it is not.
pub fn require_spreadsheet(headers: &HeaderMap) -> Option<Response> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    match declared {
        Some(t) if SPREADSHEET_TYPES.contains(&t.as_str()) => None,
        other => Some(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "上传的文件须为 CSV 或 XLSX / send the file as CSV or XLSX (Content-Type {}), not {}",
                SPREADSHEET_TYPES.join(", "),
                other.as_deref().unwrap_or("none")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_own_origin_is_allowed_and_others_are_not() {
        let o = Origins::default();
        assert!(o.allows("http://127.0.0.1:8080", Some("127.0.0.1:8080")));
        assert!(o.allows(
            "https://Fieldbook.example:443",
            Some("fieldbook.example:443")
        ));
        assert!(!o.allows("http://evil.example", Some("127.0.0.1:8080")));
        assert!(!o.allows("null", Some("127.0.0.1:8080")));
        assert!(!o.allows("http://127.0.0.1:8080", None));
        let behind_proxy = Origins {
            allowed: vec!["https://other.example/".into()],
            public_url: Some("https://fieldbook.example/app".into()),
        };
        assert!(behind_proxy.allows("https://fieldbook.example", Some("10.0.0.5:8080")));
        assert!(behind_proxy.allows("https://other.example", None));
        assert!(!behind_proxy.allows("http://10.0.0.5:8080", Some("10.0.0.5:8080")));
        assert!(behind_proxy.secure_cookies());
        assert!(behind_proxy.cookie_flags().ends_with("; Secure"));
        assert!(!o.cookie_flags().contains("Secure"));
    }

    #[test]
    fn only_spreadsheet_types_may_be_imported() {
        let with = |t: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, t.parse().unwrap());
            require_spreadsheet(&h).is_none()
        };
        assert!(with("text/csv; charset=utf-8"));
        assert!(with(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        ));
        assert!(!with("text/plain"));
        assert!(!with("application/x-www-form-urlencoded"));
        assert!(!with("multipart/form-data; boundary=x"));
        assert!(require_spreadsheet(&HeaderMap::new()).is_some());
    }
}
