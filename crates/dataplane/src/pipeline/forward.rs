//! Forwarding after the flow stage, shared by every path: route resolution (FIB lookup or
//! the flow's pinned nexthop, ECMP member choice), and output through a nexthop: routed
//! (`l3_out`, and `finish_l3` for a packet just decapsulated), bridged with flooding
//! (`l2_out`), and mirror copies. The header work itself is `egress.rs`'s.

use super::egress::{self, push_tunnel, rewrite_macs};
use super::flow_stage::Route;
use super::{Disposition, Worker};
use crate::drop::DropReason;
use crate::packet::PacketBuf;
use crate::tables::{IfIndex, Nexthop, NhEntry, NhId, Tables};
use crate::wire::{Ipv4Packet, Ipv6Packet, MacAddr};

const ETH: usize = 14;

/// Counts a flood or mirror copy on its output interface.
fn count_extra(w: &mut Worker, t: &Tables, out: IfIndex, copy: &PacketBuf) {
    if let Some(c) = w.if_counters(t, out) {
        c.tx_packets += 1;
        c.tx_bytes += copy.len() as u64;
    }
}

/// Sends a copy of the packet (as received) to a mirror nexthop.
pub(super) fn mirror(w: &mut Worker, t: &Tables, nh: NhId, pkt: &PacketBuf, hash: u64) {
    let mut copy = pkt.clone();
    let d = match t.nh_entry(nh) {
        Some(NhEntry {
            nh: Nexthop::Encap { ifindex, .. },
            ..
        }) => Disposition::Tx(*ifindex),
        Some(
            e @ NhEntry {
                nh: Nexthop::Tunnel { .. },
                ..
            },
        ) => push_tunnel(&mut copy, e, hash, true),
        _ => Disposition::Drop(DropReason::NoNexthop),
    };
    if let Disposition::Tx(i) = d {
        count_extra(w, t, i, &copy);
        w.extra.push((i, copy));
    }
}

/// FIB lookup (unless the flow pinned a nexthop), then ECMP member choice by flow hash,
/// pinned in the flow so a flow keeps its path while the member set is stable. Returns
/// the nexthop's entry too, so the caller applies it without a second table lookup.
#[inline(always)]
pub(super) fn resolve_route<'t>(
    w: &mut Worker,
    t: &'t Tables,
    r: &Route,
    v6: bool,
    hash: u64,
) -> Result<(NhId, &'t NhEntry), DropReason> {
    if r.pinned != 0
        && let Some(e) = t.nh_entry(r.pinned)
    {
        return Ok((r.pinned, e));
    }
    let vrf = t.vrf(r.vrf).ok_or(DropReason::NoVrf)?;
    let id = if v6 {
        vrf.fib6.lookup_aligned(r.dst)
    } else {
        vrf.fib4.lookup_aligned(r.dst << 96)
    };
    if id == 0 {
        return Err(DropReason::NoRoute);
    }
    let id = ecmp_member(t, id, hash)?;
    if let Some(i) = r.flow {
        w.flows.pin_nexthop(i, id);
    }
    Ok((id, t.nh_entry(id).ok_or(DropReason::NoNexthop)?))
}

/// For a composite nexthop, the member chosen by `hash`; other nexthops as they are.
#[inline]
fn ecmp_member(t: &Tables, id: NhId, hash: u64) -> Result<NhId, DropReason> {
    match t.nexthop(id) {
        None => Err(DropReason::NoNexthop),
        Some(Nexthop::Composite { members }) => {
            if members.is_empty() {
                return Err(DropReason::EcmpEmpty);
            }
            Ok(members[(hash % members.len() as u64) as usize])
        }
        Some(_) => Ok(id),
    }
}

#[inline(always)]
fn decrement_ttl(pkt: &mut PacketBuf, v6: bool) {
    let ip = &mut pkt.data_mut()[ETH..];
    if v6 {
        let mut p = Ipv6Packet::new_unchecked(ip);
        let h = p.hop_limit().saturating_sub(1);
        p.set_hop_limit(h);
    } else {
        Ipv4Packet::new_unchecked(ip).decrement_ttl();
    }
}

/// Routed delivery of an Ethernet+IP packet through the nexthop entry `e`.
#[inline(always)]
pub(super) fn l3_out(
    ingress: IfIndex,
    pkt: &mut PacketBuf,
    e: &NhEntry,
    hash: u64,
    v6: bool,
) -> Disposition {
    use Disposition::Drop;
    match &e.nh {
        Nexthop::Encap {
            ifindex,
            dmac,
            smac,
        } => {
            if *ifindex == ingress {
                return Drop(DropReason::Loop);
            }
            decrement_ttl(pkt, v6);
            rewrite_macs(pkt, *dmac, *smac);
            Disposition::Tx(*ifindex)
        }
        Nexthop::Tunnel { .. } => {
            decrement_ttl(pkt, v6);
            push_tunnel(pkt, e, hash, false)
        }
        Nexthop::Receive { ifindex } => Disposition::Tx(*ifindex),
        Nexthop::Discard => Drop(DropReason::Discard),
        Nexthop::Composite { .. } | Nexthop::Flood { .. } | Nexthop::VrfTranslate { .. } => {
            Drop(DropReason::InvalidNexthop)
        }
    }
}

/// Bridged delivery of an Ethernet frame through nexthop `nh`. From the fabric
/// (`from_workload` false) tunnels are refused: a vRouter is never a transit hop, and
/// flooding never sends back to the fabric (split horizon).
pub(super) fn l2_out(
    w: &mut Worker,
    t: &Tables,
    ingress: IfIndex,
    pkt: &mut PacketBuf,
    nh: NhId,
    hash: u64,
    from_workload: bool,
) -> Disposition {
    use Disposition::Drop;
    let Some(e) = t.nh_entry(nh) else {
        return Drop(DropReason::NoNexthop);
    };
    match &e.nh {
        Nexthop::Encap { ifindex, .. } => {
            if *ifindex == ingress {
                return Drop(DropReason::Loop);
            }
            Disposition::Tx(*ifindex)
        }
        Nexthop::Tunnel { .. } if from_workload => push_tunnel(pkt, e, hash, true),
        Nexthop::Tunnel { .. } => Drop(DropReason::InvalidNexthop),
        Nexthop::Receive { ifindex } => Disposition::Tx(*ifindex),
        Nexthop::Discard => Drop(DropReason::Discard),
        Nexthop::Composite { .. } => match ecmp_member(t, nh, hash) {
            Ok(m) if m != nh => l2_out(w, t, ingress, pkt, m, hash, from_workload),
            Ok(_) => Drop(DropReason::InvalidNexthop),
            Err(r) => Drop(r),
        },
        Nexthop::Flood { members } => {
            let mut sent = 0;
            for &m in members {
                match t.nexthop(m) {
                    Some(Nexthop::Encap { ifindex, .. }) if *ifindex == ingress => continue,
                    Some(Nexthop::Tunnel { .. }) if !from_workload => continue,
                    Some(Nexthop::Flood { .. }) | None => continue,
                    _ => {}
                }
                let mut copy = pkt.clone();
                if let Disposition::Tx(i) = l2_out(w, t, ingress, &mut copy, m, hash, from_workload)
                {
                    count_extra(w, t, i, &copy);
                    w.extra.push((i, copy));
                    sent += 1;
                }
            }
            w.stats.tx += sent;
            Disposition::Replicated
        }
        Nexthop::VrfTranslate { .. } => Drop(DropReason::InvalidNexthop),
    }
}

/// Routed delivery of a decapsulated IP packet (at `inner`, `ip_len` bytes) to the local
/// interface `ifindex`: TTL (hop limit) decremented and a fresh Ethernet header.
#[inline(always)]
pub(super) fn finish_l3(
    pkt: &mut PacketBuf,
    inner: usize,
    ip_len: usize,
    ifindex: IfIndex,
    dmac: MacAddr,
    smac: MacAddr,
    v6: bool,
) -> Disposition {
    pkt.pull_front(inner);
    pkt.truncate(ip_len);
    if v6 {
        let mut p = Ipv6Packet::new_unchecked(pkt.data_mut());
        let h = p.hop_limit().saturating_sub(1);
        p.set_hop_limit(h);
    } else {
        Ipv4Packet::new_unchecked(pkt.data_mut()).decrement_ttl();
    }
    if !egress::push_ethernet(pkt, dmac, smac, v6) {
        return Disposition::Drop(DropReason::NoHeadroom);
    }
    Disposition::Tx(ifindex)
}
