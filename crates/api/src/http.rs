//! HTTP request helpers shared by every handler: the base URL the client used, the caller,
//! body parsing with clear errors, JSON answers, query flags and resource type names. Nothing
//! here knows a handler; the routes live in [`crate::routes`].

use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use cirrus_model::ResourceType;
use serde_json::{Map, Value};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::ApiState;

/// Bodies above this size are refused with 413 before they are parsed.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

pub type Params = HashMap<String, String>;

/// `http://host:port` as the client addressed us; every href is built from it so that the
/// client's stripping of the homepage's href from links works.
pub fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

pub fn caller(state: &ApiState, headers: &HeaderMap) -> ApiResult<Caller> {
    state.identify(headers)
}

pub fn parse_body(bytes: &Bytes) -> ApiResult<Map<String, Value>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(ApiError::bad_request("request body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!(
            "malformed JSON in request body: {e}"
        ))),
    }
}

pub fn json_response(v: &Value) -> Response {
    json_bytes(v.to_string().into_bytes())
}

pub fn json_bytes(body: Vec<u8>) -> Response {
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

pub fn flag(params: &Params, k: &str) -> bool {
    params
        .get(k)
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"))
}

/// A resource type by name, as Contrail accepts it: `virtual-network` or `virtual_network`.
pub fn resource(type_name: &str) -> ApiResult<&'static ResourceType> {
    cirrus_model::schema()
        .resource(&type_name.replace('_', "-"))
        .filter(|t| t.name != "config-root")
        .ok_or_else(|| ApiError::not_found(format!("unknown resource type {type_name:?}")))
}
