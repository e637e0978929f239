//! Flow keys: (VRF, protocol, addresses, ports) packed into five words so that comparing
//! and hashing a key is five word operations. IPv4 addresses sit in the low 32 bits of the
//! 128-bit address words, tagged by the family in the last word.

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

    /// Hash used for the table and for ECMP/entropy. Direction-sensitive (source and
    /// destination words meet different constants).
    ///
    /// Folded multiplies (as in foldhash/wyhash): each 64x64->128-bit product is folded
    /// by XOR of its halves, so every output bit depends on every input bit of both
    /// factors. Two products and a final one cover the five words in about a dozen
    /// instructions on every packet, where a word-by-word chain with a finaliser took
    /// twice that. The low bits pick the index slot, the high 32 the tag.
    #[inline(always)]
    pub fn hash(&self) -> u64 {
        const K: [u64; 5] = [
            0x243f_6a88_85a3_08d3,
            0x1319_8a2e_0370_7344,
            0xa409_3822_299f_31d0,
            0x082e_fa98_ec4e_6c89,
            0x4528_21e6_38d0_1377,
        ];
        let w = &self.w;
        let a = fold_mul(w[1] ^ K[0], w[3] ^ K[1]);
        let b = fold_mul(w[0] ^ w[2].rotate_left(32) ^ K[2], w[4] ^ K[3]);
        fold_mul(a ^ K[4], b)
    }
}

/// The 128-bit product of `a` and `b` folded to 64 bits.
#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = (a as u128) * (b as u128);
    (p as u64) ^ ((p >> 64) as u64)
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

    #[test]
    fn hash_spreads_similar_keys_over_slots_and_tags() {
        // 64K IPv4 keys differing only in a few address and port bits (the shape of a
        // vRouter's flows): the low 12 bits (slots) stay near uniform and the high 32
        // (tags) almost never collide.
        let mut slots = vec![0u32; 4096];
        let mut tags = std::collections::HashSet::new();
        for i in 0..65536u32 {
            let k = FlowKey::from_parts(
                1,
                17,
                0x0a01_0005,
                0x0a02_0000 | (i & 0xfff) as u128,
                1024 + (i >> 12) as u16,
                53,
                false,
            );
            let h = k.hash();
            slots[(h & 4095) as usize] += 1;
            tags.insert(h >> 32);
        }
        let max = *slots.iter().max().unwrap();
        assert!(
            max < 16 * 3,
            "fullest of 4096 slots holds {max} of 65536 keys"
        );
        assert!(tags.len() > 65_000, "{} distinct tags", tags.len());
    }
}
