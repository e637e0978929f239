//! TCP headers (RFC 9293). The pipeline reads ports and flags (flow key and TCP state for
//! ageing) and rewrites ports under NAT; options are carried but not interpreted.

use super::{Result, WireError, be16, be32, checksum, put16, put32};

/// TCP control flags (the low 9 bits of the offset/flags word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;

    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
}

/// A view of a TCP segment.
#[derive(Debug, Clone)]
pub struct TcpPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
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
            return Err(WireError::Truncated("tcp"));
        }
        let hl = self.header_len();
        if hl < Self::MIN_HEADER_LEN {
            return Err(WireError::Malformed("tcp data offset"));
        }
        if hl > b.len() {
            return Err(WireError::Truncated("tcp"));
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
    pub fn seq_number(&self) -> u32 {
        be32(self.buffer.as_ref(), 4)
    }
    pub fn ack_number(&self) -> u32 {
        be32(self.buffer.as_ref(), 8)
    }
    #[inline]
    pub fn header_len(&self) -> usize {
        ((self.buffer.as_ref()[12] >> 4) as usize) * 4
    }
    #[inline]
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(be16(self.buffer.as_ref(), 12) & 0x01ff)
    }
    pub fn window_len(&self) -> u16 {
        be16(self.buffer.as_ref(), 14)
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), 16)
    }
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
    pub fn verify_checksum(&self, pseudo: u32) -> bool {
        let s = checksum::sum(self.buffer.as_ref());
        checksum::fold(checksum::combine(&[pseudo, s])) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    pub fn set_checksum(&mut self, v: u16) {
        put16(self.buffer.as_mut(), 16, v)
    }
    /// Rewrites a port (NAT) with an incremental checksum update.
    pub fn set_src_port(&mut self, v: u16) {
        let c = checksum::update16(self.checksum(), self.src_port(), v);
        put16(self.buffer.as_mut(), 0, v);
        self.set_checksum(c);
    }
    pub fn set_dst_port(&mut self, v: u16) {
        let c = checksum::update16(self.checksum(), self.dst_port(), v);
        put16(self.buffer.as_mut(), 2, v);
        self.set_checksum(c);
    }
    pub fn fill_checksum(&mut self, pseudo: u32) {
        self.set_checksum(0);
        let s = checksum::sum(self.buffer.as_ref());
        let c = !checksum::fold(checksum::combine(&[pseudo, s]));
        self.set_checksum(c);
    }
}

/// Owned TCP header without options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpRepr {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
}

impl TcpRepr {
    pub fn parse<T: AsRef<[u8]>>(p: &TcpPacket<T>) -> Result<Self> {
        p.check_len()?;
        Ok(Self {
            src_port: p.src_port(),
            dst_port: p.dst_port(),
            seq: p.seq_number(),
            ack: p.ack_number(),
            flags: p.flags(),
            window: p.window_len(),
        })
    }
    pub const fn buffer_len(&self) -> usize {
        20
    }
    /// Writes a 20-byte header with a zero checksum; fill it once the payload is in place.
    pub fn emit(&self, buf: &mut [u8]) {
        put16(buf, 0, self.src_port);
        put16(buf, 2, self.dst_port);
        put32(buf, 4, self.seq);
        put32(buf, 8, self.ack);
        put16(buf, 12, (5 << 12) | (self.flags.0 & 0x01ff));
        put16(buf, 14, self.window);
        put16(buf, 16, 0);
        put16(buf, 18, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn roundtrip_and_port_rewrite() {
        let r = TcpRepr {
            src_port: 40000,
            dst_port: 80,
            seq: 1,
            ack: 0,
            flags: TcpFlags(TcpFlags::SYN),
            window: 1024,
        };
        let mut b = [0u8; 20];
        r.emit(&mut b);
        let ph = checksum::pseudo_v4(Ipv4Addr::new(1, 1, 1, 1), Ipv4Addr::new(2, 2, 2, 2), 6, 20);
        let mut p = TcpPacket::new_checked(&mut b[..]).unwrap();
        p.fill_checksum(ph);
        assert_eq!(TcpRepr::parse(&p).unwrap(), r);
        assert!(p.flags().syn());
        p.set_src_port(1234);
        p.set_dst_port(8080);
        assert!(p.verify_checksum(ph));
        b[12] = 0x40;
        assert!(TcpPacket::new_checked(&b[..]).is_err());
    }
}
