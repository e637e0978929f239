//! A real Prometheus scrapes a real `cirrus-controller` on both of its listeners (introspect,
//! the control node's port, and the VNC API) while a real GoBGP peers with it and a
//! (simulated) vrouter holds a channel session. Prometheus' own query API must then show the
//! targets up and the values the test caused: API requests by method, type and status, store
//! transactions, BGP session state and prefixes per peer and family, channel sessions and
//! routes, intent compiles. The exposition passes `promtool check metrics`. Stopping the peer
//! and the vrouter turns their series to 0, which the alert rules read.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use cirrus_metrics::testing::{
    Job, Prometheus, http_get, prometheus_can_run, promtool_check_metrics,
};
use common::channel::{host_route, instance, network, port, runtime, vrouter};
use common::{Controller, GOBGP_AS, GoBgp, bgp_router, peering, wait_for};

const T: &str = "controller_metrics_are_scraped_by_prometheus";

#[test]
fn controller_metrics_are_scraped_by_prometheus() {
    if !prometheus_can_run(T) {
        return;
    }
    let (c_ip, g_ip) = (Ipv4Addr::new(127, 0, 8, 1), Ipv4Addr::new(127, 0, 8, 2));
    let c = Controller::start("cn1", c_ip, None);
    let g = GoBgp::start(g_ip, c.bgp, 64512, &["l3vpn-ipv4-unicast"]);
    c.create(
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
    g.cli(
        "global rib -a vpnv4 add 10.9.0.0/24 label 900 rd 65001:9 rt 64512:9001 nexthop 198.18.0.9",
    );
    g.cli(
        "global rib -a vpnv4 add 10.9.1.0/24 label 901 rd 65001:9 rt 64512:9001 nexthop 198.18.0.9",
    );

    // One network (one POST /virtual-networks), a port on vrouter c1 and its route.
    network(&c, "green", "10.8.0.0/24", &["target:64512:7002"], &[]);
    port(&c, "green", "p1", "c1", "10.8.0.3");
    let rt = runtime();
    let v1 = vrouter(&rt, &c, "c1", 11, &[&instance("green")]);
    v1.publish(&instance("green"), &[host_route("10.8.0.3", 30)], true);
    // A miss: counted as a 404 of its type.
    let missing = common::http("GET", c.api, "/virtual-network/no-such-uuid", None).unwrap();
    assert_eq!(missing.0, 404, "{missing:?}");

    // The shipped alert rules load (a bad rule would stop Prometheus from starting).
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let p = Prometheus::start(
        &[
            Job {
                name: "controller",
                targets: vec![c.introspect.to_string()],
            },
            Job {
                name: "controller-api",
                targets: vec![c.api.to_string()],
            },
        ],
        &[&repo.join("deploy/prometheus/cirrus-alerts.yml")],
        None,
    );
    p.wait_targets_up(Duration::from_secs(20));
    let limit = Duration::from_secs(20);
    let peer = format!("peer=\"{g_ip}\"");
    for (expr, want) in [
        ("up{job=\"controller\"}".to_string(), 1.0),
        ("up{job=\"controller-api\"}".to_string(), 1.0),
        (format!("cirrus_bgp_peer_up{{job=\"controller\",{peer}}}"), 1.0),
        (
            format!("cirrus_bgp_prefixes_received{{job=\"controller\",{peer},family=\"inet-vpn\"}}"),
            2.0,
        ),
        (
            format!("cirrus_bgp_prefixes_advertised{{job=\"controller\",{peer},family=\"inet-vpn\"}}"),
            1.0,
        ),
        ("cirrus_bgp_sessions{job=\"controller\",state=\"Established\"}".into(), 1.0),
        ("cirrus_channel_sessions{job=\"controller\"}".into(), 1.0),
        ("cirrus_channel_vrouter_up{job=\"controller\",vrouter=\"c1\"}".into(), 1.0),
        ("cirrus_channel_routes_published{job=\"controller\",vrouter=\"c1\"}".into(), 1.0),
        ("cirrus_channel_routes_received_total{job=\"controller\",vrouter=\"c1\"}".into(), 1.0),
        (
            "cirrus_api_request_duration_seconds_count{job=\"controller\",method=\"POST\",type=\"virtual-network\",status=\"200\"}".into(),
            1.0,
        ),
        (
            "cirrus_api_request_duration_seconds_count{job=\"controller\",method=\"GET\",type=\"virtual-network\",status=\"404\"}".into(),
            1.0,
        ),
        (
            "cirrus_api_request_duration_seconds_bucket{job=\"controller\",method=\"POST\",type=\"bgp-router\",status=\"200\",le=\"+Inf\"}".into(),
            1.0,
        ),
        ("cirrus_store_watch_lag_revisions{job=\"controller\"}".into(), 0.0),
        // Both listeners answer the same exposition.
        (
            "count(cirrus_config_objects == ignoring(job, instance) group_left cirrus_config_objects{job=\"controller-api\"})".into(),
            2.0,
        ),
    ] {
        p.wait_value(&expr, want, limit, ctx);
    }
    // Writes: every create committed one store transaction or more; compiles happened.
    let committed = p
        .value("cirrus_store_transactions_total{job=\"controller\",outcome=\"committed\"}")
        .unwrap_or(0.0);
    assert!(committed >= 5.0, "committed transactions: {committed}");
    let full = p
        .value("cirrus_intent_compile_seconds_count{job=\"controller\",kind=\"full\"}")
        .unwrap_or(0.0);
    assert!(full >= 1.0, "full compiles: {full}");
    let watched = p
        .value("cirrus_store_watch_lag_seconds_count{job=\"controller\"}")
        .unwrap_or(0.0);
    assert!(watched >= 5.0, "timed watch lags: {watched}");

    // Every query of the shipped dashboard parses and runs here.
    let dash: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo.join("deploy/grafana/cirrus.json")).unwrap(),
    )
    .unwrap();
    let mut queries = 0;
    for panel in dash["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().unwrap();
            p.query(&expr.replace("$controller", ".*").replace("$vrouter", ".*"));
            queries += 1;
        }
    }
    assert!(queries > 20, "{queries} dashboard queries");

    // The exposition itself is well-formed for Prometheus' linter, on both listeners.
    for addr in [c.introspect, c.api] {
        let (status, text) = http_get(addr, "/metrics").unwrap();
        assert_eq!(status, 200, "{text}");
        let (ok, said) = promtool_check_metrics(&text);
        assert!(ok, "promtool check metrics on {addr}: {said}\n{text}");
    }

    // The vrouter leaves and the peer stops: their series say so.
    drop(v1);
    drop(g);
    p.wait_value(
        &format!("cirrus_bgp_peer_up{{job=\"controller\",{peer}}}"),
        0.0,
        Duration::from_secs(40),
        || c.log(),
    );
    p.wait_value(
        "cirrus_channel_vrouter_up{job=\"controller\",vrouter=\"c1\"}",
        0.0,
        limit,
        || c.log(),
    );
    p.wait_value(
        "cirrus_channel_sessions{job=\"controller\"}",
        0.0,
        limit,
        || c.log(),
    );
}
