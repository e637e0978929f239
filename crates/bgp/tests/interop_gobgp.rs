//! Interop with GoBGP (`gobgpd` + `gobgp`, Debian package `gobgpd`), each side on its own
//! loopback address: inet-vpn and e-vpn (types 2 and 5) both ways, each route's RD, label
//! (VNI for EVPN), targets, encapsulation and next hop checked on the receiving side (GoBGP's
//! RIB read as JSON, Cirrus's through its API); withdrawals; route refresh; RFC 4684
//! filtering; graceful restart keeping GoBGP's routes stale while it is away (GoBGP restarts
//! with the F bit clear, so they are flushed when it comes back: the End-of-RIB sweep is shown
//! with FRR); long-lived graceful restart (RFC 9494) sending the stale routes, marked, only to
//! LLGR peers.

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use common::gobgp::{GOBGP_AS, GoBgp, LLGR_STALE, one};
use common::gobgp_rib::GPath;
use common::{CIRRUS_AS, rt, wait_for};

use cirrus_bgp::ext_community::{ExtCommunity, TunnelType};
use cirrus_bgp::rib::{InstanceConfig, LocalRoute};
use cirrus_bgp::session::State;
use cirrus_bgp::speaker::{PeerConfig, RouterType, Speaker, SpeakerConfig};
use cirrus_bgp::types::{EvpnRoute, Family, Label, Labels, Nlri, Rd};

/// This file's peer is GoBGP.
async fn cirrus(
    me: Ipv4Addr,
    port: u16,
    peer: Ipv4Addr,
    peer_port: u16,
    families: Vec<Family>,
) -> Speaker {
    common::cirrus_with_red(me, port, peer, peer_port, GOBGP_AS, families).await
}

async fn established(s: &Speaker, g: &GoBgp) {
    let limit = Duration::from_secs(30);
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if s.neighbors().await.unwrap()[0].state == State::Established {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!(
        "no session with GoBGP: {:?}\n{}",
        s.neighbors().await.unwrap(),
        g.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_vpn_and_evpn_both_ways_refresh_and_graceful_restart() {
    let (c_ip, g_ip) = (Ipv4Addr::new(127, 0, 4, 1), Ipv4Addr::new(127, 0, 4, 2));
    let mut g = GoBgp::start(
        "gobgp",
        g_ip,
        17912,
        50941,
        c_ip,
        17911,
        &["l3vpn-ipv4-unicast", "l2vpn-evpn"],
        false,
    );
    let s = cirrus(
        c_ip,
        17911,
        g_ip,
        17912,
        vec![Family::InetVpn, Family::Evpn],
    )
    .await;
    established(&s, &g).await;
    let n = &s.neighbors().await.unwrap()[0];
    assert_eq!(n.families, vec![Family::InetVpn, Family::Evpn]);
    assert!(
        g.cli("neighbor").contains("Establ"),
        "{}",
        g.cli("neighbor")
    );

    // Cirrus -> GoBGP: inet-vpn with RD, label, targets, next hop.
    s.originate(
        "red",
        LocalRoute {
            nlri: Some(Nlri::Inet("10.1.1.0/24".parse().unwrap())),
            labels: Labels::one(Label::mpls(37)),
            next_hop: Some("198.18.0.11".parse().unwrap()),
            ext_communities: vec![ExtCommunity::encapsulation(TunnelType::MplsInGre)],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // Cirrus -> GoBGP: e-vpn type 2.
    let mac_route = Nlri::evpn(EvpnRoute::MacIp {
        rd: Rd::As2(0, 0),
        esi: [0; 10],
        tag: 0,
        mac: [2, 0, 0, 0, 0, 0x11],
        ip: Some("10.1.1.5".parse().unwrap()),
    });
    s.originate(
        "red",
        LocalRoute {
            nlri: Some(mac_route.clone()),
            labels: Labels::one(Label::vni(5001)),
            next_hop: Some("198.18.0.11".parse().unwrap()),
            ext_communities: vec![ExtCommunity::encapsulation(TunnelType::Vxlan)],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // Cirrus -> GoBGP: e-vpn type 5 with the router's MAC.
    s.originate(
        "red",
        LocalRoute {
            nlri: Some(Nlri::evpn(EvpnRoute::IpPrefix {
                rd: Rd::As2(0, 0),
                esi: [0; 10],
                tag: 0,
                prefix: "10.6.0.0/24".parse().unwrap(),
                gateway: "0.0.0.0".parse().unwrap(),
            })),
            labels: Labels::one(Label::vni(5002)),
            next_hop: Some("198.18.0.11".parse().unwrap()),
            ext_communities: vec![
                ExtCommunity::encapsulation(TunnelType::Vxlan),
                ExtCommunity::router_mac([2, 0, 0, 0, 0, 0x22]),
            ],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    wait_for(
        "GoBGP has the inet-vpn route",
        Duration::from_secs(10),
        || async { g.has("vpnv4", "10.1.1.0/24") },
    )
    .await;
    // What GoBGP received, route by route: (RD, labels, next hop, targets, tunnel type).
    let fields = |p: &GPath| {
        (
            p.rd(),
            p.labels(),
            p.next_hop().map(str::to_string),
            p.targets(),
            p.tunnel_type(),
        )
    };
    let ours = |rd: &str, label: u64, tunnel: u64| {
        (
            rd.to_string(),
            vec![label],
            Some("198.18.0.11".to_string()),
            vec!["64512:100".to_string()],
            Some(tunnel),
        )
    };
    let vpn = g.rib("vpnv4");
    let v = one(&vpn, |p| p.prefix() == Some("10.1.1.0/24"));
    // RD: Cirrus's instance RD (127.0.4.1:1); 11: MPLS in GRE (RFC 9012).
    assert_eq!(fields(v), ours("127.0.4.1:1", 37, 11), "{v:?}");
    wait_for(
        "GoBGP has both e-vpn routes",
        Duration::from_secs(10),
        || async { g.rib("evpn").len() >= 2 },
    )
    .await;
    let evpn = g.rib("evpn");
    let t2 = one(&evpn, |p| p.route_type() == Some(2));
    assert_eq!(
        (t2.mac(), t2.ip()),
        (Some("02:00:00:00:00:11"), Some("10.1.1.5")),
        "{t2:?}"
    );
    // The label field carries the VNI (RFC 8365); 8: VXLAN.
    assert_eq!(fields(t2), ours("127.0.4.1:1", 5001, 8), "{t2:?}");
    let t5 = one(&evpn, |p| p.route_type() == Some(5));
    assert_eq!(
        (t5.prefix(), t5.router_mac()),
        (Some("10.6.0.0/24"), Some("02:00:00:00:00:22")),
        "{t5:?}"
    );
    assert_eq!(fields(t5), ours("127.0.4.1:1", 5002, 8), "{t5:?}");

    // GoBGP -> Cirrus: inet-vpn, e-vpn type 2 and type 5.
    let out = g.cli(
        "global rib -a vpnv4 add 10.2.0.0/24 label 200 rd 65001:7 rt 64512:100 nexthop 198.18.0.22",
    );
    assert!(out.trim().is_empty(), "{out}");
    g.cli(
        "global rib -a vpnv4 add 10.2.1.0/24 label 201 rd 65001:7 rt 64512:100 nexthop 198.18.0.22",
    );
    g.cli("global rib -a evpn add macadv 02:00:00:00:00:22 10.2.0.5 etag 0 label 300 rd 65001:8 rt 64512:100 encap vxlan nexthop 198.18.0.22");
    g.cli("global rib -a evpn add prefix 10.3.0.0/24 etag 0 label 400 rd 65001:9 rt 64512:100 encap vxlan router-mac 02:00:00:00:00:33 nexthop 198.18.0.22");
    let from_g = |r: &cirrus_bgp::rib::query::RouteInfo| r.source == "127.0.4.2";
    wait_for(
        "Cirrus red has GoBGP's four routes",
        Duration::from_secs(10),
        || async {
            let red = s.routes(Some("red"), None).await.unwrap().unwrap();
            red.iter().filter(|r| from_g(r)).count() == 4
        },
    )
    .await;
    let red = s.routes(Some("red"), None).await.unwrap().unwrap();
    let r = red
        .iter()
        .find(|r| r.prefix == "10.2.0.0/24")
        .expect("10.2.0.0/24 in red");
    assert_eq!(
        (r.label, r.next_hop.as_deref(), r.source.as_str()),
        (Some(200), Some("198.18.0.22"), "127.0.4.2")
    );
    assert!(r.targets.contains(&"target:64512:100".into()));
    assert_eq!(r.as_path, "65001");
    let g_vpn = s
        .routes(None, Some(Family::InetVpn))
        .await
        .unwrap()
        .unwrap();
    assert!(
        g_vpn
            .iter()
            .any(|r| r.prefix == "10.2.0.0/24" && r.rd.as_deref() == Some("65001:7"))
    );
    // Both EVPN routes as Cirrus holds them: key (type, RD, tag, MAC and IP or prefix), the
    // label field (the VNI), next hop, targets, encapsulation and router MAC.
    let evpn = s.routes(None, Some(Family::Evpn)).await.unwrap().unwrap();
    let got = |key: &str| {
        let r = evpn
            .iter()
            .find(|r| r.prefix == key && from_g(r))
            .unwrap_or_else(|| panic!("{key} from GoBGP: {evpn:?}"));
        (
            r.rd.clone(),
            r.label,
            r.next_hop.clone(),
            r.targets.clone(),
            r.ext_communities.clone(),
        )
    };
    let want = |rd: &str, label: u32, ext: &[&str]| {
        (
            Some(rd.to_string()),
            Some(label),
            Some("198.18.0.22".to_string()),
            vec!["target:64512:100".to_string()],
            ext.iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        got("2-65001:8-0-02:00:00:00:00:22,10.2.0.5"),
        want("65001:8", 300, &["encapsulation:vxlan"])
    );
    assert_eq!(
        got("5-65001:9-0-10.3.0.0/24"),
        want(
            "65001:9",
            400,
            &["encapsulation:vxlan", "router-mac:02:00:00:00:00:33"]
        )
    );
    // Imported into red by their target, like the VPN routes.
    let red = s.routes(Some("red"), None).await.unwrap().unwrap();
    for key in ["02:00:00:00:00:22", "10.3.0.0/24"] {
        assert!(
            red.iter().any(|r| from_g(r) && r.prefix.contains(key)),
            "{key} in red: {red:?}"
        );
    }

    // Withdrawals both ways.
    g.cli(
        "global rib -a vpnv4 del 10.2.1.0/24 label 201 rd 65001:7 rt 64512:100 nexthop 198.18.0.22",
    );
    wait_for(
        "GoBGP withdrawal reaches Cirrus",
        Duration::from_secs(10),
        || async {
            !s.routes(Some("red"), None)
                .await
                .unwrap()
                .unwrap()
                .iter()
                .any(|r| r.prefix == "10.2.1.0/24")
        },
    )
    .await;
    s.withdraw("red", Nlri::Inet("10.1.1.0/24".parse().unwrap()))
        .await
        .unwrap();
    wait_for(
        "Cirrus withdrawal reaches GoBGP",
        Duration::from_secs(10),
        || async { !g.has("vpnv4", "10.1.1.0/24") },
    )
    .await;

    // Route refresh: we ask GoBGP and it re-sends. (GoBGP keeps its Adj-RIB-In, so its
    // "softresetin" never sends a ROUTE-REFRESH; the other direction is shown with FRR.)
    let before = s.neighbors().await.unwrap()[0].clone();
    s.request_refresh(IpAddr::V4(g_ip), Family::InetVpn)
        .await
        .unwrap();
    wait_for(
        "GoBGP re-sends after our ROUTE-REFRESH",
        Duration::from_secs(10),
        || async { s.neighbors().await.unwrap()[0].updates_received > before.updates_received },
    )
    .await;

    println!(
        "GoBGP graceful restart capability: {:?}",
        s.neighbors().await.unwrap()[0].graceful_restart
    );
    // Graceful restart: GoBGP dies; its routes stay (stale) while it is away. GoBGP sends the
    // F bit clear, so RFC 4724 4.2 removes the stale ones when the session comes back; what it
    // re-announces is fresh. (FRR, with the F bit set, shows the End-of-RIB sweep.)
    g.daemon.take().expect("gobgpd running").kill();
    wait_for("session down", Duration::from_secs(10), || async {
        s.neighbors().await.unwrap()[0].state != State::Established
    })
    .await;
    let red = s.routes(Some("red"), None).await.unwrap().unwrap();
    let from_g: Vec<_> = red.iter().filter(|r| r.source == "127.0.4.2").collect();
    assert!(
        !from_g.is_empty() && from_g.iter().all(|r| r.stale),
        "GoBGP's routes kept as stale: {red:?}"
    );
    g.restart();
    // Re-announce one of the two VPN routes; the other must go once GoBGP sends End-of-RIB.
    wait_for("GoBGP API back", Duration::from_secs(10), || async {
        g.try_cli("global").is_ok_and(|o| o.contains("65001"))
    })
    .await;
    g.cli(
        "global rib -a vpnv4 add 10.2.0.0/24 label 200 rd 65001:7 rt 64512:100 nexthop 198.18.0.22",
    );
    established(&s, &g).await;
    wait_for(
        "stale routes replaced or removed after the restart",
        Duration::from_secs(20),
        || async {
            let red = s.routes(Some("red"), None).await.unwrap().unwrap();
            red.iter().any(|r| r.prefix == "10.2.0.0/24" && !r.stale)
                && !red.iter().any(|r| r.stale)
        },
    )
    .await;
    let red = s.routes(Some("red"), None).await.unwrap().unwrap();
    assert!(
        !red.iter().any(|r| r.prefix.contains("10.3.0.0/24")),
        "type 5 not re-announced: removed"
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_rfc4684_gets_only_routes_for_its_targets() {
    let (c_ip, g_ip) = (Ipv4Addr::new(127, 0, 4, 3), Ipv4Addr::new(127, 0, 4, 4));
    let g = GoBgp::start(
        "gobgp-rtc",
        g_ip,
        17914,
        50942,
        c_ip,
        17913,
        &["l3vpn-ipv4-unicast", "rtc"],
        false,
    );
    let s = cirrus(
        c_ip,
        17913,
        g_ip,
        17914,
        vec![Family::InetVpn, Family::RouteTarget],
    )
    .await;
    s.set_instance(
        "blue",
        InstanceConfig {
            rd: Some(Rd::Ip(c_ip, 2)),
            import_targets: vec![rt(200)],
            export_targets: vec![rt(200)],
        },
    )
    .await
    .unwrap();
    established(&s, &g).await;
    // GoBGP imports only target 64512:100 (a VRF), so it asks for that target alone.
    let out = g.cli("vrf add v100 rd 65001:100 rt both 64512:100");
    assert!(out.trim().is_empty(), "{out}");
    for (inst, p) in [("red", "10.100.0.0/24"), ("blue", "10.200.0.0/24")] {
        s.originate(
            inst,
            LocalRoute {
                nlri: Some(Nlri::Inet(p.parse().unwrap())),
                labels: Labels::one(Label::mpls(50)),
                next_hop: Some("198.18.0.11".parse().unwrap()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    wait_for(
        "GoBGP has the target-100 route",
        Duration::from_secs(15),
        || async { g.has("vpnv4", "10.100.0.0/24") },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rib = g.rib("vpnv4");
    let prefixes: Vec<_> = rib.iter().filter_map(GPath::prefix).collect();
    assert_eq!(
        prefixes,
        ["10.100.0.0/24"],
        "RFC 4684: the target-200 route must not be sent"
    );
    let rtc = s
        .routes(None, Some(Family::RouteTarget))
        .await
        .unwrap()
        .unwrap();
    assert!(
        rtc.iter().any(|r| r.source == "127.0.4.4"),
        "GoBGP's membership received: {rtc:?}"
    );
    // GoBGP also imports target 200: now the other route arrives.
    g.cli("vrf add v200 rd 65001:200 rt both 64512:200");
    wait_for(
        "target-200 route after GoBGP's new membership",
        Duration::from_secs(15),
        || async { g.has("vpnv4", "10.200.0.0/24") },
    )
    .await;
    s.shutdown().await;
}

/// Two control nodes in iBGP mesh (with RFC 4684 between them) and GoBGP as a gateway on the
/// first: GoBGP's route reaches the right instance on the second; stopping the second does not
/// disturb the first's session with GoBGP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_route_reaches_second_control_node_over_ibgp() {
    let (a_ip, b_ip, g_ip) = (
        Ipv4Addr::new(127, 0, 4, 5),
        Ipv4Addr::new(127, 0, 4, 6),
        Ipv4Addr::new(127, 0, 4, 7),
    );
    let g = GoBgp::start(
        "gobgp-3",
        g_ip,
        17917,
        50943,
        a_ip,
        17915,
        &["l3vpn-ipv4-unicast"],
        false,
    );
    let node = |me: Ipv4Addr, port: u16, peers: Vec<PeerConfig>| {
        let mut c = SpeakerConfig::new(me, CIRRUS_AS, SocketAddr::new(IpAddr::V4(me), port));
        c.connect_retry = 1;
        c.peers = peers;
        c
    };
    let mut to_g = PeerConfig::new(IpAddr::V4(g_ip), GOBGP_AS);
    to_g.port = 17917;
    to_g.families = vec![Family::InetVpn];
    to_g.router_type = RouterType::Router;
    let mut to_b = PeerConfig::new(IpAddr::V4(b_ip), CIRRUS_AS);
    to_b.port = 17916;
    let mut to_a = PeerConfig::new(IpAddr::V4(a_ip), CIRRUS_AS);
    to_a.port = 17915;
    let a = Speaker::start(node(a_ip, 17915, vec![to_g, to_b]))
        .await
        .unwrap();
    let b = Speaker::start(node(b_ip, 17916, vec![to_a])).await.unwrap();
    for (s, ip) in [(&a, a_ip), (&b, b_ip)] {
        s.set_instance(
            "red",
            InstanceConfig {
                rd: Some(Rd::Ip(ip, 1)),
                import_targets: vec![rt(100)],
                export_targets: vec![rt(100)],
            },
        )
        .await
        .unwrap();
    }
    wait_for("all sessions up", Duration::from_secs(30), || async {
        a.neighbors()
            .await
            .unwrap()
            .iter()
            .all(|n| n.state == State::Established)
            && b.neighbors().await.unwrap()[0].state == State::Established
    })
    .await;
    g.cli(
        "global rib -a vpnv4 add 10.9.0.0/24 label 900 rd 65001:9 rt 64512:100 nexthop 198.18.0.99",
    );
    g.cli(
        "global rib -a vpnv4 add 10.9.1.0/24 label 901 rd 65001:9 rt 64512:555 nexthop 198.18.0.99",
    );
    wait_for(
        "GoBGP's route in B's red",
        Duration::from_secs(15),
        || async {
            b.routes(Some("red"), None)
                .await
                .unwrap()
                .unwrap()
                .iter()
                .any(|r| r.prefix == "10.9.0.0/24")
        },
    )
    .await;
    let r = b
        .routes(Some("red"), None)
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .find(|r| r.prefix == "10.9.0.0/24")
        .unwrap();
    assert_eq!(
        (
            r.label,
            r.next_hop.as_deref(),
            r.as_path.as_str(),
            r.source.as_str()
        ),
        (Some(900), Some("198.18.0.99"), "65001", "127.0.4.5")
    );
    // RFC 4684 between the nodes: B imports only target 100, so A keeps the target-555 route to itself.
    wait_for(
        "A has the target-555 route",
        Duration::from_secs(10),
        || async {
            a.routes(None, Some(Family::InetVpn))
                .await
                .unwrap()
                .unwrap()
                .iter()
                .any(|r| r.prefix == "10.9.1.0/24")
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !b.routes(None, Some(Family::InetVpn))
            .await
            .unwrap()
            .unwrap()
            .iter()
            .any(|r| r.prefix == "10.9.1.0/24")
    );
    let before = a
        .neighbors()
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.address == IpAddr::V4(g_ip))
        .unwrap();
    b.shutdown().await;
    wait_for("A sees B go", Duration::from_secs(10), || async {
        a.neighbors()
            .await
            .unwrap()
            .iter()
            .any(|n| n.address == IpAddr::V4(b_ip) && n.state != State::Established)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = a
        .neighbors()
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.address == IpAddr::V4(g_ip))
        .unwrap();
    assert_eq!(
        (after.state, after.flaps),
        (State::Established, before.flaps),
        "GoBGP session undisturbed"
    );
    assert!(
        a.routes(Some("red"), None)
            .await
            .unwrap()
            .unwrap()
            .iter()
            .any(|r| r.prefix == "10.9.0.0/24")
    );
    assert!(g.cli("neighbor").contains("Establ"));
    a.shutdown().await;
}

/// RFC 9494 with three GoBGP peers in their own ASes: G1 offers graceful restart for 5 s then
/// long-lived GR for 60 s and originates a route; G2 has no LLGR, G3 has it. G1 dies: while
/// the short restart time runs both hold the route as before; once it has passed, G2's copy
/// is withdrawn and G3 gets it again marked LLGR_STALE (65535:6).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_long_lived_stale_routes_go_only_to_llgr_peers() {
    let c_ip = Ipv4Addr::new(127, 0, 4, 11);
    let g = |n: u8| Ipv4Addr::new(127, 0, 4, 11 + n);
    let families = ["l3vpn-ipv4-unicast"];
    let mut g1 = GoBgp::start_as(
        "gobgp-llgr-1",
        g(1),
        17922,
        50951,
        c_ip,
        17921,
        &families,
        false,
        65001,
        (5, Some(60)),
    );
    let g2 = GoBgp::start_as(
        "gobgp-llgr-2",
        g(2),
        17923,
        50952,
        c_ip,
        17921,
        &families,
        false,
        65002,
        (60, None),
    );
    let g3 = GoBgp::start_as(
        "gobgp-llgr-3",
        g(3),
        17924,
        50953,
        c_ip,
        17921,
        &families,
        false,
        65003,
        (60, Some(60)),
    );
    let mut c = SpeakerConfig::new(c_ip, CIRRUS_AS, SocketAddr::new(IpAddr::V4(c_ip), 17921));
    c.connect_retry = 1;
    for (n, asn) in [(1, 65001), (2, 65002), (3, 65003)] {
        let mut p = PeerConfig::new(IpAddr::V4(g(n)), asn);
        p.port = 17921 + n as u16;
        p.families = vec![Family::InetVpn];
        p.router_type = RouterType::Router;
        c.peers.push(p);
    }
    let s = Speaker::start(c).await.unwrap();
    wait_for("three sessions up", Duration::from_secs(30), || async {
        s.neighbors()
            .await
            .unwrap()
            .iter()
            .all(|n| n.state == State::Established)
    })
    .await;
    g1.cli(
        "global rib -a vpnv4 add 10.77.0.0/24 label 700 rd 65001:77 rt 64512:100 nexthop 198.18.0.77",
    );
    for (name, peer) in [("G2", &g2), ("G3", &g3)] {
        wait_for(
            &format!("{name} has G1's route"),
            Duration::from_secs(15),
            || async { peer.has("vpnv4", "10.77.0.0/24") },
        )
        .await;
    }
    let llgr_stale = |g: &GoBgp| {
        let rib = g.rib("vpnv4");
        let p = one(&rib, |p| p.prefix() == Some("10.77.0.0/24"));
        p.communities().contains(&LLGR_STALE)
    };
    assert!(!llgr_stale(&g3), "not marked while G1 is up");

    g1.daemon.take().expect("gobgpd running").kill();
    wait_for("G1's session down", Duration::from_secs(10), || async {
        s.neighbors().await.unwrap()[0].state != State::Established
    })
    .await;
    // Within the restart time (plain GR) the stale route is still advertised to both.
    assert!(g2.has("vpnv4", "10.77.0.0/24"));
    wait_for(
        "G2 (no LLGR) loses the route once the restart time has passed",
        Duration::from_secs(15),
        || async { !g2.has("vpnv4", "10.77.0.0/24") },
    )
    .await;
    wait_for(
        "G3 (LLGR) holds the route marked LLGR_STALE",
        Duration::from_secs(15),
        || async { g3.has("vpnv4", "10.77.0.0/24") && llgr_stale(&g3) },
    )
    .await;
    let ours = s
        .routes(None, Some(Family::InetVpn))
        .await
        .unwrap()
        .unwrap();
    assert!(
        ours.iter()
            .any(|r| r.prefix.contains("10.77.0.0/24")
                && r.communities.contains(&"65535:6".to_string())),
        "Cirrus keeps the route as long-lived stale: {ours:?}"
    );
    s.shutdown().await;
}
