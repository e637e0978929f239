//! Routed virtual networks (Contrail's `virtual_network.py`, `virtual_network_category`
//! `routed`): an update of a routed network's `virtual_network_routed_properties` is checked
//! entry by entry, and refused with 409 as Contrail does: each entry names its physical and
//! logical router; it has a `routed_interface_ip_address` inside one of the network's subnets
//! (except on a fabric's overlay-loopback network, whose addresses the fabric hands out); BGP
//! peers and PIM rendezvous points are IPv4 addresses; PIM runs `sparse-dense` only; OSPF area
//! 0 is the backbone. Creates are not checked (Contrail checks only updates).
//!
//! Not built: allocating and freeing the loopback instance IPs of an overlay-loopback network.

use std::net::{IpAddr, Ipv4Addr};

use serde_json::Value;

use super::Ctx;
use crate::alloc::addr;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

const FIELD: &str = "virtual_network_routed_properties";

pub fn check(c: &Ctx, old: Option<&Obj>, _new: &mut Obj) -> ApiResult<()> {
    let Some(old) = old else {
        return Ok(());
    };
    if old
        .body
        .get("virtual_network_category")
        .and_then(Value::as_str)
        != Some("routed")
    {
        return Ok(());
    }
    let Some(props) = c.input.get(FIELD).filter(|v| !v.is_null()) else {
        return Ok(());
    };
    let loopback = is_overlay_loopback(c, old);
    let entries = props
        .get("routed_properties")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for e in entries {
        entry(c, old, loopback, e)
            .map_err(|m| ApiError::conflict(format!("{}: {FIELD}: {m}", c.what)))?;
    }
    Ok(())
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn entry(c: &Ctx, vn: &Obj, loopback: bool, e: &Value) -> Result<(), String> {
    if text(e, "physical_router_uuid").is_none() {
        return Err("Physical router Id not present for routed VN".into());
    }
    if text(e, "logical_router_uuid").is_none() {
        return Err("Logical Router Id not present for routed VN".into());
    }
    if !loopback {
        let Some(ip) = text(e, "routed_interface_ip_address") else {
            return Err("routed-interface-ip-address is required".into());
        };
        let inside = ip.parse::<IpAddr>().is_ok_and(|a| {
            addr::vn_subnets(c.index, vn)
                .iter()
                .any(|s| s.net.contains(&a))
        });
        if !inside {
            return Err(format!("IP {ip} does not belong to any subnet"));
        }
    }
    let null = Value::Null;
    let params = |k: &str| e.get(k).unwrap_or(&null);
    match text(e, "routing_protocol") {
        Some("bgp") => {
            let bgp = params("bgp_params");
            match bgp.get("peer_ip_address_list").and_then(Value::as_array) {
                Some(list) if !list.is_empty() => list.iter().try_for_each(ipv4),
                _ => ipv4(bgp.get("peer_ip_address").unwrap_or(&null)),
            }
        }
        Some("pim") => {
            let pim = params("pim_params");
            pim.get("rp_ip_address")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .try_for_each(ipv4)?;
            match text(pim, "mode") {
                Some(m) if m != "sparse-dense" => {
                    Err("PIM mode only sparse-dense supported".into())
                }
                _ => Ok(()),
            }
        }
        Some("ospf") => {
            let ospf = params("ospf_params");
            let zero = matches!(text(ospf, "area_id"), Some("0" | "0.0.0.0"));
            if zero && text(ospf, "area_type") != Some("backbone") {
                return Err("Area id zero should have area type as backbone".into());
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Contrail answers with the address itself when it is not IPv4.
fn ipv4(v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some(s) if s.parse::<Ipv4Addr>().is_ok() => Ok(()),
        Some(s) => Err(s.to_string()),
        None => Err(format!("{v}")),
    }
}

/// A fabric's overlay-loopback network: named so, and linked from a fabric as one.
fn is_overlay_loopback(c: &Ctx, vn: &Obj) -> bool {
    vn.name().contains("overlay-loopback")
        && c.index.back_refs(&vn.uuid).any(|f| {
            f.type_name() == "fabric"
                && f.refs().any(|r| {
                    r.uuid == vn.uuid
                        && r.attr.get("network_type").and_then(Value::as_str)
                            == Some("overlay-loopback")
                })
        })
}
