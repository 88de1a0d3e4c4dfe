//! The language of what a person reads in an answer. Messages are written
//! once, "中文 / English"; every refusal leaves the server in one of the two:
//! Chinese by default, English when the request asks for it
//! (`Accept-Language: en…`). Done in one layer so that no handler can forget.

use axum::body::Body;
use axum::body::HttpBody as _;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Whether the request asks for English (`Accept-Language: en…`); Chinese
/// otherwise, the operator's language.
pub fn wants_english(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("en"))
}

/// A message written "中文 / English" in the language asked for; a message
/// with one language only is left as it is.
pub fn localise(message: &str, english: bool) -> String {
    match message.split_once(" / ") {
        Some((zh, en)) => if english { en } else { zh }.to_string(),
        None => message.to_string(),
    }
}

/// Error answers larger than this pass unchanged (an import's row-by-row
/// report, which its handler writes in the language asked for).
const REWRITTEN_UP_TO: u64 = 64 * 1024;

/// The layer: an error answer's `error` is put in the language asked for; a
/// plain-text refusal from the framework (a malformed JSON body, a missing
/// header) becomes the same JSON shape, said in that language too.
pub async fn localise_errors(req: Request, next: Next) -> Response {
    let english = wants_english(req.headers());
    let api = req.uri().path().starts_with("/api/");
    let res = next.run(req).await;
    let status = res.status();
    let small = res
        .body()
        .size_hint()
        .exact()
        .is_some_and(|n| n <= REWRITTEN_UP_TO);
    if !api || !(status.is_client_error() || status.is_server_error()) || !small {
        return res;
    }
    let kind = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let (mut parts, body) = res.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, REWRITTEN_UP_TO as usize).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let rewritten = if kind.starts_with("application/json") {
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(mut v) => {
                if let Some(serde_json::Value::String(m)) = v.get_mut("error") {
                    *m = localise(m, english);
                }
                serde_json::to_vec(&v).ok()
            }
            Err(_) => None,
        }
    } else if kind.starts_with("text/plain") {
        let detail = String::from_utf8_lossy(&bytes);
        let message = format!("请求无法处理（{detail}） / the request was refused: {detail}");
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        serde_json::to_vec(&fieldbook_shared::api::ErrorBody {
            error: localise(&message, english),
            wipe: false,
        })
        .ok()
    } else {
        None
    };
    let body = rewritten.unwrap_or_else(|| bytes.to_vec());
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every refusal written out in `server/src` (outside tests) has both
    /// languages, so that the layer has a Chinese half to give. A refusal
    /// built elsewhere (a constant, a variable) is checked where it is written.
    #[test]
    fn every_refusal_in_the_source_is_written_in_both_languages() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = vec![root];
        let mut one_language = Vec::new();
        while let Some(path) = files.pop() {
            if path.is_dir() {
                files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for kind in [
                "Unauthorized",
                "Forbidden",
                "NotFound",
                "BadRequest",
                "Conflict",
                "TooMany",
            ] {
                for (at, _) in code.match_indices(&format!("ServerError::{kind}(")) {
                    let rest = code[at..].split_once('(').map(|x| x.1).unwrap_or_default();
                    let rest = rest.trim_start();
                    let rest = rest.strip_prefix("format!(").unwrap_or(rest).trim_start();
                    let Some(literal) = rest.strip_prefix('"').and_then(|r| r.split('"').next())
                    else {
                        continue;
                    };
                    let chinese = literal
                        .chars()
                        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
                    if !chinese || !literal.contains(" / ") {
                        one_language.push(format!("{}: {literal}", path.display()));
                    }
                }
            }
        }
        assert!(one_language.is_empty(), "{one_language:#?}");
    }

    #[test]
    fn a_message_is_said_in_the_language_asked_for() {
        let m = "没有这个客户 / no such customer";
        assert_eq!(localise(m, false), "没有这个客户");
        assert_eq!(localise(m, true), "no such customer");
        assert_eq!(localise("只有中文", true), "只有中文");
        // Only the first " / " divides: English may hold one itself.
        let m = "表头缺少“收入(元)”列 / the header row has no column 收入(元) / amount";
        assert_eq!(localise(m, false), "表头缺少“收入(元)”列");
        assert_eq!(
            localise(m, true),
            "the header row has no column 收入(元) / amount"
        );
        let mut h = HeaderMap::new();
        assert!(!wants_english(&h));
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("en-US,en;q=0.9"),
        );
        assert!(wants_english(&h));
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("zh-CN,zh;q=0.9,en;q=0.8"),
        );
        assert!(!wants_english(&h));
    }
}
