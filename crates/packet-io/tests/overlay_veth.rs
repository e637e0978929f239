//! Two vRouters over a fabric link: workload A behind vRouter 1, workload B behind
//! vRouter 2, each vRouter a runner on AF_PACKET sockets, the fabric a veth pair. `ping`
//! from A to B crosses the fabric as MPLS over UDP; tcpdump captures the fabric and tshark
//! (a dissector we did not write) confirms the labels and underlay addresses on the wire.
//! Needs root and `ip`; the capture check needs tcpdump and tshark. Underlay addresses are
//! 198.18.0.1 and 198.18.0.2 (pipeline configuration only; the kernel never routes them).

mod common;

use cirrus_dataplane::control::Dataplane;
use cirrus_dataplane::pipeline::{Worker, WorkerConfig};
use cirrus_packet_io::af_packet::AfPacket;
use cirrus_packet_io::runner::{Port, Runner, RunnerConfig};
use common::lab::{Lab, can_run, run, skip};
use common::*;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use common::overlay::*;

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn ping_crosses_the_fabric_as_mpls_over_udp() {
    if !can_run("ping_crosses_the_fabric_as_mpls_over_udp") {
        return;
    }
    let mut lab = Lab::new("o");
    let host_a = lab.workload("a", MAC_A, VM_A).unwrap();
    let host_b = lab.workload("b", MAC_B, VM_B).unwrap();
    let (f1, f2) = lab.wire("f1", FABRIC_MAC_1, "f2", FABRIC_MAC_2).unwrap();
    let (l1, l2) = (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2));
    let (_c1, dp1) = vrouter(
        l1,
        FABRIC_MAC_1,
        l2,
        FABRIC_MAC_2,
        (MAC_A, VM_A, 17),
        (VM_B, 18),
    );
    let (_c2, dp2) = vrouter(
        l2,
        FABRIC_MAC_2,
        l1,
        FABRIC_MAC_1,
        (MAC_B, VM_B, 18),
        (VM_A, 17),
    );
    // Two workers per vRouter: each owns one port; flows are steered by hash.
    let spawn = |dp: Dataplane, vm: &str, fabric: &str| {
        Runner::spawn_workers(
            vec![
                Worker::new(dp.clone(), WorkerConfig::default()),
                Worker::new(dp, WorkerConfig::default()),
            ],
            vec![
                Port {
                    ifindex: IF_VM,
                    device: Box::new(AfPacket::open(vm).unwrap()),
                },
                Port {
                    ifindex: IF_FABRIC,
                    device: Box::new(AfPacket::open(fabric).unwrap()),
                },
            ],
            Box::new(TestAgent::default()),
            RunnerConfig::default(),
        )
    };
    let r1 = spawn(dp1, &host_a, &f1);
    let r2 = spawn(dp2, &host_b, &f2);

    let capture = (have("tcpdump") && have("tshark")).then(|| {
        let path = std::env::temp_dir().join(format!("{}-fabric.pcap", lab.prefix));
        let child = Command::new("timeout")
            .args(["15", "tcpdump", "-n", "-U", "-i", &f1, "-c", "4", "-w"])
            .arg(&path)
            .args(["udp", "port", "6635"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(500));
        (path, child)
    });

    let ns_a = lab.ns("a");
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
    let w1 = r1.stop().unwrap();
    let w2 = r2.stop().unwrap();
    let summary = |ws: &[Worker]| {
        ws.iter()
            .map(|w| format!("{:?} {:?}", w.stats, w.drops.nonzero()))
            .collect::<Vec<_>>()
    };
    assert!(
        ping.is_ok(),
        "ping across the overlay failed: {ping:?}\nvr1 {:?}\nvr2 {:?}",
        summary(&w1),
        summary(&w2)
    );

    match capture {
        Some((path, child)) => {
            let _ = child.wait_with_output();
            let out = Command::new("tshark")
                .args(["-n", "-r"])
                .arg(&path)
                .args([
                    "-d",
                    "udp.port==6635,mpls",
                    "-T",
                    "fields",
                    "-E",
                    "separator=;",
                    "-e",
                    "ip.src",
                    "-e",
                    "ip.dst",
                    "-e",
                    "mpls.label",
                    "-e",
                    "icmp.type",
                ])
                .output()
                .unwrap();
            let _ = std::fs::remove_file(&path);
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            println!("fabric capture:\n{text}");
            let lines: Vec<&str> = text.lines().collect();
            assert!(lines.len() >= 2, "too few frames on the fabric: {text}");
            assert!(
                lines.contains(&"198.18.0.1,10.1.0.3;198.18.0.2,10.1.0.4;18;8"),
                "echo request as label 18: {text}"
            );
            assert!(
                lines.contains(&"198.18.0.2,10.1.0.4;198.18.0.1,10.1.0.3;17;0"),
                "echo reply as label 17: {text}"
            );
        }
        None => skip(
            "ping_crosses_the_fabric_as_mpls_over_udp (capture check)",
            "needs tcpdump and tshark",
        ),
    }
}
