//! Steering hashes (`pipeline::steer`): a flow's packets from the workload and its replies
//! from the fabric (MPLS over UDP or GRE, VXLAN) name the same worker, and so does the key
//! the flow table holds for them; packets without a flow name none. Fat flows steer as
//! their aggregated key, and a datagram's later fragments follow its first to the flow's
//! worker when the steering records fragments.

mod common;

use cirrus_dataplane::flow::FlowKey;
use cirrus_dataplane::pipeline::FragTable;
use cirrus_dataplane::pipeline::steer::{key_steer_hash, steer_hash, steer_hash_tracking};
use cirrus_dataplane::tables::{FatFlow, Interface, InterfaceKind};
use cirrus_dataplane::wire::*;
use common::*;
use std::net::IpAddr;

#[test]
fn workload_packets_and_their_overlay_replies_steer_alike() {
    let (_c, dp) = topology();
    let t = dp.load();
    let out = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_C_UDP, 3000, 53, b"query");
    let reply = udp_v4(MAC_E, VROUTER_MAC, VM_C_UDP, VM_P, 53, 3000, b"answer");
    let h = steer_hash(&t, IF_C, &out).expect("a flow");
    let key = FlowKey::new(1, IpProtocol::UDP, VM_P.into(), VM_C_UDP.into(), 3000, 53);
    assert_eq!(key_steer_hash(&key), h);
    for (what, f) in [
        ("mpls/udp", mpls_udp_from_peer(LABEL_P, &reply[14..])),
        ("mpls/gre", mpls_gre_from_peer(LABEL_P, &reply[14..])),
        ("vxlan", vxlan_from_peer(VNI, &reply)),
    ] {
        assert_eq!(steer_hash(&t, IF_FABRIC, &f), Some(h), "{what}");
    }
    // Another flow of the same hosts steers on its own.
    let other = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_C_UDP, 3001, 53, b"query");
    assert_ne!(steer_hash(&t, IF_C, &other), Some(h));
    // No flow: ARP, overlay for an unknown label, garbage.
    assert_eq!(steer_hash(&t, IF_C, &arp_request(MAC_P, VM_P, VM_A)), None);
    let unknown = mpls_udp_from_peer(999, &reply[14..]);
    assert_eq!(steer_hash(&t, IF_FABRIC, &unknown), None);
    assert_eq!(steer_hash(&t, IF_C, &[0u8; 7]), None);
}

#[test]
fn fat_flows_steer_as_their_aggregated_key() {
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
        fat_flows: vec![FatFlow {
            proto: 17,
            port: 53,
        }],
    })
    .unwrap();
    c.commit();
    let t = dp.load();
    // The one flow the table holds for all client ports.
    let fat = FlowKey::new(1, IpProtocol::UDP, VM_P.into(), VM_C_UDP.into(), 0, 53);
    let h = key_steer_hash(&fat);
    for sport in [40000, 40001, 50000] {
        let out = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_C_UDP, sport, 53, b"q");
        assert_eq!(steer_hash(&t, IF_C, &out), Some(h), "query from {sport}");
        let reply = udp_v4(MAC_E, VROUTER_MAC, VM_C_UDP, VM_P, 53, sport, b"a");
        for (what, f) in [
            ("mpls/udp", mpls_udp_from_peer(LABEL_P, &reply[14..])),
            ("mpls/gre", mpls_gre_from_peer(LABEL_P, &reply[14..])),
            ("routed vxlan", vxlan_from_peer(VNI, &reply)),
        ] {
            assert_eq!(steer_hash(&t, IF_FABRIC, &f), Some(h), "{what} to {sport}");
        }
    }
    // Other ports and other workloads are not aggregated.
    let other = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_C_UDP, 40000, 54, b"q");
    assert_ne!(steer_hash(&t, IF_C, &other), Some(h));
    let plain = udp_v4(MAC_A, VROUTER_MAC, VM_A, VM_C_UDP, 40000, 53, b"q");
    let key = FlowKey::new(1, IpProtocol::UDP, VM_A.into(), VM_C_UDP.into(), 40000, 53);
    assert_eq!(steer_hash(&t, IF_A, &plain), Some(key_steer_hash(&key)));
}

/// A fragment of the UDP datagram `ident` from P to C (ports 7000 -> 7001).
fn fragment(ident: u16, offset: u16, more: bool) -> Vec<u8> {
    let mut f = udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_C_UDP, 7000, 7001, &[0u8; 32]);
    f[18..20].copy_from_slice(&ident.to_be_bytes());
    let fo = ((more as u16) << 13) | (offset / 8);
    f[20..22].copy_from_slice(&fo.to_be_bytes());
    Ipv4Packet::new_unchecked(&mut f[14..]).fill_checksum();
    f
}

#[test]
fn later_fragments_follow_the_first_to_the_flows_worker() {
    let (_c, dp) = topology();
    let t = dp.load();
    let key = FlowKey::new(1, IpProtocol::UDP, VM_P.into(), VM_C_UDP.into(), 7000, 7001);
    let flow = key_steer_hash(&key);
    let (first, later) = (fragment(1, 0, true), fragment(1, 40, false));

    // Stateless: the fragments stay together, on an address-only hash.
    let s1 = steer_hash(&t, IF_C, &first);
    assert_eq!(s1, steer_hash(&t, IF_C, &later));
    assert_ne!(s1, Some(flow));

    // Tracking: both go where the flow's unfragmented packets go.
    let mut frags = FragTable::new(2);
    assert_eq!(
        steer_hash_tracking(&t, IF_C, &first, &mut frags, 0),
        Some(flow)
    );
    assert_eq!(
        steer_hash_tracking(&t, IF_C, &later, &mut frags, 1),
        Some(flow)
    );
    // A later fragment whose first was never seen, or whose record expired, cannot be
    // keyed: it stays on the address-only hash (its worker drops it, counted).
    let orphan = fragment(9, 40, false);
    assert_eq!(steer_hash_tracking(&t, IF_C, &orphan, &mut frags, 1), s1);
    assert_eq!(steer_hash_tracking(&t, IF_C, &later, &mut frags, 100), s1);

    // Full of live records: a new datagram is steered whole on the address-only hash,
    // where its first fragment records its ports in the worker that gets them all.
    let mut full = FragTable::new(1);
    assert!(full.record((1, 2, 3, 17), 1, 2, 0));
    assert_eq!(steer_hash_tracking(&t, IF_C, &first, &mut full, 0), s1);
    assert_eq!(steer_hash_tracking(&t, IF_C, &later, &mut full, 0), s1);
}
