//! The agent's view of a worker's flows (`Worker::flow_records`) and its deletions
//! (`Worker::delete_flows`): records carry key, verdict, NAT, counters and both
//! interfaces; deleting by a filter takes whole pairs, drops the packets parked on them,
//! and the next packet of a deleted flow is a miss again.

mod common;

use cirrus_dataplane::drop::DropReason;
use cirrus_dataplane::flow::{FlowDecision, FlowKey, FlowSpec, FlowVerdict};
use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::{Disposition, Worker, WorkerConfig};
use cirrus_dataplane::wire::*;
use common::*;

fn run(w: &mut Worker, ingress: u32, frame: &[u8]) -> Disposition {
    let mut p = [PacketBuf::from_frame(frame)];
    let mut out = [Disposition::Held];
    w.process_batch(100, ingress, &mut p, &mut out);
    out[0]
}

/// Decides the one pending upcall: allowed both ways.
fn allow(w: &mut Worker) {
    let up = w.take_upcalls();
    assert_eq!(up.len(), 1);
    w.apply_decision(
        100,
        FlowDecision {
            index: up[0].index,
            key: up[0].key,
            forward: FlowSpec::forward(1),
            reverse: Some((up[0].key.reversed(1), FlowSpec::forward(1))),
        },
    )
    .unwrap();
}

/// Three flows from the policy port C: to a remote workload (fabric), to local B, and
/// one still held with a packet parked on it.
fn three_flows() -> (cirrus_dataplane::control::Controller, Worker) {
    let (c, dp) = topology();
    let mut w = Worker::new(dp, WorkerConfig::default());
    let remote = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_C_UDP, 3000, 53, b"q");
    let local = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_B, 3001, 53, b"q");
    for f in [&remote, &local] {
        assert_eq!(run(&mut w, IF_C, f), Disposition::Held);
        allow(&mut w);
        assert!(matches!(run(&mut w, IF_C, f), Disposition::Tx(_)));
    }
    let held = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_B, 3002, 53, b"q");
    assert_eq!(run(&mut w, IF_C, &held), Disposition::Held);
    // Its upcall went to the agent, which has not answered yet.
    assert_eq!(w.take_upcalls().len(), 1);
    (c, w)
}

fn key(sport: u16, dst: std::net::Ipv4Addr) -> FlowKey {
    FlowKey::new(1, IpProtocol::UDP, VM_P.into(), dst.into(), sport, 53)
}

#[test]
fn records_show_key_verdict_counters_and_both_interfaces() {
    let (_c, w) = three_flows();
    let (n, all) = w.flow_records(|_| true, usize::MAX);
    assert_eq!((n, all.len()), (5, 5));
    let remote = all.iter().find(|r| r.key == key(3000, VM_C_UDP)).unwrap();
    assert_eq!(remote.verdict, FlowVerdict::Forward);
    assert_eq!((remote.packets, remote.interface), (2, IF_C));
    assert_eq!(remote.out_interface, Some(IF_FABRIC));
    assert_eq!(remote.rev_key, Some(key(3000, VM_C_UDP).reversed(1)));
    let local = all.iter().find(|r| r.key == key(3001, VM_B)).unwrap();
    assert_eq!(local.out_interface, Some(IF_B));
    let held = all.iter().find(|r| r.key == key(3002, VM_B)).unwrap();
    assert_eq!((held.verdict, held.rev_key), (FlowVerdict::Hold, None));
    // The reverse entries count against C too (the interface that set the flow up).
    assert!(all.iter().all(|r| r.interface == IF_C));
    // Bounded: the count says how many matched, the list holds at most `limit`.
    let (n, some) = w.flow_records(|r| r.verdict == FlowVerdict::Forward, 2);
    assert_eq!((n, some.len()), (4, 2));
}

#[test]
fn deleting_by_filter_takes_pairs_and_parked_packets() {
    let (_c, mut w) = three_flows();
    // Flows leaving by B: the local pair only (its reverse entry leaves by C, or is not
    // pinned yet, and goes with it).
    let gone = w.delete_flows(|r| r.out_interface == Some(IF_B));
    let mut keys: Vec<FlowKey> = gone.iter().map(|g| g.1).collect();
    keys.sort_by_key(|k| k.sport());
    assert_eq!(keys, vec![key(3001, VM_B).reversed(1), key(3001, VM_B)]);
    assert_eq!(w.flows.len(), 3);
    // The held flow: its parked packet is dropped and counted.
    let denied = w.drops.get(DropReason::FlowDenied);
    let gone = w.delete_flows(|r| r.verdict == FlowVerdict::Hold);
    assert_eq!(gone.len(), 1);
    assert_eq!(w.parked_len(), 0);
    assert_eq!(w.drops.get(DropReason::FlowDenied), denied + 1);
    // Everything else (flush): the next packet of the remote flow is a miss again.
    assert_eq!(w.delete_flows(|_| true).len(), 2);
    assert!(w.flows.is_empty());
    let remote = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_C_UDP, 3000, 53, b"q");
    assert_eq!(run(&mut w, IF_C, &remote), Disposition::Held);
    assert_eq!(w.take_upcalls().len(), 1);
}

#[test]
fn a_reset_worker_behaves_as_a_new_one() {
    let (_c, mut w) = three_flows();
    w.reset();
    assert!(w.flows.is_empty());
    assert_eq!((w.parked_len(), w.stats.rx, w.drops.total()), (0, 0, 0));
    assert!(w.interface_counters().is_empty());
    assert!(w.take_upcalls().is_empty() && w.take_extra().is_empty());
    // The same traffic gives the same flows, indices and counters as on a new worker.
    let (c, dp) = topology();
    let mut fresh = Worker::new(dp, WorkerConfig::default());
    let remote = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_C_UDP, 3000, 53, b"q");
    for w in [&mut w, &mut fresh] {
        assert_eq!(run(w, IF_C, &remote), Disposition::Held);
        allow(w);
        assert_eq!(run(w, IF_C, &remote), Disposition::Tx(IF_FABRIC));
    }
    assert_eq!(
        w.flow_records(|_| true, 10),
        fresh.flow_records(|_| true, 10)
    );
    assert_eq!(w.stats, fresh.stats);
    assert_eq!(w.interface_counters(), fresh.interface_counters());
    drop(c);
}
