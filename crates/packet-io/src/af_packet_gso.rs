//! AF_PACKET with virtio-net headers (`PACKET_VNET_HDR`): the GSO-aware device for links
//! whose kernel side keeps its offloads on (a workload's veth with TSO, a jumbo fabric).
//! Receiving, a TCP super-frame of up to 64 KiB comes whole, with its checksum partial,
//! and is cut into segments of at most [`GsoConfig::segment_ip_len`] bytes of IP (see
//! `gso.rs`); a frame whose checksum the kernel left partial has it completed. Sending, a
//! TCP frame larger than the link MTU goes to the kernel as a GSO frame, which a local
//! stack behind the veth takes whole. So one system call and one pipeline pass carry up
//! to `segment_ip_len` bytes instead of one MTU, with no checksum offload lost on the way.
//! The loops around each frame are `rxtx.rs`'s, as for every device.

use crate::device::{Device, DeviceCounters, DeviceError};
use crate::gso::{self, VnetHdr};
use crate::rxtx::{self, Took};
use crate::sys;
use cirrus_dataplane::packet::PacketBuf;
use std::fs::File;

/// The largest frame the kernel hands a packet socket (64 KiB of IP and the Ethernet
/// header, with room to spare for a VLAN tag).
const MAX_FRAME: usize = 65536 + 32;

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
        // A frame the link can carry lands in the runner's buffer itself; only what
        // overflows it (a super-frame) goes on into the device's own large one.
        let room = sys::frame_room(self.mtu);
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
                let h = VnetHdr::parse(&raw);
                if len > 0 && h.gso_type & !VnetHdr::GSO_ECN != VnetHdr::GSO_NONE {
                    extra.rx_gso_frames += 1;
                    let tail = stage.data();
                    if len != b.len() + tail.len() {
                        // Cut (never for a frame the kernel can hand over).
                        return Ok(Some(Took::Frame(len)));
                    }
                    return match gso::segment_tcp(b.data(), tail, seg, out, spare) {
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
                // Larger than the buffer without being an offload frame: counted as cut.
                if len <= b.len() && h.flags & VnetHdr::F_NEEDS_CSUM != 0 {
                    let (start, off) = (h.csum_start as usize, h.csum_offset as usize);
                    if !gso::complete_checksum(b.data_mut(), start, off) {
                        extra.rx_gso_unsupported += 1;
                        return Ok(Some(Took::Delivered(0)));
                    }
                    extra.rx_csum_completed += 1;
                }
                Ok(Some(Took::Frame(len)))
            },
        );
        let c = &mut self.counters;
        c.rx_gso_frames += extra.rx_gso_frames;
        c.rx_gso_segments += extra.rx_gso_segments;
        c.rx_gso_unsupported += extra.rx_gso_unsupported;
        c.rx_csum_completed += extra.rx_csum_completed;
        r
    }

    fn send_batch(&mut self, frames: &[&PacketBuf]) -> Result<usize, DeviceError> {
        let (sock, mtu) = (&self.sock, self.mtu);
        let mut gso_frames = 0;
        let mut bad = 0;
        let r = rxtx::send_each(&self.name, &mut self.counters, frames, |f| {
            let t = match gso::tx_header(f, mtu) {
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
            let r = sys::send_vnet(sock, &t.hdr.emit(), f, t.patch);
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

    fn counters(&self) -> DeviceCounters {
        self.counters
    }
}
