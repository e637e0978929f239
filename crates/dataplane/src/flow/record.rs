//! A flow entry as the agent sees it for introspect and for deciding which flows to
//! delete: everything in the entry and its cold part, plus its partner's key and, when the
//! worker fills it in, the interface its packets leave by.

use super::{FlowKey, FlowTable, FlowVerdict};
use crate::tables::{IfIndex, NhId};

/// One direction of a flow, copied out of a worker's table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowRecord {
    /// Slab index in the worker's table (stable while the entry lives).
    pub index: u32,
    pub key: FlowKey,
    pub verdict: FlowVerdict,
    /// Source rewritten to the partner's destination (floating IP, SNAT).
    pub nat_src: bool,
    /// Destination rewritten to the partner's source.
    pub nat_dst: bool,
    /// The partner entry's index ([`super::table::NO_FLOW`] while held) and key.
    pub rev: u32,
    pub rev_key: Option<FlowKey>,
    /// The workload interface the flow counts against (its per-interface limit), for
    /// both directions: the one whose traffic set the flow up.
    pub interface: IfIndex,
    /// The interface the pinned nexthop sends on (a workload port, or the fabric for a
    /// tunnel), when the caller resolved it against the tables ([`crate::pipeline::Worker`]
    /// does); `None` before the first forwarded packet pinned one.
    pub out_interface: Option<IfIndex>,
    /// Pinned nexthop (0 until the first forwarded packet).
    pub nexthop: NhId,
    /// VRF the route lookup happens in after the flow.
    pub dst_vrf: u16,
    /// Mirror nexthop (0 = none).
    pub mirror: NhId,
    pub packets: u64,
    pub bytes: u64,
    /// Seconds (the worker's clock) of the last packet.
    pub last_seen: u32,
    /// TCP flags seen in this direction, OR-ed.
    pub tcp_flags: u8,
}

impl FlowTable {
    /// The record of live entry `idx` (`out_interface` left `None`).
    pub fn record(&self, idx: u32) -> Option<FlowRecord> {
        let e = self.get(idx)?;
        let c = self.cold(idx)?;
        let (packets, bytes) = self.counters(idx);
        Some(FlowRecord {
            index: idx,
            key: e.key,
            verdict: e.verdict(),
            nat_src: e.nat_src(),
            nat_dst: e.nat_dst(),
            rev: e.rev,
            rev_key: self.get(e.rev).map(|r| r.key),
            interface: c.ingress,
            out_interface: None,
            nexthop: e.nh,
            dst_vrf: e.dst_vrf,
            mirror: c.mirror,
            packets,
            bytes,
            last_seen: e.last_seen,
            tcp_flags: e.tcp_flags(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{FlowConfig, FlowSpec};
    use crate::wire::IpProtocol;

    #[test]
    fn record_copies_the_entry_its_partner_and_counters() {
        let mut t = FlowTable::new(FlowConfig::default());
        let k = FlowKey::new(
            3,
            IpProtocol::TCP,
            [10, 0, 0, 1].into(),
            [10, 0, 0, 2].into(),
            1000,
            80,
        );
        let nat = FlowSpec {
            nat_src: true,
            mirror: 9,
            ..FlowSpec::forward(4)
        };
        let (f, r) = t
            .install_pair(k, nat, k.reversed(4), FlowSpec::drop(), 7, 0, 10)
            .unwrap();
        t.touch(f, 100, None, 11);
        t.pin_nexthop(f, 5);
        let rec = t.record(f).unwrap();
        assert_eq!(
            rec,
            FlowRecord {
                index: f,
                key: k,
                verdict: FlowVerdict::Forward,
                nat_src: true,
                nat_dst: false,
                rev: r,
                rev_key: Some(k.reversed(4)),
                interface: 7,
                out_interface: None,
                nexthop: 5,
                dst_vrf: 4,
                mirror: 9,
                packets: 1,
                bytes: 100,
                last_seen: 11,
                tcp_flags: 0,
            }
        );
        assert_eq!(t.record(r).unwrap().verdict, FlowVerdict::Drop);
        t.remove_pair(f);
        assert_eq!(t.record(f), None);
    }
}
