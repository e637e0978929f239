//! Applying a nexthop to a packet: MAC rewrite toward a local interface, or the overlay
//! encapsulations (MPLS over UDP, MPLS over GRE, VXLAN) prepended in the headroom.
//! Outer headers are written field by field with the wire types' emitters.

use super::Disposition;
use crate::drop::DropReason;
use crate::packet::PacketBuf;
use crate::tables::{MPLS_UDP_PORT, Nexthop, TunnelEncap, VXLAN_UDP_PORT};
use crate::wire::{
    EtherType, EthernetFrame, EthernetRepr, GreRepr, IpProtocol, Ipv4Repr, MacAddr, MplsRepr,
    UdpRepr, VxlanRepr,
};

/// Outer TTL of tunnel packets.
const OUTER_TTL: u8 = 64;

/// UDP source port carrying flow entropy (RFC 7510 section 3: the ephemeral range).
#[inline]
pub fn entropy_port(hash: u64) -> u16 {
    0xc000 | ((hash >> 16) as u16 & 0x3fff)
}

/// Rewrites the Ethernet addresses in place (routed delivery to a local interface).
#[inline]
pub fn rewrite_macs(pkt: &mut PacketBuf, dmac: MacAddr, smac: MacAddr) {
    let mut f = EthernetFrame::new_unchecked(pkt.data_mut());
    f.set_dst_addr(dmac);
    f.set_src_addr(smac);
}

/// Encapsulates the Ethernet frame in `pkt` for a tunnel nexthop. VXLAN and bridged (`l2`)
/// traffic carry the whole frame; routed MPLS carries the bare IP packet, as Contrail's
/// L3 VPN labels do. Returns the fabric interface to send on.
pub fn push_tunnel(pkt: &mut PacketBuf, nh: &Nexthop, hash: u64, l2: bool) -> Disposition {
    let Nexthop::Tunnel {
        encap,
        src_ip,
        dst_ip,
        fabric_if,
        dmac,
        smac,
    } = *nh
    else {
        return Disposition::Drop(DropReason::InvalidNexthop);
    };
    let l3_mpls = !l2 && !matches!(encap, TunnelEncap::Vxlan { .. });
    if l3_mpls && !pkt.pull_front(EthernetFrame::<&[u8]>::HEADER_LEN) {
        return Disposition::Drop(DropReason::Malformed);
    }
    let inner_len = pkt.len();
    let (tunnel_len, proto) = match encap {
        TunnelEncap::MplsOverUdp { .. } => (8 + 4, IpProtocol::UDP),
        TunnelEncap::MplsOverGre { .. } => (4 + 4, IpProtocol::GRE),
        TunnelEncap::Vxlan { .. } => (8 + 8, IpProtocol::UDP),
    };
    let total = 14 + 20 + tunnel_len;
    let Some(h) = pkt.push_front(total) else {
        return Disposition::Drop(DropReason::NoHeadroom);
    };
    EthernetRepr {
        src: smac,
        dst: dmac,
        ethertype: EtherType::IPV4,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut h[..14]));
    Ipv4Repr {
        src: src_ip,
        dst: dst_ip,
        protocol: proto,
        payload_len: tunnel_len + inner_len,
        ttl: OUTER_TTL,
        tos: 0,
        ident: 0,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    }
    .emit(&mut h[14..34]);
    let t = &mut h[34..];
    // An MPLS label is bottom of stack; its TTL is the outer TTL (uniform model not kept).
    let mpls = |label: u32| MplsRepr {
        label,
        tc: 0,
        bottom_of_stack: true,
        ttl: OUTER_TTL,
    };
    match encap {
        TunnelEncap::MplsOverUdp { label } => {
            UdpRepr {
                src_port: entropy_port(hash),
                dst_port: MPLS_UDP_PORT,
                payload_len: 4 + inner_len,
            }
            .emit(&mut t[..8]);
            mpls(label).emit(&mut t[8..12]);
        }
        TunnelEncap::MplsOverGre { label } => {
            GreRepr {
                protocol: EtherType::MPLS,
                key: None,
                seq: None,
            }
            .emit(&mut t[..4]);
            mpls(label).emit(&mut t[4..8]);
        }
        TunnelEncap::Vxlan { vni } => {
            UdpRepr {
                src_port: entropy_port(hash),
                dst_port: VXLAN_UDP_PORT,
                payload_len: 8 + inner_len,
            }
            .emit(&mut t[..8]);
            VxlanRepr { vni }.emit(&mut t[8..16]);
        }
    }
    Disposition::Tx(fabric_if)
}

/// Puts an Ethernet header in front of a bare IP packet (after L3 decapsulation).
pub fn push_ethernet(pkt: &mut PacketBuf, dmac: MacAddr, smac: MacAddr, v6: bool) -> bool {
    let Some(h) = pkt.push_front(14) else {
        return false;
    };
    let ethertype = if v6 { EtherType::IPV6 } else { EtherType::IPV4 };
    EthernetRepr {
        src: smac,
        dst: dmac,
        ethertype,
    }
    .emit(&mut EthernetFrame::new_unchecked(h));
    true
}
