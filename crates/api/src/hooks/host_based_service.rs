//! Host-based services (Contrail's `host_based_service.py`): a service is a firewall unless it
//! says otherwise, and comes with its two networks, `__<name>-hbf-left__` (0.1.0.0/16) and
//! `__<name>-hbf-right__` (0.2.0.0/16), made in its project on the default IPAM and referred to
//! with the roles `left` and `right`. They are created with the service, in its transaction, and
//! go with it (see [`derived`]); a client can neither attach nor detach them
//! (`rules/host_based_service.rs`).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::{Companions, Ctx, companion, network};
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::object::Obj;
use crate::write::Planned;

/// (role, network name suffix, prefix) of the networks the server makes.
const NETWORKS: [(&str, &str, &str); 2] = [
    ("left", "hbf-left", "0.1.0.0"),
    ("right", "hbf-right", "0.2.0.0"),
];
const PREFIX_LEN: u64 = 16;
pub(crate) const DEFAULT_IPAM: &str = "default-domain:default-project:default-network-ipam";

/// The name of the service's network in `role`'s place.
pub(crate) fn network_name(service: &str, suffix: &str) -> String {
    format!("__{service}-{suffix}__")
}

pub(super) fn create(c: &Ctx, obj: &mut Obj, p: &mut Planned) -> ApiResult<Companions> {
    obj.body
        .entry("host_based_service_type")
        .or_insert_with(|| json!("firewall"));
    if obj.body["host_based_service_type"].is_null() {
        obj.body["host_based_service_type"] = json!("firewall");
    }
    let project = obj
        .parent
        .as_ref()
        .and_then(|par| c.index.get(&par.uuid))
        .ok_or_else(|| ApiError::bad_request(format!("{}: no parent project", c.what)))?;
    let ipam = c
        .index
        .by_fq_name("network-ipam", DEFAULT_IPAM)
        .ok_or_else(|| ApiError::conflict(format!("{}: no {DEFAULT_IPAM}", c.what)))?;
    let mut made = Vec::new();
    for (role, suffix, prefix) in NETWORKS {
        let mut body = Map::new();
        body.insert(
            "network_ipam_refs".into(),
            json!([{
                "to": ipam.fq_name,
                "uuid": ipam.uuid,
                "attr": {"ipam_subnets": [{"subnet": {"ip_prefix": prefix, "ip_prefix_len": PREFIX_LEN}}]},
            }]),
        );
        if let Some(perms2) = obj.body.get("perms2") {
            body.insert("perms2".into(), perms2.clone());
        }
        let mut vn = companion(
            "virtual-network",
            project,
            &network_name(obj.name(), suffix),
            body,
        );
        p.at_revision(crate::keys::obj(&ipam.uuid), ipam.revision);
        let what = format!("virtual-network {}", vn.fq_str);
        let input = vn.body.clone();
        let vn_ctx = Ctx {
            index: c.index,
            reserved: c.reserved,
            quotas: c.quotas,
            what: &what,
            input: &input,
        };
        let ri = network::create(&vn_ctx, &mut vn, p)?;
        let refs = obj
            .body
            .entry("virtual_network_refs")
            .or_insert_with(|| json!([]));
        if let Value::Array(list) = refs {
            list.push(json!({
                "to": vn.fq_name,
                "uuid": vn.uuid,
                "attr": {"virtual_network_type": role},
            }));
        }
        made.push(vn);
        made.extend(ri);
    }
    Ok(made)
}

/// The networks the service's delete takes along: those it refers to as left or right.
pub(crate) fn derived(index: &Index, obj: &Obj) -> Vec<Arc<Obj>> {
    obj.body
        .get("virtual_network_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|r| {
            r.pointer("/attr/virtual_network_type")
                .and_then(Value::as_str)
                .is_some_and(|t| NETWORKS.iter().any(|(role, ..)| *role == t))
        })
        .filter_map(|r| index.get_typed("virtual-network", r.get("uuid")?.as_str()?))
        .cloned()
        .collect()
}
