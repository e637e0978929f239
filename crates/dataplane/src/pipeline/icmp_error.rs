//! ICMP errors the agent sends for the vRouter: the pipeline traps a routed packet whose
//! TTL expires here ([`super::TrapReason::TtlExpired`]); the agent, which knows the
//! network's gateway address, answers with [`time_exceeded_v4`]'s frame on the ingress
//! interface, so a traceroute from a workload shows the vRouter as its first hop. A pure
//! function of the trapped frame, kept here beside the trap that needs it.

use crate::wire::{
    EtherType, EthernetFrame, EthernetRepr, Icmpv4Message, Icmpv4Packet, Icmpv4Repr, IpProtocol,
    Ipv4Packet, Ipv4Repr, MacAddr,
};
use std::net::Ipv4Addr;

/// Bytes of the offending datagram quoted after its IP header (RFC 792: at least 8, the
/// transport ports; RFC 1812 allows more, traceroute needs no more).
const QUOTED: usize = 8;

/// The Ethernet frame of an ICMP time exceeded (type 11, code 0) answering the trapped
/// IPv4 `frame`: from `gateway` (the workload network's gateway address) and the vRouter
/// MAC, to the sender, quoting its IP header and first 8 data bytes. `None` when `frame`
/// is not an IPv4 packet that may be answered (malformed, an ICMP error itself, a later
/// fragment, or from a broadcast/multicast/unspecified source; RFC 1812 section 4.3.2.7).
pub fn time_exceeded_v4(frame: &[u8], gateway: Ipv4Addr, vrouter_mac: MacAddr) -> Option<Vec<u8>> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EtherType::IPV4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    let src = ip.src_addr();
    if src.is_unspecified() || src.is_broadcast() || src.is_multicast() || ip.frag_offset() != 0 {
        return None;
    }
    let data = ip.payload();
    if ip.protocol() == IpProtocol::ICMP {
        // Never an error about an error (only echo and other queries are answered).
        match data.first().copied().map(Icmpv4Message::from) {
            Some(Icmpv4Message::EchoRequest | Icmpv4Message::EchoReply) => {}
            _ => return None,
        }
    }
    let hl = ip.header_len();
    let quote_len = hl + data.len().min(QUOTED);
    let quote = eth.payload().get(..quote_len)?;
    let icmp = Icmpv4Repr {
        msg_type: Icmpv4Message::TimeExceeded,
        code: 0,
        rest: [0; 4],
        data_len: quote_len,
    };
    let mut f = vec![0u8; 14 + 20 + icmp.buffer_len()];
    EthernetRepr {
        src: vrouter_mac,
        dst: eth.src_addr(),
        ethertype: EtherType::IPV4,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    Ipv4Repr {
        src: gateway,
        dst: src,
        protocol: IpProtocol::ICMP,
        payload_len: icmp.buffer_len(),
        ttl: 64,
        tos: 0,
        ident: 0,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    }
    .emit(&mut f[14..34]);
    icmp.emit(&mut f[34..]);
    f[42..].copy_from_slice(quote);
    Icmpv4Packet::new_unchecked(&mut f[34..]).fill_checksum();
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{UdpRepr, checksum};

    fn udp(src: Ipv4Addr, ttl: u8) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 20 + 8 + 12];
        EthernetRepr {
            src: MacAddr([2, 0, 0, 0, 0, 3]),
            dst: MacAddr([0, 0, 0x5e, 0, 1, 0]),
            ethertype: EtherType::IPV4,
        }
        .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
        Ipv4Repr {
            src,
            dst: Ipv4Addr::new(10, 9, 9, 9),
            protocol: IpProtocol::UDP,
            payload_len: 20,
            ttl,
            tos: 0,
            ident: 7,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
        }
        .emit(&mut f[14..34]);
        UdpRepr {
            src_port: 33434,
            dst_port: 33435,
            payload_len: 12,
        }
        .emit(&mut f[34..42]);
        f
    }

    #[test]
    fn answers_with_a_quote_from_the_gateway() {
        let gw = Ipv4Addr::new(10, 1, 0, 1);
        let vr = MacAddr([0, 0, 0x5e, 0, 1, 0]);
        let req = udp(Ipv4Addr::new(10, 1, 0, 3), 1);
        let f = time_exceeded_v4(&req, gw, vr).unwrap();
        let eth = EthernetFrame::new_checked(&f[..]).unwrap();
        assert_eq!(
            (eth.src_addr(), eth.dst_addr()),
            (vr, MacAddr([2, 0, 0, 0, 0, 3]))
        );
        let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
        assert!(ip.verify_checksum());
        assert_eq!(
            (ip.src_addr(), ip.dst_addr()),
            (gw, Ipv4Addr::new(10, 1, 0, 3))
        );
        let icmp = Icmpv4Packet::new_checked(ip.payload()).unwrap();
        let r = Icmpv4Repr::parse(&icmp).unwrap();
        assert_eq!(
            (r.msg_type, r.code, r.data_len),
            (Icmpv4Message::TimeExceeded, 0, 28)
        );
        // The quote is the offending IP header and its UDP header, as received.
        assert_eq!(&ip.payload()[8..], &req[14..42]);
        assert_eq!(checksum::checksum(ip.payload()), 0);
    }

    #[test]
    fn never_answers_errors_or_broadcast_sources() {
        let (gw, vr) = (Ipv4Addr::new(10, 1, 0, 1), MacAddr([0, 0, 0x5e, 0, 1, 0]));
        assert!(time_exceeded_v4(&udp(Ipv4Addr::BROADCAST, 1), gw, vr).is_none());
        assert!(time_exceeded_v4(&udp(Ipv4Addr::UNSPECIFIED, 1), gw, vr).is_none());
        let mut err = udp(Ipv4Addr::new(10, 1, 0, 3), 1);
        err[23] = 1; // ICMP
        err[34] = 3; // destination unreachable
        assert!(time_exceeded_v4(&err, gw, vr).is_none());
        assert!(time_exceeded_v4(&err[..20], gw, vr).is_none());
    }
}
