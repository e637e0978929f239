//! The store: the open batches in memory, sealed batches waiting for the writer thread,
//! and Parquet files under `<dir>/<dataset>/<hour>/<first T>-<last T>-<seq>.parquet`, one
//! hour directory per partition (named by the hour's start in microseconds). A batch is
//! sealed when it reaches `flush_rows` or when [`Store::flush`] is called (the collector
//! does so every few seconds); the writer thread encodes it while ingest goes on, and
//! queries read it from memory until its file is in place. Partitions older than the
//! retention are removed whole.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::columns::Batch;
use crate::ingest::ingest;
use crate::intern::SampleDict;
use crate::parquet_io::{self, FileError};
use crate::record::{SessionSample, SessionSampleRef};
use crate::schema::{Dataset, RAW_UUIDS};
use crate::wire::{self, WireError};

pub const HOUR_US: i64 = 3_600_000_000;

/// Sealed batches waiting for the writer before ingest waits too (the bound on memory
/// when the disk falls behind).
const MAX_PENDING: usize = 6;

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
    /// Times ingest waited because the writer was [`MAX_PENDING`] batches behind.
    pub ingest_waits: u64,
    /// Per-interface samples (`vmi_stats` rows).
    pub vmi_stats_rows: u64,
}

/// A batch handed to the writer; queries read it until its file is in place.
struct Sealed {
    ds: Dataset,
    seq: u64,
    batch: Arc<Batch>,
    /// Being written (or queued); false after a failed write, until the next flush.
    busy: bool,
    error: Option<FileError>,
}

struct Open {
    batches: [Batch; 3],
    /// Every sample string's id, shared by the columns of the flow and session batches.
    dict: SampleDict,
    /// The sequence number the next sealed batch gets (it names its file).
    next_seq: u64,
    sealed: Vec<Sealed>,
    stats: StoreStats,
}

struct Inner {
    cfg: StoreConfig,
    open: Mutex<Open>,
    /// Signalled whenever a sealed batch is written or fails.
    written: Condvar,
}

pub struct Store {
    inner: Arc<Inner>,
    jobs: Option<mpsc::Sender<(Dataset, u64, Arc<Batch>)>>,
    writer: Option<JoinHandle<()>>,
}

fn empty(ds: Dataset, rows: usize) -> Batch {
    // A few frames past the limit before the batch is sealed.
    let rows = rows.saturating_add(1 << 14);
    Batch::new_open(
        ds.columns().iter().map(|c| (c.name, c.kind)),
        RAW_UUIDS,
        rows,
    )
}

fn idx(ds: Dataset) -> usize {
    match ds {
        Dataset::Flow => 0,
        Dataset::Session => 1,
        Dataset::VmiStats => 2,
    }
}

/// One file of a dataset, the `T` range and the sequence number in its name.
#[derive(Debug, Clone)]
pub struct FileRef {
    pub path: PathBuf,
    pub first: i64,
    pub last: i64,
    pub seq: u64,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Open> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes one sealed batch as a file (the writer thread).
    fn write(&self, ds: Dataset, seq: u64, b: &Batch) {
        let r = (|| {
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
            parquet_io::write(ds, b, &dir.join(format!("{first}-{last}-{seq}.parquet")))
        })();
        let mut o = self.lock();
        match r {
            Ok(bytes) => {
                o.stats.files_written += 1;
                o.stats.bytes_written += bytes;
                o.sealed.retain(|s| s.seq != seq);
            }
            Err(e) => {
                o.stats.write_errors += 1;
                if let Some(s) = o.sealed.iter_mut().find(|s| s.seq == seq) {
                    s.busy = false;
                    s.error = Some(e);
                }
            }
        }
        drop(o);
        self.written.notify_all();
    }

    fn files(&self, ds: Dataset, from: i64, to: i64) -> Vec<FileRef> {
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
                let (Some(Ok(first)), Some(Ok(last)), Some(Ok(seq))) = (
                    parts.next().map(str::parse::<i64>),
                    parts.next().map(str::parse::<i64>),
                    parts.next().map(str::parse::<u64>),
                ) else {
                    continue;
                };
                if last >= from && first <= to {
                    out.push(FileRef {
                        path: f.path(),
                        first,
                        last,
                        seq,
                    });
                }
            }
        }
        out.sort_by_key(|f| (f.first, f.last, f.seq));
        out
    }
}

fn read_file(
    ds: Dataset,
    f: &FileRef,
    wanted: &[usize],
    range: (i64, i64),
    scratch: &mut parquet_io::Scratch,
    each: &mut dyn FnMut(&Batch),
) -> Result<(), FileError> {
    match parquet_io::read(ds, &f.path, wanted, range, scratch, each) {
        // Removed by retention between listing and reading.
        Err(FileError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
        Ok(()) => {}
    }
    Ok(())
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
        // Sequence numbers continue after the files already there, so names stay unique.
        let rows = cfg.flush_rows;
        let inner = Arc::new(Inner {
            cfg,
            open: Mutex::new(Open {
                batches: Dataset::ALL.map(|ds| empty(ds, rows)),
                dict: SampleDict::default(),
                next_seq: 0,
                sealed: Vec::new(),
                stats: StoreStats::default(),
            }),
            written: Condvar::new(),
        });
        let next = Dataset::ALL
            .iter()
            .flat_map(|&ds| inner.files(ds, i64::MIN, i64::MAX))
            .map(|f| f.seq + 1)
            .max()
            .unwrap_or(1);
        inner.lock().next_seq = next;
        let (tx, rx) = mpsc::channel::<(Dataset, u64, Arc<Batch>)>();
        let w = inner.clone();
        let writer = std::thread::Builder::new()
            .name("analytics-writer".into())
            .spawn(move || {
                for (ds, seq, b) in rx {
                    w.write(ds, seq, &b);
                }
            })
            .map_err(|source| FileError::Io {
                path: "analytics-writer thread".into(),
                source,
            })?;
        Ok(Store {
            inner,
            jobs: Some(tx),
            writer: Some(writer),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.inner.cfg.dir
    }

    pub fn stats(&self) -> StoreStats {
        self.inner.lock().stats
    }

    /// Adds samples; seals each dataset's batch that is full.
    pub fn ingest(&self, samples: &[SessionSample]) -> Result<(), FileError> {
        let r: Result<usize, WireError> = self.ingest_refs(|each| {
            samples.iter().for_each(|s| each(&s.as_ref()));
            Ok(samples.len())
        });
        r.expect("owned samples always ingest");
        Ok(())
    }

    /// Adds the records of one wire frame body, all of them or (when the frame does not
    /// decode) none: the frame is decoded once, straight into the columns, and a record
    /// that fails takes back the rows of the records before it.
    pub fn ingest_frame(&self, body: &[u8]) -> Result<u32, WireError> {
        self.ingest_refs(|each| wire::decode_body_ref(body, |r| each(&r)).map(|n| n as usize))
            .map(|n| n as u32)
    }

    fn ingest_refs<E>(
        &self,
        walk: impl FnOnce(&mut dyn FnMut(&SessionSampleRef<'_>)) -> Result<usize, E>,
    ) -> Result<usize, E> {
        let mut o = self.wait_for_writer();
        let Open { batches, dict, .. } = &mut *o;
        let [flow, session, _] = batches;
        let (f0, s0) = (flow.len, session.len);
        let n = match walk(&mut |s| ingest(flow, session, dict, s)) {
            Ok(n) => n,
            Err(e) => {
                flow.truncate(f0);
                session.truncate(s0);
                return Err(e);
            }
        };
        let (df, dsess) = ((flow.len - f0) as u64, (session.len - s0) as u64);
        o.stats.samples += n as u64;
        o.stats.flow_rows += df;
        o.stats.session_rows += dsess;
        for ds in Dataset::ALL {
            if o.batches[idx(ds)].len >= self.inner.cfg.flush_rows {
                self.seal(&mut o, ds);
            }
        }
        Ok(n)
    }

    /// The lock, once fewer than [`MAX_PENDING`] sealed batches wait for the writer.
    fn wait_for_writer(&self) -> MutexGuard<'_, Open> {
        let mut o = self.inner.lock();
        let mut waited = false;
        while o.sealed.iter().filter(|s| s.busy).count() >= MAX_PENDING {
            waited = true;
            o = self
                .inner
                .written
                .wait(o)
                .unwrap_or_else(|p| p.into_inner());
        }
        o.stats.ingest_waits += waited as u64;
        o
    }

    /// Hands the open batch of `ds` to the writer.
    fn seal(&self, o: &mut Open, ds: Dataset) {
        if o.batches[idx(ds)].len == 0 {
            return;
        }
        let b = Arc::new(std::mem::replace(
            &mut o.batches[idx(ds)],
            empty(ds, self.inner.cfg.flush_rows),
        ));
        let seq = o.next_seq;
        o.next_seq += 1;
        o.sealed.push(Sealed {
            ds,
            seq,
            batch: b.clone(),
            busy: true,
            error: None,
        });
        if let Some(tx) = &self.jobs {
            let _ = tx.send((ds, seq, b));
        }
    }

    /// Writes every open batch that has rows (and retries failed ones), returning once
    /// they are files, or with the first write error.
    pub fn flush(&self) -> Result<(), FileError> {
        let mut o = self.inner.lock();
        for ds in Dataset::ALL {
            self.seal(&mut o, ds);
        }
        let upto = o.next_seq;
        let retry: Vec<_> = o
            .sealed
            .iter_mut()
            .filter(|s| !s.busy)
            .map(|s| {
                s.busy = true;
                s.error = None;
                (s.ds, s.seq, s.batch.clone())
            })
            .collect();
        if let Some(tx) = &self.jobs {
            for j in retry {
                let _ = tx.send(j);
            }
        }
        loop {
            if let Some(s) = o
                .sealed
                .iter_mut()
                .find(|s| s.seq < upto && s.error.is_some())
            {
                return Err(s.error.take().expect("checked"));
            }
            if !o.sealed.iter().any(|s| s.seq < upto && s.busy) {
                return Ok(());
            }
            o = self
                .inner
                .written
                .wait(o)
                .unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The files of `ds` whose `T` range meets `[from, to]`.
    pub fn files(&self, ds: Dataset, from: i64, to: i64) -> Vec<FileRef> {
        self.inner.files(ds, from, to)
    }

    /// Calls `each` with every batch of `ds` that may hold rows in `[from, to]`: the files'
    /// row groups (only the `wanted` columns, and `T` unless the row group lies wholly in
    /// the range: a batch without `T` needs no range check), then the sealed batches not yet written,
    /// then the open batch. Each row is seen once even while the writer moves batches
    /// into files: files of batches that were still in memory when the scan began are
    /// skipped, and what was sealed since is read under the lock.
    pub fn scan(
        &self,
        ds: Dataset,
        wanted: &[usize],
        from: i64,
        to: i64,
        mut each: impl FnMut(&Batch),
    ) -> Result<(), FileError> {
        let (next_seq, in_memory): (u64, Vec<(u64, Arc<Batch>)>) = {
            let o = self.inner.lock();
            let mem = o.sealed.iter().filter(|s| s.ds == ds);
            (o.next_seq, mem.map(|s| (s.seq, s.batch.clone())).collect())
        };
        let mut scratch = parquet_io::Scratch::default();
        let range = (from, to);
        for f in self.files(ds, from, to) {
            if f.seq < next_seq && !in_memory.iter().any(|(s, _)| *s == f.seq) {
                read_file(ds, &f, wanted, range, &mut scratch, &mut each)?;
            }
        }
        for (_, b) in &in_memory {
            each(&b.readable(wanted));
        }
        let o = self.inner.lock();
        let mut late: Vec<(u64, Option<&Arc<Batch>>)> = o
            .sealed
            .iter()
            .filter(|s| s.ds == ds && s.seq >= next_seq)
            .map(|s| (s.seq, Some(&s.batch)))
            .collect();
        if o.next_seq > next_seq {
            // Sealed and written since the scan began: read from their files.
            for f in self.files(ds, from, to) {
                if f.seq >= next_seq && !late.iter().any(|(s, _)| *s == f.seq) {
                    late.push((f.seq, None));
                    read_file(ds, &f, wanted, range, &mut scratch, &mut each)?;
                }
            }
        }
        late.sort_by_key(|(s, _)| *s);
        for (_, b) in late {
            if let Some(b) = b {
                each(&b.readable(wanted));
            }
        }
        each(&o.batches[idx(ds)].readable(wanted));
        Ok(())
    }

    /// Removes the partitions whose hour ended before `now_us - retention`.
    pub fn enforce_retention(&self, now_us: i64) -> u64 {
        let cutoff = now_us - self.inner.cfg.retention_us;
        let mut removed = 0;
        for ds in Dataset::ALL {
            let Ok(hours) = std::fs::read_dir(self.inner.cfg.dir.join(ds.dir())) else {
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
        self.inner.lock().stats.partitions_removed += removed;
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
        walk(&self.inner.cfg.dir)
    }
}

impl Drop for Store {
    /// Stops the writer after the batches already handed to it (open batches are not
    /// written: call [`Store::flush`] first to keep them).
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

// Per-interface counters ([`crate::vmi_stats`]): the `vmi_stats` dataset.
impl Store {
    /// Adds the records of one `CVS1` frame body, all of them or (when the frame does not
    /// decode) none.
    pub fn ingest_vmi_stats_frame(&self, body: &[u8]) -> Result<u32, WireError> {
        let mut o = self.wait_for_writer();
        let b = &mut o.batches[idx(Dataset::VmiStats)];
        let at = b.len;
        let n = match wire::decode_vmi_stats_body_ref(body, |r| crate::vmi_stats::push_row(b, &r)) {
            Ok(n) => n,
            Err(e) => {
                b.truncate(at);
                return Err(e);
            }
        };
        o.stats.vmi_stats_rows += n as u64;
        if o.batches[idx(Dataset::VmiStats)].len >= self.inner.cfg.flush_rows {
            self.seal(&mut o, Dataset::VmiStats);
        }
        Ok(n)
    }

    /// Adds owned samples (tests, benches).
    pub fn ingest_vmi_stats(&self, samples: &[crate::vmi_stats::VmiStatsSample]) {
        let mut buf = Vec::new();
        wire::encode_vmi_stats_frame(samples, &mut buf);
        self.ingest_vmi_stats_frame(&buf[8..])
            .expect("owned samples always ingest");
    }
}
