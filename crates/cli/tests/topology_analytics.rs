//! Flow analytics end to end on two compute nodes (`cirrusctl sandbox`): a network policy
//! between networks left and right passes TCP 80 (rule A) and denies the rest (rule B).
//! Within the vrouters' export interval (1 s in a sandbox), the analytics API (Contrail's query API on the
//! controller) shows l1's connection to r1:80 in FlowSeriesTable and SessionSeriesTable as
//! passed by rule A, and its attempt at r1:81 as denied by rule B.

mod common;

use std::time::Duration;

use common::{Background, Sandbox, sandbox_can_run, text, wait_until};
use serde_json::{Value, json};

const LEFT: &str = "default-domain:ana:left";
const RIGHT: &str = "default-domain:ana:right";
/// Outside every subnet of the sandbox: no route to it.
const NOWHERE: &str = "10.31.9.9";

const CONFIG: &str = "\
kind: project
fq_name: [default-domain, ana]
---
kind: network-ipam
fq_name: [default-domain, ana, ana-ipam]
---
kind: network-policy
fq_name: [default-domain, ana, web]
network_policy_entries:
  policy_rule:
    - direction: \"<>\"
      protocol: tcp
      ethertype: IPv4
      src_addresses: [{virtual_network: \"default-domain:ana:left\"}]
      src_ports: [{start_port: -1, end_port: -1}]
      dst_addresses: [{virtual_network: \"default-domain:ana:right\"}]
      dst_ports: [{start_port: 80, end_port: 80}]
      action_list: {simple_action: pass}
    - direction: \"<>\"
      protocol: any
      ethertype: IPv4
      src_addresses: [{virtual_network: \"default-domain:ana:left\"}]
      src_ports: [{start_port: -1, end_port: -1}]
      dst_addresses: [{virtual_network: \"default-domain:ana:right\"}]
      dst_ports: [{start_port: -1, end_port: -1}]
      action_list: {simple_action: deny}
";

fn networks() -> String {
    ["left", "right"]
        .iter()
        .zip(["10.31.1.0", "10.31.2.0"])
        .map(|(name, prefix)| {
            format!(
                "---\nkind: virtual-network\nfq_name: [default-domain, ana, {name}]\n\
                 network_ipam_refs:\n  - to: [default-domain, ana, ana-ipam]\n    attr:\n      \
                 ipam_subnets:\n        - subnet: {{ip_prefix: {prefix}, ip_prefix_len: 24}}\n\
                 network_policy_refs:\n  - to: [default-domain, ana, web]\n    \
                 attr: {{sequence: {{major: 0, minor: 0}}}}\n"
            )
        })
        .collect()
}

fn connect(sb: &Sandbox, from: &str, addr: &str, port: u16) -> Option<String> {
    let out = sb.exec(from, &["busybox", "nc", "-w", "2", addr, &port.to_string()]);
    let said = text(&out.stdout).trim().to_string();
    (out.status.success() && !said.is_empty()).then_some(said)
}

fn query(sb: &Sandbox, body: &Value) -> Vec<Value> {
    let url = format!("http://{}/analytics/query", sb.analytics);
    let a = cirrus_lab::http::call("POST", &url, Some(body), Duration::from_secs(10)).unwrap();
    assert!(a.ok(), "POST {url}: {} {}", a.status, a.body);
    let v = a.json().unwrap();
    v["value"].as_array().cloned().unwrap_or_default()
}

#[test]
fn flows_and_sessions_name_the_rule_that_passed_or_denied_them() {
    let test = "flows_and_sessions_name_the_rule_that_passed_or_denied_them";
    if !sandbox_can_run(test, &["ping"]) {
        return;
    }
    let sb = Sandbox::new("ana");
    sb.up(2);
    sb.apply(CONFIG);
    sb.apply(&networks());
    let l1 = sb.add_workload("l1", "c1", LEFT);
    let r1 = sb.add_workload("r1", "c2", RIGHT);
    let _servers: Vec<Background> = [80, 81]
        .iter()
        .map(|port| {
            let port = port.to_string();
            let hello = format!("r1:{port}");
            Background::start(
                &sb,
                "r1",
                &["busybox", "nc", "-ll", "-p", &port, "-e", "echo", &hello],
            )
        })
        .collect();
    let policy = sb.uuid("network-policy", &["default-domain", "ana", "web"]);
    let p = sb.rest("GET", &format!("/network-policy/{policy}"), None);
    let rules = &p["network-policy"]["network_policy_entries"]["policy_rule"];
    let (rule_a, rule_b) = (
        rules[0]["rule_uuid"]
            .as_str()
            .expect("rule A's uuid")
            .to_string(),
        rules[1]["rule_uuid"]
            .as_str()
            .expect("rule B's uuid")
            .to_string(),
    );

    let said = wait_until(
        "l1 to reach r1:80",
        Duration::from_secs(30),
        || connect(&sb, "l1", &r1, 80),
        || sb.logs(),
    );
    assert_eq!(said, "r1:80");
    assert_eq!(
        connect(&sb, "l1", &r1, 81),
        None,
        "r1:81 is denied by rule B"
    );
    // An address no network has a route to: dropped, its network unknown.
    assert_eq!(connect(&sb, "l1", NOWHERE, 80), None);

    // Within the export interval and a little more for the collector.
    let flows = json!({
        "table": "FlowSeriesTable", "start_time": "now-10m", "end_time": "now",
        "select_fields": ["vrouter", "dport", "action", "nw_ace_uuid", "drop_reason", "SUM(packets)"],
        "where": [[{"name": "sourceip", "value": l1, "op": 1}, {"name": "destip", "value": r1, "op": 1}]],
        "sort_fields": ["vrouter", "dport"], "sort": 1,
    });
    let rows = wait_until(
        "both connections in FlowSeriesTable",
        Duration::from_secs(15),
        || {
            let rows = query(&sb, &flows);
            let ports: Vec<i64> = rows.iter().filter_map(|r| r["dport"].as_i64()).collect();
            (ports.contains(&80) && ports.contains(&81)).then_some(rows)
        },
        || {
            let all = json!({"table": "FlowSeriesTable", "start_time": "now-10m", "end_time": "now",
                             "select_fields": ["vrouter", "sourceip", "destip", "sport", "dport", "action", "nw_ace_uuid"]});
            format!("every flow recorded: {:?}\n{}", query(&sb, &all), sb.logs())
        },
    );
    for r in &rows {
        if r["dport"] == 80 {
            assert_eq!(
                (&r["action"], &r["nw_ace_uuid"]),
                (&json!("pass"), &json!(rule_a)),
                "{r}"
            );
        } else {
            assert_eq!(
                (&r["action"], &r["nw_ace_uuid"], &r["drop_reason"]),
                (&json!("deny"), &json!(rule_b), &json!("Flow drop Policy")),
                "{r}"
            );
        }
    }
    // Sampled while alive (every second in a sandbox), the passed connection has counts.
    let packets: i64 = rows
        .iter()
        .filter(|r| r["dport"] == 80)
        .filter_map(|r| r["SUM(packets)"].as_i64())
        .sum();
    assert!(packets > 0, "{rows:?}");
    // c1 decided both (l1 is its port).
    assert!(
        rows.iter()
            .any(|r| r["vrouter"] == "c1" && r["dport"] == 81),
        "{rows:?}"
    );

    let sessions = json!({
        "table": "SessionSeriesTable", "start_time": "now-10m", "end_time": "now",
        "session_type": "client",
        "select_fields": ["vrouter", "remote_ip", "server_port", "forward_action", "forward_nw_ace_uuid", "vn", "remote_vn"],
        "where": [[{"name": "local_ip", "value": l1, "op": 1}]],
        "sort_fields": ["server_port"], "sort": 1,
    });
    let rows = query(&sb, &sessions);
    let want = |port: i64, action: &str, rule: &str| {
        json!({"vrouter": "c1", "remote_ip": r1, "server_port": port, "forward_action": action,
               "forward_nw_ace_uuid": rule, "vn": LEFT, "remote_vn": RIGHT})
    };
    assert!(rows.contains(&want(80, "pass", &rule_a)), "{rows:?}");
    assert!(rows.contains(&want(81, "deny", &rule_b)), "{rows:?}");

    underlay_teardown_and_networks(&sb, &l1, &r1);
}

/// The fields of issue 11 part 1 on the same flows: l1:x -> r1:80 crossed the fabric from
/// c1 to c2 (MPLS over UDP between the two vrouters, the tunnel's entropy source port on
/// the direction each vrouter sent), was closed by FIN (teardown reason); a flow to an
/// address without a route is dropped as Contrail's agent says it and names the unknown
/// network as it does, and no flow of the sandbox has an empty network.
fn underlay_teardown_and_networks(sb: &Sandbox, l1: &str, r1: &str) {
    let q = json!({
        "table": "FlowSeriesTable", "start_time": "now-10m", "end_time": "now",
        "select_fields": ["vrouter", "vrouter_ip", "other_vrouter_ip", "underlay_proto",
                          "underlay_source_port", "sourcevn", "destvn", "sourceip", "destip",
                          "sport", "dport", "teardown_reason", "T"],
        "where": [[{"name": "sourceip", "value": l1, "op": 1}, {"name": "destip", "value": r1, "op": 1}],
                  [{"name": "sourceip", "value": r1, "op": 1}, {"name": "destip", "value": l1, "op": 1}]],
    });
    // The connection closed with FIN both ways: torn down within the closing timeout and
    // an export interval.
    let rows = wait_until(
        "the connection to r1:80 torn down by FIN on both vrouters",
        Duration::from_secs(20),
        || {
            let rows = query(sb, &q);
            let closed = |vr: &str| {
                rows.iter().any(|r| {
                    r["vrouter"] == vr
                        && (r["dport"] == 80 || r["sport"] == 80)
                        && r["teardown_reason"] == "tcp-fin"
                })
            };
            (closed("c1") && closed("c2")).then_some(rows)
        },
        || format!("{:?}\n{}", query(sb, &q), sb.logs()),
    );
    let ip_of = |vr: &str| {
        rows.iter()
            .find(|r| r["vrouter"] == vr)
            .and_then(|r| r["vrouter_ip"].as_str())
            .unwrap_or_else(|| panic!("{vr}'s address: {rows:?}"))
            .to_string()
    };
    let (c1, c2) = (ip_of("c1"), ip_of("c2"));
    assert_ne!(c1, c2);
    let tcp80: Vec<&Value> = rows
        .iter()
        .filter(|r| r["dport"] == 80 || r["sport"] == 80)
        .collect();
    for r in &tcp80 {
        let other = if r["vrouter"] == "c1" { &c2 } else { &c1 };
        // 2: MPLS over UDP (`cirrus_analytics::record::Encap`).
        assert_eq!(
            (&r["other_vrouter_ip"], &r["underlay_proto"]),
            (&json!(other), &json!(2)),
            "{r}"
        );
        let (src, dst) = if r["sourceip"] == l1 {
            (LEFT, RIGHT)
        } else {
            (RIGHT, LEFT)
        };
        assert_eq!(
            (&r["sourcevn"], &r["destvn"]),
            (&json!(src), &json!(dst)),
            "{r}"
        );
        // Each vrouter's tunnel source port is on the direction it sent over the fabric.
        let sent = (r["vrouter"] == "c1") == (r["sourceip"] == l1);
        let port = r["underlay_source_port"].as_i64().unwrap_or(-1);
        if sent {
            assert!((0xc000..=0xffff).contains(&port), "entropy port: {r}");
        } else {
            assert_eq!(port, 0, "{r}");
        }
    }
    // No route: Contrail's unknown network and drop reason.
    let q = json!({"table": "FlowSeriesTable", "start_time": "now-10m", "end_time": "now",
                   "select_fields": ["vrouter", "sourcevn", "destvn", "action", "drop_reason"],
                   "where": [[{"name": "destip", "value": NOWHERE, "op": 1}]]});
    let rows = query(sb, &q);
    assert!(!rows.is_empty(), "the flow to {NOWHERE}");
    for r in &rows {
        assert_eq!(
            r,
            &json!({"vrouter": "c1", "sourcevn": LEFT, "destvn": "__UNKNOWN__", "action": "drop",
                    "drop_reason": "Short flow No Destination route"}),
        );
    }
    // No flow of the sandbox without its networks.
    let all = json!({"table": "FlowSeriesTable", "start_time": "now-10m", "end_time": "now",
                     "select_fields": ["vrouter", "sourcevn", "destvn", "sourceip", "destip", "sport", "dport", "protocol"]});
    let rows = query(sb, &all);
    let unnamed: Vec<&Value> = rows
        .iter()
        .filter(|r| r["sourcevn"] == "" || r["destvn"] == "")
        .collect();
    assert!(unnamed.is_empty(), "flows without a network: {unnamed:?}");
}
