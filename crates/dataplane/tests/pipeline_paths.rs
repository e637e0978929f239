//! Every forwarding path of the pipeline, checked by parsing what it emits with the wire
//! types: local routing, each encapsulation, decapsulation, traps, drops, ECMP, flooding,
//! flows with hold/upcall/decision, NAT both ways, fragments, limits and ageing.

mod common;

use cirrus_dataplane::drop::DropReason;
use cirrus_dataplane::flow::{FlowDecision, FlowKey, FlowSpec};
use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::{Disposition, TrapReason, Worker, WorkerConfig};
use cirrus_dataplane::tables::{Interface, InterfaceKind};
use cirrus_dataplane::wire::*;
use common::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn run(w: &mut Worker, ingress: u32, frame: &[u8]) -> (Disposition, Vec<u8>) {
    let mut p = [PacketBuf::from_frame(frame)];
    let mut out = [Disposition::Held];
    w.process_batch(100, ingress, &mut p, &mut out);
    (out[0], p[0].data().to_vec())
}

fn worker() -> (cirrus_dataplane::control::Controller, Worker) {
    let (c, dp) = topology();
    (c, Worker::new(dp, WorkerConfig::default()))
}

/// (outer IPv4, UDP or GRE payload) of an encapsulated frame.
fn outer(frame: &[u8]) -> (Ipv4Repr, Vec<u8>) {
    let eth = EthernetFrame::new_checked(frame).unwrap();
    assert_eq!((eth.dst_addr(), eth.src_addr()), (GATEWAY_MAC, FABRIC_MAC));
    let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
    (Ipv4Repr::parse(&ip).unwrap(), ip.payload().to_vec())
}

#[test]
fn local_vm_to_vm_is_routed_with_mac_rewrite_and_ttl() {
    let (_c, mut w) = worker();
    let f = udp_v4(MAC_A, VROUTER_MAC, VM_A, VM_B, 1000, 2000, b"hello");
    let (d, out) = run(&mut w, IF_A, &f);
    assert_eq!(d, Disposition::Tx(IF_B));
    let eth = EthernetFrame::new_checked(&out[..]).unwrap();
    assert_eq!((eth.dst_addr(), eth.src_addr()), (MAC_B, VROUTER_MAC));
    let ip = Ipv4Repr::parse(&Ipv4Packet::new_checked(eth.payload()).unwrap()).unwrap();
    assert_eq!(ip.ttl, 63);
}

#[test]
fn remote_over_mpls_over_udp() {
    let (_c, mut w) = worker();
    let f = udp_v4(MAC_A, VROUTER_MAC, VM_A, VM_C_UDP, 1000, 2000, b"hello");
    let (d, out) = run(&mut w, IF_A, &f);
    assert_eq!(d, Disposition::Tx(IF_FABRIC));
    let (ip, l4) = outer(&out);
    assert_eq!(
        (ip.src, ip.dst, ip.protocol),
        (LOCAL_IP, PEER1, IpProtocol::UDP)
    );
    let udp = UdpPacket::new_checked(&l4[..]).unwrap();
    assert_eq!(udp.dst_port(), 6635);
    assert!(udp.src_port() >= 49152);
    let m = MplsRepr::parse(&MplsPacket::new_checked(udp.payload()).unwrap()).unwrap();
    assert_eq!((m.label, m.bottom_of_stack), (33, true));
    let inner = Ipv4Packet::new_checked(&udp.payload()[4..]).unwrap();
    assert_eq!((inner.dst_addr(), inner.ttl()), (VM_C_UDP, 63));
    assert!(inner.verify_checksum());
}

#[test]
fn remote_over_mpls_over_gre() {
    let (_c, mut w) = worker();
    let f = tcp_v4(MAC_A, VROUTER_MAC, VM_A, VM_D_GRE, 1000, 80, TcpFlags::SYN);
    let (d, out) = run(&mut w, IF_A, &f);
    assert_eq!(d, Disposition::Tx(IF_FABRIC));
    let (ip, l4) = outer(&out);
    assert_eq!(ip.protocol, IpProtocol::GRE);
    let gre = GrePacket::new_checked(&l4[..]).unwrap();
    assert_eq!(gre.protocol(), EtherType::MPLS);
    assert_eq!(MplsPacket::new_checked(gre.payload()).unwrap().label(), 34);
}

#[test]
fn remote_over_vxlan_carries_the_frame() {
    let (_c, mut w) = worker();
    let f = icmp_v4(MAC_A, VROUTER_MAC, VM_A, VM_E_VXLAN, 7);
    let (d, out) = run(&mut w, IF_A, &f);
    assert_eq!(d, Disposition::Tx(IF_FABRIC));
    let (_, l4) = outer(&out);
    let udp = UdpPacket::new_checked(&l4[..]).unwrap();
    assert_eq!(udp.dst_port(), 4789);
    let vx = VxlanPacket::new_checked(udp.payload()).unwrap();
    assert_eq!(vx.vni(), VNI);
    let inner = EthernetFrame::new_checked(vx.payload()).unwrap();
    assert_eq!(inner.ethertype(), EtherType::IPV4);
    // Routed: the far end bridges on the remote workload's MAC.
    assert_eq!((inner.dst_addr(), inner.src_addr()), (MAC_E, VROUTER_MAC));
}

#[test]
fn fabric_mpls_decap_to_local_vm() {
    let (_c, mut w) = worker();
    let inner = udp_v4(MAC_E, VROUTER_MAC, VM_C_UDP, VM_A, 53, 1000, b"reply");
    let f = mpls_udp_from_peer(LABEL_A, &inner[14..]);
    let (d, out) = run(&mut w, IF_FABRIC, &f);
    assert_eq!(d, Disposition::Tx(IF_A));
    let eth = EthernetFrame::new_checked(&out[..]).unwrap();
    assert_eq!(
        (eth.dst_addr(), eth.src_addr(), eth.ethertype()),
        (MAC_A, VROUTER_MAC, EtherType::IPV4)
    );
    let ip = Ipv4Packet::new_checked(eth.payload()).unwrap();
    assert_eq!((ip.src_addr(), ip.ttl()), (VM_C_UDP, 63));
    assert!(ip.verify_checksum());
    // Unknown label and non-overlay traffic.
    assert_eq!(
        run(&mut w, IF_FABRIC, &mpls_udp_from_peer(999, &inner[14..])).0,
        Disposition::Drop(DropReason::UnknownLabel)
    );
    let to_host = udp_v4(GATEWAY_MAC, FABRIC_MAC, PEER1, LOCAL_IP, 179, 179, b"x");
    assert_eq!(
        run(&mut w, IF_FABRIC, &to_host).0,
        Disposition::Trap(TrapReason::Host)
    );
}

#[test]
fn fabric_vxlan_decap_bridges_inner_frame() {
    let (_c, mut w) = worker();
    let inner = icmp_v4(MAC_E, MAC_A, VM_E_VXLAN, VM_A, 9);
    let (d, out) = run(&mut w, IF_FABRIC, &vxlan_from_peer(VNI, &inner));
    assert_eq!(d, Disposition::Tx(IF_A));
    assert_eq!(out, inner);
    assert_eq!(
        run(&mut w, IF_FABRIC, &vxlan_from_peer(5, &inner)).0,
        Disposition::Drop(DropReason::UnknownVni)
    );
}

#[test]
fn arp_and_dhcp_are_trapped() {
    let (_c, mut w) = worker();
    assert_eq!(
        run(&mut w, IF_A, &arp_request(MAC_A, VM_A, VM_B)).0,
        Disposition::Trap(TrapReason::Arp)
    );
    let dhcp = udp_v4(
        MAC_A,
        MacAddr::BROADCAST,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::BROADCAST,
        68,
        67,
        &[1; 240],
    );
    assert_eq!(
        run(&mut w, IF_A, &dhcp).0,
        Disposition::Trap(TrapReason::Dhcp)
    );
}

#[test]
fn drops_are_counted_by_reason() {
    let (_c, mut w) = worker();
    let spoof = udp_v4(MAC_A, VROUTER_MAC, VM_B, VM_C_UDP, 1, 2, b"");
    assert_eq!(
        run(&mut w, IF_A, &spoof).0,
        Disposition::Drop(DropReason::SourceMismatch)
    );
    let mut ttl1 = udp_v4(MAC_A, VROUTER_MAC, VM_A, VM_C_UDP, 1, 2, b"");
    ttl1[22] = 1;
    Ipv4Packet::new_unchecked(&mut ttl1[14..]).fill_checksum();
    // TTL expiry is the agent's (it answers with ICMP time exceeded), not a drop.
    assert_eq!(
        run(&mut w, IF_A, &ttl1).0,
        Disposition::Trap(TrapReason::TtlExpired)
    );
    let noroute = udp_v4(
        MAC_A,
        VROUTER_MAC,
        VM_A,
        Ipv4Addr::new(172, 16, 0, 1),
        1,
        2,
        b"",
    );
    assert_eq!(
        run(&mut w, IF_A, &noroute).0,
        Disposition::Drop(DropReason::NoRoute)
    );
    let discard = udp_v4(
        MAC_A,
        VROUTER_MAC,
        VM_A,
        Ipv4Addr::new(10, 66, 1, 1),
        1,
        2,
        b"",
    );
    assert_eq!(
        run(&mut w, IF_A, &discard).0,
        Disposition::Drop(DropReason::Discard)
    );
    assert_eq!(
        run(&mut w, IF_A, &noroute[..30]).0,
        Disposition::Drop(DropReason::Malformed)
    );
    assert_eq!(
        run(&mut w, 77, &noroute).0,
        Disposition::Drop(DropReason::UnknownInterface)
    );
    assert_eq!(w.drops.total(), 5);
    assert_eq!(w.drops.get(DropReason::NoRoute), 1);
    assert_eq!(w.drops.get(DropReason::TtlExpired), 0);
}

#[test]
fn ecmp_spreads_flows_over_members() {
    let (_c, mut w) = worker();
    let mut labels = std::collections::BTreeSet::new();
    for sport in 0..64 {
        let f = udp_v4(
            MAC_A,
            VROUTER_MAC,
            VM_A,
            Ipv4Addr::new(10, 1, 2, 9),
            1000 + sport,
            80,
            b"x",
        );
        let (d, out) = run(&mut w, IF_A, &f);
        assert_eq!(d, Disposition::Tx(IF_FABRIC));
        let (_, l4) = outer(&out);
        labels.insert(MplsPacket::new_checked(&l4[8..]).unwrap().label());
    }
    assert_eq!(labels.into_iter().collect::<Vec<_>>(), vec![41, 42]);
}

#[test]
fn broadcast_is_flooded_except_back_to_sender() {
    let (_c, mut w) = worker();
    let f = udp_v4(
        MAC_A,
        MacAddr::BROADCAST,
        VM_A,
        Ipv4Addr::new(10, 1, 255, 255),
        5,
        5,
        b"bcast",
    );
    assert_eq!(run(&mut w, IF_A, &f).0, Disposition::Replicated);
    let extra = w.take_extra();
    let mut outs: Vec<u32> = extra.iter().map(|e| e.0).collect();
    outs.sort();
    assert_eq!(outs, vec![IF_FABRIC, IF_B]);
    // From the fabric, the flood never goes back to the fabric.
    let inner = udp_v4(
        MAC_E,
        MacAddr::BROADCAST,
        VM_E_VXLAN,
        Ipv4Addr::new(10, 1, 255, 255),
        5,
        5,
        b"b",
    );
    assert_eq!(
        run(&mut w, IF_FABRIC, &vxlan_from_peer(VNI, &inner)).0,
        Disposition::Replicated
    );
    let mut outs: Vec<u32> = w.take_extra().iter().map(|e| e.0).collect();
    outs.sort();
    assert_eq!(outs, vec![IF_A, IF_B]);
}

fn decision(
    w: &mut Worker,
    fwd: FlowSpec,
    rev: Option<(FlowKey, FlowSpec)>,
) -> Vec<(Disposition, PacketBuf)> {
    let up = w.take_upcalls();
    assert_eq!(up.len(), 1);
    w.apply_decision(
        100,
        FlowDecision {
            index: up[0].index,
            key: up[0].key,
            forward: fwd,
            reverse: rev,
        },
    )
    .unwrap()
}

#[test]
fn policy_flow_miss_holds_then_decision_releases() {
    let (_c, mut w) = worker();
    let f = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_C_UDP, 3000, 53, b"q");
    assert_eq!(run(&mut w, IF_C, &f).0, Disposition::Held);
    assert_eq!(run(&mut w, IF_C, &f).0, Disposition::Held);
    assert_eq!(w.parked_len(), 2);
    let key = FlowKey::new(1, IpProtocol::UDP, VM_P.into(), VM_C_UDP.into(), 3000, 53);
    let released = decision(
        &mut w,
        FlowSpec::forward(1),
        Some((key.reversed(1), FlowSpec::forward(1))),
    );
    assert_eq!(released.len(), 2);
    assert!(
        released
            .iter()
            .all(|(d, _)| *d == Disposition::Tx(IF_FABRIC))
    );
    assert_eq!(run(&mut w, IF_C, &f).0, Disposition::Tx(IF_FABRIC));
    // The reply from the fabric hits the reverse entry.
    let reply = udp_v4(MAC_E, VROUTER_MAC, VM_C_UDP, VM_P, 53, 3000, b"a");
    assert_eq!(
        run(
            &mut w,
            IF_FABRIC,
            &mpls_udp_from_peer(LABEL_P, &reply[14..])
        )
        .0,
        Disposition::Tx(IF_C)
    );
    let (fi, rev) = (w.flows.lookup(&key, key.hash()).unwrap(), key.reversed(1));
    let ri = w.flows.lookup(&rev, rev.hash()).unwrap();
    assert_eq!((w.flows.counters(fi).0, w.flows.counters(ri).0), (3, 1));
    assert_eq!(w.flows.get(fi).unwrap().rev, ri);
}

#[test]
fn policy_drop_decision_drops_and_counts() {
    let (_c, mut w) = worker();
    let f = tcp_v4(MAC_P, VROUTER_MAC, VM_P, VM_B, 3000, 22, TcpFlags::SYN);
    assert_eq!(run(&mut w, IF_C, &f).0, Disposition::Held);
    let released = decision(&mut w, FlowSpec::drop(), None);
    assert_eq!(released[0].0, Disposition::Drop(DropReason::FlowPolicy));
    assert_eq!(
        run(&mut w, IF_C, &f).0,
        Disposition::Drop(DropReason::FlowPolicy)
    );
    assert_eq!(w.drops.get(DropReason::FlowPolicy), 2);
}

#[test]
fn a_policy_port_cannot_bridge_past_its_flows() {
    let (_c, mut w) = worker();
    // Unicast to another workload's own MAC (in the VRF's bridge table), not the vrouter's:
    // it meets the flow stage as routed traffic does, so a denying decision holds.
    let f = tcp_v4(MAC_P, MAC_B, VM_P, VM_B, 3000, 22, TcpFlags::SYN);
    assert_eq!(run(&mut w, IF_C, &f).0, Disposition::Held);
    let released = decision(&mut w, FlowSpec::drop(), None);
    assert_eq!(released[0].0, Disposition::Drop(DropReason::FlowPolicy));
    assert_eq!(
        run(&mut w, IF_C, &f).0,
        Disposition::Drop(DropReason::FlowPolicy)
    );
    // A port without policy still bridges to the MAC it names.
    let g = udp_v4(MAC_A, MAC_B, VM_A, VM_B, 1, 2, b"l2");
    assert_eq!(run(&mut w, IF_A, &g).0, Disposition::Tx(IF_B));
}

#[test]
fn nat_rewrites_both_directions() {
    let (_c, mut w) = worker();
    let f = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_C_UDP, 3000, 53, b"query");
    assert_eq!(run(&mut w, IF_C, &f).0, Disposition::Held);
    let rev = FlowKey::new(1, IpProtocol::UDP, VM_C_UDP.into(), FIP.into(), 53, 40000);
    let snat = FlowSpec {
        nat_src: true,
        ..FlowSpec::forward(1)
    };
    let dnat = FlowSpec {
        nat_dst: true,
        ..FlowSpec::forward(1)
    };
    let released = decision(&mut w, snat, Some((rev, dnat)));
    assert_eq!(released[0].0, Disposition::Tx(IF_FABRIC));
    let (_, l4) = outer(released[0].1.data());
    let inner = Ipv4Packet::new_checked(&l4[12..]).unwrap();
    assert_eq!(inner.src_addr(), FIP);
    assert!(inner.verify_checksum());
    let udp = UdpPacket::new_checked(inner.payload()).unwrap();
    assert_eq!(udp.src_port(), 40000);
    assert!(udp.verify_checksum(checksum::pseudo_v4(FIP, VM_C_UDP, 17, udp.len() as u32)));
    // Reply to the floating IP: destination translated back to the workload.
    let reply = udp_v4(MAC_E, VROUTER_MAC, VM_C_UDP, FIP, 53, 40000, b"answer");
    let (d, out) = run(
        &mut w,
        IF_FABRIC,
        &mpls_udp_from_peer(LABEL_P, &reply[14..]),
    );
    assert_eq!(d, Disposition::Tx(IF_C));
    let ip = Ipv4Packet::new_checked(&out[14..]).unwrap();
    assert_eq!(ip.dst_addr(), VM_P);
    let udp = UdpPacket::new_checked(ip.payload()).unwrap();
    assert_eq!(udp.dst_port(), 3000);
    assert!(udp.verify_checksum(checksum::pseudo_v4(VM_C_UDP, VM_P, 17, udp.len() as u32)));
}

#[test]
fn nat_rewrites_both_directions_v6() {
    // Workload A (which owns V6_A) with policy, so its flows go through the agent.
    let (mut c, mut w) = worker();
    c.set_interface(Interface {
        ifindex: IF_A,
        name: "tap-a".into(),
        mac: MAC_A,
        kind: InterfaceKind::Virtual {
            vrf: 1,
            ips: vec![IpAddr::V4(VM_A), IpAddr::V6(V6_A)],
            policy: true,
        },
        flow_limit: 0,
        fat_flows: Vec::new(),
    })
    .unwrap();
    c.commit();
    let fip6 = Ipv6Addr::new(0x2001, 0xdb8, 9, 0, 0, 0, 0, 9);
    let f = udp_v6(MAC_A, VROUTER_MAC, V6_A, V6_REMOTE, 3000, 53, b"query");
    assert_eq!(run(&mut w, IF_A, &f).0, Disposition::Held);
    let rev = FlowKey::new(1, IpProtocol::UDP, V6_REMOTE.into(), fip6.into(), 53, 40000);
    let snat = FlowSpec {
        nat_src: true,
        ..FlowSpec::forward(1)
    };
    let dnat = FlowSpec {
        nat_dst: true,
        ..FlowSpec::forward(1)
    };
    let released = decision(&mut w, snat, Some((rev, dnat)));
    assert_eq!(released[0].0, Disposition::Tx(IF_FABRIC));
    // Outer UDP (8) and MPLS (4), then the translated IPv6 packet.
    let (_, l4) = outer(released[0].1.data());
    let inner = Ipv6Packet::new_checked(&l4[12..]).unwrap();
    assert_eq!((inner.src_addr(), inner.dst_addr()), (fip6, V6_REMOTE));
    let udp = UdpPacket::new_checked(inner.payload()).unwrap();
    assert_eq!(udp.src_port(), 40000);
    assert!(udp.verify_checksum(checksum::pseudo_v6(&fip6, &V6_REMOTE, 17, udp.len() as u32)));
    // Reply to the floating IP: destination translated back to the workload.
    let reply = udp_v6(MAC_E, VROUTER_MAC, V6_REMOTE, fip6, 53, 40000, b"answer");
    let (d, out) = run(
        &mut w,
        IF_FABRIC,
        &mpls_udp_from_peer(LABEL_A, &reply[14..]),
    );
    assert_eq!(d, Disposition::Tx(IF_A));
    let ip = Ipv6Packet::new_checked(&out[14..]).unwrap();
    assert_eq!((ip.src_addr(), ip.dst_addr()), (V6_REMOTE, V6_A));
    let udp = UdpPacket::new_checked(ip.payload()).unwrap();
    assert_eq!(udp.dst_port(), 3000);
    assert!(udp.verify_checksum(checksum::pseudo_v6(&V6_REMOTE, &V6_A, 17, udp.len() as u32)));
}

fn fragment(ident: u16, offset: u16, more: bool) -> Vec<u8> {
    let mut f = udp_v4(MAC_A, VROUTER_MAC, VM_A, VM_C_UDP, 7000, 7001, &[0u8; 32]);
    f[18..20].copy_from_slice(&ident.to_be_bytes());
    let fo = ((more as u16) << 13) | (offset / 8);
    f[20..22].copy_from_slice(&fo.to_be_bytes());
    Ipv4Packet::new_unchecked(&mut f[14..]).fill_checksum();
    f
}

#[test]
fn fragments_follow_the_first_or_are_dropped() {
    let (_c, mut w) = worker();
    assert_eq!(
        run(&mut w, IF_A, &fragment(1, 0, true)).0,
        Disposition::Tx(IF_FABRIC)
    );
    assert_eq!(
        run(&mut w, IF_A, &fragment(1, 40, false)).0,
        Disposition::Tx(IF_FABRIC)
    );
    assert_eq!(
        run(&mut w, IF_A, &fragment(2, 40, false)).0,
        Disposition::Drop(DropReason::FragmentNoFlow)
    );
}

#[test]
fn per_interface_flow_limit() {
    let (mut c, dp) = topology();
    c.set_interface(Interface {
        ifindex: IF_C,
        name: "tap-p".into(),
        mac: MAC_P,
        kind: InterfaceKind::Virtual {
            vrf: 1,
            ips: vec![IpAddr::V4(VM_P)],
            policy: true,
        },
        flow_limit: 2,
        fat_flows: Vec::new(),
    })
    .unwrap();
    c.commit();
    let mut w = Worker::new(dp, WorkerConfig::default());
    for port in 0..2 {
        let f = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_B, port, 53, b"");
        assert_eq!(run(&mut w, IF_C, &f).0, Disposition::Held);
    }
    let f = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_B, 9, 53, b"");
    assert_eq!(
        run(&mut w, IF_C, &f).0,
        Disposition::Drop(DropReason::FlowLimit)
    );
}

#[test]
fn tcp_reset_ages_the_pair_at_once_and_holds_expire() {
    let (_c, mut w) = worker();
    let syn = tcp_v4(MAC_P, VROUTER_MAC, VM_P, VM_B, 4000, 80, TcpFlags::SYN);
    run(&mut w, IF_C, &syn);
    let key = FlowKey::new(1, IpProtocol::TCP, VM_P.into(), VM_B.into(), 4000, 80);
    decision(
        &mut w,
        FlowSpec::forward(1),
        Some((key.reversed(1), FlowSpec::forward(1))),
    );
    run(
        &mut w,
        IF_C,
        &tcp_v4(MAC_P, VROUTER_MAC, VM_P, VM_B, 4000, 80, TcpFlags::RST),
    );
    assert_eq!(w.flows.len(), 2);
    assert_eq!(w.age(100, 1000), 2);
    // A hold the agent never answers expires and its parked packet is dropped, counted.
    run(&mut w, IF_C, &syn);
    assert_eq!(w.age(100 + 5, 1000), 1);
    assert_eq!(w.drops.get(DropReason::FlowDenied), 1);
}

#[test]
fn ipv6_routes_over_mpls_and_decaps_back() {
    let (_c, mut w) = worker();
    let f = udp_v6(MAC_A, VROUTER_MAC, V6_A, V6_REMOTE, 1000, 2000, b"six");
    let (d, out) = run(&mut w, IF_A, &f);
    assert_eq!(d, Disposition::Tx(IF_FABRIC));
    let (_, l4) = outer(&out);
    let udp = UdpPacket::new_checked(&l4[..]).unwrap();
    assert_eq!(MplsPacket::new_checked(udp.payload()).unwrap().label(), 33);
    let inner = Ipv6Packet::new_checked(&udp.payload()[4..]).unwrap();
    assert_eq!((inner.dst_addr(), inner.hop_limit()), (V6_REMOTE, 63));
    let back = udp_v6(MAC_E, VROUTER_MAC, V6_REMOTE, V6_A, 2000, 1000, b"back");
    let (d, out) = run(&mut w, IF_FABRIC, &mpls_udp_from_peer(LABEL_A, &back[14..]));
    assert_eq!(d, Disposition::Tx(IF_A));
    let eth = EthernetFrame::new_checked(&out[..]).unwrap();
    assert_eq!((eth.ethertype(), eth.dst_addr()), (EtherType::IPV6, MAC_A));
    // Spoofed IPv6 source.
    let spoof = udp_v6(MAC_A, VROUTER_MAC, V6_REMOTE, V6_A, 1, 2, b"");
    assert_eq!(
        run(&mut w, IF_A, &spoof).0,
        Disposition::Drop(DropReason::SourceMismatch)
    );
    // What a workload's IPv6 stack sends to its own link from its link-local address (an
    // mDNS query here; MLD reports alike) is not spoofing.
    let link_local: Ipv6Addr = "fe80::a".parse().unwrap();
    let mdns = udp_v6(
        MAC_A,
        VROUTER_MAC,
        link_local,
        "ff02::fb".parse().unwrap(),
        5353,
        5353,
        b"",
    );
    assert_eq!(
        run(&mut w, IF_A, &mdns).0,
        Disposition::Drop(DropReason::LinkScopedMulticast)
    );
    // A site-wide multicast from a foreign source still is.
    let foreign = udp_v6(
        MAC_A,
        VROUTER_MAC,
        V6_REMOTE,
        "ff05::2".parse().unwrap(),
        1,
        2,
        b"",
    );
    assert_eq!(
        run(&mut w, IF_A, &foreign).0,
        Disposition::Drop(DropReason::SourceMismatch)
    );
}

#[test]
fn mpls_over_gre_decap_and_interface_counters() {
    let (_c, mut w) = worker();
    let inner = udp_v4(MAC_E, VROUTER_MAC, VM_D_GRE, VM_A, 5, 6, b"gre");
    let f = mpls_gre_from_peer(LABEL_A, &inner[14..]);
    let (d, out) = run(&mut w, IF_FABRIC, &f);
    assert_eq!(d, Disposition::Tx(IF_A));
    assert_eq!(
        &out[14..],
        &{
            let mut i = inner[14..].to_vec();
            Ipv4Packet::new_unchecked(&mut i[..]).decrement_ttl();
            i
        }[..]
    );
    let c = w.interface_counters();
    assert_eq!(
        (
            c[IF_FABRIC as usize].rx_packets,
            c[IF_FABRIC as usize].rx_bytes
        ),
        (1, f.len() as u64)
    );
    assert_eq!(
        (c[IF_A as usize].tx_packets, c[IF_A as usize].tx_bytes),
        (1, out.len() as u64)
    );
    assert_eq!(
        run(&mut w, IF_AGENT, &f).0,
        Disposition::Drop(DropReason::HostOrAgentIngress)
    );
    assert_eq!(w.interface_counters()[IF_AGENT as usize].drops, 1);
}

#[test]
fn mirror_sends_a_copy() {
    let (_c, mut w) = worker();
    let f = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_B, 3000, 9, b"m");
    assert_eq!(run(&mut w, IF_C, &f).0, Disposition::Held);
    let key = FlowKey::new(1, IpProtocol::UDP, VM_P.into(), VM_B.into(), 3000, 9);
    let spec = FlowSpec {
        mirror: NH_E_VXLAN,
        ..FlowSpec::forward(1)
    };
    let released = decision(&mut w, spec, Some((key.reversed(1), FlowSpec::forward(1))));
    assert_eq!(released[0].0, Disposition::Tx(IF_B));
    let extra = w.take_extra();
    assert_eq!(extra.len(), 1);
    assert_eq!(extra[0].0, IF_FABRIC);
    let (_, l4) = outer(extra[0].1.data());
    let vx = VxlanPacket::new_checked(&l4[8..]).unwrap();
    assert_eq!(vx.payload(), &f[..]);
}

#[test]
fn later_fragments_on_the_decap_path_follow_the_first() {
    let (_c, mut w) = worker();
    let frag = |off: u16, more: bool| {
        let mut f = udp_v4(MAC_E, VROUTER_MAC, VM_C_UDP, VM_P, 7000, 7001, &[0u8; 32]);
        f[20..22].copy_from_slice(&(((more as u16) << 13) | (off / 8)).to_be_bytes());
        Ipv4Packet::new_unchecked(&mut f[14..]).fill_checksum();
        mpls_udp_from_peer(LABEL_P, &f[14..])
    };
    assert_eq!(run(&mut w, IF_FABRIC, &frag(0, true)).0, Disposition::Held);
    assert_eq!(
        run(&mut w, IF_FABRIC, &frag(40, false)).0,
        Disposition::Held
    );
    let up = w.take_upcalls();
    assert_eq!(up.len(), 1, "both fragments share one flow");
    assert_eq!((up[0].key.sport(), up[0].key.dport()), (7000, 7001));
}

#[test]
fn reply_racing_the_agent_is_released_onto_the_reverse_entry() {
    let (_c, mut w) = worker();
    // P -> C is held; before the agent answers, C's reply arrives over the fabric and is
    // held too (as a flow of its own).
    let f = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_C_UDP, 3000, 9, b"q");
    assert_eq!(run(&mut w, IF_C, &f).0, Disposition::Held);
    let reply = udp_v4(MAC_E, VROUTER_MAC, VM_C_UDP, VM_P, 9, 3000, b"a");
    let r = mpls_udp_from_peer(LABEL_P, &reply[14..]);
    assert_eq!(run(&mut w, IF_FABRIC, &r).0, Disposition::Held);
    let mut up = w.take_upcalls();
    assert_eq!(up.len(), 2);
    let first = up.remove(0);
    let rx_before = w.stats.rx;
    let released = w
        .apply_decision(
            100,
            FlowDecision {
                index: first.index,
                key: first.key,
                forward: FlowSpec::forward(1),
                reverse: Some((first.key.reversed(1), FlowSpec::forward(1))),
            },
        )
        .unwrap();
    let d: Vec<_> = released.iter().map(|r| r.0).collect();
    assert_eq!(d, vec![Disposition::Tx(IF_FABRIC), Disposition::Tx(IF_C)]);
    assert_eq!(
        w.stats.rx, rx_before,
        "re-run packets are not counted twice"
    );
    assert_eq!(w.parked_len(), 0);
    // The second upcall is stale now: its hold was replaced by the reverse entry.
    let stale = up.remove(0);
    let res = w.apply_decision(
        100,
        FlowDecision {
            index: stale.index,
            key: stale.key,
            forward: FlowSpec::forward(1),
            reverse: None,
        },
    );
    assert!(res.is_err());
    // Deleting the pair through the worker.
    let fi = w.flows.lookup(&first.key, first.key.hash()).unwrap();
    assert_eq!(w.delete_flow(fi).len(), 2);
    assert!(w.flows.is_empty());
}

#[test]
fn fat_flows_aggregate_client_ports() {
    let (mut c, dp) = topology();
    c.set_interface(Interface {
        ifindex: IF_C,
        name: "tap-p".into(),
        mac: MAC_P,
        kind: InterfaceKind::Virtual {
            vrf: 1,
            ips: vec![IpAddr::V4(VM_P)],
            policy: true,
        },
        flow_limit: 0,
        fat_flows: vec![cirrus_dataplane::tables::FatFlow {
            proto: 17,
            port: 53,
        }],
    })
    .unwrap();
    c.commit();
    let mut w = Worker::new(dp, WorkerConfig::default());
    let first = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_C_UDP, 40000, 53, b"q");
    assert_eq!(run(&mut w, IF_C, &first).0, Disposition::Held);
    let up = w.take_upcalls();
    assert_eq!((up[0].key.sport(), up[0].key.dport()), (0, 53));
    decision_for(&mut w, &up[0]);
    // Other client ports hit the same flow: no new upcall.
    for sport in [40001, 40002, 50000] {
        let f = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_C_UDP, sport, 53, b"q");
        assert_eq!(run(&mut w, IF_C, &f).0, Disposition::Tx(IF_FABRIC));
    }
    let reply = udp_v4(MAC_E, VROUTER_MAC, VM_C_UDP, VM_P, 53, 40002, b"a");
    assert_eq!(
        run(
            &mut w,
            IF_FABRIC,
            &mpls_udp_from_peer(LABEL_P, &reply[14..])
        )
        .0,
        Disposition::Tx(IF_C)
    );
    assert!(w.take_upcalls().is_empty());
    assert_eq!(w.flows.len(), 2);
}

fn decision_for(w: &mut Worker, up: &cirrus_dataplane::flow::Upcall) {
    w.apply_decision(
        100,
        FlowDecision {
            index: up.index,
            key: up.key,
            forward: FlowSpec::forward(1),
            reverse: Some((up.key.reversed(1), FlowSpec::forward(1))),
        },
    )
    .unwrap();
}

#[test]
fn vxlan_routed_by_the_sender_is_routed_here_with_policy() {
    let (_c, mut w) = worker();
    // Inner destination is the vRouter MAC: route in the VNI's VRF.
    let inner = udp_v4(MAC_E, VROUTER_MAC, VM_E_VXLAN, VM_A, 7, 8, b"l3");
    let (d, out) = run(&mut w, IF_FABRIC, &vxlan_from_peer(VNI, &inner));
    assert_eq!(d, Disposition::Tx(IF_A));
    let eth = EthernetFrame::new_checked(&out[..]).unwrap();
    assert_eq!((eth.dst_addr(), eth.src_addr()), (MAC_A, VROUTER_MAC));
    assert_eq!(Ipv4Packet::new_checked(eth.payload()).unwrap().ttl(), 63);
    // To a policy-enabled workload it goes through the flow table.
    let inner = udp_v4(MAC_E, VROUTER_MAC, VM_E_VXLAN, VM_P, 7, 8, b"l3");
    assert_eq!(
        run(&mut w, IF_FABRIC, &vxlan_from_peer(VNI, &inner)).0,
        Disposition::Held
    );
    let to_nowhere = udp_v4(
        MAC_E,
        VROUTER_MAC,
        VM_E_VXLAN,
        Ipv4Addr::new(172, 16, 0, 1),
        7,
        8,
        b"x",
    );
    assert_eq!(
        run(&mut w, IF_FABRIC, &vxlan_from_peer(VNI, &to_nowhere)).0,
        Disposition::Drop(DropReason::NoRoute)
    );
}
