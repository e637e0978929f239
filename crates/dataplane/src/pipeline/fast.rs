//! Fast paths for the two packets a loaded vRouter sees most: an option-less, unfragmented
//! IPv4 (or extension-less IPv6) UDP/TCP packet from a workload that hits an established
//! forwarding flow, and an overlay packet from the fabric (MPLS over UDP, MPLS over GRE or
//! routed VXLAN) whose inner UDP/TCP packet does the same.
//!
//! Each reads the headers it needs from fixed-size arrays (one length check instead of one
//! per field), builds the flow key without the general `L3Info`, and looks nothing up
//! twice. It decides *before changing anything*: whenever a packet is not exactly that
//! case (options, fragments, traps, NAT, mirroring, a held or dropped flow, a missing
//! nexthop, a malformed header, ...) it returns `None` and the general path runs on the
//! untouched packet. The general path then gives the same result it always did, so these
//! functions only have to agree with it on the packets they accept; the pipeline tests
//! run through both (`tests/pipeline_paths.rs` covers the fallbacks).

use super::forward::{finish_l3, l3_out};
use super::warm::{WARM_MIN_FLOWS, key_hash, warm_hashes};
use super::{Disposition, Worker};
use crate::flow::FlowKey;
use crate::packet::PacketBuf;
use crate::tables::{
    IfIndex, Interface, InterfaceKind, MPLS_UDP_PORT, Nexthop, NhId, Tables, VXLAN_UDP_PORT,
};
use crate::wire::{IpProtocol, MacAddr, TcpFlags};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const ETH: usize = 14;

#[inline(always)]
fn be16<const N: usize>(b: &[u8; N], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline(always)]
fn be32<const N: usize>(b: &[u8; N], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The fields of an IPv4 UDP/TCP packet the fast paths use.
pub(super) struct V4 {
    pub src: u32,
    pub dst: u32,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
    pub ttl: u8,
    /// IP total length (the datagram without link padding).
    pub total: usize,
    pub tcp: Option<TcpFlags>,
}

/// Reads an IPv4 packet without options or fragmentation carrying UDP or TCP, accepting
/// exactly what `parse::parse_ip` accepts for such packets (the same length checks), and
/// `None` for everything else.
#[inline(always)]
pub(super) fn v4(ip: &[u8]) -> Option<V4> {
    let h: &[u8; 28] = ip.first_chunk()?;
    if h[0] != 0x45 || be16(h, 6) & 0x3fff != 0 {
        return None;
    }
    let total = be16(h, 2) as usize;
    if total > ip.len() || total < 20 {
        return None;
    }
    let l4_len = total - 20;
    let (sport, dport, tcp) = match IpProtocol(h[9]) {
        IpProtocol::UDP => {
            let ulen = be16(h, 24) as usize;
            if l4_len < 8 || ulen < 8 || ulen > l4_len {
                return None;
            }
            (be16(h, 20), be16(h, 22), None)
        }
        IpProtocol::TCP => {
            let t: &[u8; 40] = ip.first_chunk()?;
            let doff = (t[32] >> 4) as usize * 4;
            if l4_len < 20 || doff < 20 || doff > l4_len {
                return None;
            }
            (
                be16(t, 20),
                be16(t, 22),
                Some(TcpFlags(be16(t, 32) & 0x01ff)),
            )
        }
        _ => return None,
    };
    Some(V4 {
        src: be32(h, 12),
        dst: be32(h, 16),
        proto: h[9],
        sport,
        dport,
        ttl: h[8],
        total,
        tcp,
    })
}

/// The fields of an IPv6 UDP/TCP packet the fast paths use.
pub(super) struct V6 {
    pub src: u128,
    pub dst: u128,
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
    pub hop_limit: u8,
    /// 40 + payload length (the datagram without link padding).
    pub total: usize,
    pub tcp: Option<TcpFlags>,
}

/// Reads an IPv6 packet whose next header is UDP or TCP (no extension headers), accepting
/// exactly what `parse::parse_ip` accepts for such packets, and `None` for everything else.
/// The transport checks repeat [`v4`]'s on purpose: one helper for both (reading the
/// transport header from its own slice) cost every IPv4 packet 13-19 instructions.
#[inline(always)]
pub(super) fn v6(ip: &[u8]) -> Option<V6> {
    let h: &[u8; 48] = ip.first_chunk()?;
    if h[0] >> 4 != 6 {
        return None;
    }
    let l4_len = be16(h, 4) as usize;
    let total = 40 + l4_len;
    if total > ip.len() {
        return None;
    }
    let (sport, dport, tcp) = match IpProtocol(h[6]) {
        IpProtocol::UDP => {
            let ulen = be16(h, 44) as usize;
            if l4_len < 8 || ulen < 8 || ulen > l4_len {
                return None;
            }
            (be16(h, 40), be16(h, 42), None)
        }
        IpProtocol::TCP => {
            let t: &[u8; 60] = ip.first_chunk()?;
            let doff = (t[52] >> 4) as usize * 4;
            if l4_len < 20 || doff < 20 || doff > l4_len {
                return None;
            }
            (
                be16(t, 40),
                be16(t, 42),
                Some(TcpFlags(be16(t, 52) & 0x01ff)),
            )
        }
        _ => return None,
    };
    let addr = |at: usize| u128::from_be_bytes(h[at..at + 16].try_into().unwrap_or_default());
    Some(V6 {
        src: addr(8),
        dst: addr(24),
        proto: h[6],
        sport,
        dport,
        hop_limit: h[7],
        total,
        tcp,
    })
}

/// What the fast path read from a frame before touching any table but the snapshot: the
/// flow key to look up (if the destination has policy) and how to finish.
#[derive(Clone, Copy)]
pub(super) struct Parsed {
    /// Flow key and its hash; `None` when no flow applies (fabric, no policy).
    pub flow: Option<(FlowKey, u64)>,
    /// IP total length of the (inner) datagram.
    pub total: usize,
    pub tcp: Option<TcpFlags>,
    /// Fabric: the local delivery (interface, destination and source MAC).
    pub deliver: Option<(IfIndex, MacAddr, MacAddr)>,
    /// Fabric: the offset of the inner IP packet.
    pub inner: u8,
    /// The (inner) packet is IPv6.
    pub v6: bool,
}

/// What step one needs from a policy-enabled workload interface, looked up once per
/// batch rather than per packet.
pub(super) struct Workload<'a> {
    iface: &'a Interface,
    vrf: u16,
    ips: &'a [IpAddr],
    /// The interface's only address when it has exactly one IPv4 one (the usual case):
    /// the source check is then one compare.
    only_v4: Option<u32>,
    /// Whether the interface has fat-flow rules (most have none: no per-packet scan).
    fat: bool,
    vrouter_mac: [u8; 6],
}

impl<'a> Workload<'a> {
    /// `None` unless `iface` is a policy-enabled workload whose VRF exists (otherwise
    /// every packet takes the general path, which drops or handles it).
    pub(super) fn new(t: &Tables, iface: &'a Interface) -> Option<Self> {
        let InterfaceKind::Virtual {
            vrf,
            policy: true,
            ref ips,
        } = iface.kind
        else {
            return None;
        };
        t.vrf(vrf)?;
        let only_v4 = match ips.as_slice() {
            [IpAddr::V4(a)] => Some(a.to_bits()),
            _ => None,
        };
        Some(Self {
            iface,
            vrf,
            ips,
            only_v4,
            fat: !iface.fat_flows.is_empty(),
            vrouter_mac: t.vrouter_mac.0,
        })
    }

    #[inline(always)]
    fn owns(&self, src: u32) -> bool {
        match self.only_v4 {
            Some(a) => a == src,
            None => self.ips.contains(&IpAddr::V4(Ipv4Addr::from_bits(src))),
        }
    }

    fn owns_v6(&self, src: u128) -> bool {
        self.ips.contains(&IpAddr::V6(Ipv6Addr::from_bits(src)))
    }
}

/// Step one for a workload frame (pure): a routed IPv4 UDP/TCP packet from a
/// policy-enabled workload, past every check the general path makes before its flow
/// lookup. `None`: not this case, the general path takes the packet.
#[inline(always)]
pub(super) fn parse_workload(wl: &Workload<'_>, d: &[u8]) -> Option<Parsed> {
    let eth: &[u8; ETH] = d.first_chunk()?;
    // Routed (to the vRouter MAC), unicast source, IPv4: as the general path decides.
    if eth[..6] != wl.vrouter_mac || eth[6] & 1 != 0 || eth[12..] != [0x08, 0x00] {
        return None;
    }
    let p = v4(&d[ETH..])?;
    // TTL expiry and DHCP traps are the general path's.
    if p.ttl <= 1 || (p.proto == IpProtocol::UDP.0 && p.dport == 67) {
        return None;
    }
    if !wl.owns(p.src) {
        return None;
    }
    let (sport, dport) = if wl.fat {
        wl.iface.fat_ports(p.proto, p.sport, p.dport)
    } else {
        (p.sport, p.dport)
    };
    let key = FlowKey::from_parts(
        wl.vrf,
        p.proto,
        p.src as u128,
        p.dst as u128,
        sport,
        dport,
        false,
    );
    Some(Parsed {
        flow: Some((key, key.hash())),
        total: p.total,
        tcp: p.tcp,
        deliver: None,
        inner: 0,
        v6: false,
    })
}

/// [`parse_workload`] for IPv6 frames. Kept out of `parse_workload` and of the IPv4 loop
/// (see `finish_not_v4`): with two sources of `Parsed` there, every IPv4 packet paid 27
/// instructions more.
#[inline(always)]
fn parse_workload_v6(wl: &Workload<'_>, d: &[u8]) -> Option<Parsed> {
    let eth: &[u8; ETH] = d.first_chunk()?;
    if eth[..6] != wl.vrouter_mac || eth[6] & 1 != 0 || eth[12..] != [0x86, 0xdd] {
        return None;
    }
    let p = v6(&d[ETH..])?;
    // Hop-limit expiry and DHCPv6 traps are the general path's.
    if p.hop_limit <= 1 || (p.proto == IpProtocol::UDP.0 && p.dport == 547) {
        return None;
    }
    if !wl.owns_v6(p.src) {
        return None;
    }
    let (sport, dport) = wl.iface.fat_ports(p.proto, p.sport, p.dport);
    let key = FlowKey::from_parts(wl.vrf, p.proto, p.src, p.dst, sport, dport, true);
    Some(Parsed {
        flow: Some((key, key.hash())),
        total: p.total,
        tcp: p.tcp,
        deliver: None,
        inner: 0,
        v6: true,
    })
}

/// Step two for a workload frame: an established flow with a pinned nexthop. Decides
/// before changing anything (`None`: untouched, general path), then forwards.
#[inline(always)]
pub(super) fn finish_workload(
    w: &mut Worker,
    t: &Tables,
    now: u32,
    ingress: IfIndex,
    pkt: &mut PacketBuf,
    p: &Parsed,
) -> Option<Disposition> {
    let (key, hash) = p.flow.as_ref()?;
    // The general path counts the packet after dropping link padding.
    let len = (ETH + p.total).min(pkt.len());
    let e = w.flows.hit_plain(key, *hash, len, p.tcp, now, |nh| {
        if nh == 0 { None } else { t.nh_entry(nh) }
    })?;
    // Decided (and counted): from here on this is what the general path does.
    pkt.truncate(len);
    w.stats.flow_hits += 1;
    Some(l3_out(ingress, pkt, e, *hash, p.v6))
}

/// Step one for a fabric frame (pure): an overlay packet for this vRouter that leads to a
/// local workload with an inner IPv4 UDP/TCP packet, past every check the general path
/// makes before its flow lookup. Three encapsulations qualify: MPLS over UDP and MPLS over
/// GRE whose L3 label names the workload's nexthop, and routed VXLAN (an inner frame to the
/// vRouter MAC, routed in the VNI's VRF). Bridged VXLAN and L2 labels carry no flow and
/// stay on the general path.
#[inline(always)]
pub(super) fn parse_fabric(
    t: &Tables,
    local_ip: Ipv4Addr,
    cache: &mut OverlayCache,
    d: &[u8],
) -> Option<Parsed> {
    // Ethernet, an option-less outer IPv4 header and the 8 bytes after it (UDP, or GRE
    // plus the MPLS word).
    let o: &[u8; ETH + 28] = d.first_chunk()?;
    if be16(o, 12) != 0x0800
        || o[14] != 0x45
        || be32(o, 30) != local_ip.to_bits()
        || be16(o, 20) & 0x3fff != 0
    {
        return None;
    }
    // The general path's checks on the outer lengths: the outer datagram lies within the
    // frame, and each header within the datagram (UDP by its own length).
    let total = be16(o, 16) as usize;
    if ETH + total > d.len() {
        return None;
    }
    let l4 = total.checked_sub(20)?;
    let (nh, inner) = match IpProtocol(o[23]) {
        IpProtocol::UDP => {
            let ulen = be16(o, 38) as usize;
            if ulen < 8 || ulen > l4 {
                return None;
            }
            match be16(o, 36) {
                MPLS_UDP_PORT if l4 >= 8 + 4 => (cache.label(t, mpls_label(d, 42)?), 46),
                VXLAN_UDP_PORT if ulen >= 8 + 8 => return vxlan(t, cache, d),
                _ => return None,
            }
        }
        // GRE without checksum, key or sequence (the general path also takes those; here
        // the header is exactly 4 bytes), carrying MPLS.
        IpProtocol::GRE if be32(o, 34) == 0x8847 && l4 >= 4 + 4 => {
            (cache.label(t, mpls_label(d, 38)?), 42)
        }
        _ => return None,
    };
    let Some(&Nexthop::Encap {
        ifindex,
        dmac,
        smac,
    }) = t.nexthop(nh)
    else {
        return None;
    };
    // An L3 label carries bare IP; its version nibble says which.
    let is_v6 = match d.get(inner)? >> 4 {
        4 => false,
        6 => true,
        _ => return None,
    };
    l3_inner(t, d, inner, is_v6, ifindex, dmac, smac)
}

/// The label of a bottom-of-stack MPLS word at `at` (`None` for a label stack, which the
/// general path drops with its own reason).
#[inline(always)]
fn mpls_label(d: &[u8], at: usize) -> Option<u32> {
    let word = u32::from_be_bytes(*d.get(at..)?.first_chunk()?);
    (word & 0x100 != 0).then_some(word >> 12)
}

/// Routed VXLAN: the VNI's nexthop translates to a VRF, the inner frame is addressed to
/// the vRouter MAC and carries IP, and the inner destination's route in that VRF is a
/// local workload.
#[inline(always)]
fn vxlan(t: &Tables, cache: &mut OverlayCache, d: &[u8]) -> Option<Parsed> {
    const VXLAN: usize = ETH + 28;
    const INNER_ETH: usize = VXLAN + 8;
    let h: &[u8; INNER_ETH + ETH] = d.first_chunk()?;
    if h[VXLAN] & 0x08 == 0 {
        return None;
    }
    let &Nexthop::VrfTranslate { vrf } = t.nexthop(cache.vni(t, be32(h, VXLAN + 4) >> 8))? else {
        return None;
    };
    let v = t.vrf(vrf)?;
    if h[INNER_ETH..INNER_ETH + 6] != t.vrouter_mac.0 {
        return None;
    }
    let ip = INNER_ETH + ETH;
    // The inner ethertype picks the FIB; the packet's version must agree (`l3_inner`).
    let (is_v6, route) = match be16(h, INNER_ETH + 12) {
        0x0800 => (
            false,
            v.fib4
                .lookup_v4(be32(d.get(ip..)?.first_chunk::<20>()?, 16)),
        ),
        0x86dd => {
            let dst: &[u8; 16] = d.get(ip + 24..)?.first_chunk()?;
            (true, v.fib6.lookup_aligned(u128::from_be_bytes(*dst)))
        }
        _ => return None,
    };
    let Some(&Nexthop::Encap {
        ifindex,
        dmac,
        smac,
    }) = t.nexthop(route)
    else {
        return None;
    };
    l3_inner(t, d, ip, is_v6, ifindex, dmac, smac)
}

/// The inner IP packet at `inner` (IPv6 when `is_v6`), for the local workload behind
/// `ifindex`: its flow key in that workload's VRF when it has policy.
#[inline(always)]
fn l3_inner(
    t: &Tables,
    d: &[u8],
    inner: usize,
    is_v6: bool,
    ifindex: IfIndex,
    dmac: MacAddr,
    smac: MacAddr,
) -> Option<Parsed> {
    let ip = d.get(inner..)?;
    let (src, dst, proto, sport, dport, ttl, total, tcp) = if is_v6 {
        let p = v6(ip)?;
        let (s, d) = (p.src, p.dst);
        (s, d, p.proto, p.sport, p.dport, p.hop_limit, p.total, p.tcp)
    } else {
        let p = v4(ip)?;
        let (s, d) = (p.src as u128, p.dst as u128);
        (s, d, p.proto, p.sport, p.dport, p.ttl, p.total, p.tcp)
    };
    if ttl <= 1 {
        return None;
    }
    let flow = match t.interface(ifindex) {
        Some(
            dst_if @ Interface {
                kind:
                    InterfaceKind::Virtual {
                        vrf, policy: true, ..
                    },
                ..
            },
        ) => {
            let (sport, dport) = dst_if.fat_ports(proto, sport, dport);
            let key = FlowKey::from_parts(*vrf, proto, src, dst, sport, dport, is_v6);
            Some((key, key.hash()))
        }
        _ => None,
    };
    Some(Parsed {
        flow,
        total,
        tcp,
        deliver: Some((ifindex, dmac, smac)),
        inner: inner as u8,
        v6: is_v6,
    })
}

/// The last label (or VNI) looked up in this batch and its nexthop: a batch from the
/// fabric often carries many packets for the same workload, and the label and VNI tables
/// are hash maps. Lives for one batch (one table snapshot), so it is never stale.
#[derive(Default)]
pub(super) struct OverlayCache {
    /// The label, or the VNI with bit 32 set; `None` before the first lookup.
    key: Option<u64>,
    nh: NhId,
}

impl OverlayCache {
    #[inline(always)]
    fn label(&mut self, t: &Tables, label: u32) -> NhId {
        self.get(label as u64, || t.label(label))
    }
    #[inline(always)]
    fn vni(&mut self, t: &Tables, vni: u32) -> NhId {
        self.get(1 << 32 | vni as u64, || t.vni(vni))
    }
    #[inline(always)]
    fn get(&mut self, key: u64, lookup: impl FnOnce() -> NhId) -> NhId {
        if self.key != Some(key) {
            self.key = Some(key);
            self.nh = lookup();
        }
        self.nh
    }
}

/// Step two for a fabric frame: the inner packet's flow (when its workload has policy)
/// is established without NAT or mirroring; then decapsulates and delivers.
#[inline(always)]
pub(super) fn finish_fabric(
    w: &mut Worker,
    now: u32,
    pkt: &mut PacketBuf,
    p: &Parsed,
) -> Option<Disposition> {
    let (ifindex, dmac, smac) = p.deliver?;
    let inner = p.inner;
    if let Some((key, hash)) = &p.flow {
        w.flows
            .hit_plain(key, *hash, pkt.len(), p.tcp, now, |_| Some(()))?;
        w.stats.flow_hits += 1;
    }
    Some(finish_l3(
        pkt,
        inner as usize,
        p.total,
        ifindex,
        dmac,
        smac,
        p.v6,
    ))
}

/// Runs a batch through the fast paths when the ingress interface has one (a
/// policy-enabled workload or the fabric): every packet is parsed first, the flow table
/// lines of the whole batch are warmed together when the table is large (`warm.rs`),
/// then each packet is finished on the fast path or handed to the general path. Returns
/// false (nothing done) for other interfaces.
pub(super) fn run_batch(
    w: &mut Worker,
    t: &Tables,
    now: u32,
    ingress: IfIndex,
    iface: &Interface,
    pkts: &mut [PacketBuf],
    out: &mut [Disposition],
) -> bool {
    let mode = match iface.kind {
        InterfaceKind::Fabric { local_ip, .. } => Mode::Fabric(local_ip),
        _ => match Workload::new(t, iface) {
            Some(wl) => Mode::Workload(wl),
            None => return false,
        },
    };
    let fabric = matches!(mode, Mode::Fabric(_));
    let large = pkts.len() > 1 && w.flows.len() >= WARM_MIN_FLOWS;
    let n = pkts.len().min(out.len());
    // Forwarded packets are counted per run of the same output interface (one counter
    // update for most batches) rather than one by one.
    let mut run = Run::default();
    let mut overlay = OverlayCache::default();
    if !large {
        // Cache-resident table: parse and finish each packet in turn (nothing to warm,
        // so nothing is stored between the two steps). One loop per interface kind, so
        // the kind is decided once per batch rather than per packet.
        let batch = pkts[..n].iter_mut().zip(out[..n].iter_mut());
        match &mode {
            Mode::Workload(wl) => {
                for (pkt, o) in batch {
                    *o = match parse_workload(wl, pkt.data()) {
                        Some(p) => finish::<false>(w, t, now, ingress, pkt, Some(&p), &mut run),
                        None => finish_not_v4(w, t, now, ingress, wl, pkt, &mut run),
                    };
                }
            }
            Mode::Fabric(ip) => {
                for (pkt, o) in batch {
                    let p = parse_fabric(t, *ip, &mut overlay, pkt.data());
                    *o = finish::<true>(w, t, now, ingress, pkt, p.as_ref(), &mut run);
                }
            }
        }
        run.flush(w, ingress);
        return true;
    }
    for (pc, oc) in pkts[..n].chunks_mut(32).zip(out[..n].chunks_mut(32)) {
        let mut parsed: [Option<Parsed>; 32] = [None; 32];
        for (slot, p) in parsed.iter_mut().zip(pc.iter()) {
            *slot = parse(t, &mode, &mut overlay, p);
        }
        let mut hashes = [0u64; 32];
        for ((h, p), pkt) in hashes.iter_mut().zip(&parsed).zip(pc.iter()) {
            *h = match p {
                Some(Parsed {
                    flow: Some((_, hash)),
                    ..
                }) => *hash,
                Some(_) => 0,
                // The general path will look a flow up: warm it the general way.
                None => key_hash(iface, t, pkt.data()).unwrap_or(0),
            };
        }
        warm_hashes(w, t, &hashes[..pc.len()]);
        for ((pkt, o), p) in pc.iter_mut().zip(oc.iter_mut()).zip(&parsed) {
            *o = if fabric {
                finish::<true>(w, t, now, ingress, pkt, p.as_ref(), &mut run)
            } else {
                finish::<false>(w, t, now, ingress, pkt, p.as_ref(), &mut run)
            };
        }
    }
    run.flush(w, ingress);
    true
}

/// Step one for the interface's kind.
#[inline(always)]
fn parse(t: &Tables, mode: &Mode<'_>, overlay: &mut OverlayCache, p: &PacketBuf) -> Option<Parsed> {
    match mode {
        Mode::Workload(wl) => parse_workload(wl, p.data()).or_else(|| parse_v6_outlined(wl, p)),
        Mode::Fabric(ip) => parse_fabric(t, *ip, overlay, p.data()),
    }
}

/// [`parse_workload_v6`] out of line, for the large-table loop (same reason as
/// `finish_not_v4`).
#[inline(never)]
fn parse_v6_outlined(wl: &Workload<'_>, p: &PacketBuf) -> Option<Parsed> {
    parse_workload_v6(wl, p.data())
}

/// Which fast path a batch's ingress interface has.
enum Mode<'a> {
    Workload(Workload<'a>),
    /// The fabric, with this vRouter's underlay address.
    Fabric(Ipv4Addr),
}

/// Step two for one packet, or the general path when the fast one declines; forwarded
/// packets join `run` to be counted together. `FABRIC`: the batch came from the fabric.
#[inline(always)]
fn finish<const FABRIC: bool>(
    w: &mut Worker,
    t: &Tables,
    now: u32,
    ingress: IfIndex,
    pkt: &mut PacketBuf,
    p: Option<&Parsed>,
    run: &mut Run,
) -> Disposition {
    let rx_len = pkt.len() as u64;
    let d = match p {
        None => None,
        Some(p) if FABRIC => finish_fabric(w, now, pkt, p),
        Some(p) => finish_workload(w, t, now, ingress, pkt, p),
    };
    match d {
        Some(Disposition::Tx(out)) => {
            if out != run.out {
                run.flush(w, ingress);
                run.out = out;
            }
            run.n += 1;
            run.rx_bytes += rx_len;
            run.tx_bytes += pkt.len() as u64;
            Disposition::Tx(out)
        }
        Some(d) => w.count(ingress, rx_len, pkt.len() as u64, d),
        None => w.process(t, now, ingress, pkt),
    }
}

/// Step two for a workload frame that is not an IPv4 fast-path packet: the IPv6 fast path
/// when it is one, else the general path. Out of line, for the IPv4 loop's sake.
#[inline(never)]
fn finish_not_v4(
    w: &mut Worker,
    t: &Tables,
    now: u32,
    ingress: IfIndex,
    wl: &Workload<'_>,
    pkt: &mut PacketBuf,
    run: &mut Run,
) -> Disposition {
    let p = parse_workload_v6(wl, pkt.data());
    finish::<false>(w, t, now, ingress, pkt, p.as_ref(), run)
}

/// Forwarded packets not yet counted, all sent out of `out`.
#[derive(Default)]
struct Run {
    out: IfIndex,
    n: u64,
    rx_bytes: u64,
    tx_bytes: u64,
}

impl Run {
    #[inline(always)]
    fn flush(&mut self, w: &mut Worker, ingress: IfIndex) {
        if self.n != 0 {
            w.count_forwarded(ingress, self.out, self.n, self.rx_bytes, self.tx_bytes);
            *self = Run::default();
        }
    }
}
