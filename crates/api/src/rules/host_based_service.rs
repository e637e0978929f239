//! Host-based services (Contrail's `host_based_service.py`): one network per role
//! (`virtual_network_type`) at most; the left and right networks are the server's to attach
//! (`hooks/host_based_service.rs` makes them), never a client's, and an update naming the
//! networks keeps them (400); a service whose networks have ports is not deleted (400). (Its
//! one type, firewall, is the schema's only value, so the type cannot change.)

use std::collections::BTreeMap;

use serde_json::Value;

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::object::Obj;

/// The roles of a network the server attaches itself.
const SERVER_ROLES: [&str; 2] = ["left", "right"];

fn roles(o: &Obj) -> BTreeMap<String, Vec<String>> {
    let mut by_role: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in o
        .body
        .get("virtual_network_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let (Some(role), Some(uuid)) = (
            r.pointer("/attr/virtual_network_type")
                .and_then(Value::as_str),
            r.get("uuid").and_then(Value::as_str),
        ) {
            let list = by_role.entry(role.to_string()).or_default();
            if !list.iter().any(|u| u == uuid) {
                list.push(uuid.to_string());
            }
        }
    }
    by_role
}

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    let bad = |m: String| Err(ApiError::bad_request(format!("{}: {m}", c.what)));
    if !c.input.contains_key("virtual_network_refs") {
        return Ok(());
    }
    let now = roles(new);
    let was = old.map(roles).unwrap_or_default();
    for (role, uuids) in &now {
        if uuids.len() > 1 {
            return bad(format!(
                "virtual_network_refs: Virtual network type {role} cannot be referenced by more \
                 than one virtual network at a time"
            ));
        }
        if SERVER_ROLES.contains(&role.as_str()) && was.get(role) != Some(uuids) {
            let verb = if old.is_some() { "updated" } else { "created" };
            return bad(format!(
                "virtual_network_refs: default hbf-{role} Virtual network reference cannot be \
                 {verb}"
            ));
        }
    }
    // An update naming the networks keeps the server's (a service from before they were made
    // has none to keep).
    for role in SERVER_ROLES {
        if was.contains_key(role) && !now.contains_key(role) {
            return bad(format!(
                "virtual_network_refs: default hbf-{role} Virtual network reference cannot be \
                 updated"
            ));
        }
    }
    Ok(())
}

/// A service goes with its left and right networks, so not while they have ports.
pub fn check_delete(index: &Index, o: &Obj) -> ApiResult<()> {
    let by_role = roles(o);
    for uuid in SERVER_ROLES
        .iter()
        .filter_map(|r| by_role.get(*r))
        .flatten()
    {
        let Some(vn) = index.get_typed("virtual-network", uuid) else {
            continue;
        };
        if index
            .back_refs(uuid)
            .any(|r| r.type_name() == "virtual-machine-interface")
        {
            return Err(ApiError::bad_request(format!(
                "host-based-service {}: HBS object ({}, {}), virtual network ({},{}) got \
                 interfaces, cannot be removed",
                o.fq_str, o.fq_str, o.uuid, vn.fq_str, uuid
            )));
        }
    }
    Ok(())
}
