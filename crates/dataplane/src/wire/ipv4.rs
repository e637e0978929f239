//! IPv4 headers (RFC 791), with in-place rewrites that keep the checksum right
//! incrementally (TTL decrement, address NAT) so the hot path never re-sums a header.

use super::{IpProtocol, Result, WireError, be16, checksum, put16};
use std::net::Ipv4Addr;

/// A view of an IPv4 packet. `payload()` honours the total-length field, so Ethernet
/// padding after the datagram is never taken for payload.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T> {
    buffer: T,
}

mod field {
    pub const VER_IHL: usize = 0;
    pub const TOS: usize = 1;
    pub const LEN: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLG_OFF: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTO: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    pub const MIN_HEADER_LEN: usize = 20;

    #[inline]
    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < Self::MIN_HEADER_LEN {
            return Err(WireError::Truncated("ipv4"));
        }
        if b[0] >> 4 != 4 {
            return Err(WireError::Malformed("ipv4 version"));
        }
        let hl = self.header_len();
        if hl < Self::MIN_HEADER_LEN {
            return Err(WireError::Malformed("ipv4 header length"));
        }
        let tl = self.total_len() as usize;
        if tl < hl {
            return Err(WireError::Malformed("ipv4 total length"));
        }
        if b.len() < tl {
            return Err(WireError::Truncated("ipv4"));
        }
        Ok(())
    }
    pub fn into_inner(self) -> T {
        self.buffer
    }
    #[inline]
    pub fn header_len(&self) -> usize {
        ((self.buffer.as_ref()[field::VER_IHL] & 0x0f) as usize) * 4
    }
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }
    #[inline]
    pub fn total_len(&self) -> u16 {
        be16(self.buffer.as_ref(), field::LEN)
    }
    #[inline]
    pub fn ident(&self) -> u16 {
        be16(self.buffer.as_ref(), field::IDENT)
    }
    pub fn dont_frag(&self) -> bool {
        be16(self.buffer.as_ref(), field::FLG_OFF) & 0x4000 != 0
    }
    pub fn more_frags(&self) -> bool {
        be16(self.buffer.as_ref(), field::FLG_OFF) & 0x2000 != 0
    }
    /// Fragment offset in bytes.
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (be16(self.buffer.as_ref(), field::FLG_OFF) & 0x1fff) << 3
    }
    /// True for any fragment (first, middle or last).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        be16(self.buffer.as_ref(), field::FLG_OFF) & 0x3fff != 0
    }
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }
    #[inline]
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol(self.buffer.as_ref()[field::PROTO])
    }
    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), field::CHECKSUM)
    }
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[12], b[13], b[14], b[15])
    }
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[16], b[17], b[18], b[19])
    }
    pub fn verify_checksum(&self) -> bool {
        checksum::fold(checksum::sum(&self.buffer.as_ref()[..self.header_len()])) == 0xffff
    }
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..self.total_len() as usize]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    #[inline]
    pub fn set_ttl(&mut self, v: u8) {
        self.buffer.as_mut()[field::TTL] = v;
    }
    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        put16(self.buffer.as_mut(), field::CHECKSUM, v);
    }
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let hl = self.header_len();
        let c = checksum::checksum(&self.buffer.as_ref()[..hl]);
        self.set_checksum(c);
    }
    /// Decrements TTL and patches the checksum (RFC 1624). Returns the new TTL.
    #[inline]
    pub fn decrement_ttl(&mut self) -> u8 {
        // One length check for the 12 bytes touched (per forwarded packet), then fixed
        // offsets: TTL/protocol word at 8, checksum at 10.
        let h: &mut [u8; 12] = (&mut self.buffer.as_mut()[..12]).try_into().unwrap();
        if h[8] == 0 {
            return 0;
        }
        let ttl = h[8] - 1;
        h[8] = ttl;
        // RFC 1624 eq. 3 with the word's change folded in: for old = TTL<<8 | protocol and
        // new = old - 0x100, ~old + new is always 0xfeff, so this equals
        // `update16(checksum, old, new)` exactly.
        let hc = u16::from_be_bytes([h[10], h[11]]);
        let c = !checksum::fold_two((!hc) as u32 + 0xfeff);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        ttl
    }
    /// Rewrites the source address with an incremental checksum update.
    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.set_addr(field::SRC, a)
    }
    /// Rewrites the destination address with an incremental checksum update.
    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.set_addr(field::DST, a)
    }
    fn set_addr(&mut self, at: usize, a: Ipv4Addr) {
        let b = self.buffer.as_mut();
        let old = u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        b[at..at + 4].copy_from_slice(&a.octets());
        let c = checksum::update32(self.checksum(), old, a.to_bits());
        self.set_checksum(c);
    }
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (hl, tl) = (self.header_len(), self.total_len() as usize);
        &mut self.buffer.as_mut()[hl..tl]
    }
}

/// Owned IPv4 header without options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: IpProtocol,
    pub payload_len: usize,
    pub ttl: u8,
    pub tos: u8,
    pub ident: u16,
    pub dont_frag: bool,
    pub more_frags: bool,
    pub frag_offset: u16,
}

impl Ipv4Repr {
    /// Parses a checked packet and verifies the header checksum.
    pub fn parse<T: AsRef<[u8]>>(p: &Ipv4Packet<T>) -> Result<Self> {
        p.check_len()?;
        if !p.verify_checksum() {
            return Err(WireError::Checksum("ipv4"));
        }
        Ok(Self {
            src: p.src_addr(),
            dst: p.dst_addr(),
            protocol: p.protocol(),
            payload_len: p.total_len() as usize - p.header_len(),
            ttl: p.ttl(),
            tos: p.tos(),
            ident: p.ident(),
            dont_frag: p.dont_frag(),
            more_frags: p.more_frags(),
            frag_offset: p.frag_offset(),
        })
    }
    pub const fn buffer_len(&self) -> usize {
        20
    }
    /// Writes a 20-byte header (with checksum) at the front of `buf`.
    pub fn emit(&self, buf: &mut [u8]) {
        buf[0] = 0x45;
        buf[1] = self.tos;
        put16(buf, 2, (20 + self.payload_len) as u16);
        put16(buf, 4, self.ident);
        let flags = ((self.dont_frag as u16) << 14) | ((self.more_frags as u16) << 13);
        put16(buf, 6, flags | (self.frag_offset >> 3));
        buf[8] = self.ttl;
        buf[9] = self.protocol.0;
        put16(buf, 10, 0);
        buf[12..16].copy_from_slice(&self.src.octets());
        buf[16..20].copy_from_slice(&self.dst.octets());
        let c = checksum::checksum(&buf[..20]);
        put16(buf, 10, c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_decrement_equals_the_general_incremental_update() {
        for ttl in 0..=255u8 {
            for hc in [
                0u16, 1, 0x00ff, 0x0100, 0x1234, 0xfeff, 0xff00, 0xfffe, 0xffff,
            ] {
                let mut b = [0u8; 20];
                b[0] = 0x45;
                b[8] = ttl;
                b[9] = 17;
                b[10..12].copy_from_slice(&hc.to_be_bytes());
                let got = Ipv4Packet::new_unchecked(&mut b[..]).decrement_ttl();
                let new = ttl.saturating_sub(1);
                let want = if ttl == 0 {
                    hc
                } else {
                    checksum::update16(
                        hc,
                        u16::from_be_bytes([ttl, 17]),
                        u16::from_be_bytes([new, 17]),
                    )
                };
                assert_eq!(
                    (got, b[8], u16::from_be_bytes([b[10], b[11]])),
                    (new, new, want)
                );
            }
        }
    }

    fn sample() -> Ipv4Repr {
        Ipv4Repr {
            src: Ipv4Addr::new(10, 1, 1, 1),
            dst: Ipv4Addr::new(10, 2, 2, 2),
            protocol: IpProtocol::UDP,
            payload_len: 8,
            ttl: 64,
            tos: 0,
            ident: 7,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        }
    }

    #[test]
    fn roundtrip_and_incremental_rewrites() {
        let r = sample();
        let mut b = [0u8; 28];
        r.emit(&mut b);
        let mut p = Ipv4Packet::new_checked(&mut b[..]).unwrap();
        assert_eq!(Ipv4Repr::parse(&p).unwrap(), r);
        assert_eq!(p.decrement_ttl(), 63);
        p.set_src_addr(Ipv4Addr::new(192, 0, 2, 9));
        p.set_dst_addr(Ipv4Addr::new(198, 51, 100, 3));
        assert!(p.verify_checksum());
        let incremental = p.checksum();
        p.fill_checksum();
        assert_eq!(p.checksum(), incremental);
    }

    #[test]
    fn malformed_lengths_are_errors() {
        let mut b = [0u8; 28];
        sample().emit(&mut b);
        assert!(Ipv4Packet::new_checked(&b[..27]).is_err());
        let mut c = b;
        c[0] = 0x44;
        assert!(Ipv4Packet::new_checked(&c[..]).is_err());
        let mut c = b;
        c[3] = 10; // total length below header length
        assert!(Ipv4Packet::new_checked(&c[..]).is_err());
        let mut c = b;
        c[10] ^= 1;
        assert_eq!(
            Ipv4Repr::parse(&Ipv4Packet::new_checked(&c[..]).unwrap()),
            Err(WireError::Checksum("ipv4"))
        );
    }
}
