//! Nexthops: what to do with a packet once a route, bridge entry, label or flow chose it.

use super::IfIndex;
use crate::wire::MacAddr;
use std::net::Ipv4Addr;

/// Nexthop id; 0 is "none" in every table.
pub type NhId = u32;

/// UDP destination port for MPLS over UDP (RFC 7510).
pub const MPLS_UDP_PORT: u16 = 6635;
/// UDP destination port for VXLAN.
pub const VXLAN_UDP_PORT: u16 = 4789;

/// Overlay encapsulation of a tunnel nexthop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelEncap {
    /// MPLS over UDP to port 6635; the source port carries the flow hash for ECMP in the
    /// underlay. Inner packet: IP without Ethernet (L3 VPN label).
    MplsOverUdp { label: u32 },
    /// MPLS over GRE (protocol 0x8847). Inner packet: IP.
    MplsOverGre { label: u32 },
    /// VXLAN to port 4789. Inner packet: the Ethernet frame. Routed packets get
    /// `inner_dmac` (the remote workload's MAC, from its EVPN route) as their inner
    /// destination and the vRouter MAC as inner source, so the far end can bridge them;
    /// bridged frames are carried unchanged.
    Vxlan { vni: u32, inner_dmac: MacAddr },
}

/// A nexthop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nexthop {
    /// Drop (counted as a discard route).
    Discard,
    /// Deliver to the vRouter itself (its host or agent port).
    Receive { ifindex: IfIndex },
    /// Send out a local interface, rewriting the Ethernet header to `dmac`/`smac`.
    Encap {
        ifindex: IfIndex,
        dmac: MacAddr,
        smac: MacAddr,
    },
    /// Send to a remote vRouter over the fabric.
    Tunnel {
        encap: TunnelEncap,
        src_ip: Ipv4Addr,
        dst_ip: Ipv4Addr,
        fabric_if: IfIndex,
        /// Underlay next-hop MAC (gateway or the peer itself).
        dmac: MacAddr,
        smac: MacAddr,
    },
    /// ECMP: one member chosen by flow hash (and pinned in the flow entry).
    Composite { members: Vec<NhId> },
    /// L2 flood list for broadcast/unknown: every member gets a copy (ingress replication).
    Flood { members: Vec<NhId> },
    /// After decapsulation: look the inner destination MAC up in this VRF's bridge table.
    VrfTranslate { vrf: u16 },
}
