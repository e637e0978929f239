//! Arbitrary bytes on every kind of interface (workload with and without flows, fabric)
//! and through every wire parser: no panic, every packet accounted for.
#![no_main]

use cirrus_dataplane::control::Controller;
use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::{Disposition, Worker, WorkerConfig};
use cirrus_dataplane::tables::{Interface, InterfaceKind, Nexthop, TunnelEncap};
use cirrus_dataplane::wire::*;
use libfuzzer_sys::fuzz_target;
use std::net::Ipv4Addr;

fn worker() -> Worker {
    let (mut c, dp) = Controller::new(8, MacAddr([0, 0, 0x5e, 0, 1, 0]));
    c.add_vrf(1).unwrap();
    let vif = |ifindex, policy| Interface {
        ifindex,
        name: format!("vm{ifindex}"),
        mac: MacAddr([2, 0, 0, 0, 0, ifindex as u8]),
        kind: InterfaceKind::Virtual { vrf: 1, ips: vec![Ipv4Addr::new(10, 0, 0, ifindex as u8).into()], policy },
        flow_limit: 0,
        fat_flows: Vec::new(),
    };
    c.set_interface(vif(1, false)).unwrap();
    c.set_interface(vif(2, true)).unwrap();
    c.set_interface(Interface {
        ifindex: 0,
        name: "fabric".into(),
        mac: MacAddr([2, 0xfa, 0, 0, 0, 1]),
        kind: InterfaceKind::Fabric { local_ip: Ipv4Addr::new(198, 18, 0, 1), gateway_mac: MacAddr([2, 0xfa, 0, 0, 0, 2]) },
        flow_limit: 0,
        fat_flows: Vec::new(),
    })
    .unwrap();
    c.set_nexthop(1, Nexthop::Encap { ifindex: 1, dmac: MacAddr([2, 0, 0, 0, 0, 1]), smac: MacAddr::ZERO }).unwrap();
    c.set_nexthop(
        2,
        Nexthop::Tunnel {
            encap: TunnelEncap::MplsOverUdp { label: 20 },
            src_ip: Ipv4Addr::new(198, 18, 0, 1),
            dst_ip: Ipv4Addr::new(198, 18, 0, 2),
            fabric_if: 0,
            dmac: MacAddr([2, 0xfa, 0, 0, 0, 2]),
            smac: MacAddr([2, 0xfa, 0, 0, 0, 1]),
        },
    )
    .unwrap();
    c.add_route(1, Ipv4Addr::new(10, 0, 0, 1).into(), 32, 1).unwrap();
    c.add_route(1, Ipv4Addr::UNSPECIFIED.into(), 0, 2).unwrap();
    c.set_label(17, 1).unwrap();
    c.commit();
    Worker::new(dp, WorkerConfig::default())
}

fuzz_target!(|data: &[u8]| {
    let mut w = worker();
    for ingress in 0..3 {
        let mut p = [PacketBuf::from_frame(data)];
        let mut out = [Disposition::Held];
        w.process_batch(1, ingress, &mut p, &mut out);
    }
    assert_eq!(w.stats.rx, 3);
    let _ = EthernetFrame::new_checked(data).map(|f| EthernetRepr::parse(&f));
    let _ = Ipv4Packet::new_checked(data).map(|p| Ipv4Repr::parse(&p));
    let _ = Ipv6Packet::new_checked(data).map(|p| p.upper_layer());
    let _ = Icmpv6Packet::new_checked(data).map(|p| Icmpv6Repr::parse(&p, 0));
    let _ = GrePacket::new_checked(data).map(|p| GreRepr::parse(&p));
    let _ = ArpPacket::new_checked(data).map(|p| ArpRepr::parse(&p));
});
