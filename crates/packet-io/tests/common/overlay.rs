//! Two vRouters joined by a fabric: each with one policy-enabled workload and a route to
//! the other's over MPLS over UDP (shared by the veth and in-memory overlay tests).

use super::VROUTER_MAC;
use cirrus_dataplane::control::{Controller, Dataplane};
use cirrus_dataplane::tables::{IfIndex, Interface, InterfaceKind, Nexthop, TunnelEncap};
use cirrus_dataplane::wire::MacAddr;
use std::net::{IpAddr, Ipv4Addr};

pub const IF_FABRIC: IfIndex = 0;
pub const IF_VM: IfIndex = 1;
pub const FABRIC_MAC_1: MacAddr = MacAddr([0x02, 0xfa, 0, 0, 0, 1]);
pub const FABRIC_MAC_2: MacAddr = MacAddr([0x02, 0xfa, 0, 0, 0, 2]);

/// One vRouter: its workload (mac/ip, reached by `label`) and the remote workload behind
/// `peer` (reached with `peer_label`).
#[allow(clippy::too_many_arguments)]
pub fn vrouter(
    local: Ipv4Addr,
    my_mac: MacAddr,
    peer: Ipv4Addr,
    peer_mac: MacAddr,
    vm: (MacAddr, Ipv4Addr, u32),
    remote: (Ipv4Addr, u32),
) -> (Controller, Dataplane) {
    let (mut c, dp) = Controller::new(16, VROUTER_MAC);
    c.add_vrf(1).unwrap();
    c.set_interface(Interface {
        ifindex: IF_FABRIC,
        name: "fabric".into(),
        mac: my_mac,
        kind: InterfaceKind::Fabric {
            local_ip: local,
            gateway_mac: peer_mac,
        },
        flow_limit: 0,
        fat_flows: Vec::new(),
    })
    .unwrap();
    c.set_interface(Interface {
        ifindex: IF_VM,
        name: "vm".into(),
        mac: vm.0,
        kind: InterfaceKind::Virtual {
            vrf: 1,
            ips: vec![IpAddr::V4(vm.1)],
            policy: true,
        },
        flow_limit: 0,
        fat_flows: Vec::new(),
    })
    .unwrap();
    c.set_nexthop(
        1,
        Nexthop::Encap {
            ifindex: IF_VM,
            dmac: vm.0,
            smac: VROUTER_MAC,
        },
    )
    .unwrap();
    c.set_nexthop(
        2,
        Nexthop::Tunnel {
            encap: TunnelEncap::MplsOverUdp { label: remote.1 },
            src_ip: local,
            dst_ip: peer,
            fabric_if: IF_FABRIC,
            dmac: peer_mac,
            smac: my_mac,
        },
    )
    .unwrap();
    c.add_route(1, vm.1.into(), 32, 1).unwrap();
    c.add_route(1, remote.0.into(), 32, 2).unwrap();
    c.set_label(vm.2, 1).unwrap();
    c.commit();
    (c, dp)
}
