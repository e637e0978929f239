//! `/virtual-network/<uuid>/ip-alloc|ip-free|subnet-ip-count`: addresses reserved for a network
//! itself (owned by the network's uuid), outside any instance-ip.

use std::net::IpAddr;

use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::auth::{Caller, READ, WRITE};
use crate::error::{ApiError, ApiResult};
use crate::http::json_response;
use crate::ipam;
use crate::keys;
use crate::state::ApiState;
use crate::write::{self, Planned};

pub async fn handle(
    state: &ApiState,
    caller: &Caller,
    uuid: &str,
    action: &str,
    body: &Map<String, Value>,
) -> ApiResult<Response> {
    let what = format!("virtual-network {uuid} {action}");
    match action {
        "ip-alloc" => {
            let count = body.get("count").and_then(Value::as_u64).unwrap_or(1);
            if count == 0 || count > 4096 {
                return Err(ApiError::bad_request(format!(
                    "{what}: count must be 1..4096"
                )));
            }
            let subnet = body
                .get("subnet")
                .and_then(Value::as_str)
                .map(str::to_string);
            let family = ipam::is_v6(body.get("family").and_then(Value::as_str));
            let (addrs, _) = write::run(state, |idx, res| {
                let vn = idx
                    .get_typed("virtual-network", uuid)
                    .ok_or_else(|| ApiError::no_object("virtual-network", uuid))?;
                caller.check(vn, WRITE)?;
                let subnets: Vec<_> = ipam::vn_subnets(idx, vn)
                    .into_iter()
                    .filter(|s| {
                        subnet
                            .as_deref()
                            .is_none_or(|want| s.net.to_string() == want)
                    })
                    .filter(|s| family.is_none_or(|v6| matches!(s.net, ipnet::IpNet::V6(_)) == v6))
                    .collect();
                let mut p = Planned::default();
                let mut picked: Vec<IpAddr> = Vec::new();
                for _ in 0..count {
                    let a = subnets
                        .iter()
                        .find_map(|s| {
                            ipam::find_free(s, &|a| {
                                picked.contains(&a)
                                    || idx.ip_owner(uuid, &a.to_string()).is_some()
                                    || res.is_held(&keys::ip(uuid, &a.to_string()))
                            })
                        })
                        .ok_or_else(|| {
                            ApiError::conflict(format!("{what}: no free address left"))
                        })?;
                    picked.push(a);
                    let key = keys::ip(uuid, &a.to_string());
                    p.absent(key.clone(), None);
                    p.put(key, uuid.to_string());
                }
                Ok((
                    p,
                    picked.iter().map(ToString::to_string).collect::<Vec<_>>(),
                ))
            })
            .await?;
            Ok(json_response(&json!({"ip_addr": addrs})))
        }
        "ip-free" => {
            let list: Vec<String> = body
                .get("ip_addr")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    ApiError::bad_request(format!("{what}: ip_addr (a list) is required"))
                })?
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        ApiError::bad_request(format!("{what}: ip_addr entries must be strings"))
                    })
                })
                .collect::<ApiResult<_>>()?;
            write::run(state, |idx, _| {
                let vn = idx
                    .get_typed("virtual-network", uuid)
                    .ok_or_else(|| ApiError::no_object("virtual-network", uuid))?;
                caller.check(vn, WRITE)?;
                let mut p = Planned::default();
                for a in &list {
                    let canon = a.parse::<IpAddr>().map(|a| a.to_string()).map_err(|_| {
                        ApiError::bad_request(format!("{what}: {a:?} is not an IP address"))
                    })?;
                    match idx.ip_owner(uuid, &canon) {
                        Some(o) if o == uuid => p.delete(keys::ip(uuid, &canon)),
                        Some(o) => {
                            return Err(ApiError::conflict(format!(
                                "{what}: {canon} belongs to {o}, not to the network"
                            )));
                        }
                        None => {}
                    }
                }
                Ok((p, ()))
            })
            .await?;
            Ok(json_response(&json!({})))
        }
        "subnet-ip-count" => {
            let list: Vec<String> = body
                .get("subnet_list")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    ApiError::bad_request(format!("{what}: subnet_list (a list) is required"))
                })?
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            let index = state.index();
            let vn = index
                .get_typed("virtual-network", uuid)
                .ok_or_else(|| ApiError::no_object("virtual-network", uuid))?;
            caller.check(vn, READ)?;
            let mut counts = Vec::new();
            for s in &list {
                let net: ipnet::IpNet = s
                    .parse()
                    .map_err(|_| ApiError::bad_request(format!("{what}: {s:?} is not a prefix")))?;
                let n = index
                    .ips_of(uuid)
                    .filter(|(a, _)| a.parse::<IpAddr>().is_ok_and(|a| net.contains(&a)))
                    .count();
                counts.push(n);
            }
            Ok(json_response(&json!({"ip_count_list": counts})))
        }
        other => Err(ApiError::not_found(format!(
            "virtual-network action {other:?} does not exist"
        ))),
    }
}
