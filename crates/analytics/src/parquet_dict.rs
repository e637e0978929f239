//! A string column chunk written from its dictionary: the batch's [`StrCol`] already holds
//! each distinct value once and a dictionary id per row, so the chunk is its dictionary
//! page (PLAIN values) and data pages of those ids (RLE_DICTIONARY: the RLE / bit-packed
//! hybrid), zstd-compressed, spliced into the row group. Through the crate's column writer
//! each row's value was hashed and compared again to rebuild the same dictionary, which
//! was most of the writer thread's time. The pages are standard Parquet (any reader
//! reads them; `parquet_strings.rs` reads them back as ids).

use bytes::Bytes;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::column::page::{CompressedPage, Page, PageWriter};
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// Values per data page (a row group's ids compress best in one page).
const PAGE_ROWS: usize = 1 << 18;

fn uleb(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends `vals` as bit-packed groups of 8 (the last one zero-padded) of `width` bits.
fn bit_packed(out: &mut Vec<u8>, vals: &[u32], width: u32) {
    let groups = vals.len().div_ceil(8);
    uleb(out, (groups as u64) << 1 | 1);
    let (mut acc, mut bits) = (0u64, 0u32);
    for k in 0..groups * 8 {
        acc |= (*vals.get(k).unwrap_or(&0) as u64) << bits;
        bits += width;
        while bits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            bits -= 8;
        }
    }
    // groups * 8 * width is a whole number of bytes.
    debug_assert_eq!(bits, 0);
}

/// The RLE / bit-packed hybrid of `ids` (no length prefix): runs of 8 or more equal
/// values as RLE runs, the rest bit-packed.
pub fn hybrid(ids: &[u32], width: u32, out: &mut Vec<u8>) {
    let value_bytes = width.div_ceil(8) as usize;
    let mut packed_from = 0;
    let mut i = 0;
    while i < ids.len() {
        let v = ids[i];
        let run = ids[i..].iter().take_while(|&&x| x == v).count();
        if run >= 8 {
            if packed_from < i {
                bit_packed(out, &ids[packed_from..i], width);
            }
            uleb(out, (run as u64) << 1);
            out.extend_from_slice(&v.to_le_bytes()[..value_bytes]);
            i += run;
            packed_from = i;
        } else {
            // Bit-packed runs are whole groups of 8: move on by a group.
            i = (i + 8).min(ids.len());
            if i - packed_from >= 8 * 64 || i == ids.len() {
                bit_packed(out, &ids[packed_from..i], width);
                packed_from = i;
            }
        }
    }
}

/// Compresses pages with zstd at one level, reusing its context.
pub struct Zstd {
    c: zstd::bulk::Compressor<'static>,
    level: i32,
}

impl Zstd {
    pub fn new(level: i32) -> Result<Self, ParquetError> {
        let c = zstd::bulk::Compressor::new(level)
            .map_err(|e| ParquetError::General(format!("zstd: {e}")))?;
        Ok(Zstd { c, level })
    }
    fn compress(&mut self, raw: &[u8]) -> Result<Bytes, ParquetError> {
        self.c
            .compress(raw)
            .map(Bytes::from)
            .map_err(|e| ParquetError::General(format!("zstd: {e}")))
    }
}

/// The encoded chunk of a string column of dictionary `dict` and rows `ids` (a row
/// group's, possibly reordered), and what closing it reports, for `append_column`.
pub fn chunk(
    descr: ColumnDescPtr,
    dict: &[std::sync::Arc<str>],
    ids: &[u32],
    z: &mut Zstd,
) -> Result<(Bytes, ColumnCloseResult), ParquetError> {
    let mut sink = TrackedWrite::new(Vec::new());
    let mut uncompressed = 0u64;
    let mut data_offset = None;
    {
        let mut pages = SerializedPageWriter::new(&mut sink);
        let mut raw = Vec::new();
        for d in dict {
            raw.extend_from_slice(&(d.len() as u32).to_le_bytes());
            raw.extend_from_slice(d.as_bytes());
        }
        let page = Page::DictionaryPage {
            buf: z.compress(&raw)?,
            num_values: dict.len() as u32,
            encoding: Encoding::PLAIN,
            is_sorted: false,
        };
        let spec = pages.write_page(CompressedPage::new(page, raw.len()))?;
        uncompressed += spec.uncompressed_size as u64;
        let width = 32 - (dict.len().saturating_sub(1) as u32).leading_zeros();
        for rows in ids.chunks(PAGE_ROWS) {
            raw.clear();
            raw.push(width as u8);
            hybrid(rows, width, &mut raw);
            let page = Page::DataPage {
                buf: z.compress(&raw)?,
                num_values: rows.len() as u32,
                encoding: Encoding::RLE_DICTIONARY,
                def_level_encoding: Encoding::RLE,
                rep_level_encoding: Encoding::RLE,
                statistics: None,
            };
            let spec = pages.write_page(CompressedPage::new(page, raw.len()))?;
            uncompressed += spec.uncompressed_size as u64;
            data_offset.get_or_insert(spec.offset as i64);
        }
        pages.close()?;
    }
    let buf = Bytes::from(sink.into_inner()?);
    let metadata = ColumnChunkMetaData::builder(descr)
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(z.level).map_err(|e| ParquetError::General(e.to_string()))?,
        ))
        .set_encodings(vec![
            Encoding::PLAIN,
            Encoding::RLE,
            Encoding::RLE_DICTIONARY,
        ])
        .set_num_values(ids.len() as i64)
        .set_total_compressed_size(buf.len() as i64)
        .set_total_uncompressed_size(uncompressed as i64)
        .set_dictionary_page_offset(Some(0))
        .set_data_page_offset(data_offset.unwrap_or(buf.len() as i64))
        .build()?;
    let close = ColumnCloseResult {
        bytes_written: buf.len() as u64,
        rows_written: ids.len() as u64,
        metadata,
        bloom_filter: None,
        column_index: None,
        offset_index: None,
    };
    Ok((buf, close))
}

#[cfg(test)]
mod tests {
    use super::hybrid;
    use crate::parquet_strings;

    #[test]
    fn hybrid_round_trips_runs_groups_and_tails() {
        let mut ids: Vec<u32> = Vec::new();
        ids.extend([3; 20]);
        ids.extend((0..13).map(|i| i % 5));
        ids.extend([7; 9]);
        ids.extend([1, 2, 3]);
        ids.extend((0..1500).map(|i| (i * 7919) % 6));
        ids.extend([0; 8]);
        for width in [3, 8, 13, 32] {
            let mut buf = Vec::new();
            hybrid(&ids, width, &mut buf);
            let mut back = Vec::new();
            parquet_strings::hybrid(&buf, width as u8, ids.len(), &mut back).unwrap();
            assert_eq!(back, ids, "width {width}");
        }
        let mut buf = Vec::new();
        hybrid(&[0; 100], 0, &mut buf);
        let mut back = Vec::new();
        parquet_strings::hybrid(&buf, 0, 100, &mut back).unwrap();
        assert_eq!(back, vec![0; 100]);
    }
}
