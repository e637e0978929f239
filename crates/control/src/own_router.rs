//! This control node's own bgp-router object: found by hostname, created at first start the way
//! Contrail's provisioning does (router_type control-node, vendor contrail, the global ASN), from
//! the `--bgp-address` / `--bgp-port` the operator gave. Once it exists the object is the truth:
//! flags that disagree with it are reported, not applied (edit the object to move the node).

use std::net::IpAddr;
use std::sync::Arc;

use cirrus_api::ApiState;
use cirrus_api::auth::Caller;
use cirrus_api::object::Obj;
use serde_json::{Map, Value, json};

use crate::ControlError;
use crate::bgp_config::{self, DEFAULT_PORT, FABRIC_INSTANCE};

/// The families a new control node's bgp-router lists (what Contrail provisions).
const FAMILIES: [&str; 4] = ["route-target", "inet-vpn", "e-vpn", "inet6-vpn"];

/// Returns this node's bgp-router, creating it if missing.
pub async fn ensure(
    state: &ApiState,
    hostname: &str,
    address: Option<IpAddr>,
    port: Option<u16>,
) -> Result<Arc<Obj>, ControlError> {
    let fq = bgp_config::own_router_fq_name(hostname);
    if let Some(o) = state.index().by_fq_name("bgp-router", &fq).cloned() {
        report_disagreement(&o, address, port);
        return Ok(o);
    }
    let address = address.unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let IpAddr::V4(identifier) = address else {
        return Err(ControlError::OwnRouter(format!(
            "bgp-router {fq} does not exist and --bgp-address {address} is IPv6: create the \
             bgp-router with an IPv4 bgp_router_parameters.identifier first"
        )));
    };
    let asn = bgp_config::global_asn(&state.index());
    let mut fq_name: Vec<&str> = FABRIC_INSTANCE.split(':').collect();
    fq_name.push(hostname);
    let input = json!({
        "fq_name": fq_name,
        "parent_type": "routing-instance",
        "bgp_router_parameters": {
            "vendor": "contrail",
            "router_type": "control-node",
            "address": address.to_string(),
            "identifier": identifier.to_string(),
            "port": port.unwrap_or(DEFAULT_PORT),
            "autonomous_system": asn,
            "address_families": {"family": FAMILIES},
        },
    });
    let input: Map<String, Value> = input.as_object().cloned().unwrap_or_default();
    let ty = cirrus_api::http::resource("bgp-router")
        .map_err(|e| ControlError::OwnRouter(e.to_string()))?;
    match cirrus_api::ops::create(state, &Caller::admin(), ty, &input).await {
        Ok(o) => {
            tracing::info!(bgp_router = %fq, %address, asn, "created this control node's bgp-router");
            Ok(o)
        }
        // Another replica with the same hostname created it first: use theirs.
        Err(e) if e.status == axum::http::StatusCode::CONFLICT => state
            .index()
            .by_fq_name("bgp-router", &fq)
            .cloned()
            .ok_or_else(|| ControlError::OwnRouter(format!("creating bgp-router {fq}: {e}"))),
        Err(e) => Err(ControlError::OwnRouter(format!(
            "creating bgp-router {fq}: {e}"
        ))),
    }
}

fn report_disagreement(o: &Obj, address: Option<IpAddr>, port: Option<u16>) {
    let p = o.body.get("bgp_router_parameters").unwrap_or(&Value::Null);
    let have_addr = p.get("address").and_then(Value::as_str).unwrap_or("");
    let have_port = p
        .get("port")
        .and_then(Value::as_u64)
        .filter(|p| *p != 0)
        .unwrap_or(u64::from(DEFAULT_PORT));
    if let Some(a) = address
        && a.to_string() != have_addr
    {
        tracing::warn!(
            bgp_router = %o.fq_str,
            flag = %a,
            object = have_addr,
            "--bgp-address differs from the existing bgp-router's address; using the object's"
        );
    }
    if let Some(pt) = port
        && u64::from(pt) != have_port
    {
        tracing::warn!(
            bgp_router = %o.fq_str,
            flag = pt,
            object = have_port,
            "--bgp-port differs from the existing bgp-router's port; using the object's"
        );
    }
}
