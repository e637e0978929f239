//! A vrouter's slice of the config graph: the objects reachable from it, sent as the API
//! stores them. From the roots (global-system-config, global-vrouter-configs, the
//! virtual-router, its virtual-machines, the VMIs placed on it) the walk follows:
//!
//! - forward refs to the types a vrouter needs (networks, IPAMs, policies, security groups,
//!   routing instances, route targets, tags, VMs, application-policy-sets, firewall policies
//!   and rules, address and service groups);
//! - a VMI's instance-ips, floating-ips and alias-ips (back refs), and a floating/alias IP's
//!   pool and the pool's network (parents);
//! - children: a network's routing instances and ACLs, a security group's ACLs;
//! - logical routers with an interface in a sliced network, and application-policy-sets that
//!   ref a sliced tag;
//! - the networks named by sliced ACLs' rules, as leaves (so origin names resolve).
//!
//! The walk costs what the slice holds, not what the config holds. Pure.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use cirrus_api::index::Index;
use cirrus_api::object::Obj;
use cirrus_proto::v1 as pb;
use serde_json::Value;

/// Forward refs followed from any sliced object.
const FOLLOW_REFS: [&str; 13] = [
    "virtual-network",
    "network-ipam",
    "network-policy",
    "security-group",
    "routing-instance",
    "route-target",
    "tag",
    "virtual-machine",
    "application-policy-set",
    "firewall-policy",
    "firewall-rule",
    "address-group",
    "service-group",
];

/// uuid -> object.
pub type Slice = HashMap<String, Arc<Obj>>;

/// The slice of the vrouter whose virtual-router is `vr_uuid`, with `vmis` placed on it.
pub fn compute<'a>(index: &Index, vr_uuid: &str, vmis: impl Iterator<Item = &'a String>) -> Slice {
    let mut out: Slice = HashMap::new();
    let mut queue: VecDeque<Arc<Obj>> = VecDeque::new();
    let mut leaves: HashSet<String> = HashSet::new();
    let push = |o: &Arc<Obj>, out: &mut Slice, queue: &mut VecDeque<Arc<Obj>>| {
        if !out.contains_key(&o.uuid) {
            out.insert(o.uuid.clone(), o.clone());
            queue.push_back(o.clone());
        }
    };
    for t in ["global-system-config", "global-vrouter-config"] {
        for o in index.of_type(t) {
            // Roots, not walked: their refs (bgp-routers, ...) are not the vrouter's business.
            out.insert(o.uuid.clone(), o.clone());
        }
    }
    if let Some(vr) = index.get_typed("virtual-router", vr_uuid) {
        out.insert(vr.uuid.clone(), vr.clone());
        for r in vr.refs().filter(|r| r.to_type == "virtual-machine") {
            if let Some(vm) = index.get(r.uuid) {
                push(vm, &mut out, &mut queue);
            }
        }
    }
    for u in vmis {
        if let Some(vmi) = index.get_typed("virtual-machine-interface", u) {
            push(vmi, &mut out, &mut queue);
        }
    }
    while let Some(o) = queue.pop_front() {
        for r in o.refs().filter(|r| FOLLOW_REFS.contains(&r.to_type)) {
            // A VM's other ports are not this vrouter's; a VM is reached only from its own.
            if let Some(t) = index.get(r.uuid) {
                push(t, &mut out, &mut queue);
            }
        }
        match o.type_name() {
            "virtual-machine-interface" => {
                for b in index.back_refs(&o.uuid) {
                    if matches!(b.type_name(), "instance-ip" | "floating-ip" | "alias-ip") {
                        push(b, &mut out, &mut queue);
                    }
                }
            }
            "floating-ip" | "alias-ip" | "floating-ip-pool" | "alias-ip-pool" => {
                if let Some(p) = o.parent.as_ref().and_then(|p| index.get(&p.uuid)) {
                    push(p, &mut out, &mut queue);
                }
            }
            "virtual-network" => {
                for c in index.children(&o.uuid) {
                    if matches!(c.type_name(), "routing-instance" | "access-control-list") {
                        push(c, &mut out, &mut queue);
                    }
                }
                // Logical routers with an interface in this network.
                for vmi in index
                    .back_refs(&o.uuid)
                    .filter(|b| b.type_name() == "virtual-machine-interface")
                {
                    for lr in index
                        .back_refs(&vmi.uuid)
                        .filter(|b| b.type_name() == "logical-router")
                    {
                        push(lr, &mut out, &mut queue);
                    }
                }
            }
            "security-group" => {
                for c in index.children(&o.uuid) {
                    if c.type_name() == "access-control-list" {
                        push(c, &mut out, &mut queue);
                    }
                }
            }
            "tag" => {
                for aps in index
                    .back_refs(&o.uuid)
                    .filter(|b| b.type_name() == "application-policy-set")
                {
                    push(aps, &mut out, &mut queue);
                }
            }
            "access-control-list" => {
                for name in acl_networks(&o.body) {
                    if let Some(vn) = index.by_fq_name("virtual-network", name) {
                        leaves.insert(vn.uuid.clone());
                    }
                }
            }
            _ => {}
        }
    }
    for u in leaves {
        if let Some(vn) = index.get(&u) {
            out.entry(u).or_insert_with(|| vn.clone());
        }
    }
    out
}

/// The network fq_names an ACL's rules name (`match_condition.{src,dst}_address.virtual_network`).
fn acl_networks(body: &serde_json::Map<String, Value>) -> Vec<&str> {
    let mut out = Vec::new();
    for rule in body
        .get("access_control_list_entries")
        .and_then(|e| e.get("acl_rule"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for side in ["src_address", "dst_address"] {
            if let Some(vn) = rule
                .pointer(&format!("/match_condition/{side}/virtual_network"))
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty() && *v != "any" && *v != "local")
            {
                out.push(vn);
            }
        }
    }
    out
}

/// The wire form of a sliced object.
pub fn to_wire(o: &Obj) -> pb::ConfigObject {
    pb::ConfigObject {
        r#type: o.type_name().to_string(),
        uuid: o.uuid.clone(),
        fq_name: o.fq_name.clone(),
        parent_type: o
            .parent
            .as_ref()
            .map(|p| p.type_name.to_string())
            .unwrap_or_default(),
        parent_uuid: o
            .parent
            .as_ref()
            .map(|p| p.uuid.clone())
            .unwrap_or_default(),
        body: serde_json::to_vec(&o.body).unwrap_or_default(),
        revision: o.revision,
    }
}

/// What changed between the slice a vrouter holds (uuid -> revision) and `next`: objects to
/// upsert (new or at another revision) and keys to delete. `held` becomes `next`'s.
pub fn diff(
    held: &mut HashMap<String, (&'static str, i64)>,
    next: &Slice,
) -> (Vec<pb::ConfigObject>, Vec<pb::ConfigKey>) {
    let mut upsert = Vec::new();
    for (u, o) in next {
        if held.get(u).map(|h| h.1) != Some(o.revision) {
            upsert.push(to_wire(o));
        }
    }
    let delete: Vec<pb::ConfigKey> = held
        .iter()
        .filter(|(u, _)| !next.contains_key(*u))
        .map(|(u, (t, _))| pb::ConfigKey {
            r#type: t.to_string(),
            uuid: u.clone(),
        })
        .collect();
    *held = next
        .iter()
        .map(|(u, o)| (u.clone(), (o.type_name(), o.revision)))
        .collect();
    (upsert, delete)
}
