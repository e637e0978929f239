//! The controller's own nodes in the analytics role's UVEs, fed in process every few
//! seconds: the control node (its bgp-router, the vrouter channel's sessions, the routing
//! instances), each BGP peer (the speaker's neighbour list, named by the bgp-router whose
//! address it is) and the config node (the API's request counters, the store's
//! transactions and whether it answers).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use cirrus_analytics::node_uve::{BgpPeerFeed, ConfigNodeFeed, ControlNodeFeed, NodeSnapshot};
use cirrus_analytics::uve::Uves;
use cirrus_api::ApiState;
use cirrus_bgp::session::State;
use cirrus_bgp::speaker::Speaker;
use cirrus_control::bgp_config::FABRIC_INSTANCE;
use cirrus_control::channel::HubHandle;
use cirrus_store::Store;
use serde_json::Value;

use crate::metered_store::StoreMetrics;
use crate::metrics::Metrics;

/// How long the store may take to answer the status probe.
const PROBE: Duration = Duration::from_secs(2);

/// The control node's parts the feed reads.
pub struct ControlSources {
    pub speaker: Speaker,
    pub hub: Option<Arc<HubHandle>>,
    pub bgp_listen: SocketAddr,
}

/// The config node's parts the feed reads.
pub struct ConfigSources {
    pub store: Arc<dyn Store>,
    pub store_kind: String,
    pub store_addrs: Vec<String>,
    pub store_metrics: Arc<StoreMetrics>,
    pub metrics: Arc<Metrics>,
    pub api_listen: SocketAddr,
}

/// Everything the feed reads.
pub struct Sources {
    pub hostname: String,
    pub state: Arc<ApiState>,
    pub control: Option<ControlSources>,
    pub config: Option<ConfigSources>,
}

/// Feeds `uves` every `every` until the process ends.
pub fn spawn(src: Sources, uves: Arc<Uves>, every: Duration) -> tokio::task::JoinHandle<()> {
    let started_us = cirrus_analytics::now_us();
    tokio::spawn(async move {
        loop {
            uves.update_nodes(snapshot(&src, started_us).await);
            tokio::time::sleep(every).await;
        }
    })
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

async fn snapshot(src: &Sources, started_us: i64) -> NodeSnapshot {
    let mut snap = NodeSnapshot::default();
    if let Some(c) = &src.control {
        let (control, peers) = control_node(src, c, started_us).await;
        snap.control = Some(control);
        snap.peers = peers;
    }
    if let Some(c) = &src.config {
        snap.config = Some(config_node(src, c).await);
    }
    snap
}

async fn control_node(
    src: &Sources,
    c: &ControlSources,
    started_us: i64,
) -> (ControlNodeFeed, Vec<BgpPeerFeed>) {
    let neighbors = c.speaker.neighbors().await.unwrap_or_default();
    let vrouters = match &c.hub {
        Some(h) => h.vrouters().await.unwrap_or(Value::Null),
        None => Value::Null,
    };
    let vrouters = vrouters["vrouters"].as_array().cloned().unwrap_or_default();
    let index = src.state.index();
    let speaker = cirrus_control::bgp_config::speaker(&index, &src.hostname);
    let global_asn = cirrus_control::bgp_config::global_asn(&index);
    let local_asn = speaker.as_ref().map_or(global_asn, |s| s.asn);
    let router_id = speaker.as_ref().map_or_else(
        || c.bgp_listen.ip().to_string(),
        |s| s.router_id.to_string(),
    );
    let hold_time = speaker.as_ref().map_or(90, |s| s.hold_time);
    let local_id = speaker.as_ref().map_or(0, |s| u32::from(s.router_id));
    let configured = speaker.map(|s| s.peers).unwrap_or_default();
    // The bgp-router each peer address belongs to.
    let by_address: Vec<(IpAddr, String)> = index
        .of_type("bgp-router")
        .filter_map(|o| {
            let p = o.body.get("bgp_router_parameters")?;
            let a = text(p, "address")?.parse().ok()?;
            Some((a, o.fq_str.clone()))
        })
        .collect();
    let control = ControlNodeFeed {
        name: src.hostname.clone(),
        router_id: router_id.clone(),
        local_asn,
        global_asn,
        bgp_router_ip_list: vec![c.bgp_listen.ip().to_string()],
        started_us,
        num_xmpp_peer: vrouters.len() as u32,
        num_up_xmpp_peer: vrouters
            .iter()
            .filter(|v| v["state"] == "established")
            .count() as u32,
        num_routing_instance: index.of_type("routing-instance").count() as u32,
    };
    drop(index);
    let peers = neighbors
        .iter()
        .map(|n| {
            let fq = by_address.iter().find(|(a, _)| *a == n.address);
            let pc = configured.iter().find(|p| p.address == n.address);
            BgpPeerFeed {
                instance: FABRIC_INSTANCE.to_string(),
                local: src.hostname.clone(),
                peer: fq.map_or_else(|| n.address.to_string(), |(_, fq)| fq.clone()),
                peer_address: n.address.to_string(),
                peer_port: n.port,
                peer_asn: n.asn,
                local_asn,
                local_id,
                peer_id: n.router_id.map(u32::from),
                router_type: crate::metrics_control::label(&n.router_type),
                passive: pc.is_some_and(|p| p.passive),
                hold_time: u32::from(pc.and_then(|p| p.hold_time).unwrap_or(hold_time)),
                configured_families: pc
                    .map(|p| p.families.iter().map(ToString::to_string).collect())
                    .unwrap_or_default(),
                negotiated_families: if n.state == State::Established {
                    n.families.iter().map(ToString::to_string).collect()
                } else {
                    Vec::new()
                },
                state: format!("{:?}", n.state),
                flap_count: u64::from(n.flaps),
                last_error: n.last_error.clone(),
                prefixes_received: n.prefixes_received as u64,
                prefixes_accepted: n.prefixes_accepted as u64,
                prefixes_advertised: n.prefixes_advertised as u64,
                updates_received: n.updates_received,
                updates_sent: n.updates_sent,
            }
        })
        .collect();
    (control, peers)
}

async fn config_node(src: &Sources, c: &ConfigSources) -> ConfigNodeFeed {
    let probe = tokio::time::timeout(PROBE, c.store.revision()).await;
    let store_error = match probe {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!("no answer in {} s", PROBE.as_secs())),
    };
    let (objects, index_revision) = {
        let i = src.state.index();
        (i.len() as u64, i.revision)
    };
    let [api_requests, api_client_errors, api_server_errors] = c.metrics.api_counts();
    ConfigNodeFeed {
        name: src.hostname.clone(),
        config_node_ip: vec![c.api_listen.ip().to_string()],
        store_kind: c.store_kind.clone(),
        store_addrs: c.store_addrs.clone(),
        store_up: store_error.is_none(),
        store_error,
        objects,
        index_revision,
        api_requests,
        api_client_errors,
        api_server_errors,
        store_txn_committed: c.store_metrics.txns("committed"),
        store_txn_conflict: c.store_metrics.txns("conflict"),
        store_txn_error: c.store_metrics.txns("error"),
    }
}
