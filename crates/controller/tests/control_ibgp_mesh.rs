//! Two `cirrus-controller` control nodes on one etcd (the Contrail way: one config, each node
//! finds its own bgp-router by --hostname), meshed over iBGP by the global `ibgp_auto_mesh`
//! without any ref between them; GoBGP, a gateway configured as a bgp-router peering with node
//! A only, advertises an inet-vpn route that reaches the right instance on node B; routes of
//! (simulated) vrouters on either node reach GoBGP's table through A. Stopping B leaves A's
//! GoBGP session alone, and GoBGP's table too: A keeps B's routes, stale, for B's graceful
//! restart time.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use cirrus_store::testing::EtcdServer;
use common::channel::{host_route, instance, network, port, runtime, vrouter};
use common::{Controller, GOBGP_AS, GoBgp, bgp_router, peering, wait_for};
use serde_json::json;

const RED: &str = "default-domain:default-project:red:red";

#[test]
fn route_from_gobgp_on_node_a_reaches_node_b_and_stopping_b_leaves_a_alone() {
    let etcd = EtcdServer::start().expect("etcd");
    let store = etcd.spec();
    let (a_ip, b_ip, g_ip) = (
        Ipv4Addr::new(127, 0, 6, 11),
        Ipv4Addr::new(127, 0, 6, 12),
        Ipv4Addr::new(127, 0, 6, 13),
    );
    let a = Controller::start("cn-a", a_ip, Some(&store));
    let b = Controller::start("cn-b", b_ip, Some(&store));
    let g = GoBgp::start(g_ip, a.bgp, 64512, &["l3vpn-ipv4-unicast"]);
    // Written through B's API, read by A from the shared store.
    b.create(
        "bgp-router",
        bgp_router(
            "gw",
            "router",
            g.at,
            GOBGP_AS,
            vec![peering("cn-a", &["inet-vpn"])],
        ),
    );
    let ctx = || {
        format!(
            "A: {:?}\nB: {:?}\n{}\n{}\n{}",
            a.neighbors(),
            b.neighbors(),
            a.log(),
            b.log(),
            g.log()
        )
    };
    let up =
        |c: &Controller, ip: Ipv4Addr| c.neighbor(ip).is_some_and(|n| n["state"] == "Established");
    wait_for(
        "A-B (auto mesh) and A-GoBGP Established",
        Duration::from_secs(40),
        || up(&a, b_ip) && up(&b, a_ip) && up(&a, g_ip),
        ctx,
    );
    let peers_of_b: Vec<String> = b
        .neighbors()
        .iter()
        .map(|n| n["address"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        peers_of_b,
        [a_ip.to_string()],
        "the gateway peers with A only"
    );
    let mesh = a.neighbor(b_ip).unwrap();
    assert_eq!(
        (mesh["asn"].as_u64(), mesh["router_type"].as_str()),
        (Some(64512), Some("control-node"))
    );

    let red = network(&a, "red", "10.9.8.0/24", &["target:64512:100"], &[]);
    g.cli(
        "global rib -a vpnv4 add 10.9.0.0/24 label 900 rd 65001:9 rt 64512:100 nexthop 198.18.0.99",
    );
    g.cli(
        "global rib -a vpnv4 add 10.9.1.0/24 label 901 rd 65001:9 rt 64512:555 nexthop 198.18.0.99",
    );
    wait_for(
        "red's instance on both nodes",
        Duration::from_secs(20),
        || {
            let q = format!("instance={RED}");
            a.routes_answer(&q).0 == 200 && b.routes_answer(&q).0 == 200
        },
        ctx,
    );
    wait_for(
        "GoBGP's route in B's red",
        Duration::from_secs(20),
        || b.route(RED, "10.9.0.0/24").is_some(),
        ctx,
    );
    let r = b.route(RED, "10.9.0.0/24").unwrap();
    assert_eq!(
        (
            r["label"].as_u64(),
            r["next_hop"].as_str(),
            r["as_path"].as_str(),
            r["source"].as_str()
        ),
        (
            Some(900),
            Some("198.18.0.99"),
            Some("65001"),
            Some(a_ip.to_string().as_str())
        )
    );
    assert_eq!(r["targets"], json!(["target:64512:100"]));
    // RFC 4684 between the nodes: B imports only target 100, so A keeps the 555 route.
    wait_for(
        "A has the target-555 route",
        Duration::from_secs(10),
        || a.route("bgp.l3vpn.0", "10.9.1.0/24").is_some(),
        ctx,
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(b.route("bgp.l3vpn.0", "10.9.1.0/24").is_none());

    // A vrouter on each node publishes a port's address into red: both reach GoBGP's table
    // through A (B's over iBGP first), with their own RD, label and next hop.
    let red_id = a.api("GET", &format!("/virtual-network/{red}"), None)["virtual-network"]
        ["virtual_network_network_id"]
        .as_u64()
        .unwrap();
    port(&a, "red", "pa", "ca", "10.9.8.3");
    port(&a, "red", "pb", "cb", "10.9.8.4");
    let rt = runtime();
    let va = vrouter(&rt, &a, "ca", 21, &[&instance("red")]);
    let vb = vrouter(&rt, &b, "cb", 22, &[&instance("red")]);
    va.publish(&instance("red"), &[host_route("10.9.8.3", 31)], true);
    vb.publish(&instance("red"), &[host_route("10.9.8.4", 32)], true);
    let from_a = format!("198.18.0.21:{red_id}:10.9.8.3/32");
    let from_b = format!("198.18.0.22:{red_id}:10.9.8.4/32");
    wait_for(
        "both vrouters' routes in GoBGP's table",
        Duration::from_secs(20),
        || {
            let t = g.vpnv4();
            t.contains(&from_a) && t.contains(&from_b)
        },
        ctx,
    );
    let t = g.vpnv4();
    for (key, label, nh) in [
        (&from_a, "[31]", " 198.18.0.21 "),
        (&from_b, "[32]", " 198.18.0.22 "),
    ] {
        let line = t.lines().find(|l| l.contains(key.as_str())).unwrap();
        for want in [label, nh, "64512:100"] {
            assert!(line.contains(want), "{want} in {line}");
        }
    }

    let flaps = a.neighbor(g_ip).unwrap()["flaps"].clone();
    b.stop();
    wait_for(
        "A sees B go",
        Duration::from_secs(15),
        || !up(&a, b_ip),
        ctx,
    );
    std::thread::sleep(Duration::from_secs(1));
    let n = a.neighbor(g_ip).unwrap();
    assert_eq!(
        (n["state"].as_str(), &n["flaps"]),
        (Some("Established"), &flaps),
        "GoBGP session undisturbed: {n}"
    );
    assert!(a.route(RED, "10.9.0.0/24").is_some());
    assert!(g.cli("neighbor").contains("Establ"));
    // Nor what GoBGP has from A: A's vrouter's route, and B's, which A keeps (stale) for B's
    // graceful-restart time (120 s by default) and goes on advertising.
    let t = g.vpnv4();
    assert!(
        t.contains(&from_a) && t.contains(&from_b),
        "GoBGP keeps both vrouters' routes: {t}"
    );
    let kept = a
        .route(RED, "10.9.8.4/32")
        .expect("B's vrouter's route on A");
    assert_eq!(
        (kept["stale"].as_bool(), kept["source"].as_str()),
        (Some(true), Some(b_ip.to_string().as_str())),
        "{kept}"
    );
    // B's own bgp-router stays configured: A keeps trying to reach it.
    assert!(a.neighbor(b_ip).is_some());
}
