//! A string column of a row group read page by page into a [`StrCol`]: the dictionary
//! page's values are interned once and each data page's dictionary indexes (RLE /
//! bit-packed hybrid) become row ids directly, so reading a string column costs a few
//! operations per row instead of a byte-array value per row. Pages written without the
//! dictionary (PLAIN, as when a dictionary grows too large) are interned value by value.
//! Only what this store writes is accepted: required (flat, no levels) columns in v1 or v2
//! data pages; anything else is an error naming the column.

use parquet::basic::Encoding;
use parquet::column::page::{Page, PageReader};

use crate::columns::StrCol;

/// Why a string column's pages could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("page encoding {0} is not read here")]
    Encoding(String),
    #[error("page truncated")]
    Truncated,
    #[error("dictionary index {0} out of range")]
    Index(u32),
    #[error("a dictionary-encoded page before the dictionary")]
    NoDictionary,
    #[error("not UTF-8")]
    Utf8,
    #[error("{0}")]
    Parquet(String),
}

fn plain_values(mut buf: &[u8], n: usize, mut each: impl FnMut(&[u8])) -> Result<(), PageError> {
    for _ in 0..n {
        if buf.len() < 4 {
            return Err(PageError::Truncated);
        }
        let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        let v = buf.get(4..4 + len).ok_or(PageError::Truncated)?;
        each(v);
        buf = &buf[4 + len..];
    }
    Ok(())
}

fn uleb(buf: &mut &[u8]) -> Result<u64, PageError> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = buf.split_first().ok_or(PageError::Truncated)?;
        *buf = rest;
        v |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(PageError::Truncated)
}

/// Value `i` of a bit-packed run of `width`-bit values (`mask` = the low `width` bits).
#[inline(always)]
fn unpack(data: &[u8], i: usize, width: usize, mask: u64) -> u32 {
    let bit = i * width;
    let (byte, shift) = (bit / 8, bit % 8);
    // A whole little-endian word when there is room (width <= 32 and shift <= 7 need at
    // most 39 bits), else the bytes left, zero-filled.
    let w = match data.get(byte..byte + 8) {
        Some(b) => u64::from_le_bytes(b.try_into().expect("8 bytes")),
        None => {
            let mut b = [0u8; 8];
            let rest = &data[byte.min(data.len())..];
            b[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(b)
        }
    };
    ((w >> shift) & mask) as u32
}

/// Decodes `n` values of the RLE / bit-packed hybrid (no length prefix) of `width` bits.
pub fn hybrid(mut buf: &[u8], width: u8, n: usize, out: &mut Vec<u32>) -> Result<(), PageError> {
    let start = out.len();
    let width = width as usize;
    if width > 32 {
        return Err(PageError::Encoding(format!("bit width {width}")));
    }
    out.reserve(n);
    while out.len() - start < n {
        let left = n - (out.len() - start);
        let header = uleb(&mut buf)?;
        if header & 1 == 1 {
            let groups = (header >> 1) as usize;
            let bytes = groups * width;
            let data = buf.get(..bytes).ok_or(PageError::Truncated)?;
            buf = &buf[bytes..];
            let count = (groups * 8).min(left);
            let mask = if width == 32 {
                u64::MAX >> 32
            } else {
                (1u64 << width) - 1
            };
            out.extend((0..count).map(|i| unpack(data, i, width, mask)));
        } else {
            let count = (header >> 1) as usize;
            let nb = width.div_ceil(8);
            let data = buf.get(..nb).ok_or(PageError::Truncated)?;
            buf = &buf[nb..];
            let mut v = 0u32;
            for (k, b) in data.iter().enumerate() {
                v |= (*b as u32) << (8 * k);
            }
            let count = count.min(left);
            out.extend(std::iter::repeat_n(v, count));
        }
    }
    Ok(())
}

/// Reads every page of one required string column chunk of `rows` rows (row ids into
/// `ids`, a reused buffer).
pub fn read_str_column(
    pages: &mut dyn PageReader,
    rows: usize,
    mut ids: Vec<u32>,
) -> Result<StrCol, PageError> {
    ids.clear();
    ids.reserve(rows);
    let mut col = StrCol::default();
    col.ids = ids;
    // Dictionary index -> id in `col`.
    let mut dict: Option<Vec<u32>> = None;
    // Every dictionary value distinct (any writer's dictionary): index i is row id i.
    let mut identity = false;
    while let Some(page) = pages
        .get_next_page()
        .map_err(|e| PageError::Parquet(e.to_string()))?
    {
        let (buf, n, enc) = match page {
            Page::DictionaryPage {
                buf,
                num_values,
                encoding,
                ..
            } => {
                if !matches!(encoding, Encoding::PLAIN | Encoding::PLAIN_DICTIONARY) {
                    return Err(PageError::Encoding(format!("{encoding:?}")));
                }
                let mut map = Vec::with_capacity(num_values as usize);
                let mut bad = false;
                plain_values(&buf, num_values as usize, |v| {
                    match std::str::from_utf8(v) {
                        Ok(s) => map.push(col.intern(s)),
                        Err(_) => bad = true,
                    }
                })?;
                if bad {
                    return Err(PageError::Utf8);
                }
                identity = map.iter().enumerate().all(|(i, &id)| i as u32 == id);
                dict = Some(map);
                continue;
            }
            Page::DataPage {
                buf,
                num_values,
                encoding,
                ..
            } => (buf.slice(..), num_values as usize, encoding),
            Page::DataPageV2 {
                buf,
                num_values,
                encoding,
                def_levels_byte_len,
                rep_levels_byte_len,
                ..
            } => {
                let skip = (def_levels_byte_len + rep_levels_byte_len) as usize;
                if skip > buf.len() {
                    return Err(PageError::Truncated);
                }
                (buf.slice(skip..), num_values as usize, encoding)
            }
        };
        match enc {
            Encoding::PLAIN => {
                let mut bad = false;
                plain_values(&buf, n, |v| match std::str::from_utf8(v) {
                    Ok(s) => {
                        let id = col.intern(s);
                        col.ids.push(id);
                    }
                    Err(_) => bad = true,
                })?;
                if bad {
                    return Err(PageError::Utf8);
                }
            }
            Encoding::RLE_DICTIONARY | Encoding::PLAIN_DICTIONARY => {
                let map = dict.as_ref().ok_or(PageError::NoDictionary)?;
                let (&width, data) = buf.split_first().ok_or(PageError::Truncated)?;
                let at = col.ids.len();
                hybrid(data, width, n, &mut col.ids)?;
                let new = &mut col.ids[at..];
                if identity {
                    // Dictionary indexes are the row ids already: only check their range.
                    if let Some(&i) = new.iter().find(|&&i| i as usize >= map.len()) {
                        return Err(PageError::Index(i));
                    }
                } else {
                    for i in new {
                        *i = *map.get(*i as usize).ok_or(PageError::Index(*i))?;
                    }
                }
            }
            other => return Err(PageError::Encoding(format!("{other:?}"))),
        }
    }
    Ok(col)
}

#[cfg(test)]
mod tests {
    use super::hybrid;

    #[test]
    fn hybrid_runs_and_bit_packed_groups() {
        // An RLE run of 3 x 5 (width 3: one byte), then one bit-packed group of 8 values
        // 0..8 at width 3 (3 bytes).
        let mut buf = vec![3 << 1, 5];
        buf.push(1 << 1 | 1);
        let vals: Vec<u32> = (0..8).collect();
        let mut bits = 0u32;
        for (i, v) in vals.iter().enumerate() {
            bits |= v << (3 * i);
        }
        buf.extend_from_slice(&bits.to_le_bytes()[..3]);
        let mut out = Vec::new();
        hybrid(&buf, 3, 10, &mut out).unwrap();
        assert_eq!(out, vec![5, 5, 5, 0, 1, 2, 3, 4, 5, 6]);
    }
}
