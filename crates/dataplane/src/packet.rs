//! Packet buffers with headroom, so encapsulation prepends headers in place and
//! decapsulation just moves the start: no copy of the payload on either path.

/// Headroom reserved in front of received data: enough for Ethernet + IPv4 + UDP + MPLS
/// (46 bytes) or + VXLAN + inner Ethernet, with room to spare.
pub const DEFAULT_HEADROOM: usize = 128;
/// Default buffer capacity (a jumbo-less MTU plus headroom).
pub const DEFAULT_CAPACITY: usize = 2048;

/// One packet: `buf[head..tail]` is the frame.
#[derive(Clone, Debug)]
pub struct PacketBuf {
    buf: Box<[u8]>,
    head: usize,
    tail: usize,
    /// A transport checksum the sending stack left partial (checksum offload): it
    /// holds only the pseudo-header sum, and the rest is summed from `start` on (an index
    /// into `buf`, so it stays put while headers are pushed and pulled in front of it).
    /// Set by devices that receive offload metadata; carried to the device that sends
    /// the frame, which hands it on partial or completes it (see [`Self::complete_checksum`]).
    partial: Option<PartialCsum>,
}

/// Where a partial checksum is: summed from `start` (an index into the buffer), the
/// field at `start + offset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PartialCsum {
    start: usize,
    offset: usize,
}

impl PacketBuf {
    /// A buffer holding a copy of `frame` after [`DEFAULT_HEADROOM`] bytes of headroom.
    pub fn from_frame(frame: &[u8]) -> Self {
        let cap = (DEFAULT_HEADROOM + frame.len()).max(DEFAULT_CAPACITY);
        let mut buf = vec![0u8; cap].into_boxed_slice();
        buf[DEFAULT_HEADROOM..DEFAULT_HEADROOM + frame.len()].copy_from_slice(frame);
        Self {
            buf,
            head: DEFAULT_HEADROOM,
            tail: DEFAULT_HEADROOM + frame.len(),
            partial: None,
        }
    }

    /// Replaces the content with `frame`, reusing the allocation when it fits (benches and
    /// device rings recycle buffers this way).
    #[inline]
    pub fn reset_from(&mut self, frame: &[u8]) {
        if self.buf.len() < DEFAULT_HEADROOM + frame.len() {
            *self = Self::from_frame(frame);
            return;
        }
        self.head = DEFAULT_HEADROOM;
        self.tail = DEFAULT_HEADROOM + frame.len();
        self.partial = None;
        self.buf[self.head..self.tail].copy_from_slice(frame);
    }

    /// An empty buffer of [`DEFAULT_CAPACITY`] bytes, for devices to receive into.
    pub fn empty() -> Self {
        Self {
            buf: vec![0u8; DEFAULT_CAPACITY].into_boxed_slice(),
            head: DEFAULT_HEADROOM,
            tail: DEFAULT_HEADROOM,
            partial: None,
        }
    }

    /// Makes room for a frame of `room` bytes after the headroom, reallocating (and
    /// dropping the content) only when the buffer is smaller: devices that receive frames
    /// larger than [`DEFAULT_CAPACITY`] (jumbo frames, segmentation offload) call it
    /// before [`Self::fill_with`].
    pub fn ensure_room(&mut self, room: usize) {
        if self.buf.len() < DEFAULT_HEADROOM + room {
            self.buf = vec![0u8; DEFAULT_HEADROOM + room].into_boxed_slice();
            self.head = DEFAULT_HEADROOM;
            self.tail = DEFAULT_HEADROOM;
            self.partial = None;
        }
    }

    /// Room after the headroom: the largest frame [`Self::fill_with`] can take.
    pub fn room(&self) -> usize {
        self.buf.len().saturating_sub(DEFAULT_HEADROOM)
    }

    /// Lets `f` write a frame after the headroom (it gets all the room there is and
    /// returns how many bytes it wrote), as a device's receive call does.
    pub fn fill_with<E>(
        &mut self,
        f: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        self.head = DEFAULT_HEADROOM.min(self.buf.len());
        self.partial = None;
        let n = f(&mut self.buf[self.head..])?;
        self.tail = self.head + n.min(self.buf.len() - self.head);
        Ok(self.tail - self.head)
    }

    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buf[self.head..self.tail]
    }
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.head..self.tail]
    }
    #[inline]
    pub fn len(&self) -> usize {
        self.tail - self.head
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.tail == self.head
    }
    pub fn headroom(&self) -> usize {
        self.head
    }

    /// Grows the frame at the front by `n` bytes and returns them, or `None` when the
    /// headroom is too small (the caller counts a drop).
    #[inline]
    pub fn push_front(&mut self, n: usize) -> Option<&mut [u8]> {
        if n > self.head {
            return None;
        }
        self.head -= n;
        Some(&mut self.buf[self.head..self.head + n])
    }

    /// Removes `n` bytes from the front; false (and no change) when shorter than `n`.
    #[inline]
    pub fn pull_front(&mut self, n: usize) -> bool {
        if n > self.len() {
            return false;
        }
        self.head += n;
        true
    }

    /// Records that the transport checksum at `start + offset` of the frame holds only
    /// the pseudo-header sum (a stack's checksum offload, as the kernel says with
    /// `VIRTIO_NET_HDR_F_NEEDS_CSUM`); false (nothing recorded) when the field is not
    /// inside the frame.
    pub fn set_partial_checksum(&mut self, start: usize, offset: usize) -> bool {
        if start + offset + 2 > self.len() {
            return false;
        }
        self.partial = Some(PartialCsum {
            start: self.head + start,
            offset,
        });
        true
    }

    /// Where the frame's partial checksum is (`start`, `offset` from the frame's first
    /// byte), if it has one whose field is still inside the frame.
    #[inline]
    pub fn partial_checksum(&self) -> Option<(usize, usize)> {
        let p = self.partial?;
        let start = p.start.checked_sub(self.head)?;
        (p.start + p.offset + 2 <= self.tail).then_some((start, p.offset))
    }

    /// Completes a partial checksum in place (sums from its start to the end of the
    /// frame), as a device that cannot hand it on partial must before sending; the frame
    /// then carries a full checksum. False when the recorded field is no longer inside
    /// the frame (the frame is left as it is).
    pub fn complete_checksum(&mut self) -> bool {
        if self.partial.is_none() {
            return true;
        }
        let at = self.partial_checksum();
        self.partial = None;
        match at {
            Some((start, offset)) => {
                crate::wire::checksum::complete_partial(self.data_mut(), start, offset)
            }
            None => false,
        }
    }

    /// Shortens the frame to `len` bytes (e.g. dropping Ethernet padding).
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        if len < self.len() {
            self.tail = self.head + len;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_pull() {
        let mut p = PacketBuf::from_frame(&[1, 2, 3]);
        p.push_front(2).unwrap().copy_from_slice(&[9, 9]);
        assert_eq!(p.data(), &[9, 9, 1, 2, 3]);
        assert!(p.pull_front(4));
        assert_eq!(p.data(), &[3]);
        assert!(!p.pull_front(2));
        assert!(p.push_front(10_000).is_none());
        p.reset_from(&[7; 64]);
        assert_eq!(p.len(), 64);
        let mut e = PacketBuf::empty();
        let n: Result<usize, ()> = e.fill_with(|b| {
            b[..3].copy_from_slice(&[1, 2, 3]);
            Ok(3)
        });
        assert_eq!((n, e.data()), (Ok(3), &[1u8, 2, 3][..]));
        assert!(e.push_front(DEFAULT_HEADROOM).is_some());
        e.ensure_room(9000);
        assert_eq!(e.room(), 9000);
        let n: Result<usize, ()> = e.fill_with(|b| Ok(b.len()));
        assert_eq!(n, Ok(9000));
        // Never shrinks.
        e.ensure_room(100);
        assert_eq!(e.room(), 9000);
    }

    #[test]
    fn a_partial_checksum_stays_with_its_bytes_through_encapsulation() {
        // 4 bytes of "outer" header, then a transport segment: checksum field at 2..4
        // holding 0x0102 as the pseudo-header sum, data 0x0304 after it.
        let mut p = PacketBuf::from_frame(&[0xaa, 0xaa, 0xaa, 0xaa, 0, 0, 1, 2, 3, 4]);
        assert!(!p.set_partial_checksum(8, 2), "field outside the frame");
        assert!(p.set_partial_checksum(4, 2));
        assert_eq!(p.partial_checksum(), Some((4, 2)));
        // Encapsulated and decapsulated: the offsets follow the frame's start.
        p.push_front(10).unwrap().fill(0);
        assert_eq!(p.partial_checksum(), Some((14, 2)));
        assert!(p.pull_front(12));
        assert_eq!(p.partial_checksum(), Some((2, 2)));
        // Stripped past its start: no longer there to complete.
        let mut q = p.clone();
        assert!(q.pull_front(3));
        assert_eq!(q.partial_checksum(), None);
        assert!(!q.complete_checksum());
        // Completed: 0x0000 + 0x0102 + 0x0304 = 0x0406, complemented.
        assert!(p.complete_checksum());
        assert_eq!(p.partial_checksum(), None);
        assert_eq!(&p.data()[4..6], &(!0x0406u16).to_be_bytes());
        // A new frame in the buffer has none.
        assert!(p.set_partial_checksum(2, 2));
        let _: Result<usize, ()> = p.fill_with(|b| Ok(b.len().min(8)));
        assert_eq!(p.partial_checksum(), None);
    }
}
