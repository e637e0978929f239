//! Tap devices: a Linux tap interface whose other side is this process, one frame per
//! read/write on `/dev/net/tun` (non-blocking). The loops around each frame are
//! `rxtx.rs`'s.

use crate::device::{Device, DeviceCounters, DeviceError};
use crate::{rxtx, sys};
use cirrus_dataplane::packet::PacketBuf;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

/// A tap interface owned by this process (it disappears when closed unless persistent).
pub struct Tap {
    name: String,
    file: File,
    counters: DeviceCounters,
}

impl Tap {
    /// Creates (or attaches to) the tap interface `name` (needs CAP_NET_ADMIN).
    pub fn open(name: &str) -> Result<Self, DeviceError> {
        if name.is_empty() || name.len() > 15 || name.contains('\0') {
            return Err(DeviceError::BadName(name.into()));
        }
        let io = |op, source| DeviceError::Io {
            name: name.into(),
            op,
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open("/dev/net/tun")
            .map_err(|e| io("open /dev/net/tun", e))?;
        sys::tun_set_tap(&file, name).map_err(|e| io("TUNSETIFF", e))?;
        Ok(Self {
            name: name.into(),
            file,
            counters: DeviceCounters::default(),
        })
    }
}

impl Device for Tap {
    fn name(&self) -> &str {
        &self.name
    }

    fn recv_batch(
        &mut self,
        out: &mut Vec<PacketBuf>,
        spare: &mut Vec<PacketBuf>,
        max: usize,
    ) -> Result<usize, DeviceError> {
        let file = &self.file;
        rxtx::receive(&self.name, &mut self.counters, out, spare, max, |b| {
            // A tap read says only how much it copied: one byte past the buffer shows a
            // frame that did not fit.
            let mut len = 0;
            b.fill_with(|room| {
                len = sys::read_or_overflow(file, room)?;
                Ok::<_, std::io::Error>(len)
            })?;
            Ok(Some(len))
        })
    }

    fn send_batch(&mut self, frames: &[&PacketBuf]) -> Result<usize, DeviceError> {
        let file = &mut self.file;
        rxtx::send_each(&self.name, &mut self.counters, frames, |f| {
            file.write(f.data())
        })
    }

    fn readable_fd(&self) -> Option<std::os::fd::RawFd> {
        Some(std::os::fd::AsRawFd::as_raw_fd(&self.file))
    }

    fn counters(&self) -> DeviceCounters {
        self.counters
    }
}
