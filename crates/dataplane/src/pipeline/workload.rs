//! Packets from a workload port: traps (ARP, DHCP, ND), source check, bridging inside the
//! VN or routing in the VRF, then the flow stage (`flow_stage.rs`) and the output through
//! the chosen nexthop, rewritten or encapsulated (`forward.rs`), both shared with the
//! fabric path.

use super::flow_stage::{FlowStep, Route, flow_stage};
use super::forward::{l2_out, l3_out, resolve_route};
use super::parse::{L3Info, parse_ip};
use super::{Disposition, TrapReason, Worker};
use crate::drop::DropReason;
use crate::flow::FlowKey;
use crate::packet::PacketBuf;
use crate::tables::{IfIndex, Interface, InterfaceKind, Tables};
use crate::wire::{ArpPacket, EtherType, EthernetFrame, IpProtocol, MacAddr};
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
    if v6 && info.dst >> 112 == 0xff02 {
        return Drop(DropReason::LinkScopedMulticast);
    }
    if !iface.owns_ip(ip_of(info.src, v6)) {
        return Drop(DropReason::SourceMismatch);
    }
    // Drop link padding so encapsulation lengths match the datagram.
    pkt.truncate(ETH + info.ip_len);

    // Bridged: multicast, and unicast to a MAC other than the vrouter's from a port without
    // policy. A port with policy that names another workload's MAC is routed instead, so its
    // packets meet the flow stage (security groups, policy) as they do when it names the
    // vrouter's: bridging would carry them past it.
    if dmac != t.vrouter_mac && (dmac.is_multicast() || !policy) {
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
