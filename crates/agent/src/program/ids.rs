//! Small integer ids the pipeline's tables are indexed by: VRF ids per routing instance
//! and nexthop ids per nexthop identity. Ids are kept while their owner exists and reused
//! after it is released, so a change renumbers nothing else.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;

/// Ids from `first` to `max` per key.
#[derive(Debug, Clone)]
pub struct Ids<K: Hash + Eq + Clone> {
    by_key: HashMap<K, u32>,
    free: BTreeSet<u32>,
    next: u32,
    max: u32,
}

impl<K: Hash + Eq + Clone> Ids<K> {
    pub fn new(first: u32, max: u32) -> Self {
        Self {
            by_key: HashMap::new(),
            free: BTreeSet::new(),
            next: first,
            max,
        }
    }

    /// The id of `k`, allocating the lowest free one; `None` when all are taken.
    pub fn id(&mut self, k: &K) -> Option<u32> {
        if let Some(&i) = self.by_key.get(k) {
            return Some(i);
        }
        let i = match self.free.pop_first() {
            Some(i) => i,
            None if self.next <= self.max => {
                self.next += 1;
                self.next - 1
            }
            None => return None,
        };
        self.by_key.insert(k.clone(), i);
        Some(i)
    }

    pub fn get(&self, k: &K) -> Option<u32> {
        self.by_key.get(k).copied()
    }

    /// Releases `k`'s id for reuse.
    pub fn release(&mut self, k: &K) {
        if let Some(i) = self.by_key.remove(k) {
            self.free.insert(i);
        }
    }

    /// Releases every key not in `keep`.
    pub fn retain(&mut self, keep: impl Fn(&K) -> bool) {
        let gone: Vec<K> = self.by_key.keys().filter(|k| !keep(k)).cloned().collect();
        for k in gone {
            self.release(&k);
        }
    }

    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// Key -> id, ordered by id (dump).
    pub fn dump(&self) -> BTreeMap<u32, K> {
        self.by_key.iter().map(|(k, v)| (*v, k.clone())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_reused_and_bounded() {
        let mut ids: Ids<String> = Ids::new(1, 3);
        assert_eq!(ids.id(&"a".into()), Some(1));
        assert_eq!(ids.id(&"b".into()), Some(2));
        assert_eq!(ids.id(&"a".into()), Some(1));
        ids.release(&"a".into());
        assert_eq!(ids.id(&"c".into()), Some(1));
        assert_eq!(ids.id(&"d".into()), Some(3));
        assert_eq!(ids.id(&"e".into()), None);
        ids.retain(|k| k == "d");
        assert_eq!(ids.len(), 1);
        assert_eq!(ids.id(&"f".into()), Some(1));
    }
}
