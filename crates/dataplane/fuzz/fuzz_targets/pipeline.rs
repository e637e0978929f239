//! The pipeline against arbitrary bytes, one worker for the whole run (built once, reset
//! before each input, so an input alone decides what happens and a crash replays).
//!
//! Each input is used twice: as one frame on every interface (workload without flows,
//! workload with flows, fabric) and through every wire parser, as before; then as a
//! sequence of records `[op][len: u16 BE][frame]` run against live flow state: the flows
//! the first records set up (the agent's decision comes from `op`) are hit by later ones,
//! so established, NAT'd, mirrored and dropped flows, the fast paths, re-runs of parked
//! packets, ageing and fragments are all within reach. `op`: bits 0-1 ingress (fabric,
//! workload, policy workload, policy workload), bits 2-3 the decision on the flows this
//! record misses (allow, drop, allow with source NAT, none: left held), bits 4-5 copies of
//! the frame in the batch less one, bit 6 the clock moves 7 s and flows age first, bit 7
//! decisions mirror.
//!
//! Checked: no panic; every packet gets exactly one disposition and is counted received
//! once; the flow table stays within its size; a forwarded packet leaves by an interface
//! that exists.
#![no_main]

use cirrus_dataplane::control::Controller;
use cirrus_dataplane::flow::{FlowConfig, FlowDecision, FlowKey, FlowSpec};
use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::{Disposition, Worker, WorkerConfig};
use cirrus_dataplane::tables::{FatFlow, Interface, InterfaceKind, Nexthop, TunnelEncap};
use cirrus_dataplane::wire::*;
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Mutex, OnceLock};

const LOCAL: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const FIP: Ipv4Addr = Ipv4Addr::new(10, 0, 9, 9);
const FABRIC_MAC: MacAddr = MacAddr([2, 0xfa, 0, 0, 0, 1]);
const GW_MAC: MacAddr = MacAddr([2, 0xfa, 0, 0, 0, 2]);
/// Interfaces 0 (fabric), 1 (workload), 2 (workload with flows).
const INTERFACES: u32 = 3;
const FLOWS: u32 = 1024;

/// The tables: VRF 1 with two workloads; remote routes over MPLSoUDP, MPLSoGRE and VXLAN
/// and an ECMP prefix across them; labels and a VNI for the fabric; a bridge entry and a
/// flood list; a fat-flow rule and IPv6 on the policy workload.
fn worker() -> (Controller, Worker) {
    let (mut c, dp) = Controller::new(8, MacAddr([0, 0, 0x5e, 0, 1, 0]));
    c.add_vrf(1).unwrap();
    let vif = |ifindex: u32, policy: bool| {
        let mut ips = vec![IpAddr::V4(Ipv4Addr::new(10, 0, 0, ifindex as u8))];
        if policy {
            ips.push(IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)));
        }
        Interface {
            ifindex,
            name: format!("vm{ifindex}"),
            mac: MacAddr([2, 0, 0, 0, 0, ifindex as u8]),
            kind: InterfaceKind::Virtual {
                vrf: 1,
                ips,
                policy,
            },
            flow_limit: if policy { 512 } else { 0 },
            fat_flows: if policy {
                vec![FatFlow {
                    proto: IpProtocol::UDP.0,
                    port: 53,
                }]
            } else {
                Vec::new()
            },
        }
    };
    c.set_interface(vif(1, false)).unwrap();
    c.set_interface(vif(2, true)).unwrap();
    c.set_interface(Interface {
        ifindex: 0,
        name: "fabric".into(),
        mac: FABRIC_MAC,
        kind: InterfaceKind::Fabric {
            local_ip: LOCAL,
            gateway_mac: GW_MAC,
        },
        flow_limit: 0,
        fat_flows: Vec::new(),
    })
    .unwrap();
    for (id, ifindex) in [(1, 1), (5, 2)] {
        let dmac = MacAddr([2, 0, 0, 0, 0, ifindex as u8]);
        let nh = Nexthop::Encap {
            ifindex,
            dmac,
            smac: MacAddr::ZERO,
        };
        c.set_nexthop(id, nh).unwrap();
    }
    let tunnel = |encap| Nexthop::Tunnel {
        encap,
        src_ip: LOCAL,
        dst_ip: PEER,
        fabric_if: 0,
        dmac: GW_MAC,
        smac: FABRIC_MAC,
    };
    c.set_nexthop(2, tunnel(TunnelEncap::MplsOverUdp { label: 20 }))
        .unwrap();
    c.set_nexthop(3, tunnel(TunnelEncap::MplsOverGre { label: 21 }))
        .unwrap();
    let vxlan = TunnelEncap::Vxlan {
        vni: 100,
        inner_dmac: MacAddr([2, 0, 0, 0, 1, 1]),
    };
    c.set_nexthop(4, tunnel(vxlan)).unwrap();
    c.set_nexthop(
        6,
        Nexthop::Composite {
            members: vec![2, 3, 4],
        },
    )
    .unwrap();
    c.set_nexthop(7, Nexthop::VrfTranslate { vrf: 1 }).unwrap();
    c.set_nexthop(
        8,
        Nexthop::Flood {
            members: vec![1, 5, 4],
        },
    )
    .unwrap();
    let v4 = |a, b, cc, d| IpAddr::V4(Ipv4Addr::new(a, b, cc, d));
    c.add_route(1, v4(10, 0, 0, 1), 32, 1).unwrap();
    c.add_route(1, v4(10, 0, 0, 2), 32, 5).unwrap();
    c.add_route(1, FIP.into(), 32, 1).unwrap();
    c.add_route(1, v4(10, 0, 1, 0), 24, 6).unwrap();
    c.add_route(1, v4(10, 0, 2, 0), 24, 3).unwrap();
    c.add_route(1, v4(0, 0, 0, 0), 0, 2).unwrap();
    c.add_route(
        1,
        IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2)),
        128,
        5,
    )
    .unwrap();
    c.add_route(1, IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0, 2)
        .unwrap();
    c.add_bridge_entry(1, MacAddr([2, 0, 0, 0, 0, 1]), 1)
        .unwrap();
    c.add_bridge_entry(1, MacAddr([2, 0, 0, 0, 1, 1]), 4)
        .unwrap();
    c.add_bridge_entry(1, MacAddr::BROADCAST, 8).unwrap();
    c.set_label(17, 1).unwrap();
    c.set_label(18, 5).unwrap();
    c.set_label(19, 7).unwrap();
    c.set_vni(100, 7).unwrap();
    c.commit();
    let cfg = WorkerConfig {
        flows: FlowConfig {
            max_entries: FLOWS,
            ..FlowConfig::default()
        },
        max_fragments: 64,
        ..WorkerConfig::default()
    };
    (c, Worker::new(dp, cfg))
}

struct Harness {
    _c: Controller,
    w: Worker,
}

fn harness() -> &'static Mutex<Harness> {
    static H: OnceLock<Mutex<Harness>> = OnceLock::new();
    H.get_or_init(|| {
        let (c, w) = worker();
        Mutex::new(Harness { _c: c, w })
    })
}

/// The agent's answer to every pending upcall, as `op` says.
fn decide(w: &mut Worker, now: u32, op: u8, out: &mut Vec<Disposition>) {
    for up in w.take_upcalls() {
        let k = up.key;
        let fwd = FlowSpec {
            mirror: if op & 0x80 != 0 { 5 } else { 0 },
            ..FlowSpec::forward(k.vrf())
        };
        let (forward, reverse) = match (op >> 2) & 3 {
            0 => (fwd, Some((k.reversed(k.vrf()), FlowSpec::forward(k.vrf())))),
            1 => (FlowSpec::drop(), None),
            2 if !k.is_v6() => {
                // Source NAT to the floating IP, reply port moved by one.
                let rk = FlowKey::new(
                    k.vrf(),
                    k.proto(),
                    k.dst(),
                    FIP.into(),
                    k.dport(),
                    k.sport().wrapping_add(1),
                );
                let nat = |src| FlowSpec {
                    nat_src: src,
                    nat_dst: !src,
                    ..fwd
                };
                (nat(true), Some((rk, nat(false))))
            }
            2 => (fwd, None),
            _ => continue,
        };
        let d = FlowDecision {
            index: up.index,
            key: k,
            forward,
            reverse,
        };
        if let Ok(released) = w.apply_decision(now, d) {
            out.extend(released.into_iter().map(|(d, _)| d));
        }
    }
}

fn check(out: &[Disposition]) {
    for d in out {
        if let Disposition::Tx(i) = d {
            assert!(*i < INTERFACES, "sent to interface {i}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut h = harness().lock().unwrap_or_else(|p| p.into_inner());
    let w = &mut h.w;
    w.reset();

    // The whole input as one frame on every interface.
    for ingress in 0..INTERFACES {
        let mut p = [PacketBuf::from_frame(data)];
        let mut out = [Disposition::Held];
        w.process_batch(1, ingress, &mut p, &mut out);
        check(&out);
    }
    assert_eq!(w.stats.rx, INTERFACES as u64);
    let _ = EthernetFrame::new_checked(data).map(|f| EthernetRepr::parse(&f));
    let _ = Ipv4Packet::new_checked(data).map(|p| Ipv4Repr::parse(&p));
    let _ = Ipv6Packet::new_checked(data).map(|p| p.upper_layer());
    let _ = Icmpv6Packet::new_checked(data).map(|p| Icmpv6Repr::parse(&p, 0));
    let _ = GrePacket::new_checked(data).map(|p| GreRepr::parse(&p));
    let _ = ArpPacket::new_checked(data).map(|p| ArpRepr::parse(&p));

    // The input as a sequence of records against live flows.
    w.reset();
    let (mut now, mut rest, mut sent) = (1u32, data, 0u64);
    let mut released = Vec::new();
    while rest.len() >= 3 {
        let op = rest[0];
        let len = (u16::from_be_bytes([rest[1], rest[2]]) as usize).min(rest.len() - 3);
        let frame = &rest[3..3 + len];
        rest = &rest[3 + len..];
        if op & 0x40 != 0 {
            now += 7;
            w.age(now, 256);
        }
        let ingress = [0, 1, 2, 2][(op & 3) as usize];
        let copies = 1 + ((op >> 4) & 3) as usize;
        let mut pkts: Vec<PacketBuf> = (0..copies).map(|_| PacketBuf::from_frame(frame)).collect();
        let mut out = vec![Disposition::Held; copies];
        w.process_batch(now, ingress, &mut pkts, &mut out);
        sent += copies as u64;
        check(&out);
        decide(w, now, op, &mut released);
        check(&released);
        released.clear();
        let _ = w.take_extra();
        assert_eq!(w.stats.rx, sent);
        assert!(w.flows.len() <= FLOWS as usize);
    }
});
