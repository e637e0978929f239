//! The Cirrus vRouter agent: it holds a session to one or two controllers over the channel
//! (`cirrus-proto`), keeps the slice of the config graph and the routes they send, programs
//! the forwarding pipeline (`cirrus-dataplane`) that `cirrus-packet-io` runs on the compute
//! node's interfaces, answers what workloads ask of their network (DHCP, ARP, ping of the
//! gateway), decides each new flow (network policy, security groups, firewall rules,
//! floating-IP NAT, ECMP), and serves Contrail's port IPC and its own introspect.

pub mod agent_port;
pub mod channel;
pub mod config;
pub mod derive;
pub mod export_sender;
pub mod fabric;
pub mod flow_context;
pub mod flow_export;
pub mod flow_setup;
pub mod flow_stats;
pub mod introspect;
mod introspect_metrics;
pub mod ipfix;
pub mod labels;
pub mod node;
pub mod oper;
pub mod pipeline_agent;
pub mod policy;
pub mod port_ipc;
pub mod program;
pub mod reevaluate;
pub mod routes;
pub mod sandesh;
mod ser;
pub mod stats_export;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod trace;
pub mod trap;
pub mod traps;
pub mod upcall_frame;
