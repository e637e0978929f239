//! IPv6 fixed headers (RFC 8200). Extension headers are not represented: they are walked
//! over by [`Ipv6Packet::upper_layer`] to reach the transport header.

use super::{IpProtocol, Result, WireError, be16, be32, put16, put32};
use std::net::Ipv6Addr;

/// A view of an IPv6 packet; `payload()` honours the payload-length field.
#[derive(Debug, Clone)]
pub struct Ipv6Packet<T> {
    buffer: T,
}

/// Upper-layer header found after skipping extension headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpperLayer {
    pub protocol: IpProtocol,
    /// Offset of the upper-layer header from the start of the IPv6 header.
    pub offset: usize,
    /// Set when a Fragment header was crossed: (offset in bytes, more fragments).
    pub fragment: Option<(u16, bool)>,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    pub const HEADER_LEN: usize = 40;
    /// Bounds the extension-header walk so crafted chains cannot cost unbounded time.
    const MAX_EXTENSIONS: usize = 8;

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
        if b.len() < Self::HEADER_LEN {
            return Err(WireError::Truncated("ipv6"));
        }
        if b[0] >> 4 != 6 {
            return Err(WireError::Malformed("ipv6 version"));
        }
        if b.len() < Self::HEADER_LEN + self.payload_len() as usize {
            return Err(WireError::Truncated("ipv6"));
        }
        Ok(())
    }
    pub fn into_inner(self) -> T {
        self.buffer
    }
    pub fn traffic_class(&self) -> u8 {
        (be16(self.buffer.as_ref(), 0) >> 4) as u8
    }
    pub fn flow_label(&self) -> u32 {
        be32(self.buffer.as_ref(), 0) & 0x000f_ffff
    }
    pub fn payload_len(&self) -> u16 {
        be16(self.buffer.as_ref(), 4)
    }
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol(self.buffer.as_ref()[6])
    }
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[7]
    }
    fn addr_at(&self, at: usize) -> Ipv6Addr {
        let mut a = [0u8; 16];
        a.copy_from_slice(&self.buffer.as_ref()[at..at + 16]);
        Ipv6Addr::from(a)
    }
    pub fn src_addr(&self) -> Ipv6Addr {
        self.addr_at(8)
    }
    pub fn dst_addr(&self) -> Ipv6Addr {
        self.addr_at(24)
    }
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..Self::HEADER_LEN + self.payload_len() as usize]
    }

    /// Skips hop-by-hop, routing, destination-options, fragment and AH headers.
    pub fn upper_layer(&self) -> Result<UpperLayer> {
        let payload = self.payload();
        let mut proto = self.next_header();
        let mut off = 0usize;
        let mut fragment = None;
        for _ in 0..Self::MAX_EXTENSIONS {
            if !proto.is_ipv6_extension() {
                return Ok(UpperLayer {
                    protocol: proto,
                    offset: Self::HEADER_LEN + off,
                    fragment,
                });
            }
            let hdr = payload
                .get(off..off + 8)
                .ok_or(WireError::Truncated("ipv6 extension"))?;
            let len = match proto {
                IpProtocol::IPV6_FRAG => {
                    let fo = be16(hdr, 2);
                    fragment = Some((fo & 0xfff8, fo & 1 == 1));
                    8
                }
                IpProtocol::AH => (hdr[1] as usize + 2) * 4,
                _ => (hdr[1] as usize + 1) * 8,
            };
            if off + len > payload.len() {
                return Err(WireError::Truncated("ipv6 extension"));
            }
            proto = IpProtocol(hdr[0]);
            off += len;
        }
        Err(WireError::Unsupported("ipv6 extension chain too long"))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    pub fn set_hop_limit(&mut self, v: u8) {
        self.buffer.as_mut()[7] = v;
    }
    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[8..24].copy_from_slice(&a.octets());
    }
    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[24..40].copy_from_slice(&a.octets());
    }
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = Self::HEADER_LEN + self.payload_len() as usize;
        &mut self.buffer.as_mut()[Self::HEADER_LEN..end]
    }
}

/// Owned IPv6 fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Repr {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub next_header: IpProtocol,
    pub payload_len: usize,
    pub hop_limit: u8,
    pub traffic_class: u8,
    pub flow_label: u32,
}

impl Ipv6Repr {
    pub fn parse<T: AsRef<[u8]>>(p: &Ipv6Packet<T>) -> Result<Self> {
        p.check_len()?;
        Ok(Self {
            src: p.src_addr(),
            dst: p.dst_addr(),
            next_header: p.next_header(),
            payload_len: p.payload_len() as usize,
            hop_limit: p.hop_limit(),
            traffic_class: p.traffic_class(),
            flow_label: p.flow_label(),
        })
    }
    pub const fn buffer_len(&self) -> usize {
        40
    }
    pub fn emit(&self, buf: &mut [u8]) {
        let w0 = (6u32 << 28) | ((self.traffic_class as u32) << 20) | (self.flow_label & 0xfffff);
        put32(buf, 0, w0);
        put16(buf, 4, self.payload_len as u16);
        buf[6] = self.next_header.0;
        buf[7] = self.hop_limit;
        buf[8..24].copy_from_slice(&self.src.octets());
        buf[24..40].copy_from_slice(&self.dst.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_extension_walk() {
        let r = Ipv6Repr {
            src: "2001:db8::1".parse().unwrap(),
            dst: "ff02::1".parse().unwrap(),
            next_header: IpProtocol::HOPOPT,
            payload_len: 16,
            hop_limit: 1,
            traffic_class: 0xb8,
            flow_label: 0x12345,
        };
        let mut b = [0u8; 56];
        r.emit(&mut b);
        // Hop-by-hop header of 8 bytes, then 8 bytes of UDP.
        b[40] = 17;
        b[41] = 0;
        let p = Ipv6Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Ipv6Repr::parse(&p).unwrap(), r);
        let ul = p.upper_layer().unwrap();
        assert_eq!(
            (ul.protocol, ul.offset, ul.fragment),
            (IpProtocol::UDP, 48, None)
        );
        b[41] = 5; // claims 48 bytes of options: truncated
        assert!(
            Ipv6Packet::new_checked(&b[..])
                .unwrap()
                .upper_layer()
                .is_err()
        );
        assert!(Ipv6Packet::new_checked(&b[..55]).is_err());
    }
}
