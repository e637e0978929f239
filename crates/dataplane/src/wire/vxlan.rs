//! VXLAN headers (RFC 7348): 8 bytes with the I flag and a 24-bit VNI, before an inner
//! Ethernet frame. Carried in UDP to port 4789.

use super::{Result, WireError, be32, put32};

/// IANA UDP port for VXLAN.
pub const VXLAN_PORT: u16 = 4789;

/// A view of a VXLAN header and its inner frame.
#[derive(Debug, Clone)]
pub struct VxlanPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VxlanPacket<T> {
    pub const HEADER_LEN: usize = 8;

    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    /// Also requires the I flag: without it the VNI is not valid (RFC 7348 section 5).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        if !p.vni_valid() {
            return Err(WireError::Malformed("vxlan I flag"));
        }
        Ok(p)
    }
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < Self::HEADER_LEN {
            return Err(WireError::Truncated("vxlan"));
        }
        Ok(())
    }
    pub fn vni_valid(&self) -> bool {
        self.buffer.as_ref()[0] & 0x08 != 0
    }
    pub fn vni(&self) -> u32 {
        be32(self.buffer.as_ref(), 4) >> 8
    }
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..]
    }
}

/// Owned VXLAN header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VxlanRepr {
    pub vni: u32,
}

impl VxlanRepr {
    pub fn parse<T: AsRef<[u8]>>(p: &VxlanPacket<T>) -> Result<Self> {
        p.check_len()?;
        if !p.vni_valid() {
            return Err(WireError::Malformed("vxlan I flag"));
        }
        Ok(Self { vni: p.vni() })
    }
    pub const fn buffer_len(&self) -> usize {
        8
    }
    pub fn emit(&self, buf: &mut [u8]) {
        put32(buf, 0, 0x0800_0000);
        put32(buf, 4, (self.vni & 0x00ff_ffff) << 8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_flag() {
        let r = VxlanRepr { vni: 100 };
        let mut b = [0u8; 8];
        r.emit(&mut b);
        assert_eq!(
            VxlanRepr::parse(&VxlanPacket::new_checked(&b[..]).unwrap()).unwrap(),
            r
        );
        b[0] = 0;
        assert!(VxlanPacket::new_checked(&b[..]).is_err());
    }
}
