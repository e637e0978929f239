//! The UVEs of the controller's own nodes, fed in-process by the controller (the analytics
//! role runs in the same binary): the control node (`control-node`, Contrail's
//! `BgpRouterState`), the config node (`config-node`, `ModuleCpuState` and `NodeStatus`)
//! and each BGP peer of the control node (`bgp-peer`, `BgpPeerInfoData`, `PeerStatsData`,
//! `PeerFlapData`). The controller sends a whole [`NodeSnapshot`] every few seconds; this
//! module keeps what a snapshot alone cannot tell: when each peer's state last changed and
//! since when not every configured peer has been up (the BGP connectivity alarm's time).
//!
//! A bgp-peer's key is Contrail's `<routing instance>:<this control node>:<peer>`, the peer
//! named by its bgp-router's fq_name: `default-domain:default-project:ip-fabric:__default__:
//! cn1:default-domain:default-project:ip-fabric:__default__:gw`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// One BGP peer as the control node sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BgpPeerFeed {
    /// The routing instance the peering is in (the fabric's, for bgp-routers).
    pub instance: String,
    /// This control node's name (its hostname).
    pub local: String,
    /// The peer's bgp-router fq_name (its address when no bgp-router names it).
    pub peer: String,
    pub peer_address: String,
    pub peer_port: u16,
    pub peer_asn: u32,
    pub local_asn: u32,
    /// This node's and the peer's BGP identifiers (the peer's once it opened).
    pub local_id: u32,
    pub peer_id: Option<u32>,
    /// `control-node`, `router`, ...
    pub router_type: String,
    pub passive: bool,
    pub hold_time: u32,
    pub configured_families: Vec<String>,
    pub negotiated_families: Vec<String>,
    /// The RFC 4271 state name: `Idle`, `Connect`, `Active`, `OpenSent`, `OpenConfirm`,
    /// `Established`.
    pub state: String,
    pub flap_count: u64,
    pub last_error: Option<String>,
    /// Destinations with a path from the peer, and those whose best path is the peer's.
    pub prefixes_received: u64,
    pub prefixes_accepted: u64,
    pub prefixes_advertised: u64,
    pub updates_received: u64,
    pub updates_sent: u64,
}

impl BgpPeerFeed {
    /// Contrail's UVE key of the peer (`BgpPeer::ToUVEKey`).
    pub fn key(&self) -> String {
        format!("{}:{}:{}", self.instance, self.local, self.peer)
    }

    pub fn established(&self) -> bool {
        self.state == "Established"
    }
}

/// The control node's own state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ControlNodeFeed {
    pub name: String,
    pub router_id: String,
    pub local_asn: u32,
    pub global_asn: u32,
    pub bgp_router_ip_list: Vec<String>,
    /// When the control node started (µs since the epoch).
    pub started_us: i64,
    /// Vrouter channel sessions known, and those established.
    pub num_xmpp_peer: u32,
    pub num_up_xmpp_peer: u32,
    pub num_routing_instance: u32,
}

/// The config node's own state: the API's counters and the store's status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigNodeFeed {
    pub name: String,
    pub config_node_ip: Vec<String>,
    /// `redb` or `etcd`, where it is, and whether it answered the last probe.
    pub store_kind: String,
    pub store_addrs: Vec<String>,
    pub store_up: bool,
    pub store_error: Option<String>,
    pub objects: u64,
    pub index_revision: i64,
    pub api_requests: u64,
    pub api_client_errors: u64,
    pub api_server_errors: u64,
    pub store_txn_committed: u64,
    pub store_txn_conflict: u64,
    pub store_txn_error: u64,
}

/// What the controller sends each time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeSnapshot {
    pub control: Option<ControlNodeFeed>,
    pub config: Option<ConfigNodeFeed>,
    pub peers: Vec<BgpPeerFeed>,
}

/// A peer with its state history.
#[derive(Debug, Clone)]
pub struct PeerState {
    pub feed: BgpPeerFeed,
    pub last_state: Option<String>,
    pub last_state_at_us: i64,
    pub flap_time_us: Option<i64>,
}

/// What the node UVEs are rendered from.
#[derive(Debug, Clone, Default)]
pub struct NodeState {
    pub control: Option<ControlNodeFeed>,
    pub config: Option<ConfigNodeFeed>,
    pub peers: BTreeMap<String, PeerState>,
    /// Since when some configured peer is not Established (None: all are, or none exist).
    pub peers_down_since_us: Option<i64>,
}

impl NodeState {
    /// Takes a new snapshot at `now_us`; peers it no longer lists are gone (unconfigured).
    pub fn update(&mut self, snap: NodeSnapshot, now_us: i64) {
        self.control = snap.control;
        self.config = snap.config;
        let mut peers = BTreeMap::new();
        for feed in snap.peers {
            let key = feed.key();
            let st = match self.peers.remove(&key) {
                Some(mut old) => {
                    if old.feed.state != feed.state {
                        old.last_state = Some(old.feed.state.clone());
                        old.last_state_at_us = now_us;
                    }
                    if feed.flap_count > old.feed.flap_count {
                        old.flap_time_us = Some(now_us);
                    }
                    old.feed = feed;
                    old
                }
                None => PeerState {
                    feed,
                    last_state: None,
                    last_state_at_us: now_us,
                    flap_time_us: None,
                },
            };
            peers.insert(key, st);
        }
        self.peers = peers;
        let all_up = self.peers.values().all(|p| p.feed.established());
        self.peers_down_since_us = match (all_up, self.peers_down_since_us) {
            (true, _) => None,
            (false, Some(t)) => Some(t),
            (false, None) => Some(now_us),
        };
    }

    /// The keys of the peers not Established.
    pub fn peers_down(&self) -> Vec<&str> {
        self.peers
            .iter()
            .filter(|(_, p)| !p.feed.established())
            .map(|(k, _)| k.as_str())
            .collect()
    }
}

/// Contrail's `build_info`: a JSON string.
fn build_info(module: &str) -> String {
    json!({ "build-info": [{
        "build-version": env!("CARGO_PKG_VERSION"),
        "build-id": "cirrus",
        "build-module": module,
    }]})
    .to_string()
}

fn node_status(module: &str, connections: Vec<Value>) -> Value {
    let down: Vec<String> = connections
        .iter()
        .filter(|c| c["status"] != "Up")
        .map(|c| {
            let field = |f: &str| c[f].as_str().unwrap_or("").to_string();
            format!("{} {} connection down", field("type"), field("name"))
        })
        .collect();
    let up = down.is_empty();
    json!({
        "process_status": [{
            "module_id": module,
            "instance_id": "0",
            "state": if up { "Functional" } else { "Non-Functional" },
            "description": (!up).then(|| down.join(", ")),
            "connection_infos": connections,
        }],
    })
}

/// The control-node UVE (`BgpRouterState`, `NodeStatus`; alarms are added by the caller).
pub fn control_node(n: &NodeState, name: &str) -> Option<Value> {
    let c = n.control.as_ref().filter(|c| c.name == name)?;
    let keys: Vec<&String> = n.peers.keys().collect();
    let up = n.peers.values().filter(|p| p.feed.established()).count();
    Some(json!({
        "BgpRouterState": {
            "router_id": c.router_id,
            "local_asn": c.local_asn,
            "global_asn": c.global_asn,
            "admin_down": false,
            "uptime": c.started_us,
            "num_bgp_peer": keys.len(),
            "num_up_bgp_peer": up,
            "num_deleting_bgp_peer": 0,
            "num_bgpaas_peer": 0,
            "num_up_bgpaas_peer": 0,
            "num_xmpp_peer": c.num_xmpp_peer,
            "num_up_xmpp_peer": c.num_up_xmpp_peer,
            "num_deleting_xmpp_peer": 0,
            "num_routing_instance": c.num_routing_instance,
            "build_info": build_info("contrail-control"),
            "bgp_router_ip_list": c.bgp_router_ip_list,
            "bgp_config_peer_list": keys,
            "bgp_oper_peer_list": keys,
        },
        "NodeStatus": node_status("contrail-control", vec![json!({
            "type": "Database",
            "name": "Config",
            "server_addrs": [],
            "status": "Up",
            "description": "the API's config index, in process",
        })]),
    }))
}

/// The config-node UVE (`ModuleCpuState`, `NodeStatus`, and the API's counters in
/// `CirrusApiStats`, Cirrus's own: Contrail keeps them in a stats table).
pub fn config_node(n: &NodeState, name: &str) -> Option<Value> {
    let c = n.config.as_ref().filter(|c| c.name == name)?;
    Some(json!({
        "ModuleCpuState": {
            "build_info": build_info("contrail-api"),
            "config_node_ip": c.config_node_ip,
        },
        "NodeStatus": node_status("contrail-api", vec![json!({
            "type": "Database",
            "name": c.store_kind,
            "server_addrs": c.store_addrs,
            "status": if c.store_up { "Up" } else { "Down" },
            "description": c.store_error.clone().unwrap_or_else(|| "Established".into()),
        })]),
        "CirrusApiStats": {
            "requests": c.api_requests,
            "client_errors": c.api_client_errors,
            "server_errors": c.api_server_errors,
            "objects": c.objects,
            "index_revision": c.index_revision,
            "store_transactions": {
                "committed": c.store_txn_committed,
                "conflict": c.store_txn_conflict,
                "error": c.store_txn_error,
            },
        },
    }))
}

/// The bgp-peer UVE (`BgpPeerInfoData`, `PeerStatsData`, `PeerFlapData`).
pub fn bgp_peer(n: &NodeState, key: &str) -> Option<Value> {
    let p = n.peers.get(key)?;
    let f = &p.feed;
    let flap_info = json!({ "flap_count": f.flap_count, "flap_time": p.flap_time_us });
    let updates = |total: u64| json!({ "total": total });
    Some(json!({
        "BgpPeerInfoData": {
            "admin_down": false,
            "passive": f.passive,
            "router_type": f.router_type,
            "peer_type": if f.peer_asn == f.local_asn { "internal" } else { "external" },
            "peer_address": f.peer_address,
            "local_asn": f.local_asn,
            "peer_asn": f.peer_asn,
            "peer_port": f.peer_port,
            "hold_time": f.hold_time,
            "local_id": f.local_id,
            "peer_id": f.peer_id,
            "configured_families": f.configured_families,
            "families": f.configured_families,
            "negotiated_families": f.negotiated_families,
            "flap_info": flap_info,
            "state_info": {
                "state": f.state,
                "last_state": p.last_state,
                "last_state_at": p.last_state_at_us,
            },
            "close_reason": f.last_error,
            "peer_stats_info": {
                "rx_update_stats": updates(f.updates_received),
                "tx_update_stats": updates(f.updates_sent),
                "rx_route_stats": {
                    "total_path_count": f.prefixes_received,
                    "primary_path_count": f.prefixes_accepted,
                },
                "tx_route_stats": { "total_path_count": f.prefixes_advertised },
            },
        },
        "PeerStatsData": {
            "encoding": "BGP",
            "raw_rx_update_stats": updates(f.updates_received),
            "raw_tx_update_stats": updates(f.updates_sent),
        },
        "PeerFlapData": { "encoding": "BGP", "flap_info": flap_info },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(name: &str, state: &str) -> BgpPeerFeed {
        BgpPeerFeed {
            instance: "ri".into(),
            local: "cn1".into(),
            peer: name.into(),
            state: state.into(),
            ..Default::default()
        }
    }

    #[test]
    fn state_changes_and_the_down_time_are_kept() {
        let mut n = NodeState::default();
        let snap = |s: &str| NodeSnapshot {
            peers: vec![peer("gw", s)],
            ..Default::default()
        };
        n.update(snap("Active"), 10);
        assert_eq!(n.peers_down_since_us, Some(10));
        n.update(snap("Active"), 20);
        assert_eq!(n.peers_down_since_us, Some(10), "kept from the first");
        n.update(snap("Established"), 30);
        assert_eq!(n.peers_down_since_us, None);
        let p = &n.peers["ri:cn1:gw"];
        assert_eq!(
            (p.last_state.as_deref(), p.last_state_at_us),
            (Some("Active"), 30)
        );
        n.update(NodeSnapshot::default(), 40);
        assert!(n.peers.is_empty(), "an unconfigured peer is gone");
    }
}
