//! AF_PACKET raw-socket devices: every frame on a Linux interface (a veth end, a NIC),
//! received and sent one syscall per frame, non-blocking. Simple and works everywhere;
//! `tpacket` and `af_xdp` cut the syscalls. The loops around each frame are `rxtx.rs`'s.

use crate::device::{Device, DeviceCounters, DeviceError};
use crate::{rxtx, sys};
use cirrus_dataplane::packet::PacketBuf;
use std::fs::File;
use std::io::Write;

/// A raw socket bound to one interface.
pub struct AfPacket {
    name: String,
    sock: File,
    /// Receive room: the link's frames (jumbo ones too), as its MTU was when opened.
    room: usize,
    counters: DeviceCounters,
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
        let mtu = sys::link_mtu(&sock, name).map_err(|source| DeviceError::Io {
            name: name.into(),
            op: "read MTU",
            source,
        })?;
        Ok(Self {
            name: name.into(),
            sock,
            room: sys::frame_room(mtu),
            counters: DeviceCounters::default(),
        })
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
        let (sock, room) = (&self.sock, self.room);
        rxtx::receive(&self.name, &mut self.counters, out, spare, max, |b| {
            b.ensure_room(room);
            // The full length, so a frame larger than the buffer is seen as cut.
            let mut len = 0;
            b.fill_with(|room| {
                len = sys::recv_trunc(sock, room)?;
                Ok::<_, std::io::Error>(len)
            })?;
            Ok(Some(len))
        })
    }

    fn send_batch(&mut self, frames: &[&PacketBuf]) -> Result<usize, DeviceError> {
        let sock = &mut self.sock;
        rxtx::send_each(&self.name, &mut self.counters, frames, |f| {
            sock.write(f.data())
        })
    }

    fn readable_fd(&self) -> Option<std::os::fd::RawFd> {
        Some(std::os::fd::AsRawFd::as_raw_fd(&self.sock))
    }

    fn counters(&self) -> DeviceCounters {
        self.counters
    }
}
