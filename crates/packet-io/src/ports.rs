//! Which worker owns each port (polls it and alone sends on it). The handle keeps the
//! current map and replaces it whole when a port comes or goes; every worker holds its
//! own `Arc` of the latest one, handed over between batches, so reading it takes no lock.

use cirrus_dataplane::hash::FastMap;
use cirrus_dataplane::tables::IfIndex;

#[derive(Debug, Clone, Default)]
pub(crate) struct Owners {
    map: FastMap<IfIndex, usize>,
}

impl Owners {
    pub(crate) fn new(ports: impl IntoIterator<Item = (IfIndex, usize)>) -> Self {
        Self {
            map: ports.into_iter().collect(),
        }
    }

    #[inline]
    pub(crate) fn get(&self, ifindex: IfIndex) -> Option<usize> {
        self.map.get(&ifindex).copied()
    }

    /// The worker with the fewest ports of `workers` (the lowest such id).
    pub(crate) fn least_loaded(&self, workers: usize) -> usize {
        let mut count = vec![0usize; workers];
        for &w in self.map.values() {
            if let Some(c) = count.get_mut(w) {
                *c += 1;
            }
        }
        (0..workers).min_by_key(|&w| (count[w], w)).unwrap_or(0)
    }

    pub(crate) fn with(&self, ifindex: IfIndex, worker: usize) -> Self {
        let mut o = self.clone();
        o.map.insert(ifindex, worker);
        o
    }

    pub(crate) fn without(&self, ifindex: IfIndex) -> Self {
        let mut o = self.clone();
        o.map.remove(&ifindex);
        o
    }

    /// (port, worker), by port.
    pub(crate) fn list(&self) -> Vec<(IfIndex, usize)> {
        let mut v: Vec<_> = self.map.iter().map(|(&i, &w)| (i, w)).collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ports_go_to_the_least_loaded_worker() {
        let o = Owners::new([(1, 0), (2, 1), (3, 0)]);
        assert_eq!(o.least_loaded(2), 1);
        assert_eq!(o.least_loaded(3), 2);
        let o = o.with(4, 1).without(1);
        assert_eq!(o.list(), vec![(2, 1), (3, 0), (4, 1)]);
        assert_eq!(o.least_loaded(2), 0);
        assert_eq!((o.get(4), o.get(1)), (Some(1), None));
    }
}
