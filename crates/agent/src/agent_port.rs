//! The agent's own port in the pipeline (interface 0): packets routed to the vrouter's
//! addresses in a network (its gateway and DNS addresses, programmed as Receive routes)
//! are "sent" on it. Here that device hands them to a thread that answers them as trapped
//! frames (ping of the gateway) and injects the answers out of the workload's port.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::TrapReason;
use cirrus_packet_io::device::{Device, DeviceError};
use cirrus_packet_io::handle::RunnerHandle;

use crate::pipeline_agent::WorkloadTraps;

/// The device end.
pub struct AgentPort {
    tx: SyncSender<Vec<u8>>,
    pub dropped: Arc<AtomicU64>,
}

/// Frames queued to the agent at most.
const DEPTH: usize = 1024;

impl AgentPort {
    /// The device and the receiving end of what is sent to it.
    pub fn new() -> (AgentPort, Receiver<Vec<u8>>) {
        let (tx, rx) = sync_channel(DEPTH);
        (
            AgentPort {
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
            },
            rx,
        )
    }
}

impl Device for AgentPort {
    fn name(&self) -> &str {
        "agent"
    }

    fn recv_batch(
        &mut self,
        _out: &mut Vec<PacketBuf>,
        _spare: &mut Vec<PacketBuf>,
        _max: usize,
    ) -> Result<usize, DeviceError> {
        Ok(0)
    }

    fn send_batch(&mut self, frames: &[&PacketBuf]) -> Result<usize, DeviceError> {
        for f in frames {
            match self.tx.try_send(f.data().to_vec()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(frames.len())
    }
}

/// Answers what reaches the agent's port until the device is gone.
pub fn serve(rx: Receiver<Vec<u8>>, traps: Arc<dyn WorkloadTraps>, handle: RunnerHandle) {
    while let Ok(frame) = rx.recv() {
        for (port, reply) in traps.trap(None, TrapReason::Host, &frame) {
            if let Err(e) = handle.inject(port, &reply) {
                tracing::debug!(port, error = %e, "answer not sent");
            }
        }
    }
}
