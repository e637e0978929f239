//! Columns in memory: the collector's open batch and what a query reads back from a
//! partition file. Integers are `i64`; strings are dictionary-encoded (each distinct
//! value once, rows hold its index), so a predicate on a string column is evaluated once
//! per distinct value and group keys are small integers.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// A small multiplicative hasher (FxHash's): the dictionaries hash short strings per row.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(SEED);
        }
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(SEED);
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64);
    }
    fn finish(&self) -> u64 {
        // The multiply leaves low bits depending on low input bits only, and the table
        // indexes by low bits: mix the high bits down (murmur3's finalizer).
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

pub type FxBuild = BuildHasherDefault<FxHasher>;
pub type FxMap<K, V> = HashMap<K, V, FxBuild>;

/// A dictionary-encoded string column.
#[derive(Debug, Default, Clone)]
pub struct StrCol {
    pub dict: Vec<Arc<str>>,
    pub ids: Vec<u32>,
    lookup: FxMap<Arc<str>, u32>,
}

impl StrCol {
    /// The index of `s` in the dictionary, adding it when new.
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.lookup.get(s) {
            return i;
        }
        let i = self.dict.len() as u32;
        let a: Arc<str> = Arc::from(s);
        self.dict.push(a.clone());
        self.lookup.insert(a, i);
        i
    }
    pub fn push(&mut self, s: &str) {
        let i = self.intern(s);
        self.ids.push(i);
    }
    pub fn get(&self, row: usize) -> &str {
        &self.dict[self.ids[row] as usize]
    }
}

/// One column's values.
#[derive(Debug, Clone)]
pub enum Col {
    Int(Vec<i64>),
    Str(StrCol),
}

impl Col {
    pub fn len(&self) -> usize {
        match self {
            Col::Int(v) => v.len(),
            Col::Str(s) => s.ids.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The kind of a stored column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Str,
}

/// Rows of one dataset, column by column; a column a query did not ask for is `None`.
#[derive(Debug, Clone)]
pub struct Batch {
    pub cols: Vec<Option<Col>>,
    pub len: usize,
}

impl Batch {
    /// An empty batch with every column of `kinds`.
    pub fn new(kinds: impl Iterator<Item = Kind>) -> Self {
        Batch {
            cols: kinds
                .map(|k| {
                    Some(match k {
                        Kind::Int => Col::Int(Vec::new()),
                        Kind::Str => Col::Str(StrCol::default()),
                    })
                })
                .collect(),
            len: 0,
        }
    }

    /// Starts appending a row: push every column in schema order, then [`RowWriter::end`].
    pub fn row(&mut self) -> RowWriter<'_> {
        RowWriter { batch: self, at: 0 }
    }

    pub fn int(&self, col: usize) -> Option<&[i64]> {
        match self.cols.get(col)?.as_ref()? {
            Col::Int(v) => Some(v),
            Col::Str(_) => None,
        }
    }

    pub fn str(&self, col: usize) -> Option<&StrCol> {
        match self.cols.get(col)?.as_ref()? {
            Col::Str(s) => Some(s),
            Col::Int(_) => None,
        }
    }
}

/// Appends one row, column after column.
pub struct RowWriter<'a> {
    batch: &'a mut Batch,
    at: usize,
}

impl RowWriter<'_> {
    pub fn int(mut self, v: i64) -> Self {
        match &mut self.batch.cols[self.at] {
            Some(Col::Int(c)) => c.push(v),
            _ => panic!("column {} is not an integer column", self.at),
        }
        self.at += 1;
        self
    }
    pub fn str(mut self, v: &str) -> Self {
        match &mut self.batch.cols[self.at] {
            Some(Col::Str(c)) => c.push(v),
            _ => panic!("column {} is not a string column", self.at),
        }
        self.at += 1;
        self
    }
    pub fn end(self) {
        assert_eq!(self.at, self.batch.cols.len(), "row left columns unset");
        self.batch.len += 1;
    }
}
