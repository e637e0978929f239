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
        self.buf[self.head..self.tail].copy_from_slice(frame);
    }

    /// An empty buffer of [`DEFAULT_CAPACITY`] bytes, for devices to receive into.
    pub fn empty() -> Self {
        Self {
            buf: vec![0u8; DEFAULT_CAPACITY].into_boxed_slice(),
            head: DEFAULT_HEADROOM,
            tail: DEFAULT_HEADROOM,
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
}
