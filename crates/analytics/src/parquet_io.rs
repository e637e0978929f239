//! Batches to and from Parquet files: a flushed batch, in arrival order, in row groups of
//! up to 256Ki rows, every column required (no nulls), strings dictionary-encoded (from
//! the batch's own dictionaries, `parquet_dict.rs`), `T` delta-encoded when in order,
//! pages compressed with zstd, `T` min/max statistics per row group so a query skips row
//! groups outside its time range, reads `T` only for the row groups its range cuts, and
//! reads only the columns it names.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::column::reader::{ColumnReader, get_typed_column_reader};
use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::statistics::Statistics;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnPath, Type};

use crate::columns::{Batch, Col, Kind};
use crate::parquet_dict::{self, Zstd};
use crate::parquet_strings::{PageError, read_str_column};
use crate::schema::Dataset;

/// Why a partition file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parquet { path: String, source: ParquetError },
    #[error("{path}: column {column}: {error}")]
    Page {
        path: String,
        column: &'static str,
        error: PageError,
    },
    #[error("{path}: column {column} is not {expected:?}")]
    Shape {
        path: String,
        column: &'static str,
        expected: Kind,
    },
}

fn schema(ds: Dataset) -> Arc<Type> {
    use parquet::basic::{ConvertedType, Repetition, Type as Phys};
    let fields = ds
        .columns()
        .iter()
        .map(|c| {
            let b = match c.kind {
                Kind::Int => Type::primitive_type_builder(c.name, Phys::INT64),
                Kind::Str => Type::primitive_type_builder(c.name, Phys::BYTE_ARRAY)
                    .with_converted_type(ConvertedType::UTF8),
            };
            Arc::new(
                b.with_repetition(Repetition::REQUIRED)
                    .build()
                    .expect("static schema"),
            )
        })
        .collect();
    Arc::new(
        Type::group_type_builder(ds.dir())
            .with_fields(fields)
            .build()
            .expect("static schema"),
    )
}

/// Rows per row group for a batch of `len` rows: a query whose time range covers a row
/// group's whole `T` range does not read `T` at all, so a large batch is cut in about
/// four; each row group repeats the dictionaries, so not in smaller than 64Ki rows.
fn group_rows(len: usize) -> usize {
    (len / 4).clamp(1 << 16, 1 << 18)
}

/// Writes `batch` (every column present) as a new file at `path` (via a temporary name,
/// renamed when complete, so readers never see half a file), its rows in arrival order
/// in row groups of [`group_rows`]. Returns its size in bytes.
pub fn write(ds: Dataset, batch: &Batch, path: &Path) -> Result<u64, FileError> {
    let p = path.display().to_string();
    let io = |source| FileError::Io {
        path: p.clone(),
        source,
    };
    let pq = |source| FileError::Parquet {
        path: p.clone(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let file = File::create(&tmp).map_err(io)?;
    let t = ColumnPath::from("T");
    // Rows arrive about in time order: T is then delta-encoded (about a byte a row) and
    // row groups cover successive time ranges, which a query's range skips or takes
    // whole. A batch out of order (replayed or late samples) keeps plain T.
    let in_order = batch
        .int(0)
        .expect("T is column 0")
        .windows(2)
        .all(|w| w[0] <= w[1]);
    let t_encoding = if in_order {
        Encoding::DELTA_BINARY_PACKED
    } else {
        Encoding::PLAIN
    };
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("level 3")))
        // Only T's range is used (to skip row groups): min/max of every string column
        // costs a comparison per value.
        .set_statistics_enabled(EnabledStatistics::None)
        .set_column_statistics_enabled(t.clone(), EnabledStatistics::Chunk)
        .set_column_dictionary_enabled(t.clone(), false)
        .set_column_encoding(t, t_encoding);
    // Flow uuids and client ports are (nearly) unique per flow: a dictionary would cost
    // more than it saves.
    for c in crate::schema::RAW_UUIDS
        .iter()
        .chain(&["sport", "client_port"])
    {
        if ds.column(c).is_some() {
            props = props.set_column_dictionary_enabled(ColumnPath::from(*c), false);
        }
    }
    let props = props.build();
    let mut w = SerializedFileWriter::new(file, schema(ds), Arc::new(props)).map_err(pq)?;
    let descrs: Vec<_> = (0..batch.cols.len())
        .map(|i| w.schema_descr().column(i))
        .collect();
    let mut z = Zstd::new(3).map_err(pq)?;
    let mut text = String::with_capacity(36);
    let group = group_rows(batch.len);
    for start in (0..batch.len).step_by(group) {
        let rows = start..(start + group).min(batch.len);
        let mut rg = w.next_row_group().map_err(pq)?;
        for (i, col) in batch.cols.iter().enumerate() {
            match col.as_ref().expect("a flushed batch has every column") {
                Col::Int(v) => {
                    let mut cw = rg.next_column().map_err(pq)?.expect("a column per field");
                    cw.typed::<Int64Type>()
                        .write_batch(&v[rows.clone()], None, None)
                        .map_err(pq)?;
                    cw.close().map_err(pq)?;
                }
                Col::Str(s) => {
                    let ids = &s.ids[rows.clone()];
                    let (bytes, close) =
                        parquet_dict::chunk(descrs[i].clone(), &s.dict, ids, &mut z).map_err(pq)?;
                    rg.append_column(&bytes, close).map_err(pq)?;
                }
                Col::Uuid(u) => {
                    let vals: Vec<ByteArray> = rows
                        .clone()
                        .map(|r| {
                            u.text(r, &mut text);
                            ByteArray::from(text.as_bytes().to_vec())
                        })
                        .collect();
                    let mut cw = rg.next_column().map_err(pq)?.expect("a column per field");
                    cw.typed::<ByteArrayType>()
                        .write_batch(&vals, None, None)
                        .map_err(pq)?;
                    cw.close().map_err(pq)?;
                }
            }
        }
        rg.close().map_err(pq)?;
    }
    w.close().map_err(pq)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    std::fs::metadata(path).map(|m| m.len()).map_err(io)
}

/// Column buffers a scan hands from one row group to the next: allocated per row group,
/// their page faults and unmapping were a third of a query's time.
#[derive(Debug, Default)]
pub struct Scratch {
    ints: Vec<Vec<i64>>,
    ids: Vec<Vec<u32>>,
}

impl Scratch {
    fn recycle(&mut self, b: Batch) {
        for c in b.cols.into_iter().flatten() {
            match c {
                Col::Int(v) => self.ints.push(v),
                Col::Str(s) => self.ids.push(s.ids),
                Col::Uuid(_) => {}
            }
        }
    }
}

/// Calls `each` with every row group of `path` whose `T` range meets `[from, to]`, holding
/// only the columns in `wanted` (indexes into the dataset's columns); the others are
/// `None`, except `T` when the range cuts the row group (so a batch without `T` lies
/// wholly in the range). Column buffers are reused from `scratch`.
pub fn read(
    ds: Dataset,
    path: &Path,
    wanted: &[usize],
    (from, to): (i64, i64),
    scratch: &mut Scratch,
    each: &mut dyn FnMut(&Batch),
) -> Result<(), FileError> {
    let p = path.display().to_string();
    let pq = |source| FileError::Parquet {
        path: p.clone(),
        source,
    };
    let file = File::open(path).map_err(|source| FileError::Io {
        path: p.clone(),
        source,
    })?;
    let reader = SerializedFileReader::new(file).map_err(pq)?;
    let t = ds.column("T").expect("every dataset has T");
    let cols = ds.columns();
    for g in 0..reader.num_row_groups() {
        let rg = reader.get_row_group(g).map_err(pq)?;
        let meta = rg.metadata();
        let mut inside = false;
        if let Some(Statistics::Int64(s)) = meta.column(t).statistics()
            && let (Some(&lo), Some(&hi)) = (s.min_opt(), s.max_opt())
        {
            if hi < from || lo > to {
                continue;
            }
            inside = from <= lo && hi <= to;
        }
        let n = meta.num_rows() as usize;
        let mut batch = Batch {
            cols: vec![None; cols.len()],
            len: n,
        };
        // T for the rows the range cuts, even when not asked for.
        let also_t = (!inside && !wanted.contains(&t)).then_some(t);
        for &ci in wanted.iter().chain(also_t.iter()) {
            let shape = || FileError::Shape {
                path: p.clone(),
                column: cols[ci].name,
                expected: cols[ci].kind,
            };
            let col = match (cols[ci].kind, rg.get_column_reader(ci).map_err(pq)?) {
                (Kind::Int, r @ ColumnReader::Int64ColumnReader(_)) => {
                    let mut r = get_typed_column_reader::<Int64Type>(r);
                    let mut v = scratch.ints.pop().unwrap_or_default();
                    v.clear();
                    v.reserve(n);
                    while v.len() < n {
                        let (recs, _, _) = r
                            .read_records(n - v.len(), None, None, &mut v)
                            .map_err(pq)?;
                        if recs == 0 {
                            break;
                        }
                    }
                    Col::Int(v)
                }
                (Kind::Str, ColumnReader::ByteArrayColumnReader(_)) => {
                    let mut pages = rg.get_column_page_reader(ci).map_err(pq)?;
                    let ids = scratch.ids.pop().unwrap_or_default();
                    let s =
                        read_str_column(pages.as_mut(), n, ids).map_err(|e| FileError::Page {
                            path: p.clone(),
                            column: cols[ci].name,
                            error: e,
                        })?;
                    Col::Str(s)
                }
                _ => return Err(shape()),
            };
            if col.len() != n {
                return Err(shape());
            }
            batch.cols[ci] = Some(col);
        }
        each(&batch);
        scratch.recycle(batch);
    }
    Ok(())
}
