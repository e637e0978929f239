//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod daemon;
pub mod gobgp;
pub mod gobgp_rib;
pub mod pcap;

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `cond` every 100 ms until it holds; panics after `limit` naming what was awaited.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out after {limit:?} waiting for {what}");
}

/// The ASN every interop test gives the Cirrus speaker.
pub const CIRRUS_AS: u32 = 64512;

/// The route target `target:64512:n`.
pub fn rt(n: u32) -> cirrus_bgp::ext_community::ExtCommunity {
    cirrus_bgp::ext_community::ExtCommunity::route_target_as2(CIRRUS_AS as u16, n)
}

/// A Cirrus speaker on `me:port` with one router peer at `peer:peer_port` (`peer_as`,
/// `families`) and an instance `red` that imports and exports `target:64512:100` — the setup
/// every interop test starts from.
pub async fn cirrus_with_red(
    me: std::net::Ipv4Addr,
    port: u16,
    peer: std::net::Ipv4Addr,
    peer_port: u16,
    peer_as: u32,
    families: Vec<cirrus_bgp::types::Family>,
) -> cirrus_bgp::speaker::Speaker {
    use cirrus_bgp::speaker::{PeerConfig, RouterType, Speaker, SpeakerConfig};
    use std::net::{IpAddr, SocketAddr};
    let mut c = SpeakerConfig::new(me, CIRRUS_AS, SocketAddr::new(IpAddr::V4(me), port));
    c.connect_retry = 1;
    let mut p = PeerConfig::new(IpAddr::V4(peer), peer_as);
    p.port = peer_port;
    p.families = families;
    p.router_type = RouterType::Router;
    c.peers.push(p);
    let s = Speaker::start(c).await.unwrap();
    s.set_instance(
        "red",
        cirrus_bgp::rib::InstanceConfig {
            rd: Some(cirrus_bgp::types::Rd::Ip(me, 1)),
            import_targets: vec![rt(100)],
            export_targets: vec![rt(100)],
        },
    )
    .await
    .unwrap();
    s
}
