//! Across networks, through the whole system: a network policy created and attached with
//! the VNC API, compiled by the controller's intent compiler into ACLs and route-target
//! imports, served by its route server, enforced by two real agents. Nothing passes between
//! the networks until the policy allows it; then TCP to port 80 passes both ways and 443 is
//! denied by the policy; detached, new connections stop.

mod common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use cirrus_agent::program::VROUTER_MAC;
use cirrus_agent::testing::frames;
use cirrus_agent::testing::memfabric::MemFabric;
use cirrus_dataplane::wire::{MacAddr, TcpFlags};
use cirrus_packet_io::memory::MemPeer;
use common::*;
use serde_json::{Value, json};

const A: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 3);
const B: Ipv4Addr = Ipv4Addr::new(10, 2, 0, 3);
const RED: &str = "default-domain:default-project:red:red";
const BLUE: &str = "default-domain:default-project:blue:blue";

fn syn(mac: MacAddr, src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, flags: u16) -> Vec<u8> {
    frames::ether(
        mac,
        VROUTER_MAC,
        &frames::tcp_ip(src, sport, dst, dport, flags, b""),
    )
}

/// Segments a tap received within `d` (TCP only).
async fn received(tap: &MemPeer, d: Duration) -> usize {
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed() < d {
        n += tap
            .drain()
            .iter()
            .filter(|f| f.len() > 23 && f[23] == 6)
            .count();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    n
}

fn routed(v: &Vrouter, instance: &str, prefix: &str) -> bool {
    let s = v.run.status.load();
    s.vrfs.iter().any(|x| {
        x.instance == instance
            && x.routes
                .iter()
                .any(|r| r.prefix == prefix && r.nexthop.contains(" to 198.18."))
    })
}

fn attach(c: &Controller, vn: &str, policies: &[&str]) {
    let uuid = c.api(
        "POST",
        "/fqname-to-id",
        Some(json!({"type": "virtual-network", "fq_name": [P[0], P[1], vn]})),
    )["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let refs: Vec<Value> = policies
        .iter()
        .map(|p| json!({"to": [P[0], P[1], p], "attr": {"sequence": {"major": 0, "minor": 0}, "timer": null}}))
        .collect();
    c.api(
        "PUT",
        &format!("/virtual-network/{uuid}"),
        Some(json!({"virtual-network": {"network_policy_refs": refs}})),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn a_network_policy_through_the_whole_system() {
    let test = "a_network_policy_through_the_whole_system";
    let Some(bin) = controller_or_skip(test) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let c = tokio::task::block_in_place(|| Controller::start(&bin, tmp.path()));
    let (a, mac_a, b, mac_b) = tokio::task::block_in_place(|| {
        network(&c, "red", "10.1.0.0/24", "target:64512:8100");
        network(&c, "blue", "10.2.0.0/24", "target:64512:8200");
        let (a, ma) = port(&c, "red", "pa", "c1", "10.1.0.3");
        let (b, mb) = port(&c, "blue", "pb", "c2", "10.2.0.3");
        (a, ma, b, mb)
    });
    let v1 = Vrouter::start(1, &tmp.path().join("c1"), &["tap-a"], &[c.channel]);
    let v2 = Vrouter::start(2, &tmp.path().join("c2"), &["tap-b"], &[c.channel]);
    let _fabric = MemFabric::start(vec![v1.fabric_node(), v2.fabric_node()]);
    v1.add_port(&a, "tap-a");
    v2.add_port(&b, "tap-b");
    let ctx = || format!("{}\n{}\n{}", v1.status_json(), v2.status_json(), c.log());
    wait(
        "both ports programmed",
        Duration::from_secs(20),
        || {
            v1.run.status.load().ports.iter().any(|p| p.vrf.is_some())
                && v2.run.status.load().ports.iter().any(|p| p.vrf.is_some())
        },
        ctx,
    )
    .await;

    // No policy: the networks do not see each other.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!routed(&v1, RED, "10.2.0.3/32"), "{}", v1.status_json());
    v1.tap("tap-a")
        .inject(&syn(mac_a, A, 40000, B, 80, TcpFlags::SYN));
    assert_eq!(
        received(v2.tap("tap-b"), Duration::from_millis(500)).await,
        0,
        "nothing passes without a policy"
    );

    // red <> blue on TCP 80, attached to both.
    tokio::task::block_in_place(|| {
        c.create(
            "network-policy",
            json!({
                "fq_name": [P[0], P[1], "red-blue"], "parent_type": "project",
                "network_policy_entries": {"policy_rule": [{
                    "direction": "<>", "protocol": "tcp",
                    "src_addresses": [{"virtual_network": "default-domain:default-project:red"}],
                    "dst_addresses": [{"virtual_network": "default-domain:default-project:blue"}],
                    "src_ports": [{"start_port": -1, "end_port": -1}],
                    "dst_ports": [{"start_port": 80, "end_port": 80}],
                    "action_list": {"simple_action": "pass"}
                }]}
            }),
        );
        attach(&c, "red", &["red-blue"]);
        attach(&c, "blue", &["red-blue"]);
    });
    wait(
        "each network's routes in the other's instance",
        Duration::from_secs(20),
        || {
            routed(&v1, RED, "10.2.0.3/32")
                && routed(&v2, BLUE, "10.1.0.3/32")
                && v1.tunnel_ready("198.18.0.12")
                && v2.tunnel_ready("198.18.0.11")
        },
        ctx,
    )
    .await;
    // The ACLs are there too (the slices carry them): 80 passes both ways, 443 does not.
    wait(
        "the policy's ACLs in the slices",
        Duration::from_secs(10),
        || {
            let n = |v: &Vrouter| v.run.status.load().config_objects;
            n(&v1) > 0 && n(&v2) > 0
        },
        ctx,
    )
    .await;
    let t = Instant::now();
    let mut sport = 41000;
    loop {
        sport += 1;
        v1.tap("tap-a")
            .inject(&syn(mac_a, A, sport, B, 80, TcpFlags::SYN));
        if received(v2.tap("tap-b"), Duration::from_millis(100)).await == 1 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "80 does not pass\n{}",
            ctx()
        );
    }
    v2.tap("tap-b")
        .inject(&syn(mac_b, B, 80, A, sport, TcpFlags::SYN | TcpFlags::ACK));
    assert_eq!(
        received(v1.tap("tap-a"), Duration::from_millis(500)).await,
        1,
        "the answer from 80 comes back"
    );
    v1.tap("tap-a")
        .inject(&syn(mac_a, A, 42000, B, 443, TcpFlags::SYN));
    assert_eq!(
        received(v2.tap("tap-b"), Duration::from_millis(500)).await,
        0,
        "443 is not allowed"
    );
    let s1 = v1.run.stats.snapshot();
    assert!(
        s1.by_reason.get("network-policy").copied().unwrap_or(0) >= 1,
        "{s1:?}"
    );

    // Detached from both: the routes go and new connections stop.
    tokio::task::block_in_place(|| {
        attach(&c, "red", &[]);
        attach(&c, "blue", &[]);
    });
    wait(
        "the leaked routes withdrawn",
        Duration::from_secs(20),
        || !routed(&v1, RED, "10.2.0.3/32"),
        ctx,
    )
    .await;
    v1.tap("tap-a")
        .inject(&syn(mac_a, A, 43000, B, 80, TcpFlags::SYN));
    assert_eq!(
        received(v2.tap("tap-b"), Duration::from_millis(500)).await,
        0,
        "new connections stop"
    );
    v1.run.stop().await;
    v2.run.stop().await;
}
