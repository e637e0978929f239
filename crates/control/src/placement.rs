//! Which virtual-machine-interfaces are on which vrouter (the roots of its config slice and
//! the basis of the trust check on the routes it publishes). A VMI is placed on vrouter V when
//! (a) V's virtual-router refs the VMI's virtual-machine, or (b) the VMI's
//! `virtual_machine_interface_bindings` has `host_id` = V's hostname (Neutron's
//! `binding:host_id`), or (c) V asked for it (`ConfigSubscribe`, port IPC) and neither (a) nor
//! (b) places it on another vrouter. Pure: one pass over the index per config revision.

use std::collections::{BTreeSet, HashMap, HashSet};

use cirrus_api::index::Index;
use serde_json::Value;

/// The fq_name of the virtual-router of `hostname`.
pub fn virtual_router_fq(hostname: &str) -> String {
    format!("{}:{hostname}", crate::bgp_config::GLOBAL_SYSTEM_CONFIG)
}

/// hostname -> VMI uuids placed on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    pub by_host: HashMap<String, BTreeSet<String>>,
}

/// The `host_id` of a VMI's bindings (`{key_value_pair: [{key, value}]}`).
pub fn host_id(vmi: &serde_json::Map<String, Value>) -> Option<&str> {
    vmi.get("virtual_machine_interface_bindings")?
        .get("key_value_pair")?
        .as_array()?
        .iter()
        .find(|kv| kv.get("key").and_then(Value::as_str) == Some("host_id"))?
        .get("value")?
        .as_str()
        .filter(|s| !s.is_empty())
}

impl Placement {
    /// Places every VMI by rules (a) and (b), then the `asked` ones (rule (c)) not placed
    /// elsewhere.
    pub fn compute(index: &Index, asked: &HashMap<String, BTreeSet<String>>) -> Placement {
        let mut by_host: HashMap<String, BTreeSet<String>> = HashMap::new();
        let mut placed: HashSet<String> = HashSet::new();
        // (a): virtual-router -> virtual-machine <- virtual-machine-interface.
        for vr in index.of_type("virtual-router") {
            let host = vr.name().to_string();
            for r in vr.refs().filter(|r| r.to_type == "virtual-machine") {
                for vmi in index
                    .back_refs(r.uuid)
                    .filter(|o| o.type_name() == "virtual-machine-interface")
                {
                    by_host
                        .entry(host.clone())
                        .or_default()
                        .insert(vmi.uuid.clone());
                    placed.insert(vmi.uuid.clone());
                }
            }
        }
        // (b): bindings' host_id.
        for vmi in index.of_type("virtual-machine-interface") {
            if let Some(h) = host_id(&vmi.body) {
                by_host
                    .entry(h.to_string())
                    .or_default()
                    .insert(vmi.uuid.clone());
                placed.insert(vmi.uuid.clone());
            }
        }
        // (c): asked for, and not placed by the config anywhere.
        for (host, vmis) in asked {
            for u in vmis {
                if !placed.contains(u) && index.get_typed("virtual-machine-interface", u).is_some()
                {
                    by_host.entry(host.clone()).or_default().insert(u.clone());
                }
            }
        }
        Placement { by_host }
    }

    pub fn of(&self, hostname: &str) -> impl Iterator<Item = &String> {
        self.by_host.get(hostname).into_iter().flatten()
    }
}
