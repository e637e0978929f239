//! The agent as the packet-io runner sees it (its `Agent`): flow misses are decided
//! against the current [`FlowContext`] (swapped in whole by the node, read here without a
//! lock), counted, and installed; trapped frames from workload ports go to the services
//! (DHCP, ARP, ping, ND) and their answers back out of the port; from the fabric only ARP
//! is looked at, to learn underlay neighbours (the node's own traffic is the kernel's).

use std::sync::Arc;

use arc_swap::ArcSwap;
use cirrus_dataplane::flow::{FlowDecision, Upcall};
use cirrus_dataplane::pipeline::TrapReason;
use cirrus_dataplane::tables::IfIndex;
use cirrus_packet_io::runner::Agent;
use tokio::sync::mpsc::UnboundedSender;

use crate::fabric::arp;
use crate::flow_context::FlowContext;
use crate::flow_setup::decide;
use crate::flow_stats::FlowStats;

/// Answers to frames workloads send the vrouter itself (DHCP, ARP, ND, ping of the
/// gateway, expired TTLs): what to send, out of which port.
pub trait WorkloadTraps: Send + Sync {
    /// `ingress` is the port it came in on (`None` for packets routed to the agent's own
    /// addresses, which name their port by source MAC).
    fn trap(
        &self,
        ingress: Option<IfIndex>,
        reason: TrapReason,
        frame: &[u8],
    ) -> Vec<(IfIndex, Vec<u8>)>;
}

/// No services: nothing is answered.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTraps;

impl WorkloadTraps for NoTraps {
    fn trap(&self, _: Option<IfIndex>, _: TrapReason, _: &[u8]) -> Vec<(IfIndex, Vec<u8>)> {
        Vec::new()
    }
}

/// An underlay neighbour seen on the fabric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FabricSeen {
    pub ip: std::net::Ipv4Addr,
    pub mac: cirrus_dataplane::wire::MacAddr,
}

/// The runner's agent.
pub struct PipelineAgent {
    pub ctx: Arc<ArcSwap<FlowContext>>,
    pub stats: Arc<FlowStats>,
    pub fabric_ifindex: IfIndex,
    pub fabric: UnboundedSender<FabricSeen>,
    pub traps: Arc<dyn WorkloadTraps>,
    /// Where decisions are noted for flow export (`None`: export off).
    pub decisions: Option<Arc<crate::flow_export::DecisionLog>>,
}

impl Agent for PipelineAgent {
    fn upcall(&mut self, up: &Upcall) -> Option<FlowDecision> {
        let ctx = self.ctx.load();
        let started = std::time::Instant::now();
        let d = decide(&ctx, up);
        self.stats
            .setup_seconds
            .observe(started.elapsed().as_secs_f64());
        self.stats.record(&d);
        if let Some(log) = &self.decisions {
            log.note(up.key, &d);
        }
        if let Some(r) = &d.refused {
            tracing::debug!(key = ?up.key, ingress = up.ingress, reason = r.reason(), refusal = ?r, "flow refused");
        }
        Some(d.decision)
    }

    fn trap(
        &mut self,
        ingress: IfIndex,
        reason: TrapReason,
        frame: &[u8],
    ) -> Vec<(IfIndex, Vec<u8>)> {
        if ingress == self.fabric_ifindex {
            if let Some((ip, mac)) = arp::sender(frame) {
                let _ = self.fabric.send(FabricSeen { ip, mac });
            }
            return Vec::new();
        }
        self.traps.trap(Some(ingress), reason, frame)
    }
}
