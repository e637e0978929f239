//! The XDP program an AF_XDP socket needs, loaded with raw bpf(2) calls (no libbpf, no
//! clang at build time): a one-entry XSKMAP and five instructions that redirect every
//! frame of the interface's queue 0 to the socket in it (frames pass to the kernel stack
//! when no socket is there). Attached with a BPF link, so closing the link's fd (on drop)
//! detaches it even if the process dies.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const BPF_MAP_CREATE: i32 = 0;
const BPF_MAP_UPDATE_ELEM: i32 = 2;
const BPF_PROG_LOAD: i32 = 5;
const BPF_LINK_CREATE: i32 = 28;
const BPF_MAP_TYPE_XSKMAP: u32 = 17;
const BPF_PROG_TYPE_XDP: u32 = 6;
const BPF_XDP: u32 = 37;
/// `XDP_FLAGS_SKB_MODE`: generic XDP, which every device (veth included) supports.
const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
const XDP_PASS: i32 = 2;
const FUNC_REDIRECT_MAP: i32 = 51;

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Clone, Copy)]
struct Insn {
    code: u8,
    regs: u8,
    off: i16,
    imm: i32,
}

const fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | dst,
        off,
        imm,
    }
}

/// The attribute block of one bpf(2) command, zero-padded as the kernel requires.
#[repr(C, align(8))]
struct Attr([u8; 72]);

impl Attr {
    fn new() -> Self {
        Attr([0; 72])
    }
    fn u32(mut self, at: usize, v: u32) -> Self {
        self.0[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn u64(mut self, at: usize, v: u64) -> Self {
        self.0[at..at + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
}

fn bpf(cmd: i32, attr: &Attr) -> io::Result<i64> {
    // SAFETY: bpf(2) reads `size_of::<Attr>()` bytes of `attr` (a live, zero-padded block
    // laid out as the command's attribute struct); pointers inside it (instructions,
    // license, key, value) point at data the caller keeps alive across the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *const Attr,
            std::mem::size_of::<Attr>() as u32,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r)
}

fn fd(r: i64) -> OwnedFd {
    // SAFETY: `r` is a new file descriptor returned by bpf(2), owned by nothing else.
    unsafe { OwnedFd::from_raw_fd(r as i32) }
}

/// The map, program and link redirecting an interface's queue 0 to one AF_XDP socket.
pub struct XdpRedirect {
    // Field order: the link goes first (detaching the program), then program and map.
    _link: OwnedFd,
    _prog: OwnedFd,
    map: OwnedFd,
}

impl XdpRedirect {
    /// Loads and attaches the program on `ifindex` (generic XDP; needs CAP_BPF and
    /// CAP_NET_ADMIN). Frames go to the kernel stack until [`Self::set_socket`].
    pub fn attach(ifindex: u32) -> io::Result<Self> {
        let map = fd(bpf(
            BPF_MAP_CREATE,
            &Attr::new()
                .u32(0, BPF_MAP_TYPE_XSKMAP)
                .u32(4, 4)
                .u32(8, 4)
                .u32(12, 1),
        )?);
        let m = map.as_raw_fd();
        let prog = [
            // r2 = ctx->rx_queue_index
            insn(0x61, 2, 1, 16, 0),
            // r1 = the map (ld_imm64, src 1 = BPF_PSEUDO_MAP_FD)
            insn(0x18, 1, 1, 0, m),
            insn(0, 0, 0, 0, 0),
            // r3 = XDP_PASS: the action when the map has no socket for this queue
            insn(0xb7, 3, 0, 0, XDP_PASS),
            // r0 = bpf_redirect_map(r1, r2, r3); exit
            insn(0x85, 0, 0, 0, FUNC_REDIRECT_MAP),
            insn(0x95, 0, 0, 0, 0),
        ];
        let license = c"GPL";
        let prog_fd = fd(bpf(
            BPF_PROG_LOAD,
            &Attr::new()
                .u32(0, BPF_PROG_TYPE_XDP)
                .u32(4, prog.len() as u32)
                .u64(8, prog.as_ptr() as u64)
                .u64(16, license.as_ptr() as u64)
                .u32(68, BPF_XDP),
        )?);
        let link = fd(bpf(
            BPF_LINK_CREATE,
            &Attr::new()
                .u32(0, prog_fd.as_raw_fd() as u32)
                .u32(4, ifindex)
                .u32(8, BPF_XDP)
                .u32(12, XDP_FLAGS_SKB_MODE),
        )?);
        Ok(Self {
            _link: link,
            _prog: prog_fd,
            map,
        })
    }

    /// Puts the AF_XDP socket `xsk` in the map for queue 0.
    pub fn set_socket(&self, xsk: &impl AsRawFd) -> io::Result<()> {
        let (key, value) = (0u32, xsk.as_raw_fd() as u32);
        bpf(
            BPF_MAP_UPDATE_ELEM,
            &Attr::new()
                .u32(0, self.map.as_raw_fd() as u32)
                .u64(8, &key as *const u32 as u64)
                .u64(16, &value as *const u32 as u64),
        )?;
        Ok(())
    }
}
