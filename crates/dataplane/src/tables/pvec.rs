//! A chunked copy-on-write vector: cloning copies one pointer per 256 elements, and a
//! change copies only the chunk it touches. Used for tables indexed by id (nexthops) that
//! are large but change one entry at a time.

use std::sync::Arc;

const CHUNK: usize = 256;

/// Vector of optional entries indexed by `u32` id.
#[derive(Clone, Debug, Default)]
pub struct PVec<T: Clone> {
    chunks: Vec<Arc<[Option<T>]>>,
    len: usize,
}

impl<T: Clone> PVec<T> {
    pub fn new() -> Self {
        Self {
            chunks: Vec::new(),
            len: 0,
        }
    }
    #[inline]
    pub fn get(&self, id: u32) -> Option<&T> {
        let id = id as usize;
        self.chunks.get(id / CHUNK)?.get(id % CHUNK)?.as_ref()
    }
    /// Stores `v` at `id`, returning the previous entry.
    pub fn set(&mut self, id: u32, v: Option<T>) -> Option<T> {
        let id = id as usize;
        while self.chunks.len() <= id / CHUNK {
            self.chunks.push(vec![None; CHUNK].into());
        }
        let chunk = Arc::make_mut(&mut self.chunks[id / CHUNK]);
        let old = std::mem::replace(&mut chunk[id % CHUNK], v);
        match (&old, &chunk[id % CHUNK]) {
            (None, Some(_)) => self.len += 1,
            (Some(_), None) => self.len -= 1,
            _ => {}
        }
        old
    }
    /// Number of present entries.
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Present entries with their ids.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.chunks.iter().enumerate().flat_map(|(c, ch)| {
            ch.iter()
                .enumerate()
                .filter_map(move |(i, v)| Some(((c * CHUNK + i) as u32, v.as_ref()?)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_share() {
        let mut a = PVec::new();
        a.set(3, Some("x"));
        a.set(700, Some("y"));
        let b = a.clone();
        a.set(3, None);
        assert_eq!(
            (a.get(3), b.get(3), a.get(700), a.len(), b.len()),
            (None, Some(&"x"), Some(&"y"), 1, 2)
        );
        assert_eq!(b.iter().map(|(i, _)| i).collect::<Vec<_>>(), vec![3, 700]);
    }
}
