//! Flow export to the analytics collector, off the forwarding path. The agent thread notes
//! each flow decision (allowed or refused, the rule that decided) in a bounded log; a
//! sampler thread dumps the workers' flow tables every interval (the workers copy records
//! out between batches, as for introspect), pairs each flow with its reverse, and makes one
//! session sample per pair: `Setup` for a new flow, `Interval` with byte and packet deltas
//! while it lives and counts move, `Teardown` when it is gone. Samples go through a bounded
//! queue to a sender thread that writes them to the collector over TCP
//! (`cirrus_analytics::wire`), and to the IPFIX sender (`crate::ipfix`) when that is on;
//! when a queue is full or the collector is away, samples are dropped and counted, never
//! waited for.
//!
//! Each sample names the underlay (the far vrouter's address, the encapsulation and the
//! tunnel's UDP source port) from the tunnel nexthop either direction of the pair pinned,
//! and a torn-down flow says why ([`teardown`]).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use cirrus_analytics::record::{Encap, Event, FlowSide, SessionSample};
use cirrus_dataplane::control::Dataplane;
use cirrus_dataplane::flow::{FlowKey, FlowRecord, FlowVerdict};
use cirrus_dataplane::pipeline::entropy_port;
use cirrus_dataplane::tables::{IfIndex, Nexthop, Tables, TunnelEncap};
use cirrus_dataplane::wire::TcpFlags;
use cirrus_packet_io::handle::RunnerHandle;
use cirrus_packet_io::report::FlowFilter;

pub use crate::export_sender::Outbound;
use crate::flow_context::{FlowContext, LocalAddr};
use crate::flow_setup::{Decided, Refusal};
use crate::policy::Layer;

/// Whether flow setup should name the rules that allowed each flow (set once export
/// starts; one process runs one agent).
static RULES_WANTED: AtomicBool = AtomicBool::new(false);

pub fn rules_wanted() -> bool {
    RULES_WANTED.load(Ordering::Relaxed)
}

/// Why a flow was torn down (`teardown_reason`), in the terms of Contrail's flow events:
/// aged out, closed by TCP, deleted by the agent on a config or policy change, or with
/// the port it counted against. (Cirrus's flow table refuses new flows when full rather
/// than evicting old ones, so there is no `evicted`.)
pub mod teardown {
    /// Idle past its timeout (Contrail's "aged").
    pub const AGED: &str = "aged";
    /// Closed by FIN in both directions.
    pub const TCP_FIN: &str = "tcp-fin";
    /// Reset by a TCP RST.
    pub const TCP_RST: &str = "tcp-rst";
    /// Deleted because a config, policy or route change would decide it differently.
    pub const POLICY_CHANGE: &str = "policy-change";
    /// Deleted with the port whose traffic set it up.
    pub const PORT_DELETED: &str = "port-deleted";
}

/// Flows the agent deleted, with why, until the sampler sees them gone (bounded).
static DELETED: Mutex<Option<HashMap<FlowKey, &'static str>>> = Mutex::new(None);
const DELETED_CAP: usize = 1 << 16;

/// Notes that the agent is deleting these flows for `reason` (one of [`teardown`]); a no-op
/// while export is off.
pub fn note_deleted<'a>(keys: impl IntoIterator<Item = &'a FlowKey>, reason: &'static str) {
    if !rules_wanted() {
        return;
    }
    let mut m = DELETED.lock().unwrap_or_else(|p| p.into_inner());
    let m = m.get_or_insert_with(HashMap::new);
    for k in keys {
        if m.len() >= DELETED_CAP {
            break;
        }
        m.insert(*k, reason);
    }
}

fn take_deleted(k: &FlowKey) -> Option<&'static str> {
    DELETED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_mut()?
        .remove(k)
}

/// Where and how often.
#[derive(Debug, Clone)]
pub struct FlowExportConfig {
    /// The analytics collector (`cirrus_analytics::wire` over TCP), if any.
    pub collector: Option<SocketAddr>,
    /// IPFIX collectors (UDP), if any.
    pub ipfix: Vec<SocketAddr>,
    pub interval: Duration,
    /// Batches of samples waiting for the sender; more are dropped and counted.
    pub queue: usize,
}

/// Counters, for introspect.
#[derive(Debug, Default, serde::Serialize)]
pub struct ExportStats {
    pub samples: AtomicU64,
    pub sent: AtomicU64,
    /// Dropped because the queue was full or the collector could not take them.
    pub dropped: AtomicU64,
    /// Decisions not logged because the log was full.
    pub decisions_dropped: AtomicU64,
    pub connects: AtomicU64,
    /// Per-interface samples made, sent, and dropped (queue full or collector away).
    pub vmi_samples: AtomicU64,
    pub vmi_sent: AtomicU64,
    pub vmi_dropped: AtomicU64,
}

/// What decided a flow, as the exporter needs it.
#[derive(Debug, Clone, Default)]
pub struct Decision {
    pub forward: Verdict,
    pub reverse: Verdict,
}

#[derive(Debug, Clone, Default)]
pub struct Verdict {
    pub pass: bool,
    pub layer: Option<Layer>,
    pub rule: Option<Arc<str>>,
    pub reason: &'static str,
    /// For a pass: the rule of each layer that passed it.
    pub allowed_by: Vec<(Layer, Arc<str>)>,
}

/// Why a flow was dropped (`drop_reason`), by the names of Contrail's agent
/// (`FlowEntry::FlowDropReasonStr`): a policy layer's denial of the flow, or of its reply
/// direction only (`reverse`), or a short flow the agent could not complete.
pub fn drop_reason(r: &Refusal, reverse: bool) -> &'static str {
    match (r, reverse) {
        (Refusal::Policy(Layer::NetworkPolicy, _), false) => "Flow drop Policy",
        (Refusal::Policy(Layer::NetworkPolicy, _), true) => "Flow drop Out Policy",
        (Refusal::Policy(Layer::SecurityGroup, _), false) => "Flow drop SG",
        (Refusal::Policy(Layer::SecurityGroup, _), true) => "Flow drop REVERSE SG",
        (Refusal::Policy(Layer::Firewall, _), false) => "Flow drop Firewall Policy",
        (Refusal::Policy(Layer::Firewall, _), true) => "Flow drop REVERSE Firewall Policy",
        (Refusal::NoRoute, _) => "Short flow No Destination route",
        // Contrail's spelling.
        (Refusal::UnknownPort, _) => "Short flow Interface unavialable",
        // The source does not own the port's address: Contrail's reverse-path check.
        (Refusal::SourceMac, _) => "Short flow No Source route for RPF NH",
        (Refusal::Malformed, _) => "UNKNOWN",
    }
}

fn verdict(r: Option<&Refusal>, allowed_by: &[(Layer, Arc<str>)], reverse: bool) -> Verdict {
    match r {
        None => Verdict {
            pass: true,
            allowed_by: allowed_by.to_vec(),
            ..Verdict::default()
        },
        Some(r) => Verdict {
            pass: false,
            layer: match r {
                Refusal::Policy(l, _) => Some(*l),
                _ => None,
            },
            rule: match r {
                Refusal::Policy(_, rule) => Some(rule.clone()),
                _ => None,
            },
            reason: drop_reason(r, reverse),
            allowed_by: Vec::new(),
        },
    }
}

/// Decisions by the forward flow's key, bounded; read and cleared by the sampler.
#[derive(Debug)]
pub struct DecisionLog {
    map: Mutex<HashMap<FlowKey, (Decision, Instant)>>,
    cap: usize,
    stats: Arc<ExportStats>,
}

impl DecisionLog {
    pub fn new(cap: usize, stats: Arc<ExportStats>) -> Self {
        DecisionLog {
            map: Mutex::new(HashMap::new()),
            cap,
            stats,
        }
    }

    /// Called on the agent thread for each decision.
    pub fn note(&self, key: FlowKey, d: &Decided) {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= self.cap && !m.contains_key(&key) {
            self.stats.decisions_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let reverse = match (&d.refused, &d.reverse_refused) {
            (_, Some(r)) => verdict(Some(r), &[], true),
            (r, None) => verdict(r.as_ref(), &d.allowed_by, false),
        };
        m.insert(
            key,
            (
                Decision {
                    forward: verdict(d.refused.as_ref(), &d.allowed_by, false),
                    reverse,
                },
                Instant::now(),
            ),
        );
    }

    fn has(&self, key: &FlowKey) -> bool {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(key)
    }

    fn take(&self, key: &FlowKey) -> Option<Decision> {
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key)
            .map(|(d, _)| d)
    }

    /// Removes and returns the decisions noted before `t`: their flows were gone before
    /// the dump that started at `t` (closed and aged within one interval).
    fn take_older(&self, t: Instant) -> Vec<(FlowKey, Decision)> {
        let mut m = self.map.lock().unwrap_or_else(|p| p.into_inner());
        let keys: Vec<FlowKey> = m
            .iter()
            .filter(|(_, (_, at))| *at < t)
            .map(|(k, _)| *k)
            .collect();
        keys.into_iter()
            .filter_map(|k| m.remove(&k).map(|(d, _)| (k, d)))
            .collect()
    }
}

struct Live {
    sample: SessionSample,
    /// TCP flags of both directions, OR-ed, and the port the flow counts against, as last
    /// dumped: why it went, when it goes.
    tcp_flags: u8,
    interface: IfIndex,
}

/// Why a followed flow is gone: what the agent noted when it deleted it, else what its
/// last dump and the ports show.
fn teardown_reason(k: &FlowKey, l: &Live, ctx: &FlowContext) -> &'static str {
    if let Some(r) = take_deleted(k) {
        return r;
    }
    if l.tcp_flags & TcpFlags::RST as u8 != 0 {
        teardown::TCP_RST
    } else if l.tcp_flags & TcpFlags::FIN as u8 != 0 {
        teardown::TCP_FIN
    } else if !ctx.ports.contains_key(&l.interface) {
        teardown::PORT_DELETED
    } else {
        teardown::AGED
    }
}

/// The tunnel behind nexthop `nh`: the far end and the encapsulation.
fn tunnel(t: &Tables, nh: u32) -> Option<(Ipv4Addr, Encap)> {
    if nh == 0 {
        return None;
    }
    match t.nexthop(nh)? {
        Nexthop::Tunnel { encap, dst_ip, .. } => Some((
            *dst_ip,
            match encap {
                TunnelEncap::MplsOverUdp { .. } => Encap::MplsOverUdp,
                TunnelEncap::MplsOverGre { .. } => Encap::MplsOverGre,
                TunnelEncap::Vxlan { .. } => Encap::Vxlan,
            },
        )),
        _ => None,
    }
}

/// Fills the underlay of a sample from whichever direction was pinned to a tunnel (the
/// one leaving this vrouter over the fabric): the far vrouter, the encapsulation, and that
/// direction's tunnel UDP source port (the entropy port the pipeline writes; MPLSoUDP and
/// VXLAN only).
fn fill_underlay(
    s: &mut SessionSample,
    t: &Tables,
    fwd: Option<&FlowRecord>,
    rev: Option<&FlowRecord>,
) {
    let fwd_t = fwd.and_then(|r| tunnel(t, r.nexthop).map(|x| (x, r.key)));
    let rev_t = rev.and_then(|r| tunnel(t, r.nexthop).map(|x| (x, r.key)));
    let Some(((ip, encap), _)) = fwd_t.or(rev_t) else {
        return;
    };
    s.other_vrouter_ip = IpAddr::V4(ip);
    s.encap = encap;
    let port = |key: FlowKey| match encap {
        Encap::MplsOverUdp | Encap::Vxlan => entropy_port(key.hash()),
        _ => 0,
    };
    if let Some((_, k)) = fwd_t {
        s.forward.underlay_source_port = port(k);
    }
    if let (Some((_, k)), Some(x)) = (rev_t, s.reverse.as_mut()) {
        x.underlay_source_port = port(k);
    }
}

/// The sampler's state between dumps.
struct Sampler {
    hostname: String,
    underlay: Ipv4Addr,
    /// The programmed tables (nexthops), when running with a dataplane.
    tables: Option<Dataplane>,
    live: HashMap<FlowKey, Live>,
    next_uuid: u64,
    seed: u64,
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// The network Contrail's agent names when it knows none for an address (no route to it
/// in the flow's VRF): `FlowHandler::UnknownVn()`.
pub const UNKNOWN_VN: &str = "__UNKNOWN__";

/// The network of the local ports in `vrf`: the network a route without an origin
/// belongs to (a static or BGP-learned route of that network's routing instance).
fn vrf_network(ctx: &FlowContext, vrf: u16) -> Option<&str> {
    ctx.ports
        .values()
        .filter(|p| p.vrf == vrf)
        .find_map(|p| p.info.networks.first())
        .and_then(|n| ctx.names.name(*n))
}

/// The network of `addr` as seen from `vrf`, whether it is a local port, and that port.
/// A local port's own network; else the origin network of the route to it; else, for a
/// route without one, the VRF's network; else (no route) [`UNKNOWN_VN`].
fn network_name(ctx: &FlowContext, vrf: u16, addr: IpAddr) -> (String, bool, String) {
    if let Some(l) = ctx.local.get(&(vrf, addr)) {
        let ifx = match l {
            LocalAddr::Own(i) | LocalAddr::Floating(i, _) => *i,
        };
        if let Some(p) = ctx.ports.get(&ifx) {
            let vn = p
                .info
                .networks
                .first()
                .and_then(|n| ctx.names.name(*n))
                .or_else(|| vrf_network(ctx, p.vrf))
                .unwrap_or(UNKNOWN_VN)
                .to_string();
            return (vn, true, p.uuid.clone());
        }
    }
    let vn = match ctx.vrfs.get(&vrf).and_then(|r| r.lookup(addr)) {
        None => UNKNOWN_VN,
        Some(i) => i
            .networks
            .first()
            .and_then(|n| ctx.names.name(*n))
            .or_else(|| vrf_network(ctx, vrf))
            .unwrap_or(UNKNOWN_VN),
    };
    (vn.to_string(), false, String::new())
}

/// Both ends' networks (and local ports) of flow `k` routed into `dst_vrf`.
type Ends = ((String, bool, String), (String, bool, String));

fn ends(ctx: &FlowContext, k: &FlowKey, dst_vrf: u16) -> Ends {
    let src = network_name(ctx, k.vrf(), k.src());
    // A dropped flow routes nowhere (no destination VRF): look in the source's.
    let dst = match network_name(ctx, dst_vrf, k.dst()) {
        (vn, false, _) if vn == UNKNOWN_VN && dst_vrf != k.vrf() => {
            network_name(ctx, k.vrf(), k.dst())
        }
        found => found,
    };
    (src, dst)
}

fn side(v: &Verdict, uuid: u128, r: Option<&FlowRecord>) -> FlowSide {
    let rule = v.rule.as_deref().unwrap_or("").to_string();
    let (mut nw, mut sg, mut fw) = match v.layer {
        Some(Layer::NetworkPolicy) => (rule, String::new(), String::new()),
        Some(Layer::SecurityGroup) => (String::new(), rule, String::new()),
        Some(Layer::Firewall) => (String::new(), String::new(), rule),
        None => Default::default(),
    };
    for (layer, r) in &v.allowed_by {
        let slot = match layer {
            Layer::NetworkPolicy => &mut nw,
            Layer::SecurityGroup => &mut sg,
            Layer::Firewall => &mut fw,
        };
        *slot = r.to_string();
    }
    let pass = v.pass && r.is_none_or(|r| r.verdict != FlowVerdict::Drop);
    FlowSide {
        uuid,
        pass,
        sg_rule_uuid: sg,
        nw_ace_uuid: nw,
        fw_rule_uuid: fw,
        drop_reason: match (pass, v.reason) {
            (true, _) => String::new(),
            // Dropped with no decision noted (the log was full): Contrail's DROP_UNKNOWN.
            (false, "") => "UNKNOWN".to_string(),
            (false, why) => why.to_string(),
        },
        underlay_source_port: 0,
        bytes: r.map_or(0, |r| r.bytes),
        packets: r.map_or(0, |r| r.packets),
        diff_bytes: r.map_or(0, |r| r.bytes),
        diff_packets: r.map_or(0, |r| r.packets),
    }
}

/// Bytes per packet the flow counters hold beyond the IP packet: the Ethernet header of a
/// workload's frame, and for a packet from the fabric its outer headers (as
/// `cirrus_dataplane::tables::template` writes them: Ethernet and IPv4, then UDP and
/// MPLS, GRE and MPLS, or UDP, VXLAN and the inner Ethernet header).
fn framing(from_fabric: bool, encap: Encap) -> u64 {
    const ETH: u64 = 14;
    ETH + match (from_fabric, encap) {
        (false, _) | (true, Encap::None) => 0,
        (true, Encap::MplsOverUdp) => 20 + 8 + 4,
        (true, Encap::MplsOverGre) => 20 + 4 + 4,
        (true, Encap::Vxlan) => 20 + 8 + 8 + 14,
    }
}

/// Turns a sample's byte counts from the frames the dataplane counted into IP bytes (IP
/// headers and payload, as IPFIX's octet counts and Contrail's flow bytes are), so both
/// directions of a session count alike. A direction entered from the fabric when its
/// source is not a local port; its encapsulation is the tunnel's the session uses (an
/// arriving packet whose encapsulation is not known yet loses only its Ethernet header).
fn to_ip_bytes(s: &mut SessionSample) {
    let fwd = framing(!s.source_local, s.encap);
    let rev = framing(!s.dest_local, s.encap);
    let fix = |x: &mut FlowSide, per: u64| {
        x.bytes = x.bytes.saturating_sub(x.packets * per);
        x.diff_bytes = x.diff_bytes.saturating_sub(x.diff_packets * per);
    };
    fix(&mut s.forward, fwd);
    if let Some(r) = s.reverse.as_mut() {
        fix(r, rev);
    }
}

impl Sampler {
    /// The first sample of a flow: its ends, networks, ports and decision.
    #[allow(clippy::too_many_arguments)]
    fn setup(
        &mut self,
        ctx: &FlowContext,
        k: &FlowKey,
        dst_vrf: u16,
        d: &Decision,
        r: Option<&FlowRecord>,
        rev: Option<&FlowRecord>,
        now: u64,
    ) -> SessionSample {
        let ((svn, sl, svmi), (dvn, dl, dvmi)) = ends(ctx, k, dst_vrf);
        let (fu, ru) = (self.uuid(), self.uuid());
        let reverse = match (rev, r) {
            (Some(x), _) => Some(side(&d.reverse, ru, Some(x))),
            // Gone before any dump: a reverse flow existed when the forward one passed.
            (None, None) if d.forward.pass => Some(side(&d.reverse, ru, None)),
            _ => None,
        };
        SessionSample {
            t_us: now,
            event: Event::Setup,
            vrouter: self.hostname.clone(),
            vrouter_ip: IpAddr::V4(self.underlay),
            other_vrouter_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            encap: Encap::None,
            source_vn: svn,
            source_ip: k.src(),
            sport: k.sport(),
            dest_vn: dvn,
            dest_ip: k.dst(),
            dport: k.dport(),
            protocol: k.proto().0,
            source_local: sl,
            dest_local: dl,
            vmi: if sl { svmi } else { dvmi },
            setup_time: now,
            teardown_time: 0,
            teardown_reason: String::new(),
            forward: side(&d.forward, fu, r),
            reverse,
        }
    }

    fn uuid(&mut self) -> u128 {
        self.next_uuid += 1;
        (self.seed as u128) << 64 | self.next_uuid as u128
    }

    /// One dump's worth of samples.
    fn sample(
        &mut self,
        flows: &[FlowRecord],
        ctx: &FlowContext,
        log: &DecisionLog,
        now: u64,
        dumped_at: Instant,
    ) -> Vec<SessionSample> {
        let by_key: HashMap<FlowKey, &FlowRecord> = flows.iter().map(|r| (r.key, r)).collect();
        let mut out = Vec::new();
        let mut seen: HashMap<FlowKey, ()> = HashMap::with_capacity(flows.len());
        for r in flows {
            // One sample per pair, keyed by the forward entry: the one already followed,
            // else the one a decision names, else the lower slab index.
            let rev = r.rev_key.and_then(|k| by_key.get(&k).copied());
            let is_forward = if self.live.contains_key(&r.key) {
                true
            } else if let Some(rv) = rev {
                !self.live.contains_key(&rv.key)
                    && (log.has(&r.key) || (!log.has(&rv.key) && r.index <= rv.index))
            } else {
                true
            };
            if !is_forward {
                continue;
            }
            seen.insert(r.key, ());
            let flags = r.tcp_flags | rev.map_or(0, |x| x.tcp_flags);
            if let Some(l) = self.live.get_mut(&r.key) {
                l.tcp_flags |= flags;
                l.interface = r.interface;
                let s = &mut l.sample;
                // Set up before the route to an end was known: named once it is.
                if s.source_vn == UNKNOWN_VN || s.dest_vn == UNKNOWN_VN {
                    let ((svn, ..), (dvn, ..)) = ends(ctx, &r.key, r.dst_vrf);
                    (s.source_vn, s.dest_vn) = (svn, dvn);
                }
                // Pinned to a tunnel only at its first forwarded packet.
                if s.encap == Encap::None
                    && let Some(t) = &self.tables
                {
                    fill_underlay(s, &t.load(), Some(r), rev);
                }
                let f0 = (s.forward.bytes, s.forward.packets);
                let r0 = s.reverse.as_ref().map_or((0, 0), |x| (x.bytes, x.packets));
                let r1 = rev.map_or((0, 0), |x| (x.bytes, x.packets));
                if (r.bytes, r.packets) == f0 && r1 == r0 {
                    continue;
                }
                s.t_us = now;
                s.event = Event::Interval;
                s.forward.diff_bytes = r.bytes.saturating_sub(f0.0);
                s.forward.diff_packets = r.packets.saturating_sub(f0.1);
                s.forward.bytes = r.bytes;
                s.forward.packets = r.packets;
                if let Some(x) = s.reverse.as_mut() {
                    x.diff_bytes = r1.0.saturating_sub(r0.0);
                    x.diff_packets = r1.1.saturating_sub(r0.1);
                    x.bytes = r1.0;
                    x.packets = r1.1;
                }
                out.push(s.clone());
                continue;
            }
            let d = log.take(&r.key).unwrap_or(Decision {
                forward: Verdict {
                    pass: r.verdict != FlowVerdict::Drop,
                    ..Verdict::default()
                },
                reverse: Verdict {
                    pass: true,
                    ..Verdict::default()
                },
            });
            let mut s = self.setup(ctx, &r.key, r.dst_vrf, &d, Some(r), rev, now);
            if let Some(t) = &self.tables {
                fill_underlay(&mut s, &t.load(), Some(r), rev);
            }
            out.push(s.clone());
            self.live.insert(
                r.key,
                Live {
                    sample: s,
                    tcp_flags: flags,
                    interface: r.interface,
                },
            );
        }
        // Flows decided before this dump and not in it lived less than an interval: their
        // setup and teardown, without counters.
        for (k, d) in log.take_older(dumped_at) {
            let mut s = self.setup(ctx, &k, k.vrf(), &d, None, None, now);
            out.push(s.clone());
            s.event = Event::Teardown;
            s.teardown_time = now;
            s.teardown_reason = take_deleted(&k).unwrap_or(teardown::AGED).into();
            out.push(s);
        }
        let gone: Vec<FlowKey> = self
            .live
            .keys()
            .filter(|k| !seen.contains_key(k))
            .copied()
            .collect();
        for k in gone {
            if let Some(mut l) = self.live.remove(&k) {
                let why = teardown_reason(&k, &l, ctx);
                let s = &mut l.sample;
                s.t_us = now;
                s.event = Event::Teardown;
                s.teardown_time = now;
                s.teardown_reason = why.into();
                s.forward.diff_bytes = 0;
                s.forward.diff_packets = 0;
                if let Some(x) = s.reverse.as_mut() {
                    x.diff_bytes = 0;
                    x.diff_packets = 0;
                }
                out.push(l.sample);
            }
        }
        out.iter_mut().for_each(to_ip_bytes);
        out
    }
}

/// The most flow entries one dump copies out of each worker.
const DUMP_LIMIT: usize = 1 << 20;

/// The decision log (for the agent thread) and the counters, made before the runner.
pub fn parts() -> (Arc<DecisionLog>, Arc<ExportStats>) {
    let stats = Arc::new(ExportStats::default());
    (Arc::new(DecisionLog::new(1 << 18, stats.clone())), stats)
}

/// Starts the sampler thread and a sender thread for each destination: the analytics
/// collector, IPFIX collectors. `tables` names the underlay of flows that leave by a tunnel.
#[allow(clippy::too_many_arguments)]
pub fn start(
    cfg: FlowExportConfig,
    hostname: String,
    underlay: Ipv4Addr,
    handle: RunnerHandle,
    ctx: Arc<ArcSwap<FlowContext>>,
    tables: Option<Dataplane>,
    parts: (Arc<DecisionLog>, Arc<ExportStats>),
) -> Option<Arc<crate::ipfix::IpfixStats>> {
    start_sharing(cfg, hostname, underlay, handle, ctx, tables, parts).0
}

/// [`start`], also handing back the collector's bounded queue (when there is a
/// collector), for other samples to share its sender and connection.
#[allow(clippy::too_many_arguments)]
pub fn start_sharing(
    cfg: FlowExportConfig,
    hostname: String,
    underlay: Ipv4Addr,
    handle: RunnerHandle,
    ctx: Arc<ArcSwap<FlowContext>>,
    tables: Option<Dataplane>,
    (log, stats): (Arc<DecisionLog>, Arc<ExportStats>),
) -> (
    Option<Arc<crate::ipfix::IpfixStats>>,
    Option<SyncSender<Outbound>>,
) {
    RULES_WANTED.store(true, Ordering::Relaxed);
    let tx = cfg.collector.map(|to| {
        let (tx, rx): (SyncSender<Outbound>, _) = sync_channel(cfg.queue.max(1));
        let st = stats.clone();
        std::thread::Builder::new()
            .name("cirrus-flow-send".into())
            .spawn(move || crate::export_sender::sender(rx, to, st))
            .expect("spawning the flow export sender");
        tx
    });
    let ipfix = if cfg.ipfix.is_empty() {
        None
    } else {
        match crate::ipfix::start(crate::ipfix::IpfixConfig {
            collectors: cfg.ipfix.clone(),
            domain: u32::from(underlay),
            queue: cfg.queue,
        }) {
            Ok(sink) => Some(sink),
            Err(e) => {
                tracing::error!(error = %e, "ipfix export not started");
                None
            }
        }
    };
    let ipfix_stats = ipfix.as_ref().map(|s| s.stats.clone());
    let shared = tx.clone();
    let (st, lg) = (stats.clone(), log.clone());
    std::thread::Builder::new()
        .name("cirrus-flow-export".into())
        .spawn(move || {
            let mut s = Sampler {
                hostname,
                underlay,
                tables,
                live: HashMap::new(),
                next_uuid: 0,
                seed: now_us(),
            };
            loop {
                std::thread::sleep(cfg.interval);
                let dumped_at = Instant::now();
                let Ok(dump) = handle.flows(FlowFilter::All, DUMP_LIMIT) else {
                    continue;
                };
                let flows: Vec<FlowRecord> = dump.into_iter().flat_map(|w| w.flows).collect();
                let samples = s.sample(&flows, &ctx.load(), &lg, now_us(), dumped_at);
                if samples.is_empty() {
                    continue;
                }
                let n = samples.len() as u64;
                st.samples.fetch_add(n, Ordering::Relaxed);
                let samples = Arc::new(samples);
                if let Some(sink) = &ipfix {
                    sink.offer(samples.clone());
                }
                if let Some(tx) = &tx {
                    match tx.try_send(Outbound::Sessions(samples)) {
                        Ok(()) => {}
                        Err(TrySendError::Full(_)) => {
                            st.dropped.fetch_add(n, Ordering::Relaxed);
                        }
                        Err(TrySendError::Disconnected(_)) => return,
                    }
                }
            }
        })
        .expect("spawning the flow export sampler");
    (ipfix_stats, shared)
}

#[cfg(test)]
#[path = "flow_export_tests.rs"]
mod tests;
