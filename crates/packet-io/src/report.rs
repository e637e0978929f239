//! What a [`crate::handle::RunnerHandle`] reads out of a running runner for introspect,
//! and how it names the flows to read or delete: per-worker reports (ports, packet and
//! drop counters, per-interface counters, flow-table fill), flow records, and
//! [`FlowFilter`].

use crate::device::DeviceCounters;
use cirrus_dataplane::drop::DropCounters;
use cirrus_dataplane::flow::FlowRecord;
use cirrus_dataplane::pipeline::{IfCounters, WorkerStats};
use cirrus_dataplane::tables::IfIndex;
use std::sync::Arc;

/// Which flows a dump or a deletion takes. A deletion takes a flow's both directions
/// when either entry matches.
#[derive(Clone)]
pub enum FlowFilter {
    /// Every flow (flush).
    All,
    /// Flows set up by traffic of this interface (the interface they count against), or
    /// whose pinned nexthop sends on it.
    Interface(IfIndex),
    /// Flows keyed in this VRF, or routed into it after the flow (a floating IP's
    /// network): what a policy change on the network's routing instance touches.
    Vrf(u16),
    /// Any test of the record (runs on the worker thread, between batches).
    Matching(Arc<dyn Fn(&FlowRecord) -> bool + Send + Sync>),
}

impl FlowFilter {
    /// A filter from a closure.
    pub fn matching(f: impl Fn(&FlowRecord) -> bool + Send + Sync + 'static) -> Self {
        Self::Matching(Arc::new(f))
    }

    pub fn matches(&self, r: &FlowRecord) -> bool {
        match self {
            Self::All => true,
            Self::Interface(i) => r.interface == *i || r.out_interface == Some(*i),
            Self::Vrf(v) => r.key.vrf() == *v || r.dst_vrf == *v,
            Self::Matching(f) => f(r),
        }
    }
}

impl std::fmt::Debug for FlowFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::All => f.write_str("All"),
            Self::Interface(i) => write!(f, "Interface({i})"),
            Self::Vrf(v) => write!(f, "Vrf({v})"),
            Self::Matching(_) => f.write_str("Matching(..)"),
        }
    }
}

/// One worker's flow entries that a filter matched.
#[derive(Debug, Clone)]
pub struct WorkerFlows {
    pub worker: usize,
    /// How many entries matched in all.
    pub matched: usize,
    /// The first of them (slab order), at most the limit asked for.
    pub flows: Vec<FlowRecord>,
}

/// A port as its worker sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortReport {
    pub ifindex: IfIndex,
    /// The device's name.
    pub device: String,
    /// Set when the device failed: the worker stopped polling and sending on it (its
    /// other ports carry on) until the port is removed.
    pub error: Option<String>,
    /// What the device counted (frames, and the ones it dropped and why).
    pub counters: DeviceCounters,
}

/// One worker's state and counters.
#[derive(Debug, Clone)]
pub struct WorkerReport {
    pub worker: usize,
    /// The ports it polls and sends on.
    pub ports: Vec<PortReport>,
    pub stats: WorkerStats,
    pub drops: DropCounters,
    /// Counters of the packets this worker processed, per interface (non-zero only).
    pub interfaces: Vec<(IfIndex, IfCounters)>,
    /// Live flow entries (two per decided flow) and the table's capacity.
    pub flows: usize,
    pub flow_capacity: u32,
    /// Packets parked on held flows.
    pub parked: usize,
    /// NAT'd reverse hashes steered to another worker than their hash names.
    pub steering_entries: usize,
    /// Agent-originated frames (injected, trap replies) this worker sent.
    pub injected: u64,
    /// Frames for a port no worker owns or whose device failed (dropped).
    pub unrouted: u64,
}

/// Every worker's report, and the runner-wide handoff losses.
#[derive(Debug, Clone)]
pub struct RunnerReport {
    pub workers: Vec<WorkerReport>,
    /// Packets and messages dropped because a worker's handoff queue was full.
    pub handoff_lost: u64,
}

impl RunnerReport {
    /// Drop counters summed over the workers.
    pub fn drops(&self) -> DropCounters {
        let mut d = DropCounters::default();
        for w in &self.workers {
            d.merge(&w.drops);
        }
        d
    }

    /// Per-interface counters summed over the workers (a port's packets may be processed
    /// by any worker: the one that owns their flow), by interface index.
    pub fn interface_counters(&self) -> Vec<(IfIndex, IfCounters)> {
        let mut out: Vec<(IfIndex, IfCounters)> = Vec::new();
        for w in &self.workers {
            for (i, c) in &w.interfaces {
                let at = match out.binary_search_by_key(i, |x| x.0) {
                    Ok(at) => at,
                    Err(at) => {
                        out.insert(at, (*i, IfCounters::default()));
                        at
                    }
                };
                let s = &mut out[at].1;
                s.rx_packets += c.rx_packets;
                s.rx_bytes += c.rx_bytes;
                s.tx_packets += c.tx_packets;
                s.tx_bytes += c.tx_bytes;
                s.drops += c.drops;
            }
        }
        out
    }

    /// Worker packet counters summed.
    pub fn totals(&self) -> WorkerStats {
        let mut t = WorkerStats::default();
        for w in &self.workers {
            let s = &w.stats;
            t.rx += s.rx;
            t.tx += s.tx;
            t.trapped += s.trapped;
            t.held += s.held;
            t.flow_hits += s.flow_hits;
            t.flow_misses += s.flow_misses;
        }
        t
    }
}
