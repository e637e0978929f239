//! Vrouters' routes reach a real GoBGP peer as VPNv4 (RD `<vrouter address>:<network id>`,
//! the vrouter's label and address as next hop, the network's target, tunnel-encapsulation
//! communities) and as EVPN type 2 (MAC/IP, VNI), read with the `gobgp` CLI; a route GoBGP
//! advertises with the network's target reaches the vrouters subscribed to the network.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use cirrus_control::testing::SimRoute;
use cirrus_proto::convert::Prefix;
use common::channel::{instance, network, port, runtime, vrouter, wait};
use common::{Controller, GOBGP_AS, GoBgp, bgp_router, peering, wait_for};

#[test]
fn gobgp_learns_vrouter_routes_as_vpnv4_and_evpn_and_its_route_reaches_the_vrouters() {
    let (c_ip, g_ip) = (Ipv4Addr::new(127, 0, 7, 5), Ipv4Addr::new(127, 0, 7, 6));
    let c = Controller::start("cn1", c_ip, None);
    let g = GoBgp::start(g_ip, c.bgp, 64512, &["l3vpn-ipv4-unicast", "l2vpn-evpn"]);
    c.create(
        "bgp-router",
        bgp_router(
            "gw",
            "router",
            g.at,
            GOBGP_AS,
            vec![peering("cn1", &["inet-vpn", "e-vpn"])],
        ),
    );
    let vn = network(&c, "red", "10.1.0.0/24", &["target:64512:8105"], &[]);
    let vn_id = c.api("GET", &format!("/virtual-network/{vn}"), None)["virtual-network"]["virtual_network_network_id"]
        .as_u64()
        .unwrap();
    port(&c, "red", "p1", "c1", "10.1.0.3");
    port(&c, "red", "p2", "c2", "10.1.0.4");
    let red = instance("red");
    let ctx = || format!("{:?}\n{}\n{}", c.neighbors(), c.log(), g.log());
    wait_for(
        "the GoBGP session Established",
        Duration::from_secs(30),
        || {
            c.neighbor(g_ip)
                .is_some_and(|n| n["state"] == "Established")
        },
        ctx,
    );

    let rt = runtime();
    let v1 = vrouter(&rt, &c, "c1", 11, &[&red]);
    let v2 = vrouter(&rt, &c, "c2", 12, &[&red]);
    let route = |ip: &str, label, mac: u8| SimRoute {
        prefix: Prefix::host(ip.parse().unwrap()),
        label,
        vni: vn_id as u32,
        mac: Some([2, 0, 0, 0, 0, mac]),
    };
    v1.publish(&red, &[route("10.1.0.3", 20, 3)], true);
    v2.publish(&red, &[route("10.1.0.4", 21, 4)], true);

    let rd1 = format!("198.18.0.11:{vn_id}:10.1.0.3/32");
    let rd2 = format!("198.18.0.12:{vn_id}:10.1.0.4/32");
    wait_for(
        "both vrouters' routes in GoBGP's VPNv4 table",
        Duration::from_secs(20),
        || {
            let t = g.cli_ok("global rib -a vpnv4");
            t.contains(&rd1) && t.contains(&rd2)
        },
        ctx,
    );
    let t = g.cli_ok("global rib -a vpnv4");
    let line = t.lines().find(|l| l.contains(&rd1)).unwrap();
    assert!(line.contains("[20]"), "label: {line}");
    assert!(line.contains("198.18.0.11"), "next hop: {line}");
    assert!(line.contains("64512:8105"), "target: {line}");
    assert!(
        line.contains("[MPLS in UDP], [GRE], [VXLAN]"),
        "encapsulations: {line}"
    );
    wait_for(
        "the EVPN type-2 routes in GoBGP",
        Duration::from_secs(20),
        || {
            let t = g.cli_ok("global rib -a evpn");
            t.contains("02:00:00:00:00:03") && t.contains("02:00:00:00:00:04")
        },
        ctx,
    );
    let t = g.cli_ok("global rib -a evpn");
    let line = t.lines().find(|l| l.contains("02:00:00:00:00:03")).unwrap();
    assert!(
        line.contains("macadv") && line.contains("10.1.0.3"),
        "{line}"
    );
    assert!(line.contains(&format!("198.18.0.11:{vn_id}")), "rd: {line}");

    // A gateway route with the network's target reaches both vrouters.
    g.cli_ok(
        "global rib -a vpnv4 add 192.0.2.0/24 label 700 rd 65001:7 rt 64512:8105 nexthop 192.0.2.1",
    );
    for v in [&v1, &v2] {
        wait(&rt, &c, v, "GoBGP's route", |s| {
            s.next_hops(&red, "192.0.2.0/24") == vec![(IpAddr::from([192, 0, 2, 1]), 700)]
        });
    }
    v1.with(|s| {
        let r = s.route(&red, "192.0.2.0/24").unwrap();
        assert_eq!(r.nexthops[0].origin, format!("bgp:{g_ip}"));
        assert_eq!(s.count(&red), 3);
    });
    // Withdrawn by GoBGP: gone from the vrouters.
    g.cli_ok(
        "global rib -a vpnv4 del 192.0.2.0/24 label 700 rd 65001:7 rt 64512:8105 nexthop 192.0.2.1",
    );
    wait(&rt, &c, &v2, "GoBGP's route withdrawn", |s| {
        s.route(&red, "192.0.2.0/24").is_none()
    });
    // And a vrouter that leaves takes its routes out of BGP.
    v1.close();
    wait_for(
        "c1's route withdrawn from GoBGP",
        Duration::from_secs(20),
        || !g.cli_ok("global rib -a vpnv4").contains(&rd1),
        ctx,
    );
}
