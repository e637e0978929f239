//! `/virtual-network/<uuid>/ip-alloc|ip-free|subnet-ip-count`: addresses a network reserves for
//! itself (owned by the network's uuid) through the same allocator as instance IPs. As in
//! Contrail, `subnet` and `subnet_list` name subnets by their `subnet_uuid`, and counts include
//! the addresses the subnet keeps (network, gateway, service address).

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::alloc::addr::{self, Ask};
use crate::alloc::subnet;
use crate::auth::{Caller, READ, WRITE};
use crate::error::{ApiError, ApiResult};
use crate::http::{caller, json_response, parse_body};
use crate::state::ApiState;
use crate::write::{self, Planned};

/// Most addresses one `ip-alloc` hands out.
const MAX_COUNT: u64 = 4096;

/// `POST /virtual-network/<uuid>/ip-alloc`.
pub async fn ip_alloc(
    state: State<Arc<ApiState>>,
    uuid: Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    post(state, uuid, headers, body, "ip-alloc").await
}

/// `POST /virtual-network/<uuid>/ip-free`.
pub async fn ip_free(
    state: State<Arc<ApiState>>,
    uuid: Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    post(state, uuid, headers, body, "ip-free").await
}

/// `POST /virtual-network/<uuid>/subnet-ip-count`.
pub async fn subnet_ip_count(
    state: State<Arc<ApiState>>,
    uuid: Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    post(state, uuid, headers, body, "subnet-ip-count").await
}

async fn post(
    State(state): State<Arc<ApiState>>,
    Path(uuid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
    action: &str,
) -> ApiResult<Response> {
    let body = parse_body(&body)?;
    let caller = caller(&state, &headers)?;
    Ok(json_response(
        &handle(&state, &caller, &uuid, action, &body).await?,
    ))
}

pub async fn handle(
    state: &ApiState,
    caller: &Caller,
    uuid: &str,
    action: &str,
    body: &Map<String, Value>,
) -> ApiResult<Value> {
    let what = format!("virtual-network {uuid} {action}");
    let not_found = || ApiError::not_found(format!("Virtual Network {uuid} not found!"));
    match action {
        "ip-alloc" => {
            let count = body.get("count").and_then(Value::as_u64).unwrap_or(1);
            if count == 0 || count > MAX_COUNT {
                return Err(ApiError::bad_request(format!(
                    "{what}: count must be 1..{MAX_COUNT}"
                )));
            }
            let ask = Ask {
                addr: None,
                v6: subnet::is_v6(body.get("family").and_then(Value::as_str)),
                subnet_uuid: body
                    .get("subnet")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            };
            let (addrs, _) = write::run(state, |idx, res| {
                let vn = idx
                    .get_typed("virtual-network", uuid)
                    .ok_or_else(not_found)?;
                caller.check(vn, WRITE)?;
                let mut p = Planned::default();
                let mut picked = Vec::new();
                for _ in 0..count {
                    match addr::allocate(idx, res, vn, &ask, uuid, &mut p) {
                        Ok(a) => picked.push(a.addr.to_string()),
                        Err(e) => {
                            p.abandon(res);
                            return Err(e.on_ip_alloc(&what));
                        }
                    }
                }
                Ok((p, picked))
            })
            .await?;
            Ok(json!({ "ip_addr": addrs }))
        }
        "ip-free" => {
            let list: Vec<IpAddr> = body
                .get("ip_addr")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|v| {
                    v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
                        ApiError::bad_request(format!("{what}: {v} is not an IP address"))
                    })
                })
                .collect::<ApiResult<_>>()?;
            write::run(state, |idx, _| {
                let vn = idx
                    .get_typed("virtual-network", uuid)
                    .ok_or_else(not_found)?;
                caller.check(vn, WRITE)?;
                let mut p = Planned::default();
                // Only what the network itself holds is freed; an address an instance IP owns
                // stays with it.
                for a in &list {
                    for key in addr::held_keys(idx, vn, &a.to_string(), uuid) {
                        p.delete(key);
                    }
                }
                Ok((p, ()))
            })
            .await?;
            Ok(json!({}))
        }
        "subnet-ip-count" => {
            let index = state.index();
            let vn = index
                .get_typed("virtual-network", uuid)
                .ok_or_else(not_found)?;
            caller.check(vn, READ)?;
            let subnets = addr::vn_subnets(&index, vn);
            let counts: Vec<usize> = body
                .get("subnet_list")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|v| {
                    let want = v.as_str().unwrap_or("");
                    subnets
                        .iter()
                        .find(|s| s.uuid == want)
                        .map_or(0, |s| addr::count(&index, s))
                })
                .collect();
            Ok(json!({ "ip_count_list": counts }))
        }
        other => Err(ApiError::not_found(format!(
            "virtual-network action {other:?} does not exist"
        ))),
    }
}
