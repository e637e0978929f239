//! Segmentation offload in software, for devices that exchange virtio-net metadata with
//! the kernel (`PACKET_VNET_HDR`, see `vnet.rs`): the header itself, completion of a
//! checksum the kernel left partial, cutting a TCP super-frame into segments, and the
//! header that lets the kernel take a frame larger than the link MTU.
//!
//! A workload's TCP stack hands its veth super-frames of up to 64 KiB (TSO/GSO) whose
//! TCP checksum holds only the pseudo-header sum. They are cut here into segments sized
//! for the overlay (up to `max_ip_len` bytes of IP each: jumbo segments when the fabric
//! MTU allows, fewer packets for the pipeline and the fabric), every header rewritten as
//! the kernel's own segmentation would (IPv4 length, identification and header checksum,
//! IPv6 payload length, TCP sequence number, FIN/PSH on the last segment only, CWR on the
//! first only) and every TCP checksum computed in full. On the way into a workload, a
//! segment larger than the link MTU goes to the kernel as a GSO frame (`tx_header`): the
//! workload's stack takes it whole, as it takes a GRO'd packet.

use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::wire::checksum;
use std::net::{Ipv4Addr, Ipv6Addr};

pub(crate) const ETH: usize = 14;

/// `struct virtio_net_hdr` (the 10-byte legacy form packet sockets use), little-endian
/// on the wire to the kernel as on every host this runs on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VnetHdr {
    pub flags: u8,
    pub gso_type: u8,
    pub hdr_len: u16,
    pub gso_size: u16,
    pub csum_start: u16,
    pub csum_offset: u16,
}

impl VnetHdr {
    pub const LEN: usize = 10;
    /// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum at `csum_start + csum_offset` holds
    /// only the pseudo-header sum; the rest is to be summed from `csum_start` on.
    pub const F_NEEDS_CSUM: u8 = 1;
    pub const GSO_NONE: u8 = 0;
    pub const GSO_TCPV4: u8 = 1;
    pub const GSO_TCPV6: u8 = 4;
    /// Flag bit: the sender uses ECN (CWR is set on the first segment only).
    pub const GSO_ECN: u8 = 0x80;

    pub fn parse(b: &[u8; Self::LEN]) -> Self {
        let u = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        Self {
            flags: b[0],
            gso_type: b[1],
            hdr_len: u(2),
            gso_size: u(4),
            csum_start: u(6),
            csum_offset: u(8),
        }
    }

    pub fn emit(&self) -> [u8; Self::LEN] {
        let mut b = [0u8; Self::LEN];
        b[0] = self.flags;
        b[1] = self.gso_type;
        b[2..4].copy_from_slice(&self.hdr_len.to_le_bytes());
        b[4..6].copy_from_slice(&self.gso_size.to_le_bytes());
        b[6..8].copy_from_slice(&self.csum_start.to_le_bytes());
        b[8..10].copy_from_slice(&self.csum_offset.to_le_bytes());
        b
    }
}

/// Why an offload frame could not be handled (it is dropped and counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GsoError {
    /// Not Ethernet + IPv4 (no options needed, any) or IPv6 (no extension headers) + TCP.
    NotTcp,
    /// Lengths that do not add up, or a segment size that leaves no room for payload.
    BadLength,
}

/// Completes a partial checksum: sums `frame[start..]` (whose checksum field, at
/// `start + offset`, holds the pseudo-header sum) and writes the result there.
pub fn complete_checksum(frame: &mut [u8], start: usize, offset: usize) -> bool {
    checksum::complete_partial(frame, start, offset)
}

/// Where the headers of an Ethernet + IP + TCP frame end.
struct Layout {
    v6: bool,
    /// IP header length, TCP header length.
    ip: usize,
    tcp: usize,
    /// TCP payload bytes.
    payload: usize,
}

/// The layout of a frame whose first bytes are `f` and whose whole length is `total`.
fn layout(f: &[u8], total: usize) -> Result<Layout, GsoError> {
    let ethertype = u16::from_be_bytes([*f.get(12).ok_or(GsoError::NotTcp)?, f[13]]);
    let ip_at = f.get(ETH..).ok_or(GsoError::NotTcp)?;
    let avail = total.saturating_sub(ETH);
    let (v6, ip, ip_len) = match ethertype {
        0x0800 => {
            let b0 = *ip_at.first().ok_or(GsoError::NotTcp)?;
            let ihl = ((b0 & 0x0f) as usize) * 4;
            if b0 >> 4 != 4 || ihl < 20 || ip_at.len() < ihl || ip_at[9] != 6 {
                return Err(GsoError::NotTcp);
            }
            let total = u16::from_be_bytes([ip_at[2], ip_at[3]]) as usize;
            (false, ihl, total)
        }
        0x86dd => {
            if ip_at.len() < 40 || ip_at[0] >> 4 != 6 || ip_at[6] != 6 {
                return Err(GsoError::NotTcp);
            }
            let payload = u16::from_be_bytes([ip_at[4], ip_at[5]]) as usize;
            (true, 40, 40 + payload)
        }
        _ => return Err(GsoError::NotTcp),
    };
    if ip_len > avail || ip_len < ip + 20 || ip_at.len() < ip + 20 {
        return Err(GsoError::BadLength);
    }
    let tcp = ((ip_at[ip + 12] >> 4) as usize) * 4;
    if tcp < 20 || ip + tcp > ip_len || ip + tcp > ip_at.len() {
        return Err(GsoError::BadLength);
    }
    Ok(Layout {
        v6,
        ip,
        tcp,
        payload: ip_len - ip - tcp,
    })
}

/// The pseudo-header sum of a TCP segment of `tcp_len` bytes in the IP packet `ip`.
fn pseudo(ip: &[u8], v6: bool, tcp_len: usize) -> u32 {
    if v6 {
        let a = |at: usize| Ipv6Addr::from(<[u8; 16]>::try_from(&ip[at..at + 16]).unwrap());
        checksum::pseudo_v6(&a(8), &a(24), 6, tcp_len as u32)
    } else {
        let a = |at: usize| Ipv4Addr::from(<[u8; 4]>::try_from(&ip[at..at + 4]).unwrap());
        checksum::pseudo_v4(a(12), a(16), 6, tcp_len as u32)
    }
}

/// Copies `dst.len()` bytes of `head ++ tail` from offset `at`.
fn copy_split(dst: &mut [u8], head: &[u8], tail: &[u8], at: usize) {
    let n = dst.len();
    if at >= head.len() {
        let at = at - head.len();
        dst.copy_from_slice(&tail[at..at + n]);
    } else {
        let k = (head.len() - at).min(n);
        dst[..k].copy_from_slice(&head[at..at + k]);
        dst[k..].copy_from_slice(&tail[..n - k]);
    }
}

/// Cuts the TCP super-frame `head ++ tail` (received in two pieces: the headers are in
/// `head`) into segments of at most `max_ip_len` bytes of IP each, appended to `out` in
/// buffers from `spare`; returns how many. The checksum the kernel left partial is not
/// read: every segment's is computed whole.
pub fn segment_tcp(
    head: &[u8],
    tail: &[u8],
    max_ip_len: usize,
    out: &mut Vec<PacketBuf>,
    spare: &mut Vec<PacketBuf>,
) -> Result<usize, GsoError> {
    let f = head;
    let l = layout(f, head.len() + tail.len())?;
    let hdrs = ETH + l.ip + l.tcp;
    let mss = max_ip_len
        .checked_sub(l.ip + l.tcp)
        .filter(|m| *m > 0)
        .ok_or(GsoError::BadLength)?;
    let segs = l.payload.div_ceil(mss).max(1);
    let seq = u32::from_be_bytes(f[ETH + l.ip + 4..ETH + l.ip + 8].try_into().unwrap());
    let ident = u16::from_be_bytes([f[ETH + 4], f[ETH + 5]]);
    let flags = f[ETH + l.ip + 13];
    for i in 0..segs {
        let from = (i * mss).min(l.payload);
        let part = ((i + 1) * mss).min(l.payload) - from;
        let len = hdrs + part;
        let mut b = spare.pop().unwrap_or_else(PacketBuf::empty);
        b.ensure_room(len);
        let _: Result<usize, ()> = b.fill_with(|room| {
            let s = &mut room[..len];
            s[..hdrs].copy_from_slice(&f[..hdrs]);
            copy_split(&mut s[hdrs..], head, tail, hdrs + from);
            let ip_len = l.ip + l.tcp + part;
            let ip = &mut s[ETH..];
            if l.v6 {
                ip[4..6].copy_from_slice(&((ip_len - 40) as u16).to_be_bytes());
            } else {
                ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
                ip[4..6].copy_from_slice(&ident.wrapping_add(i as u16).to_be_bytes());
                ip[10..12].copy_from_slice(&[0, 0]);
                let c = checksum::checksum(&ip[..l.ip]);
                ip[10..12].copy_from_slice(&c.to_be_bytes());
            }
            let ph = pseudo(ip, l.v6, l.tcp + part);
            let tcp = &mut ip[l.ip..];
            tcp[4..8].copy_from_slice(&seq.wrapping_add(from as u32).to_be_bytes());
            let mut fl = flags;
            if i + 1 < segs {
                fl &= !0x09; // FIN, PSH: last segment only
            }
            if i > 0 {
                fl &= !0x80; // CWR: first segment only
            }
            tcp[13] = fl;
            tcp[16..18].copy_from_slice(&[0, 0]);
            let c = !checksum::fold(checksum::combine(&[ph, checksum::sum(tcp)]));
            tcp[16..18].copy_from_slice(&c.to_be_bytes());
            Ok(len)
        });
        out.push(b);
    }
    Ok(segs)
}

/// How to send a frame on a `PACKET_VNET_HDR` socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxHeader {
    pub hdr: VnetHdr,
    /// Two bytes to send at this offset instead of the frame's own (the TCP checksum
    /// field, as the pseudo-header sum the kernel completes): the frame is not changed.
    pub patch: Option<(usize, [u8; 2])>,
}

/// Why a frame cannot be sent as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxRefused {
    /// Larger than the link and not TCP: the kernel would refuse it (`EMSGSIZE`).
    TooBig,
    /// A TCP frame to hand over whole whose checksum is wrong (damaged on the way): the
    /// kernel would not check it again, so it is dropped here, as the stack would.
    BadChecksum,
}

/// The header to send `f` with on a link of `mtu` (IP bytes). A frame whose checksum
/// is left partial (`partial`: where it is, see `PacketBuf::partial_checksum`) goes with
/// it partial, for the kernel to complete or the receiving stack to trust. Otherwise a
/// plain header when it fits; for a TCP frame that does not, a GSO header (segments of
/// the link's MSS for this connection's header size) with the TCP checksum sent as the
/// pseudo-header sum the kernel completes per segment (after checking the frame's own,
/// which nobody checks after that: the receiving stack trusts a checksum left partial).
pub fn tx_header(
    f: &[u8],
    partial: Option<(usize, usize)>,
    mtu: usize,
) -> Result<TxHeader, TxRefused> {
    let plain = match partial {
        Some((start, offset)) => VnetHdr {
            flags: VnetHdr::F_NEEDS_CSUM,
            csum_start: start as u16,
            csum_offset: offset as u16,
            ..VnetHdr::default()
        },
        None => VnetHdr::default(),
    };
    if f.len() <= ETH + mtu {
        return Ok(TxHeader {
            hdr: plain,
            patch: None,
        });
    }
    let l = layout(f, f.len()).map_err(|_| TxRefused::TooBig)?;
    let gso_size = mtu
        .checked_sub(l.ip + l.tcp)
        .filter(|m| *m > 0)
        .ok_or(TxRefused::TooBig)?;
    let start = ETH + l.ip;
    let gso = VnetHdr {
        flags: VnetHdr::F_NEEDS_CSUM,
        gso_type: if l.v6 {
            VnetHdr::GSO_TCPV6
        } else {
            VnetHdr::GSO_TCPV4
        },
        hdr_len: (start + l.tcp) as u16,
        gso_size: gso_size as u16,
        csum_start: start as u16,
        csum_offset: 16,
    };
    if partial == Some((start, 16)) {
        // Already what the kernel completes per segment.
        return Ok(TxHeader {
            hdr: gso,
            patch: None,
        });
    }
    let ph = pseudo(&f[ETH..], l.v6, l.tcp + l.payload);
    let end = start + l.tcp + l.payload;
    if partial.is_some()
        || checksum::fold(checksum::combine(&[ph, checksum::sum(&f[start..end])])) != 0xffff
    {
        // Partial somewhere else than the TCP checksum: not a frame a stack makes.
        return Err(TxRefused::BadChecksum);
    }
    Ok(TxHeader {
        hdr: gso,
        patch: Some((start + 16, checksum::fold(ph).to_be_bytes())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cirrus_dataplane::wire::*;

    const A: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 3);
    const B: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 4);

    /// A TCP super-frame as a stack hands it over with TSO: `payload` bytes after a
    /// 32-byte TCP header (timestamps), checksum left as the pseudo-header sum.
    fn super_frame(payload: usize, flags: u8, v6: bool) -> Vec<u8> {
        let ip = if v6 { 40 } else { 20 };
        let mut f = vec![0u8; ETH + ip + 32 + payload];
        f[12..14].copy_from_slice(if v6 { &[0x86, 0xdd] } else { &[0x08, 0x00] });
        let total = ip + 32 + payload;
        {
            let h = &mut f[ETH..];
            if v6 {
                h[0] = 0x60;
                h[4..6].copy_from_slice(&((total - 40) as u16).to_be_bytes());
                h[6] = 6;
                h[7] = 64;
                h[8..24].copy_from_slice(&A.to_ipv6_mapped().octets());
                h[24..40].copy_from_slice(&B.to_ipv6_mapped().octets());
            } else {
                h[0] = 0x45;
                h[2..4].copy_from_slice(&(total as u16).to_be_bytes());
                h[4..6].copy_from_slice(&0xfff0u16.to_be_bytes());
                h[6] = 0x40;
                h[8] = 64;
                h[9] = 6;
                h[12..16].copy_from_slice(&A.octets());
                h[16..20].copy_from_slice(&B.octets());
                let c = checksum::checksum(&h[..20]);
                h[10..12].copy_from_slice(&c.to_be_bytes());
            }
        }
        let t = ETH + ip;
        f[t..t + 2].copy_from_slice(&40000u16.to_be_bytes());
        f[t + 2..t + 4].copy_from_slice(&5201u16.to_be_bytes());
        f[t + 4..t + 8].copy_from_slice(&0xffff_f000u32.to_be_bytes());
        f[t + 12] = 8 << 4;
        f[t + 13] = flags;
        for (i, b) in f[t + 32..].iter_mut().enumerate() {
            *b = (i % 251) as u8;
        }
        let ph = pseudo(&f[ETH..], v6, 32 + payload);
        f[t + 16..t + 18].copy_from_slice(&checksum::fold(ph).to_be_bytes());
        f
    }

    fn check_segments(v6: bool) {
        let f = super_frame(64_000, 0x80 | 0x18 | 0x01, v6);
        let (mut out, mut spare) = (Vec::new(), Vec::new());
        let n = segment_tcp(&f[..100], &f[100..], 8950, &mut out, &mut spare).unwrap();
        let ip_hdr = if v6 { 40 } else { 20 };
        let mss = 8950 - ip_hdr - 32;
        assert_eq!(n, 64_000usize.div_ceil(mss));
        let mut data = Vec::new();
        for (i, s) in out.iter().enumerate() {
            let s = s.data();
            let eth = EthernetFrame::new_checked(s).unwrap();
            let (tcp, ph) = if v6 {
                let ip = Ipv6Packet::new_checked(eth.payload()).unwrap();
                let tcp = ip.payload().to_vec();
                let ph = checksum::pseudo_v6(&ip.src_addr(), &ip.dst_addr(), 6, tcp.len() as u32);
                (tcp, ph)
            } else {
                let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
                assert!(ip.verify_checksum(), "segment {i}: IP checksum");
                assert_eq!(ip.ident(), 0xfff0u16.wrapping_add(i as u16));
                let tcp = ip.payload().to_vec();
                let ph = checksum::pseudo_v4(ip.src_addr(), ip.dst_addr(), 6, tcp.len() as u32);
                (tcp, ph)
            };
            assert!(s.len() - ETH <= 8950);
            let t = TcpPacket::new_checked(&tcp[..]).unwrap();
            assert!(t.verify_checksum(ph), "segment {i}: TCP checksum");
            assert_eq!(
                t.seq_number(),
                0xffff_f000u32.wrapping_add(data.len() as u32)
            );
            let last = i + 1 == n;
            assert_eq!(t.flags().0 & 0x09 != 0, last, "FIN/PSH on the last only");
            assert_eq!(t.flags().0 & 0x80 != 0, i == 0, "CWR on the first only");
            assert_eq!(t.flags().0 & 0x10, 0x10, "ACK on all");
            data.extend_from_slice(t.payload());
        }
        assert_eq!(data, f[ETH + ip_hdr + 32..]);
    }

    #[test]
    fn a_super_frame_is_cut_into_valid_segments_v4() {
        check_segments(false);
    }

    #[test]
    fn a_super_frame_is_cut_into_valid_segments_v6() {
        check_segments(true);
    }

    #[test]
    fn what_is_not_tcp_or_does_not_add_up_is_refused() {
        let (mut out, mut spare) = (Vec::new(), Vec::new());
        let mut udp = super_frame(100, 0x10, false);
        udp[ETH + 9] = 17;
        assert_eq!(
            segment_tcp(&udp, &[], 1500, &mut out, &mut spare),
            Err(GsoError::NotTcp)
        );
        let mut short = super_frame(100, 0x10, false);
        short[ETH + 2..ETH + 4].copy_from_slice(&9000u16.to_be_bytes());
        assert_eq!(
            segment_tcp(&short, &[], 1500, &mut out, &mut spare),
            Err(GsoError::BadLength)
        );
        let f = super_frame(100, 0x10, false);
        assert_eq!(
            segment_tcp(&f, &[], 40, &mut out, &mut spare),
            Err(GsoError::BadLength)
        );
        // Headers must be in the first piece.
        assert_eq!(
            segment_tcp(&f[..40], &f[40..], 1500, &mut out, &mut spare),
            Err(GsoError::BadLength)
        );
        assert!(out.is_empty());
    }

    #[test]
    fn a_partial_checksum_is_completed() {
        let mut f = super_frame(1000, 0x18, false);
        assert!(complete_checksum(&mut f, ETH + 20, 16));
        let ip = Ipv4Packet::new_checked(&f[ETH..]).unwrap();
        let ph = checksum::pseudo_v4(A, B, 6, (32 + 1000) as u32);
        assert!(
            TcpPacket::new_checked(ip.payload())
                .unwrap()
                .verify_checksum(ph)
        );
        assert!(!complete_checksum(&mut f, 2000, 16));
    }

    #[test]
    fn frames_over_the_mtu_get_a_gso_header_that_the_kernel_can_complete() {
        let small = super_frame(1000, 0x18, false);
        assert_eq!(
            tx_header(&small, None, 1500),
            Ok(TxHeader {
                hdr: VnetHdr::default(),
                patch: None
            })
        );
        // A jumbo segment with a full checksum, as it crossed the fabric.
        let mut f = super_frame(8000, 0x18, false);
        // Its checksum is checked first: one still partial (or damaged) is refused.
        assert_eq!(tx_header(&f, None, 1500), Err(TxRefused::BadChecksum));
        assert!(complete_checksum(&mut f, ETH + 20, 16));
        let t = tx_header(&f, None, 1500).unwrap();
        assert_eq!(
            t.hdr,
            VnetHdr {
                flags: VnetHdr::F_NEEDS_CSUM,
                gso_type: VnetHdr::GSO_TCPV4,
                hdr_len: (ETH + 20 + 32) as u16,
                gso_size: 1500 - 20 - 32,
                csum_start: (ETH + 20) as u16,
                csum_offset: 16,
            }
        );
        // The patch is the pseudo-header sum: what the kernel completes to a valid segment.
        let ph = pseudo(&f[ETH..], false, 32 + 8000);
        let (at, bytes) = t.patch.unwrap();
        assert_eq!((at, bytes), (ETH + 36, checksum::fold(ph).to_be_bytes()));
        let mut sent = f.clone();
        sent[at..at + 2].copy_from_slice(&bytes);
        assert!(complete_checksum(&mut sent, ETH + 20, 16));
        assert_eq!(sent, f);
        let mut udp = super_frame(8000, 0x18, false);
        udp[ETH + 9] = 17;
        assert_eq!(tx_header(&udp, None, 1500), Err(TxRefused::TooBig));
        assert_eq!(VnetHdr::parse(&t.hdr.emit()), t.hdr);
    }

    #[test]
    fn a_partial_checksum_is_handed_to_the_kernel_partial() {
        // Small: a plain frame that says where its checksum is.
        let small = super_frame(1000, 0x18, false);
        let t = tx_header(&small, Some((ETH + 20, 16)), 1500).unwrap();
        assert_eq!(t.patch, None);
        assert_eq!(
            (
                t.hdr.flags,
                t.hdr.gso_type,
                t.hdr.csum_start,
                t.hdr.csum_offset
            ),
            (
                VnetHdr::F_NEEDS_CSUM,
                VnetHdr::GSO_NONE,
                (ETH + 20) as u16,
                16
            )
        );
        // Large: a GSO frame as it came, neither summed nor patched.
        let big = super_frame(60_000, 0x18, true);
        let t = tx_header(&big, Some((ETH + 40, 16)), 1500).unwrap();
        assert_eq!(t.patch, None);
        assert_eq!(
            (t.hdr.gso_type, t.hdr.gso_size, t.hdr.hdr_len),
            (VnetHdr::GSO_TCPV6, 1500 - 40 - 32, (ETH + 40 + 32) as u16)
        );
        // Partial anywhere else in a frame to cut: no stack makes it.
        assert_eq!(
            tx_header(&big, Some((ETH, 16)), 1500),
            Err(TxRefused::BadChecksum)
        );
    }
}
