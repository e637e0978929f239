//! From the config slice, the ports registered on this vrouter and the merged routes to
//! the two things the agent keeps current: the pipeline's desired tables and the flow
//! setup snapshot. A port whose config is not (yet) in the slice, or does not read, is
//! left out and named; the others are programmed.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use cirrus_dataplane::tables::IfIndex;
use cirrus_dataplane::wire::MacAddr;
use cirrus_proto::convert::Prefix;

use crate::config::global::global_vrouter;
use crate::config::network::{Network, networks};
use crate::config::{ConfigStore, port};
use crate::flow_context::{self, FlowContext};
use crate::program::ids::Ids;
use crate::program::{Desired, Identity, Inputs, LocalPort, build};
use crate::routes::Route;

/// A port this vrouter serves (from the port IPC, kept in the state dir).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Registration {
    /// The virtual-machine-interface uuid.
    pub uuid: String,
    pub ifindex: IfIndex,
    /// The device (tap or veth) name on this node.
    pub name: String,
    pub label: u32,
    pub enabled: bool,
}

/// Ports and networks as they read now.
#[derive(Debug, Clone, Default)]
pub struct Derived {
    pub ports: Vec<LocalPort>,
    pub networks: HashMap<String, Network>,
    /// Registered ports left out, with why.
    pub waiting: Vec<(String, String)>,
}

/// Reads the registered ports and every network of the slice.
pub fn derive(store: &ConfigStore, regs: &[Registration]) -> Derived {
    let (nets, bad) = networks(store);
    for e in bad {
        tracing::warn!(error = %e, "network not usable");
    }
    let networks: HashMap<String, Network> =
        nets.into_iter().map(|n| (n.uuid.clone(), n)).collect();
    let mut d = Derived {
        networks,
        ..Derived::default()
    };
    for r in regs {
        let p = match port::port(store, &r.uuid) {
            Ok(p) => p,
            Err(e) => {
                d.waiting.push((r.uuid.clone(), e.to_string()));
                continue;
            }
        };
        let Some(n) = d.networks.get(&p.network) else {
            d.waiting.push((
                r.uuid.clone(),
                format!("network {} is not in the slice", p.network),
            ));
            continue;
        };
        d.ports.push(LocalPort {
            ifindex: r.ifindex,
            name: r.name.clone(),
            label: r.label,
            port: p,
            network: n.clone(),
            enabled: r.enabled,
        });
    }
    d
}

/// The tables and the flow snapshot for `derived`.
pub struct Compiled {
    pub desired: Desired,
    pub context: FlowContext,
}

/// Computes both; VRF ids come from (and are released back to) `vrf_ids`.
#[allow(clippy::too_many_arguments)]
pub fn compile(
    store: &ConfigStore,
    derived: &Derived,
    routes: &BTreeMap<String, BTreeMap<Prefix, Route>>,
    me: &Identity,
    neighbours: &HashMap<Ipv4Addr, MacAddr>,
    vrf_ids: &mut Ids<String>,
    generation: u64,
) -> Compiled {
    let global = global_vrouter(store);
    let desired = build(
        &Inputs {
            me,
            ports: &derived.ports,
            networks: &derived.networks,
            routes,
            neighbours,
            global: &global,
        },
        vrf_ids,
    );
    vrf_ids.retain(|i| desired.vrfs.values().any(|v| v == i));
    let vrfs: BTreeMap<String, u16> = desired
        .vrfs
        .iter()
        .map(|(id, i)| (i.clone(), *id))
        .collect();
    let context = flow_context::build(&flow_context::ContextInputs {
        store,
        ports: &derived.ports,
        networks: &derived.networks,
        vrfs: &vrfs,
        routes,
        fabric_ifindex: me.fabric_ifindex,
        underlay: me.underlay,
        generation,
    });
    Compiled { desired, context }
}
