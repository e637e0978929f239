//! Tap devices: a Linux tap interface whose other side is this process, one frame per
//! read/write on `/dev/net/tun` (non-blocking).

use crate::device::{Device, DeviceError};
use crate::sys;
use cirrus_dataplane::packet::PacketBuf;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;

/// A tap interface owned by this process (it disappears when closed unless persistent).
pub struct Tap {
    name: String,
    file: File,
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
        let mut n = 0;
        while n < max {
            let mut b = spare.pop().unwrap_or_else(PacketBuf::empty);
            match b.fill_with(|room| self.file.read(room)) {
                Ok(len) if len > 0 => {
                    out.push(b);
                    n += 1;
                }
                Ok(_) => {
                    spare.push(b);
                    break;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    spare.push(b);
                    break;
                }
                Err(e) => {
                    spare.push(b);
                    return Err(DeviceError::Io {
                        name: self.name.clone(),
                        op: "read",
                        source: e,
                    });
                }
            }
        }
        Ok(n)
    }

    fn send_batch(&mut self, frames: &[&PacketBuf]) -> Result<usize, DeviceError> {
        let mut n = 0;
        for f in frames {
            match self.file.write(f.data()) {
                Ok(_) => n += 1,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => {
                    return Err(DeviceError::Io {
                        name: self.name.clone(),
                        op: "write",
                        source: e,
                    });
                }
            }
        }
        Ok(n)
    }
}
