//! ICMP errors the agent sends for the vRouter: the pipeline traps a routed packet whose
//! TTL expires here ([`super::TrapReason::TtlExpired`]); the agent, which knows the
//! network's gateway address, answers with [`time_exceeded_v4`]'s frame on the ingress
//! interface, so a traceroute from a workload shows the vRouter as its first hop; for an
//! IPv6 packet whose hop limit expires, [`time_exceeded_v6`] does the same with ICMPv6.
//! Pure functions of the trapped frame, kept here beside the trap that needs them.

use crate::wire::{
    EtherType, EthernetFrame, EthernetRepr, Icmpv4Message, Icmpv4Packet, Icmpv4Repr, Icmpv6Packet,
    IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, MacAddr, checksum,
};
use std::net::{Ipv4Addr, Ipv6Addr};

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

/// ICMPv6 time exceeded, code 0 (hop limit exceeded in transit; RFC 4443 section 3.3).
const ICMPV6_TIME_EXCEEDED: u8 = 3;

/// An ICMPv6 error must fit the IPv6 minimum MTU (RFC 4443 section 2.4 (c)): the quote
/// is cut to 1280 - 40 (IPv6) - 8 (ICMPv6) bytes.
const V6_QUOTE_MAX: usize = 1280 - 40 - 8;

/// The Ethernet frame of an ICMPv6 time exceeded (type 3, code 0) answering the trapped
/// IPv6 `frame`: from `gateway` (the workload network's gateway address) and the vRouter
/// MAC, to the sender, quoting as much of the packet as fits the minimum MTU. `None` when
/// `frame` is not an IPv6 packet that may be answered (RFC 4443 section 2.4 (e)):
/// malformed, an ICMPv6 error itself, sent to a multicast address, or from a multicast or
/// unspecified source.
pub fn time_exceeded_v6(frame: &[u8], gateway: Ipv6Addr, vrouter_mac: MacAddr) -> Option<Vec<u8>> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EtherType::IPV6 {
        return None;
    }
    let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    if src.is_unspecified() || src.is_multicast() || dst.is_multicast() {
        return None;
    }
    let upper = ip.upper_layer().ok()?;
    if upper.protocol == IpProtocol::ICMPV6 && upper.fragment.is_none_or(|(off, _)| off == 0) {
        // Never an error about an error: types below 128 are errors (RFC 4443 section 2.1).
        // An unreadable type (truncated) is treated as an error too.
        match ip
            .payload()
            .get(upper.offset - Ipv6Packet::<&[u8]>::HEADER_LEN)
        {
            Some(&t) if t >= 128 => {}
            _ => return None,
        }
    }
    // The datagram as received, without link padding.
    let datagram = eth.payload().get(..40 + ip.payload_len() as usize)?;
    let quote = &datagram[..datagram.len().min(V6_QUOTE_MAX)];
    let icmp_len = 8 + quote.len();
    let mut f = vec![0u8; 14 + 40 + icmp_len];
    EthernetRepr {
        src: vrouter_mac,
        dst: eth.src_addr(),
        ethertype: EtherType::IPV6,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    Ipv6Repr {
        src: gateway,
        dst: src,
        next_header: IpProtocol::ICMPV6,
        payload_len: icmp_len,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    }
    .emit(&mut f[14..54]);
    // Type, code, checksum (filled below) and four unused bytes, then the quote.
    f[54] = ICMPV6_TIME_EXCEEDED;
    f[62..].copy_from_slice(quote);
    let pseudo = checksum::pseudo_v6(&gateway, &src, IpProtocol::ICMPV6.0, icmp_len as u32);
    Icmpv6Packet::new_unchecked(&mut f[54..]).fill_checksum(pseudo);
    Some(f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::UdpRepr;

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

    fn udp_v6(src: Ipv6Addr, dst: Ipv6Addr, payload: usize) -> Vec<u8> {
        let mut f = vec![0u8; 14 + 40 + 8 + payload];
        EthernetRepr {
            src: MacAddr([2, 0, 0, 0, 0, 3]),
            dst: MacAddr([0, 0, 0x5e, 0, 1, 0]),
            ethertype: EtherType::IPV6,
        }
        .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
        Ipv6Repr {
            src,
            dst,
            next_header: IpProtocol::UDP,
            payload_len: 8 + payload,
            hop_limit: 1,
            traffic_class: 0,
            flow_label: 0,
        }
        .emit(&mut f[14..54]);
        UdpRepr {
            src_port: 33434,
            dst_port: 33435,
            payload_len: payload,
        }
        .emit(&mut f[54..62]);
        f
    }

    const GW6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
    const A6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 3);
    const R6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 5);

    #[test]
    fn answers_v6_with_a_quote_from_the_gateway() {
        let vr = MacAddr([0, 0, 0x5e, 0, 1, 0]);
        let mut req = udp_v6(A6, R6, 12);
        req.extend_from_slice(&[0; 6]); // link padding is not quoted
        let f = time_exceeded_v6(&req, GW6, vr).unwrap();
        let eth = EthernetFrame::new_checked(&f[..]).unwrap();
        assert_eq!(
            (eth.src_addr(), eth.dst_addr(), eth.ethertype()),
            (vr, MacAddr([2, 0, 0, 0, 0, 3]), EtherType::IPV6)
        );
        let ip = Ipv6Packet::new_checked(eth.payload()).unwrap();
        assert_eq!((ip.src_addr(), ip.dst_addr()), (GW6, A6));
        assert_eq!(ip.next_header(), IpProtocol::ICMPV6);
        let icmp = Icmpv6Packet::new_checked(ip.payload()).unwrap();
        assert_eq!((icmp.msg_type(), icmp.msg_code()), (3, 0));
        let pseudo = checksum::pseudo_v6(&GW6, &A6, 58, ip.payload().len() as u32);
        assert!(icmp.verify_checksum(pseudo));
        assert_eq!(&ip.payload()[8..], &req[14..14 + 60]);
    }

    #[test]
    fn v6_quote_fits_the_minimum_mtu_and_errors_are_not_answered() {
        let vr = MacAddr([0, 0, 0x5e, 0, 1, 0]);
        let big = udp_v6(A6, R6, 1400);
        let f = time_exceeded_v6(&big, GW6, vr).unwrap();
        assert_eq!(f.len() - 14, 1280);
        assert_eq!(&f[62..], &big[14..14 + V6_QUOTE_MAX]);
        // From unspecified or multicast, to multicast, or an ICMPv6 error: no answer.
        assert!(time_exceeded_v6(&udp_v6(Ipv6Addr::UNSPECIFIED, R6, 8), GW6, vr).is_none());
        let mcast = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
        assert!(time_exceeded_v6(&udp_v6(mcast, R6, 8), GW6, vr).is_none());
        assert!(time_exceeded_v6(&udp_v6(A6, mcast, 8), GW6, vr).is_none());
        let mut err = udp_v6(A6, R6, 8);
        err[20] = 58; // ICMPv6
        err[54] = 1; // destination unreachable
        assert!(time_exceeded_v6(&err, GW6, vr).is_none());
        err[54] = 128; // echo request: answered
        assert!(time_exceeded_v6(&err, GW6, vr).is_some());
        assert!(time_exceeded_v6(&err[..30], GW6, vr).is_none());
        // An IPv4 frame is not this function's.
        assert!(time_exceeded_v6(&udp(Ipv4Addr::new(10, 1, 0, 3), 1), GW6, vr).is_none());
    }
}
