//! Ping of the vRouter's addresses in a workload network (Contrail:
//! `services/icmp_handler.cc`, `icmpv6_handler.cc`): an echo request to the gateway or the
//! service address (IPv6: also the router's link-local address) gets its echo reply from
//! that address and the vRouter MAC, with the request's identifier, sequence and data.

use super::frame::{self, Ends};
use super::{Ignored, Outcome, PortView, Trapped};
use cirrus_dataplane::wire::{
    Icmpv4Message, Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IpProtocol, WireError,
    checksum,
};
use std::net::IpAddr;

/// Hop limit of IPv6 answers.
const HOP_LIMIT: u8 = 64;

pub(super) fn handle(view: &PortView, f: &[u8]) -> Trapped {
    match v4(view, f) {
        Ok(Some(t)) => return t,
        Ok(None) => {}
        Err(e) => return Trapped::silent(Outcome::Malformed(e)),
    }
    match v6(view, f) {
        Ok(Some(t)) => t,
        Ok(None) => Trapped::silent(Outcome::Ignored(Ignored::WrongReason)),
        Err(e) => Trapped::silent(Outcome::Malformed(e)),
    }
}

fn not_for_router() -> Option<Trapped> {
    Some(Trapped::silent(Outcome::Ignored(Ignored::NotForRouter)))
}

fn v4(view: &PortView, f: &[u8]) -> Result<Option<Trapped>, WireError> {
    let Some(ip) = frame::ipv4(f)? else {
        return Ok(None);
    };
    if ip.ip.protocol != IpProtocol::ICMP
        || !view.is_router4(ip.ip.dst)
        || ip.ip.more_frags
        || ip.ip.frag_offset != 0
    {
        return Ok(not_for_router());
    }
    let p = Icmpv4Packet::new_checked(ip.payload)?;
    let r = Icmpv4Repr::parse(&p)?;
    if r.msg_type != Icmpv4Message::EchoRequest || r.code != 0 {
        return Ok(not_for_router());
    }
    let reply = Icmpv4Repr {
        msg_type: Icmpv4Message::EchoReply,
        ..r
    };
    let data = p.data();
    let ends = Ends {
        src_mac: view.vrouter_mac,
        dst_mac: ip.src_mac,
        src: ip.ip.dst,
        dst: ip.ip.src,
    };
    let out = frame::ip4_frame(ends, IpProtocol::ICMP, reply.buffer_len(), |b| {
        reply.emit(b);
        b[8..].copy_from_slice(data);
        Icmpv4Packet::new_unchecked(b).fill_checksum();
    });
    Ok(Some(Trapped::answer(
        out,
        Outcome::EchoReply {
            to: IpAddr::V4(ip.ip.dst),
        },
    )))
}

fn v6(view: &PortView, f: &[u8]) -> Result<Option<Trapped>, WireError> {
    let Some(ip) = frame::ipv6(f)? else {
        return Ok(None);
    };
    if ip.protocol != IpProtocol::ICMPV6 || !view.is_router6(ip.ip.dst) || ip.fragment {
        return Ok(not_for_router());
    }
    let ph = checksum::pseudo_v6(&ip.ip.src, &ip.ip.dst, 58, ip.upper.len() as u32);
    let p = Icmpv6Packet::new_checked(ip.upper)?;
    let Icmpv6Repr::EchoRequest { ident, seq } = Icmpv6Repr::parse(&p, ph)? else {
        return Ok(not_for_router());
    };
    let reply = Icmpv6Repr::EchoReply { ident, seq };
    let data = &ip.upper[8..];
    let ends = Ends {
        src_mac: view.vrouter_mac,
        dst_mac: ip.src_mac,
        src: ip.ip.dst,
        dst: ip.ip.src,
    };
    let out = frame::ip6_frame(
        ends,
        IpProtocol::ICMPV6,
        HOP_LIMIT,
        8 + data.len(),
        |b, ph| {
            reply.emit(b);
            b[8..].copy_from_slice(data);
            Icmpv6Packet::new_unchecked(b).fill_checksum(ph);
        },
    );
    Ok(Some(Trapped::answer(
        out,
        Outcome::EchoReply {
            to: IpAddr::V6(ip.ip.dst),
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{VROUTER_LINK_LOCAL6, handle as trap};
    use super::*;
    use cirrus_dataplane::pipeline::TrapReason;
    use std::net::Ipv4Addr;

    #[test]
    fn ping_of_the_gateway_is_answered_with_fixed_bytes() {
        let t = trap(
            &port(),
            TrapReason::Host,
            &ping4(GATEWAY, b"abcd"),
            &Default::default(),
        );
        assert_eq!(
            t.outcome,
            Outcome::EchoReply {
                to: IpAddr::V4(GATEWAY)
            }
        );
        let f = &t.replies[0];
        assert_eq!(
            &f[..12],
            &[0x02, 0x1a, 0xf4, 0xbe, 0xe3, 0x04, 0, 0, 0x5e, 0, 1, 0]
        );
        // IPv4 source = gateway, destination = workload; ICMP type 0, ident 0x4242, seq 9.
        assert_eq!(&f[26..34], &[10, 1, 0, 1, 10, 1, 0, 3]);
        assert_eq!(&f[34..36], &[0, 0]);
        assert_eq!(&f[38..42], &[0x42, 0x42, 0, 9]);
        assert_eq!(&f[42..], b"abcd");
        // The reply's checksums verify.
        let ip = frame::ipv4(f).unwrap().unwrap();
        assert!(
            Icmpv4Packet::new_checked(ip.payload)
                .unwrap()
                .verify_checksum()
        );
    }

    #[test]
    fn ping_of_the_service_address_is_answered_and_of_others_not() {
        let t = trap(
            &port(),
            TrapReason::Host,
            &ping4(SERVICE, b""),
            &Default::default(),
        );
        assert_eq!(
            t.outcome,
            Outcome::EchoReply {
                to: IpAddr::V4(SERVICE)
            }
        );
        let t = trap(
            &port(),
            TrapReason::Host,
            &ping4(Ipv4Addr::new(10, 1, 0, 4), b""),
            &Default::default(),
        );
        assert_eq!(t.outcome, Outcome::Ignored(Ignored::NotForRouter));
        let mut bad = ping4(GATEWAY, b"abcd");
        let n = bad.len();
        bad[n - 1] ^= 1;
        let t = trap(&port(), TrapReason::Host, &bad, &Default::default());
        assert_eq!(t.outcome, Outcome::Malformed(WireError::Checksum("icmpv4")));
    }

    #[test]
    fn ping6_of_the_gateway_and_link_local_router() {
        for dst in [GATEWAY6, VROUTER_LINK_LOCAL6] {
            let f = icmp6(
                VM_IP6,
                dst,
                VROUTER_MAC,
                Icmpv6Repr::EchoRequest { ident: 7, seq: 1 },
                b"xyz",
            );
            let t = trap(&port(), TrapReason::Host, &f, &Default::default());
            assert_eq!(
                t.outcome,
                Outcome::EchoReply {
                    to: IpAddr::V6(dst)
                }
            );
            let ip = frame::ipv6(&t.replies[0]).unwrap().unwrap();
            assert_eq!((ip.ip.src, ip.ip.dst), (dst, VM_IP6));
            let ph = checksum::pseudo_v6(&ip.ip.src, &ip.ip.dst, 58, ip.upper.len() as u32);
            let r = Icmpv6Repr::parse(&Icmpv6Packet::new_checked(ip.upper).unwrap(), ph).unwrap();
            assert_eq!(r, Icmpv6Repr::EchoReply { ident: 7, seq: 1 });
            assert_eq!(&ip.upper[8..], b"xyz");
        }
    }
}
