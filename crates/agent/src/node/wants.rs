//! What the agent wants of the controllers, from the ports it serves: the routing
//! instances they need (their networks', their floating and alias IPs' networks'), the
//! config of the ports the port IPC added, and the local routes to publish, one per
//! address with exactly one next hop (this vrouter, the port's label, the network's VNI,
//! every encapsulation it takes, the port's MAC).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cirrus_proto::convert::Prefix;

use crate::channel::Want;
use crate::config::global::DEFAULT_ENCAPS;
use crate::config::network::Network;
use crate::derive::{Derived, Registration};
use crate::program::Identity;
use crate::routes::{NextHop, Route};

fn route(
    me: &Identity,
    p: Prefix,
    label: u32,
    n: &Network,
    lp: &crate::program::LocalPort,
    sgs: &[u32],
) -> Route {
    Route {
        prefix: p,
        nexthops: vec![NextHop {
            address: me.underlay,
            label,
            vni: n.vni,
            encaps: DEFAULT_ENCAPS.to_vec(),
            mac: Some(lp.port.mac),
            origin: me.hostname.clone(),
        }],
        origin_network: n.fq_name.clone(),
        security_groups: sgs.to_vec(),
        tags: lp.port.tags.clone(),
        local_pref: 100,
    }
}

/// The wants for `derived` (`ready`: the config slice is complete).
pub fn wants(
    me: &Identity,
    derived: &Derived,
    regs: &[Registration],
    sg_ids: &HashMap<String, u32>,
    ready: bool,
) -> Want {
    let mut instances = BTreeSet::new();
    let mut publish: BTreeMap<String, BTreeMap<Prefix, Route>> = BTreeMap::new();
    for lp in &derived.ports {
        let sgs: Vec<u32> = lp
            .port
            .security_groups
            .iter()
            .filter_map(|u| sg_ids.get(u).copied())
            .collect();
        let n = &lp.network;
        instances.insert(n.instance.clone());
        let mut add = |inst: &str, r: Route| {
            publish
                .entry(inst.to_string())
                .or_default()
                .insert(r.prefix, r);
        };
        let mut fip_instances = Vec::new();
        for f in &lp.port.floating_ips {
            if let Some(fnet) = derived.networks.get(&f.network) {
                instances.insert(fnet.instance.clone());
                fip_instances.push((fnet, f.addr));
            }
        }
        for a in &lp.port.alias_ips {
            if let Some(anet) = derived.networks.get(&a.network) {
                instances.insert(anet.instance.clone());
                fip_instances.push((anet, a.addr));
            }
        }
        if !lp.enabled {
            continue;
        }
        for ip in &lp.port.ips {
            add(
                &n.instance,
                route(me, Prefix::host(ip.addr), lp.label, n, lp, &sgs),
            );
        }
        for p in &lp.port.allowed_pairs {
            add(&n.instance, route(me, p.prefix, lp.label, n, lp, &sgs));
        }
        for (fnet, addr) in fip_instances {
            add(
                &fnet.instance,
                route(me, Prefix::host(addr), lp.label, fnet, lp, &sgs),
            );
        }
    }
    Want {
        instances,
        publish,
        config_vmis: regs.iter().map(|r| r.uuid.clone()).collect(),
        ready,
    }
}
