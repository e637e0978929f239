//! `cirrusctl trace` and `cirrusctl flows` on two compute nodes (`cirrusctl sandbox`): a
//! network policy between networks left and right passes TCP 80 (rule A) and denies the rest
//! (rule B); a security group on l2 (left, on l1's node) lets TCP 80 in and nothing else.
//! `trace` from l1 names rule A for r1:80 (with the route to r1 over MPLSoUDP to c2 and its
//! label), rule B for r1:81, the group's rule for l2:80 and the group for l2:81; `flows`
//! lists l1's connections from the analytics API with the rule that decided each.

mod common;

use std::time::Duration;

use common::{Background, Sandbox, sandbox_can_run, text, wait_until};
use serde_json::Value;

const LEFT: &str = "default-domain:tr:left";
const RIGHT: &str = "default-domain:tr:right";

const CONFIG: &str = "\
kind: project
fq_name: [default-domain, tr]
---
kind: network-ipam
fq_name: [default-domain, tr, tr-ipam]
---
kind: network-policy
fq_name: [default-domain, tr, web]
network_policy_entries:
  policy_rule:
    - direction: \"<>\"
      protocol: tcp
      ethertype: IPv4
      src_addresses: [{virtual_network: \"default-domain:tr:left\"}]
      src_ports: [{start_port: -1, end_port: -1}]
      dst_addresses: [{virtual_network: \"default-domain:tr:right\"}]
      dst_ports: [{start_port: 80, end_port: 80}]
      action_list: {simple_action: pass}
    - direction: \"<>\"
      protocol: any
      ethertype: IPv4
      src_addresses: [{virtual_network: \"default-domain:tr:left\"}]
      src_ports: [{start_port: -1, end_port: -1}]
      dst_addresses: [{virtual_network: \"default-domain:tr:right\"}]
      dst_ports: [{start_port: -1, end_port: -1}]
      action_list: {simple_action: deny}
---
kind: security-group
fq_name: [default-domain, tr, web-only]
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

fn networks() -> String {
    ["left", "right"]
        .iter()
        .zip(["10.32.1.0", "10.32.2.0"])
        .map(|(name, prefix)| {
            format!(
                "---\nkind: virtual-network\nfq_name: [default-domain, tr, {name}]\n\
                 network_ipam_refs:\n  - to: [default-domain, tr, tr-ipam]\n    attr:\n      \
                 ipam_subnets:\n        - subnet: {{ip_prefix: {prefix}, ip_prefix_len: 24}}\n\
                 network_policy_refs:\n  - to: [default-domain, tr, web]\n    \
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

/// `cirrusctl <args> -o json`, which must succeed.
fn json(sb: &Sandbox, args: &[&str]) -> Value {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["-o", "json"]);
    let out = sb.cli(&all, None);
    assert!(
        out.status.success(),
        "cirrusctl {all:?}: {}\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr),
        sb.logs()
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `cirrusctl trace l1 --dst DST --proto tcp --dport PORT`.
fn trace(sb: &Sandbox, dst: &str, port: u16) -> Value {
    let (port, dir) = (port.to_string(), sb.dir.display().to_string());
    json(
        sb,
        &[
            "trace",
            "l1",
            "--dst",
            dst,
            "--proto",
            "tcp",
            "--dport",
            &port,
            "--sandbox-dir",
            &dir,
        ],
    )
}

fn rule_uuids(sb: &Sandbox, kind: &str, fq: &[&str], field: &str) -> Vec<String> {
    let uuid = sb.uuid(kind, fq);
    let o = sb.rest("GET", &format!("/{kind}/{uuid}"), None);
    o[kind][field]["policy_rule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["rule_uuid"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn trace_names_the_rule_and_flows_list_the_traffic() {
    let test = "trace_names_the_rule_and_flows_list_the_traffic";
    if !sandbox_can_run(test, &["ping"]) {
        return;
    }
    let sb = Sandbox::new("tr");
    sb.up(2);
    sb.apply(CONFIG);
    sb.apply(&networks());
    let l1 = sb.add_workload("l1", "c1", LEFT);
    let l2 = sb.add_workload("l2", "c1", LEFT);
    let r1 = sb.add_workload("r1", "c2", RIGHT);
    sb.apply(
        "kind: virtual-machine-interface\nfq_name: [default-domain, tr, l2]\n\
         security_group_refs:\n  - to: [default-domain, tr, web-only]\n",
    );
    let _servers: Vec<Background> = [("r1", 80), ("r1", 81), ("l2", 80), ("l2", 81)]
        .iter()
        .map(|(w, port)| {
            let port = port.to_string();
            let hello = format!("{w}:{port}");
            Background::start(
                &sb,
                w,
                &["busybox", "nc", "-ll", "-p", &port, "-e", "echo", &hello],
            )
        })
        .collect();
    let policy = sb.uuid("network-policy", &["default-domain", "tr", "web"]);
    let np = rule_uuids(
        &sb,
        "network-policy",
        &["default-domain", "tr", "web"],
        "network_policy_entries",
    );
    let group = sb.uuid("security-group", &["default-domain", "tr", "web-only"]);
    let sg = rule_uuids(
        &sb,
        "security-group",
        &["default-domain", "tr", "web-only"],
        "security_group_entries",
    );
    let said = wait_until(
        "l1 to reach r1:80",
        Duration::from_secs(30),
        || connect(&sb, "l1", &r1, 80),
        || sb.logs(),
    );
    assert_eq!(said, "r1:80");
    assert_eq!(connect(&sb, "l1", &r1, 81), None, "r1:81 passed");
    // The group's rule on l2 is in force once 81 stops.
    wait_until(
        "l2:81 to be blocked by the security group",
        Duration::from_secs(20),
        || connect(&sb, "l1", &l2, 81).is_none().then_some(()),
        || sb.logs(),
    );
    assert_eq!(connect(&sb, "l1", &l2, 80).as_deref(), Some("l2:80"));

    // Allowed: rule A, by the policy's name and uuid; the route to r1 over the fabric.
    let t = trace(&sb, &r1, 80);
    assert_eq!(t["action"], "forward", "{t:#}");
    assert_eq!(t["packet"]["src"], l1.as_str(), "{t:#}");
    let a = t["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["layer"] == "network-policy")
        .unwrap_or_else(|| panic!("no network-policy rule: {t:#}"));
    assert_eq!(
        (
            &a["verdict"],
            &a["rule_uuid"],
            &a["name"],
            &a["uuid"],
            &a["index"]
        ),
        (
            &"allow".into(),
            &np[0].as_str().into(),
            &"default-domain:tr:web".into(),
            &policy.as_str().into(),
            &1.into()
        ),
        "{t:#}"
    );
    let state = cirrus_lab::Lab::read(&sb.dir).unwrap().unwrap();
    let c2 = state.compute("c2").unwrap().address.to_string();
    let route = &t["route"];
    assert_eq!(route["prefix"], format!("{r1}/32"), "{t:#}");
    assert_eq!(route["tunnel_dst"], c2.as_str(), "{t:#}");
    assert!(
        matches!(
            route["encap"].as_str(),
            Some("MPLSoUDP" | "MPLSoGRE" | "VXLAN")
        ),
        "{t:#}"
    );
    assert!(
        route["label"]
            .as_u64()
            .or(route["vni"].as_u64())
            .unwrap_or(0)
            > 0,
        "{t:#}"
    );
    assert_eq!(t["vrf"]["instance"], format!("{LEFT}:left"), "{t:#}");

    // Denied: rule B.
    let t = trace(&sb, &r1, 81);
    assert_eq!(
        (&t["action"], &t["reason"]),
        (&"drop".into(), &"network-policy".into()),
        "{t:#}"
    );
    let b = t["rules"].as_array().unwrap().last().unwrap();
    assert_eq!(
        (&b["verdict"], &b["rule_uuid"], &b["name"], &b["index"]),
        (
            &"deny".into(),
            &np[1].as_str().into(),
            &"default-domain:tr:web".into(),
            &2.into()
        ),
        "{t:#}"
    );

    // The security group: its first rule lets 80 in; 81 matches none of its rules.
    let t = trace(&sb, &l2, 80);
    assert_eq!(t["action"], "forward", "{t:#}");
    let g = t["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["layer"] == "security-group")
        .unwrap_or_else(|| panic!("no security-group rule: {t:#}"));
    assert_eq!(
        (&g["rule_uuid"], &g["uuid"], &g["name"]),
        (
            &sg[0].as_str().into(),
            &group.as_str().into(),
            &"default-domain:tr:web-only".into()
        ),
        "{t:#}"
    );
    let t = trace(&sb, &l2, 81);
    assert_eq!(
        (&t["action"], &t["reason"]),
        (&"drop".into(), &"security-group".into()),
        "{t:#}"
    );
    let d = t["rules"].as_array().unwrap().last().unwrap();
    assert_eq!(d["verdict"], "deny", "{t:#}");
    assert!(
        d["security_groups"]
            .as_array()
            .is_some_and(|g| g.contains(&"default-domain:tr:web-only".into())),
        "{t:#}"
    );

    // The table names the rule too.
    let dir = sb.dir.display().to_string();
    let out = sb.cli(
        &[
            "trace",
            "l1",
            "--dst",
            &r1,
            "--dport",
            "81",
            "--sandbox-dir",
            &dir,
        ],
        None,
    );
    let table = text(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        table.contains("DENIED BY")
            && table.contains(&np[1])
            && table.contains("default-domain:tr:web"),
        "{table}"
    );

    // `flows`: l1's connections to r1 with the rule that decided each, within the export
    // interval.
    let analytics = format!("http://{}", sb.analytics);
    let rows = wait_until(
        "l1's flows to r1:80 and r1:81 in FlowSeriesTable",
        Duration::from_secs(20),
        || {
            let v = json(
                &sb,
                &[
                    "flows",
                    "--analytics",
                    &analytics,
                    "--src",
                    &l1,
                    "--dst",
                    &r1,
                    "--proto",
                    "tcp",
                ],
            );
            let rows = v.as_array().cloned().unwrap_or_default();
            let ports: Vec<i64> = rows.iter().filter_map(|r| r["dport"].as_i64()).collect();
            (ports.contains(&80) && ports.contains(&81)).then_some(rows)
        },
        || sb.logs(),
    );
    for r in &rows {
        let (action, rule) = if r["dport"] == 80 {
            ("pass", &np[0])
        } else {
            ("deny", &np[1])
        };
        assert_eq!(
            (r["action"].as_str(), r["nw_ace_uuid"].as_str()),
            (Some(action), Some(rule.as_str())),
            "{r}"
        );
    }
    // Filters hold: only denied flows, only port 81.
    let v = json(
        &sb,
        &[
            "flows",
            "--analytics",
            &analytics,
            "--src",
            &l1,
            "--action",
            "deny",
        ],
    );
    let denied = v.as_array().unwrap();
    assert!(!denied.is_empty(), "{v:#}");
    assert!(denied.iter().all(|r| r["action"] == "deny"), "{v:#}");
    let v = json(
        &sb,
        &[
            "flows",
            "--analytics",
            &analytics,
            "--vn",
            LEFT,
            "--port",
            "81",
            "--table",
            "records",
        ],
    );
    let recs = v.as_array().unwrap();
    assert!(!recs.is_empty(), "{v:#}");
    assert!(recs.iter().all(|r| r["dport"] == 81), "{v:#}");
    // And the table for people.
    let out = sb.cli(
        &[
            "flows",
            "--analytics",
            &analytics,
            "--src",
            &l1,
            "--dst",
            &r1,
        ],
        None,
    );
    let table = text(&out.stdout);
    assert!(
        out.status.success() && table.contains(&format!("{r1}:81")) && table.contains(&np[1]),
        "{out:?}"
    );
}
