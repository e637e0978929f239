//! The global table's map, split into shards: a hash map doubles its bucket array when it
//! grows, so one big map briefly holds old and new arrays (a 1M-route table peaked near 2x);
//! shards grow one at a time.
//!
//! Shards are deliberately unequal. With equal shards every shard holds N/64 keys, so all of
//! them sit at the same point of their doubling cycle: just after a doubling, every bucket array
//! is half empty at once (1M routes: 64 x 32768 buckets for 15625 keys each, 48% full, ~200
//! octets a route for a 97-octet entry). Shard `i` gets a share proportional to `2^(i/64)`, so
//! shard sizes spread over one octave and their fill levels spread over the whole cycle: the
//! table's overall fill stays near the average (~63%) whatever N is, instead of swinging
//! between 44% and 87% with N.

use std::collections::HashMap;
use std::collections::hash_map;
use std::hash::{Hash, Hasher};

const SHARDS: usize = 64;

/// A map of `K` to `V` in `SHARDS` independent hash maps.
#[derive(Debug)]
pub(crate) struct ShardedMap<K, V> {
    shards: Vec<HashMap<K, V>>,
    /// Upper hash bound of each shard (exclusive; the last is `u64::MAX`, inclusive): shard
    /// `i` covers a slice of the hash space proportional to `2^(i/SHARDS)`.
    bounds: [u64; SHARDS],
}

/// Shard bounds over the 64-bit hash space, weights `2^(i/SHARDS)`.
fn bounds() -> [u64; SHARDS] {
    let w: Vec<f64> = (0..SHARDS)
        .map(|i| (i as f64 / SHARDS as f64).exp2())
        .collect();
    let total: f64 = w.iter().sum();
    let mut b = [u64::MAX; SHARDS];
    let mut acc = 0.0;
    for (i, wi) in w.iter().enumerate().take(SHARDS - 1) {
        acc += wi;
        // `as` saturates; acc/total < 1 here, so this stays below u64::MAX.
        b[i] = (acc / total * u64::MAX as f64) as u64;
    }
    b
}

/// Multiply-rotate hashing (the Fx scheme), for shard choice only.
struct Fx(u64);

impl Hasher for Fx {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u8(&mut self, v: u8) {
        self.write_u64(u64::from(v));
    }
    fn write_u16(&mut self, v: u16) {
        self.write_u64(u64::from(v));
    }
    fn write_u32(&mut self, v: u32) {
        self.write_u64(u64::from(v));
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

impl<K: Hash + Eq, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        ShardedMap {
            shards: (0..SHARDS).map(|_| HashMap::new()).collect(),
            bounds: bounds(),
        }
    }
}

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    fn shard(&self, k: &K) -> usize {
        // A cheap hash picks the shard; the shard's own map still uses keyed SipHash, so a
        // peer choosing prefixes can at worst unbalance shards, not collide inside one.
        let mut h = Fx(0);
        k.hash(&mut h);
        // A final multiply spreads the high bits (Fx leaves them weak for short keys).
        let h = h.0.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (h.0 >> 29);
        self.bounds.partition_point(|b| *b < h).min(SHARDS - 1)
    }
    pub fn get(&self, k: &K) -> Option<&V> {
        self.shards[self.shard(k)].get(k)
    }
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let i = self.shard(k);
        self.shards[i].get_mut(k)
    }
    pub fn entry(&mut self, k: K) -> hash_map::Entry<'_, K, V> {
        let i = self.shard(&k);
        self.shards[i].entry(k)
    }
    pub fn remove(&mut self, k: &K) -> Option<V> {
        let i = self.shard(k);
        self.shards[i].remove(k)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flat_map(|s| s.iter())
    }
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.shards.iter_mut().flat_map(|s| s.iter_mut())
    }
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.shards.iter().flat_map(|s| s.keys())
    }
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.shards.iter().flat_map(|s| s.values())
    }
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.shards.iter_mut().flat_map(|s| s.values_mut())
    }
    pub fn len(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_spread_over_an_octave() {
        let mut m: ShardedMap<u64, ()> = ShardedMap::default();
        for i in 0..200_000u64 {
            m.entry(i * 7919).or_default();
        }
        let sizes: Vec<usize> = m.shards.iter().map(HashMap::len).collect();
        let (lo, hi) = (sizes[..8].iter().sum::<usize>(), sizes[56..].iter().sum::<usize>());
        // The last eighth of shards weighs about 2^(7/8) times the first eighth.
        let r = hi as f64 / lo as f64;
        assert!((1.6..2.0).contains(&r), "shard weights off: {r} ({sizes:?})");
    }

    #[test]
    fn behaves_like_a_map() {
        let mut m: ShardedMap<u32, u32> = ShardedMap::default();
        for i in 0..1000 {
            *m.entry(i).or_default() += i;
        }
        assert_eq!(m.len(), 1000);
        assert_eq!(m.get(&7), Some(&7));
        *m.get_mut(&7).unwrap() = 1;
        assert_eq!(m.remove(&7), Some(1));
        assert_eq!(m.iter().count(), 999);
        assert!(m.keys().all(|k| *k != 7));
        assert_eq!(
            m.values().map(|v| u64::from(*v)).sum::<u64>(),
            (0..1000u64).sum::<u64>() - 7
        );
    }
}
