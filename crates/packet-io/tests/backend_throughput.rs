//! Backend comparison through the kernel, same run: the runner forwards UDP from workload A
//! to workload B (routed, MAC rewrite) with its ports on AF_PACKET sockets over veth pairs,
//! then on tap devices. A generator socket injects frames on A's side and a counter socket
//! counts them on B's side. Prints packets per second per backend. Ignored by default (root,
//! a few seconds, and a 2-core machine shares its cores with the generator):
//! `cargo test -p cirrus-packet-io --release --test backend_throughput -- --ignored --nocapture`

mod common;

use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::{Worker, WorkerConfig};
use cirrus_packet_io::af_packet::AfPacket;
use cirrus_packet_io::device::Device;
use cirrus_packet_io::runner::{Port, Runner, RunnerConfig};
use cirrus_packet_io::tap::Tap;
use common::lab::{Lab, can_run, run};
use common::*;
use std::time::{Duration, Instant};

const FRAMES: usize = 200_000;

/// Sends `FRAMES` frames on `gen_if` and counts what arrives on `count_if`; returns the
/// received count and packets per second over the receive window.
fn blast(gen_if: &str, count_if: &str) -> (usize, f64) {
    let mut tx = AfPacket::open(gen_if).unwrap();
    let mut rx = AfPacket::open(count_if).unwrap();
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
    while sent < FRAMES && Instant::now() < deadline {
        sent += tx.send_batch(&[&frame]).unwrap();
        if sent % 64 == 0 {
            std::thread::yield_now();
        }
    }
    counter.join().unwrap()
}

fn runner(ports: Vec<Port>) -> Runner {
    let (_c, dp) = topology(false);
    Runner::spawn(
        Worker::new(dp, WorkerConfig::default()),
        ports,
        Box::new(TestAgent::default()),
        RunnerConfig::default(),
    )
}

#[test]
#[ignore = "throughput measurement: needs root, run by hand"]
fn af_packet_and_tap_throughput() {
    if !can_run() {
        return;
    }
    let mut lab = Lab::new("t");
    // AF_PACKET: generator g0 <-> r0 (A's port), r1 (B's port) <-> g1 counter.
    let (g0, r0) = lab.wire("g0", MAC_A, "r0", VROUTER_MAC).unwrap();
    let (g1, r1) = lab.wire("g1", MAC_B, "r1", VROUTER_MAC).unwrap();
    let r = runner(vec![
        Port {
            ifindex: IF_A,
            device: Box::new(AfPacket::open(&r0).unwrap()),
        },
        Port {
            ifindex: IF_B,
            device: Box::new(AfPacket::open(&r1).unwrap()),
        },
    ]);
    let (got, pps) = blast(&g0, &g1);
    let w = r.stop().unwrap();
    println!(
        "BACKEND af_packet over veth: {got}/{FRAMES} frames forwarded, {:.0} kpps (runner tx {})",
        pps / 1e3,
        w.stats.tx
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
    let r = runner(vec![
        Port {
            ifindex: IF_A,
            device: Box::new(dev_a),
        },
        Port {
            ifindex: IF_B,
            device: Box::new(dev_b),
        },
    ]);
    let (got, pps) = blast(&ta, &tb);
    let w = r.stop().unwrap();
    println!(
        "BACKEND tap: {got}/{FRAMES} frames forwarded, {:.0} kpps (runner tx {})",
        pps / 1e3,
        w.stats.tx
    );
}
