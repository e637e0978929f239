//! Host-based services (Contrail's `host_based_service.py`): one network per role
//! (`virtual_network_type`) at most; the left and right networks are the server's to attach,
//! never a client's. (Its one type, firewall, is the schema's only value.)
//!
//! Not built: Contrail creates the left and right networks with the service and keeps them.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Ctx;
use crate::error::{ApiError, ApiResult};
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
    Ok(())
}
