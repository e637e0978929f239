//! Programming the forwarding pipeline from config and routes: the desired tables
//! ([`desired`]), the encapsulation towards each remote ([`encap`]), table ids
//! ([`ids`]), and applying the difference to the dataplane's `Controller` ([`apply`]).

pub mod apply;
pub mod desired;
pub mod encap;
pub mod ids;

pub use apply::{ApplyStats, Programmer};
pub use desired::{
    AGENT_IFINDEX, Desired, FABRIC_IFINDEX, FIRST_PORT_IFINDEX, Identity, Inputs, LocalPort, NhKey,
    NhSpec, VROUTER_MAC, build,
};

#[cfg(test)]
mod tests;
