//! Reads what the pipeline needs from an IP packet in one pass: addresses, protocol,
//! ports (ICMP echo identifier as both ports, so both directions key alike), TTL, TCP
//! flags and fragment state. Uses the checked wire views, so any malformed header is an
//! error here and a counted drop upstream.

use crate::wire::{
    IpProtocol, Ipv4Packet, Ipv6Packet, Result, TcpFlags, TcpPacket, UdpPacket, WireError, be16,
};

/// Fragment position of an IPv4 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frag {
    None,
    /// Offset 0 with more fragments: carries the ports.
    First,
    /// Offset > 0: no transport header.
    Later,
}

/// Summary of an IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L3Info {
    pub v6: bool,
    pub src: u128,
    pub dst: u128,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
    pub ttl: u8,
    /// Offset of the transport header from the IP header.
    pub l4_off: usize,
    /// Length of the IP datagram (without link padding).
    pub ip_len: usize,
    pub frag: Frag,
    /// An IPv6 packet with a fragment header (keyed without ports; no transport header
    /// is read or rewritten).
    pub v6_fragment: bool,
    pub ident: u16,
    pub tcp_flags: Option<TcpFlags>,
}

#[inline(always)]
fn ports(proto: IpProtocol, l4: &[u8]) -> Result<(u16, u16, Option<TcpFlags>)> {
    Ok(match proto {
        IpProtocol::TCP => {
            let t = TcpPacket::new_checked(l4)?;
            (t.src_port(), t.dst_port(), Some(t.flags()))
        }
        IpProtocol::UDP => {
            let u = UdpPacket::new_checked(l4)?;
            (u.src_port(), u.dst_port(), None)
        }
        IpProtocol::ICMP | IpProtocol::ICMPV6 => {
            if l4.len() < 8 {
                return Err(WireError::Truncated("icmp"));
            }
            match l4[0] {
                // Echo request/reply (v4 8/0, v6 128/129): the identifier names the flow.
                0 | 8 | 128 | 129 => {
                    let id = be16(l4, 4);
                    (id, id, None)
                }
                _ => (0, 0, None),
            }
        }
        _ => (0, 0, None),
    })
}

/// Parses the IP packet at the start of `buf` (`v6` picks the version expected).
#[inline(always)]
pub fn parse_ip(buf: &[u8], v6: bool) -> Result<L3Info> {
    if !v6 {
        let ip = Ipv4Packet::new_checked(buf)?;
        let hl = ip.header_len();
        let frag = if !ip.is_fragment() {
            Frag::None
        } else if ip.frag_offset() == 0 {
            Frag::First
        } else {
            Frag::Later
        };
        let (sport, dport, tcp_flags) = if frag == Frag::Later {
            (0, 0, None)
        } else {
            ports(ip.protocol(), ip.payload())?
        };
        Ok(L3Info {
            v6,
            src: ip.src_addr().to_bits() as u128,
            dst: ip.dst_addr().to_bits() as u128,
            proto: ip.protocol().0,
            sport,
            dport,
            ttl: ip.ttl(),
            l4_off: hl,
            ip_len: ip.total_len() as usize,
            frag,
            v6_fragment: false,
            ident: ip.ident(),
            tcp_flags,
        })
    } else {
        let ip = Ipv6Packet::new_checked(buf)?;
        let ul = ip.upper_layer()?;
        // IPv6 fragments are keyed without ports (RFC 8200 leaves ports to the first one).
        let (sport, dport, tcp_flags) = match ul.fragment {
            Some(_) => (0, 0, None),
            None => ports(ul.protocol, &buf[ul.offset..40 + ip.payload_len() as usize])?,
        };
        Ok(L3Info {
            v6,
            src: ip.src_addr().to_bits(),
            dst: ip.dst_addr().to_bits(),
            proto: ul.protocol.0,
            sport,
            dport,
            ttl: ip.hop_limit(),
            l4_off: ul.offset,
            ip_len: 40 + ip.payload_len() as usize,
            frag: Frag::None,
            v6_fragment: ul.fragment.is_some(),
            ident: 0,
            tcp_flags,
        })
    }
}
