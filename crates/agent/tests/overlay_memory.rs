//! Two real agents (control task, tables, runner and workers) over an in-memory fabric,
//! driven by a message-level controller that serves the routes they publish, as the real
//! one does: workload traffic crosses the overlay as MPLS over UDP, security groups open
//! one port and not another, an active-active VIP spreads connections over a local and a
//! remote port, spoofed sources are counted drops, and a restarted agent keeps its labels
//! and carries traffic again; losing one of two controllers changes nothing.

mod memory;

use memory::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_vrouters_carry_workload_traffic_as_policy_allows() {
    let dir1 = tempfile::tempdir().unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let (v1, eth1) = vrouter(1, dir1.path(), &["tap-a", "tap-c"]);
    let (v2, eth2) = vrouter(2, dir2.path(), &["tap-b"]);
    let _fabric = MemFabric::start(vec![fabric_node(1, &eth1), fabric_node(2, &eth2)]);
    let slice = slice();
    let mut ctl = MiniController::default();
    ctl.connect(v1.run.events.clone(), 0, &slice);
    ctl.connect(v2.run.events.clone(), 0, &slice);
    v1.port("a");
    v1.port("c");
    v2.port("b");
    until(
        &mut ctl,
        "routes to the other vrouter's ports, resolved",
        &[&v1, &v2],
        || {
            v1.has_route("10.1.0.4/32", "MPLSoUDP")
                && v2.has_route("10.1.0.3/32", "MPLSoUDP")
                && v1.tunnel_ready("198.18.0.12")
                && v2.tunnel_ready("198.18.0.11")
        },
    )
    .await;

    // What c1 published: one route per address, this vrouter as next hop, a's label and
    // group, the network as origin; the VIP from both a and b.
    let pubs = ctl.published(0, RED);
    let a_route = pubs
        .iter()
        .find(|r| r.key.as_ref().unwrap().prefix == A.octets())
        .unwrap();
    assert_eq!(a_route.nexthops.len(), 1);
    assert_eq!(a_route.nexthops[0].address, fabric_addr(1).ip.octets());
    assert!(a_route.nexthops[0].label >= 16);
    assert_eq!(
        (
            a_route.origin_network.as_str(),
            a_route.security_groups.clone()
        ),
        ("d:p:red", vec![8000001])
    );
    assert!(
        ctl.published(1, RED)
            .iter()
            .any(|r| r.key.as_ref().unwrap().prefix == VIP.octets())
    );
    let a_label = a_route.nexthops[0].label;

    // The workload's network services: DHCP offers a its address, gateway and DNS; ARP
    // for b is answered with the vrouter MAC; a ping of the gateway is answered.
    let disc = DhcpRepr {
        op: DhcpOp::Request,
        message_type: MessageType::Discover,
        xid: 7,
        broadcast: true,
        client_hw: MAC_A,
        ..DhcpRepr::default()
    };
    let ends = Ends {
        src_mac: MAC_A,
        dst_mac: MacAddr::BROADCAST,
        src: Ipv4Addr::UNSPECIFIED,
        dst: Ipv4Addr::BROADCAST,
    };
    v1.tap("tap-a")
        .inject(&frame::udp4_frame(ends, 68, 67, disc.buffer_len(), |b| {
            disc.emit(&mut DhcpPacket::new_unchecked(b))
        }));
    let got = collect(v1.tap("tap-a"), 1).await;
    assert_eq!(got.len(), 1, "a DHCP answer");
    let ip = frame::ipv4(&got[0]).unwrap().unwrap();
    let offer =
        DhcpRepr::parse(&DhcpPacket::new_checked(frame::udp4(&ip).unwrap().payload).unwrap())
            .unwrap();
    assert_eq!(
        (
            offer.message_type,
            offer.yiaddr,
            offer.routers.clone(),
            offer.dns_servers.clone(),
            offer.subnet_mask
        ),
        (
            MessageType::Offer,
            A,
            vec![Ipv4Addr::new(10, 1, 0, 1)],
            vec![Ipv4Addr::new(10, 1, 0, 2)],
            Some(Ipv4Addr::new(255, 255, 255, 0))
        )
    );
    let mut arp = vec![0u8; 42];
    EthernetRepr {
        src: MAC_A,
        dst: MacAddr::BROADCAST,
        ethertype: EtherType::ARP,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut arp[..]));
    ArpRepr {
        operation: ArpOperation::Request,
        source_hw: MAC_A,
        source_ip: A,
        target_hw: MacAddr::ZERO,
        target_ip: B,
    }
    .emit(&mut arp[14..]);
    v1.tap("tap-a").inject(&arp);
    let got = collect(v1.tap("tap-a"), 1).await;
    let reply = ArpRepr::parse(&ArpPacket::new_checked(&got[0][14..]).unwrap()).unwrap();
    assert_eq!(
        (reply.operation, reply.source_ip, reply.source_hw),
        (ArpOperation::Reply, B, VROUTER_MAC)
    );
    v1.tap("tap-a").inject(&frames::ether(
        MAC_A,
        VROUTER_MAC,
        &frames::echo_ip(A, Ipv4Addr::new(10, 1, 0, 1), 9, 1),
    ));
    let got = collect(v1.tap("tap-a"), 1).await;
    assert_eq!(got.len(), 1, "the gateway answers a ping");
    let (dmac, _, src, dst, _, _) = parse(&got[0]);
    assert_eq!(
        (dmac, src, dst, got[0][34]),
        (MAC_A, Ipv4Addr::new(10, 1, 0, 1), A, 0),
        "an echo reply"
    );

    // a -> b over the overlay and back (b's group takes anything from web).
    v1.tap("tap-a").inject(&frames::ether(
        MAC_A,
        VROUTER_MAC,
        &frames::udp_ip(A, 4000, B, 5000, b"ping"),
    ));
    let got = collect(v2.tap("tap-b"), 1).await;
    assert_eq!(got.len(), 1, "a's datagram reaches b");
    assert_eq!(parse(&got[0]), (MAC_B, VROUTER_MAC, A, B, 62, 5000));
    v2.tap("tap-b").inject(&frames::ether(
        MAC_B,
        VROUTER_MAC,
        &frames::udp_ip(B, 5000, A, 4000, b"pong"),
    ));
    let got = collect(v1.tap("tap-a"), 1).await;
    assert_eq!(got.len(), 1, "b's reply reaches a");
    assert_eq!(parse(&got[0]), (MAC_A, VROUTER_MAC, B, A, 62, 4000));

    // c (no group) to b: 22 is open, 80 is not (refused at b's vrouter by b's group).
    v1.tap("tap-c").inject(&syn(MAC_C, C, 40000, B, 22));
    v1.tap("tap-c").inject(&syn(MAC_C, C, 40001, B, 80));
    let got = collect_within(v2.tap("tap-b"), 2, Duration::from_millis(700)).await;
    assert_eq!(got.iter().map(|f| parse(f).5).collect::<Vec<_>>(), vec![22]);
    let s2 = v2.run.stats.snapshot();
    assert_eq!(s2.by_reason.get("security-group"), Some(&1), "{s2:?}");
    // Introspect shows it, with the rule (no rule matched: the implicit deny).
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let at = l.local_addr().unwrap();
    let intro = Introspect::of(&v2.run);
    tokio::spawn(introspect::serve(intro, l, std::future::pending()));
    let (code, drops) = http_get(at, "/drops").await;
    assert_eq!(code, 200);
    assert_eq!(
        drops["flow_setup"]["by_rule"]["implicit-deny"]["flows"], 1,
        "{drops}"
    );
    assert_eq!(
        drops["pipeline"]["FlowPolicy"], 1,
        "the held packet is dropped by the flow: {drops}"
    );
    let (_, routes) = http_get(at, "/routes?instance=d:p:red:red").await;
    let r = routes["routes"].as_array().unwrap();
    assert!(
        r.iter()
            .any(|x| x["prefix"] == "10.1.0.3/32"
                && x["nexthop"].as_str().unwrap().contains("MPLSoUDP")),
        "{routes}"
    );
    let (_, flows) = http_get(at, "/flows").await;
    assert!(flows["matched"].as_u64().unwrap() >= 4, "{flows}");
    assert_eq!(http_get(at, "/routes").await.0, 400);
    let (_, services) = http_get(at, "/services").await;
    assert_eq!(services["traps"]["dhcp_offers"], 0, "{services}");
    let (_, ports) = http_get(at, "/ports").await;
    assert_eq!(
        ports["ports"][0]["addresses"],
        json!(["10.1.0.4", "10.1.0.100"])
    );

    // Connections to the VIP from c spread over a (local) and b (remote).
    for sport in 1000..1016u16 {
        v1.tap("tap-c").inject(&syn(MAC_C, C, sport, VIP, 22));
    }
    let mut at_a = Vec::new();
    let mut at_b = Vec::new();
    let t = Instant::now();
    while at_a.len() + at_b.len() < 16 && t.elapsed() < Duration::from_secs(3) {
        at_a.extend(v1.tap("tap-a").drain());
        at_b.extend(v2.tap("tap-b").drain());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(
        at_a.len() + at_b.len(),
        16,
        "every connection reaches one of the two"
    );
    assert!(
        !at_a.is_empty() && !at_b.is_empty(),
        "both carry some: {} / {}",
        at_a.len(),
        at_b.len()
    );

    // Spoofing: c with a's address is dropped by the pipeline; c with b's MAC is refused.
    v1.tap("tap-c").inject(&frames::ether(
        MAC_C,
        VROUTER_MAC,
        &frames::udp_ip(A, 1, B, 2, b"x"),
    ));
    v1.tap("tap-c").inject(&frames::ether(
        MAC_B,
        VROUTER_MAC,
        &frames::udp_ip(C, 1, B, 2, b"x"),
    ));
    let t = Instant::now();
    loop {
        let drops = v1.run.handle.report().unwrap().drops();
        let s1 = v1.run.stats.snapshot();
        if drops.get(DropReason::SourceMismatch) == 1
            && s1.by_reason.get("source-mac-mismatch") == Some(&1)
        {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "spoofs not counted: {drops:?} {s1:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        collect_within(v2.tap("tap-b"), 1, Duration::from_millis(500))
            .await
            .is_empty(),
        "no spoofed packet reached b"
    );

    // c1 restarts on its state dir: same label, traffic again.
    let Vrouter { run, taps: _ } = v1;
    run.stop().await;
    drop(_fabric);
    let (v1, eth1) = vrouter(1, dir1.path(), &["tap-a", "tap-c"]);
    let _fabric = MemFabric::start(vec![fabric_node(1, &eth1), fabric_node(2, &eth2)]);
    let mut ctl2 = MiniController::default();
    ctl2.connect(v1.run.events.clone(), 0, &slice);
    ctl2.connect(v2.run.events.clone(), 1, &slice);
    v1.port("a");
    v1.port("c");
    until(&mut ctl2, "c1 back with its routes", &[&v1], || {
        v1.has_route("10.1.0.4/32", "MPLSoUDP") && v1.tunnel_ready("198.18.0.12")
    })
    .await;
    let again = ctl2.published(0, RED);
    let a_again = again
        .iter()
        .find(|r| r.key.as_ref().unwrap().prefix == A.octets())
        .unwrap();
    assert_eq!(
        a_again.nexthops[0].label, a_label,
        "a keeps its label across the restart"
    );
    v1.tap("tap-a").inject(&frames::ether(
        MAC_A,
        VROUTER_MAC,
        &frames::udp_ip(A, 4001, B, 5001, b"again"),
    ));
    assert_eq!(
        collect(v2.tap("tap-b"), 1).await.len(),
        1,
        "traffic after the restart"
    );
    v1.run.stop().await;
    v2.run.stop().await;
}

/// Two controllers serve the same routes; one goes: nothing changes for forwarding (its
/// routes stay, stale, in the union); it comes back and resends: its stale copies go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_one_of_two_controllers_changes_nothing() {
    let dir1 = tempfile::tempdir().unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let (v1, eth1) = vrouter(1, dir1.path(), &["tap-a", "tap-c"]);
    let (v2, eth2) = vrouter(2, dir2.path(), &["tap-b"]);
    let _fabric = MemFabric::start(vec![fabric_node(1, &eth1), fabric_node(2, &eth2)]);
    let slice = slice();
    let (mut m0, mut m1) = (MiniController::default(), MiniController::default());
    for v in [&v1, &v2] {
        m0.connect(v.run.events.clone(), 0, &slice);
        m1.connect(v.run.events.clone(), 1, &slice);
    }
    v1.port("a");
    v2.port("b");
    let both = |m0: &mut MiniController, m1: &mut MiniController| {
        m0.pump();
        m1.pump();
    };
    let t = Instant::now();
    while !(v1.has_route("10.1.0.4/32", "MPLSoUDP")
        && v1.tunnel_ready("198.18.0.12")
        && v2.tunnel_ready("198.18.0.11"))
    {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{}",
            serde_json::to_string(&**v1.run.status.load()).unwrap()
        );
        both(&mut m0, &mut m1);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let send = |n: u16| {
        v1.tap("tap-a").inject(&frames::ether(
            MAC_A,
            VROUTER_MAC,
            &frames::udp_ip(A, 4000 + n, B, 5000, b"x"),
        ));
    };
    send(0);
    assert_eq!(collect(v2.tap("tap-b"), 1).await.len(), 1);

    // Controller 0 goes away for both vrouters.
    m0.disconnect(0);
    m0.disconnect(1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    m1.pump();
    let s = v1.run.status.load();
    assert!(s.rib.stale_marked > 0, "{:?}", s.rib);
    assert!(
        s.controllers[0].routes_stale > 0 && s.controllers[1].routes_stale == 0,
        "{:?}",
        s.controllers
    );
    assert!(v1.has_route("10.1.0.4/32", "MPLSoUDP"), "the route stays");
    send(1);
    assert_eq!(
        collect(v2.tap("tap-b"), 1).await.len(),
        1,
        "traffic goes on"
    );

    // It comes back and resends everything: nothing is stale any more.
    let mut m0 = MiniController::default();
    for v in [&v1, &v2] {
        m0.connect(v.run.events.clone(), 0, &slice);
    }
    let t = Instant::now();
    let fresh = |v: &Vrouter| {
        let s = v.run.status.load();
        s.controllers[0].routes_stale == 0 && s.controllers[0].routes_received > 0
    };
    while !(fresh(&v1) && fresh(&v2)) {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{:?}",
            v1.run.status.load().controllers
        );
        both(&mut m0, &mut m1);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    send(2);
    assert_eq!(
        collect(v2.tap("tap-b"), 1).await.len(),
        1,
        "traffic after the return"
    );
    v1.run.stop().await;
    v2.run.stop().await;
}
