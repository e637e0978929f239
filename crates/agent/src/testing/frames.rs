//! Frames for tests: workload TCP/UDP/ICMP over Ethernet and IPv4, and the same carried
//! over MPLS over UDP as it arrives from the fabric.

use std::net::Ipv4Addr;

use cirrus_dataplane::tables::MPLS_UDP_PORT;
use cirrus_dataplane::wire::{
    EtherType, EthernetFrame, EthernetRepr, IpProtocol, Ipv4Packet, Ipv4Repr, MacAddr, MplsRepr,
    TcpFlags, TcpPacket, TcpRepr, UdpRepr, checksum,
};

fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, payload_len: usize, out: &mut [u8]) {
    Ipv4Repr {
        src,
        dst,
        protocol,
        payload_len,
        ttl: 64,
        tos: 0,
        ident: 7,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    }
    .emit(out);
    Ipv4Packet::new_unchecked(&mut out[..]).fill_checksum();
}

/// A TCP segment in an IPv4 packet (no Ethernet).
pub fn tcp_ip(
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    flags: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = vec![0u8; 40 + payload.len()];
    ipv4(src, dst, IpProtocol::TCP, 20 + payload.len(), &mut b[..20]);
    TcpRepr {
        src_port: sport,
        dst_port: dport,
        seq: 1000,
        ack: if flags & TcpFlags::ACK != 0 { 1 } else { 0 },
        flags: TcpFlags(flags),
        window: 65535,
    }
    .emit(&mut b[20..40]);
    b[40..].copy_from_slice(payload);
    let ph = checksum::pseudo_v4(src, dst, 6, (20 + payload.len()) as u32);
    TcpPacket::new_unchecked(&mut b[20..]).fill_checksum(ph);
    b
}

/// A UDP datagram in an IPv4 packet (checksum zero).
pub fn udp_ip(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 28 + payload.len()];
    ipv4(src, dst, IpProtocol::UDP, 8 + payload.len(), &mut b[..20]);
    UdpRepr {
        src_port: sport,
        dst_port: dport,
        payload_len: payload.len(),
    }
    .emit(&mut b[20..28]);
    b[28..].copy_from_slice(payload);
    b
}

/// An ICMP echo request in an IPv4 packet.
pub fn echo_ip(src: Ipv4Addr, dst: Ipv4Addr, ident: u16, seq: u16) -> Vec<u8> {
    let mut b = vec![0u8; 36];
    ipv4(src, dst, IpProtocol::ICMP, 16, &mut b[..20]);
    b[20] = 8;
    b[24..26].copy_from_slice(&ident.to_be_bytes());
    b[26..28].copy_from_slice(&seq.to_be_bytes());
    let c = !checksum::fold(checksum::sum(&b[20..]));
    b[22..24].copy_from_slice(&c.to_be_bytes());
    b
}

/// An IP packet in an Ethernet frame.
pub fn ether(src: MacAddr, dst: MacAddr, ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 14 + ip.len()];
    EthernetRepr {
        src,
        dst,
        ethertype: EtherType::IPV4,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    f[14..].copy_from_slice(ip);
    f
}

/// An IP packet as it arrives from the fabric over MPLS over UDP.
pub fn mpls_udp(src: Ipv4Addr, dst: Ipv4Addr, label: u32, inner_ip: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 28 + 4 + inner_ip.len()];
    ipv4(src, dst, IpProtocol::UDP, 12 + inner_ip.len(), &mut b[..20]);
    UdpRepr {
        src_port: 49152,
        dst_port: MPLS_UDP_PORT,
        payload_len: 4 + inner_ip.len(),
    }
    .emit(&mut b[20..28]);
    MplsRepr {
        label,
        tc: 0,
        bottom_of_stack: true,
        ttl: 64,
    }
    .emit(&mut b[28..32]);
    b[32..].copy_from_slice(inner_ip);
    ether(
        MacAddr([2, 0xfa, 0, 0, 0, 99]),
        MacAddr([2, 0xfa, 0, 0, 0, 98]),
        &b,
    )
}
