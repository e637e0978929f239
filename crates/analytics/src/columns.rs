//! Columns in memory: the collector's open batch and what a query reads back from a
//! partition file. Integers are `i64`; strings are dictionary-encoded (each distinct
//! value once, rows hold its index), so a predicate on a string column is evaluated once
//! per distinct value and group keys are small integers.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use crate::intern::{self, StrIndex};

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
    fn write_u128(&mut self, i: u128) {
        self.write_u64(i as u64);
        self.write_u64((i >> 64) as u64);
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
    lookup: StrIndex,
    /// The id pushed last: runs of one value (a frame's vrouter, an empty rule) skip the
    /// hash lookup.
    last: u32,
    /// Values formatted from a fixed-width key (an address, a port): the key's id, so a
    /// value is formatted once per column, not once per row.
    keyed: FxMap<u128, u32>,
    /// [`crate::intern::SampleDict`] id -> id here (`u32::MAX`: not seen), for `sample_epoch`.
    sample_ids: Vec<u32>,
    sample_epoch: u32,
}

impl StrCol {
    /// The index of `s` in the dictionary, adding it when new.
    #[inline]
    pub fn intern(&mut self, s: &str) -> u32 {
        let h = intern::hash(s.as_bytes());
        if let Some(i) = self.lookup.find(&self.dict, s.as_bytes(), h) {
            return i;
        }
        let i = self.dict.len() as u32;
        self.dict.push(Arc::from(s));
        self.lookup.insert(&self.dict, h, i);
        i
    }
    #[inline]
    pub fn push(&mut self, s: &str) {
        if let Some(d) = self.dict.get(self.last as usize)
            && intern::same(d.as_bytes(), s.as_bytes())
        {
            self.ids.push(self.last);
            return;
        }
        let i = self.intern(s);
        self.last = i;
        self.ids.push(i);
    }
    /// Pushes the value `fmt` writes for `key`, formatting it only the first time this
    /// column sees `key` (keys must map to one value each).
    /// `None`: no key; the value is formatted and interned.
    #[inline]
    pub fn push_keyed(&mut self, key: Option<u128>, fmt: impl FnOnce(&mut String)) {
        let Some(key) = key else {
            let mut s = String::new();
            fmt(&mut s);
            return self.push(&s);
        };
        if let Some(&i) = self.keyed.get(&key) {
            self.ids.push(i);
            return;
        }
        let mut s = String::new();
        fmt(&mut s);
        let i = self.intern(&s);
        self.keyed.insert(key, i);
        self.ids.push(i);
    }
    /// Pushes `s`, whose [`crate::intern::SampleDict`] id is `sid` in epoch `epoch`:
    /// an array lookup once this column has seen it.
    #[inline]
    pub fn push_sample(&mut self, sid: u32, epoch: u32, s: &str) {
        if self.sample_epoch != epoch {
            self.sample_ids.clear();
            self.sample_epoch = epoch;
        }
        if let Some(&i) = self.sample_ids.get(sid as usize)
            && i != u32::MAX
        {
            self.ids.push(i);
            return;
        }
        let i = self.intern(s);
        if self.sample_ids.len() <= sid as usize {
            self.sample_ids.resize(sid as usize + 1, u32::MAX);
        }
        self.sample_ids[sid as usize] = i;
        self.ids.push(i);
    }
    pub fn get(&self, row: usize) -> &str {
        &self.dict[self.ids[row] as usize]
    }
}

/// Flow uuids in an open batch: unique per flow, so kept as 16 bytes each (no string, no
/// dictionary) until a file is written or a query reads them (`None` = no reverse flow).
#[derive(Debug, Default, Clone)]
pub struct UuidCol {
    pub vals: Vec<u128>,
    pub present: Vec<bool>,
}

/// Contrail's text form of a uuid (`8-4-4-4-12` lower-case hex) into `buf`.
pub fn uuid_text(buf: &mut String, u: u128) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in u.to_be_bytes().iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            buf.push('-');
        }
        buf.push(HEX[(byte >> 4) as usize] as char);
        buf.push(HEX[(byte & 15) as usize] as char);
    }
}

impl UuidCol {
    pub fn push(&mut self, u: Option<u128>) {
        self.vals.push(u.unwrap_or(0));
        self.present.push(u.is_some());
    }
    /// The text of row `row` into `buf` (empty when absent).
    pub fn text(&self, row: usize, buf: &mut String) {
        buf.clear();
        if self.present[row] {
            uuid_text(buf, self.vals[row]);
        }
    }
    /// The same values as a string column (one dictionary entry per row; read only).
    pub fn to_str_col(&self) -> StrCol {
        let mut s = StrCol::default();
        let mut buf = String::with_capacity(36);
        s.dict.reserve(self.vals.len());
        s.ids.reserve(self.vals.len());
        for row in 0..self.vals.len() {
            self.text(row, &mut buf);
            s.ids.push(s.dict.len() as u32);
            s.dict.push(Arc::from(buf.as_str()));
        }
        s
    }
}

/// One column's values.
#[derive(Debug, Clone)]
pub enum Col {
    Int(Vec<i64>),
    Str(StrCol),
    /// A string column held as raw uuids (open batches only).
    Uuid(UuidCol),
}

impl Col {
    pub fn len(&self) -> usize {
        match self {
            Col::Int(v) => v.len(),
            Col::Str(s) => s.ids.len(),
            Col::Uuid(u) => u.vals.len(),
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

    /// An empty open batch: like [`Batch::new`], with the columns named in `raw_uuids`
    /// held as raw uuids, and room for `rows` rows (address space only until used: the
    /// columns never move while they fill).
    pub fn new_open<'a>(
        cols: impl Iterator<Item = (&'a str, Kind)>,
        raw_uuids: &[&str],
        rows: usize,
    ) -> Self {
        Batch {
            cols: cols
                .map(|(name, k)| {
                    Some(match k {
                        Kind::Int => Col::Int(Vec::with_capacity(rows)),
                        Kind::Str if raw_uuids.contains(&name) => Col::Uuid(UuidCol {
                            vals: Vec::with_capacity(rows),
                            present: Vec::with_capacity(rows),
                        }),
                        Kind::Str => Col::Str(StrCol {
                            ids: Vec::with_capacity(rows),
                            ..StrCol::default()
                        }),
                    })
                })
                .collect(),
            len: 0,
        }
    }

    /// This batch as queries read it: raw uuid columns among `wanted` become string
    /// columns (borrowed unchanged when there are none); `T` (column 0) is always kept.
    pub fn readable(&self, wanted: &[usize]) -> std::borrow::Cow<'_, Batch> {
        let raw = |c: &usize| matches!(self.cols.get(*c), Some(Some(Col::Uuid(_))));
        if !wanted.iter().any(raw) {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut b = Batch {
            cols: vec![None; self.cols.len()],
            len: self.len,
        };
        // T too: the caller checks the range on it.
        for &c in wanted.iter().chain([0].iter()) {
            b.cols[c] = match &self.cols[c] {
                Some(Col::Uuid(u)) => Some(Col::Str(u.to_str_col())),
                other => other.clone(),
            };
        }
        std::borrow::Cow::Owned(b)
    }

    /// Drops the rows from `len` on (the dictionaries keep their values).
    pub fn truncate(&mut self, len: usize) {
        for c in self.cols.iter_mut().flatten() {
            match c {
                Col::Int(v) => v.truncate(len),
                Col::Str(s) => s.ids.truncate(len),
                Col::Uuid(u) => {
                    u.vals.truncate(len);
                    u.present.truncate(len);
                }
            }
        }
        self.len = self.len.min(len);
    }

    /// Starts appending a row: push every column in schema order, then [`RowWriter::end`].
    pub fn row(&mut self) -> RowWriter<'_> {
        RowWriter { batch: self, at: 0 }
    }

    pub fn int(&self, col: usize) -> Option<&[i64]> {
        match self.cols.get(col)?.as_ref()? {
            Col::Int(v) => Some(v),
            _ => None,
        }
    }

    pub fn str(&self, col: usize) -> Option<&StrCol> {
        match self.cols.get(col)?.as_ref()? {
            Col::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Appends one row, column after column.
pub struct RowWriter<'a> {
    batch: &'a mut Batch,
    at: usize,
}

impl RowWriter<'_> {
    #[inline]
    pub fn int(mut self, v: i64) -> Self {
        match &mut self.batch.cols[self.at] {
            Some(Col::Int(c)) => c.push(v),
            _ => panic!("column {} is not an integer column", self.at),
        }
        self.at += 1;
        self
    }
    #[inline]
    pub fn str(mut self, v: &str) -> Self {
        match &mut self.batch.cols[self.at] {
            Some(Col::Str(c)) => c.push(v),
            _ => panic!("column {} is not a string column", self.at),
        }
        self.at += 1;
        self
    }
    /// A string with its [`crate::intern::SampleDict`] id `sid` of epoch `epoch`.
    #[inline]
    pub fn sample_str(mut self, sid: u32, epoch: u32, v: &str) -> Self {
        match &mut self.batch.cols[self.at] {
            Some(Col::Str(c)) => c.push_sample(sid, epoch, v),
            _ => panic!("column {} is not a string column", self.at),
        }
        self.at += 1;
        self
    }
    /// A string formatted from `key` by `fmt`, formatted once per distinct key.
    #[inline]
    pub fn keyed(mut self, key: Option<u128>, fmt: impl FnOnce(&mut String)) -> Self {
        match &mut self.batch.cols[self.at] {
            Some(Col::Str(c)) => c.push_keyed(key, fmt),
            _ => panic!("column {} is not a string column", self.at),
        }
        self.at += 1;
        self
    }
    /// A flow uuid (`None`: the empty string).
    #[inline]
    pub fn uuid(mut self, u: Option<u128>) -> Self {
        match &mut self.batch.cols[self.at] {
            Some(Col::Uuid(c)) => c.push(u),
            Some(Col::Str(c)) => {
                let mut buf = String::new();
                if let Some(u) = u {
                    uuid_text(&mut buf, u);
                }
                c.push(&buf);
            }
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
