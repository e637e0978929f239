//! AF_PACKET with a TPACKET_V3 receive ring: the kernel writes frames into blocks of a
//! ring shared with this process (mmap), so receiving a batch costs no system call at
//! all while blocks are ready; sending a batch is one sendmmsg(2) call. Frames are copied
//! out of the ring into the pipeline's `PacketBuf`s (which own their memory and headroom)
//! and the block is handed back to the kernel once every frame in it was taken.
//!
//! Ring protocol (Documentation/networking/packet_mmap.rst): a block belongs to user
//! space while its `block_status` has `TP_STATUS_USER`; user space reads its packets,
//! then stores `TP_STATUS_KERNEL`. The kernel retires a partly filled block after
//! `RETIRE_MS`, bounding the latency of a quiet link.
//!
//! `unsafe` here: the mapping itself (`Ring`), reading the status word atomically, and
//! viewing a block the kernel handed over as a byte slice. Offsets read from the ring are
//! bounds-checked against the block before use, so a confused kernel (or a bug here) can
//! at worst drop frames, never read outside the mapping.

use crate::device::{Device, DeviceCounters, DeviceError};
use crate::{rxtx, sys};
use cirrus_dataplane::packet::PacketBuf;
use std::fs::File;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

const BLOCK_SIZE: usize = 1 << 16;
const BLOCKS: usize = 32;
const FRAME_SIZE: usize = 2048;
const RETIRE_MS: u32 = 1;
/// Offsets inside a block descriptor (`tpacket_block_desc` with `tpacket_hdr_v1`).
const BLOCK_STATUS: usize = 8;
const BLOCK_NUM_PKTS: usize = 12;
const BLOCK_FIRST: usize = 16;
/// Offsets inside a packet header (`tpacket3_hdr`).
const PKT_NEXT: usize = 0;
const PKT_SNAPLEN: usize = 12;
const PKT_LEN: usize = 16;
const PKT_MAC: usize = 24;

/// The mapped ring; unmapped on drop.
struct Ring {
    base: NonNull<u8>,
    len: usize,
}

// SAFETY: the ring is memory shared with the kernel, not with other threads of this
// process; `Ring` is owned by one device, which is used by one thread at a time (`&mut`).
unsafe impl Send for Ring {}

impl Ring {
    /// The status word of block `b` (< BLOCKS), shared with the kernel.
    fn status(&self, b: usize) -> &AtomicU32 {
        debug_assert!(b < BLOCKS);
        // SAFETY: `b * BLOCK_SIZE + BLOCK_STATUS` is inside the mapping (b < BLOCKS) and
        // 4-aligned (page-aligned base, aligned offsets); the word is only ever accessed
        // atomically by this process, and the kernel updates it with its own barriers.
        unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(b * BLOCK_SIZE + BLOCK_STATUS).cast()) }
    }

    /// Block `b` as bytes. Only call after `status(b)` showed `TP_STATUS_USER` with
    /// Acquire ordering and before handing the block back: while a block is the user's,
    /// the kernel does not write to it, so the shared slice is not written concurrently.
    fn user_block(&self, b: usize) -> &[u8] {
        debug_assert!(b < BLOCKS);
        // SAFETY: the range is inside the mapping; by the protocol above nothing writes it
        // while the returned borrow (tied to `&self`) is alive, since handing the block
        // back needs `&mut self` (see `Cursor::release`).
        unsafe { std::slice::from_raw_parts(self.base.as_ptr().add(b * BLOCK_SIZE), BLOCK_SIZE) }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are the one mapping made in `TpacketV3::open`; no borrow of
        // it can outlive `self`.
        unsafe { sys::munmap(self.base, self.len) };
    }
}

/// Where reading stands in the ring: the block being read (ours while `count` > 0), its
/// packet count, and the next packet in it (index and byte offset).
struct Cursor {
    ring: Ring,
    block: usize,
    count: u32,
    pkt: u32,
    off: usize,
}

impl Cursor {
    /// Copies the next frame into `b` and returns its full length (more than `b` holds
    /// when the ring's frame size cut it, or its offsets were out of the block); `None`
    /// when the kernel has handed over no block. A block is handed back as soon as its
    /// last frame is copied.
    fn next_frame(&mut self, b: &mut PacketBuf) -> Option<usize> {
        // At most every block once (empty or corrupt ones handed straight back): bounded
        // even if the kernel keeps filling.
        for _ in 0..=BLOCKS {
            if self.count == 0 {
                let status = self.ring.status(self.block).load(Ordering::Acquire);
                if status & libc::TP_STATUS_USER == 0 {
                    return None;
                }
                let blk = self.ring.user_block(self.block);
                self.count = rd32(blk, BLOCK_NUM_PKTS).unwrap_or(0);
                self.off = rd32(blk, BLOCK_FIRST).unwrap_or(0) as usize;
                self.pkt = 0;
                if self.count == 0 {
                    self.release();
                    continue;
                }
            }
            let blk = self.ring.user_block(self.block);
            let at = self.off;
            if let (Some(next), Some(snap), Some(len), Some(mac)) = (
                rd32(blk, at + PKT_NEXT),
                rd32(blk, at + PKT_SNAPLEN),
                rd32(blk, at + PKT_LEN),
                rd16(blk, at + PKT_MAC),
            ) {
                let start = at + mac as usize;
                let frame = blk.get(start..start + snap as usize).unwrap_or(&[]);
                let _: Result<usize, ()> = b.fill_with(|room| {
                    let k = frame.len().min(room.len());
                    room[..k].copy_from_slice(&frame[..k]);
                    Ok(k)
                });
                self.pkt = if next == 0 { self.count } else { self.pkt + 1 };
                self.off = at + next as usize;
                if self.pkt >= self.count {
                    self.release();
                }
                // A zero length (never seen) counts as cut rather than ending the batch.
                return Some((len as usize).max(1));
            }
            // An offset outside the block: give the rest of the block up.
            self.release();
        }
        None
    }

    /// Hands the current block back to the kernel and moves to the next one.
    fn release(&mut self) {
        self.ring
            .status(self.block)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.block = (self.block + 1) % BLOCKS;
        self.count = 0;
        self.pkt = 0;
        self.off = 0;
    }
}

/// An interface read through a TPACKET_V3 ring and written with sendmmsg.
pub struct TpacketV3 {
    name: String,
    // Field order: the ring is unmapped before the socket is closed.
    cursor: Cursor,
    sock: File,
    /// Receive room: the link's frames (jumbo ones too: a TPACKET_V3 block holds up to
    /// 64 KiB), as its MTU was when opened.
    room: usize,
    counters: DeviceCounters,
}

impl TpacketV3 {
    /// Opens the interface `name` (needs CAP_NET_RAW).
    pub fn open(name: &str) -> Result<Self, DeviceError> {
        let io = |op, source| DeviceError::Io {
            name: name.into(),
            op,
            source,
        };
        let ifindex =
            sys::if_index(name).ok_or_else(|| DeviceError::NoSuchInterface(name.into()))?;
        let sock = sys::packet_socket(ifindex).map_err(|e| io("open packet socket", e))?;
        let version = libc::tpacket_versions::TPACKET_V3 as libc::c_int;
        sys::set_opt(&sock, libc::SOL_PACKET, libc::PACKET_VERSION, &version)
            .map_err(|e| io("PACKET_VERSION", e))?;
        let req = libc::tpacket_req3 {
            tp_block_size: BLOCK_SIZE as u32,
            tp_block_nr: BLOCKS as u32,
            tp_frame_size: FRAME_SIZE as u32,
            tp_frame_nr: (BLOCK_SIZE / FRAME_SIZE * BLOCKS) as u32,
            tp_retire_blk_tov: RETIRE_MS,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        sys::set_opt(&sock, libc::SOL_PACKET, libc::PACKET_RX_RING, &req)
            .map_err(|e| io("PACKET_RX_RING", e))?;
        let len = BLOCK_SIZE * BLOCKS;
        let base = sys::mmap_shared(&sock, len).map_err(|e| io("mmap ring", e))?;
        let mtu = sys::link_mtu(&sock, name).map_err(|e| io("read MTU", e))?;
        Ok(Self {
            name: name.into(),
            cursor: Cursor {
                ring: Ring { base, len },
                block: 0,
                count: 0,
                pkt: 0,
                off: 0,
            },
            sock,
            room: sys::frame_room(mtu),
            counters: DeviceCounters::default(),
        })
    }
}

fn rd32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn rd16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

impl Device for TpacketV3 {
    fn name(&self) -> &str {
        &self.name
    }

    fn recv_batch(
        &mut self,
        out: &mut Vec<PacketBuf>,
        spare: &mut Vec<PacketBuf>,
        max: usize,
    ) -> Result<usize, DeviceError> {
        let (cursor, room) = (&mut self.cursor, self.room);
        rxtx::receive(&self.name, &mut self.counters, out, spare, max, |b| {
            b.ensure_room(room);
            Ok(cursor.next_frame(b))
        })
    }

    fn send_batch(&mut self, frames: &[&PacketBuf]) -> Result<usize, DeviceError> {
        let sock = &self.sock;
        rxtx::send_chunks(&self.name, &mut self.counters, frames, |c| {
            sys::sendmmsg(sock, c.iter().map(|f| f.data()))
        })
    }

    fn readable_fd(&self) -> Option<std::os::fd::RawFd> {
        Some(std::os::fd::AsRawFd::as_raw_fd(&self.sock))
    }

    fn counters(&self) -> DeviceCounters {
        self.counters
    }
}
