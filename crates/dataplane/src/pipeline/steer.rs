//! Steering: which worker owns a packet, chosen from a hash that both directions of a flow
//! share, so a flow's forward and reverse entries live in one worker's flow table and
//! workers never share one. The runner (packet-io) hands each packet to the worker the
//! hash names; this module only computes the hash, from the packet as received and from a
//! flow key, and stays pure.
//!
//! The hash covers protocol, the two addresses and the two ports, ordered so that swapping
//! source and destination gives the same value, with the ports after fat-flow aggregation
//! by the workload the flow belongs to (as its flow key has them: one aggregated flow, one
//! worker). Overlay packets from the fabric are hashed on their inner packet (the one the
//! flow table keys). A NAT'd flow's reverse packets carry other addresses than its forward
//! ones; the runner learns their hash from the installed decision ([`key_steer_hash`] of
//! the reverse key) and steers them by a table.
//!
//! Fragments: later fragments carry no ports. [`steer_hash`] (stateless) hashes every
//! fragment without ports, so a datagram's fragments stay together but its flow may also
//! live in the worker its unfragmented packets go to. [`steer_hash_tracking`] keeps the
//! first fragment's ports in a [`FragTable`] so the later fragments follow it to the
//! flow's own worker; a receiver owns one such table for the ports it polls (the fragments
//! of a datagram arrive on one port, in order).

use super::fabric::{Overlay, classify};
use super::frag::FragTable;
use super::parse::{Frag, parse_ip};
use crate::flow::FlowKey;
use crate::hash::mix;
use crate::tables::{IfIndex, Interface, InterfaceKind, Nexthop, Tables};
use crate::wire::{EtherType, MacAddr, be16, be32};

const ETH: usize = 14;

/// Direction-free hash of a flow's protocol, addresses and ports.
#[inline]
pub fn symmetric_hash(proto: u8, a: u128, b: u128, pa: u16, pb: u16) -> u64 {
    // Order the two endpoints so that (a, pa) and (b, pb) give the same input either way.
    let ((lo, plo), (hi, phi)) = if (a, pa) <= (b, pb) {
        ((a, pa), (b, pb))
    } else {
        ((b, pb), (a, pa))
    };
    let mut h = mix(lo as u64 ^ (lo >> 64) as u64 ^ proto as u64);
    h = mix(h ^ hi as u64 ^ ((hi >> 64) as u64).rotate_left(17));
    mix(h ^ ((plo as u64) << 16 | phi as u64))
}

/// The steering hash of packets that key to `k` (as [`steer_hash`] computes it for an
/// unfragmented packet of that flow on the wire; flow keys hold fat-flow ports already).
pub fn key_steer_hash(k: &FlowKey) -> u64 {
    symmetric_hash(
        k.proto().0,
        k.src_bits(),
        k.dst_bits(),
        k.sport(),
        k.dport(),
    )
}

/// The steering hash of a frame received on `ingress`, or `None` when it carries no flow
/// (ARP, non-overlay fabric traffic, malformed): such packets are trapped or dropped by
/// whichever worker received them. Fragments hash without ports.
pub fn steer_hash(t: &Tables, ingress: IfIndex, frame: &[u8]) -> Option<u64> {
    steer(t, ingress, frame, None)
}

/// [`steer_hash`], with a datagram's fragments steered by its flow: the first fragment's
/// ports are recorded in `frags` (when it has room; otherwise the datagram is steered
/// without ports, as by [`steer_hash`]) and its later fragments hashed with them. `now`
/// in seconds ages the records.
pub fn steer_hash_tracking(
    t: &Tables,
    ingress: IfIndex,
    frame: &[u8],
    frags: &mut FragTable,
    now: u32,
) -> Option<u64> {
    steer(t, ingress, frame, Some((frags, now)))
}

fn steer(
    t: &Tables,
    ingress: IfIndex,
    frame: &[u8],
    frags: Option<(&mut FragTable, u32)>,
) -> Option<u64> {
    let (owner, at) = locate(t, ingress, frame)?;
    let ip = frame.get(at..)?;
    let v6 = match ip.first()? >> 4 {
        4 => false,
        6 => true,
        _ => return None,
    };
    let i = parse_ip(ip, v6).ok()?;
    let key = || (i.src as u32, i.dst as u32, i.ident, i.proto);
    let ports = match (i.frag, frags) {
        _ if i.v6_fragment => None,
        (Frag::None, _) => Some((i.sport, i.dport)),
        (Frag::First, Some((f, now))) => f
            .record(key(), i.sport, i.dport, now)
            .then_some((i.sport, i.dport)),
        (Frag::Later, Some((f, now))) => f.ports(key(), now),
        (_, None) => None,
    };
    let (sp, dp) = match (ports, owner) {
        (Some((s, d)), Some(o)) => o.fat_ports(i.proto, s, d),
        (Some(p), None) => p,
        (None, _) => (0, 0),
    };
    Some(symmetric_hash(i.proto, i.src, i.dst, sp, dp))
}

/// Where the packet whose flow steers a frame starts, and the workload interface that
/// flow belongs to (whose fat-flow rules apply), when it can be told: the ingress
/// workload, or for the fabric the interface that the overlay delivers to.
fn locate<'t>(
    t: &'t Tables,
    ingress: IfIndex,
    frame: &[u8],
) -> Option<(Option<&'t Interface>, usize)> {
    let iface = t.interface(ingress)?;
    match &iface.kind {
        InterfaceKind::Virtual { .. } => Some((Some(iface), ip_in_ethernet(frame, 0)?)),
        InterfaceKind::Fabric { local_ip, .. } => match classify(frame, *local_ip).ok()? {
            Overlay::Vxlan(vni, at) => inner_frame(t, t.vni(vni), frame, at),
            // What follows the label depends on its nexthop, as in the fabric path: an L3
            // label carries bare IP, a VRF-translate (L2) label an Ethernet frame.
            Overlay::Mpls(label, at) => match t.nexthop(t.label(label))? {
                Nexthop::Encap { ifindex, .. } => Some((t.interface(*ifindex), at)),
                Nexthop::VrfTranslate { .. } => inner_frame(t, t.label(label), frame, at),
                _ => None,
            },
        },
        _ => None,
    }
}

/// An inner Ethernet frame at `at` for a VRF-translate nexthop: routed when addressed to
/// the vRouter MAC, bridged otherwise, to the workload the fabric path would deliver to.
fn inner_frame<'t>(
    t: &'t Tables,
    nh: u32,
    frame: &[u8],
    at: usize,
) -> Option<(Option<&'t Interface>, usize)> {
    let ip = ip_in_ethernet(frame, at)?;
    let owner = (|| {
        let &Nexthop::VrfTranslate { vrf } = t.nexthop(nh)? else {
            return None;
        };
        let v = t.vrf(vrf)?;
        let dmac = MacAddr(frame.get(at..at + 6)?.try_into().ok()?);
        let out = if dmac == t.vrouter_mac {
            match EtherType(be16(frame, at + 12)) {
                EtherType::IPV4 => v.fib4.lookup_v4(be32(frame.get(ip..ip + 20)?, 16)),
                _ => v.fib6.lookup_aligned(u128::from_be_bytes(
                    frame.get(ip + 24..ip + 40)?.try_into().ok()?,
                )),
            }
        } else {
            v.bridge_lookup(dmac)
        };
        match t.nexthop(out)? {
            Nexthop::Encap { ifindex, .. } => t.interface(*ifindex),
            _ => None,
        }
    })();
    Some((owner, ip))
}

/// The offset of the IP packet in an Ethernet frame at `at`.
fn ip_in_ethernet(frame: &[u8], at: usize) -> Option<usize> {
    if frame.len() < at + ETH {
        return None;
    }
    match EtherType(be16(frame, at + 12)) {
        EtherType::IPV4 | EtherType::IPV6 => Some(at + ETH),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::IpProtocol;
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn both_directions_hash_alike_and_keys_agree() {
        let a = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let b = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        let f = FlowKey::new(3, IpProtocol::UDP, a, b, 1000, 53);
        let r = FlowKey::new(7, IpProtocol::UDP, b, a, 53, 1000);
        assert_eq!(key_steer_hash(&f), key_steer_hash(&r));
        let other = FlowKey::new(3, IpProtocol::UDP, a, b, 1001, 53);
        assert_ne!(key_steer_hash(&f), key_steer_hash(&other));
        // Swapped ports alone are another flow.
        let swapped = FlowKey::new(3, IpProtocol::UDP, a, b, 53, 1000);
        assert_ne!(key_steer_hash(&f), key_steer_hash(&swapped));
    }
}
