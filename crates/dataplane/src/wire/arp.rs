//! ARP (RFC 826) for Ethernet and IPv4, the only combination a vRouter answers.

use super::{MacAddr, Result, WireError, be16, put16};
use std::net::Ipv4Addr;

/// ARP operation code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpOperation {
    Request,
    Reply,
    Other(u16),
}

impl From<u16> for ArpOperation {
    fn from(v: u16) -> Self {
        match v {
            1 => Self::Request,
            2 => Self::Reply,
            o => Self::Other(o),
        }
    }
}
impl From<ArpOperation> for u16 {
    fn from(v: ArpOperation) -> u16 {
        match v {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Other(o) => o,
        }
    }
}

/// A view of an Ethernet/IPv4 ARP packet (28 bytes).
#[derive(Debug, Clone)]
pub struct ArpPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    pub const LEN: usize = 28;

    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    /// Checks the length and that this is Ethernet/IPv4 ARP: other hardware or protocol
    /// sizes would move every address field, so they are refused rather than misread.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < 8 {
            return Err(WireError::Truncated("arp"));
        }
        if be16(b, 0) != 1 || be16(b, 2) != 0x0800 || b[4] != 6 || b[5] != 4 {
            return Err(WireError::Unsupported("arp"));
        }
        if b.len() < Self::LEN {
            return Err(WireError::Truncated("arp"));
        }
        Ok(())
    }
    pub fn operation(&self) -> ArpOperation {
        be16(self.buffer.as_ref(), 6).into()
    }
    fn mac_at(&self, at: usize) -> MacAddr {
        let mut m = [0; 6];
        m.copy_from_slice(&self.buffer.as_ref()[at..at + 6]);
        MacAddr(m)
    }
    fn ip_at(&self, at: usize) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
    }
    pub fn source_hw(&self) -> MacAddr {
        self.mac_at(8)
    }
    pub fn source_ip(&self) -> Ipv4Addr {
        self.ip_at(14)
    }
    pub fn target_hw(&self) -> MacAddr {
        self.mac_at(18)
    }
    pub fn target_ip(&self) -> Ipv4Addr {
        self.ip_at(24)
    }
}

/// Owned Ethernet/IPv4 ARP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpRepr {
    pub operation: ArpOperation,
    pub source_hw: MacAddr,
    pub source_ip: Ipv4Addr,
    pub target_hw: MacAddr,
    pub target_ip: Ipv4Addr,
}

impl ArpRepr {
    pub fn parse<T: AsRef<[u8]>>(p: &ArpPacket<T>) -> Result<Self> {
        p.check_len()?;
        Ok(Self {
            operation: p.operation(),
            source_hw: p.source_hw(),
            source_ip: p.source_ip(),
            target_hw: p.target_hw(),
            target_ip: p.target_ip(),
        })
    }
    pub const fn buffer_len(&self) -> usize {
        28
    }
    /// Writes all 28 bytes; `buf` must hold at least that many.
    pub fn emit(&self, buf: &mut [u8]) {
        put16(buf, 0, 1);
        put16(buf, 2, 0x0800);
        buf[4] = 6;
        buf[5] = 4;
        put16(buf, 6, self.operation.into());
        buf[8..14].copy_from_slice(&self.source_hw.0);
        buf[14..18].copy_from_slice(&self.source_ip.octets());
        buf[18..24].copy_from_slice(&self.target_hw.0);
        buf[24..28].copy_from_slice(&self.target_ip.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_refusals() {
        let r = ArpRepr {
            operation: ArpOperation::Request,
            source_hw: MacAddr([2, 0, 0, 0, 0, 1]),
            source_ip: Ipv4Addr::new(10, 0, 0, 1),
            target_hw: MacAddr::ZERO,
            target_ip: Ipv4Addr::new(10, 0, 0, 2),
        };
        let mut b = [0u8; 28];
        r.emit(&mut b);
        assert_eq!(
            ArpRepr::parse(&ArpPacket::new_checked(&b[..]).unwrap()).unwrap(),
            r
        );
        assert!(ArpPacket::new_checked(&b[..27]).is_err());
        b[4] = 14; // hardware length 14, as in tcpdump's arp-too-long-tha
        assert_eq!(
            ArpPacket::new_checked(&b[..]).unwrap_err(),
            WireError::Unsupported("arp")
        );
    }
}
