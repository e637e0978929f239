//! Addresses a port may and may not use, on three compute nodes (`cirrusctl sandbox`):
//! - a VIP set through the VNC API as an active-active allowed address pair on two workloads'
//!   ports (as a load balancer would), and configured inside both: connections to it from a
//!   third workload (busybox nc, each from a new source port) reach both, counted by which
//!   answered;
//! - spoofing: a workload that sends from an address that is not its own, or from another
//!   workload's MAC, gets nothing through (tshark at the destination sees only what it sent
//!   with its own address and MAC), and its vrouter's introspect counts the drops
//!   (`SourceMismatch` in the pipeline, `source-mac-mismatch` in flow setup).

mod common;

use std::time::Duration;

use common::{Background, Capture, Sandbox, sandbox_can_run, text, wait_until};
use serde_json::{Value, json};

const NET: &str = "default-domain:adr:lan";
const VIP: &str = "10.40.0.100";
/// An address of the subnet nobody has.
const STRANGER: &str = "10.40.0.77";

const CONFIG: &str = "\
kind: project
fq_name: [default-domain, adr]
---
kind: network-ipam
fq_name: [default-domain, adr, adr-ipam]
---
kind: virtual-network
fq_name: [default-domain, adr, lan]
network_ipam_refs:
  - to: [default-domain, adr, adr-ipam]
    attr:
      ipam_subnets:
        - subnet: {ip_prefix: 10.40.0.0, ip_prefix_len: 24}
";

/// A counter of compute node `cK`'s vrouter introspect `/drops`.
fn drops(sb: &Sandbox, compute: &str, pointer: &str) -> u64 {
    sb.vrouter_introspect(compute, "/drops")
        .pointer(pointer)
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// The MAC `sandbox status` shows for `workload`.
fn mac(status: &str, workload: &str) -> String {
    let line = status
        .lines()
        .find(|l| l.split_whitespace().next() == Some(workload))
        .unwrap_or_else(|| panic!("no {workload} in:\n{status}"));
    line.split_whitespace().nth(4).unwrap().to_string()
}

#[test]
fn a_vip_on_two_ports_reaches_both_and_spoofed_sources_get_nothing_through() {
    let test = "a_vip_on_two_ports_reaches_both_and_spoofed_sources_get_nothing_through";
    if !sandbox_can_run(test, &["ping", "tshark"]) {
        return;
    }
    let sb = Sandbox::new("adr");
    sb.up(3);
    sb.apply(CONFIG);
    let b1 = sb.add_workload("b1", "c1", NET);
    let b2 = sb.add_workload("b2", "c2", NET);
    sb.add_workload("cl", "c3", NET);
    let sp = sb.add_workload("sp", "c3", NET);
    sb.wait_ping("cl", &b1, Duration::from_secs(20));
    sb.wait_ping("cl", &b2, Duration::from_secs(20));

    // ---- the VIP ----
    // As a load balancer would: the pair on both ports through the API, the VIP inside both.
    for b in ["b1", "b2"] {
        let uuid = sb.uuid("virtual-machine-interface", &["default-domain", "adr", b]);
        let body = json!({"virtual-machine-interface": {
            "virtual_machine_interface_allowed_address_pairs": {"allowed_address_pair": [{
                "ip": {"ip_prefix": VIP, "ip_prefix_len": 32},
                "address_mode": "active-active"
            }]}
        }});
        sb.rest(
            "PUT",
            &format!("/virtual-machine-interface/{uuid}"),
            Some(&body),
        );
        let added = sb.exec(
            b,
            &["ip", "addr", "add", &format!("{VIP}/32"), "dev", "eth0"],
        );
        assert!(added.status.success(), "{added:?}");
    }
    let _servers: Vec<Background> = ["b1", "b2"]
        .iter()
        .map(|b| {
            Background::start(
                &sb,
                b,
                &["busybox", "nc", "-ll", "-p", "8080", "-e", "echo", b],
            )
        })
        .collect();
    let connect = |n: u32| {
        let script =
            format!("for i in $(seq {n}); do busybox nc -w 2 {VIP} 8080 </dev/null; done; true");
        text(&sb.exec("cl", &["sh", "-c", &script]).stdout)
    };
    wait_until(
        "cl to reach the VIP",
        Duration::from_secs(20),
        || (!connect(1).trim().is_empty()).then_some(()),
        || sb.logs(),
    );
    let answers = connect(16);
    let count = |b: &str| answers.lines().filter(|l| l.trim() == b).count();
    assert_eq!(
        count("b1") + count("b2"),
        16,
        "every connection to the VIP is answered: {answers}"
    );
    assert!(
        count("b1") > 0 && count("b2") > 0,
        "connections to the VIP reach both ports: {answers}"
    );

    // ---- spoofing ----
    sb.wait_ping("sp", &b2, Duration::from_secs(20));
    let status = sb.ok(&["status"]);
    let b1_mac = mac(&status, "b1");
    let mismatch_before = drops(&sb, "c3", "/pipeline/SourceMismatch");
    let mac_before = drops(&sb, "c3", "/flow_setup/by_reason/source-mac-mismatch");
    // b2 sees every echo request that reaches it (the vrouter rewrites MACs, so the source
    // address tells them apart).
    let capture = Capture::start(
        &sb,
        "b2",
        &[
            "-i",
            "eth0",
            "-f",
            "icmp[0] == 8",
            "-T",
            "fields",
            "-e",
            "ip.src",
        ],
        20,
        8,
    );
    // Its own address: passes (the control).
    assert!(sb.ping("sp", &b2), "{}", sb.logs());
    // An address that is not its own.
    let exec_ok = |argv: &[&str]| {
        let out = sb.exec("sp", argv);
        assert!(out.status.success(), "{argv:?}: {out:?}");
    };
    exec_ok(&[
        "ip",
        "addr",
        "add",
        &format!("{STRANGER}/32"),
        "dev",
        "eth0",
    ]);
    let spoofed = sb.exec("sp", &["ping", "-c", "2", "-W", "1", "-I", STRANGER, &b2]);
    assert!(!spoofed.status.success(), "{spoofed:?}");
    // Another workload's MAC (b1's), from its own address.
    exec_ok(&["ip", "link", "set", "eth0", "address", &b1_mac]);
    assert!(!sb.ping("sp", &b2), "a ping from b1's MAC passed");
    let seen = capture.lines();
    assert!(
        !seen.is_empty() && seen.iter().all(|s| *s == sp),
        "b2 sees sp's own ping and nothing spoofed: {seen:?}"
    );
    let mismatch = drops(&sb, "c3", "/pipeline/SourceMismatch") - mismatch_before;
    let mac_refused = drops(&sb, "c3", "/flow_setup/by_reason/source-mac-mismatch") - mac_before;
    assert!(mismatch >= 2, "spoofed addresses counted: {mismatch}");
    assert!(mac_refused >= 1, "spoofed MAC counted: {mac_refused}");
}
