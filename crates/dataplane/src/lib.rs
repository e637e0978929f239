//! Cirrus vRouter forwarding pipeline: wire types, forwarding tables, the flow table and
//! the per-packet pipeline, as a pure library (no I/O, no clock, no threads). Time comes
//! in as an argument; packets come in and go out as [`packet::PacketBuf`] batches.
//!
//! Layout: [`wire`] parses and emits headers; [`tables`] holds the immutable snapshot
//! workers read; [`control`] is the agent's programming API that publishes snapshots;
//! [`flow`] is the per-worker flow table; [`pipeline`] runs packets through all of it.

pub mod control;
pub mod drop;
pub mod flow;
pub mod hash;
pub mod packet;
pub mod pipeline;
pub mod tables;
pub mod wire;
