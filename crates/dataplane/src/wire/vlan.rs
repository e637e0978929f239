//! IEEE 802.1Q tags: the 4 bytes after an Ethernet header whose type is 0x8100
//! (TCI, then the inner Ethernet type), followed by the tagged payload.

use super::{EtherType, Result, WireError, be16, put16};

/// A view of an 802.1Q tag and what follows it.
#[derive(Debug, Clone)]
pub struct VlanPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanPacket<T> {
    pub const HEADER_LEN: usize = 4;

    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < Self::HEADER_LEN {
            return Err(WireError::Truncated("802.1q"));
        }
        Ok(())
    }
    pub fn pcp(&self) -> u8 {
        self.buffer.as_ref()[0] >> 5
    }
    pub fn dei(&self) -> bool {
        self.buffer.as_ref()[0] & 0x10 != 0
    }
    pub fn vid(&self) -> u16 {
        be16(self.buffer.as_ref(), 0) & 0x0fff
    }
    pub fn ethertype(&self) -> EtherType {
        EtherType(be16(self.buffer.as_ref(), 2))
    }
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VlanPacket<T> {
    pub fn set_tci(&mut self, pcp: u8, dei: bool, vid: u16) {
        let tci = ((pcp as u16 & 7) << 13) | ((dei as u16) << 12) | (vid & 0x0fff);
        put16(self.buffer.as_mut(), 0, tci);
    }
    pub fn set_ethertype(&mut self, t: EtherType) {
        put16(self.buffer.as_mut(), 2, t.0);
    }
}

/// Owned 802.1Q tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanRepr {
    pub pcp: u8,
    pub dei: bool,
    pub vid: u16,
    pub ethertype: EtherType,
}

impl VlanRepr {
    pub fn parse<T: AsRef<[u8]>>(p: &VlanPacket<T>) -> Result<Self> {
        p.check_len()?;
        Ok(Self {
            pcp: p.pcp(),
            dei: p.dei(),
            vid: p.vid(),
            ethertype: p.ethertype(),
        })
    }
    pub const fn buffer_len(&self) -> usize {
        4
    }
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut VlanPacket<T>) {
        p.set_tci(self.pcp, self.dei, self.vid);
        p.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let r = VlanRepr {
            pcp: 5,
            dei: true,
            vid: 4001,
            ethertype: EtherType::IPV6,
        };
        let mut b = [0u8; 4];
        r.emit(&mut VlanPacket::new_unchecked(&mut b[..]));
        assert_eq!(
            VlanRepr::parse(&VlanPacket::new_checked(&b[..]).unwrap()).unwrap(),
            r
        );
        assert!(VlanPacket::new_checked(&b[..3]).is_err());
    }
}
