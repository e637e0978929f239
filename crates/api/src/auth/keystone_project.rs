//! The request gate of `--auth keystone=URL`: validates the caller's token with Keystone
//! before any handler runs (so the handlers' synchronous [`super::Auth::identify`] finds it in
//! the cache), and creates the token's domain and project in the VNC model on first use, as
//! Contrail's keystone sync (`vnc_openstack`'s `sync_domain_to_vnc` and
//! `_ksv3_sync_project_to_vnc`) does:
//! - Keystone's `default` domain is `default-domain`; another domain is a VNC domain named as
//!   in Keystone with the Keystone domain id (dashed) as its uuid;
//! - a project's uuid is the Keystone project id with dashes, its fq_name `<domain>:<name>`,
//!   its display_name the Keystone name;
//! - a domain or project of that name with another uuid is left alone and the new one is named
//!   `<name>-<random uuid>` (Contrail's `new_unique_fqn` resync mode).

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

/// The VNC domain of Keystone's default domain.
pub const DOMAIN: &str = "default-domain";
/// Keystone's default domain id (Contrail's `[KEYSTONE] default_domain_id`).
pub const KEYSTONE_DEFAULT_DOMAIN: &str = "default";

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
        let domain = match &info.project_domain {
            Some((dom_id, dom_name)) if dom_id != KEYSTONE_DEFAULT_DOMAIN => {
                ensure_domain(state, dom_id, dom_name).await?
            }
            _ => DOMAIN.to_string(),
        };
        ensure_project(state, id, name, &domain).await?;
    }
    Ok(())
}

/// Creates the VNC domain of Keystone domain `id` named `name` unless it exists; returns its
/// VNC name.
pub async fn ensure_domain(state: &ApiState, id: &str, name: &str) -> ApiResult<String> {
    let uuid = vnc_project_uuid(id);
    if let Some(d) = state.index().get(&uuid) {
        return Ok(d.fq_str.clone());
    }
    create_unique(state, "domain", &uuid, name, &[]).await?;
    let created = state.index().get(&uuid).map(|d| d.fq_str.clone());
    created
        .ok_or_else(|| ApiError::internal(format!("the domain of Keystone domain {id} vanished")))
}

/// Creates the VNC project of Keystone project `id` named `name` in VNC domain `domain` unless
/// it exists.
pub async fn ensure_project(state: &ApiState, id: &str, name: &str, domain: &str) -> ApiResult<()> {
    let uuid = vnc_project_uuid(id);
    if state.index().get(&uuid).is_some() {
        return Ok(());
    }
    create_unique(state, "project", &uuid, name, &[domain]).await
}

/// Creates a `type_name` with `uuid` named `name` under `parent_fq`, renamed
/// `<name>-<random uuid>` if another object holds that name.
async fn create_unique(
    state: &ApiState,
    type_name: &str,
    uuid: &str,
    name: &str,
    parent_fq: &[&str],
) -> ApiResult<()> {
    let ty = crate::http::resource(type_name)?;
    let admin = super::Caller::admin();
    let mut vnc_name = name.to_string();
    for _ in 0..2 {
        let mut fq: Vec<&str> = parent_fq.to_vec();
        fq.push(&vnc_name);
        let mut input: Map<String, Value> = Map::new();
        input.insert("fq_name".into(), json!(fq));
        input.insert("uuid".into(), json!(uuid));
        input.insert("display_name".into(), json!(name));
        match ops::create(state, &admin, ty, &input).await {
            Ok(_) => {
                tracing::info!(%uuid, fq_name = %fq.join(":"), "created the {type_name} of a Keystone token");
                return Ok(());
            }
            Err(e) if e.status == StatusCode::CONFLICT => {
                // Created by a concurrent request, or the name is another project's.
                if state.index().get(uuid).is_some() {
                    return Ok(());
                }
                vnc_name = format!("{name}-{}", uuid::Uuid::new_v4());
            }
            Err(e) => return Err(e),
        }
    }
    Err(ApiError::internal(format!(
        "could not create the {type_name} of Keystone's {uuid} ({name})"
    )))
}
