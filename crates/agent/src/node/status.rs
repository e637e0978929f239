//! The node's state as introspect shows it, rebuilt after every recompute and swapped in
//! whole: controller sessions, the config slice in use, ports, VRFs with their routes as
//! programmed, underlay neighbours, and what could not be done.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::Node;
use crate::channel::Want;
use crate::channel::session::{Counters, State};
use crate::derive::Derived;
use crate::program::NhKey;
use crate::routes::rib::RibCounters;

#[derive(Debug, Clone, Serialize)]
pub struct ControllerStatus {
    pub index: usize,
    pub address: String,
    pub state: State,
    pub counters: Counters,
    pub last_error: Option<String>,
    pub subscribed: Vec<String>,
    pub routes_published: usize,
    /// Routes held from this controller: fresh, and stale (kept from a lost session).
    pub routes_received: usize,
    pub routes_stale: usize,
    /// Objects of the slice being received (until end-of-config).
    pub config_building: Option<usize>,
    /// Objects of the last complete slice.
    pub config_complete: Option<usize>,
    pub notices: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PortStatus {
    pub uuid: String,
    /// The port's fq_name, `:`-joined, once its config arrived (for the per-interface
    /// counters, `crate::stats_export`; not shown by introspect).
    #[serde(skip)]
    pub fq_name: Option<String>,
    pub device: String,
    pub ifindex: u32,
    pub label: u32,
    pub enabled: bool,
    pub attached: bool,
    pub device_error: Option<String>,
    /// Why it is not programmed yet (config missing or unreadable).
    pub waiting: Option<String>,
    pub network: Option<String>,
    pub instance: Option<String>,
    pub vrf: Option<u16>,
    pub mac: Option<String>,
    pub addresses: Vec<String>,
    pub floating_ips: Vec<String>,
    pub security_groups: Vec<String>,
    pub tags: Vec<u32>,
    pub policy: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteStatus {
    pub prefix: String,
    pub nexthop: String,
    pub nexthop_id: Option<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VrfStatus {
    pub id: u16,
    pub instance: String,
    pub routes: Vec<RouteStatus>,
}

/// Everything introspect shows of the control side.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    pub hostname: String,
    pub underlay: String,
    pub generation: u64,
    pub ready: bool,
    pub controllers: Vec<ControllerStatus>,
    pub active_config: Option<usize>,
    pub config_revision: i64,
    pub config_objects: usize,
    pub ports: Vec<PortStatus>,
    pub vrfs: Vec<VrfStatus>,
    pub neighbours: BTreeMap<String, String>,
    pub subscriptions: Vec<String>,
    pub problems: Vec<String>,
    pub programming_errors: Vec<String>,
    pub rib: RibCounters,
    pub labels: BTreeMap<String, u32>,
    /// Programmed nexthops: id, what it is, and its content in the tables.
    pub nexthops: Vec<NexthopStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NexthopStatus {
    pub id: Option<u32>,
    pub nexthop: String,
    pub programmed: String,
}

/// A nexthop in words.
pub fn describe(k: &NhKey, names: &BTreeMap<u32, String>) -> String {
    match k {
        NhKey::Discard => "discard".into(),
        NhKey::Receive => "agent (receive)".into(),
        NhKey::Encap(i) => format!(
            "interface {i} ({})",
            names.get(i).map(String::as_str).unwrap_or("?")
        ),
        NhKey::Tunnel { dst, kind, id, .. } => {
            let e = match kind {
                0 => "MPLSoUDP label",
                1 => "MPLSoGRE label",
                _ => "VXLAN vni",
            };
            format!("{e} {id} to {dst}")
        }
        NhKey::Composite(m) => format!(
            "ecmp [{}]",
            m.iter()
                .map(|x| describe(x, names))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        NhKey::VrfTranslate(v) => format!("vrf {v}"),
    }
}

impl Node {
    pub(super) fn publish_status(&self, derived: &Derived, want: &Want) {
        let cur = self.programmer.current();
        let names: BTreeMap<u32, String> = cur
            .interfaces
            .iter()
            .map(|(i, x)| (*i, x.name.clone()))
            .collect();
        let mut vrfs: Vec<VrfStatus> = cur
            .vrfs
            .iter()
            .map(|(id, inst)| VrfStatus {
                id: *id,
                instance: inst.clone(),
                routes: Vec::new(),
            })
            .collect();
        for ((v, p), k) in &cur.routes {
            if let Some(vs) = vrfs.iter_mut().find(|x| x.id == *v) {
                vs.routes.push(RouteStatus {
                    prefix: p.to_string(),
                    nexthop: describe(k, &names),
                    nexthop_id: self.programmer.nh_id(k),
                });
            }
        }
        let vrf_of = |inst: &str| cur.vrfs.iter().find(|(_, i)| *i == inst).map(|(v, _)| *v);
        let ports = self
            .regs
            .values()
            .map(|r| {
                let lp = derived.ports.iter().find(|p| p.port.uuid == r.uuid);
                PortStatus {
                    uuid: r.uuid.clone(),
                    fq_name: lp.map(|p| p.port.fq_name.clone()),
                    device: r.name.clone(),
                    ifindex: r.ifindex,
                    label: r.label,
                    enabled: r.enabled,
                    attached: self.ports.attached.contains_key(&r.ifindex),
                    device_error: self.ports.pending.get(&r.ifindex).map(|(_, e)| e.clone()),
                    waiting: self
                        .waiting
                        .iter()
                        .find(|(u, _)| *u == r.uuid)
                        .map(|(_, w)| w.clone()),
                    network: lp.map(|p| p.network.fq_name.clone()),
                    instance: lp.map(|p| p.network.instance.clone()),
                    vrf: lp.and_then(|p| vrf_of(&p.network.instance)),
                    mac: lp.map(|p| p.port.mac.to_string()),
                    addresses: lp
                        .map(|p| {
                            p.port
                                .own_addresses()
                                .iter()
                                .map(|a| a.to_string())
                                .collect()
                        })
                        .unwrap_or_default(),
                    floating_ips: lp
                        .map(|p| {
                            p.port
                                .floating_ips
                                .iter()
                                .map(|f| f.addr.to_string())
                                .collect()
                        })
                        .unwrap_or_default(),
                    security_groups: lp
                        .map(|p| p.port.security_groups.clone())
                        .unwrap_or_default(),
                    tags: lp.map(|p| p.port.tags.clone()).unwrap_or_default(),
                    policy: lp.is_some_and(|p| p.port.policy_enabled),
                }
            })
            .collect();
        let active = self.active.and_then(|a| self.slots[a].complete.as_ref());
        let s = Status {
            hostname: self.me.hostname.clone(),
            underlay: self.me.underlay.to_string(),
            generation: self.generation,
            ready: want.ready,
            controllers: self
                .slots
                .iter()
                .map(|s| ControllerStatus {
                    index: s.session.index,
                    address: s.session.address.clone(),
                    state: s.session.state().clone(),
                    counters: s.session.counters.clone(),
                    last_error: s.session.last_error.clone(),
                    subscribed: s.session.subscribed().iter().cloned().collect(),
                    routes_published: s.session.published().values().map(|m| m.len()).sum(),
                    routes_received: self.rib.held_total(s.session.index).0,
                    routes_stale: self.rib.held_total(s.session.index).1,
                    config_building: s.building.as_ref().map(|b| b.len()),
                    config_complete: s.complete.as_ref().map(|b| b.len()),
                    notices: s
                        .notices
                        .iter()
                        .map(|n| format!("{}: {}", n.code, n.message))
                        .collect(),
                })
                .collect(),
            active_config: self.active,
            config_revision: active.map(|s| s.revision()).unwrap_or(0),
            config_objects: active.map(|s| s.len()).unwrap_or(0),
            ports,
            vrfs,
            neighbours: self
                .neighbours
                .table()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            subscriptions: want.instances.iter().cloned().collect(),
            problems: self.problems.clone(),
            programming_errors: self.programmer.errors().to_vec(),
            rib: self.rib.counters,
            labels: self.labels.all().clone(),
            nexthops: cur
                .nexthops
                .iter()
                .map(|(k, spec)| NexthopStatus {
                    id: self.programmer.nh_id(k),
                    nexthop: describe(k, &names),
                    programmed: match spec {
                        crate::program::NhSpec::Plain(n) => format!("{n:?}"),
                        crate::program::NhSpec::Composite(m) => format!("composite of {}", m.len()),
                    },
                })
                .collect(),
        };
        self.status.store(Arc::new(s));
    }
}
