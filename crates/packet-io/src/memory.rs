//! In-memory devices: a pair of queues per device that tests and benches fill and drain.
//! `MemDevice::pair` gives the device end (for the runner) and the peer end (for the test).

use crate::device::{Device, DeviceCounters, DeviceError};
use crate::rxtx;
use cirrus_dataplane::packet::PacketBuf;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

struct Queues {
    /// Bound on each queue, so a stalled reader cannot grow memory without limit.
    limit: usize,
    /// Frames waiting to be received by the device.
    rx: VecDeque<Vec<u8>>,
    /// Frames the device sent.
    tx: VecDeque<Vec<u8>>,
}

/// The device end.
pub struct MemDevice {
    name: String,
    q: Arc<Mutex<Queues>>,
    counters: DeviceCounters,
}

/// The peer end: inject frames and collect what the device sent.
#[derive(Clone)]
pub struct MemPeer {
    q: Arc<Mutex<Queues>>,
}

impl MemDevice {
    pub fn pair(name: &str, limit: usize) -> (MemDevice, MemPeer) {
        let q = Arc::new(Mutex::new(Queues {
            limit,
            rx: VecDeque::new(),
            tx: VecDeque::new(),
        }));
        (
            MemDevice {
                name: name.into(),
                q: q.clone(),
                counters: DeviceCounters::default(),
            },
            MemPeer { q },
        )
    }
}

impl MemPeer {
    /// Queues a frame for the device to receive; false when the queue is full.
    pub fn inject(&self, frame: &[u8]) -> bool {
        let mut q = self.q.lock().unwrap_or_else(|p| p.into_inner());
        if q.rx.len() >= q.limit {
            return false;
        }
        q.rx.push_back(frame.to_vec());
        true
    }
    /// Takes every frame the device sent so far.
    pub fn drain(&self) -> Vec<Vec<u8>> {
        let mut q = self.q.lock().unwrap_or_else(|p| p.into_inner());
        q.tx.drain(..).collect()
    }
}

impl Device for MemDevice {
    fn name(&self) -> &str {
        &self.name
    }

    fn recv_batch(
        &mut self,
        out: &mut Vec<PacketBuf>,
        spare: &mut Vec<PacketBuf>,
        max: usize,
    ) -> Result<usize, DeviceError> {
        let mut q = self.q.lock().unwrap_or_else(|p| p.into_inner());
        rxtx::receive(&self.name, &mut self.counters, out, spare, max, |b| {
            // Buffers grow to fit: nothing is ever cut here.
            Ok(q.rx.pop_front().map(|f| {
                b.reset_from(&f);
                f.len()
            }))
        })
    }

    fn send_batch(&mut self, frames: &[&PacketBuf]) -> Result<usize, DeviceError> {
        let mut q = self.q.lock().unwrap_or_else(|p| p.into_inner());
        rxtx::send_each(&self.name, &mut self.counters, frames, |f| {
            if q.tx.len() >= q.limit {
                return Err(std::io::ErrorKind::WouldBlock.into());
            }
            q.tx.push_back(f.data().to_vec());
            Ok(f.len())
        })
    }

    fn counters(&self) -> DeviceCounters {
        self.counters
    }
}
