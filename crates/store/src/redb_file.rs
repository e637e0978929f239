//! The redb storage backend: redb's own file backend, except that the file grows by
//! writing zeros instead of by `set_len` alone.
//!
//! Why: `set_len` leaves a sparse hole, and the first write into a hole makes the
//! filesystem allocate blocks, so the next `fdatasync` must also commit the filesystem
//! journal, and a journal commit waits for everyone else's metadata too. Measured with
//! sequential single-txn commits while other builds were running on this machine: 310/s
//! (p50 4 ms) through plain redb, 4,800/s (p50 0.2 ms) with this backend; on a quiet machine
//! both do about 4,500/s. Writing the zeros once, when redb grows the file (rarely, and by
//! chunks), keeps commits on the data-only path, as etcd does by preallocating its WAL.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use redb::StorageBackend;
use redb::backends::FileBackend;

/// Zero-filling chunk: big enough to be fast, small enough not to matter in memory.
const CHUNK: usize = 1 << 20;

#[derive(Debug)]
pub(crate) struct PreallocatedFile {
    inner: FileBackend,
    /// The same open file (cloned handle) for the zero writes.
    file: File,
}

impl PreallocatedFile {
    /// Wraps `file`. Takes redb's lock on it, so a second opener gets `DatabaseAlreadyOpen`.
    pub fn new(file: File) -> Result<Self, redb::DatabaseError> {
        let handle = file.try_clone()?;
        Ok(Self {
            inner: FileBackend::new(file)?,
            file: handle,
        })
    }
}

impl StorageBackend for PreallocatedFile {
    fn len(&self) -> io::Result<u64> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let old = self.inner.len()?;
        self.inner.set_len(len)?;
        // Only growth needs filling; the new region must read as zeros either way.
        let zeros = vec![0u8; CHUNK.min(len.saturating_sub(old) as usize)];
        let mut offset = old;
        while offset < len {
            let n = ((len - offset) as usize).min(zeros.len());
            self.file.write_all_at(&zeros[..n], offset)?;
            offset += n as u64;
        }
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        self.inner.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        self.inner.write(offset, data)
    }

    fn close(&self) -> io::Result<()> {
        self.inner.close()
    }
}
