//! The runner over in-memory devices: ARP is answered by the agent, routed packets come
//! out rewritten on the other port, a flow miss is decided by the agent and its parked
//! packet released. No privileges needed.

mod common;

use cirrus_dataplane::pipeline::{Worker, WorkerConfig};
use cirrus_dataplane::wire::*;
use cirrus_packet_io::memory::{MemDevice, MemPeer};
use cirrus_packet_io::runner::{Port, Runner, RunnerConfig};
use common::*;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Polls `peer` until it has sent `n` frames or two seconds passed (bounded wait).
fn wait_for(peer: &MemPeer, n: usize) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        got.extend(peer.drain());
        std::thread::sleep(Duration::from_millis(1));
    }
    got
}

#[test]
fn arp_is_proxied_and_packets_are_routed_and_flows_decided() {
    let (_c, dp) = topology(true);
    let (dev_a, peer_a) = MemDevice::pair("a", 1024);
    let (dev_b, peer_b) = MemDevice::pair("b", 1024);
    let agent = TestAgent::default();
    let runner = Runner::spawn(
        Worker::new(dp, WorkerConfig::default()),
        vec![
            Port {
                ifindex: IF_A,
                device: Box::new(dev_a),
            },
            Port {
                ifindex: IF_B,
                device: Box::new(dev_b),
            },
        ],
        Box::new(agent.clone()),
        RunnerConfig::default(),
    );

    // ARP for B from A: answered with the vRouter MAC on A's port.
    let mut arp = vec![0u8; 42];
    EthernetRepr {
        src: MAC_A,
        dst: MacAddr::BROADCAST,
        ethertype: EtherType::ARP,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut arp[..]));
    ArpRepr {
        operation: ArpOperation::Request,
        source_hw: MAC_A,
        source_ip: VM_A,
        target_hw: MacAddr::ZERO,
        target_ip: VM_B,
    }
    .emit(&mut arp[14..]);
    assert!(peer_a.inject(&arp));
    let got = wait_for(&peer_a, 1);
    assert_eq!(got.len(), 1);
    let reply = ArpRepr::parse(&ArpPacket::new_checked(&got[0][14..]).unwrap()).unwrap();
    assert_eq!(
        (reply.operation, reply.source_hw, reply.source_ip),
        (ArpOperation::Reply, VROUTER_MAC, VM_B)
    );

    // A -> B is routed (no flow on A's port) and rewritten.
    assert!(peer_a.inject(&udp_v4(MAC_A, VROUTER_MAC, VM_A, VM_B, b"hello")));
    let got = wait_for(&peer_b, 1);
    assert_eq!(got.len(), 1);
    let eth = EthernetFrame::new_checked(&got[0][..]).unwrap();
    assert_eq!((eth.dst_addr(), eth.src_addr()), (MAC_B, VROUTER_MAC));

    // B -> A misses the flow table on B's policy port: held, decided, released.
    assert!(peer_b.inject(&udp_v4(MAC_B, VROUTER_MAC, VM_B, VM_A, b"back")));
    let got = wait_for(&peer_a, 1);
    assert_eq!(got.len(), 1);
    assert_eq!(agent.upcalls.load(Ordering::Relaxed), 1);

    let w = runner.stop().unwrap().remove(0);
    assert_eq!(w.stats.rx, 3);
    assert_eq!(w.flows.len(), 2);
}
