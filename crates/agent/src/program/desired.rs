//! What the pipeline's tables should hold, computed from scratch from the local ports, the
//! config and the merged routes: interfaces (agent, fabric, one per port), VRFs (one per
//! routing instance a local port needs: its network's, its floating and alias IPs'),
//! nexthops by identity ([`NhKey`]), routes, bridge entries, MPLS labels and VNIs.
//! [`super::apply`] turns the difference from what is programmed into table changes.
//!
//! Routes for local addresses are known locally and programmed at once; the controller
//! echoes them back with this vrouter's own underlay address, which is recognised and
//! mapped to the local port by label, so a prefix carried by local and remote ports (an
//! active-active VIP) becomes one ECMP nexthop over both.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};

use cirrus_dataplane::tables::{FatFlow, IfIndex, Interface, InterfaceKind, Nexthop, TunnelEncap};
use cirrus_dataplane::wire::MacAddr;
use cirrus_proto::convert::Prefix;

use super::encap::{choose, preference};
use super::ids::Ids;
use crate::config::global::GlobalVrouter;
use crate::config::network::Network;
use crate::config::port::Port;
use crate::routes::Route;

/// This vrouter's own addresses and fixed interfaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub hostname: String,
    /// Tunnel endpoint (the fabric interface's address).
    pub underlay: Ipv4Addr,
    pub fabric_ifindex: IfIndex,
    pub fabric_name: String,
    pub fabric_mac: MacAddr,
    pub agent_ifindex: IfIndex,
    /// The MAC workloads see as their gateway's (Contrail's 00:00:5e:00:01:00).
    pub vrouter_mac: MacAddr,
}

/// The vrouter MAC Contrail uses.
pub const VROUTER_MAC: MacAddr = MacAddr([0x00, 0x00, 0x5e, 0x00, 0x01, 0x00]);
/// Interface index of the agent's port.
pub const AGENT_IFINDEX: IfIndex = 0;
/// Interface index of the fabric port.
pub const FABRIC_IFINDEX: IfIndex = 1;
/// First interface index of workload ports.
pub const FIRST_PORT_IFINDEX: IfIndex = 2;

/// A workload port with what it needs to be programmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPort {
    pub ifindex: IfIndex,
    /// The device name (tap or veth) on the compute node.
    pub name: String,
    pub label: u32,
    pub port: Port,
    pub network: Network,
    /// `false` after the port IPC's disable-port: programmed, but its routes and label
    /// withdrawn.
    pub enabled: bool,
}

/// Identity of a nexthop: what decides its id (the same identity keeps its id when its
/// content changes, e.g. a tunnel whose underlay MAC resolves).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NhKey {
    Discard,
    Receive,
    Encap(IfIndex),
    Tunnel {
        dst: Ipv4Addr,
        /// 0 MPLS over UDP, 1 MPLS over GRE, 2 VXLAN.
        kind: u8,
        /// Label or VNI.
        id: u32,
        inner_dmac: MacAddr,
    },
    Composite(Vec<NhKey>),
    VrfTranslate(u16),
}

impl NhKey {
    fn tunnel(dst: Ipv4Addr, e: TunnelEncap) -> NhKey {
        let (kind, id, inner_dmac) = match e {
            TunnelEncap::MplsOverUdp { label } => (0, label, MacAddr::ZERO),
            TunnelEncap::MplsOverGre { label } => (1, label, MacAddr::ZERO),
            TunnelEncap::Vxlan { vni, inner_dmac } => (2, vni, inner_dmac),
        };
        NhKey::Tunnel {
            dst,
            kind,
            id,
            inner_dmac,
        }
    }

    /// The tunnel encapsulation of a tunnel key.
    pub fn tunnel_encap(&self) -> Option<TunnelEncap> {
        match *self {
            NhKey::Tunnel {
                kind,
                id,
                inner_dmac,
                ..
            } => Some(match kind {
                0 => TunnelEncap::MplsOverUdp { label: id },
                1 => TunnelEncap::MplsOverGre { label: id },
                _ => TunnelEncap::Vxlan {
                    vni: id,
                    inner_dmac,
                },
            }),
            _ => None,
        }
    }
}

/// A nexthop's content; composites name their members by key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NhSpec {
    Plain(Nexthop),
    Composite(Vec<NhKey>),
}

/// Everything the tables should hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    /// VRF id -> routing instance.
    pub vrfs: BTreeMap<u16, String>,
    pub interfaces: BTreeMap<IfIndex, Interface>,
    pub nexthops: BTreeMap<NhKey, NhSpec>,
    pub routes: BTreeMap<(u16, Prefix), NhKey>,
    pub bridge: BTreeMap<(u16, MacAddr), NhKey>,
    pub labels: BTreeMap<u32, NhKey>,
    pub vnis: BTreeMap<u32, NhKey>,
    /// Underlay addresses of the tunnel endpoints in use (to resolve on the fabric).
    pub endpoints: BTreeSet<Ipv4Addr>,
    /// Problems met (no VRF id left, a route with no usable next hop), for logs and
    /// introspect.
    pub problems: Vec<String>,
}

/// What the desired state is computed from.
pub struct Inputs<'a> {
    pub me: &'a Identity,
    pub ports: &'a [LocalPort],
    /// Every network of the slice by uuid (floating and alias IPs name theirs).
    pub networks: &'a HashMap<String, Network>,
    /// Merged routes per routing instance.
    pub routes: &'a BTreeMap<String, BTreeMap<Prefix, Route>>,
    /// Underlay MAC per tunnel endpoint (the endpoint's own, or its gateway's).
    pub neighbours: &'a HashMap<Ipv4Addr, MacAddr>,
    pub global: &'a GlobalVrouter,
}

fn host_len(a: IpAddr) -> u8 {
    if a.is_ipv4() { 32 } else { 128 }
}

/// Computes the desired tables; VRF ids are allocated in `vrf_ids` (released by the
/// caller for instances no longer present, once applied).
pub fn build(inp: &Inputs<'_>, vrf_ids: &mut Ids<String>) -> Desired {
    let me = inp.me;
    let mut d = Desired::default();
    d.interfaces.insert(
        me.agent_ifindex,
        Interface {
            ifindex: me.agent_ifindex,
            name: "agent".into(),
            mac: me.vrouter_mac,
            kind: InterfaceKind::Agent,
            flow_limit: 0,
            fat_flows: Vec::new(),
        },
    );
    d.interfaces.insert(
        me.fabric_ifindex,
        Interface {
            ifindex: me.fabric_ifindex,
            name: me.fabric_name.clone(),
            mac: me.fabric_mac,
            kind: InterfaceKind::Fabric {
                local_ip: me.underlay,
                gateway_mac: MacAddr::ZERO,
            },
            flow_limit: 0,
            fat_flows: Vec::new(),
        },
    );

    // The networks local ports need, with their VRF ids.
    let mut nets: BTreeMap<String, (u16, &Network)> = BTreeMap::new();
    let mut need = |d: &mut Desired,
                    n: &'_ Network,
                    nets: &mut BTreeMap<String, (u16, &Network)>|
     -> Option<u16> {
        if let Some((v, _)) = nets.get(&n.uuid) {
            return Some(*v);
        }
        match vrf_ids.id(&n.instance) {
            Some(v) => {
                d.vrfs.insert(v as u16, n.instance.clone());
                Some(v as u16)
            }
            None => {
                d.problems
                    .push(format!("no VRF id left for {}", n.instance));
                None
            }
        }
    };
    // Paths to local ports: (vrf, prefix) -> Encap keys.
    let mut local: BTreeMap<(u16, Prefix), BTreeSet<NhKey>> = BTreeMap::new();
    let mut label_port: HashMap<u32, IfIndex> = HashMap::new();
    for lp in inp.ports {
        let Some(vrf) = need(&mut d, &lp.network, &mut nets) else {
            continue;
        };
        nets.insert(lp.network.uuid.clone(), (vrf, &lp.network));
        let flow_limit = if lp.port.max_flows > 0 {
            lp.port.max_flows
        } else {
            lp.network.max_flows
        };
        d.interfaces.insert(
            lp.ifindex,
            Interface {
                ifindex: lp.ifindex,
                name: lp.name.clone(),
                mac: lp.port.mac,
                kind: InterfaceKind::Virtual {
                    vrf,
                    ips: lp.port.own_addresses(),
                    policy: lp.port.policy_enabled,
                },
                flow_limit,
                fat_flows: lp
                    .port
                    .fat_flows
                    .iter()
                    .map(|&(proto, port)| FatFlow { proto, port })
                    .collect(),
            },
        );
        let key = NhKey::Encap(lp.ifindex);
        d.nexthops.insert(
            key.clone(),
            NhSpec::Plain(Nexthop::Encap {
                ifindex: lp.ifindex,
                dmac: lp.port.mac,
                smac: me.vrouter_mac,
            }),
        );
        if !lp.enabled {
            continue;
        }
        d.labels.insert(lp.label, key.clone());
        label_port.insert(lp.label, lp.ifindex);
        d.bridge.insert((vrf, lp.port.mac), key.clone());
        for a in lp.port.own_addresses() {
            local
                .entry((vrf, Prefix::host(a)))
                .or_default()
                .insert(key.clone());
        }
        for p in &lp.port.allowed_pairs {
            local
                .entry((vrf, p.prefix))
                .or_default()
                .insert(key.clone());
        }
        for f in &lp.port.floating_ips {
            let Some(n) = inp.networks.get(&f.network) else {
                d.problems.push(format!(
                    "floating IP {}: network {} not in the slice",
                    f.addr, f.network
                ));
                continue;
            };
            let Some(fv) = need(&mut d, n, &mut nets) else {
                continue;
            };
            nets.insert(n.uuid.clone(), (fv, n));
            local
                .entry((fv, Prefix::host(f.addr)))
                .or_default()
                .insert(key.clone());
        }
        for a in &lp.port.alias_ips {
            let Some(n) = inp.networks.get(&a.network) else {
                continue;
            };
            let Some(av) = need(&mut d, n, &mut nets) else {
                continue;
            };
            nets.insert(n.uuid.clone(), (av, n));
            local
                .entry((av, Prefix::host(a.addr)))
                .or_default()
                .insert(key.clone());
        }
    }

    // Per network: gateway and DNS addresses answered by the agent, the VNI.
    let mut receive = false;
    for (vrf, n) in nets.values() {
        for s in &n.subnets {
            for a in [s.gateway, s.dns_server].into_iter().flatten() {
                let p = Prefix {
                    addr: a,
                    len: host_len(a),
                };
                if !local.contains_key(&(*vrf, p)) {
                    d.routes.insert((*vrf, p), NhKey::Receive);
                    receive = true;
                }
            }
        }
        if n.vni > 0 && !d.vnis.contains_key(&n.vni) {
            let k = NhKey::VrfTranslate(*vrf);
            d.nexthops.insert(
                k.clone(),
                NhSpec::Plain(Nexthop::VrfTranslate { vrf: *vrf }),
            );
            d.vnis.insert(n.vni, k);
        }
    }
    if receive {
        d.nexthops.insert(
            NhKey::Receive,
            NhSpec::Plain(Nexthop::Receive {
                ifindex: me.agent_ifindex,
            }),
        );
    }

    // Routes from the controllers, merged with the local paths.
    for (vrf, n) in nets.values() {
        let Some(routes) = inp.routes.get(&n.instance) else {
            continue;
        };
        let order = preference(&inp.global.encapsulations, n.forwarding_mode);
        for (p, r) in routes {
            let mut members: BTreeSet<NhKey> = local.remove(&(*vrf, *p)).unwrap_or_default();
            for nh in &r.nexthops {
                if nh.address == me.underlay {
                    // Our own path, echoed back: the local port it names (a port gone
                    // since has no label here and the path is skipped).
                    if let Some(&i) = label_port.get(&nh.label) {
                        members.insert(NhKey::Encap(i));
                    }
                    continue;
                }
                let inner = match &nh.mac {
                    Some(m) if nh.origin.starts_with("bgp:") => *m,
                    _ => me.vrouter_mac,
                };
                let Some(e) = choose(&order, nh, inner) else {
                    d.problems.push(format!(
                        "{} {p}: next hop {} has no encapsulation in common",
                        n.instance, nh.address
                    ));
                    continue;
                };
                let key = NhKey::tunnel(nh.address, e);
                d.endpoints.insert(nh.address);
                d.nexthops
                    .entry(key.clone())
                    .or_insert_with(|| tunnel_spec(me, nh.address, e, inp.neighbours));
                members.insert(key);
                // A remote workload's MAC, for frames bridged to it.
                if p.len == host_len(p.addr)
                    && let (Some(mac), true) = (nh.mac, nh.vni > 0 && r.nexthops.len() == 1)
                {
                    let vx = TunnelEncap::Vxlan {
                        vni: nh.vni,
                        inner_dmac: mac,
                    };
                    let bk = NhKey::tunnel(nh.address, vx);
                    d.nexthops
                        .entry(bk.clone())
                        .or_insert_with(|| tunnel_spec(me, nh.address, vx, inp.neighbours));
                    d.bridge.entry((*vrf, mac)).or_insert(bk);
                }
            }
            if let Some(k) = group(&mut d, members) {
                d.routes.insert((*vrf, *p), k);
            }
        }
    }
    // Local paths the controllers have not sent (yet).
    for ((vrf, p), members) in local {
        if let Some(k) = group(&mut d, members) {
            d.routes.insert((vrf, p), k);
        }
    }
    d
}

/// One key for a set of paths: the path itself, or a composite (ECMP) of them.
fn group(d: &mut Desired, members: BTreeSet<NhKey>) -> Option<NhKey> {
    match members.len() {
        0 => None,
        1 => members.into_iter().next(),
        _ => {
            let m: Vec<NhKey> = members.into_iter().collect();
            let k = NhKey::Composite(m.clone());
            d.nexthops.insert(k.clone(), NhSpec::Composite(m));
            Some(k)
        }
    }
}

/// A tunnel nexthop; one whose underlay MAC is not known yet discards (counted) until
/// the fabric resolves it.
fn tunnel_spec(
    me: &Identity,
    dst: Ipv4Addr,
    encap: TunnelEncap,
    neighbours: &HashMap<Ipv4Addr, MacAddr>,
) -> NhSpec {
    match neighbours.get(&dst) {
        Some(&dmac) => NhSpec::Plain(Nexthop::Tunnel {
            encap,
            src_ip: me.underlay,
            dst_ip: dst,
            fabric_if: me.fabric_ifindex,
            dmac,
            smac: me.fabric_mac,
        }),
        None => NhSpec::Plain(Nexthop::Discard),
    }
}
