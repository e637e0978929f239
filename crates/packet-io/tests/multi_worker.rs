//! Two workers over in-memory devices, many flows both ways, a third of them source-NAT'd
//! and a third destination-NAT'd to a floating IP (so their replies carry other addresses
//! than their first packets): every packet comes out once, rewritten as its flow says;
//! each flow is decided once and lives in one worker, which counted all its packets.

mod common;

use cirrus_dataplane::control::{Controller, Dataplane};
use cirrus_dataplane::flow::{FlowDecision, FlowKey, FlowSpec, Upcall};
use cirrus_dataplane::pipeline::{TrapReason, Worker, WorkerConfig};
use cirrus_dataplane::tables::{IfIndex, Interface, InterfaceKind, Nexthop};
use cirrus_dataplane::wire::*;
use cirrus_packet_io::memory::{MemDevice, MemPeer};
use cirrus_packet_io::runner::{Agent, Port, Runner, RunnerConfig};
use common::{IF_A, IF_B, MAC_A, MAC_B, VM_A, VM_B, VROUTER_MAC};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A's floating IP.
const FIP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 100);
const FLOWS: u16 = 300;
const ROUNDS: usize = 3;

/// VRF 1 with A and B, both with flows on their ports; the floating IP routes to A.
fn topology() -> (Controller, Dataplane) {
    let (mut c, dp) = Controller::new(16, VROUTER_MAC);
    c.add_vrf(1).unwrap();
    for (ifindex, mac, ip, nh) in [(IF_A, MAC_A, VM_A, 1), (IF_B, MAC_B, VM_B, 2)] {
        c.set_interface(Interface {
            ifindex,
            name: format!("vm{ifindex}"),
            mac,
            kind: InterfaceKind::Virtual {
                vrf: 1,
                ips: vec![IpAddr::V4(ip)],
                policy: true,
            },
            flow_limit: 0,
            fat_flows: Vec::new(),
        })
        .unwrap();
        let smac = VROUTER_MAC;
        c.set_nexthop(
            nh,
            Nexthop::Encap {
                ifindex,
                dmac: mac,
                smac,
            },
        )
        .unwrap();
        c.add_route(1, ip.into(), 32, nh).unwrap();
    }
    c.add_route(1, FIP.into(), 32, 1).unwrap();
    c.commit();
    (c, dp)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Plain,
    /// A -> B with A's source translated to FIP (port + 10000).
    Snat,
    /// B -> FIP:8000, translated to A:9000.
    Dnat,
}

fn kind(i: u16) -> Kind {
    [Kind::Plain, Kind::Snat, Kind::Dnat][i as usize % 3]
}

/// Allows every flow; NATs by the rules of [`Kind`].
#[derive(Clone, Default)]
struct NatAgent {
    upcalls: Arc<AtomicUsize>,
}

impl Agent for NatAgent {
    fn upcall(&mut self, up: &Upcall) -> Option<FlowDecision> {
        self.upcalls.fetch_add(1, Ordering::Relaxed);
        let k = up.key;
        let (vrf, proto) = (k.vrf(), k.proto());
        let fwd = FlowSpec::forward(vrf);
        let nat = |src: bool| FlowSpec {
            nat_src: src,
            nat_dst: !src,
            ..fwd
        };
        let (forward, reverse) = if k.dst() == IpAddr::V4(FIP) {
            let rk = FlowKey::new(vrf, proto, VM_A.into(), k.src(), 9000, k.sport());
            (nat(false), (rk, nat(true)))
        } else if k.src() == IpAddr::V4(VM_A)
            && k.sport() >= 10000
            && kind(k.sport() - 10000) == Kind::Snat
        {
            let rk = FlowKey::new(
                vrf,
                proto,
                k.dst(),
                FIP.into(),
                k.dport(),
                k.sport() + 10000,
            );
            (nat(true), (rk, nat(false)))
        } else {
            (fwd, (k.reversed(vrf), fwd))
        };
        Some(FlowDecision {
            index: up.index,
            key: k,
            forward,
            reverse: Some(reverse),
        })
    }

    fn trap(&mut self, _: IfIndex, _: TrapReason, _: &[u8]) -> Vec<(IfIndex, Vec<u8>)> {
        Vec::new()
    }
}

/// (source, destination, source port, destination port)
type Tuple = (Ipv4Addr, Ipv4Addr, u16, u16);

/// Ethernet + IPv4 + UDP with a 4-byte tag as payload.
fn frame(smac: MacAddr, t: Tuple, tag: u32) -> Vec<u8> {
    let mut f = vec![0u8; 46];
    EthernetRepr {
        src: smac,
        dst: VROUTER_MAC,
        ethertype: EtherType::IPV4,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    Ipv4Repr {
        src: t.0,
        dst: t.1,
        protocol: IpProtocol::UDP,
        payload_len: 12,
        ttl: 64,
        tos: 0,
        ident: 1,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    }
    .emit(&mut f[14..34]);
    UdpRepr {
        src_port: t.2,
        dst_port: t.3,
        payload_len: 4,
    }
    .emit(&mut f[34..42]);
    f[42..].copy_from_slice(&tag.to_be_bytes());
    f
}

/// What one frame that came out says: (port, destination MAC, tuple, tag).
fn read(port: IfIndex, f: &[u8]) -> (IfIndex, MacAddr, Tuple, u32) {
    let eth = EthernetFrame::new_checked(f).unwrap();
    let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
    let udp = UdpPacket::new_checked(ip.payload()).unwrap();
    let tag = u32::from_be_bytes(udp.payload()[..4].try_into().unwrap());
    let t = (ip.src_addr(), ip.dst_addr(), udp.src_port(), udp.dst_port());
    (port, eth.dst_addr(), t, tag)
}

/// The packets of flow `i` in one direction: what is sent (port, tuple) and what must
/// come out (port, tuple).
fn packet(i: u16, reply: bool) -> ((IfIndex, Tuple), (IfIndex, Tuple)) {
    let p = 10000 + i;
    let (a, b, fip) = (VM_A, VM_B, FIP);
    let (send, got) = match (kind(i), reply) {
        (Kind::Plain, false) => ((IF_A, (a, b, p, 7000)), (IF_B, (a, b, p, 7000))),
        (Kind::Plain, true) => ((IF_B, (b, a, 7000, p)), (IF_A, (b, a, 7000, p))),
        (Kind::Snat, false) => ((IF_A, (a, b, p, 7000)), (IF_B, (fip, b, p + 10000, 7000))),
        (Kind::Snat, true) => ((IF_B, (b, fip, 7000, p + 10000)), (IF_A, (b, a, 7000, p))),
        (Kind::Dnat, false) => ((IF_B, (b, fip, p, 8000)), (IF_A, (b, a, p, 9000))),
        (Kind::Dnat, true) => ((IF_A, (a, b, 9000, p)), (IF_B, (fip, b, 8000, p))),
    };
    (send, got)
}

struct Harness {
    peers: [MemPeer; 2],
    expect: HashMap<u32, (IfIndex, Tuple)>,
    next_tag: u32,
}

impl Harness {
    fn peer(&self, port: IfIndex) -> &MemPeer {
        &self.peers[if port == IF_A { 0 } else { 1 }]
    }

    fn send(&mut self, i: u16, reply: bool) {
        let ((port, t), want) = packet(i, reply);
        let smac = if port == IF_A { MAC_A } else { MAC_B };
        self.next_tag += 1;
        self.expect.insert(self.next_tag, want);
        assert!(self.peer(port).inject(&frame(smac, t, self.next_tag)));
    }

    /// Collects until every expected frame came out (bounded wait), checking each.
    fn collect(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.expect.is_empty() && Instant::now() < deadline {
            for port in [IF_A, IF_B] {
                for f in self.peer(port).drain() {
                    let (out, dmac, t, tag) = read(port, &f);
                    let want = self.expect.remove(&tag);
                    assert_eq!(want, Some((out, t)), "tag {tag} came out as {t:?}");
                    let mac = if out == IF_A { MAC_A } else { MAC_B };
                    assert_eq!(dmac, mac, "tag {tag}");
                }
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(self.expect.is_empty(), "lost: {:?}", self.expect);
    }
}

/// The topology on a runner of two workers, A's and B's ports on in-memory devices, and
/// the NAT agent; the harness holds the devices' far ends.
fn two_workers() -> (Runner, NatAgent, Harness) {
    let (_c, dp) = topology();
    let (dev_a, peer_a) = MemDevice::pair("a", 1 << 16);
    let (dev_b, peer_b) = MemDevice::pair("b", 1 << 16);
    let agent = NatAgent::default();
    let runner = Runner::spawn_workers(
        vec![
            Worker::new(dp.clone(), WorkerConfig::default()),
            Worker::new(dp, WorkerConfig::default()),
        ],
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
    let h = Harness {
        peers: [peer_a, peer_b],
        expect: HashMap::new(),
        next_tag: 0,
    };
    (runner, agent, h)
}

#[test]
fn two_workers_forward_every_flow_on_one_worker_with_nat_both_ways() {
    let (runner, agent, mut h) = two_workers();

    // First packets (all misses, decided by the agent), then the replies (which hit the
    // reverse entries, NAT'd ones on other addresses), then both ways interleaved.
    (0..FLOWS).for_each(|i| h.send(i, false));
    h.collect();
    (0..FLOWS).for_each(|i| h.send(i, true));
    h.collect();
    for _ in 0..ROUNDS {
        for i in 0..FLOWS {
            h.send(i, false);
            h.send(i, true);
        }
    }
    h.collect();
    std::thread::sleep(Duration::from_millis(20));
    for port in [IF_A, IF_B] {
        assert!(h.peer(port).drain().is_empty(), "duplicates on {port}");
    }

    assert_eq!(runner.handoff_lost(), 0);
    let workers = runner.stop().unwrap();
    assert_eq!(agent.upcalls.load(Ordering::Relaxed), FLOWS as usize);
    let per_worker: Vec<usize> = workers.iter().map(|w| w.flows.len()).collect();
    assert_eq!(per_worker.iter().sum::<usize>(), 2 * FLOWS as usize);
    assert!(per_worker.iter().all(|&n| n > 0), "spread {per_worker:?}");
    // Every entry (each direction of each flow) sits in one worker, which saw all of
    // that direction's packets.
    let mut seen = HashMap::new();
    for (wi, w) in workers.iter().enumerate() {
        assert!(w.drops.nonzero().is_empty(), "{:?}", w.drops.nonzero());
        for (idx, e) in w.flows.iter() {
            assert!(seen.insert(e.key, wi).is_none(), "{:?} twice", e.key);
            let (packets, _) = w.flows.counters(idx);
            assert_eq!(packets, 1 + ROUNDS as u64, "{:?} on worker {wi}", e.key);
        }
    }
}

/// Two vRouters of two workers each, joined by an in-memory fabric: flows from A (behind
/// vRouter 1) to B (behind vRouter 2) cross as MPLS over UDP. Replies from the fabric are
/// steered by their inner packet to the worker holding the flow, so each vRouter decides
/// each flow once and holds it in one worker.
#[test]
fn two_workers_per_vrouter_steer_overlay_replies_to_their_flows() {
    use common::TestAgent;
    use common::overlay::*;
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
    let spawn = |dp: Dataplane, agent: &TestAgent| {
        let (vm, vm_peer) = MemDevice::pair("vm", 1 << 16);
        let (fabric, fabric_peer) = MemDevice::pair("fabric", 1 << 16);
        let r = Runner::spawn_workers(
            vec![
                Worker::new(dp.clone(), WorkerConfig::default()),
                Worker::new(dp, WorkerConfig::default()),
            ],
            vec![
                Port {
                    ifindex: IF_FABRIC,
                    device: Box::new(fabric),
                },
                Port {
                    ifindex: IF_VM,
                    device: Box::new(vm),
                },
            ],
            Box::new(agent.clone()),
            RunnerConfig::default(),
        );
        (r, vm_peer, fabric_peer)
    };
    let (a1, a2) = (TestAgent::default(), TestAgent::default());
    let (r1, vm_a, f1) = spawn(dp1, &a1);
    let (r2, vm_b, f2) = spawn(dp2, &a2);

    // Sends every packet of `round`, then moves fabric frames across (both ways) until
    // each has come out of the far workload's port, checked by its tag.
    let mut tag = 0u32;
    let mut exchange = |reply: bool| {
        let mut expect = HashMap::new();
        for i in 0..FLOWS {
            let p = 10000 + i;
            let (peer, smac, t) = if reply {
                (&vm_b, MAC_B, (VM_B, VM_A, 7000, p))
            } else {
                (&vm_a, MAC_A, (VM_A, VM_B, p, 7000))
            };
            tag += 1;
            expect.insert(tag, t);
            assert!(peer.inject(&frame(smac, t, tag)));
        }
        let (out, mac) = if reply {
            (&vm_a, MAC_A)
        } else {
            (&vm_b, MAC_B)
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !expect.is_empty() && Instant::now() < deadline {
            for f in f1.drain() {
                assert!(f2.inject(&f));
            }
            for f in f2.drain() {
                assert!(f1.inject(&f));
            }
            for f in out.drain() {
                let (_, dmac, t, tag) = read(IF_VM, &f);
                assert_eq!(expect.remove(&tag), Some(t), "tag {tag}");
                assert_eq!(dmac, mac);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(expect.is_empty(), "lost {}: {expect:?}", expect.len());
    };
    exchange(false);
    exchange(true);
    for _ in 0..ROUNDS {
        exchange(false);
        exchange(true);
    }

    for (r, agent) in [(r1, &a1), (r2, &a2)] {
        assert_eq!(r.handoff_lost(), 0);
        let workers = r.stop().unwrap();
        assert_eq!(agent.upcalls.load(Ordering::Relaxed), FLOWS as usize);
        let mut seen = HashMap::new();
        for (wi, w) in workers.iter().enumerate() {
            assert!(w.drops.nonzero().is_empty(), "{:?}", w.drops.nonzero());
            for (idx, e) in w.flows.iter() {
                assert!(seen.insert(e.key, wi).is_none(), "{:?} twice", e.key);
                assert_eq!(w.flows.counters(idx).0, 1 + ROUNDS as u64);
            }
        }
        assert_eq!(seen.len(), 2 * FLOWS as usize);
        let on_first = seen.values().filter(|&&w| w == 0).count();
        assert!(on_first > 0 && on_first < seen.len(), "spread {on_first}");
    }
}

/// `frame` as a fragment of datagram `ident`: the first (more fragments, offset 0, with
/// the UDP header) or a later one (offset 40, no transport header to read).
fn fragment(smac: MacAddr, t: Tuple, ident: u16, first: bool) -> Vec<u8> {
    let mut f = frame(smac, t, ident as u32);
    let fo: u16 = if first { 1 << 13 } else { 40 / 8 };
    f[18..20].copy_from_slice(&ident.to_be_bytes());
    f[20..22].copy_from_slice(&fo.to_be_bytes());
    Ipv4Packet::new_unchecked(&mut f[14..]).fill_checksum();
    f
}

/// Datagrams fragmented on their way: the first fragment carries the ports, the later
/// ones none. The receiving worker records the first fragment's ports when it steers, so
/// every fragment goes to the worker that holds the flow (decided once, from an
/// unfragmented packet): no second copy of the flow in the other worker, no drops.
#[test]
fn fragments_are_steered_to_their_flows_worker() {
    let (runner, agent, mut h) = two_workers();
    // Plain flows A -> B from 40 source ports: about half of them hash to the other
    // worker than their addresses alone do.
    let flows: Vec<u16> = (0..120).filter(|i| kind(*i) == Kind::Plain).collect();
    for &i in &flows {
        h.send(i, false);
    }
    h.collect();
    let mut want = HashMap::new();
    for &i in &flows {
        let ((_, t), _) = packet(i, false);
        let ident = 1000 + i;
        for first in [true, false] {
            assert!(h.peers[0].inject(&fragment(MAC_A, t, ident, first)));
            *want.entry(ident).or_insert(0) += 1;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !want.is_empty() && Instant::now() < deadline {
        for f in h.peers[1].drain() {
            let ip = Ipv4Packet::new_checked(&f[14..]).unwrap();
            let left = want.get_mut(&ip.ident()).expect("an expected fragment");
            *left -= 1;
            if *left == 0 {
                want.remove(&ip.ident());
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(want.is_empty(), "fragments lost: {want:?}");
    assert_eq!(runner.handoff_lost(), 0);
    let workers = runner.stop().unwrap();
    assert_eq!(
        agent.upcalls.load(Ordering::Relaxed),
        flows.len(),
        "flows decided"
    );
    let entries: usize = workers.iter().map(|w| w.flows.len()).sum();
    assert_eq!(entries, 2 * flows.len());
    for w in &workers {
        assert!(w.drops.nonzero().is_empty(), "{:?}", w.drops.nonzero());
        // Each forward entry counted its packet and both fragments.
        for (idx, e) in w.flows.iter() {
            if e.key.src() == IpAddr::V4(VM_A) {
                assert_eq!(w.flows.counters(idx).0, 3, "{:?}", e.key);
            }
        }
    }
}
