//! Bad input to a running vrouter (`cirrusctl sandbox`, one compute node, one workload):
//! - malformed port IPC requests (`POST /port` with curl inside the node, as nova's or a CNI's
//!   request would come) get a 400 naming the field, and change nothing: the port is not
//!   there afterwards and the vrouter's ports are the ones it had;
//! - malformed packets from a workload (IPv4 headers that lie about their length, sent on
//!   its interface with a raw socket) are counted drops (`Malformed` in the introspect's
//!   pipeline drops), and the workload still works.

mod common;

use std::time::Duration;

use common::{Sandbox, sandbox_can_run, text, wait_until};
use serde_json::{Value, json};

const NET: &str = "default-domain:bad:net";

const CONFIG: &str = "\
kind: project
fq_name: [default-domain, bad]
---
kind: network-ipam
fq_name: [default-domain, bad, bad-ipam]
---
kind: virtual-network
fq_name: [default-domain, bad, net]
network_ipam_refs:
  - to: [default-domain, bad, bad-ipam]
    attr:
      ipam_subnets:
        - subnet: {ip_prefix: 10.70.0.0, ip_prefix_len: 24}
";

/// Five Ethernet frames from `mac` whose IPv4 header claims 1400 bytes in a 60-byte frame.
const MALFORMED: &str = "
import socket, sys
mac = bytes.fromhex(sys.argv[1].replace(':', ''))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(('eth0', 0))
ip = bytes([0x45, 0, 0x05, 0x78, 0, 1, 0, 0, 64, 17, 0, 0, 10, 70, 0, 9, 10, 70, 0, 1])
frame = b'\\xff' * 6 + mac + b'\\x08\\x00' + ip + bytes(26)
for _ in range(5):
    s.send(frame)
";

/// `POST /port` with `body` on c1's port IPC (curl inside the node): status and answer.
fn post_port(sb: &Sandbox, body: &str) -> (u16, String) {
    let url = format!("http://{}/port", cirrus_lab::PORT_IPC);
    let out = sb.exec(
        "c1",
        &[
            "curl",
            "-s",
            "--max-time",
            "5",
            "-w",
            "\n%{http_code}",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data",
            body,
            &url,
        ],
    );
    let said = text(&out.stdout);
    let (answer, status) = said.rsplit_once('\n').unwrap();
    (status.trim().parse().unwrap(), answer.to_string())
}

/// The port ids c1's vrouter has.
fn port_ids(sb: &Sandbox) -> Vec<String> {
    let ports = sb.vrouter_introspect("c1", "/ports");
    let list = ports
        .get("ports")
        .and_then(Value::as_array)
        .or(ports.as_array())
        .cloned()
        .unwrap_or_default();
    let mut ids: Vec<String> = list
        .iter()
        .filter_map(|p| p.get("uuid").and_then(Value::as_str).map(str::to_string))
        .collect();
    ids.sort();
    ids
}

#[test]
fn malformed_port_requests_and_packets_change_nothing_and_are_named_or_counted() {
    let test = "malformed_port_requests_and_packets_change_nothing_and_are_named_or_counted";
    if !sandbox_can_run(test, &["ping", "curl", "python3"]) {
        return;
    }
    let sb = Sandbox::new("bad");
    sb.up(1);
    sb.apply(CONFIG);
    sb.add_workload("m1", "c1", NET);
    let before = port_ids(&sb);
    assert_eq!(before.len(), 1, "{before:?}");

    // ---- port IPC ----
    let id = "7a0c4a4e-1111-4e2a-9c51-5b1c3e6f0a01";
    let good = json!({
        "id": id,
        "instance-id": "7a0c4a4e-2222-4e2a-9c51-5b1c3e6f0a01",
        "vn-id": sb.uuid("virtual-network", &["default-domain", "bad", "net"]),
        "vm-project-id": "",
        "display-name": "bad",
        "ip-address": "10.70.0.50",
        "ip6-address": "",
        "type": 1,
        "system-name": "tapbad0",
        "mac-address": "02:00:00:00:00:50",
        "rx-vlan-id": -1,
        "tx-vlan-id": -1,
    });
    let with = |key: &str, value: Value| {
        let mut b = good.clone();
        b[key] = value;
        b.to_string()
    };
    let without = |key: &str| {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(key);
        b.to_string()
    };
    let cases = [
        (
            "mac-address",
            with("mac-address", json!("02:zz:00:00:00:50")),
        ),
        ("id", with("id", json!("not-a-uuid"))),
        ("ip-address", with("ip-address", json!("10.70.0.500"))),
        ("system-name", without("system-name")),
        ("type", with("type", json!(7))),
    ];
    for (field, body) in &cases {
        let (status, answer) = post_port(&sb, body);
        assert!((400..500).contains(&status), "{field}: {status} {answer}");
        assert!(answer.contains(field), "the answer names {field}: {answer}");
    }
    let (status, answer) = post_port(&sb, "{not json");
    assert_eq!(status, 400, "{answer}");
    let url = format!("http://{}/port/{id}", cirrus_lab::PORT_IPC);
    let got = sb.exec(
        "c1",
        &["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", &url],
    );
    assert_eq!(text(&got.stdout), "404", "a refused port was stored");
    assert_eq!(port_ids(&sb), before, "the vrouter's ports changed");

    // ---- malformed packets ----
    let status = sb.ok(&["status"]);
    let mac = status
        .lines()
        .find(|l| l.starts_with("m1 "))
        .and_then(|l| l.split_whitespace().nth(4))
        .unwrap()
        .to_string();
    let malformed = || {
        sb.vrouter_introspect("c1", "/drops")["pipeline"]["Malformed"]
            .as_u64()
            .unwrap_or(0)
    };
    let start = malformed();
    let sent = sb.exec("m1", &["python3", "-c", MALFORMED, &mac]);
    assert!(sent.status.success(), "{sent:?}");
    wait_until(
        "five malformed drops counted",
        Duration::from_secs(10),
        || (malformed() >= start + 5).then_some(()),
        || format!("{}", sb.vrouter_introspect("c1", "/drops")),
    );
    // The workload still works: its gateway (Contrail's default, the subnet's last usable
    // address) answers.
    assert!(sb.ping("m1", "10.70.0.254"), "{}", sb.logs());
}
