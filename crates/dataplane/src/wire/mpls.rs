//! MPLS label stack entries (RFC 3032): 20-bit label, 3-bit traffic class, bottom-of-stack
//! bit, TTL. A view covers one entry and everything after it (further entries or payload).

use super::{Result, WireError, be32, put32};

/// A view of one MPLS label stack entry followed by the rest of the packet.
#[derive(Debug, Clone)]
pub struct MplsPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> MplsPacket<T> {
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
            return Err(WireError::Truncated("mpls"));
        }
        Ok(())
    }
    fn word(&self) -> u32 {
        be32(self.buffer.as_ref(), 0)
    }
    pub fn label(&self) -> u32 {
        self.word() >> 12
    }
    pub fn tc(&self) -> u8 {
        ((self.word() >> 9) & 7) as u8
    }
    pub fn bottom_of_stack(&self) -> bool {
        self.word() & 0x100 != 0
    }
    pub fn ttl(&self) -> u8 {
        self.word() as u8
    }
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..]
    }
}

/// Owned label stack entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MplsRepr {
    pub label: u32,
    pub tc: u8,
    pub bottom_of_stack: bool,
    pub ttl: u8,
}

impl MplsRepr {
    /// Largest label value (20 bits).
    pub const MAX_LABEL: u32 = 0xf_ffff;

    pub fn parse<T: AsRef<[u8]>>(p: &MplsPacket<T>) -> Result<Self> {
        p.check_len()?;
        Ok(Self {
            label: p.label(),
            tc: p.tc(),
            bottom_of_stack: p.bottom_of_stack(),
            ttl: p.ttl(),
        })
    }
    pub const fn buffer_len(&self) -> usize {
        4
    }
    pub fn emit(&self, buf: &mut [u8]) {
        let w = ((self.label & Self::MAX_LABEL) << 12)
            | ((self.tc as u32 & 7) << 9)
            | ((self.bottom_of_stack as u32) << 8)
            | self.ttl as u32;
        put32(buf, 0, w);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let r = MplsRepr {
            label: 0xabcde,
            tc: 5,
            bottom_of_stack: true,
            ttl: 63,
        };
        let mut b = [0u8; 4];
        r.emit(&mut b);
        assert_eq!(
            MplsRepr::parse(&MplsPacket::new_checked(&b[..]).unwrap()).unwrap(),
            r
        );
        assert!(MplsPacket::new_checked(&b[..3]).is_err());
    }
}
