//! The few Linux calls std does not offer (raw packet sockets, the tun/tap ioctl,
//! interface indices), each wrapped once with the argument that makes it sound. Everything
//! after creation (read, write, close) goes through std's safe `File`/`OwnedFd`.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The MTU of the interface `name`, asked through the socket `fd` (`SIOCGIFMTU`: the
/// socket's own network namespace, whatever `/sys` shows).
pub fn link_mtu(fd: &impl AsRawFd, name: &str) -> io::Result<usize> {
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
    // SAFETY: SIOCGIFMTU takes a pointer to an ifreq, which it reads (the name) and
    // writes (the MTU); `ifr` is live and correctly sized, `fd` an open socket.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFMTU as _, &mut ifr) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: after SIOCGIFMTU succeeded the union holds `ifru_mtu`.
    let mtu = unsafe { ifr.ifr_ifru.ifru_mtu };
    usize::try_from(mtu).map_err(|_| io::ErrorKind::InvalidData.into())
}

/// Receive room for frames of a link with this MTU: the Ethernet header and a VLAN tag
/// on top, and never less than a default buffer holds.
pub fn frame_room(mtu: usize) -> usize {
    (mtu + 18).max(
        cirrus_dataplane::packet::DEFAULT_CAPACITY - cirrus_dataplane::packet::DEFAULT_HEADROOM,
    )
}

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
    // Room for bursts: the default buffer holds three 64 KiB frames (segmentation offload,
    // jumbo fabrics), and whatever overflows it is lost for good. Best effort: FORCE
    // needs CAP_NET_ADMIN, the plain option is capped by net.core.[rw]mem_max.
    let bytes: libc::c_int = SOCKET_BUFFER;
    for (force, plain) in [
        (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
        (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
    ] {
        if set_opt(&owned, libc::SOL_SOCKET, force, &bytes).is_err() {
            let _ = set_opt(&owned, libc::SOL_SOCKET, plain, &bytes);
        }
    }
    Ok(File::from(owned))
}

/// Receive and send buffer asked for on packet sockets.
const SOCKET_BUFFER: libc::c_int = 4 << 20;

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

/// `PACKET_VNET_HDR` (linux/if_packet.h): every frame on the socket is preceded by a
/// `struct virtio_net_hdr` both ways.
const PACKET_VNET_HDR: libc::c_int = 15;

/// Turns on `PACKET_VNET_HDR` on a packet socket (before any ring is set up).
pub fn set_vnet_hdr(fd: &impl AsRawFd) -> io::Result<()> {
    set_opt(fd, libc::SOL_PACKET, PACKET_VNET_HDR, &(1 as libc::c_int))
}

/// Receives one frame and its virtio-net header from a `PACKET_VNET_HDR` socket without
/// blocking: the header into `hdr`, the frame into `buf` and, what does not fit there,
/// on into `more`. Returns the frame's full length (`MSG_TRUNC`: more than both buffers
/// hold when it was cut).
pub fn recv_vnet(
    fd: &impl AsRawFd,
    hdr: &mut [u8; 10],
    buf: &mut [u8],
    more: &mut [u8],
) -> io::Result<usize> {
    let mut iov = [
        libc::iovec {
            iov_base: hdr.as_mut_ptr() as *mut libc::c_void,
            iov_len: hdr.len(),
        },
        libc::iovec {
            iov_base: buf.as_mut_ptr() as *mut libc::c_void,
            iov_len: buf.len(),
        },
        libc::iovec {
            iov_base: more.as_mut_ptr() as *mut libc::c_void,
            iov_len: more.len(),
        },
    ];
    // SAFETY: msghdr is plain old data; all-zero (no name, no control) is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = iov.len();
    // SAFETY: `msg` points at `iov`, whose entries describe `hdr`, `buf` and `more`, all
    // live and writable for the call; recvmsg(2) writes at most their lengths.
    let r = unsafe {
        libc::recvmsg(
            fd.as_raw_fd(),
            &mut msg,
            libc::MSG_TRUNC | libc::MSG_DONTWAIT,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((r as usize).saturating_sub(hdr.len()))
}

/// Sends one frame behind its virtio-net header on a `PACKET_VNET_HDR` socket without
/// blocking, with the two bytes at `patch.0` replaced by `patch.1` on the way (the frame
/// itself is not changed).
pub fn send_vnet(
    fd: &impl AsRawFd,
    hdr: &[u8; 10],
    frame: &[u8],
    patch: Option<(usize, [u8; 2])>,
) -> io::Result<usize> {
    let at = patch.map_or(frame.len(), |p| p.0.min(frame.len()));
    let (before, after) = frame.split_at(at);
    let (mid, after): (&[u8], &[u8]) = match &patch {
        Some((_, b)) if after.len() >= 2 => (&b[..], &after[2..]),
        _ => (&[], after),
    };
    let iov = [hdr.as_slice(), before, mid, after].map(|s| libc::iovec {
        iov_base: s.as_ptr() as *mut libc::c_void,
        iov_len: s.len(),
    });
    // SAFETY: msghdr is plain old data; all-zero (no name, no control) is valid.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = iov.as_ptr() as *mut libc::iovec;
    msg.msg_iovlen = iov.len();
    // SAFETY: `msg` points at `iov`, whose entries describe `hdr`, parts of `frame` and
    // the patch bytes, all live for the call; sendmsg(2) only reads them (the `*mut` is
    // the C signature's).
    let r = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, libc::MSG_DONTWAIT) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r as usize)
}

/// Waits until one of `fds` is readable or `timeout` passes (what an idle worker does
/// instead of polling its devices on a timer); an interrupted or failed wait just
/// returns, the caller polls its devices either way. `set` is the caller's, kept so
/// the wait allocates nothing.
pub fn wait_readable(set: &mut Vec<libc::pollfd>, fds: &[RawFd], timeout: std::time::Duration) {
    set.clear();
    set.extend(fds.iter().map(|&fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }));
    let ms = timeout.as_millis().clamp(1, i32::MAX as u128) as i32;
    // SAFETY: `set` holds `set.len()` initialised pollfd entries, live and writable for
    // the call; poll(2) writes only their `revents`.
    unsafe { libc::poll(set.as_mut_ptr(), set.len() as libc::nfds_t, ms) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    use std::time::{Duration, Instant};

    #[test]
    fn an_idle_wait_ends_when_a_descriptor_turns_readable() {
        let (mut a, b) = UnixStream::pair().unwrap();
        let (quiet, _keep) = UnixStream::pair().unwrap();
        let fds = [quiet.as_raw_fd(), b.as_raw_fd()];
        let mut set = Vec::new();
        // Nothing to read: the wait lasts its timeout.
        let t = Instant::now();
        wait_readable(&mut set, &fds, Duration::from_millis(30));
        assert!(
            t.elapsed() >= Duration::from_millis(25),
            "{:?}",
            t.elapsed()
        );
        // Something to read on one of them: the wait ends long before a minute.
        a.write_all(b"x").unwrap();
        let t = Instant::now();
        wait_readable(&mut set, &fds, Duration::from_secs(60));
        assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
        assert_eq!(set[1].revents & libc::POLLIN, libc::POLLIN);
    }
}
