//! Shared by the trap unit tests: a port, and the frames a workload sends.

use super::dhcp_wire::{CLIENT_PORT, DhcpOp, DhcpPacket, DhcpRepr, MessageType, SERVER_PORT};
use super::frame::{self, Ends};
use super::{CONTRAIL_VROUTER_MAC, PortView};
use cirrus_dataplane::wire::{
    ArpOperation, ArpRepr, EtherType, EthernetFrame, EthernetRepr, Icmpv4Packet, Icmpv4Repr,
    Icmpv6Packet, Icmpv6Repr, IpProtocol, MacAddr,
};
use std::net::{Ipv4Addr, Ipv6Addr};

pub const VROUTER_MAC: MacAddr = CONTRAIL_VROUTER_MAC;
pub const VM_MAC: MacAddr = MacAddr([0x02, 0x1a, 0xf4, 0xbe, 0xe3, 0x04]);
pub const VM_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 3);
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
pub const SERVICE: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);
pub const VM_IP6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 1, 0, 0, 0, 3);
pub const GATEWAY6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0, 0, 1, 0, 0, 0, 1);
pub const VM_LL6: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x1a, 0xf4ff, 0xfebe, 0xe304);

/// A port in 10.1.0.0/24 (gateway .1, service address .2) and fd00:0:0:1::/64.
pub fn port() -> PortView {
    let mut v = PortView::new(7, VM_MAC, VROUTER_MAC);
    v.ipv4 = Some((VM_IP, 24));
    v.gateway4 = Some(GATEWAY);
    v.service_address4 = Some(SERVICE);
    v.dns_servers4 = vec![SERVICE];
    v.ipv6 = Some((VM_IP6, 64));
    v.gateway6 = Some(GATEWAY6);
    v.mtu = Some(1400);
    v.hostname = Some("vm1".into());
    v.domain = Some("tenant.example".into());
    v.lease_seconds = 3600;
    v
}

/// A DISCOVER from the port's MAC with the broadcast flag and this parameter list.
pub fn discover(prl: &[u8]) -> DhcpRepr {
    DhcpRepr {
        op: DhcpOp::Request,
        message_type: MessageType::Discover,
        xid: 0x1234_5678,
        broadcast: true,
        client_hw: VM_MAC,
        parameter_request_list: prl.to_vec(),
        ..DhcpRepr::default()
    }
}

/// The frame a client sends `req` in: from 0.0.0.0 (or its ciaddr) to the broadcast.
pub fn client_frame(req: &DhcpRepr) -> Vec<u8> {
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

/// Reads a server's answer frame back: its addresses and the message.
pub fn parse_server_frame(f: &[u8]) -> (Ends<Ipv4Addr>, DhcpRepr) {
    let ip = frame::ipv4(f).unwrap().unwrap();
    let udp = frame::udp4(&ip).unwrap();
    assert_eq!((udp.src_port, udp.dst_port), (SERVER_PORT, CLIENT_PORT));
    let r = DhcpRepr::parse(&DhcpPacket::new_checked(udp.payload).unwrap()).unwrap();
    (
        Ends {
            src_mac: ip.src_mac,
            dst_mac: ip.dst_mac,
            src: ip.ip.src,
            dst: ip.ip.dst,
        },
        r,
    )
}

/// An ARP frame from the workload.
pub fn arp_frame(op: ArpOperation, sha: MacAddr, spa: Ipv4Addr, tpa: Ipv4Addr) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 28];
    EthernetRepr {
        src: sha,
        dst: MacAddr::BROADCAST,
        ethertype: EtherType::ARP,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    ArpRepr {
        operation: op,
        source_hw: sha,
        source_ip: spa,
        target_hw: MacAddr::ZERO,
        target_ip: tpa,
    }
    .emit(&mut f[14..]);
    f
}

/// An ICMP echo request from the workload to `dst`.
pub fn ping4(dst: Ipv4Addr, data: &[u8]) -> Vec<u8> {
    let ends = Ends {
        src_mac: VM_MAC,
        dst_mac: VROUTER_MAC,
        src: VM_IP,
        dst,
    };
    let icmp = Icmpv4Repr::echo(true, 0x4242, 9, data.len());
    frame::ip4_frame(ends, IpProtocol::ICMP, icmp.buffer_len(), |b| {
        icmp.emit(b);
        b[8..].copy_from_slice(data);
        Icmpv4Packet::new_unchecked(b).fill_checksum();
    })
}

/// An ICMPv6 message from `src` (the workload's MAC) to `dst`, hop limit 255, with
/// `extra` appended after `repr`.
pub fn icmp6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    dst_mac: MacAddr,
    repr: Icmpv6Repr,
    extra: &[u8],
) -> Vec<u8> {
    let ends = Ends {
        src_mac: VM_MAC,
        dst_mac,
        src,
        dst,
    };
    let n = repr.buffer_len();
    frame::ip6_frame(ends, IpProtocol::ICMPV6, 255, n + extra.len(), |b, ph| {
        repr.emit(b);
        b[n..].copy_from_slice(extra);
        Icmpv6Packet::new_unchecked(b).fill_checksum(ph);
    })
}
