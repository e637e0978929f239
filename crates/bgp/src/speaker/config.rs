//! Speaker configuration (what the controller derives from bgp-router objects) and the
//! neighbor view for introspection.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::types::Family;

/// Contrail's bgp-router `router_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouterType {
    /// Another Cirrus/Contrail control node (iBGP full mesh).
    #[default]
    ControlNode,
    /// A physical router / DC gateway.
    Router,
    /// A control node of another cluster.
    ExternalControlNode,
}

/// One BGP neighbor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerConfig {
    pub address: IpAddr,
    /// The peer's TCP port (179 unless several speakers share a host).
    pub port: u16,
    pub asn: u32,
    pub families: Vec<Family>,
    /// Proposed hold time in seconds; `None` uses the speaker default.
    pub hold_time: Option<u16>,
    /// TCP-MD5 (RFC 2385) key.
    pub md5_key: Option<String>,
    pub router_type: RouterType,
    /// Only accept connections from this peer, never connect out.
    pub passive: bool,
    /// Route-reflector client (needs `SpeakerConfig::cluster_id`).
    pub rr_client: bool,
}

impl PeerConfig {
    /// A neighbor with the usual Contrail families and defaults.
    pub fn new(address: IpAddr, asn: u32) -> PeerConfig {
        PeerConfig {
            address,
            port: 179,
            asn,
            families: vec![
                Family::InetVpn,
                Family::Inet6Vpn,
                Family::Evpn,
                Family::RouteTarget,
            ],
            hold_time: None,
            md5_key: None,
            router_type: RouterType::ControlNode,
            passive: false,
            rr_client: false,
        }
    }
}

/// The whole speaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeakerConfig {
    pub router_id: Ipv4Addr,
    pub asn: u32,
    /// Address and port to listen on; outbound connections use this address as source.
    pub listen: SocketAddr,
    pub hold_time: u16,
    /// Restart time advertised in the graceful restart capability; `None` disables GR.
    pub graceful_restart: Option<u16>,
    /// Long-lived GR stale time advertised (RFC 9494); `None` disables LLGR.
    pub llgr_stale_time: Option<u32>,
    /// Seconds between connection attempts.
    pub connect_retry: u32,
    /// Route reflection cluster id; `None` keeps the iBGP full-mesh rules.
    pub cluster_id: Option<Ipv4Addr>,
    pub peers: Vec<PeerConfig>,
}

impl SpeakerConfig {
    pub fn new(router_id: Ipv4Addr, asn: u32, listen: SocketAddr) -> SpeakerConfig {
        SpeakerConfig {
            router_id,
            asn,
            listen,
            hold_time: 90,
            graceful_restart: Some(120),
            llgr_stale_time: None,
            connect_retry: 5,
            cluster_id: None,
            peers: Vec::new(),
        }
    }
}

/// A neighbor as `GET /bgp/neighbors` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NeighborInfo {
    pub address: IpAddr,
    pub port: u16,
    pub asn: u32,
    pub router_type: RouterType,
    pub state: crate::session::State,
    pub router_id: Option<Ipv4Addr>,
    pub families: Vec<Family>,
    pub prefixes_received: usize,
    pub prefixes_accepted: usize,
    pub prefixes_advertised: usize,
    /// The same three counts per address family.
    pub prefixes_by_family: Vec<crate::rib::FamilyPrefixes>,
    pub uptime_secs: Option<u64>,
    pub flaps: u32,
    pub last_error: Option<String>,
    /// UPDATE messages received / sent, and ROUTE-REFRESH requests received.
    pub updates_received: u64,
    pub updates_sent: u64,
    pub refreshes_received: u64,
    /// The peer's graceful-restart capability in the current session (restart time, per-family
    /// forwarding-state bits).
    pub graceful_restart: Option<crate::message::GracefulRestart>,
}
