//! The flow table: forward and reverse entries paired, their actions, counters and TCP
//! state, idle ageing and per-interface limits. One table per worker, owned by it
//! (`&mut self`), so the hot path shares nothing with other cores; the agent's decisions
//! reach a worker as [`FlowDecision`]s applied between batches.

pub mod key;
pub mod record;
pub mod table;

pub use key::FlowKey;
pub use record::FlowRecord;
pub use table::{
    FlowCold, FlowConfig, FlowEntry, FlowError, FlowHit, FlowSpec, FlowTable, FlowVerdict,
    MAX_PROTO_TIMEOUTS, ProtoTimeout,
};

use crate::tables::IfIndex;

/// The agent's answer to an upcall: how to treat the held flow and its reply direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowDecision {
    /// The held forward entry (from the upcall).
    pub index: u32,
    /// Its key, checked so a stale decision never lands on a reused entry.
    pub key: FlowKey,
    pub forward: FlowSpec,
    /// The reverse entry to pair with it (key after NAT), when the flow is allowed.
    pub reverse: Option<(FlowKey, FlowSpec)>,
}

/// A flow miss reported to the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upcall {
    /// Index of the hold entry created for the flow.
    pub index: u32,
    pub key: FlowKey,
    pub ingress: IfIndex,
    /// A copy of the first packet.
    pub frame: Vec<u8>,
}
