//! Photos and attachments 照片与附件: the blobs a customer document refers to
//! (`fieldbook_shared::attachments`). A tablet uploads each file once it is
//! online, under the customer it was attached to; the server checks the
//! bytes against their name (the SHA-256), the size and the type, and keeps
//! the file once however many customers refer to it. Reading a file needs
//! read access to a customer it was uploaded under — the same access as the
//! document — so a photo never reaches someone who may not see its customer.

use crate::store::sql::{OptionalExtension, params};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use fieldbook_shared::access::Access;
use fieldbook_shared::attachments::{self, MAX_BYTES};
use serde::Serialize;

use super::openapi::{Endpoint, NO, ep, file, schema};
use crate::auth::AuthUser;
use crate::error::ServerError;
use crate::state::AppState;

/// This resource's routes (one line each: see `http::endpoints`).
#[rustfmt::skip]
pub fn routes() -> Vec<Endpoint> {
    vec![
        ep("put", "/api/customers/{id}/attachments/{sha256}", "Upload a photo or attachment of a customer (the body is the file, Content-Type its type; at most 10 MB; the name is the SHA-256 of the bytes)", true, NO, Some(file), schema::<Stored>, put(upload)),
        ep("get", "/api/customers/{id}/attachments/{sha256}", "A photo or attachment of a customer the caller may read", true, NO, None, file, get(download)),
    ]
}

/// The answer of an upload.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Stored {
    pub sha256: String,
    pub size: usize,
    /// The server had the file already (from this or another customer).
    pub already: bool,
}

/// Bytes one user may upload in a day: generous for a day of photos, and a
/// bound on what one account can make the server keep.
pub const MAX_BYTES_PER_USER_DAY: i64 = 1024 * 1024 * 1024;

/// Uploads read at once: each may hold 10 MB in memory.
static UPLOADS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Bodies drained at most before the connection is dropped: a sender of more
/// than this gets no answer, only a closed connection.
const DRAIN_AT_MOST: usize = 64 * 1024 * 1024;

/// The body's bytes, `None` when over [`MAX_BYTES`] (then read to its end
/// and dropped, never kept: memory stays at the limit).
async fn read_bounded(body: Body) -> Result<Option<Bytes>, ServerError> {
    use futures::StreamExt;
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            ServerError::BadRequest(format!("上传中断 / the upload broke off: {e}"))
        })?;
        seen += chunk.len();
        if seen > DRAIN_AT_MOST {
            return Err(ServerError::TooLarge(
                attachments::refusal(seen, Some("image/jpeg")).unwrap_or_default(),
            ));
        }
        if seen <= MAX_BYTES {
            kept.extend_from_slice(&chunk);
        } else {
            kept = Vec::new();
        }
    }
    Ok((seen <= MAX_BYTES).then(|| Bytes::from(kept)))
}

fn not_found() -> ServerError {
    ServerError::NotFound("没有这个附件 / no such attachment".into())
}

/// `PUT /api/customers/{id}/attachments/{sha256}`.
pub async fn upload(
    State(state): State<AppState>,
    user: AuthUser,
    Path((doc_id, sha256)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ServerError> {
    let _permit = UPLOADS
        .acquire()
        .await
        .map_err(|_| ServerError::Internal("upload semaphore closed".into()))?;
    // The body is read (or, past the limit, drained) before any answer: a
    // client still sending when the answer comes would see a broken
    // connection instead of the reason.
    let bytes = read_bounded(body).await?;
    if !attachments::is_hash(&sha256) {
        return Err(ServerError::BadRequest(
            "附件名应为文件的 SHA-256（64 位十六进制） / name the attachment by the SHA-256 of its bytes (64 hex digits)".into(),
        ));
    }
    if state.acl.access(user.id, &doc_id) != Access::Write {
        return Err(ServerError::Forbidden(
            "你不能给这位客户添加附件 / you may not add attachments to this customer".into(),
        ));
    }
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let Some(mime) = attachments::type_of(declared, "") else {
        return Err(ServerError::UnsupportedType(
            attachments::refusal(1, None).unwrap_or_default(),
        ));
    };
    let Some(bytes) = bytes else {
        return Err(ServerError::TooLarge(
            attachments::refusal(MAX_BYTES + 1, Some(mime)).unwrap_or_default(),
        ));
    };
    if let Some(why) = attachments::refusal(bytes.len(), Some(mime)) {
        return Err(ServerError::TooLarge(why));
    }
    let actual = tokio::task::spawn_blocking({
        let bytes = bytes.clone();
        move || attachments::hash_of(&bytes)
    })
    .await
    .map_err(|e| ServerError::Internal(e.to_string()))?;
    if actual != sha256 {
        return Err(ServerError::BadRequest(format!(
            "文件内容与其 SHA-256 不符（收到 {actual}），可能在传输中受损，请重试 / the bytes do not match their SHA-256 (got {actual}): damaged on the way? try again"
        )));
    }
    let (who, size) = (user.id, bytes.len());
    let (hash, doc) = (sha256.clone(), doc_id.clone());
    let already = state
        .db
        .call(move |c| {
            let tx = c.transaction_with_behavior(crate::store::sql::TransactionBehavior::Immediate)?;
            let already: bool = tx
                .query_row("SELECT 1 FROM blobs WHERE sha256 = ?1", [&hash], |_| Ok(()))
                .optional()?
                .is_some();
            if !already {
                let today: i64 = tx.query_row(
                    "SELECT COALESCE(SUM(b.size), 0) FROM blob_customers l
                     JOIN blobs b ON b.sha256 = l.sha256
                     WHERE l.user_id = ?1 AND l.at > ?2",
                    params![
                        who,
                        (chrono::Utc::now() - chrono::Duration::days(1))
                            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                    ],
                    |r| r.get(0),
                )?;
                if today + size as i64 > MAX_BYTES_PER_USER_DAY {
                    return Ok(Err(ServerError::TooLarge(format!(
                        "今天已上传 {} MB，每天最多 {} MB；明天再试 / {} MB uploaded today, at most {} MB a day: try again tomorrow",
                        today / 1048576,
                        MAX_BYTES_PER_USER_DAY / 1048576,
                        today / 1048576,
                        MAX_BYTES_PER_USER_DAY / 1048576
                    ))));
                }
                tx.execute(
                    "INSERT INTO blobs (sha256, mime, size, bytes, stored_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![hash, mime, size as i64, &bytes[..], crate::now()],
                )?;
            }
            tx.execute(
                "INSERT OR IGNORE INTO blob_customers (sha256, doc_id, user_id, at) VALUES (?1, ?2, ?3, ?4)",
                params![hash, doc, who, crate::now()],
            )?;
            tx.commit()?;
            Ok(Ok(already))
        })
        .await??;
    tracing::info!(user = %user.username, doc = %doc_id, %sha256, size, already, "attachment stored");
    Ok(axum::Json(Stored {
        sha256,
        size,
        already,
    })
    .into_response())
}

/// `GET /api/customers/{id}/attachments/{sha256}`.
pub async fn download(
    State(state): State<AppState>,
    user: AuthUser,
    Path((doc_id, sha256)): Path<(String, String)>,
) -> Result<Response, ServerError> {
    // Whether the file exists is told only to those who may read the customer.
    if !attachments::is_hash(&sha256) || state.acl.access(user.id, &doc_id) == Access::None {
        return Err(not_found());
    }
    let found: Option<(String, Vec<u8>)> = state
        .db
        .call(move |c| {
            Ok(c.query_row(
                "SELECT b.mime, b.bytes FROM blobs b
                 JOIN blob_customers l ON l.sha256 = b.sha256
                 WHERE b.sha256 = ?1 AND l.doc_id = ?2",
                params![sha256, doc_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })
        .await?;
    let (mime, bytes) = found.ok_or_else(not_found)?;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    // Only the listed types were stored; a file is never run as a page.
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    Ok(res)
}
