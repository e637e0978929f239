//! The index of a string dictionary: an open-addressing table of (hash tag, id) pairs over
//! the dictionary's values, with the hash and the equality test inlined. Interning a
//! string per row was most of ingest's time through `HashMap<Arc<str>, u32>` (a call to
//! `memcmp` per probe, a byte loop for the hash); here a hit costs one multiply per 8
//! bytes and a word-wise compare.

use std::sync::Arc;

/// Bytes `[at, at + n)` of `b` (n <= 8) as a little-endian word, zero-filled.
#[inline(always)]
fn word(b: &[u8], at: usize, n: usize) -> u64 {
    let mut w = [0u8; 8];
    w[..n].copy_from_slice(&b[at..at + n]);
    u64::from_le_bytes(w)
}

/// A fast 64-bit hash of a short string (FxHash's step per 8 bytes, murmur3's finalizer).
#[inline]
pub fn hash(b: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut h = b.len() as u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        h = (h.rotate_left(5) ^ u64::from_le_bytes(c.try_into().expect("8 bytes"))).wrapping_mul(K);
    }
    let r = chunks.remainder();
    if !r.is_empty() {
        h = (h.rotate_left(5) ^ word(r, 0, r.len())).wrapping_mul(K);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}

/// `a == b`, compared a word at a time (the strings here are short: names, uuids).
#[inline]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return word(a, 0, n) == word(b, 0, n);
    }
    let mut i = 0;
    while i + 8 <= n {
        if word(a, i, 8) != word(b, i, 8) {
            return false;
        }
        i += 8;
    }
    // The last (overlapping) word covers the tail.
    word(a, n - 8, 8) == word(b, n - 8, 8)
}

/// The table: each slot is `tag << 32 | (id + 1)`, 0 when empty; at most half full.
#[derive(Debug, Default, Clone)]
pub struct StrIndex {
    slots: Vec<u64>,
}

impl StrIndex {
    /// The id of `s` (whose [`hash`] is `h`) among `dict`.
    #[inline]
    pub fn find(&self, dict: &[Arc<str>], s: &[u8], h: u64) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let tag = h >> 32;
        let mut i = h as usize & mask;
        loop {
            let e = self.slots[i];
            if e == 0 {
                return None;
            }
            let id = (e as u32).wrapping_sub(1);
            if e >> 32 == tag && same(dict[id as usize].as_bytes(), s) {
                return Some(id);
            }
            i = (i + 1) & mask;
        }
    }

    /// Notes that `dict[id]` hashes to `h` (the value must not be in the table yet).
    pub fn insert(&mut self, dict: &[Arc<str>], h: u64, id: u32) {
        if (dict.len() + 1) * 2 > self.slots.len() {
            let cap = (self.slots.len() * 2).max(64);
            self.slots = vec![0; cap];
            for (j, d) in dict.iter().enumerate() {
                if j as u32 != id {
                    self.put(hash(d.as_bytes()), j as u32);
                }
            }
        }
        self.put(h, id);
    }

    fn put(&mut self, h: u64, id: u32) {
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = (h >> 32) << 32 | (id as u64 + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_agrees_with_eq_at_every_length() {
        let base: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for n in 0..40 {
            let a = &base[..n];
            assert!(same(a, a));
            for k in 0..n {
                let mut b = a.to_vec();
                b[k] ^= 1;
                assert!(!same(a, &b), "length {n}, byte {k}");
            }
            assert!(!same(a, &base[..n + 1]));
        }
    }

    #[test]
    fn finds_every_value_after_growing() {
        let mut dict: Vec<Arc<str>> = Vec::new();
        let mut ix = StrIndex::default();
        for i in 0..1000 {
            let s = format!("default-domain:demo:net-{i}");
            let h = hash(s.as_bytes());
            assert_eq!(ix.find(&dict, s.as_bytes(), h), None);
            dict.push(Arc::from(s.as_str()));
            ix.insert(&dict, h, i);
        }
        for i in 0..1000u32 {
            let s = format!("default-domain:demo:net-{i}");
            assert_eq!(ix.find(&dict, s.as_bytes(), hash(s.as_bytes())), Some(i));
        }
        assert_eq!(ix.find(&dict, b"", hash(b"")), None);
    }
}
