//! NAT rewrites (floating IPs), IPv4 and IPv6: addresses and ports, patching the IPv4
//! header checksum and the TCP, UDP, ICMP and ICMPv6 checksums incrementally (RFC 1624)
//! so the payload is never re-summed. A transport checksum left partial by the sender's
//! checksum offload holds only the pseudo-header sum: there only the addresses count (as
//! the pseudo-header's part, not complemented) and the ports are summed when the
//! checksum is completed.

use crate::wire::{IpProtocol, Ipv4Packet, checksum, put16};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Rewrites the source or destination (address and port) of the IPv4 packet in `ip`.
/// `l4` is the transport header offset, `None` for a later fragment (no transport header);
/// `partial`: its checksum is left partial (see the module's note).
pub fn rewrite_v4(
    ip: &mut [u8],
    l4: Option<usize>,
    partial: bool,
    src: bool,
    addr: Ipv4Addr,
    port: u16,
) {
    let mut p = Ipv4Packet::new_unchecked(&mut *ip);
    let old = if src { p.src_addr() } else { p.dst_addr() };
    let proto = p.protocol();
    if src {
        p.set_src_addr(addr)
    } else {
        p.set_dst_addr(addr)
    }
    let Some(off) = l4 else { return };
    let (csum_at, port_at, pseudo) = match proto {
        IpProtocol::TCP => (16, if src { 0 } else { 2 }, true),
        IpProtocol::UDP => (6, if src { 0 } else { 2 }, true),
        // ICMP echo: the identifier stands for both ports; no pseudo-header.
        IpProtocol::ICMP => (2, 4, false),
        _ => return,
    };
    let l4b = &mut ip[off..];
    if l4b.len() < port_at + 2 || l4b.len() < csum_at + 2 {
        return;
    }
    let mut c = u16::from_be_bytes([l4b[csum_at], l4b[csum_at + 1]]);
    if partial {
        put16(l4b, port_at, port);
        if pseudo {
            put16(
                l4b,
                csum_at,
                partial_update(c, &old.octets(), &addr.octets()),
            );
        }
        return;
    }
    let udp_no_csum = proto == IpProtocol::UDP && c == 0;
    let old_port = u16::from_be_bytes([l4b[port_at], l4b[port_at + 1]]);
    if pseudo {
        c = checksum::update32(c, old.to_bits(), addr.to_bits());
    }
    c = checksum::update16(c, old_port, port);
    put16(l4b, port_at, port);
    if !udp_no_csum {
        put16(
            l4b,
            csum_at,
            if proto == IpProtocol::UDP && c == 0 {
                0xffff
            } else {
                c
            },
        );
    }
}

/// Rewrites the source or destination (address and port) of the IPv6 packet in `ip`
/// whose upper-layer protocol is `proto` at offset `l4` (`None`: no transport header, a
/// fragment). IPv6 has no header checksum; the TCP, UDP and ICMPv6 checksums cover the
/// addresses through the pseudo-header. `partial` as for [`rewrite_v4`].
pub fn rewrite_v6(
    ip: &mut [u8],
    l4: Option<usize>,
    partial: bool,
    proto: IpProtocol,
    src: bool,
    addr: Ipv6Addr,
    port: u16,
) {
    let at = if src { 8 } else { 24 };
    let Some(field) = ip.get_mut(at..at + 16) else {
        return;
    };
    let mut old = [0u8; 16];
    old.copy_from_slice(field);
    field.copy_from_slice(&addr.octets());
    let Some(off) = l4 else { return };
    let (csum_at, port_at) = match proto {
        IpProtocol::TCP => (16, if src { 0 } else { 2 }),
        IpProtocol::UDP => (6, if src { 0 } else { 2 }),
        // ICMPv6 echo: the identifier stands for both ports.
        IpProtocol::ICMPV6 => (2, 4),
        _ => return,
    };
    let Some(l4b) = ip.get_mut(off..) else { return };
    if l4b.len() < port_at + 2 || l4b.len() < csum_at + 2 {
        return;
    }
    let mut c = u16::from_be_bytes([l4b[csum_at], l4b[csum_at + 1]]);
    if partial {
        put16(l4b, port_at, port);
        put16(l4b, csum_at, partial_update(c, &old, &addr.octets()));
        return;
    }
    // A zero UDP checksum is not valid over IPv6 but is left as it came, as for IPv4.
    let udp_no_csum = proto == IpProtocol::UDP && c == 0;
    let old_port = u16::from_be_bytes([l4b[port_at], l4b[port_at + 1]]);
    c = checksum::update_bytes(c, &old, &addr.octets());
    c = checksum::update16(c, old_port, port);
    put16(l4b, port_at, port);
    if !udp_no_csum {
        put16(
            l4b,
            csum_at,
            if proto == IpProtocol::UDP && c == 0 {
                0xffff
            } else {
                c
            },
        );
    }
}

/// A partial checksum field (the pseudo-header sum, not complemented) after an address
/// in the pseudo-header changed from `old` to `new`: RFC 1624's update on its complement.
fn partial_update(field: u16, old: &[u8], new: &[u8]) -> u16 {
    !checksum::update_bytes(!field, old, new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Ipv4Repr, TcpFlags, TcpPacket, TcpRepr};

    /// An IPv4 + TCP packet (20-byte header, 8 bytes of data) with a full checksum.
    fn tcp_packet() -> [u8; 48] {
        let mut b = [0u8; 48];
        let ip = Ipv4Repr {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            protocol: IpProtocol::TCP,
            payload_len: 28,
            ttl: 64,
            tos: 0,
            ident: 1,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
        };
        ip.emit(&mut b);
        TcpRepr {
            src_port: 1000,
            dst_port: 80,
            seq: 1,
            ack: 2,
            flags: TcpFlags(0x10),
            window: 9,
        }
        .emit(&mut b[20..]);
        b[40..].copy_from_slice(b"payload!");
        let ph = pseudo(&b);
        TcpPacket::new_unchecked(&mut b[20..]).fill_checksum(ph);
        b
    }

    fn pseudo(b: &[u8]) -> u32 {
        let p = Ipv4Packet::new_checked(b).unwrap();
        checksum::pseudo_v4(p.src_addr(), p.dst_addr(), 6, 28)
    }

    fn translate(b: &mut [u8], partial: bool) {
        rewrite_v4(
            b,
            Some(20),
            partial,
            true,
            Ipv4Addr::new(192, 0, 2, 7),
            40000,
        );
        rewrite_v4(
            b,
            Some(20),
            partial,
            false,
            Ipv4Addr::new(192, 0, 2, 8),
            8080,
        );
    }

    #[test]
    fn tcp_rewrite_keeps_checksums_valid() {
        let mut b = tcp_packet();
        translate(&mut b, false);
        assert!(Ipv4Packet::new_checked(&b[..]).unwrap().verify_checksum());
        let t = TcpPacket::new_checked(&b[20..]).unwrap();
        assert_eq!((t.src_port(), t.dst_port()), (40000, 8080));
        assert!(t.verify_checksum(pseudo(&b)));
    }

    #[test]
    fn a_partial_checksum_completes_to_the_translated_packets_checksum() {
        let mut full = tcp_packet();
        translate(&mut full, false);
        // The same packet as an offloading stack hands it over: the field holds only the
        // pseudo-header sum. Translated, then completed, it must equal the full one.
        let mut b = tcp_packet();
        let ph = checksum::fold(pseudo(&b));
        b[36..38].copy_from_slice(&ph.to_be_bytes());
        translate(&mut b, true);
        assert_eq!(&b[36..38], &checksum::fold(pseudo(&b)).to_be_bytes());
        assert!(checksum::complete_partial(&mut b, 20, 16));
        assert_eq!(b, full);
    }
}
