//! API errors: a [`Kind`] (what went wrong, in the API's terms) and a plain-text message that
//! names the object and field. The HTTP status, which the `vnc_api` client maps to an exception
//! class (400 BadRequest, 401 AuthFailed, 403 PermissionDenied, 404 NoIdError, 409
//! RefsExistError, 412 OverQuota, 413 RequestSizeError), is chosen from the kind at the edge.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// What went wrong, in the API's own terms. Handlers and rules say which; the HTTP status is
/// chosen here only ([`Kind::http_status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A field's value, a body's shape, or a rule about a resource (400).
    Invalid,
    Unauthorized,
    /// The caller may not do this, or the field is the server's to set (403).
    Forbidden,
    /// The object named by the request's path or id does not exist (404).
    NotFound,
    /// A create or update names, by ref, an object that does not exist (400, as Contrail).
    UnknownReference,
    /// Clashes with what exists: a name, an address, children or refs still present (409).
    Conflict,
    /// A quota or a pool is used up (412).
    OverQuota,
    /// The store cannot be reached (503).
    Unavailable,
    Internal,
}

impl Kind {
    pub fn http_status(self) -> StatusCode {
        match self {
            Kind::Invalid | Kind::UnknownReference => StatusCode::BAD_REQUEST,
            Kind::Unauthorized => StatusCode::UNAUTHORIZED,
            Kind::Forbidden => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::Conflict => StatusCode::CONFLICT,
            Kind::OverQuota => StatusCode::PRECONDITION_FAILED,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn from_status(s: StatusCode) -> Kind {
        match s.as_u16() {
            400 | 413 => Kind::Invalid,
            401 => Kind::Unauthorized,
            403 => Kind::Forbidden,
            404 => Kind::NotFound,
            409 => Kind::Conflict,
            412 => Kind::OverQuota,
            503 => Kind::Unavailable,
            _ => Kind::Internal,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub kind: Kind,
    /// The status in-process callers (the control node's writers) act on: the HTTP status,
    /// except that a missing ref target is "not found" to them.
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn of(kind: Kind, message: impl Into<String>) -> Self {
        let status = match kind {
            Kind::UnknownReference => StatusCode::NOT_FOUND,
            k => k.http_status(),
        };
        Self {
            kind,
            status,
            message: message.into(),
        }
    }
    /// An error with an explicit status (413 from the body limit, and the like).
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            kind: Kind::from_status(status),
            status,
            message: message.into(),
        }
    }
    /// A create or update names an object (by ref) that does not exist.
    pub fn unknown_reference(message: impl Into<String>) -> Self {
        Self::of(
            Kind::UnknownReference,
            format!("Unknown reference: {}", message.into()),
        )
    }
    /// The status the HTTP edge answers with.
    pub fn http_status(&self) -> StatusCode {
        match self.kind {
            Kind::UnknownReference => self.kind.http_status(),
            _ => self.status,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::of(Kind::Invalid, message)
    }
    /// `field` of `what` is set by the server only.
    pub fn server_owned(what: &str, field: &str, verb: &str) -> Self {
        Self::of(
            Kind::Forbidden,
            format!("{what}: {field} is allocated by the server and cannot be {verb}"),
        )
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::of(Kind::NotFound, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::of(Kind::Conflict, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::of(Kind::Forbidden, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::of(Kind::Unauthorized, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::of(Kind::Internal, message)
    }
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::of(Kind::Unavailable, message)
    }
    /// A quota or an id pool ran out (`OverQuota` in vnc_api).
    pub fn over_quota(message: impl Into<String>) -> Self {
        Self::of(Kind::OverQuota, message)
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
