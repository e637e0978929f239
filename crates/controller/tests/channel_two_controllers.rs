//! Two `cirrus-controller`s on one etcd, meshed over iBGP; every simulated vrouter holds a
//! session to each (as agents do) and publishes to both. Each session sees every route once
//! (the iBGP copy of a route a controller also has directly is not a second next hop); a
//! vrouter connected to A alone still reaches B's vrouters through iBGP; stopping A keeps
//! every route on every vrouter's B session, unchanged.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use cirrus_control::testing::SimVrouter;
use cirrus_store::testing::EtcdServer;
use common::Controller;
use common::channel::{host_route, instance, network, port, runtime, vrouter, wait};

#[test]
fn stopping_one_controller_keeps_every_vrouters_routes() {
    let etcd = EtcdServer::start().expect("etcd");
    let store = etcd.spec();
    let a = Controller::start("cn-a", Ipv4Addr::new(127, 0, 7, 11), Some(&store));
    let b = Controller::start("cn-b", Ipv4Addr::new(127, 0, 7, 12), Some(&store));
    network(&a, "red", "10.1.0.0/24", &["target:64512:8106"], &[]);
    let hosts = ["c1", "c2", "c3"];
    for (i, h) in hosts.iter().enumerate() {
        port(
            &a,
            "red",
            &format!("p{i}"),
            h,
            &format!("10.1.0.{}", 10 + i),
        );
    }
    port(&a, "red", "p9", "c9", "10.1.0.99");
    let red = instance("red");
    let up =
        |c: &Controller, ip: Ipv4Addr| c.neighbor(ip).is_some_and(|n| n["state"] == "Established");
    common::wait_for(
        "A-B iBGP Established",
        Duration::from_secs(40),
        || up(&a, Ipv4Addr::new(127, 0, 7, 12)) && up(&b, Ipv4Addr::new(127, 0, 7, 11)),
        || format!("{}\n{}", a.log(), b.log()),
    );

    let rt = runtime();
    let mut on_a: Vec<SimVrouter> = Vec::new();
    let mut on_b: Vec<SimVrouter> = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        let last = 11 + i as u8;
        let route = [host_route(&format!("10.1.0.{}", 10 + i), 20 + i as u32)];
        for (c, list) in [(&a, &mut on_a), (&b, &mut on_b)] {
            let v = vrouter(&rt, c, h, last, &[&red]);
            v.publish(&red, &route, true);
            list.push(v);
        }
    }
    // c9 talks to A only: B's vrouters learn its route through iBGP.
    let c9 = vrouter(&rt, &a, "c9", 99, &[&red]);
    c9.publish(&red, &[host_route("10.1.0.99", 99)], true);
    for (c, list) in [(&a, &on_a), (&b, &on_b)] {
        for v in list {
            wait(&rt, c, v, "every route, one next hop each", |s| {
                s.count(&red) == 4 && s.counts[&red].values().all(|n| *n == 1)
            });
        }
    }
    on_b[0].with(|s| {
        assert_eq!(
            s.next_hops(&red, "10.1.0.99"),
            vec![(IpAddr::from([198, 18, 0, 99]), 99)]
        );
        assert_eq!(
            s.route(&red, "10.1.0.99").unwrap().nexthops[0].origin,
            "bgp:127.0.7.11"
        );
        assert_eq!(
            s.next_hops(&red, "10.1.0.11"),
            vec![(IpAddr::from([198, 18, 0, 12]), 21)]
        );
    });
    c9.close();
    for v in &on_b {
        wait(&rt, &b, v, "c9's route gone", |s| s.count(&red) == 3);
    }

    a.stop();
    for v in &on_a {
        rt.block_on(v.wait("A's sessions ended", Duration::from_secs(20), |s| {
            s.ended.is_some()
        }))
        .unwrap();
    }
    // B keeps serving every route, and nothing was withdrawn in between.
    let before: Vec<usize> = on_b.iter().map(|v| v.with(|s| s.route_updates)).collect();
    std::thread::sleep(Duration::from_secs(2));
    for (v, n) in on_b.iter().zip(before) {
        v.with(|s| {
            assert_eq!(s.count(&red), 3, "{:?}", s.counts);
            assert!(s.ended.is_none(), "B's session ended: {:?}", s.ended);
            assert_eq!(s.route_updates, n, "B sent route changes after A stopped");
            for (i, _) in hosts.iter().enumerate() {
                assert_eq!(
                    s.next_hops(&red, &format!("10.1.0.{}", 10 + i)),
                    vec![(IpAddr::from([198, 18, 0, 11 + i as u8]), 20 + i as u32)]
                );
            }
        });
    }
    let vr = b.vrouters();
    assert_eq!(
        vr["vrouters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["state"] == "established")
            .count(),
        3,
        "{vr}"
    );
}
