//! Interfaces (Contrail's "vifs"): the workload ports, the fabric port, the host port and
//! the agent port, each with what the pipeline needs to know to accept its packets.

use crate::wire::MacAddr;
use std::net::{IpAddr, Ipv4Addr};

/// Interface index as the pipeline knows it (dense, small).
pub type IfIndex = u32;

/// What an interface connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceKind {
    /// A workload (VM/container) port in a VRF.
    Virtual {
        vrf: u16,
        /// Addresses the workload may send from (source check).
        ips: Vec<IpAddr>,
        /// Whether packets go through the flow table (policy, security groups, NAT).
        policy: bool,
    },
    /// The underlay port; `local_ip` is this vRouter's tunnel endpoint address.
    Fabric {
        local_ip: Ipv4Addr,
        gateway_mac: MacAddr,
    },
    /// The host OS stack's port (packets to the vRouter's own address that are not overlay).
    Host,
    /// The agent's port (traps go up, agent-originated packets come down).
    Agent,
}

/// One interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub ifindex: IfIndex,
    pub name: String,
    pub mac: MacAddr,
    pub kind: InterfaceKind,
    /// Most flow entries this interface's traffic may hold (0 = no limit), so one noisy
    /// workload cannot fill the host's flow table.
    pub flow_limit: u32,
}

impl Interface {
    #[inline]
    pub fn vrf(&self) -> Option<u16> {
        match self.kind {
            InterfaceKind::Virtual { vrf, .. } => Some(vrf),
            _ => None,
        }
    }
    /// Whether `ip` is one the workload was given.
    #[inline]
    pub fn owns_ip(&self, ip: IpAddr) -> bool {
        match &self.kind {
            InterfaceKind::Virtual { ips, .. } => ips.contains(&ip),
            _ => false,
        }
    }
}
