//! Internet checksum (RFC 1071) and its incremental update (RFC 1624), plus the IPv4/IPv6
//! pseudo-headers that TCP, UDP and ICMPv6 cover.

use std::net::{Ipv4Addr, Ipv6Addr};

/// One's-complement sum of `data` as big-endian 16-bit words, not yet folded or inverted
/// (equal to the 16-bit sum once folded). Adds 32-bit words into a 64-bit accumulator:
/// as 2^16 = 1 modulo 0xffff, a 32-bit word counts as its two halves, and 2^32 words
/// cannot overflow 64 bits. Twice the bytes per step of the 16-bit loop (segmentation
/// offload checksums whole 9 KB segments with it).
pub fn sum(data: &[u8]) -> u32 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        acc += u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as u64;
    }
    let mut rest = chunks.remainder().chunks_exact(2);
    for c in &mut rest {
        acc += u16::from_be_bytes([c[0], c[1]]) as u64;
    }
    if let [last] = rest.remainder() {
        acc += (*last as u64) << 8;
    }
    fold64(acc)
}

fn fold64(mut acc: u64) -> u32 {
    while acc > 0xffff_ffff {
        acc = (acc & 0xffff_ffff) + (acc >> 32);
    }
    acc as u32
}

/// Folds a 32-bit one's-complement accumulator to 16 bits. Two end-around carries
/// always suffice (after the first the value is at most 0x1fffe), so this is branch-free
/// straight-line code on the per-packet paths (TTL, encapsulation, NAT updates).
#[inline]
pub fn fold(acc: u32) -> u16 {
    let acc = (acc & 0xffff) + (acc >> 16);
    ((acc & 0xffff) + (acc >> 16)) as u16
}

/// [`fold`] with one end-around carry: exact for a sum of two 16-bit values (at most
/// 0x1fffe, whose carry cannot carry again), which is what the TTL decrement and the
/// tunnel-header length patch add. Saves the second round on every forwarded packet.
#[inline]
pub fn fold_two(acc: u32) -> u16 {
    debug_assert!(acc <= 0x1fffe, "fold_two of {acc:#x}");
    ((acc & 0xffff) + (acc >> 16)) as u16
}

/// Adds several partial sums.
pub fn combine(parts: &[u32]) -> u32 {
    fold64(parts.iter().map(|&p| p as u64).sum())
}

/// The final checksum field value over `data`.
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(data))
}

/// Completes a checksum left partial by checksum offload: sums `frame[start..]`, whose
/// field at `start + offset` holds the pseudo-header sum, and writes the result there
/// (0xffff for a zero result, which UDP reserves for "no checksum" and TCP does not
/// mind). False when the field is outside the frame.
pub fn complete_partial(frame: &mut [u8], start: usize, offset: usize) -> bool {
    let at = start + offset;
    if at + 2 > frame.len() {
        return false;
    }
    let c = !fold(sum(&frame[start..]));
    let c = if c == 0 { 0xffff } else { c };
    frame[at..at + 2].copy_from_slice(&c.to_be_bytes());
    true
}

/// Partial sum of the IPv4 pseudo-header.
pub fn pseudo_v4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, len: u32) -> u32 {
    combine(&[sum(&src.octets()), sum(&dst.octets()), proto as u32, len])
}

/// Partial sum of the IPv6 pseudo-header.
pub fn pseudo_v6(src: &Ipv6Addr, dst: &Ipv6Addr, proto: u8, len: u32) -> u32 {
    combine(&[
        sum(&src.octets()),
        sum(&dst.octets()),
        proto as u32,
        len >> 16,
        len & 0xffff,
    ])
}

/// RFC 1624 eq. 3: `HC' = ~(~HC + ~m + m')` for one 16-bit word changed from `old` to `new`.
/// Equation 3 (rather than eq. 2) never yields 0xffff-vs-0 ambiguities from a -0 result.
#[inline]
pub fn update16(hc: u16, old: u16, new: u16) -> u16 {
    !fold((!hc) as u32 + (!old) as u32 + new as u32)
}

/// RFC 1624 update for a 32-bit field (e.g. an IPv4 address).
#[inline]
pub fn update32(hc: u16, old: u32, new: u32) -> u16 {
    let hc = update16(hc, (old >> 16) as u16, (new >> 16) as u16);
    update16(hc, old as u16, new as u16)
}

/// RFC 1624 update for an arbitrary even-length field (e.g. an IPv6 address).
pub fn update_bytes(hc: u16, old: &[u8], new: &[u8]) -> u16 {
    debug_assert_eq!(old.len(), new.len());
    let mut acc = (!hc) as u32;
    for (o, n) in old.chunks(2).zip(new.chunks(2)) {
        let o = u16::from_be_bytes([o[0], *o.get(1).unwrap_or(&0)]);
        let n = u16::from_be_bytes([n[0], *n.get(1).unwrap_or(&0)]);
        acc = fold(acc + (!o) as u32 + n as u32) as u32;
    }
    !fold(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_carry_suffices_for_a_folded_base_plus_a_length() {
        // As the tunnel template uses it: a base of two complemented words, folded once,
        // plus any 16-bit length, against the two-round fold of the unfolded sum.
        for base in [1u32, 0xffff, 0x1_0000, 0x1_2345, 0x1_fffe] {
            for len in 0..=0xffffu32 {
                assert_eq!(fold_two(fold(base) as u32 + len), fold(base + len));
            }
        }
    }

    #[test]
    fn two_step_fold_equals_folding_to_a_fixpoint() {
        for acc in [
            0,
            1,
            0xffff,
            0x1_0000,
            0x1fffe,
            0x2_fffd,
            0xffff_0000,
            u32::MAX,
        ] {
            let mut f = acc;
            while f > 0xffff {
                f = (f & 0xffff) + (f >> 16);
            }
            assert_eq!(fold(acc), f as u16, "{acc:#x}");
        }
    }

    #[test]
    fn the_word_sum_equals_the_16_bit_sum_once_folded() {
        let reference = |d: &[u8]| {
            let mut acc: u64 = 0;
            for c in d.chunks(2) {
                acc += (u16::from(c[0]) << 8 | c.get(1).copied().map_or(0, u16::from)) as u64;
            }
            fold(fold64(acc))
        };
        let mut x: u32 = 1;
        let data: Vec<u8> = (0..10_000)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect();
        for len in (0..64).chain([1499, 1500, 8949, 9000, 10_000]) {
            for start in 0..4 {
                let d = &data[start..(start + len).min(data.len())];
                assert_eq!(fold(sum(d)), reference(d), "len {len} start {start}");
            }
        }
        assert_eq!(fold(sum(&[0xff; 9000])), 0xffff);
        assert_eq!(fold(sum(&[0; 9])), 0);
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3 example words sum to 0xddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&data)), 0xddf2);
    }

    #[test]
    fn incremental_matches_full_recompute() {
        let mut data: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37)).collect();
        let before = checksum(&data);
        let old = u16::from_be_bytes([data[10], data[11]]);
        data[10] = 0xab;
        data[11] = 0xcd;
        assert_eq!(update16(before, old, 0xabcd), checksum(&data));
        let old32 = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
        data[4..8].copy_from_slice(&0xdead_beefu32.to_be_bytes());
        let c = update16(before, old, 0xabcd);
        assert_eq!(update32(c, old32, 0xdead_beef), checksum(&data));
    }
}
