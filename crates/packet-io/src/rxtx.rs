//! The one receive loop and the one send loop every backend runs, and the one reading of
//! what an I/O error means, so all devices behave alike: a backend only says how to take
//! one frame (or put one), these decide what happens around it.
//!
//! Receive: frames are taken into spare buffers until the batch is full or the device
//! has nothing more; `EAGAIN` ends the batch, `EINTR` is retried (a few times, then the
//! batch ends), `ENETDOWN` (the link went down: reported once by the kernel, the socket
//! stays usable) ends the batch and is counted, a frame longer than what the device
//! could hand over (larger than a buffer, or cut by a ring's snap length) is dropped and
//! counted, never passed on cut short; a zero-length read ends the batch (what end of
//! file looks like; no link delivers empty frames). Any other error fails the call.
//!
//! Send: `EAGAIN`/`ENOBUFS` (the device queue is full) drop the rest of the batch, counted,
//! as a full NIC queue would; `EMSGSIZE` (over the link MTU) drops that frame, counted,
//! and goes on; `EINTR` is retried; any other error fails the call.

use crate::device::{DeviceCounters, DeviceError};
use cirrus_dataplane::packet::PacketBuf;
use std::io;

/// `EINTR`s tolerated per call before the batch ends.
const MAX_INTERRUPTS: u32 = 8;

/// What an I/O error means for the loop that met it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IoError {
    /// Nothing to receive, or no room to send: end the batch.
    Again,
    /// Interrupted by a signal: try again.
    Interrupted,
    /// This frame is over the MTU: drop it, go on (send only).
    TooBig,
    /// The link went down: end the batch, count it; the device stays usable.
    LinkDown,
    /// Anything else: the call fails.
    Fatal,
}

impl IoError {
    pub(crate) fn of(e: &io::Error) -> Self {
        if e.kind() == io::ErrorKind::WouldBlock {
            return Self::Again;
        }
        match e.raw_os_error() {
            // EBUSY: an AF_XDP TX ring still being worked through by the kernel.
            Some(libc::EAGAIN | libc::ENOBUFS | libc::EBUSY) => Self::Again,
            Some(libc::EINTR) => Self::Interrupted,
            Some(libc::EMSGSIZE) => Self::TooBig,
            Some(libc::ENETDOWN) => Self::LinkDown,
            _ => Self::Fatal,
        }
    }
}

/// What one take from a device gave.
pub(crate) enum Took {
    /// A frame of this full length, in the buffer given (cut if longer than it holds).
    Frame(usize),
    /// The device put this many frames into `out` itself (one received frame made into
    /// several, e.g. a segmentation-offload frame cut into segments), from `spare`.
    Delivered(usize),
}

/// Receives up to `max` frames into `out` (buffers from `spare`). `take` writes the next
/// frame into the buffer it is given and returns the frame's full length (which may
/// exceed what the buffer now holds: then the frame is dropped as truncated), or `None`
/// when the device has no frame now.
pub(crate) fn receive(
    name: &str,
    c: &mut DeviceCounters,
    out: &mut Vec<PacketBuf>,
    spare: &mut Vec<PacketBuf>,
    max: usize,
    mut take: impl FnMut(&mut PacketBuf) -> io::Result<Option<usize>>,
) -> Result<usize, DeviceError> {
    receive_with(name, c, out, spare, max, |b, _, _| {
        Ok(take(b)?.map(Took::Frame))
    })
}

/// [`receive`] for devices that may turn one received frame into several: `take` also
/// gets `out` and `spare` and may deliver frames itself ([`Took::Delivered`]). `max`
/// bounds the frames taken from the device, not those delivered.
pub(crate) fn receive_with(
    name: &str,
    c: &mut DeviceCounters,
    out: &mut Vec<PacketBuf>,
    spare: &mut Vec<PacketBuf>,
    max: usize,
    mut take: impl FnMut(
        &mut PacketBuf,
        &mut Vec<PacketBuf>,
        &mut Vec<PacketBuf>,
    ) -> io::Result<Option<Took>>,
) -> Result<usize, DeviceError> {
    let mut got = 0;
    let mut taken = 0;
    let mut interrupts = 0;
    let mut b = spare.pop().unwrap_or_else(PacketBuf::empty);
    // Each pass takes a frame (at most `max`), or ends, or counts an interrupt (at most
    // MAX_INTERRUPTS): bounded.
    let result = loop {
        if taken >= max {
            break Ok(());
        }
        match take(&mut b, out, spare) {
            Ok(None) | Ok(Some(Took::Frame(0))) => break Ok(()),
            Ok(Some(Took::Delivered(n))) => {
                taken += 1;
                got += n;
                c.rx_frames += n as u64;
            }
            Ok(Some(Took::Frame(len))) => {
                taken += 1;
                if len != b.len() {
                    c.rx_truncated += 1;
                    continue;
                }
                c.rx_frames += 1;
                got += 1;
                let next = spare.pop().unwrap_or_else(PacketBuf::empty);
                out.push(std::mem::replace(&mut b, next));
            }
            Err(e) => match IoError::of(&e) {
                IoError::Again => break Ok(()),
                IoError::Interrupted if interrupts < MAX_INTERRUPTS => interrupts += 1,
                IoError::Interrupted => break Ok(()),
                IoError::LinkDown => {
                    c.rx_link_down += 1;
                    break Ok(());
                }
                IoError::TooBig | IoError::Fatal => break Err(e),
            },
        }
    };
    spare.push(b);
    match result {
        Ok(()) => Ok(got),
        Err(source) => Err(DeviceError::Io {
            name: name.into(),
            op: "receive",
            source,
        }),
    }
}

/// Sends the frames one by one with `put`; returns how many the device took.
pub(crate) fn send_each(
    name: &str,
    c: &mut DeviceCounters,
    frames: &[&PacketBuf],
    mut put: impl FnMut(&PacketBuf) -> io::Result<usize>,
) -> Result<usize, DeviceError> {
    let mut sent = 0;
    let mut interrupts = 0;
    let mut at = 0;
    // Each pass sends or drops a frame, or counts an interrupt: bounded.
    while at < frames.len() {
        match put(frames[at]) {
            Ok(_) => {
                sent += 1;
                at += 1;
            }
            Err(e) => match IoError::of(&e) {
                IoError::Again => break,
                IoError::TooBig => {
                    c.tx_oversized += 1;
                    at += 1;
                }
                IoError::Interrupted if interrupts < MAX_INTERRUPTS => interrupts += 1,
                IoError::Interrupted => break,
                IoError::LinkDown | IoError::Fatal => {
                    c.tx_frames += sent as u64;
                    c.tx_full += (frames.len() - at) as u64;
                    return Err(DeviceError::Io {
                        name: name.into(),
                        op: "send",
                        source: e,
                    });
                }
            },
        }
    }
    c.tx_frames += sent as u64;
    c.tx_full += (frames.len() - at) as u64;
    Ok(sent)
}

/// Sends the frames in chunks with `put_chunk` (a sendmmsg(2)-like call that sends a
/// prefix of the chunk it is given and says how many); same rules as [`send_each`], an
/// error meaning the chunk's first frame.
pub(crate) fn send_chunks(
    name: &str,
    c: &mut DeviceCounters,
    frames: &[&PacketBuf],
    mut put_chunk: impl FnMut(&[&PacketBuf]) -> io::Result<usize>,
) -> Result<usize, DeviceError> {
    let (mut at, mut sent, mut interrupts) = (0, 0, 0);
    // Each pass sends or drops at least one frame, or counts an interrupt: bounded.
    let result = loop {
        if at >= frames.len() {
            break Ok(());
        }
        match put_chunk(&frames[at..]) {
            Ok(0) => break Ok(()),
            Ok(k) => {
                let k = k.min(frames.len() - at);
                sent += k;
                at += k;
            }
            Err(e) => match IoError::of(&e) {
                IoError::Again => break Ok(()),
                IoError::TooBig => {
                    c.tx_oversized += 1;
                    at += 1;
                }
                IoError::Interrupted if interrupts < MAX_INTERRUPTS => interrupts += 1,
                IoError::Interrupted => break Ok(()),
                IoError::LinkDown | IoError::Fatal => break Err(e),
            },
        }
    };
    c.tx_frames += sent as u64;
    c.tx_full += (frames.len() - at) as u64;
    match result {
        Ok(()) => Ok(sent),
        Err(source) => Err(DeviceError::Io {
            name: name.into(),
            op: "send",
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: i32) -> io::Error {
        io::Error::from_raw_os_error(code)
    }

    /// A scripted device: each step is what one `take` gives.
    fn rx(
        script: Vec<io::Result<Option<Vec<u8>>>>,
        max: usize,
    ) -> (
        Result<usize, DeviceError>,
        Vec<Vec<u8>>,
        DeviceCounters,
        usize,
    ) {
        let mut script = script.into_iter();
        let mut c = DeviceCounters::default();
        let (mut out, mut spare) = (Vec::new(), Vec::new());
        let r = receive("d", &mut c, &mut out, &mut spare, max, |b| {
            match script.next() {
                None => Ok(None),
                Some(Ok(None)) => Ok(None),
                Some(Ok(Some(f))) => {
                    // Like a read into a fixed buffer: at most the room there is.
                    b.fill_with(|room| {
                        let k = f.len().min(room.len());
                        room[..k].copy_from_slice(&f[..k]);
                        Ok::<_, io::Error>(k)
                    })?;
                    Ok(Some(f.len()))
                }
                Some(Err(e)) => Err(e),
            }
        });
        let frames = out.iter().map(|p| p.data().to_vec()).collect();
        (r, frames, c, spare.len())
    }

    #[test]
    fn interrupts_are_retried_and_again_ends_the_batch() {
        let (r, got, c, _) = rx(
            vec![
                Ok(Some(vec![1; 60])),
                Err(err(libc::EINTR)),
                Ok(Some(vec![2; 60])),
                Err(err(libc::EAGAIN)),
                Ok(Some(vec![3; 60])),
            ],
            32,
        );
        assert_eq!(r.unwrap(), 2);
        assert_eq!(got, vec![vec![1; 60], vec![2; 60]]);
        assert_eq!(c.rx_frames, 2);
    }

    #[test]
    fn endless_interrupts_end_the_batch() {
        let (r, got, _, _) = rx((0..100).map(|_| Err(err(libc::EINTR))).collect(), 32);
        assert_eq!((r.unwrap(), got.len()), (0, 0));
    }

    #[test]
    fn a_frame_larger_than_a_buffer_is_dropped_and_counted_not_cut() {
        let (r, got, c, _) = rx(vec![Ok(Some(vec![1; 5000])), Ok(Some(vec![2; 60]))], 32);
        assert_eq!(r.unwrap(), 1);
        assert_eq!(got, vec![vec![2; 60]]);
        assert_eq!((c.rx_truncated, c.rx_frames), (1, 1));
    }

    #[test]
    fn link_down_ends_the_batch_and_is_counted() {
        let (r, got, c, _) = rx(vec![Ok(Some(vec![1; 60])), Err(err(libc::ENETDOWN))], 32);
        assert_eq!((r.unwrap(), got.len(), c.rx_link_down), (1, 1, 1));
    }

    #[test]
    fn other_errors_fail_and_keep_the_buffer() {
        let (r, got, _, spare) = rx(vec![Ok(Some(vec![1; 60])), Err(err(libc::EBADF))], 32);
        let e = r.unwrap_err().to_string();
        assert!(e.contains("device d: receive failed"), "{e}");
        assert_eq!((got.len(), spare), (1, 1));
    }

    #[test]
    fn at_most_max_frames_and_zero_length_ends() {
        let frames: Vec<_> = (0..10).map(|i| Ok(Some(vec![i; 60]))).collect();
        assert_eq!(rx(frames, 4).0.unwrap(), 4);
        assert_eq!(
            rx(vec![Ok(Some(vec![])), Ok(Some(vec![1; 60]))], 4)
                .0
                .unwrap(),
            0
        );
    }

    fn tx(
        script: Vec<io::Result<usize>>,
        n: usize,
    ) -> (Result<usize, DeviceError>, DeviceCounters, usize) {
        let frames: Vec<PacketBuf> = (0..n).map(|_| PacketBuf::from_frame(&[0; 60])).collect();
        let refs: Vec<&PacketBuf> = frames.iter().collect();
        let mut script = script.into_iter();
        let mut calls = 0;
        let mut c = DeviceCounters::default();
        let r = send_each("d", &mut c, &refs, |f| {
            calls += 1;
            script.next().unwrap_or(Ok(f.len()))
        });
        (r, c, calls)
    }

    #[test]
    fn oversized_frames_are_skipped_and_a_full_queue_drops_the_rest() {
        let (r, c, _) = tx(
            vec![
                Ok(60),
                Err(err(libc::EMSGSIZE)),
                Err(err(libc::EINTR)),
                Ok(60),
                Err(err(libc::EAGAIN)),
            ],
            6,
        );
        assert_eq!(r.unwrap(), 2);
        assert_eq!((c.tx_frames, c.tx_oversized, c.tx_full), (2, 1, 3));
        let (r, c, calls) = tx(vec![Err(err(libc::ENOBUFS))], 3);
        assert_eq!((r.unwrap(), c.tx_full, calls), (0, 3, 1));
    }

    #[test]
    fn chunked_sends_follow_the_same_rules() {
        let frame = PacketBuf::from_frame(&[0; 60]);
        let frames = [&frame; 10];
        let mut c = DeviceCounters::default();
        let mut script = vec![
            Ok(3),
            Err(err(libc::EMSGSIZE)),
            Err(err(libc::EINTR)),
            Ok(2),
            Err(err(libc::ENOBUFS)),
        ]
        .into_iter();
        let r = send_chunks("d", &mut c, &frames, |_| script.next().unwrap());
        assert_eq!(r.unwrap(), 5);
        assert_eq!((c.tx_frames, c.tx_oversized, c.tx_full), (5, 1, 4));
        let mut c = DeviceCounters::default();
        let r = send_chunks("d", &mut c, &frames, |_| Err(err(libc::EBADF)));
        assert!(r.is_err());
        assert_eq!(c.tx_full, 10);
    }

    #[test]
    fn send_errors_fail_the_call() {
        let (r, c, _) = tx(vec![Ok(60), Err(err(libc::ENXIO))], 3);
        assert!(r.unwrap_err().to_string().contains("send failed"));
        assert_eq!((c.tx_frames, c.tx_full), (1, 2));
    }
}
