//! Reading a trapped frame down to its transport payload, and building the answers'
//! Ethernet/IP/UDP and Ethernet/IPv6/ICMPv6 frames, with `cirrus_dataplane::wire`'s types.
//! Every reader checks lengths and checksums; malformed input is a [`WireError`].

use cirrus_dataplane::wire::{
    EtherType, EthernetFrame, EthernetRepr, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr,
    MacAddr, UdpPacket, UdpRepr, WireError, checksum,
};
use std::net::{Ipv4Addr, Ipv6Addr};

const ETH: usize = 14;
const IP4: usize = 20;
const IP6: usize = 40;
const UDP: usize = 8;
/// TTL of the IPv4 answers.
pub const TTL: u8 = 64;

/// An IPv4 datagram in an Ethernet frame, header checksum verified.
pub struct Ip4View<'a> {
    pub src_mac: MacAddr,
    pub dst_mac: MacAddr,
    pub ip: Ipv4Repr,
    /// The IP payload (length per the header; Ethernet padding removed).
    pub payload: &'a [u8],
}

/// Reads an IPv4 frame; `Ok(None)` when the frame holds something else (ARP, IPv6).
pub fn ipv4(frame: &[u8]) -> Result<Option<Ip4View<'_>>, WireError> {
    let eth = EthernetFrame::new_checked(frame)?;
    if eth.ethertype() != EtherType::IPV4 {
        return Ok(None);
    }
    let p = Ipv4Packet::new_checked(&frame[ETH..])?;
    let ip = Ipv4Repr::parse(&p)?;
    let hl = p.header_len();
    let payload = &frame[ETH + hl..ETH + p.total_len() as usize];
    Ok(Some(Ip4View {
        src_mac: eth.src_addr(),
        dst_mac: eth.dst_addr(),
        ip,
        payload,
    }))
}

/// A UDP datagram (over IPv4 or IPv6), checksum verified (when the sender set one).
pub struct Udp4View<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: &'a [u8],
}

/// Reads the UDP datagram in `v`; a fragment is refused (DHCP never needs reassembly).
pub fn udp4<'a>(v: &Ip4View<'a>) -> Result<Udp4View<'a>, WireError> {
    if v.ip.protocol != IpProtocol::UDP {
        return Err(WireError::Unsupported("not udp"));
    }
    if v.ip.more_frags || v.ip.frag_offset != 0 {
        return Err(WireError::Unsupported("udp fragment"));
    }
    let u = UdpPacket::new_checked(v.payload)?;
    let ph = checksum::pseudo_v4(v.ip.src, v.ip.dst, 17, u.len() as u32);
    if !u.verify_checksum(ph) {
        return Err(WireError::Checksum("udp"));
    }
    let payload = &v.payload[UDP..u.len() as usize];
    Ok(Udp4View {
        src_port: u.src_port(),
        dst_port: u.dst_port(),
        payload,
    })
}

/// An IPv6 packet in an Ethernet frame, with the upper layer found past any extension
/// headers.
pub struct Ip6View<'a> {
    pub src_mac: MacAddr,
    pub dst_mac: MacAddr,
    pub ip: Ipv6Repr,
    pub protocol: IpProtocol,
    /// The upper-layer message (from its header to the end of the IPv6 payload).
    pub upper: &'a [u8],
    /// Whether a fragment header was crossed.
    pub fragment: bool,
}

/// Reads an IPv6 frame; `Ok(None)` when the frame holds something else.
pub fn ipv6(frame: &[u8]) -> Result<Option<Ip6View<'_>>, WireError> {
    let eth = EthernetFrame::new_checked(frame)?;
    if eth.ethertype() != EtherType::IPV6 {
        return Ok(None);
    }
    let p = Ipv6Packet::new_checked(&frame[ETH..])?;
    let ip = Ipv6Repr::parse(&p)?;
    let ul = p.upper_layer()?;
    let end = ETH + IP6 + p.payload_len() as usize;
    Ok(Some(Ip6View {
        src_mac: eth.src_addr(),
        dst_mac: eth.dst_addr(),
        ip,
        protocol: ul.protocol,
        upper: &frame[ETH + ul.offset..end],
        fragment: ul.fragment.is_some(),
    }))
}

/// Reads the UDP datagram in `v` (not fragmented; the checksum is mandatory over IPv6).
pub fn udp6<'a>(v: &Ip6View<'a>) -> Result<Udp4View<'a>, WireError> {
    if v.protocol != IpProtocol::UDP {
        return Err(WireError::Unsupported("not udp"));
    }
    if v.fragment {
        return Err(WireError::Unsupported("udp fragment"));
    }
    let u = UdpPacket::new_checked(v.upper)?;
    let ph = checksum::pseudo_v6(&v.ip.src, &v.ip.dst, 17, u.len() as u32);
    if u.checksum() == 0 || !u.verify_checksum(ph) {
        return Err(WireError::Checksum("udp"));
    }
    Ok(Udp4View {
        src_port: u.src_port(),
        dst_port: u.dst_port(),
        payload: &v.upper[UDP..u.len() as usize],
    })
}

/// An Ethernet/IPv6/UDP frame carrying `payload_len` bytes that `fill` writes.
pub fn udp6_frame(
    ends: Ends<Ipv6Addr>,
    src_port: u16,
    dst_port: u16,
    payload_len: usize,
    fill: impl FnOnce(&mut [u8]),
) -> Vec<u8> {
    ip6_frame(ends, IpProtocol::UDP, TTL, UDP + payload_len, |b, ph| {
        UdpRepr {
            src_port,
            dst_port,
            payload_len,
        }
        .emit(b);
        fill(&mut b[UDP..]);
        UdpPacket::new_unchecked(b).fill_checksum(ph);
    })
}

/// The addresses of an answer.
#[derive(Debug, Clone, Copy)]
pub struct Ends<A> {
    pub src_mac: MacAddr,
    pub dst_mac: MacAddr,
    pub src: A,
    pub dst: A,
}

/// An Ethernet/IPv4/UDP frame carrying `payload_len` bytes that `fill` writes; the UDP
/// checksum is computed after.
pub fn udp4_frame(
    ends: Ends<Ipv4Addr>,
    src_port: u16,
    dst_port: u16,
    payload_len: usize,
    fill: impl FnOnce(&mut [u8]),
) -> Vec<u8> {
    let mut f = vec![0u8; ETH + IP4 + UDP + payload_len];
    EthernetRepr {
        src: ends.src_mac,
        dst: ends.dst_mac,
        ethertype: EtherType::IPV4,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    Ipv4Repr {
        src: ends.src,
        dst: ends.dst,
        protocol: IpProtocol::UDP,
        payload_len: UDP + payload_len,
        ttl: TTL,
        tos: 0,
        ident: 0,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    }
    .emit(&mut f[ETH..]);
    UdpRepr {
        src_port,
        dst_port,
        payload_len,
    }
    .emit(&mut f[ETH + IP4..]);
    fill(&mut f[ETH + IP4 + UDP..]);
    let ph = checksum::pseudo_v4(ends.src, ends.dst, 17, (UDP + payload_len) as u32);
    UdpPacket::new_unchecked(&mut f[ETH + IP4..]).fill_checksum(ph);
    f
}

/// An Ethernet/IPv4 frame with protocol `proto` and a `payload_len`-byte payload that
/// `fill` writes (with its own checksum).
pub fn ip4_frame(
    ends: Ends<Ipv4Addr>,
    proto: IpProtocol,
    payload_len: usize,
    fill: impl FnOnce(&mut [u8]),
) -> Vec<u8> {
    let mut f = vec![0u8; ETH + IP4 + payload_len];
    EthernetRepr {
        src: ends.src_mac,
        dst: ends.dst_mac,
        ethertype: EtherType::IPV4,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    Ipv4Repr {
        src: ends.src,
        dst: ends.dst,
        protocol: proto,
        payload_len,
        ttl: TTL,
        tos: 0,
        ident: 0,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    }
    .emit(&mut f[ETH..]);
    fill(&mut f[ETH + IP4..]);
    f
}

/// An Ethernet/IPv6 frame with next header `proto`, hop limit `hop_limit` and a
/// `payload_len`-byte payload that `fill` writes; `fill` gets the pseudo-header sum for
/// its checksum.
pub fn ip6_frame(
    ends: Ends<Ipv6Addr>,
    proto: IpProtocol,
    hop_limit: u8,
    payload_len: usize,
    fill: impl FnOnce(&mut [u8], u32),
) -> Vec<u8> {
    let mut f = vec![0u8; ETH + IP6 + payload_len];
    EthernetRepr {
        src: ends.src_mac,
        dst: ends.dst_mac,
        ethertype: EtherType::IPV6,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    Ipv6Repr {
        src: ends.src,
        dst: ends.dst,
        next_header: proto,
        payload_len,
        hop_limit,
        traffic_class: 0,
        flow_label: 0,
    }
    .emit(&mut f[ETH..]);
    let ph = checksum::pseudo_v6(&ends.src, &ends.dst, proto.0, payload_len as u32);
    fill(&mut f[ETH + IP6..], ph);
    f
}

/// The Ethernet address of an IPv6 multicast group (RFC 2464 section 7).
pub fn ipv6_multicast_mac(group: Ipv6Addr) -> MacAddr {
    let o = group.octets();
    MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const B: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);

    #[test]
    fn udp4_frame_reads_back_with_fixed_bytes() {
        let ends = Ends {
            src_mac: A,
            dst_mac: B,
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
        };
        let f = udp4_frame(ends, 67, 68, 3, |p| p.copy_from_slice(b"abc"));
        // Ethernet, then the IPv4 header (checksum 0x66cc over these fields, computed by hand), then UDP.
        assert_eq!(
            &f[..34],
            &[
                2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, //
                0x45, 0, 0, 31, 0, 0, 0, 0, 64, 17, 0x66, 0xcc, 10, 0, 0, 1, 10, 0, 0, 2
            ]
        );
        assert_eq!(&f[34..40], &[0, 67, 0, 68, 0, 11]);
        let v = ipv4(&f).unwrap().unwrap();
        assert_eq!((v.src_mac, v.dst_mac), (A, B));
        let u = udp4(&v).unwrap();
        assert_eq!((u.src_port, u.dst_port, u.payload), (67, 68, &b"abc"[..]));
        let mut bad = f.clone();
        bad[42] ^= 1; // payload byte: the UDP checksum no longer matches
        assert_eq!(
            udp4(&ipv4(&bad).unwrap().unwrap()).err(),
            Some(WireError::Checksum("udp"))
        );
        assert!(ipv4(&f[..30]).is_err());
    }

    #[test]
    fn multicast_mac_of_solicited_node_group() {
        let g: Ipv6Addr = "ff02::1:ff00:2".parse().unwrap();
        assert_eq!(
            ipv6_multicast_mac(g),
            MacAddr([0x33, 0x33, 0xff, 0x00, 0x00, 0x02])
        );
    }
}
