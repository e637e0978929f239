//! The device abstraction: batched, non-blocking receive and send of Ethernet frames.

use cirrus_dataplane::packet::PacketBuf;

/// Why a device operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("device {name}: {op} failed: {source}")]
    Io {
        name: String,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("interface {0:?} does not exist")]
    NoSuchInterface(String),
    #[error("interface name {0:?} is not valid (1 to 15 bytes, no NUL)")]
    BadName(String),
}

/// A source and sink of Ethernet frames.
pub trait Device: Send {
    /// Name for logs and errors.
    fn name(&self) -> &str;

    /// Receives up to `max` frames without blocking, appending them to `out` (reusing the
    /// buffers in `spare` when there are any). Returns how many were received.
    fn recv_batch(
        &mut self,
        out: &mut Vec<PacketBuf>,
        spare: &mut Vec<PacketBuf>,
        max: usize,
    ) -> Result<usize, DeviceError>;

    /// Sends the frames, returning how many the device took (the rest were dropped, e.g.
    /// for a full queue).
    fn send_batch(&mut self, frames: &[&PacketBuf]) -> Result<usize, DeviceError>;
}
