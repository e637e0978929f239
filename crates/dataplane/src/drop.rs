//! Why a packet was dropped, and the per-reason counters every worker keeps. Every path
//! that does not transmit a packet ends in exactly one of these (or in a trap to the agent).

/// Drop reasons. The numeric order is stable: it indexes [`DropCounters`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DropReason {
    /// A header could not be parsed (truncated, bad length or version, bad checksum).
    Malformed,
    /// The ingress interface is not configured.
    UnknownInterface,
    /// An Ethernet type the pipeline does not forward.
    UnsupportedEthertype,
    /// 802.1Q tagged frames on a workload port (sub-interfaces are not supported yet).
    VlanTagged,
    /// Source MAC is multicast/broadcast.
    BadSourceMac,
    /// The interface's VRF does not exist.
    NoVrf,
    /// The source address does not belong to the workload (anti-spoofing).
    SourceMismatch,
    /// TTL / hop limit would reach zero.
    TtlExpired,
    /// No route for the destination.
    NoRoute,
    /// The route, label or entry points at a nexthop that does not exist.
    NoNexthop,
    /// A discard nexthop.
    Discard,
    /// No bridge entry for the destination MAC and no flood entry.
    BridgeMiss,
    /// The flow's action is drop (policy, security group).
    FlowPolicy,
    /// The flow table is full.
    FlowTableFull,
    /// The interface reached its flow limit.
    FlowLimit,
    /// Too many packets parked while the agent decides.
    FlowHoldOverflow,
    /// The agent refused the flow or never answered.
    FlowDenied,
    /// A non-first IPv4 fragment whose first fragment was not seen.
    FragmentNoFlow,
    /// Not enough headroom to add the encapsulation.
    NoHeadroom,
    /// An MPLS label the label table does not know.
    UnknownLabel,
    /// A VNI the VNI table does not know.
    UnknownVni,
    /// A nexthop kind that makes no sense on this path (e.g. tunnel after decapsulation).
    InvalidNexthop,
    /// The packet would leave through the interface it came in on.
    Loop,
    /// An ECMP nexthop without members.
    EcmpEmpty,
    /// An MPLS label stack deeper than one label.
    LabelStack,
    /// Received on the host or agent port: what they inject is sent by the runner to the
    /// interface the agent names, not routed by the pipeline.
    HostOrAgentIngress,
    /// IPv6 link-scoped multicast (ff02::/16: MLD reports, mDNS, solicitations other than
    /// neighbour discovery) from a workload: it stays on the workload's link, which the
    /// vrouter neither floods nor routes. Counted apart from spoofing, which it is not.
    LinkScopedMulticast,
}

impl DropReason {
    pub const COUNT: usize = DropReason::LinkScopedMulticast as usize + 1;
    pub const ALL: [DropReason; Self::COUNT] = [
        Self::Malformed,
        Self::UnknownInterface,
        Self::UnsupportedEthertype,
        Self::VlanTagged,
        Self::BadSourceMac,
        Self::NoVrf,
        Self::SourceMismatch,
        Self::TtlExpired,
        Self::NoRoute,
        Self::NoNexthop,
        Self::Discard,
        Self::BridgeMiss,
        Self::FlowPolicy,
        Self::FlowTableFull,
        Self::FlowLimit,
        Self::FlowHoldOverflow,
        Self::FlowDenied,
        Self::FragmentNoFlow,
        Self::NoHeadroom,
        Self::UnknownLabel,
        Self::UnknownVni,
        Self::InvalidNexthop,
        Self::Loop,
        Self::EcmpEmpty,
        Self::LabelStack,
        Self::HostOrAgentIngress,
        Self::LinkScopedMulticast,
    ];
}

/// Per-reason drop counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DropCounters([u64; DropReason::COUNT]);

impl DropCounters {
    #[inline]
    pub fn count(&mut self, r: DropReason) {
        self.0[r as usize] += 1;
    }
    pub fn get(&self, r: DropReason) -> u64 {
        self.0[r as usize]
    }
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
    /// Non-zero counters (dump).
    pub fn nonzero(&self) -> Vec<(DropReason, u64)> {
        DropReason::ALL
            .iter()
            .map(|&r| (r, self.get(r)))
            .filter(|x| x.1 > 0)
            .collect()
    }
    /// Adds another worker's counters.
    pub fn merge(&mut self, o: &DropCounters) {
        for (a, b) in self.0.iter_mut().zip(o.0.iter()) {
            *a += b;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_order() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
    }
}
