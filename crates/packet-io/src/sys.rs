//! The few Linux calls std does not offer (raw packet sockets, the tun/tap ioctl,
//! interface indices), each wrapped once with the argument that makes it sound. Everything
//! after creation (read, write, close) goes through std's safe `File`/`OwnedFd`.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Index of the interface `name`, or `None` when there is none.
pub fn if_index(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call; the function
    // only reads it and returns 0 on failure.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// A non-blocking AF_PACKET raw socket bound to `ifindex`, receiving every protocol and
/// not its own transmissions, as a `File` for reading and writing whole frames.
pub fn packet_socket(ifindex: u32) -> io::Result<File> {
    let proto = (libc::ETH_P_ALL as u16).to_be();
    // SAFETY: plain syscall with constant arguments; a negative result is an error.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            proto as i32,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by socket(2), is open, and is owned by nothing else.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value of it.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto;
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: the pointer and length describe `sll`, a live sockaddr_ll on this stack
    // frame; bind(2) only reads it.
    let r = unsafe {
        libc::bind(
            fd,
            &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    let one: libc::c_int = 1;
    // SAFETY: the pointer and length describe `one`, a live c_int; setsockopt(2) only
    // reads it. PACKET_IGNORE_OUTGOING keeps our own sends out of our receive path.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_PACKET,
            libc::PACKET_IGNORE_OUTGOING,
            &one as *const libc::c_int as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(File::from(owned))
}

/// Attaches `file` (an open `/dev/net/tun`) to the tap interface `name` (created if
/// needed), without the packet-information prefix.
pub fn tun_set_tap(file: &File, name: &str) -> io::Result<()> {
    // SAFETY: ifreq is plain old data; all-zero is a valid value of it.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() >= ifr.ifr_name.len() || bytes.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad interface name",
        ));
    }
    for (d, s) in ifr.ifr_name.iter_mut().zip(bytes) {
        *d = *s as libc::c_char;
    }
    ifr.ifr_ifru.ifru_flags = (libc::IFF_TAP | libc::IFF_NO_PI) as libc::c_short;
    // SAFETY: TUNSETIFF takes a pointer to an ifreq; `ifr` is live and correctly sized,
    // and the fd is an open /dev/net/tun owned by `file` for the duration of the call.
    let r = unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            libc::TUNSETIFF as _,
            &mut ifr as *mut libc::ifreq,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sets a socket option whose value is the plain-old-data `val`.
pub fn set_opt<T: Copy>(fd: &impl AsRawFd, level: i32, name: i32, val: &T) -> io::Result<()> {
    // SAFETY: the pointer and length describe `val`, a live `T` (Copy: plain data with no
    // invariants the kernel could break); setsockopt(2) only reads it during the call.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            val as *const T as *const libc::c_void,
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A shared read-write mapping of `len` bytes of `fd` (a packet socket's ring).
pub fn mmap_shared(fd: &impl AsRawFd, len: usize) -> io::Result<std::ptr::NonNull<u8>> {
    // SAFETY: a fresh mapping at an address the kernel picks (no existing memory is
    // affected); failure is MAP_FAILED, checked below. The caller owns the mapping and
    // unmaps it with `munmap` exactly once.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd.as_raw_fd(),
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    std::ptr::NonNull::new(p as *mut u8).ok_or_else(io::Error::last_os_error)
}

/// Unmaps a mapping made by [`mmap_shared`].
///
/// # Safety
/// `p`/`len` must be exactly one live mapping from [`mmap_shared`], and no reference into
/// it may outlive this call.
pub unsafe fn munmap(p: std::ptr::NonNull<u8>, len: usize) {
    // SAFETY: guaranteed by the caller (see above).
    unsafe {
        libc::munmap(p.as_ptr() as *mut libc::c_void, len);
    }
}

/// Sends a prefix of `frames` (at most 64), each as one datagram on `fd` (a bound packet
/// socket), with one sendmmsg(2) call that does not block; returns how many the kernel
/// took. An error is about the first frame not sent (see `rxtx::send_chunks`).
pub fn sendmmsg<'a>(
    fd: &impl AsRawFd,
    frames: impl Iterator<Item = &'a [u8]>,
) -> io::Result<usize> {
    const MAX: usize = 64;
    // SAFETY (zeroed): iovec and mmsghdr are plain old data; all-zero (null pointers,
    // zero lengths) is a valid value of each.
    let mut iov: [libc::iovec; MAX] = unsafe { std::mem::zeroed() };
    let mut msgs: [libc::mmsghdr; MAX] = unsafe { std::mem::zeroed() };
    let mut n = 0;
    for (v, f) in iov.iter_mut().zip(frames) {
        v.iov_base = f.as_ptr() as *mut libc::c_void;
        v.iov_len = f.len();
        n += 1;
    }
    for (m, v) in msgs.iter_mut().zip(iov.iter_mut()).take(n) {
        m.msg_hdr.msg_iov = v;
        m.msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: `msgs[..n]` point at `iov[..n]`, which point at the frames' bytes (borrowed
    // for 'a, beyond the call); sendmmsg(2) only reads them (it writes msg_len, inside
    // `msgs`).
    let r = unsafe {
        libc::sendmmsg(
            fd.as_raw_fd(),
            msgs.as_mut_ptr(),
            n as libc::c_uint,
            libc::MSG_DONTWAIT,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r as usize)
}

/// Reads one frame from `fd` (a tap) into `buf` without the risk of taking a cut frame
/// for a whole one: a read that cannot tell how long the frame was (tun returns only what
/// it copied) gets one spare byte after `buf`, so a frame that did not fit shows as
/// `buf.len() + 1` bytes (at least; its rest is lost).
pub fn read_or_overflow(fd: &impl AsRawFd, buf: &mut [u8]) -> io::Result<usize> {
    let mut spill = [0u8; 1];
    let iov = [
        libc::iovec {
            iov_base: buf.as_mut_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        },
        libc::iovec {
            iov_base: spill.as_mut_ptr() as *mut libc::c_void,
            iov_len: 1,
        },
    ];
    // SAFETY: both iovecs describe live, writable memory (`buf` and `spill`) for the
    // whole call; readv(2) writes at most their lengths into them.
    let r = unsafe { libc::readv(fd.as_raw_fd(), iov.as_ptr(), 2) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r as usize)
}

/// Receives one datagram from `fd` into `buf` without blocking and returns its full
/// length (`MSG_TRUNC`: larger than `buf.len()` when it did not fit, and was cut).
pub fn recv_trunc(fd: &impl AsRawFd, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the pointer and length describe `buf`, live and writable for the call;
    // recv(2) writes at most `buf.len()` bytes into it.
    let r = unsafe {
        libc::recv(
            fd.as_raw_fd(),
            buf.as_mut_ptr() as *mut libc::c_void,
            buf.len(),
            libc::MSG_TRUNC | libc::MSG_DONTWAIT,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r as usize)
}

/// Asks the kernel to back `[addr, addr + len)` of this process's heap with transparent
/// huge pages (`MADV_HUGEPAGE`; effective when THP is in `madvise` or `always` mode).
/// Pages already touched are collapsed later by khugepaged; untouched ones fault in huge.
pub fn advise_huge_pages(addr: usize, len: usize) -> io::Result<()> {
    const PAGE: usize = 4096;
    let start = addr.div_ceil(PAGE) * PAGE;
    let end = (addr + len) / PAGE * PAGE;
    if end <= start {
        return Ok(());
    }
    // SAFETY: madvise with MADV_HUGEPAGE only changes how the kernel backs the range, never
    // its contents or validity; the range is page-aligned and lies inside an allocation
    // this process owns (the caller passes a live array's bounds, rounded inwards).
    let r = unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
