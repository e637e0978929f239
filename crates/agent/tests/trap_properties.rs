//! Properties of the trap answers, the stable counterpart of `fuzz/` (dhcp, trap_frames):
//! DHCP messages survive emit-then-parse; any bytes under any trap reason never panic and
//! every answer is a well-formed frame; a DISCOVER from any port gets exactly that port's
//! address, mask and lease, addressed per the broadcast flag.

use cirrus_agent::trap::dhcp_wire::{
    CLIENT_PORT, ClasslessRoute, DhcpOp, DhcpPacket, DhcpRepr, MessageType, SERVER_PORT,
};
use cirrus_agent::trap::dhcpv6_wire::{
    Dhcpv6Message, Dhcpv6Packet, Dhcpv6Repr, IaAddress, IaNa, Status,
};
use cirrus_agent::trap::frame::{self, Ends};
use cirrus_agent::trap::{self, CONTRAIL_VROUTER_MAC, Outcome, PortView, TrapContext};
use cirrus_dataplane::pipeline::TrapReason;
use cirrus_dataplane::wire::{EthernetFrame, MacAddr};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr};

const VM_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 3]);

fn ip4() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn route() -> impl Strategy<Value = ClasslessRoute> {
    (any::<u32>(), 0u8..=32, ip4()).prop_map(|(p, len, router)| {
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        ClasslessRoute {
            prefix: Ipv4Addr::from(p & mask),
            prefix_len: len,
            router,
        }
    })
}

fn message_type() -> impl Strategy<Value = MessageType> {
    prop_oneof![
        Just(MessageType::Bootp),
        any::<u8>().prop_map(MessageType::from)
    ]
}

fn text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of("[ -~]{0,300}")
}

prop_compose! {
    fn repr()(
        op in prop_oneof![Just(DhcpOp::Request), Just(DhcpOp::Reply)],
        message_type in message_type(),
        xid in any::<u32>(),
        secs in any::<u16>(),
        broadcast in any::<bool>(),
        addrs in (ip4(), ip4(), ip4(), ip4()),
        client_hw in any::<[u8; 6]>(),
        requested_ip in proptest::option::of(ip4()),
        server_id in proptest::option::of(ip4()),
        parameter_request_list in proptest::collection::vec(any::<u8>(), 0..300),
        max_message_size in proptest::option::of(any::<u16>()),
        client_id in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        subnet_mask in proptest::option::of(ip4()),
        routers in proptest::collection::vec(ip4(), 0..4),
        dns_servers in proptest::collection::vec(ip4(), 0..70),
        names in (text(), text(), text()),
        interface_mtu in proptest::option::of(any::<u16>()),
        broadcast_address in proptest::option::of(ip4()),
        times in proptest::option::of((any::<u32>(), any::<u32>(), any::<u32>())),
        classless_routes in proptest::collection::vec(route(), 0..40),
    ) -> DhcpRepr {
        DhcpRepr {
            op,
            message_type,
            xid,
            secs,
            broadcast,
            ciaddr: addrs.0,
            yiaddr: addrs.1,
            siaddr: addrs.2,
            giaddr: addrs.3,
            client_hw: MacAddr(client_hw),
            requested_ip,
            server_id,
            parameter_request_list,
            max_message_size,
            client_id,
            subnet_mask,
            routers,
            dns_servers,
            host_name: names.0,
            domain_name: names.1,
            interface_mtu,
            broadcast_address,
            lease_time: times.map(|t| t.0),
            renewal_time: times.map(|t| t.1),
            rebinding_time: times.map(|t| t.2),
            classless_routes,
            message: names.2,
        }
    }
}

fn ip6() -> impl Strategy<Value = std::net::Ipv6Addr> {
    any::<u128>().prop_map(std::net::Ipv6Addr::from)
}

fn status() -> impl Strategy<Value = Option<Status>> {
    proptest::option::of(
        (any::<u16>(), "[ -~]{0,30}").prop_map(|(code, message)| Status { code, message }),
    )
}

prop_compose! {
    fn repr6()(
        t in any::<u8>(),
        xid in 0u32..(1 << 24),
        client_id in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
        server_id in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
        ia_na in proptest::collection::vec(
            (any::<(u32, u32, u32)>(), proptest::collection::vec((ip6(), any::<(u32, u32)>()), 0..3), status()),
            0..3,
        ),
        oro in proptest::collection::vec(any::<u16>(), 0..6),
        preference in proptest::option::of(any::<u8>()),
        elapsed_time in proptest::option::of(any::<u16>()),
        rapid_commit in any::<bool>(),
        st in status(),
        dns_servers in proptest::collection::vec(ip6(), 0..4),
        domain_list in proptest::collection::vec("[a-z0-9-]{1,20}(\\.[a-z0-9-]{1,20}){0,3}", 0..3),
    ) -> Dhcpv6Repr {
        let mut r = Dhcpv6Repr::new(Dhcpv6Message::from(t), xid);
        r.client_id = client_id;
        r.server_id = server_id;
        r.ia_na = ia_na
            .into_iter()
            .map(|((iaid, t1, t2), addrs, status)| IaNa {
                iaid,
                t1,
                t2,
                addresses: addrs
                    .into_iter()
                    .map(|(addr, (preferred, valid))| IaAddress { addr, preferred, valid })
                    .collect(),
                status,
            })
            .collect();
        r.oro = oro;
        r.preference = preference;
        r.elapsed_time = elapsed_time;
        r.rapid_commit = rapid_commit;
        r.status = st;
        r.dns_servers = dns_servers;
        r.domain_list = domain_list;
        r
    }
}

fn port(ip: Ipv4Addr, plen: u8, mtu: Option<u16>, lease: u32) -> PortView {
    let mask = u32::MAX << (32 - plen);
    let net = ip.to_bits() & mask;
    let mut v = PortView::new(1, VM_MAC, CONTRAIL_VROUTER_MAC);
    v.ipv4 = Some((ip, plen));
    v.gateway4 = Some(Ipv4Addr::from(net | 1));
    v.service_address4 = Some(Ipv4Addr::from(net | 2));
    v.mtu = mtu;
    v.lease_seconds = lease;
    v
}

fn client_frame(req: &DhcpRepr) -> Vec<u8> {
    let ends = Ends {
        src_mac: req.client_hw,
        dst_mac: MacAddr::BROADCAST,
        src: req.ciaddr,
        dst: Ipv4Addr::BROADCAST,
    };
    frame::udp4_frame(ends, CLIENT_PORT, SERVER_PORT, req.buffer_len(), |b| {
        req.emit(&mut DhcpPacket::new_unchecked(b))
    })
}

fn discover(xid: u32, broadcast: bool) -> DhcpRepr {
    DhcpRepr {
        op: DhcpOp::Request,
        message_type: MessageType::Discover,
        xid,
        broadcast,
        client_hw: VM_MAC,
        parameter_request_list: vec![1, 3, 6, 26, 121],
        ..DhcpRepr::default()
    }
}

const REASONS: [TrapReason; 5] = [
    TrapReason::Arp,
    TrapReason::Dhcp,
    TrapReason::Ndisc,
    TrapReason::Host,
    TrapReason::TtlExpired,
];

/// Every answer is an Ethernet frame from a unicast MAC back to the port.
fn well_formed(replies: &[Vec<u8>]) -> Result<(), TestCaseError> {
    for f in replies {
        let e =
            EthernetFrame::new_checked(&f[..]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(!e.src_addr().is_multicast());
        if let Ok(Some(ip)) = frame::ipv4(f)
            && let Ok(udp) = frame::udp4(&ip)
        {
            prop_assert!(DhcpRepr::parse(&DhcpPacket::new_checked(udp.payload).unwrap()).is_ok());
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn dhcp_messages_survive_emit_then_parse(r in repr()) {
        let b = r.to_bytes();
        prop_assert!(b.len() >= 300);
        let back = DhcpRepr::parse(&DhcpPacket::new_checked(&b[..]).unwrap()).unwrap();
        prop_assert_eq!(back, r);
    }

    #[test]
    fn dhcpv6_messages_survive_emit_then_parse(r in repr6()) {
        let b = r.to_bytes();
        let back = Dhcpv6Repr::parse(&Dhcpv6Packet::new_checked(&b[..]).unwrap()).unwrap();
        prop_assert_eq!(back, r);
    }

    #[test]
    fn any_bytes_under_any_reason_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let v = port(Ipv4Addr::new(10, 1, 0, 3), 24, Some(1400), 3600);
        let everyone = |_: IpAddr| Some(CONTRAIL_VROUTER_MAC);
        for ctx in [TrapContext::default(), TrapContext { neighbors: &everyone }] {
            for r in REASONS {
                well_formed(&trap::handle(&v, r, &data, &ctx).replies)?;
            }
        }
    }

    #[test]
    fn mutated_dhcp_messages_in_valid_frames_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        // The DHCP message is mutated, the frame around it stays valid (checksums are
        // recomputed), so the mutations reach the DHCP parser and server.
        let v = port(Ipv4Addr::new(10, 1, 0, 3), 24, Some(1400), 3600);
        let mut req = discover(7, true);
        req.requested_ip = Some(Ipv4Addr::new(10, 1, 0, 3));
        let mut m = req.to_bytes();
        // Options start at 240: aim half the edits there.
        for (k, (i, b)) in edits.iter().enumerate() {
            let at = if k % 2 == 0 { 240 + i.index(m.len() - 240) } else { i.index(m.len()) };
            m[at] = *b;
        }
        if truncate {
            m.truncate(cut.index(m.len()));
        }
        m.extend_from_slice(&tail);
        let ends = Ends {
            src_mac: VM_MAC,
            dst_mac: MacAddr::BROADCAST,
            src: Ipv4Addr::UNSPECIFIED,
            dst: Ipv4Addr::BROADCAST,
        };
        let f = frame::udp4_frame(ends, CLIENT_PORT, SERVER_PORT, m.len(), |b| b.copy_from_slice(&m));
        let t = trap::handle(&v, TrapReason::Dhcp, &f, &TrapContext::default());
        well_formed(&t.replies)?;
        // And the frame itself cut anywhere.
        let t = trap::handle(&v, TrapReason::Dhcp, &f[..cut.index(f.len())], &TrapContext::default());
        well_formed(&t.replies)?;
    }

    #[test]
    fn a_discover_gets_exactly_the_port_address(
        host in any::<u32>(),
        plen in 8u8..=29,
        mtu in proptest::option::of(576u16..9000),
        lease in 60u32..=86400,
        xid in any::<u32>(),
        broadcast in any::<bool>(),
    ) {
        let mask = u32::MAX << (32 - plen);
        // A host address of the subnet other than network, gateway, service, broadcast.
        let span = !mask;
        let ip = Ipv4Addr::from((0x0a00_0000 & mask) | (3 + host % (span - 3)));
        let v = port(ip, plen, mtu, lease);
        let t = trap::handle(&v, TrapReason::Dhcp, &client_frame(&discover(xid, broadcast)), &TrapContext::default());
        prop_assert_eq!(&t.outcome, &Outcome::DhcpOffer { addr: ip });
        let f = &t.replies[0];
        let ipv = frame::ipv4(f).unwrap().unwrap();
        let udp = frame::udp4(&ipv).unwrap();
        let r = DhcpRepr::parse(&DhcpPacket::new_checked(udp.payload).unwrap()).unwrap();
        prop_assert_eq!(r.message_type, MessageType::Offer);
        prop_assert_eq!(r.xid, xid);
        prop_assert_eq!(r.yiaddr, ip);
        prop_assert_eq!(r.subnet_mask, Some(Ipv4Addr::from(mask)));
        prop_assert_eq!(r.interface_mtu, mtu);
        prop_assert_eq!(r.lease_time, Some(lease));
        prop_assert_eq!(r.renewal_time, Some(lease / 2));
        prop_assert_eq!(r.routers, v.gateway4.into_iter().collect::<Vec<_>>());
        if broadcast {
            prop_assert_eq!((ipv.dst_mac, ipv.ip.dst), (MacAddr::BROADCAST, Ipv4Addr::BROADCAST));
        } else {
            prop_assert_eq!((ipv.dst_mac, ipv.ip.dst), (VM_MAC, ip));
        }
    }
}
