//! The request gate of `--auth keystone=URL`: validates the caller's token with Keystone
//! before any handler runs (so the handlers' synchronous [`super::Auth::identify`] finds it in
//! the cache), and creates the token's project in the VNC model on first use, as Contrail's
//! keystone sync (`vnc_openstack`'s `_ksv3_sync_project_to_vnc`) does: uuid = the Keystone
//! project id with dashes, fq_name `default-domain:<name>`, display_name the Keystone name; a
//! project of that name with another uuid is left alone and the new one is named
//! `<name>-<random uuid>` (Contrail's `new_unique_fqn` resync mode).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::Auth;
use super::keystone::vnc_project_uuid;
use crate::error::{ApiError, ApiResult};
use crate::ops;
use crate::state::ApiState;

/// The VNC domain Keystone projects are created under.
pub const DOMAIN: &str = "default-domain";

/// Axum middleware: 401/503 before the handler unless the token is valid.
pub async fn admit(State(state): State<Arc<ApiState>>, req: Request, next: Next) -> Response {
    match check(&state, req.headers()).await {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// Validates the caller's token with Keystone (a no-op under other auth modes) and creates its
/// project on first use; for other routers that call [`super::Auth::identify`].
pub async fn check(state: &ApiState, headers: &HeaderMap) -> ApiResult<()> {
    let Auth::Keystone(ks) = &state.auth else {
        return Ok(());
    };
    let token = super::token(headers)?;
    let info = ks.validate(token).await?;
    if let Some((id, name)) = &info.project {
        ensure_project(state, id, name).await?;
    }
    Ok(())
}

/// Creates the VNC project of Keystone project `id` named `name` unless it exists.
pub async fn ensure_project(state: &ApiState, id: &str, name: &str) -> ApiResult<()> {
    let uuid = vnc_project_uuid(id);
    if state.index().get(&uuid).is_some() {
        return Ok(());
    }
    let ty = crate::http::resource("project")?;
    let admin = super::Caller::admin();
    let mut vnc_name = name.to_string();
    for _ in 0..2 {
        let mut input: Map<String, Value> = Map::new();
        input.insert("fq_name".into(), json!([DOMAIN, vnc_name]));
        input.insert("uuid".into(), json!(uuid));
        input.insert("display_name".into(), json!(name));
        match ops::create(state, &admin, ty, &input).await {
            Ok(_) => {
                tracing::info!(%uuid, fq_name = %format!("{DOMAIN}:{vnc_name}"), "created the project of a Keystone token");
                return Ok(());
            }
            Err(e) if e.status == StatusCode::CONFLICT => {
                // Created by a concurrent request, or the name is another project's.
                if state.index().get(&uuid).is_some() {
                    return Ok(());
                }
                vnc_name = format!("{name}-{}", uuid::Uuid::new_v4());
            }
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::internal(format!(
        "could not create the project of Keystone project {id} ({name})"
    )))
}
