//! Steering hashes (`pipeline::steer`): a flow's packets from the workload and its replies
//! from the fabric (MPLS over UDP or GRE, VXLAN) name the same worker, and so does the key
//! the flow table holds for them; packets without a flow name none.

mod common;

use cirrus_dataplane::flow::FlowKey;
use cirrus_dataplane::pipeline::steer::{key_steer_hash, steer_hash};
use cirrus_dataplane::wire::*;
use common::*;

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
