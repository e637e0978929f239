//! Ports (virtual machine interfaces): a MAC from the port's uuid when the client gives none,
//! a network they are on, and their link to that network's primary routing instance; a
//! bare-metal port's virtual port group (`port_binding.rs`).

use serde_json::{Value, json};

use super::{Companions, Ctx, refs_of};
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::object::Obj;
use crate::write::Planned;

pub(super) fn create(c: &Ctx, obj: &mut Obj, p: &mut Planned) -> ApiResult<Companions> {
    let has_mac = obj
        .body
        .get("virtual_machine_interface_mac_addresses")
        .and_then(|m| m.pointer("/mac_address/0"))
        .is_some();
    if !has_mac {
        obj.body.insert(
            "virtual_machine_interface_mac_addresses".into(),
            json!({"mac_address": [mac_from_uuid(&obj.uuid)]}),
        );
    }
    if refs_of(obj, "virtual_network_refs").next().is_none() {
        return Err(ApiError::bad_request(format!(
            "{}: virtual_network_refs: a virtual-machine-interface needs a virtual network",
            c.what
        )));
    }
    native_instance_ref(c.index, obj);
    Ok(super::port_binding::create(c, obj, p)?
        .into_iter()
        .collect())
}

/// A port refers to its network's primary routing instance with `direction: both` from its
/// create on, as Contrail's api-server links it (the intent compiler keeps the link after).
fn native_instance_ref(index: &Index, vmi: &mut Obj) {
    let Some(ri) = refs_of(vmi, "virtual_network_refs")
        .next()
        .and_then(|vn| index.get_typed("virtual-network", vn))
        .and_then(|vn| {
            let name = if vn.fq_str == "default-domain:default-project:ip-fabric" {
                "__default__"
            } else {
                vn.name()
            };
            index.by_fq_name("routing-instance", &format!("{}:{name}", vn.fq_str))
        })
    else {
        return;
    };
    if refs_of(vmi, "routing_instance_refs").any(|u| u == ri.uuid) {
        return;
    }
    let link = json!({"to": ri.fq_name, "uuid": ri.uuid, "attr": {"direction": "both"}});
    match vmi.body.get_mut("routing_instance_refs") {
        Some(Value::Array(refs)) => refs.push(link),
        _ => {
            vmi.body
                .insert("routing_instance_refs".into(), Value::Array(vec![link]));
        }
    }
}

/// A locally administered unicast MAC taken from the object's uuid, as Contrail does.
fn mac_from_uuid(uuid: &str) -> String {
    let hex: String = uuid.chars().filter(char::is_ascii_hexdigit).collect();
    let b = |i: usize| hex.get(i * 2..i * 2 + 2).unwrap_or("00").to_string();
    format!("02:{}:{}:{}:{}:{}", b(0), b(1), b(2), b(3), b(4))
}
