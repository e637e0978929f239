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
    /// Fat-flow rules: connections matching one share a single flow (the client port is
    /// ignored), which keeps the flow count of busy services bounded.
    pub fat_flows: Vec<FatFlow>,
}

/// A fat-flow rule: all connections of `proto` to (or replies from) `port` on the
/// workload's side aggregate into one flow per address pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FatFlow {
    pub proto: u8,
    pub port: u16,
}

impl Interface {
    #[inline]
    pub fn vrf(&self) -> Option<u16> {
        match self.kind {
            InterfaceKind::Virtual { vrf, .. } => Some(vrf),
            _ => None,
        }
    }
    /// Ports of a flow key after fat-flow aggregation: the port that is not the service
    /// port is zeroed when a rule matches either direction.
    #[inline]
    pub fn fat_ports(&self, proto: u8, sport: u16, dport: u16) -> (u16, u16) {
        for f in &self.fat_flows {
            if f.proto == proto {
                if f.port == dport {
                    return (0, dport);
                }
                if f.port == sport {
                    return (sport, 0);
                }
            }
        }
        (sport, dport)
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
