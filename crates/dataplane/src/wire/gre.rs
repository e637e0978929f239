//! GRE (RFC 2784 with the RFC 2890 key and sequence extensions), version 0 only. MPLSoGRE
//! is GRE with protocol type 0x8847 (RFC 4023).

use super::{EtherType, Result, WireError, be16, be32, put16, put32};

const FLAG_C: u16 = 0x8000;
const FLAG_R: u16 = 0x4000;
const FLAG_K: u16 = 0x2000;
const FLAG_S: u16 = 0x1000;

/// A view of a GRE header and its payload.
#[derive(Debug, Clone)]
pub struct GrePacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> GrePacket<T> {
    pub const MIN_HEADER_LEN: usize = 4;

    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < Self::MIN_HEADER_LEN {
            return Err(WireError::Truncated("gre"));
        }
        let f = be16(b, 0);
        if f & 0x7 != 0 {
            return Err(WireError::Unsupported("gre version"));
        }
        if f & FLAG_R != 0 {
            // Source routing (RFC 1701) is obsolete; RFC 2784 receivers may discard it.
            return Err(WireError::Unsupported("gre routing"));
        }
        if b.len() < self.header_len() {
            return Err(WireError::Truncated("gre"));
        }
        Ok(())
    }
    fn flags(&self) -> u16 {
        be16(self.buffer.as_ref(), 0)
    }
    pub fn has_checksum(&self) -> bool {
        self.flags() & FLAG_C != 0
    }
    pub fn has_key(&self) -> bool {
        self.flags() & FLAG_K != 0
    }
    pub fn has_seq(&self) -> bool {
        self.flags() & FLAG_S != 0
    }
    pub fn header_len(&self) -> usize {
        4 + 4 * (self.has_checksum() as usize + self.has_key() as usize + self.has_seq() as usize)
    }
    pub fn protocol(&self) -> EtherType {
        EtherType(be16(self.buffer.as_ref(), 2))
    }
    pub fn key(&self) -> Option<u32> {
        let at = 4 + 4 * self.has_checksum() as usize;
        self.has_key().then(|| be32(self.buffer.as_ref(), at))
    }
    pub fn seq(&self) -> Option<u32> {
        let at = 4 + 4 * (self.has_checksum() as usize + self.has_key() as usize);
        self.has_seq().then(|| be32(self.buffer.as_ref(), at))
    }
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }
}

/// Owned GRE header (the checksum option is never emitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreRepr {
    pub protocol: EtherType,
    pub key: Option<u32>,
    pub seq: Option<u32>,
}

impl GreRepr {
    pub fn parse<T: AsRef<[u8]>>(p: &GrePacket<T>) -> Result<Self> {
        p.check_len()?;
        Ok(Self {
            protocol: p.protocol(),
            key: p.key(),
            seq: p.seq(),
        })
    }
    pub const fn buffer_len(&self) -> usize {
        4 + 4 * (self.key.is_some() as usize + self.seq.is_some() as usize)
    }
    pub fn emit(&self, buf: &mut [u8]) {
        let mut flags = 0u16;
        let mut at = 4;
        if let Some(k) = self.key {
            flags |= FLAG_K;
            put32(buf, at, k);
            at += 4;
        }
        if let Some(s) = self.seq {
            flags |= FLAG_S;
            put32(buf, at, s);
        }
        put16(buf, 0, flags);
        put16(buf, 2, self.protocol.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_with_options() {
        for r in [
            GreRepr {
                protocol: EtherType::MPLS,
                key: None,
                seq: None,
            },
            GreRepr {
                protocol: EtherType::TEB,
                key: Some(0x28),
                seq: Some(9),
            },
        ] {
            let mut b = vec![0u8; r.buffer_len() + 2];
            r.emit(&mut b);
            let p = GrePacket::new_checked(&b[..]).unwrap();
            assert_eq!(GreRepr::parse(&p).unwrap(), r);
            assert_eq!(p.payload().len(), 2);
            assert!(GrePacket::new_checked(&b[..r.buffer_len() - 1]).is_err());
        }
        assert!(GrePacket::new_checked(&[0x00u8, 0x01, 0x88, 0x0b][..]).is_err());
    }
}
