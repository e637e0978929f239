//! Applying a nexthop to a packet: MAC rewrite toward a local interface, or the overlay
//! encapsulations (MPLS over UDP, MPLS over GRE, VXLAN) prepended in the headroom from
//! the nexthop's prebuilt outer headers (see `tables::template`).

use super::Disposition;
use crate::drop::DropReason;
use crate::packet::PacketBuf;
use crate::tables::NhEntry;
use crate::wire::{EtherType, EthernetFrame, EthernetRepr, MacAddr};

/// UDP source port carrying flow entropy (RFC 7510 section 3: the ephemeral range).
#[inline]
pub fn entropy_port(hash: u64) -> u16 {
    0xc000 | ((hash >> 16) as u16 & 0x3fff)
}

/// Rewrites the Ethernet addresses in place (routed delivery to a local interface).
#[inline]
pub fn rewrite_macs(pkt: &mut PacketBuf, dmac: MacAddr, smac: MacAddr) {
    let d = pkt.data_mut();
    d[0..6].copy_from_slice(&dmac.0);
    d[6..12].copy_from_slice(&smac.0);
}

/// Encapsulates the Ethernet frame in `pkt` for a tunnel nexthop. VXLAN and bridged (`l2`)
/// traffic carry the whole frame; routed MPLS carries the bare IP packet, as Contrail's
/// L3 VPN labels do. Returns the fabric interface to send on.
#[inline(always)]
pub fn push_tunnel(pkt: &mut PacketBuf, nh: &NhEntry, hash: u64, l2: bool) -> Disposition {
    let Some(t) = &nh.encap else {
        return Disposition::Drop(DropReason::InvalidNexthop);
    };
    if !l2 && !t.vxlan && !pkt.pull_front(EthernetFrame::<&[u8]>::HEADER_LEN) {
        return Disposition::Drop(DropReason::Malformed);
    }
    if !l2 && let Some((dmac, smac)) = t.inner_macs {
        rewrite_macs(pkt, dmac, smac);
    }
    let inner_len = pkt.len();
    let Some(h) = pkt.push_front(t.len()) else {
        return Disposition::Drop(DropReason::NoHeadroom);
    };
    t.write(h, inner_len, entropy_port(hash));
    Disposition::Tx(t.fabric_if)
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
