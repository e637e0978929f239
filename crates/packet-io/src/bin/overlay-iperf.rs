//! TCP throughput between two workloads on two vRouters over the overlay (MPLS over UDP on
//! a fabric veth), beside the same transfer over a plain veth pair, in one run: the figure
//! issue 12 asks for (overlay / plain >= 0.5). `overlay-iperf [SECONDS] [ROUNDS]`, root.
//!
//! It makes its own network namespace and re-executes itself inside it (every link, the
//! workload namespaces and the runners live there; everything is removed on exit, also on
//! panic, by Drop guards and by deleting the namespace). Per round, one `iperf3` stream
//! (client in workload A, server in B) over:
//! - `plain veth`: two namespaces joined by a veth pair, offloads on (the reference);
//! - `overlay af_packet`: two runners (one worker each) on AF_PACKET sockets, the
//!   workloads' offloads off (a userspace forwarder that cannot take super-frames needs
//!   them off);
//! - `overlay gso`: the same runners on `AfPacketGso` sockets (`PACKET_VNET_HDR`), the
//!   workloads' offloads on: super-frames cut into 8950-byte segments on the way in,
//!   handed to B's stack whole on the way out.
//!
//! - `overlay gso, fabric MTU 65535`: the same with a fabric veth that carries a whole
//!   super-frame per packet (a lab underlay can; a physical one cannot).
//!
//! The fabric veth has MTU 9000 in the first two overlay runs (as the sandbox's underlay).
//!
//! This is a measurement, not a test: it prints figures (and the runners' device counters
//! for the overlay runs) and asserts only that the setup works.

#[path = "../../tests/common/mod.rs"]
mod common;

use cirrus_dataplane::control::Dataplane;
use cirrus_dataplane::pipeline::{Worker, WorkerConfig};
use cirrus_packet_io::af_packet::AfPacket;
use cirrus_packet_io::af_packet_gso::{AfPacketGso, GsoConfig};
use cirrus_packet_io::device::Device;
use cirrus_packet_io::runner::{Port, Runner, RunnerConfig};
use common::lab::{Lab, privileged, run};
use common::overlay::*;
use common::*;
use std::net::Ipv4Addr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const INSIDE: &str = "--inside-netns";
const PLAIN_A: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
const PLAIN_B: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);
const UNDERLAY_1: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const UNDERLAY_2: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

/// Deletes the bench namespace when dropped.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// Kills a process this bench started (by its pid) when dropped.
struct Started(Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(cmd: &str) -> bool {
    Command::new(cmd)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(INSIDE) {
        inside(&args[2..]);
        return;
    }
    if !privileged() || !have("iperf3") || !have("ethtool") {
        eprintln!("overlay-iperf needs root, iproute2 (ip), iperf3 and ethtool");
        std::process::exit(2);
    }
    let ns = Netns(format!("cpoi{}", std::process::id() % 100_000));
    run("ip", &["netns", "add", &ns.0]).expect("creating the bench namespace");
    let exe = std::env::current_exe().expect("own path");
    let status = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(exe)
        .arg(INSIDE)
        .args(&args[1..])
        .status()
        .expect("running ip netns exec");
    drop(ns);
    std::process::exit(status.code().unwrap_or(1));
}

/// One iperf3 stream from `client_ns` to `server` in `server_ns`; Gbit/s received.
fn iperf(client_ns: &str, server_ns: &str, server: Ipv4Addr, secs: u32) -> f64 {
    let s = server.to_string();
    let _server = Started(
        Command::new("ip")
            .args(["netns", "exec", server_ns, "iperf3", "-s", "-1", "-B", &s])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting iperf3 -s"),
    );
    std::thread::sleep(Duration::from_millis(300));
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            client_ns,
            "timeout",
            &(secs + 20).to_string(),
        ])
        .args(["iperf3", "-c", &s, "-t", &secs.to_string(), "-J"])
        .output()
        .expect("running iperf3 -c");
    let text = String::from_utf8_lossy(&out.stdout);
    received_bps(&text).map_or(0.0, |b| b / 1e9)
}

/// CPU time (ns) of this process's runner threads (`cirrus-worker*`), from schedstat.
fn workers_cpu_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|c| c.starts_with("cirrus-worker"))
        })
        .filter_map(|t| {
            std::fs::read_to_string(t.path().join("schedstat"))
                .ok()?
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

/// `end.sum_received.bits_per_second` of iperf3's JSON report.
fn received_bps(json: &str) -> Option<f64> {
    let at = json.find("\"sum_received\"")?;
    let rest = &json[at..];
    let at = rest.find("\"bits_per_second\"")?;
    let rest = rest[at..].split_once(':')?.1.trim_start();
    let end = rest.find([',', '\n', '}'])?;
    rest[..end].trim().parse().ok()
}

/// The two vRouters' runners, one worker each, over the given devices.
fn runners(
    dp: [Dataplane; 2],
    vm: [Box<dyn Device>; 2],
    fabric: [Box<dyn Device>; 2],
) -> [Runner; 2] {
    let [dp1, dp2] = dp;
    let [vm1, vm2] = vm;
    let [f1, f2] = fabric;
    let spawn = |dp: Dataplane, vm: Box<dyn Device>, fabric: Box<dyn Device>| {
        Runner::spawn(
            Worker::new(dp, WorkerConfig::default()),
            vec![
                Port {
                    ifindex: IF_VM,
                    device: vm,
                },
                Port {
                    ifindex: IF_FABRIC,
                    device: fabric,
                },
            ],
            Box::new(TestAgent::default()),
            RunnerConfig::default(),
        )
    };
    [spawn(dp1, vm1, f1), spawn(dp2, vm2, f2)]
}

fn report(label: &str, rs: [Runner; 2]) {
    for (i, r) in rs.iter().enumerate() {
        let rep = r.handle().report().expect("report");
        for w in &rep.workers {
            for p in &w.ports {
                let c = p.counters;
                println!(
                    "  {label} vrouter{} port {} rx {} (gso {} -> {} segments, partial csum {}) tx {} \
                     (gso {}, oversized {}, full {}) truncated {}",
                    i + 1,
                    p.ifindex,
                    c.rx_frames,
                    c.rx_gso_frames,
                    c.rx_gso_segments,
                    c.rx_csum_partial,
                    c.tx_frames,
                    c.tx_gso_frames,
                    c.tx_oversized,
                    c.tx_full,
                    c.rx_truncated
                );
            }
            println!("  {label} vrouter{} drops {:?}", i + 1, w.drops.nonzero());
        }
    }
    for r in rs {
        r.stop().expect("runner");
    }
}

fn inside(args: &[String]) {
    let secs: u32 = args.first().and_then(|a| a.parse().ok()).unwrap_or(10);
    let rounds: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1);
    run("ip", &["link", "set", "lo", "up"]).unwrap();
    let mut lab = Lab::new("i");
    lab.pair("pa", PLAIN_A, "pb", PLAIN_B).unwrap();
    let host_a = lab.workload("a", MAC_A, VM_A).unwrap();
    let host_b = lab.workload("b", MAC_B, VM_B).unwrap();
    let (f1, f2) = lab.wire("f1", FABRIC_MAC_1, "f2", FABRIC_MAC_2).unwrap();
    let (ns_a, ns_b) = (lab.ns("a"), lab.ns("b"));
    let (in_a, in_b) = (format!("{}wa", lab.prefix), format!("{}wb", lab.prefix));
    let vrouters = || {
        let (c1, dp1) = vrouter(
            UNDERLAY_1,
            FABRIC_MAC_1,
            UNDERLAY_2,
            FABRIC_MAC_2,
            (MAC_A, VM_A, 17),
            (VM_B, 18),
        );
        let (c2, dp2) = vrouter(
            UNDERLAY_2,
            FABRIC_MAC_2,
            UNDERLAY_1,
            FABRIC_MAC_1,
            (MAC_B, VM_B, 18),
            (VM_A, 17),
        );
        ([c1, c2], [dp1, dp2])
    };
    let offloads = |on: &str| {
        for (ns, dev) in [(&ns_a, &in_a), (&ns_b, &in_b)] {
            run(
                "ip",
                &[
                    "netns", "exec", ns, "ethtool", "-K", dev, "tx", on, "tso", on, "gso", on,
                ],
            )
            .unwrap();
        }
    };
    let mtu = |m: &str| {
        // Both ends of the fabric.
        for l in [&f1, &f2] {
            run("ip", &["link", "set", l, "mtu", m]).unwrap();
        }
    };

    // The fabric carries jumbo frames (as a compute node's underlay does in the sandbox),
    // so a workload's 1500-byte packets fit after encapsulation.
    mtu("9000");
    for round in 1..=rounds {
        let plain = iperf(&lab.ns("pa"), &lab.ns("pb"), PLAIN_B, secs);
        println!("ROUND {round} plain veth: {plain:.2} Gbit/s");

        offloads("off");
        let (_c, dp) = vrouters();
        let rs = runners(
            dp,
            [
                Box::new(AfPacket::open(&host_a).unwrap()),
                Box::new(AfPacket::open(&host_b).unwrap()),
            ],
            [
                Box::new(AfPacket::open(&f1).unwrap()),
                Box::new(AfPacket::open(&f2).unwrap()),
            ],
        );
        let cpu = workers_cpu_ns();
        let old = iperf(&ns_a, &ns_b, VM_B, secs);
        let old_cpu = (workers_cpu_ns() - cpu) as f64 / 1e9;
        println!(
            "ROUND {round} overlay af_packet (offloads off): {old:.2} Gbit/s = {:.2} x plain; \
             runners {old_cpu:.1} CPU-s = {:.2} Gbit per runner CPU-second",
            old / plain,
            old * secs as f64 / old_cpu
        );
        report("af_packet", rs);

        offloads("on");
        let (_c, dp) = vrouters();
        let cfg = GsoConfig::for_fabric_mtu(9000);
        let open = |n: &str| -> Box<dyn Device> { Box::new(AfPacketGso::open(n, cfg).unwrap()) };
        let rs = runners(dp, [open(&host_a), open(&host_b)], [open(&f1), open(&f2)]);
        let cpu = workers_cpu_ns();
        let gso = iperf(&ns_a, &ns_b, VM_B, secs);
        let gso_cpu = (workers_cpu_ns() - cpu) as f64 / 1e9;
        println!(
            "ROUND {round} overlay gso (offloads on): {gso:.2} Gbit/s = {:.2} x plain; \
             runners {gso_cpu:.1} CPU-s = {:.2} Gbit per runner CPU-second",
            gso / plain,
            gso * secs as f64 / gso_cpu
        );
        report("gso", rs);

        // The same with a fabric that carries a whole super-frame per packet (veth and a
        // bridge allow 65535; a lab underlay, not a physical one): no cutting at all.
        mtu("65535");
        let (_c, dp) = vrouters();
        let cfg = GsoConfig::for_fabric_mtu(65535);
        let open = |n: &str| -> Box<dyn Device> { Box::new(AfPacketGso::open(n, cfg).unwrap()) };
        let rs = runners(dp, [open(&host_a), open(&host_b)], [open(&f1), open(&f2)]);
        let cpu = workers_cpu_ns();
        let big = iperf(&ns_a, &ns_b, VM_B, secs);
        let big_cpu = (workers_cpu_ns() - cpu) as f64 / 1e9;
        println!(
            "ROUND {round} overlay gso, fabric MTU 65535: {big:.2} Gbit/s = {:.2} x plain; \
             runners {big_cpu:.1} CPU-s = {:.2} Gbit per runner CPU-second",
            big / plain,
            big * secs as f64 / big_cpu
        );
        report("gso64k", rs);
        mtu("9000");
    }
}
