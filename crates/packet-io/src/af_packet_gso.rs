//! AF_PACKET with virtio-net headers (`PACKET_VNET_HDR`): the GSO-aware device for links
//! whose kernel side keeps its offloads on (a workload's veth with TSO, a jumbo fabric).
//! Receiving, a TCP super-frame of up to 64 KiB comes whole, with its checksum partial;
//! one larger than [`GsoConfig::segment_ip_len`] bytes of IP is cut into segments of that
//! size (see `gso.rs`), one that fits goes on as it is. A checksum the kernel left partial
//! stays partial (recorded on the buffer) all the way to the sending device: this one
//! hands it to the kernel partial again (the next stack or NIC completes it, or trusts
//! it, as behind any virtio port), and the runner completes it before a device that
//! cannot. Sending, a TCP frame larger than the link MTU goes to the kernel as a GSO frame,
//! which a local stack behind the veth takes whole. So one system call and one pipeline
//! pass carry up to `segment_ip_len` bytes instead of one MTU, and no byte of the payload
//! is summed or copied in user space.
//! The loops around each frame are `rxtx.rs`'s, as for every device.

use crate::device::{Device, DeviceCounters, DeviceError};
use crate::gso::{self, VnetHdr};
use crate::rxtx::{self, Took};
use crate::sys;
use cirrus_dataplane::packet::PacketBuf;
use std::fs::File;

/// The largest frame the kernel hands a packet socket (64 KiB of IP and the Ethernet
/// header, with room to spare for a VLAN tag).
pub const MAX_FRAME: usize = 65536 + 32;

/// Settings of a [`AfPacketGso`] device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GsoConfig {
    /// Largest IP packet a received super-frame is cut into: the fabric MTU less the
    /// overlay's overhead (50 bytes covers VXLAN, the largest), so every segment crosses
    /// the fabric in one packet. 1500 gives ordinary segments.
    pub segment_ip_len: usize,
}

impl GsoConfig {
    /// Overhead of the largest overlay encapsulation (VXLAN: outer IPv4, UDP, VXLAN and
    /// the inner Ethernet header).
    pub const OVERLAY_OVERHEAD: usize = 50;

    /// Segments that cross a fabric of this MTU in one packet whatever the encapsulation.
    pub fn for_fabric_mtu(mtu: usize) -> Self {
        Self {
            segment_ip_len: mtu.saturating_sub(Self::OVERLAY_OVERHEAD).max(576),
        }
    }
}

impl Default for GsoConfig {
    fn default() -> Self {
        Self {
            segment_ip_len: 1500,
        }
    }
}

/// A packet socket with virtio-net headers, bound to one interface.
pub struct AfPacketGso {
    name: String,
    sock: File,
    /// The link MTU (IP bytes), read when opened.
    mtu: usize,
    cfg: GsoConfig,
    /// Where the part of a received frame beyond one link MTU goes (a super-frame's
    /// rest): large enough for any, and kept, so the buffers that circulate in the runner
    /// stay the size of a link's frames.
    stage: PacketBuf,
    counters: DeviceCounters,
}

impl AfPacketGso {
    /// Opens the interface `name` (needs CAP_NET_RAW).
    pub fn open(name: &str, cfg: GsoConfig) -> Result<Self, DeviceError> {
        let io = |op, source| DeviceError::Io {
            name: name.into(),
            op,
            source,
        };
        let ifindex =
            sys::if_index(name).ok_or_else(|| DeviceError::NoSuchInterface(name.into()))?;
        let sock = sys::packet_socket(ifindex).map_err(|e| io("open packet socket", e))?;
        sys::set_vnet_hdr(&sock).map_err(|e| io("PACKET_VNET_HDR", e))?;
        let mtu = sys::link_mtu(&sock, name).map_err(|e| io("read MTU", e))?;
        let mut stage = PacketBuf::empty();
        stage.ensure_room(MAX_FRAME);
        Ok(Self {
            name: name.into(),
            sock,
            mtu,
            cfg,
            stage,
            counters: DeviceCounters::default(),
        })
    }

    /// The link MTU read when the device was opened.
    pub fn mtu(&self) -> usize {
        self.mtu
    }
}

impl Device for AfPacketGso {
    fn name(&self) -> &str {
        &self.name
    }

    fn recv_batch(
        &mut self,
        out: &mut Vec<PacketBuf>,
        spare: &mut Vec<PacketBuf>,
        max: usize,
    ) -> Result<usize, DeviceError> {
        let (sock, stage, seg) = (&self.sock, &mut self.stage, self.cfg.segment_ip_len);
        // Frames land whole in the runner's buffer (a super-frame too: cutting it into
        // one segment would only copy it), so those buffers grow to the largest frame
        // once; `stage` takes only what a buffer could not (never, for what the kernel
        // hands over).
        let room = MAX_FRAME;
        let mut extra = DeviceCounters::default();
        let r = rxtx::receive_with(
            &self.name,
            &mut self.counters,
            out,
            spare,
            max,
            |b, out, spare| {
                b.ensure_room(room);
                let mut raw = [0u8; VnetHdr::LEN];
                let mut len = 0;
                b.fill_with(|rb| {
                    stage.fill_with(|rs| {
                        len = sys::recv_vnet(sock, &mut raw, rb, rs)?;
                        Ok::<_, std::io::Error>(len.saturating_sub(rb.len()))
                    })?;
                    Ok::<_, std::io::Error>(len)
                })?;
                if len > b.len() {
                    // Larger than any frame the kernel hands over: counted as cut.
                    return Ok(Some(Took::Frame(len)));
                }
                let h = VnetHdr::parse(&raw);
                let partial = h.flags & VnetHdr::F_NEEDS_CSUM != 0;
                if len > 0 && h.gso_type & !VnetHdr::GSO_ECN != VnetHdr::GSO_NONE {
                    extra.rx_gso_frames += 1;
                    let fits = len <= gso::ETH + seg;
                    if !(fits && partial) {
                        return match gso::segment_tcp(b.data(), &[], seg, out, spare) {
                            Ok(n) => {
                                extra.rx_gso_segments += n as u64;
                                Ok(Some(Took::Delivered(n)))
                            }
                            Err(_) => {
                                extra.rx_gso_unsupported += 1;
                                Ok(Some(Took::Delivered(0)))
                            }
                        };
                    }
                    // One segment's worth: goes on whole, its checksum left partial.
                    extra.rx_gso_segments += 1;
                }
                if partial {
                    let (start, off) = (h.csum_start as usize, h.csum_offset as usize);
                    if !b.set_partial_checksum(start, off) {
                        extra.rx_gso_unsupported += 1;
                        return Ok(Some(Took::Delivered(0)));
                    }
                    extra.rx_csum_partial += 1;
                }
                Ok(Some(Took::Frame(len)))
            },
        );
        let c = &mut self.counters;
        c.rx_gso_frames += extra.rx_gso_frames;
        c.rx_gso_segments += extra.rx_gso_segments;
        c.rx_gso_unsupported += extra.rx_gso_unsupported;
        c.rx_csum_partial += extra.rx_csum_partial;
        r
    }

    fn send_batch(&mut self, frames: &[&PacketBuf]) -> Result<usize, DeviceError> {
        let (sock, mtu) = (&self.sock, self.mtu);
        let mut gso_frames = 0;
        let mut bad = 0;
        let r = rxtx::send_each(&self.name, &mut self.counters, frames, |f| {
            let t = match gso::tx_header(f.data(), f.partial_checksum(), mtu) {
                Ok(t) => t,
                Err(gso::TxRefused::BadChecksum) => {
                    // Dropped (counted); the loop goes on with the next frame.
                    bad += 1;
                    return Ok(f.len());
                }
                // Larger than the link and not TCP: the kernel refuses it (EMSGSIZE,
                // counted by the loop).
                Err(gso::TxRefused::TooBig) => gso::TxHeader {
                    hdr: VnetHdr::default(),
                    patch: None,
                },
            };
            let r = sys::send_vnet(sock, &t.hdr.emit(), f.data(), t.patch);
            if r.is_ok() && t.hdr.gso_type != VnetHdr::GSO_NONE {
                gso_frames += 1;
            }
            r
        });
        self.counters.tx_gso_frames += gso_frames;
        self.counters.tx_frames -= bad;
        self.counters.tx_bad_checksum += bad;
        r.map(|n| n - bad as usize)
    }

    fn takes_partial_checksums(&self) -> bool {
        true
    }

    fn readable_fd(&self) -> Option<std::os::fd::RawFd> {
        Some(std::os::fd::AsRawFd::as_raw_fd(&self.sock))
    }

    fn counters(&self) -> DeviceCounters {
        self.counters
    }
}
