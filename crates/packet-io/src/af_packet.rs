//! AF_PACKET raw-socket devices: every frame on a Linux interface (a veth end, a NIC),
//! received and sent one syscall per frame, non-blocking. Simple and works everywhere;
//! TPACKET_V3 rings or AF_XDP would cut the syscalls (not done yet).

use crate::device::{Device, DeviceError};
use crate::sys;
use cirrus_dataplane::packet::PacketBuf;
use std::fs::File;
use std::io::{ErrorKind, Read, Write};

/// A raw socket bound to one interface.
pub struct AfPacket {
    name: String,
    sock: File,
}

impl AfPacket {
    /// Opens the interface `name` (needs CAP_NET_RAW).
    pub fn open(name: &str) -> Result<Self, DeviceError> {
        let ifindex =
            sys::if_index(name).ok_or_else(|| DeviceError::NoSuchInterface(name.into()))?;
        let sock = sys::packet_socket(ifindex).map_err(|source| DeviceError::Io {
            name: name.into(),
            op: "open packet socket",
            source,
        })?;
        Ok(Self {
            name: name.into(),
            sock,
        })
    }

    fn err(&self, op: &'static str, source: std::io::Error) -> DeviceError {
        DeviceError::Io {
            name: self.name.clone(),
            op,
            source,
        }
    }
}

impl Device for AfPacket {
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
            match b.fill_with(|room| self.sock.read(room)) {
                Ok(0) => {
                    spare.push(b);
                    break;
                }
                Ok(_) => {
                    out.push(b);
                    n += 1;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    spare.push(b);
                    break;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => spare.push(b),
                Err(e) => {
                    spare.push(b);
                    return Err(self.err("recv", e));
                }
            }
        }
        Ok(n)
    }

    fn send_batch(&mut self, frames: &[&PacketBuf]) -> Result<usize, DeviceError> {
        let mut n = 0;
        for f in frames {
            match self.sock.write(f.data()) {
                Ok(_) => n += 1,
                // A full socket buffer drops the frame, as a full NIC queue would.
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                // Frames larger than the interface MTU are refused by the kernel: dropped.
                Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => {}
                Err(e) => return Err(self.err("send", e)),
            }
        }
        Ok(n)
    }
}
