//! Steering: which worker owns a packet, chosen from a hash that both directions of a flow
//! share, so a flow's forward and reverse entries live in one worker's flow table and
//! workers never share one. The runner (packet-io) hands each packet to the worker the
//! hash names; this module only computes the hash, from the packet as received and from a
//! flow key, and stays pure.
//!
//! The hash covers protocol, the two addresses and the two ports, ordered so that swapping
//! source and destination gives the same value. Overlay packets from the fabric are hashed
//! on their inner packet (the one the flow table keys). Fragments hash without ports, since
//! later fragments carry none. A NAT'd flow's reverse packets carry other addresses than
//! its forward ones; the runner learns their hash from the installed decision
//! ([`key_steer_hash`] of the reverse key) and steers them by a table.

use super::fabric::{Overlay, classify};
use super::parse::{Frag, parse_ip};
use crate::flow::FlowKey;
use crate::hash::mix;
use crate::tables::{IfIndex, InterfaceKind, Nexthop, Tables};
use crate::wire::{EtherType, be16};

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
/// unfragmented packet of that flow on the wire).
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
/// whichever worker received them.
pub fn steer_hash(t: &Tables, ingress: IfIndex, frame: &[u8]) -> Option<u64> {
    match &t.interface(ingress)?.kind {
        InterfaceKind::Virtual { .. } => ip_in_ethernet(frame, 0),
        InterfaceKind::Fabric { local_ip, .. } => match classify(frame, *local_ip).ok()? {
            Overlay::Vxlan(_, at) => ip_in_ethernet(frame, at),
            // What follows the label depends on its nexthop, as in the fabric path: an L3
            // label carries bare IP, a VRF-translate (L2) label an Ethernet frame.
            Overlay::Mpls(label, at) => match t.nexthop(t.label(label))? {
                Nexthop::Encap { .. } => ip_at(frame, at),
                Nexthop::VrfTranslate { .. } => ip_in_ethernet(frame, at),
                _ => None,
            },
        },
        _ => None,
    }
}

fn ip_in_ethernet(frame: &[u8], at: usize) -> Option<u64> {
    if frame.len() < at + ETH {
        return None;
    }
    match EtherType(be16(frame, at + 12)) {
        EtherType::IPV4 | EtherType::IPV6 => ip_at(frame, at + ETH),
        _ => None,
    }
}

fn ip_at(frame: &[u8], at: usize) -> Option<u64> {
    let ip = frame.get(at..)?;
    let v6 = match ip.first()? >> 4 {
        4 => false,
        6 => true,
        _ => return None,
    };
    let i = parse_ip(ip, v6).ok()?;
    let (sp, dp) = if i.frag != Frag::None || i.v6_fragment {
        (0, 0)
    } else {
        (i.sport, i.dport)
    };
    Some(symmetric_hash(i.proto, i.src, i.dst, sp, dp))
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
