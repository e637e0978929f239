//! The index of a string dictionary: an open-addressing table of (hash tag, id) pairs over
//! the dictionary's values, with the hash and the equality test inlined. Interning a
//! string per row was most of ingest's time through `HashMap<Arc<str>, u32>` (a call to
//! `memcmp` per probe, a byte loop for the hash); here a hit costs one multiply per 8
//! bytes and a word-wise compare.

use std::sync::Arc;

/// The 8 bytes of `b` at `at` as a little-endian word.
#[inline(always)]
fn word(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// A string shorter than 8 bytes as a word (zero-filled), by overlapping loads, never a
/// call to `memcpy`.
#[inline(always)]
fn short(b: &[u8]) -> u64 {
    let n = b.len();
    if n >= 4 {
        let lo = u32::from_le_bytes(b[..4].try_into().expect("4 bytes")) as u64;
        let hi = u32::from_le_bytes(b[n - 4..].try_into().expect("4 bytes")) as u64;
        lo | hi << ((n - 4) * 8)
    } else if n > 0 {
        b[0] as u64 | (b[n / 2] as u64) << 8 | (b[n - 1] as u64) << 16
    } else {
        0
    }
}

/// A fast 64-bit hash of a short string (FxHash's step per 8 bytes, murmur3's finalizer).
#[inline]
pub fn hash(b: &[u8]) -> u64 {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let n = b.len();
    let mut h = n as u64;
    if n < 8 {
        h = (h.rotate_left(5) ^ short(b)).wrapping_mul(K);
    } else {
        let mut i = 0;
        while i + 8 <= n {
            h = (h.rotate_left(5) ^ word(b, i)).wrapping_mul(K);
            i += 8;
        }
        if i < n {
            // The last (overlapping) word covers the tail.
            h = (h.rotate_left(5) ^ word(b, n - 8)).wrapping_mul(K);
        }
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
        return short(a) == short(b);
    }
    let mut i = 0;
    while i + 8 <= n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    // The last (overlapping) word covers the tail.
    word(a, n - 8) == word(b, n - 8)
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

/// Ids of the fixed values ingest writes ([`SampleDict`] gives them these ids).
pub const G_EMPTY: u32 = 0;
pub const G_PASS: u32 = 1;
pub const G_DENY: u32 = 2;
pub const G_DROP: u32 = 3;
pub const G_CLIENT: u32 = 4;
pub const G_SERVER: u32 = 5;
const FIXED: [&str; 6] = ["", "pass", "deny", "drop", "client", "server"];

/// Distinct values a [`SampleDict`] holds before it starts again.
const SAMPLE_DICT_LIMIT: usize = 1 << 20;

/// One dictionary for every string of the samples ingest sees: each string field of a
/// sample is looked up once here, and the columns it goes to (a vrouter name goes to
/// five) map this id to their own through an array ([`crate::columns::StrCol`]'s cache),
/// so a row's string costs an index, not a hash and a compare. It starts again (a new
/// epoch, which empties the columns' caches) after [`SAMPLE_DICT_LIMIT`] values.
#[derive(Debug, Clone)]
pub struct SampleDict {
    dict: Vec<Arc<str>>,
    index: StrIndex,
    epoch: u32,
}

impl Default for SampleDict {
    fn default() -> Self {
        let mut d = SampleDict {
            dict: Vec::new(),
            index: StrIndex::default(),
            epoch: 0,
        };
        d.reset();
        d
    }
}

impl SampleDict {
    fn reset(&mut self) {
        self.dict.clear();
        self.index = StrIndex::default();
        self.epoch = self.epoch.wrapping_add(1);
        for f in FIXED {
            self.add(f, hash(f.as_bytes()));
        }
    }

    fn add(&mut self, s: &str, h: u64) -> u32 {
        let i = self.dict.len() as u32;
        self.dict.push(Arc::from(s));
        self.index.insert(&self.dict, h, i);
        i
    }

    /// Call before a sample's ids are taken: ids stay valid until the next call.
    pub fn start_sample(&mut self) {
        if self.dict.len() >= SAMPLE_DICT_LIMIT {
            self.reset();
        }
    }

    /// The epoch ids belong to.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The id of `s`.
    #[inline]
    pub fn id(&mut self, s: &str) -> u32 {
        if s.is_empty() {
            return G_EMPTY;
        }
        let h = hash(s.as_bytes());
        match self.index.find(&self.dict, s.as_bytes(), h) {
            Some(i) => i,
            None => self.add(s, h),
        }
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
    fn sample_dict_gives_fixed_ids_and_starts_again_in_a_new_epoch() {
        let mut d = SampleDict::default();
        for (i, f) in FIXED.iter().enumerate() {
            assert_eq!(d.id(f), i as u32);
        }
        let g = d.epoch();
        let a = d.id("default-domain:demo:web");
        assert_eq!(d.id("default-domain:demo:web"), a);
        assert_ne!(d.id("default-domain:demo:db"), a);
        for i in 0..SAMPLE_DICT_LIMIT {
            d.id(&i.to_string());
        }
        d.start_sample();
        assert_ne!(d.epoch(), g);
        assert_eq!(d.id("pass"), G_PASS);
        assert_eq!(d.id("default-domain:demo:db"), FIXED.len() as u32);
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
