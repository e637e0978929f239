//! Two real agents over an in-memory fabric (see `overlay_memory.rs`): a floating IP
//! translated both ways across the overlay, and the encapsulation following the configured
//! order.

mod memory;

use memory::*;

/// A floating IP across two vrouters: a (red, on c1) has 172.16.0.5 from the public
/// network, where x (on c2) lives. x reaches a at the floating IP and a's replies come from
/// it; a's own connection to x leaves translated to it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_floating_ip_translates_both_ways_across_the_overlay() {
    const X: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 9);
    const FIP: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 5);
    const MAC_X: MacAddr = MacAddr([2, 0, 0, 0, 0, 9]);
    let mut s = ConfigStore::new();
    add_network(&mut s, "vn-red", "red", 5, "10.1.0.0/24");
    add_network(&mut s, "vn-pub", "public", 9, "172.16.0.0/24");
    add_port(&mut s, "a", "vn-red", "02:00:00:00:00:03", "10.1.0.3", &[]);
    add_port(
        &mut s,
        "x",
        "vn-pub",
        "02:00:00:00:00:09",
        "172.16.0.9",
        &[],
    );
    add_floating_ip(&mut s, "fip-a", "vn-pub", "a", "172.16.0.5");
    let dir1 = tempfile::tempdir().unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let (v1, eth1) = vrouter(1, dir1.path(), &["tap-a"]);
    let (v2, eth2) = vrouter(2, dir2.path(), &["tap-x"]);
    let _fabric = MemFabric::start(vec![fabric_node(1, &eth1), fabric_node(2, &eth2)]);
    let mut ctl = MiniController::default();
    ctl.connect(v1.run.events.clone(), 0, &s);
    ctl.connect(v2.run.events.clone(), 0, &s);
    v1.port("a");
    v2.port("x");
    let public = "d:p:public:public";
    let routed = |v: &Vrouter, p: &str| {
        let st = v.run.status.load();
        st.vrfs.iter().any(|vr| {
            vr.instance == public
                && vr
                    .routes
                    .iter()
                    .any(|r| r.prefix == p && r.nexthop.contains("to 198.18."))
        })
    };
    until(&mut ctl, "public routes both ways", &[&v1, &v2], || {
        routed(&v1, "172.16.0.9/32")
            && routed(&v2, "172.16.0.5/32")
            && v1.tunnel_ready("198.18.0.12")
            && v2.tunnel_ready("198.18.0.11")
    })
    .await;
    // c1 publishes the floating IP in the public network, with a's label.
    assert!(
        ctl.published(0, public)
            .iter()
            .any(|r| r.key.as_ref().unwrap().prefix == FIP.octets())
    );

    // x -> the floating IP: a gets it at its own address, from x.
    v2.tap("tap-x").inject(&frames::ether(
        MAC_X,
        VROUTER_MAC,
        &frames::udp_ip(X, 6000, FIP, 7000, b"in"),
    ));
    let got = collect(v1.tap("tap-a"), 1).await;
    assert_eq!(
        got.len(),
        1,
        "x reaches a at its floating IP\n{:?}",
        v1.run.stats.snapshot()
    );
    assert_eq!(parse(&got[0]), (MAC_A, VROUTER_MAC, X, A, 62, 7000));
    // a answers from its own address: x sees the floating IP.
    v1.tap("tap-a").inject(&frames::ether(
        MAC_A,
        VROUTER_MAC,
        &frames::udp_ip(A, 7000, X, 6000, b"out"),
    ));
    let got = collect(v2.tap("tap-x"), 1).await;
    assert_eq!(got.len(), 1, "a's answer reaches x");
    assert_eq!(parse(&got[0]), (MAC_X, VROUTER_MAC, FIP, X, 62, 6000));
    // a opens its own connection to x: translated too, and x's reply comes back to a.
    v1.tap("tap-a").inject(&frames::ether(
        MAC_A,
        VROUTER_MAC,
        &frames::udp_ip(A, 7100, X, 53, b"q"),
    ));
    let got = collect(v2.tap("tap-x"), 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        parse(&got[0]).2,
        FIP,
        "x sees the floating IP as the source"
    );
    v2.tap("tap-x").inject(&frames::ether(
        MAC_X,
        VROUTER_MAC,
        &frames::udp_ip(X, 53, FIP, 7100, b"r"),
    ));
    let got = collect(v1.tap("tap-a"), 1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        (parse(&got[0]).2, parse(&got[0]).3, parse(&got[0]).5),
        (X, A, 7100)
    );
    assert_eq!(
        v1.run.stats.snapshot().translated,
        2,
        "two translated flows at c1"
    );
    v1.run.stop().await;
    v2.run.stop().await;
}

/// With VXLAN first in the global encapsulation order, the same traffic crosses as VXLAN
/// (routed: the inner destination is the vrouter MAC, so the receiver routes it with
/// policy); with the default order, as MPLS over UDP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_encapsulation_follows_the_configured_order() {
    for vxlan_first in [false, true] {
        let mut s = slice();
        if vxlan_first {
            s.upsert(obj(
                "global-vrouter-config",
                "gvc",
                &["default-global-system-config", "default-global-vrouter-config"],
                json!({"encapsulation_priorities": {"encapsulation": ["VXLAN", "MPLSoUDP", "MPLSoGRE"]}}),
            ));
        }
        let dir1 = tempfile::tempdir().unwrap();
        let dir2 = tempfile::tempdir().unwrap();
        let (v1, eth1) = vrouter(1, dir1.path(), &["tap-a", "tap-c"]);
        let (v2, eth2) = vrouter(2, dir2.path(), &["tap-b"]);
        let fabric = MemFabric::start(vec![fabric_node(1, &eth1), fabric_node(2, &eth2)]);
        let mut ctl = MiniController::default();
        ctl.connect(v1.run.events.clone(), 0, &s);
        ctl.connect(v2.run.events.clone(), 0, &s);
        v1.port("a");
        v2.port("b");
        let via = if vxlan_first {
            "VXLAN vni 5"
        } else {
            "MPLSoUDP"
        };
        until(&mut ctl, via, &[&v1, &v2], || {
            v1.has_route("10.1.0.4/32", via)
                && v2.has_route("10.1.0.3/32", via)
                && v1.tunnel_ready("198.18.0.12")
                && v2.tunnel_ready("198.18.0.11")
        })
        .await;
        let (mu0, vx0) = (
            fabric.mpls_udp.load(Ordering::Relaxed),
            fabric.vxlan.load(Ordering::Relaxed),
        );
        v1.tap("tap-a").inject(&frames::ether(
            MAC_A,
            VROUTER_MAC,
            &frames::udp_ip(A, 4000, B, 5000, b"x"),
        ));
        let got = collect(v2.tap("tap-b"), 1).await;
        assert_eq!(
            got.len(),
            1,
            "{via}: a reaches b\n{:?}",
            v2.run.handle.report().map(|r| r.drops().nonzero())
        );
        assert_eq!(parse(&got[0]), (MAC_B, VROUTER_MAC, A, B, 62, 5000));
        v2.tap("tap-b").inject(&frames::ether(
            MAC_B,
            VROUTER_MAC,
            &frames::udp_ip(B, 5000, A, 4000, b"y"),
        ));
        assert_eq!(
            collect(v1.tap("tap-a"), 1).await.len(),
            1,
            "{via}: b's reply reaches a"
        );
        let (mu, vx) = (
            fabric.mpls_udp.load(Ordering::Relaxed) - mu0,
            fabric.vxlan.load(Ordering::Relaxed) - vx0,
        );
        assert_eq!(
            if vxlan_first { (mu, vx) } else { (vx, mu) },
            (0, 2),
            "{via} on the fabric"
        );
        v1.run.stop().await;
        v2.run.stop().await;
    }
}
