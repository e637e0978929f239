//! The subnet rules of virtual networks and network IPAMs, as Contrail's `virtual_network.py`
//! and `network_ipam.py` apply them: user-defined subnets live on a network's IPAM link,
//! flat subnets on a `flat-subnet` IPAM (used only by l3 networks, which keep just a
//! `subnet_uuid` on the link); no two subnets a network sees overlap; stored entries get
//! Contrail's defaults ([`crate::alloc::subnet`]).

use ipnet::IpNet;
use serde_json::{Value, json};

use crate::alloc::addr;
use crate::alloc::subnet::{self, check_overlap};
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::object::Obj;
use crate::quota::QuotaDefaults;
use crate::write::Planned;

fn method(ipam: &Obj) -> &str {
    ipam.body
        .get("ipam_subnet_method")
        .and_then(Value::as_str)
        .unwrap_or("user-defined-subnet")
}

fn ipam_entries(ipam: &Obj) -> Vec<Value> {
    ipam.body
        .get("ipam_subnets")
        .and_then(|v| v.get("subnets"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn prefixes(entries: &[Value]) -> Vec<IpNet> {
    entries
        .iter()
        .filter_map(|s| subnet::parse(s, "", false).map(|s| s.net))
        .collect()
}

/// The stored `ipam_subnets` of `old`'s link to `ipam_uuid`.
fn old_link_entries(old: Option<&Obj>, ipam_uuid: &str) -> Vec<Value> {
    old.and_then(|o| o.body.get("network_ipam_refs"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|r| r.get("uuid").and_then(Value::as_str) == Some(ipam_uuid))
        .and_then(|r| r.pointer("/attr/ipam_subnets"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Checks and fills a virtual network's `network_ipam_refs` (create, or update from `old`).
pub fn normalize(index: &Index, what: &str, vn: &mut Obj, old: Option<&Obj>) -> ApiResult<()> {
    let l3 = vn
        .body
        .get("virtual_network_properties")
        .and_then(|p| p.get("forwarding_mode"))
        .and_then(Value::as_str)
        == Some("l3");
    // A routed network's subnets reserve no gateway or service address (Contrail's
    // `routed_vn`), like a subnetted IPAM's.
    let routed = vn
        .body
        .get("virtual_network_category")
        .and_then(Value::as_str)
        == Some("routed");
    let Some(refs) = vn
        .body
        .get_mut("network_ipam_refs")
        .and_then(Value::as_array_mut)
    else {
        return Ok(());
    };
    let mut nets: Vec<IpNet> = Vec::new();
    for r in refs.iter_mut() {
        let uuid = r
            .get("uuid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let Some(ipam) = index.get(&uuid) else {
            continue;
        };
        let old_entries = old_link_entries(old, &uuid);
        if r.get("attr").is_none_or(Value::is_null) {
            r["attr"] = json!({"ipam_subnets": []});
        }
        let mut list: Vec<Value> = r
            .pointer("/attr/ipam_subnets")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if method(ipam) == "flat-subnet" {
            if list
                .iter()
                .any(|s| s.pointer("/subnet/ip_prefix").is_some_and(|p| !p.is_null()))
            {
                return Err(ApiError::bad_request(format!(
                    "{what}: with flat-subnet, network can not have user-defined subnet"
                )));
            }
            if !l3 {
                return Err(ApiError::bad_request(format!(
                    "{what}: flat-subnet is allowed only with l3 network"
                )));
            }
            // The link keeps one entry naming the flat allocation's subnet uuid.
            let keep = old_entries
                .first()
                .and_then(|s| s.get("subnet_uuid"))
                .cloned()
                .unwrap_or_else(|| json!(uuid::Uuid::new_v4().to_string()));
            r["attr"]["ipam_subnets"] = json!([{ "subnet_uuid": keep }]);
            nets.extend(prefixes(&ipam_entries(ipam)));
            continue;
        }
        nets.extend(subnet::normalize_list(
            what,
            &mut list,
            &old_entries,
            routed,
        )?);
        r["attr"]["ipam_subnets"] = Value::Array(list);
    }
    check_overlap(what, &nets)
}

/// Checks and fills a network IPAM's own `ipam_subnets` (create, or update from `old`).
pub fn normalize_ipam(
    index: &Index,
    what: &str,
    ipam: &mut Obj,
    old: Option<&Obj>,
) -> ApiResult<()> {
    let mut list = ipam_entries(ipam);
    if list.is_empty() {
        return Ok(());
    }
    if method(ipam) != "flat-subnet" {
        return Err(ApiError::bad_request(format!(
            "{what}: ipam-subnets are allowed only with flat-subnet"
        )));
    }
    let subnetting = ipam
        .body
        .get("ipam_subnetting")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let old_list = old.map(ipam_entries).unwrap_or_default();
    let nets = subnet::normalize_list(what, &mut list, &old_list, subnetting)?;
    check_overlap(what, &nets)?;
    if let Some(s) = ipam.body.get_mut("ipam_subnets") {
        s["subnets"] = Value::Array(list.clone());
    }
    // Every network on this IPAM sees these subnets beside its others.
    for vn in index
        .back_refs(&ipam.uuid)
        .filter(|o| o.type_name() == "virtual-network")
    {
        let others: Vec<IpNet> = addr::vn_subnets(index, vn)
            .into_iter()
            .filter(|s| s.scope != ipam.uuid)
            .map(|s| s.net)
            .collect();
        let all: Vec<IpNet> = nets.iter().copied().chain(others).collect();
        check_overlap(what, &all)?;
    }
    // A flat subnet that still holds addresses cannot go away.
    if old.is_some() {
        let scope = ipam.uuid.clone();
        let now: Vec<_> = list
            .iter()
            .filter_map(|s| subnet::parse(s, &scope, true))
            .collect();
        addr::check_still_covered(index, &scope, &now)
            .map_err(|e| ApiError::conflict(format!("{what}: {}", e.message)))?;
    }
    Ok(())
}

/// The user-defined subnets of a network (flat IPAM links carry none).
fn subnet_count(vn: &Obj) -> usize {
    vn.body
        .get("network_ipam_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.pointer("/attr/ipam_subnets").and_then(Value::as_array))
        .flatten()
        .filter(|s| s.pointer("/subnet/ip_prefix").is_some_and(|p| !p.is_null()))
        .count()
}

/// The project's `subnet` quota (Contrail counts the subnets of all its networks): 412 when a
/// create or update would pass it. The quota key is compared and rewritten with the write, so
/// concurrent writers cannot all pass one count.
pub fn check_subnet_quota(
    index: &Index,
    quotas: &QuotaDefaults,
    what: &str,
    vn: &Obj,
    old: Option<&Obj>,
    p: &mut Planned,
) -> ApiResult<()> {
    let Some(project) = vn.parent.as_ref().and_then(|par| index.get(&par.uuid)) else {
        return Ok(());
    };
    let now = subnet_count(vn);
    let total = || {
        let others: usize = index
            .children(&project.uuid)
            .filter(|o| o.type_name() == "virtual-network" && o.uuid != vn.uuid)
            .map(|o| subnet_count(o))
            .sum();
        others + now
    };
    if now <= old.map_or(0, subnet_count) {
        return Ok(());
    }
    crate::quota::check_count(index, quotas, what, project, "subnet", total, p)
}
