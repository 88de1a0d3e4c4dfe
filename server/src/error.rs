//! The server's one error type; it decides HTTP status codes in one place.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fieldbook_shared::api::ErrorBody;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    /// Too many at once (connections from one user).
    #[error("{0}")]
    TooMany(String),
    /// A body over its limit (an attachment), or of a type not taken.
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    UnsupportedType(String),
    /// The token's device was wiped by an administrator (401, and the
    /// device is told to delete its copy).
    #[error(
        "此设备已被管理员远程清除，本机数据已删除，请重新登录 / an administrator wiped this device: its data is deleted; log in again"
    )]
    Wiped,
    /// Too many failed logins: try again after this many seconds.
    #[error("登录失败次数过多，请 {0} 秒后再试 / too many failed logins: try again in {0} s")]
    Throttled(u64),
    #[error("database error: {0}")]
    Db(#[from] crate::store::sql::Error),
    #[error("document error: {0}")]
    Schema(#[from] fieldbook_shared::SchemaError),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("the sync repository has stopped")]
    Stopped,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<rusqlite::Error> for ServerError {
    fn from(e: rusqlite::Error) -> Self {
        ServerError::Db(e.into())
    }
}

impl From<samod::Stopped> for ServerError {
    fn from(_: samod::Stopped) -> Self {
        ServerError::Stopped
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let status = match &self {
            ServerError::Unauthorized(_) | ServerError::Wiped => StatusCode::UNAUTHORIZED,
            ServerError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServerError::NotFound(_) => StatusCode::NOT_FOUND,
            ServerError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ServerError::Conflict(_) => StatusCode::CONFLICT,
            ServerError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ServerError::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ServerError::TooMany(_) | ServerError::Throttled(_) => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
            "服务器未能完成这个请求，已记录在日志中 / the server could not complete this request; it has been logged".to_string()
        } else {
            self.to_string()
        };
        let wipe = matches!(self, ServerError::Wiped);
        let mut res = (
            status,
            Json(ErrorBody {
                error: message,
                wipe,
            }),
        )
            .into_response();
        if let ServerError::Throttled(secs) = self {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}
