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
    /// An attribute that cannot be set on this operation (on PUT: a read-only one).
    #[error("{}", not_allowed_message(attr, op))]
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
    /// `<Resource> <id> could not be found.` (security groups and their rules: `... does not
    /// exist`), typed `<Resource>NotFound`.
    #[error("{}", not_found_message(resource, id))]
    NotFound { resource: &'static str, id: String },
    /// Neutron's `BadRequest`: `Bad <resource> request: <msg>.`
    #[error("Bad {resource} request: {msg}.")]
    BadRequest { resource: &'static str, msg: String },
    /// Another 400 of its own type (`InvalidIpForNetwork`, `OutOfBoundsAllocationPool`, ...).
    #[error("{message}")]
    Bad { kind: &'static str, message: String },
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

fn not_allowed_message(attr: &str, op: &str) -> String {
    if op == "PUT" {
        format!("Cannot update read-only attribute {attr}")
    } else {
        format!("Attribute '{attr}' not allowed in {op}")
    }
}

fn not_found_message(resource: &str, id: &str) -> String {
    if resource.starts_with("Security group") {
        format!("{resource} {id} does not exist")
    } else {
        format!("{resource} {id} could not be found.")
    }
}

/// `Security group rule` -> `SecurityGroupRule`.
fn camel(resource: &str) -> String {
    resource
        .split(' ')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

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
            | BadRequest { .. }
            | Bad { .. } => StatusCode::BAD_REQUEST,
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
            BadRequest { .. } => "BadRequest".into(),
            Bad { kind, .. } => (*kind).into(),
            NotFound { resource, .. } => format!("{}NotFound", camel(resource)),
            InUse { kind, .. } | Conflict { kind, .. } => (*kind).into(),
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

/// Neutron's resource name of the VNC API's over-quota message (`... allows 3
/// virtual-machine-interface objects`, `... allows 5 subnets`): the name Neutron's
/// `Quota exceeded for resources: ['port']` gives.
fn quota_resource(message: &str) -> String {
    let what = message
        .rsplit_once(" allows ")
        .and_then(|(_, rest)| rest.split_once(' '))
        .map(|(_, what)| what)
        .unwrap_or(message);
    match what {
        "virtual-network objects" => "network",
        "virtual-machine-interface objects" => "port",
        "security-group objects" => "security_group",
        "logical-router objects" => "router",
        "floating-ip objects" => "floatingip",
        "subnets" => "subnet",
        "security group rules" => "security_group_rule",
        other => other,
    }
    .to_string()
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
            Kind::OverQuota => NeutronError::OverQuota(quota_resource(&m)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_messages_are_neutrons() {
        let e = NeutronError::not_found("Security group rule", "x");
        assert_eq!(e.type_name(), "SecurityGroupRuleNotFound");
        assert_eq!(e.to_string(), "Security group rule x does not exist");
        assert_eq!(
            NeutronError::not_found("Network", "x").to_string(),
            "Network x could not be found."
        );
        assert_eq!(
            quota_resource(
                "vmi: quota exceeded: project default-domain:p1 allows 3 virtual-machine-interface objects"
            ),
            "port"
        );
        assert_eq!(
            quota_resource("x: quota exceeded: project p allows 5 subnets"),
            "subnet"
        );
    }
}
