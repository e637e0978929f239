//! The global table's map, split into shards: a hash map doubles its bucket array when it
//! grows, so one big map briefly holds old and new arrays (a 1M-route table peaked near 2x);
//! 64 shards grow one at a time and smooth the load factor too.

use std::collections::HashMap;
use std::collections::hash_map;
use std::hash::{Hash, Hasher};

const SHARDS: usize = 64;

/// A map of `K` to `V` in `SHARDS` independent hash maps.
#[derive(Debug)]
pub(crate) struct ShardedMap<K, V> {
    shards: Vec<HashMap<K, V>>,
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
        }
    }
}

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    fn shard(&self, k: &K) -> usize {
        // A cheap hash picks the shard; the shard's own map still uses keyed SipHash, so a
        // peer choosing prefixes can at worst unbalance shards, not collide inside one.
        let mut h = Fx(0);
        k.hash(&mut h);
        (h.0 >> 58) as usize % SHARDS
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
