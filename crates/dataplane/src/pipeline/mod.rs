//! The per-packet pipeline. A [`Worker`] owns its flow table, counters and parked
//! packets, and reads the forwarding tables from a snapshot loaded once per batch (no lock
//! shared with other cores). Each packet ends in one [`Disposition`]; extra copies
//! (flooding, mirroring) are queued for the caller to send.

mod egress;
mod fabric;
mod fast;
mod flow_admin;
mod flow_stage;
mod forward;
mod frag;
pub mod icmp_error;
mod nat;
pub mod parse;
pub mod steer;
mod warm;
mod workload;

pub use egress::entropy_port;

use crate::control::Dataplane;
use crate::drop::{DropCounters, DropReason};
use crate::flow::{FlowConfig, FlowDecision, FlowError, FlowTable, FlowVerdict, Upcall};
use crate::hash::FastMap;
use crate::packet::PacketBuf;
use crate::tables::{IfIndex, InterfaceKind, Tables};
pub use frag::FragTable;

/// Why a packet goes to the agent instead of being forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapReason {
    Arp,
    Dhcp,
    Ndisc,
    /// Addressed to the vRouter host itself (not overlay): goes to the host interface.
    Host,
    /// A routed packet from a workload whose TTL (IPv6 hop limit) would reach 0 here: the
    /// agent answers with ICMP(v6) time exceeded from the network's gateway address, as
    /// Contrail's agent does for the vRouter's ICMP-error trap (traceroute through the
    /// vRouter shows that hop). The packet is not forwarded.
    TtlExpired,
}

/// What became of one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Send the (rewritten) packet out of this interface.
    Tx(IfIndex),
    /// Dropped and counted.
    Drop(DropReason),
    /// Hand the packet to the agent (or host).
    Trap(TrapReason),
    /// Parked on a flow awaiting the agent's decision; the worker keeps it.
    Held,
    /// Replicated: the copies are in [`Worker::take_extra`]; the original is spent.
    Replicated,
}

/// Worker settings.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    pub flows: FlowConfig,
    /// Packets parked per held flow (Contrail holds a few too).
    pub hold_packets: usize,
    /// Fragment records kept.
    pub max_fragments: usize,
    /// Take the fast paths (`pipeline/fast.rs`) for established IPv4 flows. They give the
    /// same result as the general path; turning them off is for comparing the two.
    pub fast_path: bool,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            flows: FlowConfig::default(),
            hold_packets: 3,
            max_fragments: 4096,
            fast_path: true,
        }
    }
}

/// Per-worker packet counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerStats {
    pub rx: u64,
    pub tx: u64,
    pub trapped: u64,
    pub held: u64,
    pub flow_hits: u64,
    pub flow_misses: u64,
}

/// Per-interface counters kept by a worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IfCounters {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Packets received here and dropped.
    pub drops: u64,
}

/// One forwarding worker.
pub struct Worker {
    dp: Dataplane,
    cfg: WorkerConfig,
    pub flows: FlowTable,
    pub drops: DropCounters,
    pub stats: WorkerStats,
    if_stats: Vec<IfCounters>,
    /// Set while parked packets are re-run: they were counted as received already.
    rerun: bool,
    upcalls: Vec<Upcall>,
    parked: FastMap<u32, Vec<(IfIndex, PacketBuf)>>,
    extra: Vec<(IfIndex, PacketBuf)>,
    frags: FragTable,
    /// First fragments' ports for steering ([`Self::steer_batch`]): kept apart from
    /// `frags`, which records only the fragments this worker processes.
    steer_frags: FragTable,
}

impl Worker {
    pub fn new(dp: Dataplane, cfg: WorkerConfig) -> Self {
        Self {
            dp,
            cfg,
            flows: FlowTable::new(cfg.flows),
            drops: DropCounters::default(),
            stats: WorkerStats::default(),
            if_stats: Vec::new(),
            rerun: false,
            upcalls: Vec::new(),
            parked: FastMap::default(),
            extra: Vec::new(),
            frags: FragTable::new(cfg.max_fragments),
            steer_frags: FragTable::new(cfg.max_fragments),
        }
    }

    /// Runs a batch received on `ingress`; `out[i]` receives packet i's disposition (only
    /// the first `min(pkts.len(), out.len())` packets are processed). `now` is in seconds
    /// (any epoch): the worker never reads a clock.
    pub fn process_batch(
        &mut self,
        now: u32,
        ingress: IfIndex,
        pkts: &mut [PacketBuf],
        out: &mut [Disposition],
    ) {
        let tables = self.dp.load();
        self.size_counters(&tables);
        if self.cfg.fast_path
            && !self.rerun
            && let Some(iface) = tables.interface(ingress)
            && fast::run_batch(self, &tables, now, ingress, iface, pkts, out)
        {
            return;
        }
        if pkts.len() > 1 && self.flows.len() >= warm::WARM_MIN_FLOWS {
            warm::warm_batch(self, &tables, ingress, pkts);
        }
        for (p, o) in pkts.iter_mut().zip(out.iter_mut()) {
            *o = self.process(&tables, now, ingress, p);
        }
    }

    /// Steering hashes of a batch received on `ingress` ([`steer::steer_hash_tracking`]
    /// of each packet, against one snapshot, with this worker's record of first fragments
    /// for the ports it receives on): the runner hands each packet to the worker that owns
    /// its hash. `out` is cleared first.
    pub fn steer_batch(
        &mut self,
        now: u32,
        ingress: IfIndex,
        pkts: &[PacketBuf],
        out: &mut Vec<Option<u64>>,
    ) {
        let t = self.dp.load();
        out.clear();
        let frags = &mut self.steer_frags;
        out.extend(
            pkts.iter()
                .map(|p| steer::steer_hash_tracking(&t, ingress, p.data(), frags, now)),
        );
    }

    /// Runs one packet against the given tables.
    #[inline]
    pub fn process(
        &mut self,
        t: &Tables,
        now: u32,
        ingress: IfIndex,
        pkt: &mut PacketBuf,
    ) -> Disposition {
        if !self.rerun {
            self.stats.rx += 1;
        }
        let rx_len = pkt.len() as u64;
        let iface = t.interface(ingress);
        let d = match iface.map(|i| (i, &i.kind)) {
            Some((i, InterfaceKind::Virtual { .. })) => {
                workload::ingress(self, t, now, ingress, i, pkt)
            }
            Some((_, InterfaceKind::Fabric { local_ip, .. })) => {
                fabric::ingress(self, t, now, ingress, *local_ip, pkt)
            }
            Some((_, InterfaceKind::Host | InterfaceKind::Agent)) => {
                Disposition::Drop(DropReason::HostOrAgentIngress)
            }
            None => Disposition::Drop(DropReason::UnknownInterface),
        };
        let len = pkt.len() as u64;
        self.count_outcome(ingress, rx_len, len, d)
    }

    /// Counts a packet's outcome: per interface (received on `ingress`, `rx_len` bytes;
    /// sent `tx_len` bytes when forwarded) and per worker. The fast paths count through
    /// here too, so both paths count alike.
    #[inline(always)]
    fn count(&mut self, ingress: IfIndex, rx_len: u64, tx_len: u64, d: Disposition) -> Disposition {
        self.stats.rx += 1;
        self.count_outcome(ingress, rx_len, tx_len, d)
    }

    /// Counts `n` packets received on `ingress` (`rx_bytes` in all) and all sent out of
    /// `out` (`tx_bytes`), exactly as `n` calls of [`Self::count`] would.
    #[inline(always)]
    fn count_forwarded(
        &mut self,
        ingress: IfIndex,
        out: IfIndex,
        n: u64,
        rx_bytes: u64,
        tx_bytes: u64,
    ) {
        self.stats.rx += n;
        self.stats.tx += n;
        if let Some(c) = self.if_stats.get_mut(ingress as usize) {
            c.rx_packets += n;
            c.rx_bytes += rx_bytes;
        }
        if let Some(c) = self.if_stats.get_mut(out as usize) {
            c.tx_packets += n;
            c.tx_bytes += tx_bytes;
        }
    }

    /// [`Self::count`] without the worker's receive count (done by the caller, which
    /// knows whether the packet is a re-run).
    #[inline(always)]
    fn count_outcome(
        &mut self,
        ingress: IfIndex,
        rx_len: u64,
        tx_len: u64,
        d: Disposition,
    ) -> Disposition {
        let rerun = self.rerun;
        // Sized by `size_counters` for every interface of `t` (before each batch and each
        // re-run): plain indexed access here.
        if let Some(c) = self.if_stats.get_mut(ingress as usize) {
            c.rx_packets += !rerun as u64;
            c.rx_bytes += if rerun { 0 } else { rx_len };
            c.drops += matches!(d, Disposition::Drop(_)) as u64;
        }
        if let Disposition::Tx(out) = d
            && let Some(c) = self.if_stats.get_mut(out as usize)
        {
            c.tx_packets += 1;
            c.tx_bytes += tx_len;
        }
        self.account(d)
    }

    /// Makes room for the counters of every interface of `t` (once per batch, so the
    /// per-packet counting is a bounds-checked index).
    #[inline]
    fn size_counters(&mut self, t: &Tables) {
        if self.if_stats.len() < t.interfaces.len() {
            self.if_stats
                .resize(t.interfaces.len(), IfCounters::default());
        }
    }

    /// Counters of an interface that exists in `t` (the table bounds the vector's size).
    #[inline]
    fn if_counters(&mut self, t: &Tables, i: IfIndex) -> Option<&mut IfCounters> {
        let i = i as usize;
        if i >= self.if_stats.len() {
            if i >= t.interfaces.len() {
                return None;
            }
            self.if_stats
                .resize(t.interfaces.len(), IfCounters::default());
        }
        self.if_stats.get_mut(i)
    }

    /// Per-interface counters (dump), indexed by interface index.
    pub fn interface_counters(&self) -> &[IfCounters] {
        &self.if_stats
    }

    #[inline]
    fn account(&mut self, d: Disposition) -> Disposition {
        match d {
            Disposition::Tx(_) => self.stats.tx += 1,
            Disposition::Drop(r) => self.drops.count(r),
            Disposition::Trap(_) => self.stats.trapped += 1,
            Disposition::Held => self.stats.held += 1,
            Disposition::Replicated => {}
        }
        d
    }

    /// Flow misses reported since the last call.
    pub fn take_upcalls(&mut self) -> Vec<Upcall> {
        std::mem::take(&mut self.upcalls)
    }

    /// Extra packets (flood copies, mirrors) to transmit.
    pub fn take_extra(&mut self) -> Vec<(IfIndex, PacketBuf)> {
        std::mem::take(&mut self.extra)
    }

    /// Applies the agent's decision on a held flow and releases the packets parked on it
    /// (forwarded or dropped per the decision), returning each with its disposition.
    pub fn apply_decision(
        &mut self,
        now: u32,
        d: FlowDecision,
    ) -> Result<Vec<(Disposition, PacketBuf)>, FlowError> {
        let held = self.flows.get(d.index);
        if !held.is_some_and(|e| e.key == d.key && e.verdict() == FlowVerdict::Hold) {
            return Err(FlowError::Stale(d.index));
        }
        let mut parked = self.parked.remove(&d.index).unwrap_or_default();
        // A reply that raced the agent left a hold on the reverse key; the reverse entry
        // replaces it, and its parked packets are re-run to hit that entry.
        if let Some((rk, _)) = &d.reverse
            && let Some(ri) = self.flows.lookup(rk, rk.hash())
            && let Some(p) = self.parked.remove(&ri)
        {
            parked.extend(p);
        }
        if let Err(e) = self
            .flows
            .resolve(d.index, &d.key, d.forward, d.reverse, now)
        {
            for _ in &parked {
                self.drops.count(DropReason::FlowDenied);
            }
            return Err(e);
        }
        let tables = self.dp.snapshot();
        self.size_counters(&tables);
        let mut out = Vec::with_capacity(parked.len());
        self.rerun = true;
        for (ingress, mut p) in parked {
            let disp = self.process(&tables, now, ingress, &mut p);
            out.push((disp, p));
        }
        self.rerun = false;
        Ok(out)
    }

    /// Deletes a flow and its partner (agent request), dropping packets parked on them.
    pub fn delete_flow(&mut self, idx: u32) -> Vec<crate::flow::FlowEntry> {
        let rev = self.flows.get(idx).map(|e| e.rev);
        let gone = self.flows.remove_pair(idx);
        for i in [Some(idx), rev].into_iter().flatten() {
            self.drop_parked(i);
        }
        gone
    }

    /// Ages flows (scanning up to `budget` entries) and drops packets parked on expired
    /// hold entries. Returns how many entries were removed.
    pub fn age(&mut self, now: u32, budget: usize) -> usize {
        self.age_entries(now, budget).len()
    }

    /// [`Self::age`] that also says which entries went (index and key), for callers that
    /// keep state per flow (the runner's steering map).
    pub fn age_entries(&mut self, now: u32, budget: usize) -> Vec<(u32, crate::flow::FlowKey)> {
        let gone = self.flows.age(now, budget);
        for (idx, _) in &gone {
            self.drop_parked(*idx);
        }
        gone
    }

    /// Ports of the datagram an IPv4 packet belongs to: its own, recorded when it is a
    /// first fragment, or those its first fragment recorded when it is a later one (`None`
    /// when that first fragment was not seen).
    #[inline(always)]
    fn frag_ports(&mut self, info: &parse::L3Info, now: u32) -> Option<(u16, u16)> {
        let key = || (info.src as u32, info.dst as u32, info.ident, info.proto);
        match info.frag {
            parse::Frag::None => Some((info.sport, info.dport)),
            parse::Frag::First => {
                self.frags.record(key(), info.sport, info.dport, now);
                Some((info.sport, info.dport))
            }
            parse::Frag::Later => self.frags.ports(key(), now),
        }
    }

    pub fn config(&self) -> &WorkerConfig {
        &self.cfg
    }
    /// Packets currently parked.
    pub fn parked_len(&self) -> usize {
        self.parked.values().map(|v| v.len()).sum()
    }
}
