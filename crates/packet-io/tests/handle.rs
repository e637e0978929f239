//! The agent's control handle on a running runner (`RunnerHandle`), over in-memory
//! devices with two workers (no privileges): ports added while traffic flows and removed
//! with flows on them, frames injected, flows dumped and deleted by filter, counters
//! read, a failed device, and a stopped runner.

mod common;

use cirrus_dataplane::control::Controller;
use cirrus_dataplane::drop::DropReason;
use cirrus_dataplane::flow::ProtoTimeout;
use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::{Worker, WorkerConfig};
use cirrus_dataplane::tables::IfIndex;
use cirrus_dataplane::wire::*;
use cirrus_packet_io::memory::{MemDevice, MemPeer};
use cirrus_packet_io::report::RunnerReport;
use cirrus_packet_io::runner::{Port, Runner, RunnerConfig};
use cirrus_packet_io::{Device, DeviceError, FlowFilter, HandleError, RunnerHandle};
use common::*;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Waits (bounded: 5 s) until `f` holds; returns whether it did.
fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    f()
}

struct Setup {
    _c: Controller,
    runner: Runner,
    h: RunnerHandle,
    agent: TestAgent,
}

/// Two workers over VRF 1 (A and B; flows on B's port when `policy`), started with the
/// given ports attached.
fn start(policy: bool, ports: Vec<Port>) -> Setup {
    let (c, dp) = topology(policy);
    let agent = TestAgent::default();
    let workers = (0..2)
        .map(|_| Worker::new(dp.clone(), WorkerConfig::default()))
        .collect();
    let runner = Runner::spawn_workers(
        workers,
        ports,
        Box::new(agent.clone()),
        RunnerConfig::default(),
    );
    let h = runner.handle();
    Setup {
        _c: c,
        runner,
        h,
        agent,
    }
}

fn mem_port(ifindex: IfIndex, name: &str) -> (Port, MemPeer) {
    let (dev, peer) = MemDevice::pair(name, 1 << 16);
    let device: Box<dyn Device> = Box::new(dev);
    (Port { ifindex, device }, peer)
}

fn report(h: &RunnerHandle) -> RunnerReport {
    h.report().expect("report")
}

fn unrouted(h: &RunnerHandle) -> u64 {
    report(h).workers.iter().map(|w| w.unrouted).sum()
}

/// A UDP packet of flow `i` from B to A (B's port sets the flows up when it has policy).
fn b_to_a(i: u16) -> Vec<u8> {
    udp_v4_ports(MAC_B, VROUTER_MAC, (VM_B, 6000 + i), (VM_A, 7000), b"x")
}

/// Sends flows 0..n from B and waits until A got one packet of each.
fn set_up_flows(peer_b: &MemPeer, peer_a: &MemPeer, n: u16) -> Vec<Vec<u8>> {
    for i in 0..n {
        assert!(peer_b.inject(&b_to_a(i)));
    }
    let mut got = Vec::new();
    assert!(eventually(|| {
        got.extend(peer_a.drain());
        got.len() >= n as usize
    }));
    got
}

#[test]
fn a_port_added_while_traffic_flows_carries_it_from_then_on() {
    let (port_a, peer_a) = mem_port(IF_A, "a");
    let s = start(false, vec![port_a]);
    assert_eq!(s.h.ports(), vec![(IF_A, 0)]);

    // A sends to B without pause; B has no port yet, so the pipeline routes to a port
    // no worker owns: counted as unrouted.
    let stop = Arc::new(AtomicBool::new(false));
    let sender = {
        let (peer, stop) = (peer_a.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut tag = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let f = udp_v4(MAC_A, VROUTER_MAC, VM_A, VM_B, &tag.to_be_bytes());
                if peer.inject(&f) {
                    tag += 1;
                }
                if tag.is_multiple_of(32) {
                    std::thread::sleep(Duration::from_micros(100));
                }
            }
            tag
        })
    };
    assert!(eventually(|| unrouted(&s.h) > 100));

    let (port_b, peer_b) = mem_port(IF_B, "b");
    // The least loaded worker takes it: A is on worker 0, so B crosses workers.
    assert_eq!(s.h.add_port(port_b).unwrap(), 1);
    assert_eq!(s.h.ports(), vec![(IF_A, 0), (IF_B, 1)]);
    let mut got: Vec<u32> = Vec::new();
    assert!(eventually(|| {
        for f in peer_b.drain() {
            got.push(u32::from_be_bytes(f[42..46].try_into().unwrap()));
        }
        got.len() > 1000
    }));
    stop.store(true, Ordering::Relaxed);
    let sent = sender.join().unwrap();

    // Every packet is either before the port came (unrouted) or delivered, in order and
    // without a gap from the first one delivered.
    assert!(eventually(|| {
        got.extend(
            peer_b
                .drain()
                .iter()
                .map(|f| u32::from_be_bytes(f[42..46].try_into().unwrap())),
        );
        got.len() as u64 + unrouted(&s.h) == sent as u64
    }));
    let first = got[0];
    assert_eq!(got, (first..sent).collect::<Vec<_>>());
    assert_eq!(unrouted(&s.h), first as u64);
    assert_eq!(s.h.handoff_lost(), 0);

    // The same interface twice is refused, and the ports stay as they were.
    let (again, _) = mem_port(IF_B, "b2");
    assert!(matches!(
        s.h.add_port(again),
        Err(HandleError::PortExists(IF_B))
    ));
    assert_eq!(s.h.ports(), vec![(IF_A, 0), (IF_B, 1)]);
    s.runner.stop().unwrap();
}

#[test]
fn a_removed_port_is_no_longer_polled_and_its_flows_go() {
    let (port_a, peer_a) = mem_port(IF_A, "a");
    let (port_b, peer_b) = mem_port(IF_B, "b");
    let s = start(true, vec![port_a, port_b]);
    set_up_flows(&peer_b, &peer_a, 20);
    assert_eq!(s.agent.upcalls.load(Ordering::Relaxed), 20);
    let total = |h: &RunnerHandle| -> usize {
        h.flows(FlowFilter::All, 0)
            .unwrap()
            .iter()
            .map(|w| w.matched)
            .sum()
    };
    assert_eq!(total(&s.h), 40);

    // Removed with its flows on it: the device comes back, the flows are gone.
    let device = s.h.remove_port(IF_B).unwrap();
    assert_eq!(device.name(), "b");
    assert_eq!(total(&s.h), 0);
    assert_eq!(s.h.ports(), vec![(IF_A, 0)]);
    let r = report(&s.h);
    assert!(
        r.workers
            .iter()
            .all(|w| w.ports.iter().all(|p| p.ifindex != IF_B))
    );
    assert!(matches!(
        s.h.remove_port(IF_B),
        Err(HandleError::NoSuchPort(IF_B))
    ));
    assert!(matches!(
        s.h.inject(IF_B, &b_to_a(0)),
        Err(HandleError::NoSuchPort(IF_B))
    ));

    // Nobody polls it: a frame waiting on it stays there.
    let rx = r.totals().rx;
    assert!(peer_b.inject(&b_to_a(0)));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(report(&s.h).totals().rx, rx);
    // Traffic routed to it is counted as unrouted, not sent.
    let before = unrouted(&s.h);
    assert!(peer_a.inject(&udp_v4(MAC_A, VROUTER_MAC, VM_A, VM_B, b"late")));
    assert!(eventually(|| unrouted(&s.h) == before + 1));
    assert!(peer_b.drain().is_empty());

    // Attached again (same device): the waiting frame and new ones set flows up anew.
    s.h.add_port(Port {
        ifindex: IF_B,
        device,
    })
    .unwrap();
    let got = set_up_flows(&peer_b, &peer_a, 20);
    assert_eq!(got.len(), 21);
    assert_eq!(s.agent.upcalls.load(Ordering::Relaxed), 40);
    assert_eq!(total(&s.h), 40);
    s.runner.stop().unwrap();
}

#[test]
fn injected_frames_leave_by_the_given_port_and_are_counted() {
    let (port_a, peer_a) = mem_port(IF_A, "a");
    let (port_b, peer_b) = mem_port(IF_B, "b");
    let s = start(false, vec![port_a, port_b]);
    // An agent-originated ARP request towards A, then three frames on B at once.
    let mut arp = vec![0u8; 42];
    EthernetRepr {
        src: VROUTER_MAC,
        dst: MacAddr::BROADCAST,
        ethertype: EtherType::ARP,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut arp[..]));
    ArpRepr {
        operation: ArpOperation::Request,
        source_hw: VROUTER_MAC,
        source_ip: GATEWAY,
        target_hw: MacAddr::ZERO,
        target_ip: VM_A,
    }
    .emit(&mut arp[14..]);
    s.h.inject(IF_A, &arp).unwrap();
    let frames: Vec<Vec<u8>> = (0..3u8)
        .map(|i| udp_v4(VROUTER_MAC, MAC_B, GATEWAY, VM_B, &[i]))
        .collect();
    let refs: Vec<&[u8]> = frames.iter().map(|f| &f[..]).collect();
    s.h.inject_batch(IF_B, &refs).unwrap();

    let mut a = Vec::new();
    let mut b = Vec::new();
    assert!(eventually(|| {
        a.extend(peer_a.drain());
        b.extend(peer_b.drain());
        a.len() == 1 && b.len() == 3
    }));
    assert_eq!(a[0], arp);
    assert_eq!(b, frames);
    // Sent as they are, not run through the pipeline.
    let r = report(&s.h);
    assert_eq!(r.totals().rx, 0);
    assert_eq!(r.workers.iter().map(|w| w.injected).sum::<u64>(), 4);
    // A trap reply is agent-originated too.
    let mut req = arp.clone();
    EthernetRepr {
        src: MAC_A,
        dst: MacAddr::BROADCAST,
        ethertype: EtherType::ARP,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut req[..]));
    ArpRepr {
        operation: ArpOperation::Request,
        source_hw: MAC_A,
        source_ip: VM_A,
        target_hw: MacAddr::ZERO,
        target_ip: VM_B,
    }
    .emit(&mut req[14..]);
    assert!(peer_a.inject(&req));
    assert!(eventually(|| peer_a.drain().len() == 1));
    assert!(eventually(|| report(&s.h)
        .workers
        .iter()
        .map(|w| w.injected)
        .sum::<u64>()
        == 5));
    assert!(matches!(
        s.h.inject(9, &arp),
        Err(HandleError::NoSuchPort(9))
    ));
    s.runner.stop().unwrap();
}

#[test]
fn flows_are_dumped_bounded_and_deleted_by_filter() {
    let (port_a, peer_a) = mem_port(IF_A, "a");
    let (port_b, peer_b) = mem_port(IF_B, "b");
    let s = start(true, vec![port_a, port_b]);
    const N: u16 = 40;
    set_up_flows(&peer_b, &peer_a, N);
    let dump = s.h.flows(FlowFilter::All, 3).unwrap();
    assert_eq!(
        dump.iter().map(|w| w.worker).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(
        dump.iter().map(|w| w.matched).sum::<usize>(),
        2 * N as usize
    );
    assert!(dump.iter().all(|w| w.flows.len() == w.matched.min(3)));
    // Both workers hold some: the flows were steered by hash.
    assert!(dump.iter().all(|w| w.matched > 0));
    let all: Vec<_> =
        s.h.flows(FlowFilter::All, usize::MAX)
            .unwrap()
            .into_iter()
            .flat_map(|w| w.flows)
            .collect();
    let fwd = all
        .iter()
        .find(|r| r.key.sport() == 6000 && r.key.dport() == 7000)
        .unwrap();
    assert_eq!(
        (fwd.interface, fwd.out_interface, fwd.packets),
        (IF_B, Some(IF_A), 1)
    );
    assert_eq!(fwd.rev_key, Some(fwd.key.reversed(1)));

    // A predicate: the flows of even source ports (both directions go).
    let even =
        FlowFilter::matching(|r| (6000..7000).contains(&r.key.sport()) && r.key.sport() % 2 == 0);
    assert_eq!(s.h.delete_flows(even.clone()).unwrap(), N as usize);
    assert_eq!(s.h.flows(even, 0).unwrap()[0].matched, 0);
    // Another VRF: nothing; the flows leaving by A: the rest.
    assert_eq!(s.h.delete_flows(FlowFilter::Vrf(2)).unwrap(), 0);
    assert_eq!(
        s.h.delete_flows(FlowFilter::Interface(IF_A)).unwrap(),
        N as usize
    );
    assert_eq!(s.h.flows(FlowFilter::All, 0).unwrap()[1].matched, 0);

    // Deleted flows are decided again on their next packet; a flush takes them all.
    set_up_flows(&peer_b, &peer_a, N);
    assert_eq!(s.agent.upcalls.load(Ordering::Relaxed), 2 * N as usize);
    assert_eq!(s.h.flush_flows().unwrap(), 2 * N as usize);
    s.runner.stop().unwrap();
}

#[test]
fn a_shorter_idle_timeout_ages_live_flows_on_every_worker() {
    let (port_a, peer_a) = mem_port(IF_A, "a");
    let (port_b, peer_b) = mem_port(IF_B, "b");
    let s = start(true, vec![port_a, port_b]);
    const N: u16 = 20;
    set_up_flows(&peer_b, &peer_a, N);
    let live = |h: &RunnerHandle| -> usize {
        h.flows(FlowFilter::All, 0)
            .unwrap()
            .iter()
            .map(|w| w.matched)
            .sum()
    };
    assert_eq!(live(&s.h), 2 * N as usize);
    s.h.set_flow_idle_timeouts(
        180,
        &[ProtoTimeout {
            proto: 17,
            port: 7000,
            secs: 1,
        }],
    )
    .unwrap();
    // Idle for more than a second now ages them: UDP to port 7000 has 1 s (the rest 180 s).
    assert!(eventually(|| live(&s.h) == 0), "{} flows left", live(&s.h));
    s.runner.stop().unwrap();
}

#[test]
fn report_counts_per_interface_drops_by_reason_and_workers() {
    let (port_a, peer_a) = mem_port(IF_A, "a");
    let (port_b, peer_b) = mem_port(IF_B, "b");
    let s = start(false, vec![port_a, port_b]);
    for i in 0..10u8 {
        assert!(peer_a.inject(&udp_v4(MAC_A, VROUTER_MAC, VM_A, VM_B, &[i])));
    }
    // Spoofed source: dropped, counted by reason and on A.
    let spoof = Ipv4Addr::new(10, 1, 0, 99);
    assert!(peer_a.inject(&udp_v4(MAC_A, VROUTER_MAC, spoof, VM_B, b"s")));
    assert!(eventually(|| report(&s.h).totals().rx == 11));
    assert_eq!(peer_b.drain().len(), 10);
    let r = report(&s.h);
    assert_eq!(r.drops().get(DropReason::SourceMismatch), 1);
    assert_eq!(r.drops().total(), 1);
    let ifs = r.interface_counters();
    let a = ifs.iter().find(|(i, _)| *i == IF_A).unwrap().1;
    let b = ifs.iter().find(|(i, _)| *i == IF_B).unwrap().1;
    assert_eq!((a.rx_packets, a.drops, b.tx_packets), (11, 1, 10));
    assert_eq!(r.totals().tx, 10);
    assert_eq!(r.workers.len(), 2);
    let ports: Vec<Vec<IfIndex>> = r
        .workers
        .iter()
        .map(|w| w.ports.iter().map(|p| p.ifindex).collect())
        .collect();
    assert_eq!(ports, vec![vec![IF_A], vec![IF_B]]);
    assert_eq!(r.handoff_lost, 0);
    assert!(
        r.workers
            .iter()
            .all(|w| w.flow_capacity > 0 && w.flows == 0)
    );
    s.runner.stop().unwrap();
}

/// Receives nothing, then fails.
struct Failing {
    polls: u32,
}

impl Device for Failing {
    fn name(&self) -> &str {
        "failing"
    }
    fn recv_batch(
        &mut self,
        _: &mut Vec<PacketBuf>,
        _: &mut Vec<PacketBuf>,
        _: usize,
    ) -> std::result::Result<usize, DeviceError> {
        self.polls += 1;
        if self.polls < 10 {
            return Ok(0);
        }
        Err(DeviceError::Io {
            name: "failing".into(),
            op: "recv",
            source: std::io::Error::from_raw_os_error(libc::ENETDOWN),
        })
    }
    fn send_batch(&mut self, _: &[&PacketBuf]) -> std::result::Result<usize, DeviceError> {
        Ok(0)
    }
}

#[test]
fn a_failed_device_is_set_aside_and_the_others_carry_on() {
    let (port_a, peer_a) = mem_port(IF_A, "a");
    let (port_b, peer_b) = mem_port(IF_B, "b");
    let failing = Port {
        ifindex: 7,
        device: Box::new(Failing { polls: 0 }),
    };
    // Worker 0 polls A and the failing port.
    let s = start(false, vec![port_a, port_b, failing]);
    assert!(eventually(|| report(&s.h).workers[0]
        .ports
        .iter()
        .any(|p| p.error.is_some())));
    let r = report(&s.h);
    let p = r.workers[0].ports.iter().find(|p| p.ifindex == 7).unwrap();
    assert!(p.error.as_deref().unwrap().contains("failing: recv failed"));
    assert!(peer_a.inject(&udp_v4(MAC_A, VROUTER_MAC, VM_A, VM_B, b"on")));
    assert!(eventually(|| peer_b.drain().len() == 1));
    // Removing it returns it like any other; stopping reports the error.
    assert_eq!(s.h.remove_port(7).unwrap().name(), "failing");
    assert!(matches!(s.runner.stop(), Err(DeviceError::Io { .. })));
}

#[test]
fn a_handle_of_a_stopped_runner_says_so() {
    let (port_a, _peer_a) = mem_port(IF_A, "a");
    let s = start(false, vec![port_a]);
    let h = s.h.clone();
    s.runner.stop().unwrap();
    assert!(matches!(h.report(), Err(HandleError::Stopped)));
    assert!(matches!(h.flush_flows(), Err(HandleError::Stopped)));
    let (port_b, _) = mem_port(IF_B, "b");
    assert!(matches!(h.add_port(port_b), Err(HandleError::Stopped)));
    assert!(matches!(
        h.inject(IF_A, &[0; 60]),
        Err(HandleError::Stopped)
    ));
}

/// The handle crosses threads.
#[test]
fn the_handle_is_send_and_sync() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<RunnerHandle>();
}
