//! Per-interface StatTables end to end on two compute nodes (`cirrusctl sandbox`): l1 on c1
//! (network left) pings r1 on c2 (network right) with 40 packets of 1400 bytes. Within the
//! vrouters' export interval (1 s in a sandbox), `StatTable.VMIStats.raw_if_stats` shows
//! l1's port on c1 receiving the 40 requests and sending the 40 replies, and r1's port on
//! c2 the other way round, with byte counts that are the ICMP payloads plus their IP and
//! Ethernet headers, nothing else; the same rows carry the ports' networks and vrouters.
//! Pings from l1 to an address no network routes show up as l1's port's drops in
//! `StatTable.VMIStats.raw_drop_stats`.

mod common;

use std::time::Duration;

use common::{Sandbox, sandbox_can_run, text, wait_until};
use serde_json::{Value, json};

const LEFT: &str = "default-domain:vst:left";
const RIGHT: &str = "default-domain:vst:right";
const TABLE: &str = "StatTable.VMIStats.raw_if_stats";
/// Outside every subnet of the sandbox: no route to it.
const NOWHERE: &str = "10.33.9.9";
const COUNT: u64 = 40;
const PAYLOAD: u64 = 1400;
/// ICMP (8) and IPv4 (20) headers; the counters count whole frames, Ethernet's 14 more.
const IP_PACKET: u64 = PAYLOAD + 8 + 20;
const FRAME: u64 = IP_PACKET + 14;

const CONFIG: &str = "\
kind: project
fq_name: [default-domain, vst]
---
kind: network-ipam
fq_name: [default-domain, vst, vst-ipam]
---
kind: network-policy
fq_name: [default-domain, vst, all]
network_policy_entries:
  policy_rule:
    - direction: \"<>\"
      protocol: any
      ethertype: IPv4
      src_addresses: [{virtual_network: \"default-domain:vst:left\"}]
      src_ports: [{start_port: -1, end_port: -1}]
      dst_addresses: [{virtual_network: \"default-domain:vst:right\"}]
      dst_ports: [{start_port: -1, end_port: -1}]
      action_list: {simple_action: pass}
";

fn networks() -> String {
    ["left", "right"]
        .iter()
        .zip(["10.33.1.0", "10.33.2.0"])
        .map(|(name, prefix)| {
            format!(
                "---\nkind: virtual-network\nfq_name: [default-domain, vst, {name}]\n\
                 network_ipam_refs:\n  - to: [default-domain, vst, vst-ipam]\n    attr:\n      \
                 ipam_subnets:\n        - subnet: {{ip_prefix: {prefix}, ip_prefix_len: 24}}\n\
                 network_policy_refs:\n  - to: [default-domain, vst, all]\n    \
                 attr: {{sequence: {{major: 0, minor: 0}}}}\n"
            )
        })
        .collect()
}

/// Totals of one port since the sandbox came up.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Totals {
    in_pkts: u64,
    in_bytes: u64,
    out_pkts: u64,
    out_bytes: u64,
}

impl Totals {
    fn minus(self, o: Totals) -> Totals {
        Totals {
            in_pkts: self.in_pkts - o.in_pkts,
            in_bytes: self.in_bytes - o.in_bytes,
            out_pkts: self.out_pkts - o.out_pkts,
            out_bytes: self.out_bytes - o.out_bytes,
        }
    }
}

/// The one port of `network` on `vrouter`: its row of the StatTable (name, uuid, totals).
fn port(sb: &Sandbox, vrouter: &str, network: &str) -> Option<(Value, Totals)> {
    let q = json!({
        "table": TABLE, "start_time": "now-30m", "end_time": "now",
        "select_fields": ["Source", "virtual_network", "name", "vmi_uuid",
                          "SUM(raw_if_stats.in_pkts)", "SUM(raw_if_stats.in_bytes)",
                          "SUM(raw_if_stats.out_pkts)", "SUM(raw_if_stats.out_bytes)"],
        "where": [[{"name": "Source", "value": vrouter, "op": 1},
                   {"name": "virtual_network", "value": network, "op": 1}]],
    });
    let url = format!("http://{}/analytics/query", sb.analytics);
    let a = cirrus_lab::http::call("POST", &url, Some(&q), Duration::from_secs(10)).unwrap();
    assert!(a.ok(), "POST {url}: {} {}", a.status, a.body);
    let rows = a.json().unwrap()["value"].as_array().cloned()?;
    assert!(
        rows.len() <= 1,
        "one port of {network} on {vrouter}: {rows:?}"
    );
    let r = rows.into_iter().next()?;
    let n = |f: &str| r[format!("SUM(raw_if_stats.{f})")].as_u64().unwrap();
    let t = Totals {
        in_pkts: n("in_pkts"),
        in_bytes: n("in_bytes"),
        out_pkts: n("out_pkts"),
        out_bytes: n("out_bytes"),
    };
    Some((r, t))
}

/// Both ports' totals once they stop moving (two export intervals alike).
fn settled(sb: &Sandbox) -> (Totals, Totals) {
    let mut last = None;
    wait_until(
        "both ports' counters to settle",
        Duration::from_secs(30),
        || {
            std::thread::sleep(Duration::from_millis(2500));
            let now = (port(sb, "c1", LEFT)?.1, port(sb, "c2", RIGHT)?.1);
            let same = last == Some(now);
            last = Some(now);
            same.then_some(now)
        },
        || sb.logs(),
    )
}

/// The most frames other than the pings a port may carry while the ping runs (ARP, IPv6
/// neighbour discovery: small frames, well under [`SMALL`] bytes each).
const OTHERS: u64 = 4;
const SMALL: u64 = 128;

/// `pkts` and `bytes` are `COUNT` frames of `FRAME` bytes, plus at most [`OTHERS`] small
/// frames of the workload's own (never a ping more or a ping less).
fn assert_pings(what: &str, pkts: u64, bytes: u64) {
    assert!(
        (COUNT..=COUNT + OTHERS).contains(&pkts),
        "{what}: {pkts} packets, {COUNT} pings sent"
    );
    let extra = bytes.checked_sub(COUNT * FRAME);
    assert!(
        extra.is_some_and(|e| e <= (pkts - COUNT) * SMALL),
        "{what}: {bytes} bytes in {pkts} packets; {COUNT} pings of {FRAME}-byte frames \
         ({PAYLOAD} bytes of payload, {IP_PACKET} of IP) are {}",
        COUNT * FRAME
    );
}

#[test]
fn interface_stat_tables_count_the_bytes_a_ping_sent() {
    let test = "interface_stat_tables_count_the_bytes_a_ping_sent";
    if !sandbox_can_run(test, &["ping"]) {
        return;
    }
    let sb = Sandbox::new("vst");
    sb.up(2);
    sb.apply(CONFIG);
    sb.apply(&networks());
    let l1 = sb.add_workload("l1", "c1", LEFT);
    let r1 = sb.add_workload("r1", "c2", RIGHT);
    sb.wait_ping("l1", &r1, Duration::from_secs(30));

    // The tables list the per-interface StatTables.
    let url = format!("http://{}/analytics/tables", sb.analytics);
    let tables = cirrus_lab::http::call("GET", &url, None, Duration::from_secs(10))
        .unwrap()
        .json()
        .unwrap();
    assert!(
        tables
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == TABLE && t["type"] == "STAT"),
        "{tables}"
    );

    let (l1_before, r1_before) = settled(&sb);
    let interval = "0.2";
    let out = sb.exec(
        "l1",
        &[
            "ping",
            "-q",
            "-c",
            &COUNT.to_string(),
            "-s",
            &PAYLOAD.to_string(),
            "-i",
            interval,
            "-W",
            "2",
            &r1,
        ],
    );
    let said = text(&out.stdout);
    assert!(
        said.contains(&format!("{COUNT} packets transmitted, {COUNT} received")),
        "ping from l1 to r1: {said}{}",
        text(&out.stderr)
    );
    let (l1_after, r1_after) = settled(&sb);
    let (l1d, r1d) = (l1_after.minus(l1_before), r1_after.minus(r1_before));

    // l1 sent the requests into its port (in) and got the replies (out); r1 the reverse.
    assert_pings("l1's port, in (requests)", l1d.in_pkts, l1d.in_bytes);
    assert_pings("l1's port, out (replies)", l1d.out_pkts, l1d.out_bytes);
    assert_pings("r1's port, out (requests)", r1d.out_pkts, r1d.out_bytes);
    assert_pings("r1's port, in (replies)", r1d.in_pkts, r1d.in_bytes);

    // The rows name the ports: their fq_names and uuids, as the API has them.
    let (row, _) = port(&sb, "c1", LEFT).unwrap();
    let uuid = row["vmi_uuid"].as_str().unwrap().to_string();
    let vmi = sb.rest("GET", &format!("/virtual-machine-interface/{uuid}"), None);
    let fq: Vec<&str> = vmi["virtual-machine-interface"]["fq_name"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(row["name"], fq.join(":"), "{row}");
    assert_eq!(row["virtual_network"], LEFT, "{row}");

    // Pings to an address no network routes are dropped as l1's port receives them:
    // `StatTable.VMIStats.raw_drop_stats` counts them against it (the first may be held
    // while the agent decides, and dropped there).
    let drops = |sb: &Sandbox| -> u64 {
        let q = json!({
            "table": "StatTable.VMIStats.raw_drop_stats", "start_time": "now-30m", "end_time": "now",
            "select_fields": ["SUM(raw_drop_stats.ds_drop_pkts)"],
            "where": [[{"name": "vmi_uuid", "value": uuid, "op": 1}]],
        });
        let url = format!("http://{}/analytics/query", sb.analytics);
        let a = cirrus_lab::http::call("POST", &url, Some(&q), Duration::from_secs(10)).unwrap();
        assert!(a.ok(), "POST {url}: {} {}", a.status, a.body);
        a.json().unwrap()["value"][0]["SUM(raw_drop_stats.ds_drop_pkts)"]
            .as_u64()
            .unwrap_or(0)
    };
    let before = drops(&sb);
    let out = sb.exec(
        "l1",
        &["ping", "-q", "-c", "5", "-i", "0.2", "-W", "1", NOWHERE],
    );
    assert!(!out.status.success(), "{NOWHERE} answered a ping");
    let dropped = wait_until(
        "l1's pings to nowhere in raw_drop_stats",
        Duration::from_secs(15),
        || {
            let d = drops(&sb) - before;
            (d >= 4).then_some(d)
        },
        || sb.logs(),
    );
    assert!(dropped <= 5, "{dropped} drops for 5 pings");
    let _ = l1;
}
