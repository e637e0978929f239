//! A real `cirrus-controller` configured only through its REST API, the Contrail way, peering
//! with a real GoBGP: a bgp-router for GoBGP with a ref to the controller's own bgp-router
//! brings the session up; a virtual network's `route_target_list` imports GoBGP's inet-vpn
//! route into its instance; a (simulated) vrouter's route reaches GoBGP's table; removing the
//! ref takes the session down and that route out of GoBGP's table. All live, no restart.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::channel::{host_route, instance, network, port, runtime, vrouter};
use common::{Controller, GOBGP_AS, GoBgp, bgp_router, peering, wait_for};
use serde_json::json;

const BLUE: &str = "default-domain:default-project:blue:blue";

#[test]
fn gobgp_peer_and_targets_from_the_api_take_effect_live() {
    let (c_ip, g_ip) = (Ipv4Addr::new(127, 0, 6, 1), Ipv4Addr::new(127, 0, 6, 2));
    let c = Controller::start("cn1", c_ip, None);
    let pid = c.pid();
    assert!(c.neighbors().is_empty(), "no peers configured yet");
    // The controller made its own bgp-router from --bgp-address / --bgp-port.
    let own = c.api(
        "POST",
        "/fqname-to-id",
        Some(json!({"type": "bgp-router",
            "fq_name": ["default-domain", "default-project", "ip-fabric", "__default__", "cn1"]})),
    );
    let own = c.api(
        "GET",
        &format!("/bgp-router/{}", own["uuid"].as_str().unwrap()),
        None,
    );
    let p = &own["bgp-router"]["bgp_router_parameters"];
    assert_eq!(
        (
            p["address"].as_str(),
            p["port"].as_u64(),
            p["router_type"].as_str()
        ),
        (
            Some("127.0.6.1"),
            Some(u64::from(c.bgp.port())),
            Some("control-node")
        )
    );

    let g = GoBgp::start(g_ip, c.bgp, 64512, &["l3vpn-ipv4-unicast"]);
    // The ref goes from GoBGP's bgp-router to ours: Contrail's links work either way.
    let gw = c.create(
        "bgp-router",
        bgp_router(
            "gw",
            "router",
            g.at,
            GOBGP_AS,
            vec![peering("cn1", &["inet-vpn"])],
        ),
    );
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
    let n = c.neighbor(g_ip).unwrap();
    assert_eq!(n["asn"], GOBGP_AS);
    assert_eq!(n["port"], g.at.port());
    assert_eq!(n["families"], json!(["inet-vpn"]));
    assert!(
        g.cli("neighbor").contains("Establ"),
        "{}",
        g.cli("neighbor")
    );

    // A network without targets: GoBGP's route stays in the global table only.
    let vn = c.create(
        "virtual-network",
        json!({"fq_name": ["default-domain", "default-project", "blue"], "parent_type": "project"}),
    );
    g.cli(
        "global rib -a vpnv4 add 10.7.0.0/24 label 700 rd 65001:7 rt 64512:7001 nexthop 198.18.0.7",
    );
    wait_for(
        "GoBGP's route in bgp.l3vpn.0",
        Duration::from_secs(15),
        || c.route("bgp.l3vpn.0", "10.7.0.0/24").is_some(),
        ctx,
    );
    let r = c.route("bgp.l3vpn.0", "10.7.0.0/24").unwrap();
    assert_eq!(
        (r["rd"].as_str(), r["family"].as_str()),
        (Some("65001:7"), Some("inet-vpn"))
    );
    wait_for(
        "blue's instance in the control node",
        Duration::from_secs(15),
        || c.routes_answer(&format!("instance={BLUE}")).0 == 200,
        ctx,
    );
    assert!(c.routes(BLUE).is_empty(), "{:?}", c.routes(BLUE));

    // The network's route_target_list imports it, live.
    c.update(
        "virtual-network",
        &vn,
        json!({"route_target_list": {"route_target": ["target:64512:7001"]}}),
    );
    wait_for(
        "GoBGP's route in blue",
        Duration::from_secs(15),
        || c.route(BLUE, "10.7.0.0/24").is_some(),
        ctx,
    );
    let r = c.route(BLUE, "10.7.0.0/24").unwrap();
    assert_eq!(r["label"], 700);
    assert_eq!(r["next_hop"], "198.18.0.7");
    assert_eq!(r["targets"], json!(["target:64512:7001"]));
    assert_eq!(r["as_path"], "65001");
    assert_eq!(r["source"], g_ip.to_string());
    assert_eq!(r["best"], true);
    // The network's own fq_name and Contrail's table name find the same instance.
    assert!(
        c.route("default-domain:default-project:blue", "10.7.0.0/24")
            .is_some()
    );
    assert!(c.route(&format!("{BLUE}.inet.0"), "10.7.0.0/24").is_some());
    let n = c.neighbor(g_ip).unwrap();
    assert!(n["prefixes_received"].as_u64() >= Some(1), "{n}");

    // What GoBGP receives: a vrouter's route in network green, as VPNv4 with the vrouter's RD
    // (`<address>:<network id>`), its label and address, and green's target.
    let green = network(&c, "green", "10.8.0.0/24", &["target:64512:7002"], &[]);
    let green_id = c.api("GET", &format!("/virtual-network/{green}"), None)["virtual-network"]
        ["virtual_network_network_id"]
        .as_u64()
        .unwrap();
    port(&c, "green", "p1", "c1", "10.8.0.3");
    let rt = runtime();
    let v1 = vrouter(&rt, &c, "c1", 11, &[&instance("green")]);
    v1.publish(&instance("green"), &[host_route("10.8.0.3", 30)], true);
    let key = format!("198.18.0.11:{green_id}:10.8.0.3/32");
    wait_for(
        "the vrouter's route in GoBGP's table",
        Duration::from_secs(20),
        || g.vpnv4().contains(&key),
        ctx,
    );
    let t = g.vpnv4();
    let line = t.lines().find(|l| l.contains(&key)).unwrap();
    for want in ["[30]", " 198.18.0.11 ", "64512:7002"] {
        assert!(line.contains(want), "{want} in {line}");
    }

    // Bad parameters are clear 400s; unknown instances 404s.
    let (status, v) = c.routes_answer("instance=bgp.l3vpn.0&family=ipv4");
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("ipv4"), "{v}");
    assert_eq!(c.routes_answer("instance=no:such:ri:x").0, 404);

    // Removing the ref ends the peering, live.
    c.update("bgp-router", &gw, json!({"bgp_router_refs": []}));
    wait_for(
        "the GoBGP neighbor gone",
        Duration::from_secs(15),
        || c.neighbor(g_ip).is_none(),
        ctx,
    );
    wait_for(
        "GoBGP's route withdrawn from blue",
        Duration::from_secs(15),
        || c.route(BLUE, "10.7.0.0/24").is_none(),
        ctx,
    );
    wait_for(
        "GoBGP sees the session down",
        Duration::from_secs(15),
        || !g.cli("neighbor").contains("Establ"),
        ctx,
    );
    let t = g.vpnv4();
    assert!(
        !t.contains("10.8.0.3/32"),
        "GoBGP keeps the vrouter's route: {t}"
    );
    assert_eq!(c.pid(), pid, "same process all along");
}
