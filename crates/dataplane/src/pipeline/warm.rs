//! Cache warming for large flow tables. Before a batch is processed, the flow keys of its
//! packets are computed and their index words, then their entries, are read in two passes
//! of independent loads, so the cache misses of a whole batch overlap instead of each
//! packet waiting for its own in turn. Safe Rust has no prefetch instruction; plain loads
//! folded into a black-boxed value do the same job. Small tables (cache-resident) skip it.

use super::Worker;
use super::fabric::{Overlay, classify};
use super::parse::{Frag, parse_ip};
use crate::flow::FlowKey;
use crate::packet::PacketBuf;
use crate::tables::{IfIndex, Interface, InterfaceKind, Nexthop, Tables};
use crate::wire::{EtherType, EthernetFrame};

/// Flow entries above which warming pays for its second parse of each packet.
pub(super) const WARM_MIN_FLOWS: usize = 1 << 16;

pub(super) fn warm_batch(w: &Worker, t: &Tables, ingress: IfIndex, pkts: &[PacketBuf]) {
    let Some(iface) = t.interface(ingress) else {
        return;
    };
    let mut hashes = [0u64; 32];
    for chunk in pkts.chunks(32) {
        for (h, p) in hashes.iter_mut().zip(chunk) {
            *h = key_hash(iface, t, p.data()).unwrap_or(0);
        }
        warm_hashes(w, t, &hashes[..chunk.len()]);
    }
}

/// Warms the flow index words, then the entries, then the pinned nexthops of up to 32
/// flow-key hashes (0 for packets without a flow lookup: slot 0 is warmed, harmlessly).
#[inline]
pub(super) fn warm_hashes(w: &Worker, t: &Tables, hashes: &[u64]) {
    // Tight loops of independent loads: as many misses in flight as the core allows.
    let mut acc = 0u64;
    for h in hashes {
        acc ^= w.flows.warm_index(*h);
    }
    // The index words must be in before their entries can be found.
    let acc = std::hint::black_box(acc);
    let mut nhs = [0u32; 32];
    for (nh, h) in nhs.iter_mut().zip(hashes) {
        *nh = w.flows.warm_entry(*h);
    }
    // Then the pinned nexthops (both lines: the kind and the prebuilt headers).
    let mut acc2 = 0u64;
    for nh in &nhs[..hashes.len().min(32)] {
        if let Some(e) = t.nh_entry(*nh) {
            acc2 ^= matches!(e.nh, Nexthop::Tunnel { .. }) as u64
                ^ e.encap.as_ref().map_or(0, |x| x.len() as u64);
        }
    }
    std::hint::black_box(acc ^ acc2);
}

/// The flow-key hash the pipeline will look up for this frame, when it will look one up.
pub(super) fn key_hash(iface: &Interface, t: &Tables, data: &[u8]) -> Option<u64> {
    let (vrf, ip, owner) = match iface.kind {
        InterfaceKind::Virtual {
            vrf, policy: true, ..
        } => (vrf, data.get(14..)?, iface),
        InterfaceKind::Fabric { local_ip, .. } => {
            let Ok(Overlay::Mpls(label, at)) = classify(data, local_ip) else {
                return None;
            };
            let Some(Nexthop::Encap { ifindex, .. }) = t.nexthop(t.label(label)) else {
                return None;
            };
            let dst = t.interface(*ifindex)?;
            match dst.kind {
                InterfaceKind::Virtual {
                    vrf, policy: true, ..
                } => (vrf, data.get(at..)?, dst),
                _ => return None,
            }
        }
        _ => return None,
    };
    let v6 = match iface.kind {
        InterfaceKind::Virtual { .. } => match EthernetFrame::new_checked(data).ok()?.ethertype() {
            EtherType::IPV4 => false,
            EtherType::IPV6 => true,
            _ => return None,
        },
        _ => ip.first()? >> 4 == 6,
    };
    let i = parse_ip(ip, v6).ok()?;
    if i.frag == Frag::Later {
        return None;
    }
    let (sport, dport) = owner.fat_ports(i.proto, i.sport, i.dport);
    Some(FlowKey::from_parts(vrf, i.proto, i.src, i.dst, sport, dport, v6).hash())
}
