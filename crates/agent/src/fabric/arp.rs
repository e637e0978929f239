//! ARP on the fabric: the requests the agent sends to find an underlay next hop's MAC, and
//! reading the ARP frames the pipeline hands up from the fabric (requests and replies both
//! tell who has which address).

use std::net::Ipv4Addr;

use cirrus_dataplane::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame, EthernetRepr, MacAddr,
};

/// A broadcast ARP request for `target` from `(mac, ip)`.
pub fn request(mac: MacAddr, ip: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut f = vec![0u8; 42];
    EthernetRepr {
        src: mac,
        dst: MacAddr::BROADCAST,
        ethertype: EtherType::ARP,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    ArpRepr {
        operation: ArpOperation::Request,
        source_hw: mac,
        source_ip: ip,
        target_hw: MacAddr::ZERO,
        target_ip: target,
    }
    .emit(&mut f[14..]);
    f
}

/// A reply from `(mac, ip)` to a request (what a host's kernel answers; for tests).
pub fn reply(mac: MacAddr, ip: Ipv4Addr, to_mac: MacAddr, to_ip: Ipv4Addr) -> Vec<u8> {
    let mut f = vec![0u8; 42];
    EthernetRepr {
        src: mac,
        dst: to_mac,
        ethertype: EtherType::ARP,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    ArpRepr {
        operation: ArpOperation::Reply,
        source_hw: mac,
        source_ip: ip,
        target_hw: to_mac,
        target_ip: to_ip,
    }
    .emit(&mut f[14..]);
    f
}

/// The sender of an ARP frame (request or reply): who has which address. `None` for
/// anything else or a sender that cannot be a neighbour (zero, multicast).
pub fn sender(frame: &[u8]) -> Option<(Ipv4Addr, MacAddr)> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EtherType::ARP {
        return None;
    }
    let a = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).ok()?).ok()?;
    if a.source_ip.is_unspecified() || a.source_hw.is_multicast() || a.source_hw == MacAddr::ZERO {
        return None;
    }
    Some((a.source_ip, a.source_hw))
}

/// Whether `frame` is an ARP request for `ip`, and from whom.
pub fn request_for(frame: &[u8], ip: Ipv4Addr) -> Option<(Ipv4Addr, MacAddr)> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EtherType::ARP {
        return None;
    }
    let a = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).ok()?).ok()?;
    (a.operation == ArpOperation::Request && a.target_ip == ip)
        .then_some((a.source_ip, a.source_hw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_name_their_sender() {
        let m = MacAddr([2, 0xfa, 0, 0, 0, 11]);
        let r = request(
            m,
            Ipv4Addr::new(198, 18, 0, 11),
            Ipv4Addr::new(198, 18, 0, 12),
        );
        assert_eq!(r.len(), 42);
        assert_eq!(&r[..6], &[0xff; 6]);
        assert_eq!(sender(&r), Some((Ipv4Addr::new(198, 18, 0, 11), m)));
        assert_eq!(
            request_for(&r, Ipv4Addr::new(198, 18, 0, 12)),
            Some((Ipv4Addr::new(198, 18, 0, 11), m))
        );
        assert_eq!(request_for(&r, Ipv4Addr::new(198, 18, 0, 13)), None);
        let p = MacAddr([2, 0xfa, 0, 0, 0, 12]);
        let rep = reply(
            p,
            Ipv4Addr::new(198, 18, 0, 12),
            m,
            Ipv4Addr::new(198, 18, 0, 11),
        );
        assert_eq!(sender(&rep), Some((Ipv4Addr::new(198, 18, 0, 12), p)));
        assert_eq!(request_for(&rep, Ipv4Addr::new(198, 18, 0, 11)), None);
        assert_eq!(sender(&rep[..30]), None);
    }
}
