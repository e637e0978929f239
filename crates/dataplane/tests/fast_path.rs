//! The fast paths (`pipeline/fast.rs`) against the general path: two workers with the same
//! tables and flows, one with `fast_path` on and one with it off, get the same frames
//! (valid ones and header-mutated ones) and must agree on every disposition, every output
//! byte, and every counter (worker, drop, per-interface and per-flow).

mod common;

use cirrus_dataplane::flow::{FlowKey, FlowSpec, FlowVerdict};
use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::{Disposition, Worker, WorkerConfig};
use cirrus_dataplane::tables::{Interface, InterfaceKind};
use cirrus_dataplane::wire::*;
use common::*;
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Flows of the policy workload P (forward and reverse), including a dropped and a
/// source-NAT'd one, which the fast path must leave to the general path.
fn flows() -> Vec<(FlowKey, FlowSpec)> {
    let k = |proto, dst: Ipv4Addr, sport, dport| {
        FlowKey::new(1, proto, VM_P.into(), dst.into(), sport, dport)
    };
    vec![
        (k(IpProtocol::UDP, VM_C_UDP, 1, 2), FlowSpec::forward(1)),
        (k(IpProtocol::TCP, VM_D_GRE, 3, 4), FlowSpec::forward(1)),
        (k(IpProtocol::UDP, VM_B, 5, 6), FlowSpec::forward(1)),
        (k(IpProtocol::UDP, VM_E_VXLAN, 7, 8), FlowSpec::drop()),
        (
            k(IpProtocol::UDP, VM_C_UDP, 9, 10),
            FlowSpec {
                nat_src: true,
                ..FlowSpec::forward(1)
            },
        ),
        (
            FlowKey::new(1, IpProtocol::UDP, VM_P6.into(), V6_REMOTE.into(), 11, 12),
            FlowSpec::forward(1),
        ),
    ]
}

/// P's IPv6 address: this file gives P one beside `VM_P`, routed to P.
const VM_P6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 5);

fn worker(fast_path: bool) -> Worker {
    let (mut c, dp) = topology();
    c.set_interface(Interface {
        ifindex: IF_C,
        name: "tap-p".into(),
        mac: MAC_P,
        kind: InterfaceKind::Virtual {
            vrf: 1,
            ips: vec![VM_P.into(), VM_P6.into()],
            policy: true,
        },
        flow_limit: 0,
        fat_flows: Vec::new(),
    })
    .unwrap();
    c.add_route(1, VM_P6.into(), 128, NH_P).unwrap();
    c.commit();
    let mut w = Worker::new(
        dp,
        WorkerConfig {
            fast_path,
            ..WorkerConfig::default()
        },
    );
    for (k, spec) in flows() {
        let rev = if spec.nat_src {
            FlowKey::new(1, k.proto(), k.dst(), FIP.into(), k.dport(), 4000)
        } else {
            k.reversed(1)
        };
        let rspec = FlowSpec {
            nat_src: false,
            nat_dst: spec.nat_src,
            ..spec
        };
        w.flows
            .install_pair(k, spec, rev, rspec, IF_C, 0, 0)
            .unwrap();
    }
    w
}

/// Frames that take the fast paths when valid, as (ingress, frame).
fn seeds() -> Vec<(u32, Vec<u8>)> {
    let reply = |proto, sport, dport| match proto {
        IpProtocol::TCP => tcp_v4(MAC_E, VROUTER_MAC, VM_D_GRE, VM_P, sport, dport, 0x10),
        _ => udp_v4(MAC_E, VROUTER_MAC, VM_C_UDP, VM_P, sport, dport, b"reply"),
    };
    vec![
        (
            IF_C,
            udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_C_UDP, 1, 2, b"abc"),
        ),
        (
            IF_C,
            tcp_v4(MAC_P, VROUTER_MAC, VM_P, VM_D_GRE, 3, 4, TcpFlags::ACK),
        ),
        (IF_C, udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_B, 5, 6, b"")),
        (
            IF_C,
            udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_E_VXLAN, 7, 8, b"d"),
        ),
        (
            IF_C,
            udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_C_UDP, 9, 10, b"n"),
        ),
        (
            IF_FABRIC,
            mpls_udp_from_peer(LABEL_P, &reply(IpProtocol::UDP, 2, 1)[14..]),
        ),
        (
            IF_FABRIC,
            mpls_udp_from_peer(LABEL_P, &reply(IpProtocol::TCP, 4, 3)[14..]),
        ),
        (
            IF_FABRIC,
            mpls_udp_from_peer(LABEL_A, &reply(IpProtocol::UDP, 2, 1)[14..]),
        ),
        (
            IF_FABRIC,
            mpls_gre_from_peer(LABEL_P, &reply(IpProtocol::TCP, 4, 3)[14..]),
        ),
        // IPv6: from P, and its replies over MPLS over UDP and routed VXLAN.
        (
            IF_C,
            udp_v6(MAC_P, VROUTER_MAC, VM_P6, V6_REMOTE, 11, 12, b"v6"),
        ),
        (IF_FABRIC, mpls_udp_from_peer(LABEL_P, &reply6()[14..])),
        (IF_FABRIC, vxlan_from_peer(VNI, &reply6())),
        // Routed VXLAN (inner frame to the vRouter MAC) to P, and bridged VXLAN to A
        // (no flow: always the general path).
        (
            IF_FABRIC,
            vxlan_from_peer(VNI, &reply(IpProtocol::UDP, 2, 1)),
        ),
        (
            IF_FABRIC,
            vxlan_from_peer(VNI, &udp_v4(MAC_E, MAC_A, VM_E_VXLAN, VM_A, 2, 1, b"l2")),
        ),
    ]
}

/// The IPv6 reply to P's flow, as an Ethernet frame to the vRouter MAC.
fn reply6() -> Vec<u8> {
    udp_v6(MAC_E, VROUTER_MAC, V6_REMOTE, VM_P6, 12, 11, b"r6")
}

/// Runs `frame` through both workers twice (the first run pins nexthops) and compares.
fn same(fast: &mut Worker, slow: &mut Worker, ingress: u32, frame: &[u8]) {
    for round in 0..2 {
        let mut a = [PacketBuf::from_frame(frame)];
        let mut b = [PacketBuf::from_frame(frame)];
        let (mut da, mut db) = ([Disposition::Held], [Disposition::Held]);
        fast.process_batch(round, ingress, &mut a, &mut da);
        slow.process_batch(round, ingress, &mut b, &mut db);
        assert_eq!(da, db, "disposition, round {round}");
        assert_eq!(a[0].data(), b[0].data(), "output bytes, round {round}");
        assert_eq!(fast.stats, slow.stats);
        assert_eq!(fast.drops, slow.drops);
        assert_eq!(fast.interface_counters(), slow.interface_counters());
        for (i, e) in fast.flows.iter() {
            assert_eq!(slow.flows.get(i), Some(e), "flow {i}");
            assert_eq!(fast.flows.counters(i), slow.flows.counters(i));
        }
        assert_eq!(fast.flows.len(), slow.flows.len());
        assert_eq!(fast.take_upcalls().len(), slow.take_upcalls().len());
        assert_eq!(fast.take_extra().len(), slow.take_extra().len());
    }
}

#[test]
fn valid_frames_agree_and_take_the_flows() {
    let (mut f, mut s) = (worker(true), worker(false));
    for (ingress, frame) in seeds() {
        same(&mut f, &mut s, ingress, &frame);
    }
    // The forward flows were hit (counted) on both: the fast path did count.
    let k = flows()[0].0;
    let i = f.flows.lookup(&k, k.hash()).unwrap();
    assert_eq!(f.flows.get(i).unwrap().verdict(), FlowVerdict::Forward);
    assert_eq!(f.flows.counters(i).0, 2);
}

/// Whole batches mixing fast-path packets with general-path ones (ARP, ICMP, a flow miss)
/// agree too, packet by packet.
#[test]
fn mixed_batches_agree() {
    let (mut f, mut s) = (worker(true), worker(false));
    for ingress in [IF_C, IF_FABRIC] {
        let mut frames: Vec<Vec<u8>> = seeds()
            .into_iter()
            .filter(|(i, _)| *i == ingress)
            .map(|(_, f)| f)
            .collect();
        frames.push(arp_request(MAC_P, VM_P, VM_B));
        frames.push(icmp_v4(MAC_P, VROUTER_MAC, VM_P, VM_B, 7));
        frames.push(udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_B, 99, 98, b"miss"));
        let frames: Vec<Vec<u8>> = frames.iter().cycle().take(40).cloned().collect();
        for round in 0..2 {
            let mut a: Vec<PacketBuf> = frames.iter().map(|x| PacketBuf::from_frame(x)).collect();
            let mut b = a.clone();
            let mut da = vec![Disposition::Held; a.len()];
            let mut db = da.clone();
            f.process_batch(round, ingress, &mut a, &mut da);
            s.process_batch(round, ingress, &mut b, &mut db);
            assert_eq!(da, db);
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x.data(), y.data());
            }
            assert_eq!(f.stats, s.stats);
            assert_eq!(f.drops, s.drops);
            assert_eq!(f.interface_counters(), s.interface_counters());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn mutated_headers_agree(
        seed in 0usize..64,
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        cut in any::<usize>(),
    ) {
        let (mut f, mut s) = (worker(true), worker(false));
        let mut all = seeds();
        let n = all.len();
        let (ingress, mut frame) = all.swap_remove(seed % n);
        // Mutations land in the headers (outer and inner), where the decisions are.
        for (at, v) in flips {
            let n = frame.len().min(120);
            frame[at % n] = v;
        }
        let keep = frame.len() - cut % 12.min(frame.len());
        same(&mut f, &mut s, ingress, &frame[..keep]);
    }
}
