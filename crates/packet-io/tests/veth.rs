//! Forwarding through real interfaces: two network namespaces (the workloads) joined by
//! veth pairs to a runner on AF_PACKET sockets. `ping` and a TCP transfer go from one
//! workload to the other through the pipeline (routed, MAC-rewritten), ARP answered by
//! the test agent. Needs root and `ip`; skips with a message otherwise. The TCP part
//! needs `ethtool` (checksum and segmentation offloads must be off for a userspace
//! forwarder on veth) and `python3`. Every namespace and link is removed on exit, also on
//! failure (Drop guard), and names carry a per-process prefix.

mod common;

use cirrus_dataplane::pipeline::{Worker, WorkerConfig};
use cirrus_packet_io::af_packet::AfPacket;
use cirrus_packet_io::af_xdp::AfXdp;
use cirrus_packet_io::device::Device;
use cirrus_packet_io::runner::{Port, Runner, RunnerConfig};
use cirrus_packet_io::tpacket::TpacketV3;
use common::lab::{Lab, can_run, run, skip};
use common::*;
use std::process::Command;

#[test]
fn ping_and_tcp_through_the_pipeline_over_veth() {
    ping_and_tcp("v", |n| Box::new(AfPacket::open(n).unwrap()));
}

/// The same through TPACKET_V3 receive rings (and sendmmsg).
#[test]
fn ping_and_tcp_through_the_pipeline_over_tpacket_v3_rings() {
    ping_and_tcp("t", |n| Box::new(TpacketV3::open(n).unwrap()));
}

/// The same through AF_XDP sockets (copy mode, the XDP program redirecting to them).
#[test]
fn ping_and_tcp_through_the_pipeline_over_af_xdp() {
    ping_and_tcp("x", |n| Box::new(AfXdp::open(n).unwrap()));
}

/// Ping and a TCP transfer from workload A to B with the runner's ports opened by `open`;
/// `tag` keeps this run's namespaces and links apart from the other backend's.
fn ping_and_tcp(tag: &str, open: fn(&str) -> Box<dyn Device>) {
    if !can_run(&format!("ping_and_tcp ({tag})")) {
        return;
    }
    let mut lab = Lab::new(tag);
    let host_a = lab.workload("a", MAC_A, VM_A).unwrap();
    let host_b = lab.workload("b", MAC_B, VM_B).unwrap();
    let (ns_a, ns_b) = (lab.ns("a"), lab.ns("b"));
    let inner_a = format!("{}wa", lab.prefix);
    let inner_b = format!("{}wb", lab.prefix);

    // Flows on B's port: the first packet of each connection goes through the agent.
    let (_c, dp) = topology(true);
    let agent = TestAgent::default();
    // Two workers: each owns one port, flows are steered to one of them by hash.
    let runner = Runner::spawn_workers(
        vec![
            Worker::new(dp.clone(), WorkerConfig::default()),
            Worker::new(dp, WorkerConfig::default()),
        ],
        vec![
            Port {
                ifindex: IF_A,
                device: open(&host_a),
            },
            Port {
                ifindex: IF_B,
                device: open(&host_b),
            },
        ],
        Box::new(agent.clone()),
        RunnerConfig::default(),
    );

    let ping = run(
        "ip",
        &[
            "netns",
            "exec",
            &ns_a,
            "ping",
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "2",
            &VM_B.to_string(),
        ],
    );
    assert!(ping.is_ok(), "ping through the pipeline failed: {ping:?}");

    // TTL 1: the vRouter is the first hop; the agent answers with time exceeded from the
    // gateway (ping exits non-zero then, so read its output rather than its status).
    let ttl1 = Command::new("ip")
        .args([
            "netns", "exec", &ns_a, "ping", "-c", "1", "-t", "1", "-W", "2",
        ])
        .arg(VM_B.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ttl1.stdout);
    assert!(
        text.contains(&format!("From {GATEWAY}")) && text.contains("Time to live exceeded"),
        "ping -t 1: {text}"
    );

    let ethtool = Command::new("ethtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ethtool && python {
        for (ns, dev) in [(&ns_a, &inner_a), (&ns_b, &inner_b)] {
            run(
                "ip",
                &[
                    "netns", "exec", ns, "ethtool", "-K", dev, "tx", "off", "tso", "off", "gso",
                    "off",
                ],
            )
            .unwrap();
        }
        // Server in B counts the bytes of one connection; client in A sends 1 MiB.
        let server = Command::new("ip")
            .args(["netns", "exec", &ns_b, "timeout", "20", "python3", "-c"])
            .arg(format!(
                "import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('{VM_B}',5001))\ns.listen(1)\nc,_=s.accept()\nn=0\nwhile True:\n  d=c.recv(65536)\n  if not d: break\n  n+=len(d)\nprint(n)"
            ))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        let client = run(
            "ip",
            &[
                "netns",
                "exec",
                &ns_a,
                "timeout",
                "20",
                "python3",
                "-c",
                &format!(
                    "import socket\ns=socket.create_connection(('{VM_B}',5001),timeout=10)\ns.sendall(b'x'*1048576)\ns.close()"
                ),
            ],
        );
        let out = server.wait_with_output().unwrap();
        assert!(client.is_ok(), "TCP client failed: {client:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "1048576",
            "bytes received over TCP"
        );
    } else {
        skip("ping_and_tcp (TCP part)", "needs ethtool and python3");
    }

    let ws = runner.stop().unwrap();
    assert!(
        agent.arps.load(std::sync::atomic::Ordering::Relaxed) >= 2,
        "both sides resolved ARP via the agent"
    );
    assert!(agent.upcalls.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    let tx: u64 = ws.iter().map(|w| w.stats.tx).sum();
    assert!(tx >= 6, "sent {tx}");
    for (i, w) in ws.iter().enumerate() {
        println!("worker {i}: {:?}, drops {:?}", w.stats, w.drops.nonzero());
    }
}
