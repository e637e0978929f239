//! Flow keys: (VRF, protocol, addresses, ports) packed into five words so that comparing
//! and hashing a key is five word operations. IPv4 addresses sit in the low 32 bits of the
//! 128-bit address words, tagged by the family in the last word.

use crate::hash::mix;
use crate::wire::IpProtocol;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A flow key. Build it with [`FlowKey::new`]; read it with the accessors.
#[derive(Clone, Copy, Eq, Default)]
pub struct FlowKey {
    w: [u64; 5],
}

impl FlowKey {
    /// The all-zero key (free slots).
    pub const ZERO: Self = Self { w: [0; 5] };

    #[inline]
    pub fn new(
        vrf: u16,
        proto: IpProtocol,
        src: IpAddr,
        dst: IpAddr,
        sport: u16,
        dport: u16,
    ) -> Self {
        let (s, v6) = addr_bits(src);
        let (d, _) = addr_bits(dst);
        Self::from_parts(vrf, proto.0, s, d, sport, dport, v6)
    }

    #[inline]
    pub fn from_parts(
        vrf: u16,
        proto: u8,
        src: u128,
        dst: u128,
        sport: u16,
        dport: u16,
        v6: bool,
    ) -> Self {
        let tail = ((sport as u64) << 48)
            | ((dport as u64) << 32)
            | ((vrf as u64) << 16)
            | ((proto as u64) << 8)
            | v6 as u64;
        Self {
            w: [
                (src >> 64) as u64,
                src as u64,
                (dst >> 64) as u64,
                dst as u64,
                tail,
            ],
        }
    }

    /// The key of the reply direction of this flow in `vrf` (no NAT).
    pub fn reversed(&self, vrf: u16) -> Self {
        Self::from_parts(
            vrf,
            self.proto().0,
            self.dst_bits(),
            self.src_bits(),
            self.dport(),
            self.sport(),
            self.is_v6(),
        )
    }

    #[inline]
    pub fn src_bits(&self) -> u128 {
        ((self.w[0] as u128) << 64) | self.w[1] as u128
    }
    #[inline]
    pub fn dst_bits(&self) -> u128 {
        ((self.w[2] as u128) << 64) | self.w[3] as u128
    }
    #[inline]
    pub fn sport(&self) -> u16 {
        (self.w[4] >> 48) as u16
    }
    #[inline]
    pub fn dport(&self) -> u16 {
        (self.w[4] >> 32) as u16
    }
    #[inline]
    pub fn vrf(&self) -> u16 {
        (self.w[4] >> 16) as u16
    }
    #[inline]
    pub fn proto(&self) -> IpProtocol {
        IpProtocol((self.w[4] >> 8) as u8)
    }
    #[inline]
    pub fn is_v6(&self) -> bool {
        self.w[4] & 1 == 1
    }
    pub fn src(&self) -> IpAddr {
        to_addr(self.src_bits(), self.is_v6())
    }
    pub fn dst(&self) -> IpAddr {
        to_addr(self.dst_bits(), self.is_v6())
    }

    /// Hash used for the table and for ECMP/entropy. Direction-sensitive.
    #[inline(always)]
    pub fn hash(&self) -> u64 {
        let k = 0x9e37_79b9_7f4a_7c15u64;
        let mut h = self.w[0];
        for &w in &self.w[1..] {
            h = (h.rotate_left(23) ^ w).wrapping_mul(k);
        }
        mix(h)
    }
}

impl PartialEq for FlowKey {
    /// Word-wise with non-short-circuit `&` so it compiles to straight-line compares
    /// rather than a `memcmp` call.
    #[inline]
    fn eq(&self, o: &Self) -> bool {
        let a = &self.w;
        let b = &o.w;
        ((a[0] ^ b[0]) | (a[1] ^ b[1]) | (a[2] ^ b[2]) | (a[3] ^ b[3]) | (a[4] ^ b[4])) == 0
    }
}

impl std::hash::Hash for FlowKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.w.hash(h)
    }
}

fn addr_bits(a: IpAddr) -> (u128, bool) {
    match a {
        IpAddr::V4(a) => (a.to_bits() as u128, false),
        IpAddr::V6(a) => (a.to_bits(), true),
    }
}

fn to_addr(b: u128, v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from_bits(b))
    } else {
        IpAddr::V4(Ipv4Addr::from_bits(b as u32))
    }
}

impl core::fmt::Debug for FlowKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "vrf {} proto {} {}:{} -> {}:{}",
            self.vrf(),
            self.proto().0,
            self.src(),
            self.sport(),
            self.dst(),
            self.dport()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_roundtrip() {
        let k = FlowKey::new(
            7,
            IpProtocol::TCP,
            "10.0.0.1".parse().unwrap(),
            "2001:db8::1".parse().unwrap(),
            1,
            2,
        );
        assert_eq!(
            (k.vrf(), k.proto(), k.sport(), k.dport()),
            (7, IpProtocol::TCP, 1, 2)
        );
        let k = FlowKey::new(
            7,
            IpProtocol::UDP,
            "10.0.0.1".parse().unwrap(),
            "10.0.0.2".parse().unwrap(),
            1,
            2,
        );
        assert_eq!(k.src(), "10.0.0.1".parse::<IpAddr>().unwrap());
        let r = k.reversed(9);
        assert_eq!((r.src(), r.dport(), r.vrf()), (k.dst(), 1, 9));
        assert_ne!(k.hash(), r.hash());
    }
}
