//! Neutron's errors: a typed [`NeutronError`] per failure, answered at the edge as Neutron's
//! body `{"NeutronError": {"type", "message", "detail"}}` with Neutron's status code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cirrus_api::error::{ApiError, Kind};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum NeutronError {
    /// Attributes the resource does not have (`Unrecognized attribute(s) 'x'`).
    #[error("Unrecognized attribute(s) '{0}'")]
    UnknownAttributes(String),
    /// A value of the wrong type or out of range: names the attribute.
    #[error("Invalid input for {attr}. Reason: {reason}.")]
    InvalidAttribute { attr: String, reason: String },
    /// An attribute that cannot be set on this operation.
    #[error("Attribute '{attr}' not allowed in {op}")]
    NotAllowed { attr: String, op: &'static str },
    /// A required attribute is missing.
    #[error("Failed to parse request. Required attribute '{0}' not specified")]
    Missing(String),
    /// The body is not JSON, or not `{"<resource>": {...}}`.
    #[error("{0}")]
    Malformed(String),
    /// Any other invalid input (`InvalidInput`).
    #[error("Invalid input for operation: {0}.")]
    InvalidInput(String),
    /// Another 400 of Neutron's own exception class (`InvalidRoutes`,
    /// `SecurityGroupRuleInvalidProtocol`, ...).
    #[error("{message}")]
    BadRequest { kind: &'static str, message: String },
    /// `<Resource> <id> could not be found.`
    #[error("{resource} {id} could not be found.")]
    NotFound { resource: &'static str, id: String },
    /// A resource still in use (`NetworkInUse`, `SubnetInUse`, `SecurityGroupInUse`, ...).
    #[error("{message}")]
    InUse { kind: &'static str, message: String },
    /// Another conflict: an address or MAC taken, a clash of the VNC model.
    #[error("{message}")]
    Conflict { kind: &'static str, message: String },
    #[error("Quota exceeded for resources: ['{0}'].")]
    OverQuota(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
    #[error("The resource could not be found.")]
    NoRoute,
    #[error("The method is not allowed for the requested resource.")]
    MethodNotAllowed,
}

pub type NResult<T> = Result<T, NeutronError>;

impl NeutronError {
    pub fn invalid(attr: &str, reason: impl Into<String>) -> Self {
        NeutronError::InvalidAttribute {
            attr: attr.to_string(),
            reason: reason.into(),
        }
    }

    pub fn not_found(resource: &'static str, id: &str) -> Self {
        NeutronError::NotFound {
            resource,
            id: id.to_string(),
        }
    }

    pub fn status(&self) -> StatusCode {
        use NeutronError::*;
        match self {
            UnknownAttributes(_)
            | InvalidAttribute { .. }
            | NotAllowed { .. }
            | Missing(_)
            | Malformed(_)
            | InvalidInput(_)
            | BadRequest { .. } => StatusCode::BAD_REQUEST,
            NotFound { .. } | NoRoute => StatusCode::NOT_FOUND,
            InUse { .. } | Conflict { .. } | OverQuota(_) => StatusCode::CONFLICT,
            Forbidden(_) => StatusCode::FORBIDDEN,
            Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    /// Neutron's exception class name (the body's `type`).
    pub fn type_name(&self) -> String {
        use NeutronError::*;
        match self {
            UnknownAttributes(_)
            | InvalidAttribute { .. }
            | NotAllowed { .. }
            | Missing(_)
            | Malformed(_) => "HTTPBadRequest".into(),
            InvalidInput(_) => "InvalidInput".into(),
            NotFound { resource, .. } => format!("{}NotFound", resource.replace(' ', "")),
            InUse { kind, .. } | Conflict { kind, .. } | BadRequest { kind, .. } => (*kind).into(),
            OverQuota(_) => "OverQuota".into(),
            Forbidden(_) => "PolicyNotAuthorized".into(),
            Unauthorized(_) => "HTTPUnauthorized".into(),
            Unavailable(_) => "ServiceUnavailable".into(),
            Internal(_) => "HTTPInternalServerError".into(),
            NoRoute => "HTTPNotFound".into(),
            MethodNotAllowed => "HTTPMethodNotAllowed".into(),
        }
    }
}

/// Errors of the VNC layer underneath, in Neutron's terms.
impl From<ApiError> for NeutronError {
    fn from(e: ApiError) -> Self {
        let m = e.message;
        match e.kind {
            Kind::Invalid | Kind::UnknownReference => NeutronError::InvalidInput(m),
            Kind::Unauthorized => NeutronError::Unauthorized(m),
            Kind::Forbidden => NeutronError::Forbidden(m),
            Kind::NotFound => NeutronError::NotFound {
                resource: "Resource",
                id: m,
            },
            Kind::Conflict => NeutronError::Conflict {
                kind: "Conflict",
                message: m,
            },
            Kind::OverQuota => NeutronError::OverQuota(m),
            Kind::Unavailable => NeutronError::Unavailable(m),
            Kind::Internal => NeutronError::Internal(m),
        }
    }
}

impl IntoResponse for NeutronError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = json!({"NeutronError": {
            "type": self.type_name(),
            "message": self.to_string(),
            "detail": "",
        }});
        (status, axum::Json(body)).into_response()
    }
}
