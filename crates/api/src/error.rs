//! API errors: each carries the HTTP status the `vnc_api` client maps to an exception class
//! (400 BadRequest, 401 AuthFailed, 403 PermissionDenied, 404 NoIdError, 409 RefsExistError,
//! 412 OverQuota, 413 RequestSizeError) and a plain-text message that names the object and field.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    /// The status in-process callers (the control node's writers) act on.
    pub status: StatusCode,
    pub message: String,
    /// Set when the HTTP answer differs from `status`: a ref to a missing object is "not found"
    /// to the writers inside the process, but Contrail answers the request with 400.
    http: Option<StatusCode>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            http: None,
        }
    }
    /// A create or update names an object (by ref) that does not exist.
    pub fn unknown_reference(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: format!("Unknown reference: {}", message.into()),
            http: Some(StatusCode::BAD_REQUEST),
        }
    }
    /// The status the HTTP edge answers with.
    pub fn http_status(&self) -> StatusCode {
        self.http.unwrap_or(self.status)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }
    /// 412, Contrail's answer to a quota or an id pool running out (`OverQuota` in vnc_api).
    pub fn exhausted(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, message)
    }
    pub fn no_object(type_name: &str, uuid: &str) -> Self {
        Self::not_found(format!("No {type_name} object found for id {uuid}"))
    }
}

impl From<cirrus_store::StoreError> for ApiError {
    fn from(e: cirrus_store::StoreError) -> Self {
        tracing::error!(error = %e, "store error");
        ApiError::unavailable(format!("config store unavailable: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.http_status();
        if status.is_server_error() {
            tracing::warn!(%status, message = %self.message, "request failed");
        } else {
            tracing::debug!(%status, message = %self.message, "request rejected");
        }
        let mut resp = (status, self.message).into_response();
        resp.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        resp
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
