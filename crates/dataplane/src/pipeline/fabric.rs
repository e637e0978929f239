//! Packets from the fabric: overlay packets addressed to this vRouter are decapsulated by
//! MPLS label (over UDP 6635 or GRE) or VXLAN VNI and delivered to the local interface;
//! everything else addressed here goes to the host.

use super::flow_stage::{FlowStep, Route, flow_stage};
use super::forward::{finish_l3, l2_out, resolve_route};
use super::parse::parse_ip;
use super::{Disposition, TrapReason, Worker};
use crate::drop::DropReason;
use crate::flow::FlowKey;
use crate::packet::PacketBuf;
use crate::tables::{IfIndex, InterfaceKind, MPLS_UDP_PORT, Nexthop, NhId, Tables, VXLAN_UDP_PORT};
use crate::wire::{
    EtherType, EthernetFrame, GrePacket, IpProtocol, Ipv4Packet, MacAddr, MplsPacket, UdpPacket,
    VxlanPacket,
};

const ETH: usize = 14;

pub(super) enum Overlay {
    /// MPLS label and the offset of what follows it.
    Mpls(u32, usize),
    /// VNI and the offset of the inner Ethernet frame.
    Vxlan(u32, usize),
}

/// Finds the overlay header, or says why the packet is not overlay for us.
#[inline(always)]
pub(super) fn classify(data: &[u8], local_ip: std::net::Ipv4Addr) -> Result<Overlay, Disposition> {
    let host = Err(Disposition::Trap(TrapReason::Host));
    let malformed = Err(Disposition::Drop(DropReason::Malformed));
    let Ok(eth) = EthernetFrame::new_checked(data) else {
        return malformed;
    };
    if eth.ethertype() != EtherType::IPV4 {
        return host;
    }
    let Ok(ip) = Ipv4Packet::new_checked(eth.payload()) else {
        return malformed;
    };
    if ip.dst_addr() != local_ip || ip.is_fragment() {
        return host;
    }
    let l4 = ETH + ip.header_len();
    let mpls_at = match ip.protocol() {
        IpProtocol::UDP => {
            let Ok(udp) = UdpPacket::new_checked(ip.payload()) else {
                return malformed;
            };
            match udp.dst_port() {
                MPLS_UDP_PORT => l4 + 8,
                VXLAN_UDP_PORT => {
                    let Ok(vx) = VxlanPacket::new_checked(udp.payload()) else {
                        return malformed;
                    };
                    return Ok(Overlay::Vxlan(vx.vni(), l4 + 16));
                }
                _ => return host,
            }
        }
        IpProtocol::GRE => {
            let Ok(gre) = GrePacket::new_checked(ip.payload()) else {
                return malformed;
            };
            if gre.protocol() != EtherType::MPLS {
                return host;
            }
            l4 + gre.header_len()
        }
        _ => return host,
    };
    // Bounded by the IP total length, not by link padding.
    let end = ETH + ip.total_len() as usize;
    let Ok(m) = MplsPacket::new_checked(&data[mpls_at..end]) else {
        return malformed;
    };
    if !m.bottom_of_stack() {
        return Err(Disposition::Drop(DropReason::LabelStack));
    }
    Ok(Overlay::Mpls(m.label(), mpls_at + 4))
}

pub(super) fn ingress(
    w: &mut Worker,
    t: &Tables,
    now: u32,
    ingress: IfIndex,
    local_ip: std::net::Ipv4Addr,
    pkt: &mut PacketBuf,
) -> Disposition {
    use Disposition::Drop;
    let (nh, inner) = match classify(pkt.data(), local_ip) {
        Err(d) => return d,
        Ok(Overlay::Mpls(label, at)) => match t.label(label) {
            0 => return Drop(DropReason::UnknownLabel),
            nh => (nh, at),
        },
        Ok(Overlay::Vxlan(vni, at)) => match t.vni(vni) {
            0 => return Drop(DropReason::UnknownVni),
            nh => {
                // VXLAN always carries Ethernet: deliver by bridging.
                return bridge_inner(w, t, now, ingress, pkt, nh, at);
            }
        },
    };
    match t.nexthop(nh) {
        Some(Nexthop::Encap {
            ifindex,
            dmac,
            smac,
        }) => {
            let (ifindex, dmac, smac) = (*ifindex, *dmac, *smac);
            deliver_l3(w, t, now, ingress, pkt, inner, ifindex, dmac, smac)
        }
        Some(Nexthop::VrfTranslate { .. }) => bridge_inner(w, t, now, ingress, pkt, nh, inner),
        Some(_) => Drop(DropReason::InvalidNexthop),
        None => Drop(DropReason::NoNexthop),
    }
}

/// L3 label: the inner packet is bare IP for the workload behind `ifindex`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn deliver_l3(
    w: &mut Worker,
    t: &Tables,
    now: u32,
    ingress: IfIndex,
    pkt: &mut PacketBuf,
    inner: usize,
    ifindex: IfIndex,
    dmac: MacAddr,
    smac: MacAddr,
) -> Disposition {
    use Disposition::Drop;
    let v6 = match pkt.data().get(inner).map(|b| b >> 4) {
        Some(4) => false,
        Some(6) => true,
        _ => return Drop(DropReason::Malformed),
    };
    let Ok(info) = parse_ip(&pkt.data()[inner..], v6) else {
        return Drop(DropReason::Malformed);
    };
    if info.ttl <= 1 {
        return Drop(DropReason::TtlExpired);
    }
    // Policy on the receiving workload: the flow is keyed in its VRF.
    if let Some(dst_if) = t.interface(ifindex)
        && let InterfaceKind::Virtual {
            vrf, policy: true, ..
        } = dst_if.kind
    {
        let Some((sport, dport)) = w.frag_ports(&info, now) else {
            return Drop(DropReason::FragmentNoFlow);
        };
        let (sport, dport) = dst_if.fat_ports(info.proto, sport, dport);
        let key = FlowKey::from_parts(vrf, info.proto, info.src, info.dst, sport, dport, v6);
        let hash = key.hash();
        match flow_stage(
            w,
            t,
            now,
            ingress,
            ifindex,
            dst_if.flow_limit,
            key,
            hash,
            pkt,
            inner,
            &info,
        ) {
            FlowStep::Stop(d) => return d,
            FlowStep::Go(r) if r.dst != info.dst => {
                // Destination NAT (floating IP): route the translated address.
                let nh = match resolve_route(w, t, &Route { pinned: 0, ..r }, v6, hash) {
                    Ok((_, e)) => &e.nh,
                    Err(e) => return Drop(e),
                };
                return match nh {
                    Nexthop::Encap {
                        ifindex,
                        dmac,
                        smac,
                    } => finish_l3(pkt, inner, info.ip_len, *ifindex, *dmac, *smac, v6),
                    _ => Drop(DropReason::InvalidNexthop),
                };
            }
            FlowStep::Go(_) => {}
        }
    }
    finish_l3(pkt, inner, info.ip_len, ifindex, dmac, smac, v6)
}

/// L2 label or VNI: strip to the inner Ethernet frame and bridge it in the nexthop's VRF.
fn bridge_inner(
    w: &mut Worker,
    t: &Tables,
    now: u32,
    ingress: IfIndex,
    pkt: &mut PacketBuf,
    nh: NhId,
    inner: usize,
) -> Disposition {
    use Disposition::Drop;
    let vrf = match t.nexthop(nh) {
        Some(Nexthop::VrfTranslate { vrf }) => *vrf,
        Some(Nexthop::Encap { ifindex, .. }) => {
            let i = *ifindex;
            pkt.pull_front(inner);
            return Disposition::Tx(i);
        }
        Some(_) => return Drop(DropReason::InvalidNexthop),
        None => return Drop(DropReason::NoNexthop),
    };
    let Some(v) = t.vrf(vrf) else {
        return Drop(DropReason::NoVrf);
    };
    let Ok(eth) = EthernetFrame::new_checked(&pkt.data()[inner..]) else {
        return Drop(DropReason::Malformed);
    };
    let dmac = eth.dst_addr();
    if dmac == t.vrouter_mac {
        // Routed over VXLAN by the sender: route the inner packet in this VRF, with the
        // same policy and delivery as an L3 label.
        let v6 = match eth.ethertype() {
            EtherType::IPV4 => false,
            EtherType::IPV6 => true,
            _ => return Drop(DropReason::UnsupportedEthertype),
        };
        let ip_at = inner + 14;
        let Ok(info) = parse_ip(&pkt.data()[ip_at..], v6) else {
            return Drop(DropReason::Malformed);
        };
        let id = if v6 {
            v.fib6.lookup_aligned(info.dst)
        } else {
            v.fib4.lookup_v4(info.dst as u32)
        };
        return match t.nexthop(id) {
            Some(Nexthop::Encap {
                ifindex,
                dmac,
                smac,
            }) => {
                let (ifindex, dmac, smac) = (*ifindex, *dmac, *smac);
                deliver_l3(w, t, now, ingress, pkt, ip_at, ifindex, dmac, smac)
            }
            None if id == 0 => Drop(DropReason::NoRoute),
            None => Drop(DropReason::NoNexthop),
            Some(_) => Drop(DropReason::InvalidNexthop),
        };
    }
    let lookup = if dmac.is_multicast() {
        MacAddr::BROADCAST
    } else {
        dmac
    };
    let out = v.bridge_lookup(lookup);
    if out == 0 {
        return Drop(DropReason::BridgeMiss);
    }
    pkt.pull_front(inner);
    l2_out(w, t, ingress, pkt, out, 0, false)
}
