//! AF_XDP sockets in copy mode (what veth supports here): the interface's XDP program
//! (`xdp_prog.rs`) redirects every frame into this socket's receive ring; frames live in a
//! UMEM area shared with the kernel, handed to it through the fill ring for receiving and
//! the TX ring for sending, and returned through the RX and completion rings. No system
//! call per received frame, one `sendto` kick per sent batch.
//!
//! Frame accounting: the UMEM has `FRAMES` chunks; the first half start in the fill ring
//! (the kernel owns them until they come back on the RX ring, when they are copied out and
//! put straight back), the second half are this process's for sending (a chunk goes to the
//! kernel on the TX ring and comes back on the completion ring).
//!
//! `unsafe` here: mapping the UMEM and the four rings, their producer/consumer words
//! (atomics shared with the kernel), and copying frames in and out of the UMEM by raw
//! pointer at offsets checked against its size. A chunk is only read after the kernel
//! published it on the RX ring (Acquire) and only written while it is ours.

use crate::device::{Device, DeviceCounters, DeviceError};
use crate::xdp_prog::XdpRedirect;
use crate::{rxtx, sys};
use cirrus_dataplane::packet::PacketBuf;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

const FRAMES: u32 = 4096;
const FRAME: u32 = 2048;
const RING: u32 = 2048;
const DESC: usize = 16;

/// One mapped ring: producer and consumer words and `RING` descriptors of `desc` bytes.
struct Ring {
    map: NonNull<u8>,
    len: usize,
    prod: usize,
    cons: usize,
    desc: usize,
}

impl Ring {
    fn map(fd: &OwnedFd, off: &libc::xdp_ring_offset, desc: usize, pgoff: u64) -> io::Result<Self> {
        let len = off.desc as usize + RING as usize * desc;
        // SAFETY: a fresh shared mapping of the socket's ring at the kernel-given offset;
        // failure is checked. Unmapped once, on drop.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd.as_raw_fd(),
                pgoff as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Ring {
            map: NonNull::new(p.cast()).ok_or_else(io::Error::last_os_error)?,
            len,
            prod: off.producer as usize,
            cons: off.consumer as usize,
            desc: off.desc as usize,
        })
    }
    fn word(&self, at: usize) -> &AtomicU32 {
        // SAFETY: `at` is a kernel-given offset of a 4-aligned u32 inside the mapping;
        // both sides only access it atomically.
        unsafe { AtomicU32::from_ptr(self.map.as_ptr().add(at).cast()) }
    }
    fn producer(&self) -> &AtomicU32 {
        self.word(self.prod)
    }
    fn consumer(&self) -> &AtomicU32 {
        self.word(self.cons)
    }
    /// Pointer to descriptor `i` (any index; wrapped to the ring).
    fn slot(&self, i: u32, size: usize) -> *mut u8 {
        // SAFETY: `(i % RING) * size + size <= RING * size`, inside the mapping.
        unsafe {
            self.map
                .as_ptr()
                .add(self.desc + (i % RING) as usize * size)
        }
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: the one mapping made in `Ring::map`; no reference into it outlives self.
        unsafe { libc::munmap(self.map.as_ptr().cast(), self.len) };
    }
}

/// An AF_XDP socket on queue 0 of one interface.
pub struct AfXdp {
    name: String,
    // Field order (drop order): the program is detached first, then the socket closed,
    // then the rings and the UMEM unmapped.
    _xdp: XdpRedirect,
    sock: OwnedFd,
    rx: Ring,
    tx: Ring,
    fill: Ring,
    comp: Ring,
    umem: Umem,
    /// Chunks (UMEM offsets) this process may send from.
    free: Vec<u64>,
    counters: DeviceCounters,
}

// SAFETY: the mappings are shared with the kernel, not with other threads; the device is
// used by one thread at a time (`&mut self`).
unsafe impl Send for AfXdp {}

fn getsockopt_offsets(fd: &OwnedFd) -> io::Result<libc::xdp_mmap_offsets> {
    // SAFETY: all-zero is a valid xdp_mmap_offsets (plain integers).
    let mut off: libc::xdp_mmap_offsets = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::xdp_mmap_offsets>() as libc::socklen_t;
    // SAFETY: the pointer and length describe `off`, which getsockopt(2) fills in.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_XDP,
            libc::XDP_MMAP_OFFSETS,
            (&mut off as *mut libc::xdp_mmap_offsets).cast(),
            &mut len,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(off)
}

impl AfXdp {
    /// Opens queue 0 of the interface `name` in copy mode (needs CAP_NET_ADMIN, CAP_BPF).
    pub fn open(name: &str) -> Result<Self, DeviceError> {
        let io = |op, source| DeviceError::Io {
            name: name.into(),
            op,
            source,
        };
        let ifindex =
            sys::if_index(name).ok_or_else(|| DeviceError::NoSuchInterface(name.into()))?;
        // SAFETY: plain syscall with constant arguments; a negative result is an error.
        let raw = unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            return Err(io("socket", io::Error::last_os_error()));
        }
        // SAFETY: `raw` was just returned by socket(2) and is owned by nothing else.
        let sock = unsafe { OwnedFd::from_raw_fd(raw) };
        let umem_len = (FRAMES * FRAME) as usize;
        // SAFETY: a fresh private anonymous mapping; failure is checked. Unmapped on drop.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                umem_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io("mmap umem", io::Error::last_os_error()));
        }
        let umem = NonNull::new(p.cast::<u8>())
            .ok_or_else(|| io("mmap umem", io::Error::last_os_error()))?;
        let umem = Umem(umem);
        let reg = libc::xdp_umem_reg {
            addr: umem.ptr() as u64,
            len: umem_len as u64,
            chunk_size: FRAME,
            headroom: 0,
            flags: 0,
            tx_metadata_len: 0,
        };
        sys::set_opt(&sock, libc::SOL_XDP, libc::XDP_UMEM_REG, &reg)
            .map_err(|e| io("XDP_UMEM_REG", e))?;
        for opt in [
            libc::XDP_UMEM_FILL_RING,
            libc::XDP_UMEM_COMPLETION_RING,
            libc::XDP_RX_RING,
            libc::XDP_TX_RING,
        ] {
            sys::set_opt(&sock, libc::SOL_XDP, opt, &RING).map_err(|e| io("XDP ring size", e))?;
        }
        let off = getsockopt_offsets(&sock).map_err(|e| io("XDP_MMAP_OFFSETS", e))?;
        let ring = |o, d, pg| Ring::map(&sock, o, d, pg).map_err(|e| io("mmap ring", e));
        let rx = ring(&off.rx, DESC, libc::XDP_PGOFF_RX_RING as u64)?;
        let tx = ring(&off.tx, DESC, libc::XDP_PGOFF_TX_RING as u64)?;
        let fill = ring(&off.fr, 8, libc::XDP_UMEM_PGOFF_FILL_RING)?;
        let comp = ring(&off.cr, 8, libc::XDP_UMEM_PGOFF_COMPLETION_RING)?;
        // The first half of the chunks go to the kernel for receiving.
        let half = FRAMES / 2;
        for i in 0..half {
            // SAFETY: the fill ring is ours to write before the socket is bound, and
            // `slot` stays inside it; descriptors are u64 UMEM offsets.
            unsafe { fill.slot(i, 8).cast::<u64>().write((i * FRAME) as u64) };
        }
        fill.producer().store(half, Ordering::Release);
        let sxdp = libc::sockaddr_xdp {
            sxdp_family: libc::AF_XDP as u16,
            sxdp_flags: libc::XDP_COPY,
            sxdp_ifindex: ifindex,
            sxdp_queue_id: 0,
            sxdp_shared_umem_fd: 0,
        };
        // SAFETY: the pointer and length describe `sxdp`, which bind(2) only reads.
        let r = unsafe {
            libc::bind(
                sock.as_raw_fd(),
                (&sxdp as *const libc::sockaddr_xdp).cast(),
                std::mem::size_of::<libc::sockaddr_xdp>() as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io("bind", io::Error::last_os_error()));
        }
        let xdp = XdpRedirect::attach(ifindex).map_err(|e| io("attach XDP program", e))?;
        xdp.set_socket(&sock).map_err(|e| io("XSKMAP update", e))?;
        Ok(Self {
            name: name.into(),
            _xdp: xdp,
            sock,
            rx,
            tx,
            fill,
            comp,
            umem,
            free: (half..FRAMES).map(|i| (i * FRAME) as u64).collect(),
            counters: DeviceCounters::default(),
        })
    }

    /// Takes back the chunks the kernel finished sending.
    fn reclaim(&mut self) {
        let cons = self.comp.consumer().load(Ordering::Relaxed);
        let prod = self.comp.producer().load(Ordering::Acquire);
        let mut c = cons;
        while c != prod {
            // SAFETY: entries between consumer and producer were published by the kernel.
            let addr = unsafe { self.comp.slot(c, 8).cast::<u64>().read() };
            if addr < (FRAMES * FRAME) as u64 {
                self.free.push(addr - addr % FRAME as u64);
            }
            c = c.wrapping_add(1);
        }
        self.comp.consumer().store(c, Ordering::Release);
    }
}

/// The UMEM mapping; unmapped on drop (last, after the socket and rings: see `AfXdp`).
struct Umem(NonNull<u8>);

impl Umem {
    fn ptr(&self) -> *mut u8 {
        self.0.as_ptr()
    }
}

impl Drop for Umem {
    fn drop(&mut self) {
        // SAFETY: the one UMEM mapping made in `AfXdp::open`; no reference into it
        // outlives the device (frames are copied in and out).
        unsafe { libc::munmap(self.0.as_ptr().cast(), (FRAMES * FRAME) as usize) };
    }
}

impl Device for AfXdp {
    fn name(&self) -> &str {
        &self.name
    }

    fn recv_batch(
        &mut self,
        out: &mut Vec<PacketBuf>,
        spare: &mut Vec<PacketBuf>,
        max: usize,
    ) -> Result<usize, DeviceError> {
        let cons = self.rx.consumer().load(Ordering::Relaxed);
        let prod = self.rx.producer().load(Ordering::Acquire);
        let avail = prod.wrapping_sub(cons).min(max as u32);
        let fprod = self.fill.producer().load(Ordering::Relaxed);
        let (rx, fill, umem) = (&self.rx, &self.fill, &self.umem);
        let mut k = 0u32;
        let r = rxtx::receive(&self.name, &mut self.counters, out, spare, max, |b| {
            if k == avail {
                return Ok(None);
            }
            // SAFETY: descriptors between consumer and producer were published by the
            // kernel (Acquire above): {addr: u64, len: u32, options: u32}.
            let (addr, len) = unsafe {
                let d = rx.slot(cons.wrapping_add(k), DESC);
                (d.cast::<u64>().read(), d.add(8).cast::<u32>().read())
            };
            let umem_len = (FRAMES * FRAME) as u64;
            // A descriptor outside the UMEM (never seen) leaves the buffer empty: the
            // loop counts the frame as cut.
            let inside = addr + len as u64 <= umem_len;
            let _: Result<usize, ()> = b.fill_with(|room| {
                if !inside {
                    return Ok(0);
                }
                let n = (len as usize).min(room.len());
                // SAFETY: `addr..addr+len` is inside the UMEM (checked) and the kernel
                // does not write this chunk until we put it back on the fill ring below.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        umem.ptr().add(addr as usize),
                        room.as_mut_ptr(),
                        n,
                    )
                };
                Ok(n)
            });
            // The chunk goes straight back to the kernel for the next frame.
            // SAFETY: the fill ring holds at most FRAMES/2 <= RING chunks (every chunk
            // taken off RX is put back once), so this slot is free for us.
            unsafe {
                fill.slot(fprod.wrapping_add(k), 8)
                    .cast::<u64>()
                    .write(addr - addr % FRAME as u64)
            };
            k += 1;
            Ok(Some((len as usize).max(1)))
        });
        // Exactly the descriptors taken go back (the loop may stop before `avail`).
        self.fill
            .producer()
            .store(fprod.wrapping_add(k), Ordering::Release);
        self.rx
            .consumer()
            .store(cons.wrapping_add(k), Ordering::Release);
        r
    }

    fn send_batch(&mut self, frames: &[&PacketBuf]) -> Result<usize, DeviceError> {
        self.reclaim();
        let prod = self.tx.producer().load(Ordering::Relaxed);
        let mut n = 0u32;
        for (at, f) in frames.iter().enumerate() {
            let data = f.data();
            if data.len() > FRAME as usize {
                // What EMSGSIZE means for the socket backends.
                self.counters.tx_oversized += 1;
                continue;
            }
            let Some(addr) = self.free.pop() else {
                // No chunk free: the TX ring is full.
                self.counters.tx_full += (frames.len() - at) as u64;
                break;
            };
            // SAFETY: `addr` is a free chunk (ours until the kernel completes it) and
            // `data` fits in it; the TX slot is free since at most FRAMES/2 <= RING
            // chunks are ever in flight.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    data.as_ptr(),
                    self.umem.ptr().add(addr as usize),
                    data.len(),
                );
                let d = self.tx.slot(prod.wrapping_add(n), DESC);
                d.cast::<u64>().write(addr);
                d.add(8).cast::<u32>().write(data.len() as u32);
                d.add(12).cast::<u32>().write(0);
            }
            n += 1;
        }
        self.counters.tx_frames += n as u64;
        if n > 0 {
            self.tx
                .producer()
                .store(prod.wrapping_add(n), Ordering::Release);
            // Copy mode needs a kick to transmit.
            // SAFETY: sendto(2) with no buffer and no address only wakes the socket up.
            let r = unsafe {
                libc::sendto(
                    self.sock.as_raw_fd(),
                    std::ptr::null(),
                    0,
                    libc::MSG_DONTWAIT,
                    std::ptr::null(),
                    0,
                )
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                // The frames are on the ring: a busy kick is retried by the next one.
                if !matches!(
                    rxtx::IoError::of(&e),
                    rxtx::IoError::Again | rxtx::IoError::Interrupted
                ) {
                    return Err(DeviceError::Io {
                        name: self.name.clone(),
                        op: "sendto kick",
                        source: e,
                    });
                }
            }
        }
        Ok(n as usize)
    }

    fn readable_fd(&self) -> Option<std::os::fd::RawFd> {
        Some(std::os::fd::AsRawFd::as_raw_fd(&self.sock))
    }

    fn counters(&self) -> DeviceCounters {
        self.counters
    }
}
