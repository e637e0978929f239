//! The paths of one destination, with the common case of a single path stored inline.
//!
//! In a VPN table nearly every destination has exactly one path (one peer or one instance
//! announces each RD:prefix). A `Vec<Path>` costs 24 octets in the destination plus a separate
//! heap block (48 octets, a 64-octet malloc chunk) per route; storing the lone path in the
//! destination itself saves that block and a pointer chase on every best-path read. A second
//! path moves both into a `Vec`, and back when only one is left. The best-path index lives in
//! the `Vec` variant too: a lone path is its own best, so the destination needs no field
//! for it (8 octets a route).

use std::ops::{Deref, DerefMut};

use super::best::Path;

/// Zero, one (inline) or several paths; reads as a slice.
#[derive(Debug, Clone)]
pub enum Paths {
    /// A lone path, which is the best one.
    One(Path),
    /// Empty or at least two paths (an empty `Vec` does not allocate), and the index of the
    /// best as of the last selection (a hint until the next one: paths may have moved since).
    Many(Vec<Path>, Option<u32>),
}

impl Default for Paths {
    fn default() -> Self {
        Paths::Many(Vec::new(), None)
    }
}

impl Deref for Paths {
    type Target = [Path];
    fn deref(&self) -> &[Path] {
        match self {
            Paths::One(p) => std::slice::from_ref(p),
            Paths::Many(v, _) => v,
        }
    }
}

impl DerefMut for Paths {
    fn deref_mut(&mut self) -> &mut [Path] {
        match self {
            Paths::One(p) => std::slice::from_mut(p),
            Paths::Many(v, _) => v,
        }
    }
}

impl Paths {
    /// Index of the best path as of the last [`Paths::set_best`] (always 0 for a lone path).
    pub fn best_index(&self) -> Option<usize> {
        match self {
            Paths::One(_) => Some(0),
            Paths::Many(v, b) => b.map(|b| b as usize).filter(|b| *b < v.len()),
        }
    }

    /// Records the best path's index (kept only while there are several).
    pub fn set_best(&mut self, best: Option<usize>) {
        if let Paths::Many(_, b) = self {
            *b = best.map(|i| i as u32);
        }
    }

    pub fn push(&mut self, p: Path) {
        match self {
            Paths::Many(v, _) if v.is_empty() => *self = Paths::One(p),
            Paths::Many(v, _) => v.push(p),
            Paths::One(_) => {
                let Paths::One(first) = std::mem::take(self) else {
                    unreachable!("matched One above")
                };
                // The lone path stays best until the next selection.
                *self = Paths::Many(vec![first, p], Some(0));
            }
        }
    }

    /// Keeps the paths for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&Path) -> bool) {
        match self {
            Paths::One(p) => {
                if !keep(p) {
                    *self = Paths::default();
                }
            }
            Paths::Many(v, _) => {
                v.retain(|p| keep(p));
                if v.len() == 1 {
                    let last = v.pop().expect("one path");
                    *self = Paths::One(last);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::rib::best::Source;

    fn path(instance: &str) -> Path {
        Path {
            source: Arc::new(Source::Local {
                instance: instance.into(),
            }),
            labels: Default::default(),
            attrs: Default::default(),
            stale: false,
            imported_from: None,
        }
    }

    fn names(p: &Paths) -> Vec<String> {
        p.iter()
            .map(|p| match &*p.source {
                Source::Local { instance } => instance.clone(),
                Source::Peer { .. } => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn one_inline_then_many_then_back() {
        let mut p = Paths::default();
        assert!(p.is_empty());
        p.push(path("a"));
        assert!(matches!(p, Paths::One(_)));
        p.push(path("b"));
        p.push(path("c"));
        assert_eq!(names(&p), ["a", "b", "c"]);
        assert_eq!(p.best_index(), Some(0));
        p.set_best(Some(2));
        assert_eq!(p.best_index(), Some(2));
        p.retain(|x| *x.source != *path("b").source);
        assert_eq!(names(&p), ["a", "c"]);
        p.retain(|x| *x.source != *path("a").source);
        assert!(matches!(p, Paths::One(_)));
        assert_eq!(names(&p), ["c"]);
        assert_eq!(p.best_index(), Some(0));
        p[0].stale = true;
        assert!(p[0].stale);
        p.retain(|_| false);
        assert!(p.is_empty());
        assert_eq!(p.best_index(), None);
    }

    #[test]
    fn inline_costs_no_more_than_a_path() {
        assert_eq!(std::mem::size_of::<Paths>(), std::mem::size_of::<Path>());
    }
}
