//! The device abstraction: batched, non-blocking receive and send of Ethernet frames.

use cirrus_dataplane::packet::PacketBuf;
use std::os::fd::RawFd;

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

/// What a device counted besides the frames it passed on (see `rxtx.rs` for when each
/// is counted; the same for every backend).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceCounters {
    /// Frames received and handed on.
    pub rx_frames: u64,
    /// Frames dropped on receive because the device could not hand over the whole frame
    /// (larger than a buffer, or cut by a ring's frame size).
    pub rx_truncated: u64,
    /// Receive calls that found the link gone down (the kernel says so once per event).
    pub rx_link_down: u64,
    /// Frames the device took for sending.
    pub tx_frames: u64,
    /// Frames the kernel refused as larger than the link MTU (dropped).
    pub tx_oversized: u64,
    /// Frames dropped because the device's send queue was full.
    pub tx_full: u64,
    /// Segmentation-offload frames received (GSO-aware devices: one per TCP super-frame
    /// the kernel handed over whole), and the segments cut from them (counted in
    /// `rx_frames` too).
    pub rx_gso_frames: u64,
    pub rx_gso_segments: u64,
    /// Received frames whose transport checksum the kernel left partial (the sender's
    /// checksum offload), carried on partial to the sending device.
    pub rx_csum_partial: u64,
    /// Frames whose partial checksum was completed before this device sent them (it
    /// cannot hand a checksum on partial).
    pub tx_csum_completed: u64,
    /// Received offload frames of a kind not handled (not TCP over IPv4/IPv6 without
    /// extension headers, bad lengths): dropped.
    pub rx_gso_unsupported: u64,
    /// Frames sent as segmentation-offload frames (larger than the link MTU, cut by the
    /// kernel or delivered whole to a local stack).
    pub tx_gso_frames: u64,
    /// Frames to hand over whole whose TCP checksum was wrong: dropped (the stack would
    /// not check it after us).
    pub tx_bad_checksum: u64,
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

    /// Whether the device can send a frame whose transport checksum is left partial
    /// (see `PacketBuf::partial_checksum`), handing the completion on; the runner
    /// completes it first for a device that cannot.
    fn takes_partial_checksums(&self) -> bool {
        false
    }

    /// A descriptor that poll(2) reports readable when the device has frames to receive,
    /// so an idle worker sleeps until traffic comes instead of polling every device on a
    /// timer; `None` (in-memory devices) keeps the worker's timed sleep.
    fn readable_fd(&self) -> Option<RawFd> {
        None
    }

    /// What the device counted so far.
    fn counters(&self) -> DeviceCounters {
        DeviceCounters::default()
    }
}
