//! UDP (RFC 768). Checksums are computed over the pseudo-header supplied by the caller,
//! so one type serves IPv4 and IPv6.

use super::{Result, WireError, be16, checksum, put16};

/// A view of a UDP datagram; `payload()` honours the length field.
#[derive(Debug, Clone)]
pub struct UdpPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    pub const HEADER_LEN: usize = 8;

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
        if b.len() < Self::HEADER_LEN {
            return Err(WireError::Truncated("udp"));
        }
        let l = self.len() as usize;
        if l < Self::HEADER_LEN {
            return Err(WireError::Malformed("udp length"));
        }
        if l > b.len() {
            return Err(WireError::Truncated("udp"));
        }
        Ok(())
    }
    #[inline]
    pub fn src_port(&self) -> u16 {
        be16(self.buffer.as_ref(), 0)
    }
    #[inline]
    pub fn dst_port(&self) -> u16 {
        be16(self.buffer.as_ref(), 2)
    }
    #[inline]
    pub fn len(&self) -> u16 {
        be16(self.buffer.as_ref(), 4)
    }
    pub fn is_empty(&self) -> bool {
        self.len() as usize <= Self::HEADER_LEN
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), 6)
    }
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..self.len() as usize]
    }
    /// Verifies against a pseudo-header partial sum; a zero checksum means "none" (IPv4).
    pub fn verify_checksum(&self, pseudo: u32) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        let s = checksum::sum(&self.buffer.as_ref()[..self.len() as usize]);
        checksum::fold(checksum::combine(&[pseudo, s])) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    pub fn set_src_port(&mut self, v: u16) {
        put16(self.buffer.as_mut(), 0, v)
    }
    pub fn set_dst_port(&mut self, v: u16) {
        put16(self.buffer.as_mut(), 2, v)
    }
    pub fn set_len(&mut self, v: u16) {
        put16(self.buffer.as_mut(), 4, v)
    }
    pub fn set_checksum(&mut self, v: u16) {
        put16(self.buffer.as_mut(), 6, v)
    }
    /// Computes the checksum over the pseudo-header sum and the datagram. A result of zero is
    /// sent as 0xffff, since zero means "no checksum".
    pub fn fill_checksum(&mut self, pseudo: u32) {
        self.set_checksum(0);
        let s = checksum::sum(&self.buffer.as_ref()[..self.len() as usize]);
        let c = !checksum::fold(checksum::combine(&[pseudo, s]));
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let l = self.len() as usize;
        &mut self.buffer.as_mut()[Self::HEADER_LEN..l]
    }
}

/// Owned UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpRepr {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload_len: usize,
}

impl UdpRepr {
    pub fn parse<T: AsRef<[u8]>>(p: &UdpPacket<T>) -> Result<Self> {
        p.check_len()?;
        Ok(Self {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
            payload_len: p.len() as usize - 8,
        })
    }
    pub const fn buffer_len(&self) -> usize {
        8
    }
    /// Writes the header with a zero checksum (legal for UDP over IPv4 and RFC 6935 tunnels).
    pub fn emit(&self, buf: &mut [u8]) {
        put16(buf, 0, self.src_port);
        put16(buf, 2, self.dst_port);
        put16(buf, 4, (8 + self.payload_len) as u16);
        put16(buf, 6, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn roundtrip_with_checksum() {
        let r = UdpRepr {
            src_port: 5000,
            dst_port: 6635,
            payload_len: 3,
        };
        let mut b = [0u8; 11];
        r.emit(&mut b);
        b[8..].copy_from_slice(b"abc");
        let ph = checksum::pseudo_v4(Ipv4Addr::new(1, 2, 3, 4), Ipv4Addr::new(5, 6, 7, 8), 17, 11);
        let mut p = UdpPacket::new_checked(&mut b[..]).unwrap();
        p.fill_checksum(ph);
        assert!(p.verify_checksum(ph));
        assert_eq!(UdpRepr::parse(&p).unwrap(), r);
        assert!(UdpPacket::new_checked(&b[..10]).is_err());
        b[5] = 4;
        assert!(UdpPacket::new_checked(&b[..]).is_err());
    }
}
