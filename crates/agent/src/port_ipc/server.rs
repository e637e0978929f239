//! The HTTP side of the port IPC (Contrail's `rest_server.cc`): the routes, their answers
//! (`{}` with 200 on success, `{"error": "..."}` otherwise), and the stale sweep that
//! follows `POST /syncports`. Changes run on the blocking pool (they write files) under the
//! store's lock, and their events are sent before the lock is released, so the agent sees
//! them in store order.

use super::Shared;
use super::events::PortEvent;
use super::oper::{port_json, vm_cfg_json};
use super::request::{RequestError, parse_port_request, parse_vm_request};
use super::store::{PortStore, StoreError, now};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};
use std::sync::Arc;
use uuid::Uuid;

/// Why a request was not done.
#[derive(Debug, thiserror::Error)]
pub(super) enum ApiError {
    #[error("{0}")]
    Request(#[from] RequestError),
    #[error("Invalid uuid {value:?} in the path for <{what}>")]
    PathUuid { what: &'static str, value: String },
    #[error("Not Found: {0}")]
    NotFound(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("Unknown Request: {0}")]
    UnknownRequest(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::Request(_) | Self::PathUuid { .. } => StatusCode::BAD_REQUEST,
            Self::Store(StoreError::WrongPortType(_)) => StatusCode::BAD_REQUEST,
            Self::NotFound(_) | Self::UnknownRequest(_) => StatusCode::NOT_FOUND,
            Self::Store(StoreError::PortNotFound(_)) => StatusCode::NOT_FOUND,
            Self::Store(StoreError::Io { .. }) | Self::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "port IPC request failed");
        } else {
            tracing::info!(error = %self, %status, "port IPC request refused");
        }
        (status, axum::Json(json!({ "error": self.to_string() }))).into_response()
    }
}

type Answer = Result<axum::Json<Value>, ApiError>;

fn ok() -> Answer {
    Ok(axum::Json(json!({})))
}

fn path_uuid(what: &'static str, s: &str) -> Result<Uuid, ApiError> {
    Uuid::try_parse(s).map_err(|_| ApiError::PathUuid {
        what,
        value: s.to_string(),
    })
}

/// Runs a change on the store (blocking pool) and sends its events.
async fn change<F>(s: &Arc<Shared>, f: F) -> Result<(), ApiError>
where
    F: FnOnce(&mut PortStore) -> Result<Vec<PortEvent>, StoreError> + Send + 'static,
{
    let s = s.clone();
    tokio::task::spawn_blocking(move || {
        let mut store = s.lock_store();
        let events = f(&mut store)?;
        for e in events {
            // A closed receiver means the agent is going away: nothing to tell.
            let _ = s.events.send(e);
        }
        Ok(())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
}

pub(super) fn router(s: Arc<Shared>) -> Router {
    Router::new()
        .route("/port", post(post_port))
        .route("/port/{id}", get(get_port).delete(delete_port))
        .route("/syncports", post(sync_ports))
        .route("/vm", post(post_vm))
        .route("/vm/{vm}", get(get_vm).delete(delete_vm))
        .route("/vm/{vm}/{vmi}", get(get_vm_port))
        .route("/vm-cfg/{*name}", get(get_vm_cfg))
        .route("/enable-port/{id}", put(enable_port))
        .route("/disable-port/{id}", put(disable_port))
        .fallback(unknown)
        .method_not_allowed_fallback(unknown)
        .with_state(s)
}

async fn unknown(method: axum::http::Method, uri: Uri) -> ApiError {
    ApiError::UnknownRequest(format!("{method} {}", uri.path()))
}

async fn post_port(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let ports = parse_port_request(&body)?;
    change(&s, move |st| st.add_ports(ports)).await?;
    ok()
}

async fn delete_port(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let id = path_uuid("port-id", &id)?;
    change(&s, move |st| st.delete_port(id)).await?;
    ok()
}

async fn get_port(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let id = path_uuid("port-id", &id)?;
    Ok(axum::Json(port_answer(&s, id)?))
}

/// One VMI's JSON, or not found while the agent has no config for it.
fn port_answer(s: &Shared, vmi: Uuid) -> Result<Value, ApiError> {
    let Some(o) = s.oper.get(vmi) else {
        return Err(ApiError::NotFound(format!(
            "no config for interface {vmi} yet. Retry"
        )));
    };
    let store = s.lock_store();
    let vm_port = store.vm_ports_of(o.vm_uuid).find(|v| v.vmi_uuid == vmi);
    Ok(port_json(vmi, &o, store.port(vmi), vm_port, &now()))
}

async fn sync_ports(State(s): State<Arc<Shared>>) -> Answer {
    let generation = s.lock_store().sync();
    let timeout = s.stale_timeout;
    let shared = s.clone();
    tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        if let Err(e) = change(&shared, move |st| st.sweep(generation)).await {
            tracing::error!(error = %e, generation, "port IPC: stale sweep failed");
        }
    });
    ok()
}

async fn post_vm(State(s): State<Arc<Shared>>, body: Bytes) -> Answer {
    let r = parse_vm_request(&body)?;
    change(&s, move |st| st.add_vm_port(r)).await?;
    ok()
}

async fn delete_vm(State(s): State<Arc<Shared>>, Path(vm): Path<String>) -> Answer {
    let vm = path_uuid("vm-uuid", &vm)?;
    change(&s, move |st| st.delete_vm(vm)).await?;
    ok()
}

async fn get_vm(State(s): State<Arc<Shared>>, Path(vm): Path<String>) -> Answer {
    let vm = path_uuid("vm-uuid", &vm)?;
    let mut vmis: Vec<Uuid> = s.lock_store().vm_ports_of(vm).map(|r| r.vmi_uuid).collect();
    vmis.extend(s.oper.of_vm(vm));
    vmis.sort();
    vmis.dedup();
    if vmis.is_empty() {
        return Err(ApiError::NotFound(format!("no interfaces of VM {vm}")));
    }
    let all: Result<Vec<Value>, ApiError> = vmis.into_iter().map(|v| port_answer(&s, v)).collect();
    Ok(axum::Json(Value::Array(all?)))
}

async fn get_vm_port(
    State(s): State<Arc<Shared>>,
    Path((vm, vmi)): Path<(String, String)>,
) -> Answer {
    path_uuid("vm-uuid", &vm)?;
    let vmi = path_uuid("vmi-uuid", &vmi)?;
    Ok(axum::Json(json!([port_answer(&s, vmi)?])))
}

async fn get_vm_cfg(State(s): State<Arc<Shared>>, Path(name): Path<String>) -> Answer {
    let v = s.oper.of_vm_named(&name);
    if v.is_empty() {
        return Err(ApiError::NotFound(format!("no VM named {name:?}")));
    }
    Ok(axum::Json(
        v.iter().map(|(k, o)| vm_cfg_json(*k, o)).collect(),
    ))
}

async fn enable_port(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let id = path_uuid("port-id", &id)?;
    change(&s, move |st| st.set_link_state(id, true)).await?;
    ok()
}

async fn disable_port(State(s): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let id = path_uuid("port-id", &id)?;
    change(&s, move |st| st.set_link_state(id, false)).await?;
    ok()
}
