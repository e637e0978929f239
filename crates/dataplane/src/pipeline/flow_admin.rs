//! The agent's view of a worker's flows and its changes to them, between batches: records
//! for introspect (with the interface each flow leaves by, resolved against the current
//! tables) and deletion of the flow pairs a filter selects (policy changed, interface
//! removed, flush). The next packet of a deleted flow misses and is decided again.

use super::Worker;
use crate::drop::DropReason;
use crate::flow::{FlowKey, FlowRecord};
use crate::tables::{IfIndex, Nexthop, Tables};

/// The interface nexthop `nh` sends on, if it sends on one.
fn nexthop_interface(t: &Tables, nh: u32) -> Option<IfIndex> {
    match t.nexthop(nh)? {
        Nexthop::Encap { ifindex, .. } | Nexthop::Receive { ifindex } => Some(*ifindex),
        Nexthop::Tunnel { fabric_if, .. } => Some(*fabric_if),
        _ => None,
    }
}

impl Worker {
    /// Records of this worker's live flow entries (both directions, in slab order) that
    /// `filter` accepts: how many matched in all, and the first `limit` of them.
    pub fn flow_records(
        &self,
        mut filter: impl FnMut(&FlowRecord) -> bool,
        limit: usize,
    ) -> (usize, Vec<FlowRecord>) {
        let t = self.dp.load();
        let mut out = Vec::new();
        let mut matched = 0;
        for (idx, _) in self.flows.iter() {
            let Some(r) = self.record_in(&t, idx) else {
                continue;
            };
            if filter(&r) {
                matched += 1;
                if out.len() < limit {
                    out.push(r);
                }
            }
        }
        (matched, out)
    }

    /// Deletes every flow pair one of whose entries `filter` accepts, dropping (and
    /// counting as [`DropReason::FlowDenied`]) the packets parked on them. Returns the
    /// entries removed (index and key), for callers that keep state per flow.
    pub fn delete_flows(
        &mut self,
        mut filter: impl FnMut(&FlowRecord) -> bool,
    ) -> Vec<(u32, FlowKey)> {
        let t = self.dp.load();
        let chosen: Vec<u32> = self
            .flows
            .iter()
            .map(|(idx, _)| idx)
            .filter(|&idx| self.record_in(&t, idx).is_some_and(|r| filter(&r)))
            .collect();
        let mut gone = Vec::new();
        for idx in chosen {
            // Gone already when it was the partner of an earlier choice.
            let Some(rev) = self.flows.get(idx).map(|e| e.rev) else {
                continue;
            };
            for i in [idx, rev] {
                if let Some(e) = self.flows.remove(i) {
                    gone.push((i, e.key));
                }
                self.drop_parked(i);
            }
        }
        gone
    }

    /// Forgets every flow, parked packet, upcall, queued copy, fragment record and
    /// counter, keeping the allocations: afterwards the worker behaves as a new one over
    /// the same tables (a fuzzer or a test reusing one worker across cases needs this).
    pub fn reset(&mut self) {
        self.flows.clear();
        self.drops = Default::default();
        self.stats = Default::default();
        self.if_stats.clear();
        self.rerun = false;
        self.upcalls.clear();
        self.parked.clear();
        self.extra.clear();
        self.frags = super::FragTable::new(self.cfg.max_fragments);
        self.steer_frags = super::FragTable::new(self.cfg.max_fragments);
    }

    fn record_in(&self, t: &Tables, idx: u32) -> Option<FlowRecord> {
        let mut r = self.flows.record(idx)?;
        if r.nexthop != 0 {
            r.out_interface = nexthop_interface(t, r.nexthop);
        }
        Some(r)
    }

    /// Drops the packets parked on entry `idx` (gone), counting them.
    pub(super) fn drop_parked(&mut self, idx: u32) {
        if let Some(p) = self.parked.remove(&idx) {
            for _ in p {
                self.drops.count(DropReason::FlowDenied);
            }
        }
    }
}
