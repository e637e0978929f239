//! The store: the open batches in memory and Parquet files under
//! `<dir>/<dataset>/<hour>/<first T>-<last T>-<seq>.parquet`, one hour directory per
//! partition (named by the hour's start in microseconds). A batch is flushed when it
//! reaches `flush_rows` or when [`Store::flush`] is called (the collector does so every
//! few seconds); partitions older than the retention are removed whole.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::columns::Batch;
use crate::ingest::{Scratch, ingest};
use crate::parquet_io::{self, FileError};
use crate::record::SessionSample;
use crate::schema::Dataset;

pub const HOUR_US: i64 = 3_600_000_000;

/// Store settings.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub dir: PathBuf,
    /// Partitions whose hour ended longer ago than this are removed.
    pub retention_us: i64,
    /// Rows of one dataset kept in memory before a file is written.
    pub flush_rows: usize,
}

/// Counters of the store.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct StoreStats {
    pub samples: u64,
    pub flow_rows: u64,
    pub session_rows: u64,
    pub files_written: u64,
    pub bytes_written: u64,
    pub partitions_removed: u64,
    pub write_errors: u64,
}

struct Open {
    batches: [Batch; 2],
    scratch: Scratch,
    seq: u64,
    stats: StoreStats,
}

pub struct Store {
    cfg: StoreConfig,
    open: Mutex<Open>,
}

fn empty(ds: Dataset) -> Batch {
    Batch::new(ds.columns().iter().map(|c| c.kind))
}

fn idx(ds: Dataset) -> usize {
    match ds {
        Dataset::Flow => 0,
        Dataset::Session => 1,
    }
}

/// One file of a dataset and the `T` range in its name.
#[derive(Debug, Clone)]
pub struct FileRef {
    pub path: PathBuf,
    pub first: i64,
    pub last: i64,
}

impl Store {
    pub fn open(cfg: StoreConfig) -> Result<Self, FileError> {
        for ds in Dataset::ALL {
            let d = cfg.dir.join(ds.dir());
            std::fs::create_dir_all(&d).map_err(|source| FileError::Io {
                path: d.display().to_string(),
                source,
            })?;
        }
        Ok(Store {
            cfg,
            open: Mutex::new(Open {
                batches: [empty(Dataset::Flow), empty(Dataset::Session)],
                scratch: Scratch::default(),
                seq: 0,
                stats: StoreStats::default(),
            }),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.cfg.dir
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn stats(&self) -> StoreStats {
        self.lock().stats
    }

    /// Adds samples; writes a file for each dataset whose batch is full.
    pub fn ingest(&self, samples: &[SessionSample]) -> Result<(), FileError> {
        let mut o = self.lock();
        let Open {
            batches, scratch, ..
        } = &mut *o;
        let [flow, session] = batches;
        let (f0, s0) = (flow.len, session.len);
        for s in samples {
            ingest(flow, session, s, scratch);
        }
        let (df, dsess) = ((flow.len - f0) as u64, (session.len - s0) as u64);
        o.stats.samples += samples.len() as u64;
        o.stats.flow_rows += df;
        o.stats.session_rows += dsess;
        for ds in Dataset::ALL {
            if o.batches[idx(ds)].len >= self.cfg.flush_rows {
                self.flush_one(&mut o, ds)?;
            }
        }
        Ok(())
    }

    /// Writes every open batch that has rows.
    pub fn flush(&self) -> Result<(), FileError> {
        let mut o = self.lock();
        for ds in Dataset::ALL {
            self.flush_one(&mut o, ds)?;
        }
        Ok(())
    }

    fn flush_one(&self, o: &mut Open, ds: Dataset) -> Result<(), FileError> {
        let b = &o.batches[idx(ds)];
        if b.len == 0 {
            return Ok(());
        }
        let t = b.int(0).expect("T is column 0");
        let (first, last) = t
            .iter()
            .fold((i64::MAX, i64::MIN), |(a, z), &v| (a.min(v), z.max(v)));
        let hour = first.div_euclid(HOUR_US) * HOUR_US;
        let dir = self.cfg.dir.join(ds.dir()).join(hour.to_string());
        std::fs::create_dir_all(&dir).map_err(|source| FileError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        o.seq += 1;
        let path = dir.join(format!("{first}-{last}-{}.parquet", o.seq));
        match parquet_io::write(ds, b, &path) {
            Ok(bytes) => {
                o.stats.files_written += 1;
                o.stats.bytes_written += bytes;
                o.batches[idx(ds)] = empty(ds);
                Ok(())
            }
            Err(e) => {
                o.stats.write_errors += 1;
                Err(e)
            }
        }
    }

    /// The files of `ds` whose `T` range meets `[from, to]`.
    pub fn files(&self, ds: Dataset, from: i64, to: i64) -> Vec<FileRef> {
        let mut out = Vec::new();
        let Ok(hours) = std::fs::read_dir(self.cfg.dir.join(ds.dir())) else {
            return out;
        };
        for h in hours.flatten() {
            let Some(hour) = h.file_name().to_str().and_then(|s| s.parse::<i64>().ok()) else {
                continue;
            };
            if hour > to {
                continue;
            }
            let Ok(files) = std::fs::read_dir(h.path()) else {
                continue;
            };
            for f in files.flatten() {
                let name = f.file_name();
                let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".parquet")) else {
                    continue;
                };
                let mut parts = stem.split('-');
                let (Some(Ok(first)), Some(Ok(last))) = (
                    parts.next().map(str::parse::<i64>),
                    parts.next().map(str::parse::<i64>),
                ) else {
                    continue;
                };
                if last >= from && first <= to {
                    out.push(FileRef {
                        path: f.path(),
                        first,
                        last,
                    });
                }
            }
        }
        out.sort_by_key(|f| (f.first, f.last));
        out
    }

    /// Calls `each` with every batch of `ds` that may hold rows in `[from, to]`: the files'
    /// row groups (only the `wanted` columns) and then the open batch.
    pub fn scan(
        &self,
        ds: Dataset,
        wanted: &[usize],
        from: i64,
        to: i64,
        mut each: impl FnMut(&Batch),
    ) -> Result<(), FileError> {
        for f in self.files(ds, from, to) {
            match parquet_io::read(ds, &f.path, wanted, from, to) {
                Ok(batches) => batches.iter().for_each(&mut each),
                // Removed by retention between listing and reading.
                Err(FileError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let o = self.lock();
        each(&o.batches[idx(ds)]);
        Ok(())
    }

    /// Removes the partitions whose hour ended before `now_us - retention`.
    pub fn enforce_retention(&self, now_us: i64) -> u64 {
        let cutoff = now_us - self.cfg.retention_us;
        let mut removed = 0;
        for ds in Dataset::ALL {
            let Ok(hours) = std::fs::read_dir(self.cfg.dir.join(ds.dir())) else {
                continue;
            };
            for h in hours.flatten() {
                let Some(hour) = h.file_name().to_str().and_then(|s| s.parse::<i64>().ok()) else {
                    continue;
                };
                if hour + HOUR_US <= cutoff && std::fs::remove_dir_all(h.path()).is_ok() {
                    removed += 1;
                }
            }
        }
        self.lock().stats.partitions_removed += removed;
        removed
    }

    /// Bytes of every file of the store.
    pub fn disk_bytes(&self) -> u64 {
        fn walk(p: &Path) -> u64 {
            let Ok(rd) = std::fs::read_dir(p) else {
                return 0;
            };
            rd.flatten()
                .map(|e| match e.file_type() {
                    Ok(t) if t.is_dir() => walk(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        }
        walk(&self.cfg.dir)
    }
}
