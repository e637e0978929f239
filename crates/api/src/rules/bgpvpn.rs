//! BGPVPN associations (Contrail's `bgpvpn.py`): a network not in `l2_l3` mode takes only
//! BGPVPNs of its own forwarding type, a logical router only `l3` ones, and a BGPVPN reaches a
//! network either directly or through its router, never both.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Ctx, at};
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::object::Obj;

fn ref_uuids<'a>(obj: &'a Obj, field: &str) -> Vec<&'a str> {
    obj.body
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uuid")?.as_str())
        .collect()
}

fn vpn_type(index: &Index, uuid: &str) -> String {
    index
        .get(uuid)
        .and_then(|b| b.body.get("bgpvpn_type"))
        .and_then(Value::as_str)
        .unwrap_or("l3")
        .to_string()
}

fn bgpvpn_list(index: &Index, holder: &Obj) -> String {
    ref_uuids(holder, "bgpvpn_refs")
        .iter()
        .filter_map(|u| index.get(u))
        .map(|b| {
            format!(
                "bgpvpn {} ({}) associated to {} {}",
                b.name(),
                b.uuid,
                holder.type_name(),
                holder.fq_str
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The logical routers a network is linked to (through their router ports on it).
fn routers_of<'a>(
    index: &'a Index,
    vn: &'a Obj,
) -> impl Iterator<Item = &'a std::sync::Arc<Obj>> + 'a {
    index
        .back_refs(&vn.uuid)
        .filter(|p| p.type_name() == "virtual-machine-interface")
        .flat_map(move |p| index.back_refs(&p.uuid))
        .filter(|o| o.type_name() == "logical-router")
}

pub fn check_network(c: &Ctx, _old: Option<&Obj>, vn: &mut Obj) -> ApiResult<()> {
    let vpns = ref_uuids(vn, "bgpvpn_refs");
    if vpns.is_empty() {
        return Ok(());
    }
    let mode = at(vn, &["virtual_network_properties", "forwarding_mode"])
        .and_then(Value::as_str)
        .unwrap_or("l2_l3");
    if mode != "l2_l3" {
        let types: BTreeSet<String> = vpns.iter().map(|u| vpn_type(c.index, u)).collect();
        if types.len() > 1 {
            return Err(ApiError::bad_request(format!(
                "{}: Cannot associate different bgpvpn types '{types:?}' on a virtual network with a forwarding mode different to 'l2_l3'",
                c.what
            )));
        }
        if let Some(t) = types.iter().next().filter(|t| t.as_str() != mode) {
            return Err(ApiError::bad_request(format!(
                "{}: Cannot associate bgpvpn type '{t}' with a virtual network in forwarding mode '{mode}'",
                c.what
            )));
        }
    }
    for lr in routers_of(c.index, vn) {
        if !ref_uuids(lr, "bgpvpn_refs").is_empty() {
            return Err(ApiError::bad_request(format!(
                "{}: Network {} ({}) is linked to a logical router which is associated to bgpvpn(s): {}",
                c.what,
                vn.name(),
                vn.uuid,
                bgpvpn_list(c.index, lr)
            )));
        }
    }
    Ok(())
}

pub fn check_router(c: &Ctx, _old: Option<&Obj>, lr: &mut Obj) -> ApiResult<()> {
    let vpns = ref_uuids(lr, "bgpvpn_refs");
    if vpns.is_empty() {
        return Ok(());
    }
    let not_l3: Vec<String> = vpns
        .iter()
        .filter(|u| vpn_type(c.index, u) != "l3")
        .map(|u| u.to_string())
        .collect();
    if !not_l3.is_empty() {
        return Err(ApiError::bad_request(format!(
            "{}: Only bgpvpn type 'l3' can be associated to a logical router: {}",
            c.what,
            not_l3.join(", ")
        )));
    }
    for port in ref_uuids(lr, "virtual_machine_interface_refs")
        .iter()
        .filter_map(|u| c.index.get(u))
    {
        for vn in ref_uuids(port, "virtual_network_refs")
            .iter()
            .filter_map(|u| c.index.get(u))
        {
            if !ref_uuids(vn, "bgpvpn_refs").is_empty() {
                return Err(ApiError::bad_request(format!(
                    "{}: Router {} ({}) is linked to virtual network(s) which is/are associated to bgpvpn(s): {}",
                    c.what,
                    lr.name(),
                    lr.uuid,
                    bgpvpn_list(c.index, vn)
                )));
            }
        }
    }
    Ok(())
}
