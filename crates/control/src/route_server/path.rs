//! The paths the route server keeps per prefix: an agent's (one per vrouter that published the
//! prefix) and a BGP peer's (from the speaker's instance tables), and how a set of them becomes
//! the wire `Route` with its full, de-duplicated next-hop set.

use std::net::IpAddr;
use std::sync::Arc;

use cirrus_proto::convert::{Prefix, addr_to_wire};
use cirrus_proto::v1 as pb;

/// Up to four encapsulations in order of preference, packed (one octet each, 0 = none): a
/// path stores 4 octets instead of a Vec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Encaps([u8; 4]);

impl Encaps {
    /// What agents publish: MPLS over UDP, MPLS over GRE, VXLAN.
    pub const DEFAULT: Encaps = Encaps([1, 2, 3, 0]);
    /// A BGP route without a tunnel-encapsulation community: MPLS over GRE, as Contrail
    /// assumes for gateways.
    pub const GRE: Encaps = Encaps([2, 0, 0, 0]);

    /// From the wire list; unknown values and entries past the fourth are dropped.
    pub fn from_wire(list: &[i32]) -> Encaps {
        let mut e = [0u8; 4];
        let mut n = 0;
        for v in list {
            if n == 4 {
                break;
            }
            if let Ok(b) = u8::try_from(*v)
                && (1..=3).contains(&b)
                && !e[..n].contains(&b)
            {
                e[n] = b;
                n += 1;
            }
        }
        Encaps(e)
    }

    pub fn to_wire(self) -> Vec<i32> {
        self.0
            .iter()
            .take_while(|b| **b != 0)
            .map(|b| i32::from(*b))
            .collect()
    }

    pub fn iter(self) -> impl Iterator<Item = pb::Encapsulation> {
        self.0
            .into_iter()
            .take_while(|b| *b != 0)
            .filter_map(|b| pb::Encapsulation::try_from(i32::from(b)).ok())
    }

    pub fn push(&mut self, e: pb::Encapsulation) {
        let b = e as i32 as u8;
        if b == 0 || self.0.contains(&b) {
            return;
        }
        if let Some(slot) = self.0.iter_mut().find(|s| **s == 0) {
            *slot = b;
        }
    }

    pub fn is_empty(self) -> bool {
        self.0[0] == 0
    }
}

/// What the config says about the port behind an address (trusted: not taken from the agent).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteMeta {
    /// The virtual network's fq_name.
    pub origin_network: Arc<str>,
    pub security_groups: Vec<u32>,
    pub tags: Vec<u32>,
}

/// One vrouter's path for a prefix.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentPath {
    pub vrouter: u32,
    pub label: u32,
    pub vni: u32,
    pub encaps: Encaps,
    pub mac: Option<[u8; 6]>,
    pub meta: Arc<RouteMeta>,
    /// Kept from a session that ended (graceful restart) until republished or swept.
    pub stale: bool,
}

/// One BGP path for a prefix of an instance (learned from a peer, imported by target).
#[derive(Debug, Clone, PartialEq)]
pub struct BgpPath {
    pub next_hop: IpAddr,
    pub label: u32,
    pub vni: u32,
    pub encaps: Encaps,
    /// `bgp:<peer address>`.
    pub origin: Arc<str>,
}

/// What the route server knows of a vrouter when it builds next hops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VrouterInfo {
    pub hostname: Arc<str>,
    pub address: IpAddr,
    pub address_wire: Vec<u8>,
}

impl VrouterInfo {
    pub fn new(hostname: &str, address: IpAddr) -> VrouterInfo {
        VrouterInfo {
            hostname: hostname.into(),
            address,
            address_wire: addr_to_wire(address),
        }
    }
}

/// Builds the wire route of `prefix` from every agent path (each with its vrouter) and BGP
/// path that reaches it. Next hops with the same (address, label, vni) are sent once, and a
/// BGP path with the address and label of an agent path (the same vrouter's route, learned
/// again over iBGP from another controller) is dropped for the agent's. `None` when no path
/// is left.
pub fn build_route<'a>(
    prefix: Prefix,
    agent: impl Iterator<Item = (&'a AgentPath, &'a VrouterInfo)>,
    bgp: &[BgpPath],
) -> Option<pb::Route> {
    let mut nexthops: Vec<pb::Nexthop> = Vec::new();
    let mut meta: Option<&RouteMeta> = None;
    let mut all_stale = true;
    let mut seen: Vec<(IpAddr, u32, u32)> = Vec::new();
    let mut sgs: Vec<u32> = Vec::new();
    let mut tags: Vec<u32> = Vec::new();
    for (p, v) in agent {
        let key = (v.address, p.label, p.vni);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        all_stale &= p.stale;
        if meta.is_none() {
            meta = Some(&p.meta);
        }
        for s in &p.meta.security_groups {
            if !sgs.contains(s) {
                sgs.push(*s);
            }
        }
        for t in &p.meta.tags {
            if !tags.contains(t) {
                tags.push(*t);
            }
        }
        nexthops.push(pb::Nexthop {
            address: v.address_wire.clone(),
            label: p.label,
            vni: p.vni,
            encapsulations: p.encaps.to_wire(),
            mac: p.mac.map(|m| m.to_vec()).unwrap_or_default(),
            origin: v.hostname.to_string(),
        });
    }
    for b in bgp {
        let dup = seen.iter().any(|(a, l, v)| {
            *a == b.next_hop && ((b.label != 0 && *l == b.label) || *v == b.vni && b.label == 0)
        });
        if dup {
            continue;
        }
        seen.push((b.next_hop, b.label, b.vni));
        all_stale = false;
        nexthops.push(pb::Nexthop {
            address: addr_to_wire(b.next_hop),
            label: b.label,
            vni: b.vni,
            encapsulations: b.encaps.to_wire(),
            mac: Vec::new(),
            origin: b.origin.to_string(),
        });
    }
    if nexthops.is_empty() {
        return None;
    }
    sgs.sort_unstable();
    tags.sort_unstable();
    Some(pb::Route {
        key: Some(prefix.to_wire()),
        nexthops,
        origin_network: meta
            .map(|m| m.origin_network.to_string())
            .unwrap_or_default(),
        security_groups: sgs,
        tags,
        local_pref: 100,
        stale: all_stale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vr(name: &str, a: [u8; 4]) -> VrouterInfo {
        VrouterInfo::new(name, IpAddr::from(a))
    }

    fn agent(v: u32, label: u32) -> AgentPath {
        AgentPath {
            vrouter: v,
            label,
            vni: 5,
            encaps: Encaps::DEFAULT,
            mac: Some([2, 0, 0, 0, 0, 1]),
            meta: Arc::new(RouteMeta {
                origin_network: "d:p:vn".into(),
                security_groups: vec![8000001],
                tags: vec![],
            }),
            stale: false,
        }
    }

    #[test]
    fn encaps_pack_in_order_and_drop_unknowns_and_repeats() {
        let e = Encaps::from_wire(&[3, 9, 1, 3, -1, 2]);
        assert_eq!(e.to_wire(), vec![3, 1, 2]);
        assert_eq!(Encaps::DEFAULT.to_wire(), vec![1, 2, 3]);
        assert!(Encaps::from_wire(&[]).is_empty());
        let mut g = Encaps::default();
        g.push(pb::Encapsulation::Vxlan);
        g.push(pb::Encapsulation::Vxlan);
        assert_eq!(g.to_wire(), vec![3]);
    }

    #[test]
    fn next_hops_are_deduplicated_and_ibgp_copies_dropped() {
        let p = Prefix::host("10.0.0.3".parse().unwrap());
        let (a, b) = (vr("a", [198, 18, 0, 11]), vr("b", [198, 18, 0, 12]));
        let pa = agent(0, 20);
        let pb_ = agent(1, 21);
        let bgp = [
            // vrouter a's own route, learned back over iBGP from the other controller
            BgpPath {
                next_hop: a.address,
                label: 20,
                vni: 0,
                encaps: Encaps::DEFAULT,
                origin: "bgp:127.0.0.2".into(),
            },
            BgpPath {
                next_hop: IpAddr::from([198, 18, 0, 99]),
                label: 30,
                vni: 0,
                encaps: Encaps::GRE,
                origin: "bgp:127.0.0.2".into(),
            },
        ];
        let r = build_route(p, [(&pa, &a), (&pb_, &b), (&pa, &a)].into_iter(), &bgp).unwrap();
        let hops: Vec<(Vec<u8>, u32)> = r
            .nexthops
            .iter()
            .map(|n| (n.address.clone(), n.label))
            .collect();
        assert_eq!(
            hops,
            vec![
                (vec![198, 18, 0, 11], 20),
                (vec![198, 18, 0, 12], 21),
                (vec![198, 18, 0, 99], 30)
            ]
        );
        assert_eq!(r.origin_network, "d:p:vn");
        assert_eq!(r.nexthops[2].encapsulations, vec![2]);
        assert_eq!(r.nexthops[0].origin, "a");
        assert!(build_route(p, std::iter::empty(), &[]).is_none());
    }
}
