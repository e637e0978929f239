//! UVEs and alarms end to end on two compute nodes (`cirrusctl sandbox`): l1 on c1 (network
//! left) talks to r1 on c2 (network right). Within the vrouters' export interval the
//! analytics API shows c1's UVE with l1's port, l1's port UVE in network left with its
//! address and traffic, and the networks' traffic with each other (left's `out_stats`
//! towards right, counted on c1; right's `in_stats` from left, counted on c2). Then c2's
//! vrouter is killed: its export session ends and the "vrouter disconnected" alarm is raised
//! on c2, not on c1.

mod common;

use std::process::Command;
use std::time::Duration;

use cirrus_lab::Lab;
use common::{Background, Sandbox, sandbox_can_run, text, wait_until};
use serde_json::Value;

const LEFT: &str = "default-domain:uve:left";
const RIGHT: &str = "default-domain:uve:right";
const DISCONNECTED: &str = "default-global-system-config:system-defined-vrouter-disconnected";

const CONFIG: &str = "\
kind: project
fq_name: [default-domain, uve]
---
kind: network-ipam
fq_name: [default-domain, uve, uve-ipam]
---
kind: network-policy
fq_name: [default-domain, uve, all]
network_policy_entries:
  policy_rule:
    - direction: \"<>\"
      protocol: any
      ethertype: IPv4
      src_addresses: [{virtual_network: \"default-domain:uve:left\"}]
      src_ports: [{start_port: -1, end_port: -1}]
      dst_addresses: [{virtual_network: \"default-domain:uve:right\"}]
      dst_ports: [{start_port: -1, end_port: -1}]
      action_list: {simple_action: pass}
";

fn networks() -> String {
    ["left", "right"]
        .iter()
        .zip(["10.32.1.0", "10.32.2.0"])
        .map(|(name, prefix)| {
            format!(
                "---\nkind: virtual-network\nfq_name: [default-domain, uve, {name}]\n\
                 network_ipam_refs:\n  - to: [default-domain, uve, uve-ipam]\n    attr:\n      \
                 ipam_subnets:\n        - subnet: {{ip_prefix: {prefix}, ip_prefix_len: 24}}\n\
                 network_policy_refs:\n  - to: [default-domain, uve, all]\n    \
                 attr: {{sequence: {{major: 0, minor: 0}}}}\n"
            )
        })
        .collect()
}

fn get(sb: &Sandbox, path: &str) -> Value {
    let url = format!("http://{}{path}", sb.analytics);
    let a = cirrus_lab::http::call("GET", &url, None, Duration::from_secs(10)).unwrap();
    assert!(a.ok(), "GET {url}: {} {}", a.status, a.body);
    a.json().unwrap()
}

fn bytes_with(stats: &Value, other: &str) -> u64 {
    stats
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["other_vn"] == other)
        .filter_map(|s| s["bytes"].as_u64())
        .sum()
}

fn alarm_types(uve: &Value) -> Vec<String> {
    uve["UVEAlarms"]["alarms"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["type"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn uves_show_ports_and_network_traffic_and_a_killed_vrouter_raises_an_alarm() {
    let test = "uves_show_ports_and_network_traffic_and_a_killed_vrouter_raises_an_alarm";
    if !sandbox_can_run(test, &["ping"]) {
        return;
    }
    let sb = Sandbox::new("uve");
    sb.up(2);
    sb.apply(CONFIG);
    sb.apply(&networks());
    let l1 = sb.add_workload("l1", "c1", LEFT);
    let r1 = sb.add_workload("r1", "c2", RIGHT);
    let _server = Background::start(
        &sb,
        "r1",
        &["busybox", "nc", "-ll", "-p", "80", "-e", "echo", "r1:80"],
    );
    let said = wait_until(
        "l1 to reach r1:80",
        Duration::from_secs(30),
        || {
            let out = sb.exec("l1", &["busybox", "nc", "-w", "2", &r1, "80"]);
            let said = text(&out.stdout).trim().to_string();
            (out.status.success() && !said.is_empty()).then_some(said)
        },
        || sb.logs(),
    );
    assert_eq!(said, "r1:80");

    // c1's UVE names l1's port; that port's UVE is in left with l1's address.
    let types: Vec<String> = get(&sb, "/analytics/uves")
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    assert!(types.contains(&"vrouters".to_string()), "{types:?}");
    let c1 = wait_until(
        "c1's UVE with a port",
        Duration::from_secs(15),
        || {
            let v = get(&sb, "/analytics/uves/vrouter/c1?flat");
            let ports = v["VrouterAgent"]["interface_list"].as_array()?.clone();
            (!ports.is_empty()).then_some(v)
        },
        || sb.logs(),
    );
    assert_eq!(c1["NodeStatus"]["collector_session"], "Up", "{c1}");
    assert!(
        c1["VrouterStatsAgent"]["in_bytes"].as_u64() > Some(0),
        "{c1}"
    );
    let ports = c1["VrouterAgent"]["interface_list"].as_array().unwrap();
    let port = ports
        .iter()
        .map(|p| {
            get(
                &sb,
                &format!(
                    "/analytics/uves/virtual-machine-interface/{}",
                    p.as_str().unwrap()
                ),
            )
        })
        .find(|u| u["UveVMInterfaceAgent"]["ip_address"] == l1.as_str())
        .unwrap_or_else(|| panic!("no port of c1 has l1's address {l1}: {c1}"));
    let vmi = &port["UveVMInterfaceAgent"];
    assert_eq!(vmi["virtual_network"], LEFT, "{port}");
    assert_eq!(vmi["vrouter"], "c1", "{port}");
    assert!(vmi["if_stats"]["in_bytes"].as_u64() > Some(0), "{port}");

    // The networks' traffic with each other.
    let left = get(&sb, &format!("/analytics/uves/virtual-network/{LEFT}"));
    let agent = &left["UveVirtualNetworkAgent"];
    assert!(bytes_with(&agent["out_stats"], RIGHT) > 0, "{left}");
    assert!(bytes_with(&agent["in_stats"], RIGHT) > 0, "{left}");
    let right = wait_until(
        "right's traffic from left (counted on c2)",
        Duration::from_secs(15),
        || {
            let v = get(&sb, &format!("/analytics/uves/virtual-network/{RIGHT}"));
            (bytes_with(&v["UveVirtualNetworkAgent"]["in_stats"], LEFT) > 0).then_some(v)
        },
        || sb.logs(),
    );
    assert_eq!(
        right["UveVirtualNetworkAgent"]["vrouters"],
        serde_json::json!(["c2"]),
        "{right}"
    );
    let listed = get(
        &sb,
        "/analytics/uves/virtual-networks?kfilt=default-domain:uve:*",
    );
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");

    // c2's vrouter dies: its session ends, the alarm is raised on c2 only.
    let state = Lab::read(&sb.dir).unwrap().unwrap();
    let vrouter = state.process("vrouter-c2").unwrap().clone();
    Command::new("kill")
        .args(["-9", &vrouter.pid.to_string()])
        .status()
        .unwrap();
    let alarms = wait_until(
        "the disconnected alarm on c2",
        Duration::from_secs(15),
        || {
            let a = get(&sb, "/analytics/alarms");
            let raised = a["vrouter"].as_array()?.iter().any(|v| {
                v["name"] == "c2" && alarm_types(&v["value"]).contains(&DISCONNECTED.to_string())
            });
            raised.then_some(a)
        },
        || sb.logs(),
    );
    let on: Vec<&str> = alarms["vrouter"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["name"].as_str())
        .collect();
    assert_eq!(on, ["c2"], "{alarms}");
    let c2 = get(&sb, "/analytics/uves/vrouter/c2?cfilt=NodeStatus,UVEAlarms");
    assert_eq!(c2["NodeStatus"]["collector_session"], "Down", "{c2}");
    assert_eq!(alarm_types(&c2), [DISCONNECTED], "{c2}");
}
