//! Any frame under any trap reason, on a dual-stack port with a neighbour: no panic, and
//! every answer is an Ethernet frame from a unicast MAC.
#![no_main]

use cirrus_agent::trap::{self, CONTRAIL_VROUTER_MAC, PortView, TrapContext};
use cirrus_dataplane::pipeline::TrapReason;
use cirrus_dataplane::wire::{EthernetFrame, MacAddr};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};

fuzz_target!(|data: &[u8]| {
    let mut v = PortView::new(1, MacAddr([2, 0, 0, 0, 0, 3]), CONTRAIL_VROUTER_MAC);
    v.ipv4 = Some((Ipv4Addr::new(10, 1, 0, 3), 24));
    v.gateway4 = Some(Ipv4Addr::new(10, 1, 0, 1));
    v.ipv6 = Some(("fd00::3".parse().unwrap(), 64));
    v.gateway6 = Some("fd00::1".parse().unwrap());
    v.mtu = Some(1500);
    let neighbors = |a: IpAddr| match a {
        IpAddr::V4(a) if a.octets()[..3] == [10, 1, 0] => Some(CONTRAIL_VROUTER_MAC),
        IpAddr::V6(a) if a.segments()[0] == 0xfd00 => Some(CONTRAIL_VROUTER_MAC),
        _ => None,
    };
    let ctx = TrapContext { neighbors: &neighbors };
    for reason in [
        TrapReason::Arp,
        TrapReason::Dhcp,
        TrapReason::Ndisc,
        TrapReason::Host,
        TrapReason::TtlExpired,
    ] {
        for f in trap::handle(&v, reason, data, &ctx).replies {
            let e = EthernetFrame::new_checked(&f[..]).unwrap();
            assert!(!e.src_addr().is_multicast());
        }
    }
});
