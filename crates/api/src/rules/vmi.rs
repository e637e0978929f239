//! Virtual machine interfaces (Contrail's `virtual_machine_interface.py`): sub-interface VLAN
//! tags, allowed address pairs against port security, bridge-domain links, health-check types.

use std::collections::HashSet;
use std::net::IpAddr;

use serde_json::Value;

use super::{Ctx, at};
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

fn vlan_tag(obj: &Obj) -> i64 {
    at(
        obj,
        &[
            "virtual_machine_interface_properties",
            "sub_interface_vlan_tag",
        ],
    )
    .and_then(Value::as_i64)
    .unwrap_or(0)
}

fn primary_uuid(obj: &Obj) -> Option<&str> {
    obj.body
        .get("virtual_machine_interface_refs")?
        .as_array()?
        .first()?
        .get("uuid")?
        .as_str()
}

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    sub_interface(c, old, new)?;
    address_pairs(c, new)?;
    bridge_domains(c, new)?;
    health_checks(c, new)?;
    gateway_address(c, new)
}

/// A port outside a service instance (no port tuple) may only use link-local health checks:
/// end-to-end ones run through a service chain.
fn health_checks(c: &Ctx, new: &Obj) -> ApiResult<()> {
    let has = |field: &str| {
        new.body
            .get(field)
            .and_then(Value::as_array)
            .is_some_and(|r| !r.is_empty())
    };
    if has("port_tuple_refs") {
        return Ok(());
    }
    for r in new.refs().filter(|r| r.to_type == "service-health-check") {
        let kind = c
            .index
            .get(r.uuid)
            .and_then(|h| at(h, &["service_health_check_properties", "health_check_type"]))
            .and_then(Value::as_str);
        if kind.is_some_and(|k| k != "link-local") {
            return Err(ApiError::bad_request(format!(
                "{}: service_health_check_refs: a port of no service instance can only use \
                 link-local health checks, {} is {}",
                c.what,
                r.uuid,
                kind.unwrap_or_default()
            )));
        }
    }
    Ok(())
}

/// A port that belongs to a virtual machine cannot hold a subnet's gateway address (those are
/// for router ports), whichever of the two links comes last.
fn gateway_address(c: &Ctx, new: &Obj) -> ApiResult<()> {
    let vm_port = new
        .body
        .get("virtual_machine_refs")
        .and_then(Value::as_array)
        .is_some_and(|r| !r.is_empty());
    if !vm_port {
        return Ok(());
    }
    for iip in c
        .index
        .back_refs(&new.uuid)
        .filter(|o| o.type_name() == "instance-ip")
    {
        let addr = iip
            .body
            .get("instance_ip_address")
            .and_then(Value::as_str)
            .and_then(|a| a.parse::<IpAddr>().ok());
        let vn = iip
            .body
            .get("virtual_network_refs")
            .and_then(Value::as_array)
            .and_then(|r| r.first())
            .and_then(|r| r.get("uuid"))
            .and_then(Value::as_str)
            .and_then(|u| c.index.get(u));
        if let (Some(a), Some(vn)) = (addr, vn) {
            let subnets = crate::alloc::addr::vn_subnets(c.index, vn);
            if crate::alloc::addr::subnet_of(&subnets, a).is_some_and(|s| s.gateway == Some(a)) {
                return Err(ApiError::bad_request(format!(
                    "{}: Gateway IP cannot be used by VM port",
                    c.what
                )));
            }
        }
    }
    Ok(())
}

fn sub_interface(c: &Ctx, old: Option<&Obj>, new: &Obj) -> ApiResult<()> {
    let bad = |m: String| Err(ApiError::bad_request(format!("{}: {m}", c.what)));
    let tag = vlan_tag(new);
    if !(0..=4094).contains(&tag) {
        return bad(format!("Invalid sub-interface VLAN tag ID: {tag}"));
    }
    if let Some(old) = old {
        // The vRouter cannot move a sub-interface to another VLAN.
        if vlan_tag(old) != tag && primary_uuid(old).is_some() {
            return bad("Cannot change sub-interface VLAN tag ID".into());
        }
        return Ok(());
    }
    let (Some(p), true) = (primary_uuid(new), tag != 0) else {
        return Ok(());
    };
    let Some(primary) = c.index.get(p) else {
        return Ok(());
    };
    if vlan_tag(primary) != 0 {
        return bad("sub interface can't have another sub interface as it's primary port".into());
    }
    let clash = c
        .index
        .back_refs(&primary.uuid)
        .filter(|o| o.type_name() == "virtual-machine-interface" && o.uuid != new.uuid)
        .any(|o| primary_uuid(o) == Some(primary.uuid.as_str()) && vlan_tag(o) == tag);
    if clash {
        return bad("Two sub interfaces under same primary port can't have same Vlan tag".into());
    }
    Ok(())
}

fn address_pairs(c: &Ctx, new: &Obj) -> ApiResult<()> {
    let bad = |m: String| Err(ApiError::bad_request(format!("{}: {m}", c.what)));
    let pairs: Vec<&Value> = at(
        new,
        &[
            "virtual_machine_interface_allowed_address_pairs",
            "allowed_address_pair",
        ],
    )
    .and_then(Value::as_array)
    .map(|a| a.iter().collect())
    .unwrap_or_default();
    for (i, p) in pairs.iter().enumerate() {
        let field =
            format!("virtual_machine_interface_allowed_address_pairs.allowed_address_pair[{i}]");
        let prefix = p
            .pointer("/ip/ip_prefix")
            .and_then(Value::as_str)
            .unwrap_or("");
        let Ok(addr) = prefix.parse::<IpAddr>() else {
            return bad(format!(
                "{field}.ip.ip_prefix: {prefix:?} is not an IP address"
            ));
        };
        let len = p
            .pointer("/ip/ip_prefix_len")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        if p.get("address_mode").and_then(Value::as_str) == Some("active-standby") {
            // Contrail refuses wide active-standby pairs (LP #1720118).
            if addr.is_ipv6() && len < 120 {
                return bad(format!(
                    "{field}: IPv6 Prefix length lesser than 120 is is not acceptable"
                ));
            }
            if addr.is_ipv4() && len < 24 {
                return bad(format!(
                    "{field}: IPv4 Prefix length lesser than 24:it is {len} - is not acceptable"
                ));
            }
        }
    }
    let port_security = new
        .body
        .get("port_security_enabled")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    if !port_security && !pairs.is_empty() {
        return bad("Allowed address pairs are not allowed when port security is disabled".into());
    }
    Ok(())
}

fn bridge_domains(c: &Ctx, new: &Obj) -> ApiResult<()> {
    let bds: Vec<&Value> = new
        .body
        .get("bridge_domain_refs")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    if bds.is_empty() {
        return Ok(());
    }
    let vn = new
        .body
        .get("virtual_network_refs")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|r| r.get("to"))
        .cloned();
    let Some(vn) = vn else {
        return Err(ApiError::bad_request(format!(
            "{}: Virtual network can not be removed on virtual machine interface({}) while it refers a bridge domain",
            c.what, new.uuid
        )));
    };
    let mut tags = HashSet::new();
    for bd in bds {
        let to = bd
            .get("to")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if to.get(..3) != vn.as_array().map(Vec::as_slice) {
            return Err(ApiError::bad_request(format!(
                "{}: Virtual machine interface({}) can only refer to bridge domain belonging to virtual network({})",
                c.what, new.uuid, vn
            )));
        }
        let tag = bd
            .pointer("/attr/vlan_tag")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if !tags.insert(tag) {
            return Err(ApiError::bad_request(format!(
                "{}: Virtual machine interface({}) already refers to bridge domain({}) for vlan tag {tag}",
                c.what,
                new.uuid,
                bd.get("uuid").and_then(Value::as_str).unwrap_or("")
            )));
        }
    }
    Ok(())
}
