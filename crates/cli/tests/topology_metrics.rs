//! Prometheus in a sandbox (`cirrusctl sandbox`, one compute node): a real Prometheus inside
//! the compute node's namespace scrapes the vrouter's introspect `/metrics`, and another in
//! the root namespace scrapes the controller's. Two workloads ping each other, then a
//! security group on one of them refuses the pings. Through Prometheus' query API: both
//! targets are up; the vrouter's series show the controller session, the ports, each
//! workload port's packets, and exactly the flow decisions, refusals by reason and
//! pipeline drops its JSON introspect shows; each decision was timed; the controller's show
//! the vrouter connected and its routes. `promtool check metrics` passes on the vrouter's
//! exposition.

mod common;

use std::time::Duration;

use cirrus_metrics::testing::{
    Job, Prometheus, http_get, prometheus_can_run, promtool_check_metrics,
};
use common::{Sandbox, sandbox_can_run, text, wait_until};

const NET: &str = "default-domain:met:blue";

const CONFIG: &str = "\
kind: project
fq_name: [default-domain, met]
---
kind: network-ipam
fq_name: [default-domain, met, met-ipam]
---
kind: virtual-network
fq_name: [default-domain, met, blue]
network_ipam_refs:
  - to: [default-domain, met, met-ipam]
    attr:
      ipam_subnets:
        - subnet: {ip_prefix: 10.40.0.0, ip_prefix_len: 24}
---
kind: security-group
fq_name: [default-domain, met, web-only]
security_group_entries:
  policy_rule:
    - direction: \">\"
      protocol: tcp
      ethertype: IPv4
      src_addresses: [{subnet: {ip_prefix: 0.0.0.0, ip_prefix_len: 0}}]
      src_ports: [{start_port: 0, end_port: 65535}]
      dst_addresses: [{security_group: local}]
      dst_ports: [{start_port: 80, end_port: 80}]
    - direction: \">\"
      protocol: any
      ethertype: IPv4
      src_addresses: [{security_group: local}]
      src_ports: [{start_port: 0, end_port: 65535}]
      dst_addresses: [{subnet: {ip_prefix: 0.0.0.0, ip_prefix_len: 0}}]
      dst_ports: [{start_port: 0, end_port: 65535}]
";

/// Polls until Prometheus' value of `expr` equals what `truth` reads now (the vrouter's own
/// JSON introspect); returns it.
fn agree(p: &Prometheus, expr: &str, truth: impl Fn() -> f64, ctx: impl Fn() -> String) -> f64 {
    let last = std::cell::Cell::new((None, 0.0));
    wait_until(
        &format!("Prometheus' {expr} to match introspect"),
        Duration::from_secs(20),
        || {
            let want = truth();
            let got = p.value(expr);
            last.set((got, want));
            (got == Some(want)).then_some(want)
        },
        || {
            let (got, want) = last.get();
            format!("last: prometheus {got:?}, introspect {want}\n{}", ctx())
        },
    )
}

#[test]
fn prometheus_scrapes_a_vrouter_and_its_controller() {
    let test = "prometheus_scrapes_a_vrouter_and_its_controller";
    if !sandbox_can_run(test, &["ping", "curl"]) || !prometheus_can_run(test) {
        return;
    }
    let sb = Sandbox::new("met");
    sb.up(1);
    sb.apply(CONFIG);
    sb.add_workload("m1", "c1", NET);
    let m2 = sb.add_workload("m2", "c1", NET);
    sb.wait_ping("m1", &m2, Duration::from_secs(20));
    for _ in 0..4 {
        assert!(sb.ping("m1", &m2), "m1 to m2");
    }
    // Only TCP 80 may reach m2 now: pings set up flows that are refused.
    sb.apply(
        "kind: virtual-machine-interface\nfq_name: [default-domain, met, m2]\n\
         security_group_refs:\n  - to: [default-domain, met, web-only]\n",
    );
    wait_until(
        "pings to m2 to be refused",
        Duration::from_secs(20),
        || (!sb.ping("m1", &m2)).then_some(()),
        || sb.logs(),
    );
    assert!(!sb.ping("m1", &m2), "a ping passed the security group");

    let lab = sb.lab();
    let ns = lab.compute("c1").unwrap().netns.clone();
    let tap = |w: &str| lab.workload(w).unwrap().host_ifname.clone();
    let vrouter = Prometheus::start(
        &[Job {
            name: "vrouter",
            targets: vec![cirrus_lab::VROUTER_INTROSPECT.to_string()],
        }],
        &[],
        Some(&ns),
    );
    let controller = Prometheus::start(
        &[Job {
            name: "controller",
            targets: vec![sb.introspect.clone()],
        }],
        &[],
        None,
    );
    vrouter.wait_targets_up(Duration::from_secs(20));
    controller.wait_targets_up(Duration::from_secs(20));
    let ctx = || format!("{}\n{}", vrouter.log(), sb.logs());

    // The vrouter: its controller session and ports.
    let limit = Duration::from_secs(20);
    vrouter.wait_value("up{job=\"vrouter\"}", 1.0, limit, ctx);
    vrouter.wait_value("sum(cirrus_vrouter_controller_up)", 1.0, limit, ctx);
    vrouter.wait_value("cirrus_vrouter_ports", 2.0, limit, ctx);
    // Each workload port carried the pings (m1's received the requests, m2's sent the
    // replies), whatever ARP and DHCP added.
    for (w, dir) in [("m1", "rx"), ("m2", "rx"), ("m1", "tx"), ("m2", "tx")] {
        let expr = format!(
            "cirrus_vrouter_port_{dir}_packets_total{{interface=\"{}\"}}",
            tap(w)
        );
        let n = vrouter.value(&expr).unwrap_or(0.0);
        assert!(n >= 5.0, "{expr} = {n}\n{}", ctx());
        let bytes = expr.replace("_packets_", "_bytes_");
        let b = vrouter.value(&bytes).unwrap_or(0.0);
        assert!(b >= n * 64.0, "{bytes} = {b} for {n} packets");
    }

    // Flow setup, exactly as the JSON introspect counts it.
    let drops = || sb.vrouter_introspect("c1", "/drops");
    let denied = agree(
        &vrouter,
        "cirrus_vrouter_flows_denied_total{reason=\"security-group\"}",
        || {
            drops()["flow_setup"]["by_reason"]["security-group"]
                .as_f64()
                .unwrap_or(0.0)
        },
        ctx,
    );
    assert!(denied >= 1.0, "no refusal counted");
    let created = agree(
        &vrouter,
        "cirrus_vrouter_flows_created_total",
        || drops()["flow_setup"]["decided"].as_f64().unwrap_or(0.0),
        ctx,
    );
    assert!(created > denied, "created {created}, denied {denied}");
    // Every decision was timed.
    vrouter.wait_value(
        "cirrus_vrouter_flow_setup_seconds_count - cirrus_vrouter_flows_created_total",
        0.0,
        limit,
        ctx,
    );
    // Pipeline drops by reason, all of them.
    let pipeline = drops()["pipeline"].clone();
    for (reason, _) in pipeline.as_object().unwrap() {
        let snake: String = reason
            .chars()
            .enumerate()
            .flat_map(|(i, c)| {
                let sep = (i > 0 && c.is_ascii_uppercase()).then_some('_');
                sep.into_iter().chain([c.to_ascii_lowercase()])
            })
            .collect();
        agree(
            &vrouter,
            &format!("cirrus_vrouter_drops_total{{reason=\"{snake}\"}}"),
            || drops()["pipeline"][reason].as_f64().unwrap_or(0.0),
            ctx,
        );
    }
    let capacity = vrouter
        .value("cirrus_vrouter_flow_table_capacity")
        .unwrap_or(0.0);
    assert!(capacity > 0.0, "flow table capacity {capacity}");

    // The exposition passes Prometheus' linter.
    let url = format!("http://{}/metrics", cirrus_lab::VROUTER_INTROSPECT);
    let out = sb.exec("c1", &["curl", "-sf", "--max-time", "5", &url]);
    assert!(out.status.success(), "curl {url}: {out:?}");
    let (ok, said) = promtool_check_metrics(&text(&out.stdout));
    assert!(ok, "promtool check metrics: {said}\n{}", text(&out.stdout));

    // The controller sees the vrouter and the routes of its two workloads.
    let cctx = || format!("{}\n{}", controller.log(), sb.logs());
    controller.wait_value(
        "cirrus_channel_vrouter_up{vrouter=\"c1\"}",
        1.0,
        limit,
        cctx,
    );
    controller.wait_value("cirrus_channel_sessions", 1.0, limit, cctx);
    let published = controller
        .value("cirrus_channel_routes_published{vrouter=\"c1\"}")
        .unwrap_or(0.0);
    assert!(published >= 2.0, "routes published by c1: {published}");
    let api = sb.api.parse().unwrap();
    let (status, _) = http_get(api, "/metrics").unwrap();
    assert_eq!(status, 200, "the API listener serves /metrics too");
}
