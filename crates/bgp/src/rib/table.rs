//! The global table's map, split into shards: a hash map doubles its bucket array when it
//! grows, so one big map briefly holds old and new arrays (a 1M-route table peaked near 2x);
//! 64 shards grow one at a time and smooth the load factor too.

use std::collections::HashMap;
use std::collections::hash_map::{self, RandomState};
use std::hash::{BuildHasher, Hash};

const SHARDS: usize = 64;

/// A map of `K` to `V` in `SHARDS` independent hash maps.
#[derive(Debug)]
pub(crate) struct ShardedMap<K, V> {
    shards: Vec<HashMap<K, V>>,
    pick: RandomState,
}

impl<K: Hash + Eq, V> Default for ShardedMap<K, V> {
    fn default() -> Self {
        ShardedMap {
            shards: (0..SHARDS).map(|_| HashMap::new()).collect(),
            pick: RandomState::new(),
        }
    }
}

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    fn shard(&self, k: &K) -> usize {
        // The top bits pick the shard; the shard's own map hashes with its own keys.
        (self.pick.hash_one(k) >> 58) as usize % SHARDS
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
