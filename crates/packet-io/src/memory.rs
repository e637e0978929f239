//! In-memory devices: a pair of queues per device that tests and benches fill and drain.
//! `MemDevice::pair` gives the device end (for the runner) and the peer end (for the test).

use crate::device::{Device, DeviceError};
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
        let mut n = 0;
        while n < max {
            let Some(f) = q.rx.pop_front() else { break };
            let mut b = spare.pop().unwrap_or_else(PacketBuf::empty);
            b.reset_from(&f);
            out.push(b);
            n += 1;
        }
        Ok(n)
    }

    fn send_batch(&mut self, frames: &[&PacketBuf]) -> Result<usize, DeviceError> {
        let mut q = self.q.lock().unwrap_or_else(|p| p.into_inner());
        let mut n = 0;
        for f in frames {
            if q.tx.len() >= q.limit {
                break;
            }
            q.tx.push_back(f.data().to_vec());
            n += 1;
        }
        Ok(n)
    }
}
