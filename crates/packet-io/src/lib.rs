//! Packet devices for the Cirrus vRouter and the runner that binds them to the
//! forwarding pipeline of `cirrus-dataplane`.
//!
//! [`Device`] is a batched receive/send interface; backends: [`memory`] (tests and
//! benches), [`af_packet`] (raw sockets on Linux interfaces, e.g. veth), [`tpacket`]
//! (the same with a TPACKET_V3 receive ring and batched sends), [`af_packet_gso`]
//! (AF_PACKET with virtio-net headers: TCP super-frames in, cut by [`gso`]; frames larger
//! than the link out as GSO frames), [`af_xdp`] (AF_XDP sockets in copy mode) and [`tap`].
//! [`runner`] runs pipeline workers over a set of devices on their own threads (flows
//! steered to workers by a symmetric hash), handing
//! flow misses and trapped packets to an [`runner::Agent`]; its [`RunnerHandle`] lets
//! the agent add and remove ports, inject frames, dump and delete flows and read the
//! counters ([`report`]) while it runs.

pub mod af_packet;
pub mod af_packet_gso;
pub mod af_xdp;
pub mod device;
pub mod gso;
pub mod handle;
mod lane;
pub mod memory;
mod ports;
pub mod report;
pub mod runner;
mod rxtx;
mod sys;
pub mod tap;
pub mod tpacket;
mod xdp_prog;

pub use device::{Device, DeviceCounters, DeviceError};
pub use handle::{HandleError, RunnerHandle};
pub use report::FlowFilter;
