//! The global table's map: entries live densely in fixed-size chunks, and a hash index of
//! entry numbers (4 octets, with 4 octets of hash) finds them.
//!
//! Why not a `HashMap<Nlri, GlobalDest>`: a hash map keeps its (key, value) entries in its
//! bucket array, which is between 44% and 87% full depending on where N falls in its doubling
//! cycle, so each ~100-octet entry really costs 115 to 230 octets, and a doubling briefly holds
//! both arrays. Here only the index is a hash table (8 octets a bucket, 9 with its control
//! byte): the entries themselves are packed in 4096-entry chunks that never move, so a route
//! costs its entry plus ~10-15 octets however full the index is, and growing copies only the
//! index. Removal moves the last entry into the hole (the index entry pointing at it is fixed
//! up), so chunks stay full.
//!
//! The index hashes keys with foldhash's quality hasher, randomly seeded per map: a derived
//! `Hash` of a route key is half a dozen small writes, which SipHash pays a full round for each
//! (it was the top of the 1M-route profile); foldhash folds them in a multiply each, and the
//! random seed still keeps a peer from aiming prefixes at one bucket chain.

use std::hash::{BuildHasher, Hash};

use foldhash::quality::RandomState;
use hashbrown::HashTable;

/// Entries per chunk (a power of two: index split by shift and mask).
const CHUNK_BITS: u32 = 12;
const CHUNK: usize = 1 << CHUNK_BITS;

/// A map of `K` to `V` with dense entry storage.
#[derive(Debug)]
pub(crate) struct DenseMap<K, V> {
    /// Entry numbers with 32 bits of their key's hash, found by that hash. Keeping the bits
    /// here lets the index grow (rehash) and skip non-matching candidates without reading
    /// the entries, each a likely cache miss in a table of a million routes.
    index: HashTable<(u32, u32)>,
    /// Entries 0..len, `CHUNK` per chunk; every chunk but the last is full.
    chunks: Vec<Vec<(K, V)>>,
    hasher: RandomState,
}

impl<K: Hash + Eq, V> Default for DenseMap<K, V> {
    fn default() -> Self {
        DenseMap {
            index: HashTable::new(),
            chunks: Vec::new(),
            hasher: RandomState::default(),
        }
    }
}

impl<K: Hash + Eq, V> DenseMap<K, V> {
    fn hash32(&self, k: &K) -> u32 {
        let h = self.hasher.hash_one(k);
        (h ^ (h >> 32)) as u32
    }

    fn at(&self, i: u32) -> &(K, V) {
        &self.chunks[(i >> CHUNK_BITS) as usize][i as usize & (CHUNK - 1)]
    }

    fn at_mut(&mut self, i: u32) -> &mut (K, V) {
        &mut self.chunks[(i >> CHUNK_BITS) as usize][i as usize & (CHUNK - 1)]
    }

    /// Entry `i` (from [`DenseMap::find`] or [`DenseMap::get_or_default`]). Entry numbers
    /// stay valid until the next `remove`.
    pub fn entry_at(&mut self, i: u32) -> (&K, &mut V) {
        let (k, v) = self.at_mut(i);
        (&*k, v)
    }

    /// The entry number of `k`.
    pub fn find(&self, k: &K) -> Option<u32> {
        let h = self.hash32(k);
        self.index
            .find(spread(h), |(i, ih)| *ih == h && self.at(*i).0 == *k)
            .map(|(i, _)| *i)
    }

    #[cfg(test)]
    pub fn get(&self, k: &K) -> Option<&V> {
        self.find(k).map(|i| &self.at(i).1)
    }

    #[cfg(test)]
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.find(k).map(|i| &mut self.at_mut(i).1)
    }

    /// The entry number and value of `k`, inserting `V::default()` first if absent.
    pub fn get_or_default(&mut self, k: K) -> (u32, &mut V)
    where
        V: Default,
    {
        let h = self.hash32(&k);
        let chunks = &self.chunks;
        let at = |i: u32| &chunks[(i >> CHUNK_BITS) as usize][i as usize & (CHUNK - 1)];
        if let Some(i) = self
            .index
            .find(spread(h), |(i, ih)| *ih == h && at(*i).0 == k)
            .map(|(i, _)| *i)
        {
            return (i, &mut self.at_mut(i).1);
        }
        let i = u32::try_from(self.len()).expect("more than 4G routes");
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK => c.push((k, V::default())),
            _ => {
                // Exact capacity: a chunk never reallocates, so never holds slack.
                let mut c = Vec::with_capacity(CHUNK);
                c.push((k, V::default()));
                self.chunks.push(c);
            }
        }
        self.index
            .insert_unique(spread(h), (i, h), |(_, ih)| spread(*ih));
        (i, &mut self.at_mut(i).1)
    }

    pub fn remove(&mut self, k: &K) -> Option<V> {
        let h = self.hash32(k);
        let chunks = &self.chunks;
        let at = |i: u32| &chunks[(i >> CHUNK_BITS) as usize][i as usize & (CHUNK - 1)];
        let ((i, _), _) = self
            .index
            .find_entry(spread(h), |(i, ih)| *ih == h && at(*i).0 == *k)
            .ok()?
            .remove();
        let last = u32::try_from(self.len() - 1).expect("index fits u32");
        if i != last {
            // The last entry moves into the hole: repoint its index entry first.
            let lh = self.hash32(&self.at(last).0);
            if let Some(slot) = self.index.find_mut(spread(lh), |(j, _)| *j == last) {
                slot.0 = i;
            }
        }
        let tail = self.chunks.last_mut().expect("non-empty");
        let moved = tail.pop().expect("non-empty chunk");
        if tail.is_empty() {
            self.chunks.pop();
        }
        if i == last {
            return Some(moved.1);
        }
        let hole = self.at_mut(i);
        Some(std::mem::replace(hole, moved).1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.chunks.iter().flatten().map(|(k, v)| (k, v))
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.chunks.iter_mut().flatten().map(|(k, v)| (&*k, v))
    }

    /// Like `iter_mut`, with each entry's number.
    pub fn iter_mut_numbered(&mut self) -> impl Iterator<Item = (u32, &K, &mut V)> {
        self.iter_mut()
            .enumerate()
            .map(|(i, (k, v))| (i as u32, k, v))
    }

    #[cfg(test)]
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.iter_mut().map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.chunks
            .last()
            .map_or(0, |c| (self.chunks.len() - 1) * CHUNK + c.len())
    }
}

/// The index's 64-bit hash from the 32 kept bits: hashbrown takes bucket positions from the
/// low bits and its 7-bit tag from the top ones, so both halves carry the kept bits.
fn spread(h: u32) -> u64 {
    u64::from(h) << 32 | u64::from(h)
}

/// Entry numbers marked since the last `take`, each once: the changed-destinations list of a
/// flush. Marking by number (one bit test) spares hashing the key again into a set, and the
/// flush reaches each entry without a lookup. Valid because entries are only removed by the
/// flush itself, after it has taken the marks.
#[derive(Debug, Default)]
pub(crate) struct Marks {
    list: Vec<u32>,
    bits: Vec<u64>,
}

impl Marks {
    pub fn mark(&mut self, i: u32) {
        let (w, b) = ((i / 64) as usize, i % 64);
        if w >= self.bits.len() {
            self.bits.resize(w + 1, 0);
        }
        if self.bits[w] & (1 << b) == 0 {
            self.bits[w] |= 1 << b;
            self.list.push(i);
        }
    }

    /// The marked numbers, in marking order; clears the marks.
    pub fn take(&mut self) -> Vec<u32> {
        for i in &self.list {
            self.bits[(*i / 64) as usize] &= !(1 << (i % 64));
        }
        std::mem::take(&mut self.list)
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_map() {
        let mut m: DenseMap<u32, u32> = DenseMap::default();
        for i in 0..10_000 {
            *m.get_or_default(i).1 += i;
        }
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.get(&7), Some(&7));
        *m.get_mut(&7).unwrap() = 1;
        assert_eq!(m.remove(&7), Some(1));
        assert_eq!(m.remove(&7), None);
        assert_eq!(m.iter().count(), 9_999);
        assert!(m.keys().all(|k| *k != 7));
        assert_eq!(
            m.iter().map(|(_, v)| u64::from(*v)).sum::<u64>(),
            (0..10_000u64).sum::<u64>() - 7
        );
    }

    #[test]
    fn marks_once_and_clear_on_take() {
        let mut m = Marks::default();
        for i in [5, 700, 5, 3, 700] {
            m.mark(i);
        }
        assert_eq!(m.len(), 3);
        assert_eq!(m.take(), [5, 700, 3]);
        assert_eq!(m.len(), 0);
        m.mark(5);
        assert_eq!(m.take(), [5]);
    }

    #[test]
    fn removal_keeps_every_other_key_reachable() {
        let mut m: DenseMap<u32, u32> = DenseMap::default();
        let n = 3 * CHUNK as u32 + 5;
        for i in 0..n {
            *m.get_or_default(i).1 = i * 2;
        }
        // Remove from the front, the middle and the very end (the moved-entry cases).
        for i in (0..n).filter(|i| i % 3 == 0).chain([n - 1]) {
            assert_eq!(m.remove(&i), Some(i * 2), "key {i}");
        }
        for i in 0..n {
            let gone = i % 3 == 0 || i == n - 1;
            assert_eq!(m.get(&i).copied(), (!gone).then_some(i * 2), "key {i}");
        }
        assert_eq!(m.len(), m.iter().count());
        // Empty it completely, then reuse it.
        let keys: Vec<u32> = m.keys().copied().collect();
        for k in keys {
            assert!(m.remove(&k).is_some());
        }
        assert_eq!(m.len(), 0);
        assert!(m.chunks.is_empty());
        *m.get_or_default(42).1 = 1;
        assert_eq!(m.get(&42), Some(&1));
    }
}
