//! Tables changed continuously while packets flow never misforward: a writer keeps
//! rewriting nexthops (label and peer change together) and adding/removing a more
//! specific route, while two workers on other threads forward packets and check that
//! every output is one of the nexthop versions whole (label matches its peer address),
//! and that the route choice matches a state that really existed.

mod common;

use cirrus_dataplane::drop::DropReason;
use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::{Disposition, Worker, WorkerConfig};
use cirrus_dataplane::tables::{Nexthop, TunnelEncap};
use common::*;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const NH_WIDE: u32 = 100;
const NH_NARROW: u32 = 101;
const COMMITS: u32 = 3000;

/// Version `v` of nexthop `base`: label and peer both derived from (base, v), so a torn
/// nexthop would show a label that does not match its outer destination.
fn version(base: u32, v: u32) -> Nexthop {
    let label = base * 10_000 + (v % 5000);
    Nexthop::Tunnel {
        encap: TunnelEncap::MplsOverUdp { label },
        src_ip: LOCAL_IP,
        dst_ip: peer_for(label),
        fabric_if: IF_FABRIC,
        dmac: GATEWAY_MAC,
        smac: FABRIC_MAC,
    }
}

fn peer_for(label: u32) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, (label % 250) as u8, (label / 10_000) as u8)
}

#[test]
fn table_changes_while_forwarding_never_misforward() {
    let (mut c, dp) = topology();
    c.set_nexthop(NH_WIDE, version(NH_WIDE, 0)).unwrap();
    c.set_nexthop(NH_NARROW, version(NH_NARROW, 0)).unwrap();
    c.add_route(1, Ipv4Addr::new(10, 1, 3, 0).into(), 24, NH_WIDE)
        .unwrap();
    c.commit();
    let done = Arc::new(AtomicBool::new(false));

    let readers: Vec<_> = (0..2)
        .map(|r| {
            let dp = dp.clone();
            let done = done.clone();
            std::thread::spawn(move || {
                let mut w = Worker::new(dp, WorkerConfig::default());
                let mut checked = 0u64;
                // Bounded: stops when the writer is done, or after a fixed number of rounds.
                for round in 0..2_000_000u64 {
                    if done.load(Ordering::Relaxed) && round > 1000 {
                        break;
                    }
                    let dst = Ipv4Addr::new(10, 1, 3, if round % 2 == 0 { 200 } else { 10 });
                    let f = udp_v4(MAC_A, VROUTER_MAC, VM_A, dst, 1000 + r, 80, b"x");
                    let mut p = [PacketBuf::from_frame(&f)];
                    let mut out = [Disposition::Held];
                    w.process_batch(1, IF_A, &mut p, &mut out);
                    assert_eq!(
                        out[0],
                        Disposition::Tx(IF_FABRIC),
                        "packet to {dst} not forwarded"
                    );
                    let d = p[0].data();
                    let outer_dst = Ipv4Addr::new(d[30], d[31], d[32], d[33]);
                    let label = u32::from_be_bytes([0, d[42], d[43], d[44]]) >> 4;
                    assert_eq!(
                        outer_dst,
                        peer_for(label),
                        "torn nexthop: label {label} to {outer_dst}"
                    );
                    let base = label / 10_000;
                    // .10 is only covered by the /24; .200 by the /25 when it exists.
                    if dst.octets()[3] == 10 {
                        assert_eq!(base, NH_WIDE, "10.1.3.10 misrouted via {base}");
                    } else {
                        assert!(base == NH_WIDE || base == NH_NARROW);
                    }
                    checked += 1;
                }
                assert_eq!(w.drops.get(DropReason::NoRoute), 0);
                checked
            })
        })
        .collect();

    for v in 1..=COMMITS {
        c.set_nexthop(NH_WIDE, version(NH_WIDE, v)).unwrap();
        c.set_nexthop(NH_NARROW, version(NH_NARROW, v)).unwrap();
        if v % 2 == 0 {
            c.add_route(1, Ipv4Addr::new(10, 1, 3, 128).into(), 25, NH_NARROW)
                .unwrap();
        } else if v > 1 {
            c.delete_route(1, Ipv4Addr::new(10, 1, 3, 128).into(), 25)
                .unwrap();
        }
        c.commit();
    }
    done.store(true, Ordering::Relaxed);
    let checked: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(checked > 2000, "only {checked} packets checked");
}
