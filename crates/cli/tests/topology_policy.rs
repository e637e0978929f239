//! Policy across networks and security groups, on two compute nodes (`cirrusctl sandbox`,
//! config by `cirrusctl apply`): between networks left and right nothing passes (ping, TCP)
//! until a network policy attached to both allows it; then it passes; detached, new flows
//! stop. A security group that allows TCP 80 in and not 81 (busybox nc listeners on both)
//! blocks 81 alone, where both passed before it was attached.

mod common;

use std::time::Duration;

use common::{Background, Sandbox, sandbox_can_run, text, wait_until};

const LEFT: &str = "default-domain:pol:left";
const RIGHT: &str = "default-domain:pol:right";

const NETWORKS: &str = "\
kind: project
fq_name: [default-domain, pol]
---
kind: network-ipam
fq_name: [default-domain, pol, pol-ipam]
---
kind: network-policy
fq_name: [default-domain, pol, left-right]
network_policy_entries:
  policy_rule:
    - direction: \"<>\"
      protocol: any
      ethertype: IPv4
      src_addresses: [{virtual_network: \"default-domain:pol:left\"}]
      src_ports: [{start_port: -1, end_port: -1}]
      dst_addresses: [{virtual_network: \"default-domain:pol:right\"}]
      dst_ports: [{start_port: -1, end_port: -1}]
      action_list: {simple_action: pass}
---
kind: security-group
fq_name: [default-domain, pol, web-only]
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

/// The two networks, with the policy attached to both or to neither.
fn networks(attached: bool) -> String {
    let refs = if attached {
        "\n  - to: [default-domain, pol, left-right]\n    attr: {sequence: {major: 0, minor: 0}}"
    } else {
        " []"
    };
    ["left", "right"]
        .iter()
        .zip(["10.30.1.0", "10.30.2.0"])
        .map(|(name, prefix)| {
            format!(
                "---\nkind: virtual-network\nfq_name: [default-domain, pol, {name}]\n\
                 network_ipam_refs:\n  - to: [default-domain, pol, pol-ipam]\n    attr:\n      \
                 ipam_subnets:\n        - subnet: {{ip_prefix: {prefix}, ip_prefix_len: 24}}\n\
                 network_policy_refs:{refs}\n"
            )
        })
        .collect()
}

/// `busybox nc -w 2 ADDR PORT` from `from`: what the listener answered, `None` when the
/// connection did not set up.
fn connect(sb: &Sandbox, from: &str, addr: &str, port: u16) -> Option<String> {
    let out = sb.exec(from, &["busybox", "nc", "-w", "2", addr, &port.to_string()]);
    let said = text(&out.stdout).trim().to_string();
    (out.status.success() && !said.is_empty()).then_some(said)
}

#[test]
fn policy_between_networks_and_a_security_group_on_one_port() {
    let test = "policy_between_networks_and_a_security_group_on_one_port";
    if !sandbox_can_run(test, &["ping"]) {
        return;
    }
    let sb = Sandbox::new("pol");
    sb.up(2);
    sb.apply(NETWORKS);
    sb.apply(&networks(false));
    let _l1 = sb.add_workload("l1", "c1", LEFT);
    let l2 = sb.add_workload("l2", "c2", LEFT);
    let r1 = sb.add_workload("r1", "c2", RIGHT);
    let _servers: Vec<Background> = [("l2", 80), ("l2", 81), ("r1", 80)]
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

    // The overlay works between the nodes (same network), and both ports answer.
    sb.wait_ping("l1", &l2, Duration::from_secs(20));
    for port in [80, 81] {
        let said = wait_until(
            &format!("l1 to reach l2:{port}"),
            Duration::from_secs(10),
            || connect(&sb, "l1", &l2, port),
            || sb.logs(),
        );
        assert_eq!(said, format!("l2:{port}"));
    }

    // Across networks, without a policy: nothing.
    assert!(!sb.ping("l1", &r1), "left reaches right without a policy");
    assert_eq!(connect(&sb, "l1", &r1, 80), None);

    // The security group on l2's port: 80 still passes, 81 no longer.
    sb.apply(
        "kind: virtual-machine-interface\nfq_name: [default-domain, pol, l2]\n\
         security_group_refs:\n  - to: [default-domain, pol, web-only]\n",
    );
    wait_until(
        "l2:81 to be blocked by the security group",
        Duration::from_secs(20),
        || connect(&sb, "l1", &l2, 81).is_none().then_some(()),
        || sb.logs(),
    );
    assert_eq!(connect(&sb, "l1", &l2, 80).as_deref(), Some("l2:80"));
    assert_eq!(connect(&sb, "l1", &l2, 81), None, "81 passed again");
    // Counted by reason by the vrouters (l2's, where the group applies, or l1's).
    let refused: u64 = ["c1", "c2"]
        .iter()
        .map(|c| {
            sb.vrouter_introspect(c, "/drops")["flow_setup"]["by_reason"]["security-group"]
                .as_u64()
                .unwrap_or(0)
        })
        .sum();
    assert!(refused >= 1, "no security-group refusal counted");

    // The policy attached to both networks: left and right talk.
    sb.apply(&networks(true));
    sb.wait_ping("l1", &r1, Duration::from_secs(20));
    let said = wait_until(
        "l1 to reach r1:80",
        Duration::from_secs(10),
        || connect(&sb, "l1", &r1, 80),
        || sb.logs(),
    );
    assert_eq!(said, "r1:80");

    // Detached: new flows stop.
    sb.apply(&networks(false));
    wait_until(
        "pings from left to right to stop",
        Duration::from_secs(20),
        || (!sb.ping("l1", &r1)).then_some(()),
        || sb.logs(),
    );
    assert_eq!(connect(&sb, "l1", &r1, 80), None, "TCP still sets up");
    assert!(!sb.ping("l1", &r1), "pings set up again");
}
