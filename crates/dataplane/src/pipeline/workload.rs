//! Packets from a workload port: traps (ARP, DHCP, ND), source check, bridging inside the
//! VN or routing in the VRF, the flow stage, then rewrite or encapsulation.
//! The flow stage and the nexthop application are shared with the fabric path.

use super::egress::{push_tunnel, rewrite_macs};
use super::parse::{Frag, L3Info, parse_ip};
use super::{Disposition, TrapReason, Worker, nat};
use crate::drop::DropReason;
use crate::flow::{FlowKey, FlowSpec, FlowVerdict, Upcall};
use crate::packet::PacketBuf;
use crate::tables::{IfIndex, Interface, InterfaceKind, Nexthop, NhEntry, NhId, Tables};
use crate::wire::{
    ArpPacket, EtherType, EthernetFrame, IpProtocol, Ipv4Packet, Ipv6Packet, MacAddr,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const ETH: usize = 14;

#[inline]
fn ip_of(bits: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from_bits(bits))
    } else {
        IpAddr::V4(Ipv4Addr::from_bits(bits as u32))
    }
}

pub(super) fn ingress(
    w: &mut Worker,
    t: &Tables,
    now: u32,
    ingress: IfIndex,
    iface: &Interface,
    pkt: &mut PacketBuf,
) -> Disposition {
    use Disposition::Drop;
    let InterfaceKind::Virtual {
        vrf: vrf_id,
        policy,
        ..
    } = iface.kind
    else {
        return Drop(DropReason::UnknownInterface);
    };
    let Ok(eth) = EthernetFrame::new_checked(pkt.data()) else {
        return Drop(DropReason::Malformed);
    };
    let (dmac, smac) = (eth.dst_addr(), eth.src_addr());
    if smac.is_multicast() {
        return Drop(DropReason::BadSourceMac);
    }
    let v6 = match eth.ethertype() {
        EtherType::IPV4 => false,
        EtherType::IPV6 => true,
        EtherType::ARP => {
            return match ArpPacket::new_checked(eth.payload()) {
                Ok(_) => Disposition::Trap(TrapReason::Arp),
                Err(_) => Drop(DropReason::Malformed),
            };
        }
        EtherType::VLAN | EtherType::QINQ => return Drop(DropReason::VlanTagged),
        _ => return Drop(DropReason::UnsupportedEthertype),
    };
    let Some(vrf) = t.vrf(vrf_id) else {
        return Drop(DropReason::NoVrf);
    };
    let Ok(info) = parse_ip(&pkt.data()[ETH..], v6) else {
        return Drop(DropReason::Malformed);
    };
    if let Some(r) = trap_reason(&info, &pkt.data()[ETH..]) {
        return Disposition::Trap(r);
    }
    if !iface.owns_ip(ip_of(info.src, v6)) {
        return Drop(DropReason::SourceMismatch);
    }
    // Drop link padding so encapsulation lengths match the datagram.
    pkt.truncate(ETH + info.ip_len);

    if dmac != t.vrouter_mac {
        let lookup = if dmac.is_multicast() {
            MacAddr::BROADCAST
        } else {
            dmac
        };
        let nh = vrf.bridge_lookup(lookup);
        if nh == 0 {
            return Drop(DropReason::BridgeMiss);
        }
        let hash = FlowKey::from_parts(
            vrf_id, info.proto, info.src, info.dst, info.sport, info.dport, v6,
        )
        .hash();
        return l2_out(w, t, ingress, pkt, nh, hash, true);
    }

    if info.ttl <= 1 {
        return Disposition::Trap(TrapReason::TtlExpired);
    }
    let Some((sport, dport)) = w.frag_ports(&info, now) else {
        return Drop(DropReason::FragmentNoFlow);
    };
    let (sport, dport) = iface.fat_ports(info.proto, sport, dport);
    let key = FlowKey::from_parts(vrf_id, info.proto, info.src, info.dst, sport, dport, v6);
    let hash = key.hash();
    let mut route = Route {
        vrf: vrf_id,
        dst: info.dst,
        pinned: 0,
        flow: None,
    };
    if policy {
        match flow_stage(
            w,
            t,
            now,
            ingress,
            ingress,
            iface.flow_limit,
            key,
            hash,
            pkt,
            ETH,
            &info,
        ) {
            FlowStep::Go(r) => route = r,
            FlowStep::Stop(d) => return d,
        }
    }
    let e = match resolve_route(w, t, &route, v6, hash) {
        Ok((_, e)) => e,
        Err(r) => return Drop(r),
    };
    l3_out(ingress, pkt, e, hash, v6)
}

/// DHCP (v4 and v6) and neighbour discovery go to the agent, which answers for the VN.
#[inline(always)]
fn trap_reason(info: &L3Info, ip: &[u8]) -> Option<TrapReason> {
    match IpProtocol(info.proto) {
        IpProtocol::UDP if (!info.v6 && info.dport == 67) || (info.v6 && info.dport == 547) => {
            Some(TrapReason::Dhcp)
        }
        IpProtocol::ICMPV6 => match ip.get(info.l4_off) {
            Some(133..=136) => Some(TrapReason::Ndisc),
            _ => None,
        },
        _ => None,
    }
}

/// The port NAT writes: the reverse key's, unless fat-flow aggregation zeroed it there
/// (then the packet keeps its own).
#[inline]
fn nat_port(from_rev: u16, own: u16) -> u16 {
    if from_rev == 0 { own } else { from_rev }
}

/// Where the route lookup happens after the flow stage.
pub(super) struct Route {
    pub vrf: u16,
    pub dst: u128,
    /// Nexthop pinned in the flow (0 = none yet).
    pub pinned: NhId,
    pub flow: Option<u32>,
}

pub(super) enum FlowStep {
    Go(Route),
    Stop(Disposition),
}

/// Flow lookup: hit -> count, NAT, and return where to route; miss -> hold entry, park
/// the packet, upcall. `owner` is the workload interface the flow counts against.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn flow_stage(
    w: &mut Worker,
    t: &Tables,
    now: u32,
    ingress: IfIndex,
    owner: IfIndex,
    limit: u32,
    key: FlowKey,
    hash: u64,
    pkt: &mut PacketBuf,
    ip_off: usize,
    info: &L3Info,
) -> FlowStep {
    let Some(idx) = w.flows.lookup(&key, hash) else {
        w.stats.flow_misses += 1;
        let hold = FlowSpec {
            verdict: FlowVerdict::Hold,
            ..FlowSpec::forward(key.vrf())
        };
        return match w.flows.insert(key, owner, hold, limit, now) {
            Ok(idx) => {
                w.parked
                    .entry(idx)
                    .or_default()
                    .push((ingress, pkt.clone()));
                w.upcalls.push(Upcall {
                    index: idx,
                    key,
                    ingress,
                    frame: pkt.data().to_vec(),
                });
                FlowStep::Stop(Disposition::Held)
            }
            Err(e) => FlowStep::Stop(Disposition::Drop(e.into())),
        };
    };
    w.stats.flow_hits += 1;
    let Some(hit) = w.flows.hit(idx, pkt.len(), info.tcp_flags, now) else {
        return FlowStep::Stop(Disposition::Drop(DropReason::FlowDenied));
    };
    let (verdict, dst_vrf, pinned, rev_idx) = (hit.verdict, hit.dst_vrf, hit.nh, hit.rev);
    let mirror_nh = if hit.mirror {
        w.flows.cold(idx).map_or(0, |c| c.mirror)
    } else {
        0
    };
    let nat = hit.nat_src as u8 | (hit.nat_dst as u8) << 1;
    match verdict {
        FlowVerdict::Hold => {
            let q = w.parked.entry(idx).or_default();
            if q.len() >= w.cfg.hold_packets {
                return FlowStep::Stop(Disposition::Drop(DropReason::FlowHoldOverflow));
            }
            q.push((ingress, pkt.clone()));
            FlowStep::Stop(Disposition::Held)
        }
        FlowVerdict::Drop => FlowStep::Stop(Disposition::Drop(DropReason::FlowPolicy)),
        FlowVerdict::Forward => {
            let mut route = Route {
                vrf: dst_vrf,
                dst: info.dst,
                pinned,
                flow: Some(idx),
            };
            if mirror_nh != 0 {
                mirror(w, t, mirror_nh, pkt, hash);
            }
            if nat != 0 {
                let (nat_src, nat_dst) = (nat & 1 != 0, nat & 2 != 0);
                let Some(rev) = w.flows.get(rev_idx) else {
                    return FlowStep::Stop(Disposition::Drop(DropReason::FlowDenied));
                };
                let rk = rev.key;
                // Later fragments (and IPv6 fragments, keyed without ports) carry no
                // transport header to patch.
                let l4 = (info.frag != Frag::Later && !info.v6_fragment).then_some(info.l4_off);
                let ip = &mut pkt.data_mut()[ip_off..];
                let proto = IpProtocol(info.proto);
                // (source?, new address, new port) for each translated side.
                let sides = [
                    (
                        nat_src,
                        true,
                        rk.dst_bits(),
                        nat_port(rk.dport(), info.sport),
                    ),
                    (
                        nat_dst,
                        false,
                        rk.src_bits(),
                        nat_port(rk.sport(), info.dport),
                    ),
                ];
                for (on, src, addr, port) in sides {
                    if !on {
                        continue;
                    }
                    if info.v6 {
                        nat::rewrite_v6(ip, l4, proto, src, Ipv6Addr::from_bits(addr), port);
                    } else {
                        nat::rewrite_v4(ip, l4, src, Ipv4Addr::from_bits(addr as u32), port);
                    }
                }
                if nat_dst {
                    route.dst = rk.src_bits();
                }
            }
            FlowStep::Go(route)
        }
    }
}

/// Counts a flood or mirror copy on its output interface.
fn count_extra(w: &mut Worker, t: &Tables, out: IfIndex, copy: &PacketBuf) {
    if let Some(c) = w.if_counters(t, out) {
        c.tx_packets += 1;
        c.tx_bytes += copy.len() as u64;
    }
}

/// Sends a copy of the packet (as received) to a mirror nexthop.
fn mirror(w: &mut Worker, t: &Tables, nh: NhId, pkt: &PacketBuf, hash: u64) {
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
pub(super) fn ecmp_member(t: &Tables, id: NhId, hash: u64) -> Result<NhId, DropReason> {
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
