//! Two Cirrus speakers on loopback addresses: iBGP session, a route originated in one instance
//! shows up in the matching instance of the other, withdrawals, live peer removal.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use cirrus_bgp::ext_community::{ExtCommunity, TunnelType};
use cirrus_bgp::rib::{InstanceConfig, LocalRoute};
use cirrus_bgp::session::State;
use cirrus_bgp::speaker::{PeerConfig, Speaker, SpeakerConfig};
use cirrus_bgp::types::{Family, Label, Labels, Nlri, Rd};

fn cfg(me: Ipv4Addr, port: u16, peer: Ipv4Addr, peer_port: u16) -> SpeakerConfig {
    let mut c = SpeakerConfig::new(me, 64512, SocketAddr::new(IpAddr::V4(me), port));
    c.connect_retry = 1;
    let mut p = PeerConfig::new(IpAddr::V4(peer), 64512);
    p.port = peer_port;
    c.peers.push(p);
    c
}

fn red(me: Ipv4Addr) -> InstanceConfig {
    InstanceConfig {
        rd: Some(Rd::Ip(me, 1)),
        import_targets: vec![ExtCommunity::route_target_as2(64512, 8_000_001)],
        export_targets: vec![ExtCommunity::route_target_as2(64512, 8_000_001)],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_speakers_exchange_vpn_routes_into_instances() {
    let (a_ip, b_ip) = (Ipv4Addr::new(127, 0, 3, 1), Ipv4Addr::new(127, 0, 3, 2));
    let a = Speaker::start(cfg(a_ip, 17901, b_ip, 17902)).await.unwrap();
    let b = Speaker::start(cfg(b_ip, 17902, a_ip, 17901)).await.unwrap();
    a.set_instance("red", red(a_ip)).await.unwrap();
    b.set_instance("red", red(b_ip)).await.unwrap();
    common::wait_for("A established", Duration::from_secs(20), || async {
        let n = a.neighbors().await.unwrap();
        n[0].state == State::Established
    })
    .await;
    let n = b.neighbors().await.unwrap();
    assert_eq!(n[0].state, State::Established);
    assert!(
        n[0].families.contains(&Family::InetVpn) && n[0].families.contains(&Family::RouteTarget)
    );

    let route = LocalRoute {
        nlri: Some(Nlri::Inet("10.1.1.0/24".parse().unwrap())),
        labels: Labels::one(Label::mpls(37)),
        next_hop: Some("198.18.0.11".parse().unwrap()),
        ext_communities: vec![
            ExtCommunity::encapsulation(TunnelType::MplsInUdp),
            ExtCommunity::origin_vn(64512, 3),
        ],
        ..Default::default()
    };
    a.originate("red", route).await.unwrap();
    common::wait_for("route in B's red", Duration::from_secs(10), || async {
        b.routes(Some("red"), None).await.unwrap().unwrap().len() == 1
    })
    .await;
    let r = &b.routes(Some("red"), None).await.unwrap().unwrap()[0];
    assert_eq!(r.prefix, "10.1.1.0/24");
    assert_eq!(r.label, Some(37));
    assert_eq!(r.next_hop.as_deref(), Some("198.18.0.11"));
    assert!(r.targets.contains(&"target:64512:8000001".to_string()));
    assert!(r.ext_communities.contains(&"encapsulation:udp".to_string()));
    assert!(r.ext_communities.contains(&"origin-vn:64512:3".to_string()));
    assert_eq!(r.source, "127.0.3.1");
    let g = b
        .routes(None, Some(Family::InetVpn))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(g[0].rd.as_deref(), Some("127.0.3.1:1"));

    a.withdraw("red", Nlri::Inet("10.1.1.0/24".parse().unwrap()))
        .await
        .unwrap();
    common::wait_for("withdrawn in B", Duration::from_secs(10), || async {
        b.routes(Some("red"), None)
            .await
            .unwrap()
            .unwrap()
            .is_empty()
    })
    .await;

    // Removing the peer live takes the session down on both sides.
    let mut ca = cfg(a_ip, 17901, b_ip, 17902);
    ca.peers.clear();
    a.update_config(ca).await.unwrap();
    common::wait_for("B sees the session go", Duration::from_secs(10), || async {
        b.neighbors().await.unwrap()[0].state != State::Established
    })
    .await;
    assert!(
        b.neighbors().await.unwrap()[0]
            .last_error
            .as_deref()
            .unwrap_or("")
            .contains("cease")
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_md5_session_needs_matching_keys() {
    let (a_ip, b_ip) = (Ipv4Addr::new(127, 0, 3, 5), Ipv4Addr::new(127, 0, 3, 6));
    let with_key = |me, port, peer, peer_port, key: &str| {
        let mut c = cfg(me, port, peer, peer_port);
        c.peers[0].md5_key = Some(key.to_string());
        c
    };
    let a = Speaker::start(with_key(a_ip, 17905, b_ip, 17906, "cirrus-secret"))
        .await
        .unwrap();
    // Wrong key on B: TCP segments are dropped by the kernel, no session.
    let b = Speaker::start(with_key(b_ip, 17906, a_ip, 17905, "wrong"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_ne!(a.neighbors().await.unwrap()[0].state, State::Established);
    assert_ne!(b.neighbors().await.unwrap()[0].state, State::Established);
    // Fix B's key live: the session comes up.
    b.update_config(with_key(b_ip, 17906, a_ip, 17905, "cirrus-secret"))
        .await
        .unwrap();
    common::wait_for("MD5 session up", Duration::from_secs(20), || async {
        a.neighbors().await.unwrap()[0].state == State::Established
    })
    .await;
    a.shutdown().await;
    b.shutdown().await;
}
