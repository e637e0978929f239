//! Prebuilt outer headers for tunnel nexthops (Contrail keeps the same in its nexthop's
//! data): built once when the agent sets the nexthop, so encapsulating a packet is one
//! copy plus three patched fields (IP length with an RFC 1624 checksum update, UDP length
//! and the entropy source port) instead of emitting and summing headers per packet.

use super::{IfIndex, MPLS_UDP_PORT, Nexthop, TunnelEncap, VXLAN_UDP_PORT};
use crate::wire::{
    EtherType, EthernetFrame, EthernetRepr, GreRepr, IpProtocol, Ipv4Repr, MacAddr, MplsRepr,
    UdpRepr, VxlanRepr, checksum, put16,
};

/// Outer TTL of tunnel packets (and of the MPLS label).
const OUTER_TTL: u8 = 64;
const MAX_LEN: usize = 50;

/// The outer headers of one tunnel nexthop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncapTemplate {
    bytes: [u8; MAX_LEN],
    len: u8,
    /// `~checksum + ~total_length` of the template's IP header (RFC 1624 eq. 3 with the
    /// constant half summed and folded once): per packet the checksum is
    /// `~fold_two(ip_base + total)`.
    ip_base: u32,
    udp: bool,
    /// The inner packet keeps its Ethernet header (VXLAN); MPLS L3 carries bare IP.
    pub(crate) vxlan: bool,
    /// For VXLAN, the inner (destination, source) MACs written on routed packets.
    pub(crate) inner_macs: Option<(MacAddr, MacAddr)>,
    pub(crate) fabric_if: IfIndex,
}

impl EncapTemplate {
    /// The template of a tunnel nexthop (`vrouter_mac` is the inner source of routed VXLAN
    /// packets); `None` for other kinds.
    pub fn build(nh: &Nexthop, vrouter_mac: MacAddr) -> Option<Self> {
        let Nexthop::Tunnel {
            encap,
            src_ip,
            dst_ip,
            fabric_if,
            dmac,
            smac,
        } = *nh
        else {
            return None;
        };
        let (tunnel_len, proto) = match encap {
            TunnelEncap::MplsOverUdp { .. } => (12, IpProtocol::UDP),
            TunnelEncap::MplsOverGre { .. } => (8, IpProtocol::GRE),
            TunnelEncap::Vxlan { .. } => (16, IpProtocol::UDP),
        };
        let mut b = [0u8; MAX_LEN];
        EthernetRepr {
            src: smac,
            dst: dmac,
            ethertype: EtherType::IPV4,
        }
        .emit(&mut EthernetFrame::new_unchecked(&mut b[..14]));
        Ipv4Repr {
            src: src_ip,
            dst: dst_ip,
            protocol: proto,
            payload_len: tunnel_len,
            ttl: OUTER_TTL,
            tos: 0,
            ident: 0,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
        }
        .emit(&mut b[14..34]);
        let mpls = |label| MplsRepr {
            label,
            tc: 0,
            bottom_of_stack: true,
            ttl: OUTER_TTL,
        };
        match encap {
            TunnelEncap::MplsOverUdp { label } => {
                UdpRepr {
                    src_port: 0,
                    dst_port: MPLS_UDP_PORT,
                    payload_len: 4,
                }
                .emit(&mut b[34..42]);
                mpls(label).emit(&mut b[42..46]);
            }
            TunnelEncap::MplsOverGre { label } => {
                GreRepr {
                    protocol: EtherType::MPLS,
                    key: None,
                    seq: None,
                }
                .emit(&mut b[34..38]);
                mpls(label).emit(&mut b[38..42]);
            }
            TunnelEncap::Vxlan { vni, .. } => {
                UdpRepr {
                    src_port: 0,
                    dst_port: VXLAN_UDP_PORT,
                    payload_len: 8,
                }
                .emit(&mut b[34..42]);
                VxlanRepr { vni }.emit(&mut b[42..50]);
            }
        }
        Some(Self {
            bytes: b,
            len: (34 + tunnel_len) as u8,
            // Folded once here, so the per-packet sum with a 16-bit length needs only
            // one end-around carry (`fold_two`).
            ip_base: checksum::fold(
                (!u16::from_be_bytes([b[24], b[25]])) as u32 + (!(20 + tunnel_len as u16)) as u32,
            ) as u32,
            udp: proto == IpProtocol::UDP,
            vxlan: matches!(encap, TunnelEncap::Vxlan { .. }),
            inner_macs: match encap {
                TunnelEncap::Vxlan { inner_dmac, .. } => Some((inner_dmac, vrouter_mac)),
                _ => None,
            },
            fabric_if,
        })
    }

    /// Length of the outer headers.
    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes the outer headers into `h` (exactly `len()` bytes) for `inner_len` bytes of
    /// payload, with `sport` as the UDP source port.
    #[inline(always)]
    pub fn write(&self, h: &mut [u8], inner_len: usize, sport: u16) {
        // Fixed-size copies for the three template sizes compile to a few vector moves
        // instead of a memcpy call with a run-time length.
        match self.len {
            42 => h[..42].copy_from_slice(&self.bytes[..42]),
            46 => h[..46].copy_from_slice(&self.bytes[..46]),
            50 => h[..50].copy_from_slice(&self.bytes[..50]),
            n => h[..n as usize].copy_from_slice(&self.bytes[..n as usize]),
        }
        // One length check up front lets the compiler drop the ones in the stores below
        // (every template is at least 42 bytes).
        let Some(h) = h.get_mut(..42) else {
            return;
        };
        let total = (self.len as u16 - 14).wrapping_add(inner_len as u16);
        put16(h, 16, total);
        put16(h, 24, !checksum::fold_two(self.ip_base + total as u32));
        if self.udp {
            put16(h, 34, sport);
            put16(h, 38, total - 20);
        }
    }
}
