//! The embedded backend: one redb file, `cirrus.redb`, in the data directory.
//!
//! Layout: table `kv` maps each key to `create_revision (i64 LE) | mod_revision (i64 LE) |
//! value`; table `meta` holds the current revision under `"revision"`, written in the same
//! transaction as the data, so it survives restarts and crashes together with it.
//!
//! Writes go through the group-commit writer thread (`redb_writer`); reads use redb read
//! transactions (MVCC snapshots), which never wait for the writer. Watches read the
//! in-memory history ring (`history`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::watch;

use crate::Store;
use crate::history::{History, HistoryLimits, HistoryWatch};
use crate::redb_file::PreallocatedFile;
use crate::redb_writer::Writer;
use crate::types::{KeyValue, Range, Revision, StoreError, Txn, TxnOutcome, Watch};

pub(crate) const KV: TableDefinition<&str, &[u8]> = TableDefinition::new("kv");
pub(crate) const META: TableDefinition<&str, i64> = TableDefinition::new("meta");
pub(crate) const REVISION_KEY: &str = "revision";

/// The file name inside the data directory.
pub const FILE_NAME: &str = "cirrus.redb";

const HEADER: usize = 16;

/// Tuning of the redb backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct RedbOptions {
    /// How much watch history is kept in memory.
    pub history: HistoryLimits,
}

impl RedbOptions {
    /// Keeps at most `max_revisions` revisions of watch history.
    pub fn with_history_revisions(mut self, max_revisions: usize) -> Self {
        self.history.max_revisions = max_revisions;
        self
    }
}

/// The redb store. Dropping it waits for queued txns to commit and releases the file.
pub struct RedbStore {
    // Field order matters for Drop: the writer (which joins its thread) goes first.
    writer: Writer,
    db: Arc<Database>,
    history: Arc<History>,
    latest: watch::Receiver<Revision>,
    path: PathBuf,
}

impl RedbStore {
    /// Opens (creating if needed) `data_dir/cirrus.redb`. Recovery after a crash happens
    /// here and may take a while on a big file, so it runs on a blocking thread.
    pub async fn open(data_dir: &Path, options: RedbOptions) -> Result<Self, StoreError> {
        let data_dir = data_dir.to_path_buf();
        tokio::task::spawn_blocking(move || Self::open_blocking(&data_dir, options))
            .await
            .map_err(|e| StoreError::Backend(format!("open task failed: {e}")))?
    }

    fn open_blocking(data_dir: &Path, options: RedbOptions) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Io(std::io::Error::new(
                e.kind(),
                format!("cannot create data dir {}: {e}", data_dir.display()),
            ))
        })?;
        let path = data_dir.join(FILE_NAME);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| {
                StoreError::Io(std::io::Error::new(
                    e.kind(),
                    format!("cannot open {}: {e}", path.display()),
                ))
            })?;
        let in_path = |e: StoreError| match e {
            StoreError::Unavailable(m) => {
                StoreError::Unavailable(format!("{}: {m}", path.display()))
            }
            StoreError::Corrupt(m) => StoreError::Corrupt(format!("{}: {m}", path.display())),
            other => other,
        };
        let backend = PreallocatedFile::new(file).map_err(|e| in_path(map_redb(e)))?;
        let db = Database::builder()
            .create_with_backend(backend)
            .map_err(|e| in_path(map_redb(e)))?;
        // Create the tables up front so readers never meet a missing table.
        let wtx = db.begin_write().map_err(map_redb)?;
        let (current, fresh) = {
            wtx.open_table(KV).map_err(map_redb)?;
            let mut meta = wtx.open_table(META).map_err(map_redb)?;
            let stored = meta.get(REVISION_KEY).map_err(map_redb)?.map(|v| v.value());
            match stored {
                Some(rev) => (rev, false),
                None => {
                    // A new store starts at revision 1, as a new etcd cluster does, so the
                    // two backends number the same history the same way.
                    meta.insert(REVISION_KEY, 1).map_err(map_redb)?;
                    (1, true)
                }
            }
        };
        wtx.commit().map_err(map_redb)?;
        if fresh {
            // The file's own fsyncs do not persist its directory entry; without this a power
            // loss soon after the first acknowledged txn could lose the whole file.
            std::fs::File::open(data_dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| {
                    StoreError::Io(std::io::Error::new(
                        e.kind(),
                        format!("cannot sync data dir {}: {e}", data_dir.display()),
                    ))
                })?;
        }
        tracing::info!(path = %path.display(), revision = current, "opened redb store");

        let db = Arc::new(db);
        // A new store has its whole (empty) history; a reopened one has none of it in memory.
        let compacted_through = if fresh { 0 } else { current };
        let history = Arc::new(History::new(current, compacted_through, options.history));
        let (latest_tx, latest) = watch::channel(current);
        let writer = Writer::spawn(db.clone(), history.clone(), latest_tx, current)?;
        Ok(Self {
            writer,
            db,
            history,
            latest,
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait::async_trait]
impl Store for RedbStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        // A point read is a few microseconds of B-tree walk; not worth a thread hop.
        let rtx = self.db.begin_read().map_err(map_redb)?;
        let kv = rtx.open_table(KV).map_err(map_redb)?;
        match kv.get(key).map_err(map_redb)? {
            Some(v) => Ok(Some(decode_kv(key, v.value())?)),
            None => Ok(None),
        }
    }

    async fn range(&self, prefix: &str) -> Result<Range, StoreError> {
        // Big ranges (startup loads everything) take milliseconds: off the async threads.
        let db = self.db.clone();
        let prefix = prefix.to_string();
        tokio::task::spawn_blocking(move || range_blocking(&db, &prefix))
            .await
            .map_err(|e| StoreError::Backend(format!("range task failed: {e}")))?
    }

    async fn txn(&self, txn: Txn) -> Result<TxnOutcome, StoreError> {
        txn.validate()?;
        self.writer.submit(txn).await
    }

    async fn watch(&self, prefix: &str, from_revision: Revision) -> Result<Watch, StoreError> {
        let next = self.history.start(from_revision)?;
        Ok(Watch::new(Box::new(HistoryWatch::new(
            self.history.clone(),
            self.latest.clone(),
            prefix.to_string(),
            next,
        ))))
    }

    async fn revision(&self) -> Result<Revision, StoreError> {
        let rtx = self.db.begin_read().map_err(map_redb)?;
        read_revision(&rtx)
    }

    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        self.history.compact(revision);
        Ok(())
    }
}

fn read_revision(rtx: &redb::ReadTransaction) -> Result<Revision, StoreError> {
    let meta = rtx.open_table(META).map_err(map_redb)?;
    Ok(meta
        .get(REVISION_KEY)
        .map_err(map_redb)?
        .map(|v| v.value())
        .unwrap_or(0))
}

/// Reads every key starting with `prefix` and the revision, from one snapshot.
fn range_blocking(db: &Database, prefix: &str) -> Result<Range, StoreError> {
    let rtx = db.begin_read().map_err(map_redb)?;
    let revision = read_revision(&rtx)?;
    let kv = rtx.open_table(KV).map_err(map_redb)?;
    let mut kvs = Vec::new();
    // Keys are ordered bytewise, so the prefix's keys are one contiguous run from `prefix`.
    for entry in kv.range::<&str>(prefix..).map_err(map_redb)? {
        let (k, v) = entry.map_err(map_redb)?;
        let key = k.value();
        if !key.starts_with(prefix) {
            break;
        }
        kvs.push(decode_kv(key, v.value())?);
    }
    Ok(Range { kvs, revision })
}

/// The stored form of a value: its revisions, then the bytes.
pub(crate) fn encode_value(create: Revision, modified: Revision, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + value.len());
    out.extend_from_slice(&create.to_le_bytes());
    out.extend_from_slice(&modified.to_le_bytes());
    out.extend_from_slice(value);
    out
}

/// `(create_revision, mod_revision)` of a stored value.
pub(crate) fn decode_header(key: &str, stored: &[u8]) -> Result<(Revision, Revision), StoreError> {
    match (stored.get(0..8), stored.get(8..16)) {
        (Some(c), Some(m)) => {
            let create = Revision::from_le_bytes(c.try_into().unwrap_or_default());
            let modified = Revision::from_le_bytes(m.try_into().unwrap_or_default());
            Ok((create, modified))
        }
        _ => Err(StoreError::Corrupt(format!(
            "value of key {key:?} is {} bytes, shorter than its {HEADER}-byte header",
            stored.len()
        ))),
    }
}

fn decode_kv(key: &str, stored: &[u8]) -> Result<KeyValue, StoreError> {
    let (create_revision, mod_revision) = decode_header(key, stored)?;
    Ok(KeyValue {
        key: key.to_string(),
        value: stored[HEADER..].to_vec(),
        create_revision,
        mod_revision,
    })
}

/// Maps redb's errors onto the store's, keeping the I/O and corruption cases apart.
pub(crate) fn map_redb(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Io(io) => StoreError::Io(io),
        redb::Error::Corrupted(m) => StoreError::Corrupt(m),
        redb::Error::DatabaseAlreadyOpen => {
            StoreError::Unavailable("the database file is already open (another process?)".into())
        }
        other => StoreError::Backend(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_encoding_round_trips() {
        let stored = encode_value(3, 9, b"abc");
        assert_eq!(decode_header("/k", &stored).unwrap(), (3, 9));
        let kv = decode_kv("/k", &stored).unwrap();
        assert_eq!(kv.value, b"abc");
        assert!(decode_header("/k", &stored[..10]).is_err());
    }

    #[test]
    fn default_history_is_bounded() {
        let o = RedbOptions::default();
        assert!(o.history.max_revisions > 0 && o.history.max_bytes > 0);
    }
}
