//! Property tests: arbitrary or mutated bytes on any interface never panic and every
//! packet is accounted for (forwarded, trapped, held, replicated, or dropped and counted);
//! every wire parser accepts arbitrary bytes without panicking.

mod common;

use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::{Disposition, Worker, WorkerConfig};
use cirrus_dataplane::wire::*;
use common::*;
use proptest::prelude::*;

fn account(w: &mut Worker, ingress: u32, frame: &[u8]) -> Disposition {
    let before = (w.stats.clone(), w.drops.total());
    let mut p = [PacketBuf::from_frame(frame)];
    let mut out = [Disposition::Held];
    w.process_batch(1, ingress, &mut p, &mut out);
    let (s, d) = (&w.stats, w.drops.total());
    assert_eq!(s.rx, before.0.rx + 1);
    match out[0] {
        Disposition::Drop(_) => assert_eq!(d, before.1 + 1),
        Disposition::Tx(_) => assert_eq!(s.tx, before.0.tx + 1),
        Disposition::Trap(_) => assert_eq!(s.trapped, before.0.trapped + 1),
        Disposition::Held => assert_eq!(s.held, before.0.held + 1),
        Disposition::Replicated => {}
    }
    out[0]
}

/// Valid frames of every kind the pipeline handles, as mutation seeds.
fn seeds() -> Vec<(u32, Vec<u8>)> {
    let inner = udp_v4(MAC_E, VROUTER_MAC, VM_C_UDP, VM_A, 7, 1000, b"reply");
    vec![
        (
            IF_A,
            udp_v4(MAC_A, VROUTER_MAC, VM_A, VM_C_UDP, 1, 2, b"payload"),
        ),
        (
            IF_A,
            tcp_v4(MAC_A, VROUTER_MAC, VM_A, VM_D_GRE, 1, 2, TcpFlags::SYN),
        ),
        (IF_A, icmp_v4(MAC_A, VROUTER_MAC, VM_A, VM_E_VXLAN, 3)),
        (IF_A, arp_request(MAC_A, VM_A, VM_B)),
        (IF_C, udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_B, 1, 2, b"x")),
        (IF_FABRIC, mpls_udp_from_peer(LABEL_A, &inner[14..])),
        (IF_FABRIC, mpls_udp_from_peer(LABEL_P, &inner[14..])),
        (
            IF_FABRIC,
            vxlan_from_peer(VNI, &icmp_v4(MAC_E, MAC_A, VM_E_VXLAN, VM_A, 9)),
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_on_any_interface(bytes in proptest::collection::vec(any::<u8>(), 0..300), ingress in 0u32..6) {
        let (_c, dp) = topology();
        let mut w = Worker::new(dp, WorkerConfig::default());
        account(&mut w, ingress, &bytes);
    }

    #[test]
    fn mutated_valid_frames(seed in 0usize..8, flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>()) {
        let (_c, dp) = topology();
        let mut w = Worker::new(dp, WorkerConfig::default());
        let (ingress, mut f) = seeds().swap_remove(seed);
        for (at, v) in flips {
            let n = f.len();
            f[at % n] = v;
        }
        let keep = f.len() - cut % 8.min(f.len());
        account(&mut w, ingress, &f[..keep]);
    }

    #[test]
    fn wire_parsers_never_panic(b in proptest::collection::vec(any::<u8>(), 0..128)) {
        let b = &b[..];
        if let Ok(p) = EthernetFrame::new_checked(b) { let _ = (EthernetRepr::parse(&p), p.payload()); }
        if let Ok(p) = VlanPacket::new_checked(b) { let _ = (VlanRepr::parse(&p), p.payload()); }
        if let Ok(p) = ArpPacket::new_checked(b) { let _ = ArpRepr::parse(&p); }
        if let Ok(p) = Ipv4Packet::new_checked(b) { let _ = (Ipv4Repr::parse(&p), p.payload(), p.verify_checksum()); }
        if let Ok(p) = Ipv6Packet::new_checked(b) { let _ = (Ipv6Repr::parse(&p), p.upper_layer(), p.payload()); }
        if let Ok(p) = Icmpv4Packet::new_checked(b) { let _ = (Icmpv4Repr::parse(&p), p.data()); }
        if let Ok(p) = Icmpv6Packet::new_checked(b) {
            let _ = (Icmpv6Repr::parse(&p, 0), p.target_addr(), p.options());
            let _ = icmpv6::ndisc_options(p.options()).count();
        }
        if let Ok(p) = TcpPacket::new_checked(b) { let _ = (TcpRepr::parse(&p), p.payload(), p.verify_checksum(0)); }
        if let Ok(p) = UdpPacket::new_checked(b) { let _ = (UdpRepr::parse(&p), p.payload(), p.verify_checksum(0)); }
        if let Ok(p) = GrePacket::new_checked(b) { let _ = (GreRepr::parse(&p), p.payload()); }
        if let Ok(p) = MplsPacket::new_checked(b) { let _ = (MplsRepr::parse(&p), p.payload()); }
        if let Ok(p) = VxlanPacket::new_checked(b) { let _ = (VxlanRepr::parse(&p), p.payload()); }
    }

    #[test]
    fn incremental_checksum_equals_recompute(mut data in proptest::collection::vec(any::<u8>(), 2..64), at in any::<usize>(), new in any::<u16>()) {
        if data.len() % 2 == 1 { data.pop(); }
        let i = (at % (data.len() / 2)) * 2;
        let before = checksum::checksum(&data);
        let old = u16::from_be_bytes([data[i], data[i + 1]]);
        data[i..i + 2].copy_from_slice(&new.to_be_bytes());
        let after = checksum::checksum(&data);
        let inc = checksum::update16(before, old, new);
        // One's complement has two zeros: 0x0000 and 0xffff are the same sum.
        prop_assert!(inc == after || (inc ^ after) == 0xffff && (inc == 0 || after == 0));
    }
}
