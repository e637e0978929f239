//! Finds or creates the `virtual-router` a vrouter registers as:
//! `default-global-system-config:<hostname>`, created when missing with
//! `virtual_router_ip_address` = the underlay address from its Hello (what Contrail's
//! `provision_vrouter.py` does). An existing object is the truth: a different address is
//! logged as a warning and the object is left unchanged.

use std::net::Ipv4Addr;
use std::sync::Arc;

use cirrus_api::ApiState;
use cirrus_api::auth::Caller;
use cirrus_api::object::Obj;
use serde_json::{Map, Value, json};

use crate::bgp_config::GLOBAL_SYSTEM_CONFIG;
use crate::placement::virtual_router_fq;

/// Why registration failed.
#[derive(Debug, thiserror::Error)]
#[error("registering virtual-router {fq}: {why}")]
pub struct RegistryError {
    pub fq: String,
    pub why: String,
}

pub async fn ensure(
    state: &ApiState,
    hostname: &str,
    address: Ipv4Addr,
) -> Result<Arc<Obj>, RegistryError> {
    let fq = virtual_router_fq(hostname);
    if let Some(o) = state.index().by_fq_name("virtual-router", &fq).cloned() {
        let have = o
            .body
            .get("virtual_router_ip_address")
            .and_then(Value::as_str)
            .unwrap_or("");
        if have != address.to_string() {
            tracing::warn!(
                virtual_router = %fq,
                object = have,
                hello = %address,
                "the vrouter's underlay address differs from its virtual-router's virtual_router_ip_address; the object is left as it is"
            );
        }
        return Ok(o);
    }
    let input = json!({
        "fq_name": [GLOBAL_SYSTEM_CONFIG, hostname],
        "parent_type": "global-system-config",
        "virtual_router_ip_address": address.to_string(),
        "virtual_router_type": "",
    });
    let mut input: Map<String, Value> = input.as_object().cloned().unwrap_or_default();
    input.remove("virtual_router_type");
    let err = |why: String| RegistryError {
        fq: fq.clone(),
        why,
    };
    let ty = cirrus_api::http::resource("virtual-router").map_err(|e| err(e.to_string()))?;
    match cirrus_api::ops::create(state, &Caller::admin(), ty, &input).await {
        Ok(o) => {
            tracing::info!(virtual_router = %fq, %address, "created the vrouter's virtual-router");
            Ok(o)
        }
        // Another controller (same etcd) or a racing session created it first.
        Err(e) if e.status == axum::http::StatusCode::CONFLICT => {
            // The winner's write reaches this index shortly.
            for _ in 0..50 {
                if let Some(o) = state.index().by_fq_name("virtual-router", &fq).cloned() {
                    return Ok(o);
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(err(e.to_string()))
        }
        Err(e) => Err(err(e.to_string())),
    }
}
