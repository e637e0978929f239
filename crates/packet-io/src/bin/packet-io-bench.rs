//! Backend comparison through the kernel, same run: `packet-io-bench` prints one line per
//! backend with the packets per second a single runner thread forwarded through veth (or
//! tap), per wall second and per second of that thread's CPU time ("per core").
//!
//! Run as root: `cargo run --release -p cirrus-packet-io --bin packet-io-bench`.
//! It makes its own network namespace, re-executes itself inside it (every link it makes
//! lives and dies there), and deletes the namespace on exit, also on panic (Drop guard).
//! Traffic: routed UDP from workload A to workload B (MAC rewrite), 64-byte frames, a
//! generator socket on A's side (bursts of 32 with sendmmsg) and a counter socket on B's
//! side (a TPACKET_V3 ring). The generator and
//! counter share the 2 cores with the runner, so wall-clock rates are lower bounds; the
//! per-core figure divides by the runner thread's own CPU time (`/proc/.../schedstat`).
//! This is a measurement, not a test: it asserts nothing beyond the setup working.

#[path = "../../tests/common/mod.rs"]
mod common;

use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::{Worker, WorkerConfig};
use cirrus_packet_io::af_packet::AfPacket;
use cirrus_packet_io::af_xdp::AfXdp;
use cirrus_packet_io::device::Device;
use cirrus_packet_io::runner::{Port, Runner, RunnerConfig};
use cirrus_packet_io::tap::Tap;
use cirrus_packet_io::tpacket::TpacketV3;
use common::lab::{Lab, run};
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

const FRAMES: usize = 200_000;
const INSIDE: &str = "--inside-netns";

/// Deletes the bench namespace when dropped.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some(INSIDE) {
        inside();
        return;
    }
    if !common::lab::privileged() {
        eprintln!("packet-io-bench needs root and iproute2 (ip)");
        std::process::exit(2);
    }
    let ns = Netns(format!("cpbench{}", std::process::id() % 100_000));
    run("ip", &["netns", "add", &ns.0]).expect("creating the bench namespace");
    let exe = std::env::current_exe().expect("own path");
    let status = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(exe)
        .arg(INSIDE)
        .status()
        .expect("running ip netns exec");
    drop(ns);
    std::process::exit(status.code().unwrap_or(1));
}

/// CPU time (ns) of this process's thread named `cirrus-worker` (the runner), from
/// schedstat's first field; 0 when not found.
fn runner_cpu_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    for t in dir.flatten() {
        let p = t.path();
        let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
        if comm.trim() == "cirrus-worker" {
            let s = std::fs::read_to_string(p.join("schedstat")).unwrap_or_default();
            return s
                .split_whitespace()
                .next()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
        }
    }
    0
}

/// Sends `FRAMES` frames on `gen_if` and counts what arrives on `count_if`; returns the
/// received count and packets per second over the receive window.
fn blast(gen_if: &str, count_if: &str) -> (usize, f64) {
    // Generator and counter on rings and sendmmsg too, so they cost the 2 cores as little
    // as they can (the runner's backend is what is compared).
    let mut tx = TpacketV3::open(gen_if).unwrap();
    let mut rx = TpacketV3::open(count_if).unwrap();
    let frame = PacketBuf::from_frame(&udp_v4(MAC_A, VROUTER_MAC, VM_A, VM_B, &[0u8; 22]));
    let counter = std::thread::spawn(move || {
        let (mut got, mut spare, mut bufs) = (0usize, Vec::new(), Vec::new());
        let (mut first, mut last) = (None, Instant::now());
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let n = rx.recv_batch(&mut bufs, &mut spare, 64).unwrap();
            if n > 0 {
                first.get_or_insert_with(Instant::now);
                last = Instant::now();
                got += n;
                spare.append(&mut bufs);
            } else if first.is_some() && last.elapsed() > Duration::from_millis(300) {
                break;
            } else {
                std::thread::yield_now();
            }
        }
        let secs = first.map_or(1.0, |f| last.duration_since(f).as_secs_f64().max(1e-6));
        (got, got as f64 / secs)
    });
    std::thread::sleep(Duration::from_millis(100));
    let mut sent = 0;
    let deadline = Instant::now() + Duration::from_secs(15);
    let burst = vec![&frame; 32];
    while sent < FRAMES && Instant::now() < deadline {
        let n = (FRAMES - sent).min(burst.len());
        if tx.send_batch(&burst[..n]).unwrap() < n {
            // The generator's own queue is full: let the others run.
            std::thread::yield_now();
        }
        // Counted as offered whether or not the kernel queued them all.
        sent += n;
        std::thread::yield_now();
    }
    counter.join().unwrap()
}

/// Runs the blast through a runner over `a` (workload A's port) and `b` (B's port) and
/// prints the backend's line.
fn measure(label: &str, a: Box<dyn Device>, b: Box<dyn Device>, gen_if: &str, count_if: &str) {
    let (_c, dp) = topology(false);
    let r = Runner::spawn(
        Worker::new(dp, WorkerConfig::default()),
        vec![
            Port {
                ifindex: IF_A,
                device: a,
            },
            Port {
                ifindex: IF_B,
                device: b,
            },
        ],
        Box::new(TestAgent::default()),
        RunnerConfig::default(),
    );
    let cpu0 = runner_cpu_ns();
    let (got, pps) = blast(gen_if, count_if);
    let cpu = runner_cpu_ns().saturating_sub(cpu0);
    let w = r.stop().unwrap().remove(0);
    let per_core = w.stats.tx as f64 / (cpu as f64 / 1e9).max(1e-9);
    println!(
        "BACKEND {label:<24} {:>5.0} kpps forwarded (counter saw {got}/{FRAMES}), runner sent {} \
         in {:.2} s CPU = {:>5.0} kpps per core",
        pps / 1e3,
        w.stats.tx,
        cpu as f64 / 1e9,
        per_core / 1e3
    );
}

fn inside() {
    run("ip", &["link", "set", "lo", "up"]).unwrap();
    let mut lab = Lab::new("b");

    // AF_PACKET: generator g0 <-> r0 (A's port), r1 (B's port) <-> g1 counter.
    let (g0, r0) = lab.wire("g0", MAC_A, "r0", VROUTER_MAC).unwrap();
    let (g1, r1) = lab.wire("g1", MAC_B, "r1", VROUTER_MAC).unwrap();
    measure(
        "af_packet (veth)",
        Box::new(AfPacket::open(&r0).unwrap()),
        Box::new(AfPacket::open(&r1).unwrap()),
        &g0,
        &g1,
    );

    // TPACKET_V3: the same veth pairs, the runner's ports on receive rings.
    measure(
        "tpacket_v3 ring (veth)",
        Box::new(TpacketV3::open(&r0).unwrap()),
        Box::new(TpacketV3::open(&r1).unwrap()),
        &g0,
        &g1,
    );

    // AF_XDP (copy mode): the same veth pairs, an XDP program redirecting to the sockets.
    measure(
        "af_xdp copy mode (veth)",
        Box::new(AfXdp::open(&r0).unwrap()),
        Box::new(AfXdp::open(&r1).unwrap()),
        &g0,
        &g1,
    );

    // Tap: the generator sends on tap A (the runner reads it from the tap fd), the counter
    // reads tap B (what the runner wrote to its fd).
    let (ta, tb) = (format!("{}ta", lab.prefix), format!("{}tb", lab.prefix));
    let (dev_a, dev_b) = (Tap::open(&ta).unwrap(), Tap::open(&tb).unwrap());
    lab.adopt_link(&ta);
    lab.adopt_link(&tb);
    for t in [&ta, &tb] {
        run("ip", &["link", "set", t, "up"]).unwrap();
    }
    measure("tap", Box::new(dev_a), Box::new(dev_b), &ta, &tb);
}
