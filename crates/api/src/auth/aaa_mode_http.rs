//! `GET /aaa-mode` and `PUT /aaa-mode` (`{"aaa-mode": "rbac"}`), as Contrail's API server
//! answers them: anyone may read the mode; only the cloud admin may change it, and turning
//! `rbac` on makes sure the global access list holds the default rules.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::aaa_mode::AaaMode;
use super::{Auth, rbac};
use crate::error::{ApiError, ApiResult};
use crate::http::{caller, json_response, parse_body};
use crate::state::ApiState;

pub async fn get(State(state): State<Arc<ApiState>>) -> Response {
    json_response(&json!({"aaa-mode": state.access.mode().as_str()}))
}

pub async fn put(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_body(&body)?;
    let mode = match body.get("aaa-mode") {
        Some(Value::String(s)) => s
            .parse::<AaaMode>()
            .map_err(|e| ApiError::bad_request(format!("aaa-mode: {e}")))?,
        Some(_) => return Err(ApiError::bad_request("aaa-mode: expected a string")),
        None => return Err(ApiError::bad_request("aaa-mode: missing from the body")),
    };
    let caller = caller(&state, &headers)?;
    // Under --auth none there is nobody to refuse; otherwise only the cloud-admin role (checked
    // by role, so that a caller under no-auth cannot take the mode back).
    if !matches!(state.auth, Auth::None) && !state.access.is_admin(&caller.roles) {
        return Err(ApiError::forbidden(" Permission denied"));
    }
    let was = state.access.set_mode(mode);
    tracing::warn!(from = %was, to = %mode, user = ?caller.user, "aaa-mode changed");
    rbac::ensure_default_list(&state).await?;
    Ok(json_response(&json!({"aaa-mode": mode.as_str()})))
}
