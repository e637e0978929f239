//! The DHCP (v4 and v6) parsers and the v4 server on arbitrary bytes: no panic; a message
//! that parses is a fixpoint of emit-then-parse; the bytes as the UDP payload of a workload's DHCP frame
//! get answers that are well-formed DHCP frames.
#![no_main]

use cirrus_agent::trap::dhcp_wire::{CLIENT_PORT, DhcpPacket, DhcpRepr, SERVER_PORT};
use cirrus_agent::trap::dhcpv6_wire::{Dhcpv6Packet, Dhcpv6Repr};
use cirrus_agent::trap::frame::{self, Ends};
use cirrus_agent::trap::{self, CONTRAIL_VROUTER_MAC, HostRoute, PortView, TrapContext};
use cirrus_dataplane::pipeline::TrapReason;
use cirrus_dataplane::wire::MacAddr;
use libfuzzer_sys::fuzz_target;
use std::net::Ipv4Addr;

const VM_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 3]);

fn view() -> PortView {
    let mut v = PortView::new(1, VM_MAC, CONTRAIL_VROUTER_MAC);
    v.ipv4 = Some((Ipv4Addr::new(10, 1, 0, 3), 24));
    v.gateway4 = Some(Ipv4Addr::new(10, 1, 0, 1));
    v.service_address4 = Some(Ipv4Addr::new(10, 1, 0, 2));
    v.dns_servers4 = vec![Ipv4Addr::new(10, 1, 0, 2)];
    v.host_routes = vec![HostRoute {
        prefix: Ipv4Addr::new(192, 168, 0, 0),
        prefix_len: 16,
        nexthop: None,
    }];
    v.mtu = Some(1400);
    v.hostname = Some("vm".into());
    v.domain = Some("example".into());
    v.lease_seconds = 3600;
    v
}

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = DhcpPacket::new_checked(data)
        && let Ok(r) = DhcpRepr::parse(&p)
    {
        let b = r.to_bytes();
        let again = DhcpRepr::parse(&DhcpPacket::new_checked(&b[..]).unwrap()).unwrap();
        assert_eq!(again, r);
    }
    if let Ok(p) = Dhcpv6Packet::new_checked(data)
        && let Ok(r) = Dhcpv6Repr::parse(&p)
    {
        let b = r.to_bytes();
        let again = Dhcpv6Repr::parse(&Dhcpv6Packet::new_checked(&b[..]).unwrap()).unwrap();
        assert_eq!(again, r);
    }
    // A client's chaddr is bytes 28..34: make it the port's so the server answers more.
    let mut payload = data.to_vec();
    if payload.len() >= 34 {
        payload[28..34].copy_from_slice(&VM_MAC.0);
    }
    let ends = Ends {
        src_mac: VM_MAC,
        dst_mac: MacAddr::BROADCAST,
        src: Ipv4Addr::UNSPECIFIED,
        dst: Ipv4Addr::BROADCAST,
    };
    let f = frame::udp4_frame(ends, CLIENT_PORT, SERVER_PORT, payload.len(), |b| {
        b.copy_from_slice(&payload)
    });
    let t = trap::handle(&view(), TrapReason::Dhcp, &f, &TrapContext::default());
    for reply in &t.replies {
        let ip = frame::ipv4(reply).unwrap().unwrap();
        let udp = frame::udp4(&ip).unwrap();
        DhcpRepr::parse(&DhcpPacket::new_checked(udp.payload).unwrap()).unwrap();
    }
});
