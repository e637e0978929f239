//! Two real agents (control task, tables, runner and workers) over an in-memory fabric,
//! driven by a message-level controller that serves the routes they publish, as the real
//! one does: workload traffic crosses the overlay as MPLS over UDP, security groups open
//! one port and not another, an active-active VIP spreads connections over a local and a
//! remote port, spoofed sources are counted drops, and a restarted agent keeps its labels
//! and carries traffic again.

use std::net::Ipv4Addr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cirrus_agent::config::ConfigStore;
use cirrus_agent::config::testing::*;
use cirrus_agent::fabric::FabricAddr;
use cirrus_agent::introspect::{self, Introspect};
use cirrus_agent::node::{AgentOptions, MemDevices, NodeEvent, Running, start};
use cirrus_agent::program::VROUTER_MAC;
use cirrus_agent::testing::controller::MiniController;
use cirrus_agent::testing::frames;
use cirrus_agent::testing::http_get;
use cirrus_agent::testing::memfabric::{FabricNode, MemFabric};
use cirrus_agent::trap::dhcp_wire::{DhcpOp, DhcpPacket, DhcpRepr, MessageType};
use cirrus_agent::trap::frame::{self, Ends};
use cirrus_dataplane::drop::DropReason;
use cirrus_dataplane::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame, EthernetRepr, Ipv4Packet, MacAddr,
    TcpFlags, TcpPacket, UdpPacket,
};
use cirrus_packet_io::memory::MemPeer;
use serde_json::json;

const A: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 3);
const B: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 4);
const C: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 5);
const VIP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 100);
const MAC_A: MacAddr = MacAddr([2, 0, 0, 0, 0, 3]);
const MAC_B: MacAddr = MacAddr([2, 0, 0, 0, 0, 4]);
const MAC_C: MacAddr = MacAddr([2, 0, 0, 0, 0, 5]);
const RED: &str = "d:p:red:red";

/// Network red; group web (8000001) and db (8000002), both open on TCP 22 to all and on
/// everything to web; ports a (web) and c (no group) on c1, b (db) on c2; a and b carry
/// the VIP as an active-active allowed address pair.
fn slice() -> ConfigStore {
    let mut s = ConfigStore::new();
    add_network(&mut s, "vn-red", "red", 5, "10.1.0.0/24");
    let rules = || {
        json!([
            acl_rule(
                "6",
                json!({"subnet": {"ip_prefix": "0.0.0.0", "ip_prefix_len": 0}}),
                json!({}),
                (22, 22),
                "pass",
                "ssh-in"
            ),
            acl_rule(
                "any",
                json!({"security_group": "8000001"}),
                json!({}),
                (-1, -1),
                "pass",
                "from-web"
            ),
        ])
    };
    let out = json!([acl_rule(
        "any",
        json!({}),
        json!({"subnet": {"ip_prefix": "0.0.0.0", "ip_prefix_len": 0}}),
        (-1, -1),
        "pass",
        "all-out"
    )]);
    add_security_group(&mut s, "sg-web", 8000001, rules(), out.clone());
    add_security_group(&mut s, "sg-db", 8000002, rules(), out);
    add_port(
        &mut s,
        "a",
        "vn-red",
        "02:00:00:00:00:03",
        "10.1.0.3",
        &["sg-web"],
    );
    add_port(
        &mut s,
        "b",
        "vn-red",
        "02:00:00:00:00:04",
        "10.1.0.4",
        &["sg-db"],
    );
    add_port(&mut s, "c", "vn-red", "02:00:00:00:00:05", "10.1.0.5", &[]);
    for p in ["a", "b"] {
        let mut o = (**s.get(p).unwrap()).clone();
        o.body.insert(
            "virtual_machine_interface_allowed_address_pairs".into(),
            json!({"allowed_address_pair": [{"ip": {"ip_prefix": "10.1.0.100", "ip_prefix_len": 32}, "address_mode": "active-active"}]}),
        );
        s.upsert(o);
    }
    s
}

struct Vrouter {
    run: Running,
    taps: Vec<(String, MemPeer)>,
}

fn fabric_addr(n: u8) -> FabricAddr {
    FabricAddr {
        ip: Ipv4Addr::new(198, 18, 0, 10 + n),
        prefix_len: 24,
        mac: MacAddr([2, 0xfa, 0, 0, 0, 10 + n]),
        gateway: None,
    }
}

fn vrouter(n: u8, dir: &std::path::Path, taps: &[&str]) -> (Vrouter, MemPeer) {
    let mut devs = MemDevices::default();
    let eth0 = devs.add("eth0");
    let taps: Vec<(String, MemPeer)> = taps.iter().map(|t| (t.to_string(), devs.add(t))).collect();
    let mut opts = AgentOptions::new(&format!("c{n}"), dir.to_path_buf(), "eth0", fabric_addr(n));
    opts.workers = 2;
    opts.manual_sessions = 2;
    let run = start(opts, Box::new(devs)).expect("agent starts");
    (Vrouter { run, taps }, eth0)
}

impl Vrouter {
    fn tap(&self, name: &str) -> &MemPeer {
        &self.taps.iter().find(|(n, _)| n == name).unwrap().1
    }
    fn port(&self, uuid: &str) {
        let _ = self.run.events.send(NodeEvent::PortAdded {
            uuid: uuid.into(),
            name: format!("tap-{uuid}"),
            enabled: true,
        });
    }
    /// Whether the tunnel to vrouter `endpoint` is programmed with its underlay MAC.
    fn tunnel_ready(&self, endpoint: &str) -> bool {
        let s = self.run.status.load();
        s.nexthops.iter().any(|n| {
            n.nexthop.ends_with(&format!("to {endpoint}")) && n.programmed.starts_with("Tunnel")
        })
    }

    fn has_route(&self, prefix: &str, via: &str) -> bool {
        let s = self.run.status.load();
        s.vrfs.iter().any(|v| {
            v.instance == RED
                && v.routes
                    .iter()
                    .any(|r| r.prefix == prefix && r.nexthop.contains(via))
        })
    }
}

/// Pumps the controller until `cond` holds (at most 10 s).
async fn until(
    ctl: &mut MiniController,
    what: &str,
    vs: &[&Vrouter],
    mut cond: impl FnMut() -> bool,
) {
    let t = Instant::now();
    while !cond() {
        if t.elapsed() > Duration::from_secs(10) {
            for v in vs {
                eprintln!(
                    "{}",
                    serde_json::to_string_pretty(&**v.run.status.load()).unwrap()
                );
            }
            panic!("timed out waiting for {what}");
        }
        ctl.pump();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Frames a tap received until `n` arrived (or 3 s passed).
async fn collect(tap: &MemPeer, n: usize) -> Vec<Vec<u8>> {
    collect_within(tap, n, Duration::from_secs(3)).await
}

/// Frames a tap received until `n` arrived or `d` passed (for what must not arrive).
async fn collect_within(tap: &MemPeer, n: usize, d: Duration) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let t = Instant::now();
    while got.len() < n && t.elapsed() < d {
        got.extend(tap.drain());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    got
}

/// (dmac, smac, src, dst, ttl, dst port) of an Ethernet/IPv4 frame.
fn parse(f: &[u8]) -> (MacAddr, MacAddr, Ipv4Addr, Ipv4Addr, u8, u16) {
    let e = EthernetFrame::new_checked(f).unwrap();
    let ip = Ipv4Packet::new_checked(e.payload()).unwrap();
    let dport = match ip.protocol().0 {
        6 => TcpPacket::new_checked(ip.payload()).unwrap().dst_port(),
        17 => UdpPacket::new_checked(ip.payload()).unwrap().dst_port(),
        _ => 0,
    };
    (
        e.dst_addr(),
        e.src_addr(),
        ip.src_addr(),
        ip.dst_addr(),
        ip.ttl(),
        dport,
    )
}

fn syn(smac: MacAddr, src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16) -> Vec<u8> {
    let mut ip = frames::tcp_ip(src, 1, dst, dport, TcpFlags::SYN, b"");
    ip[20..22].copy_from_slice(&sport.to_be_bytes());
    // The checksum no longer matches the port: the pipeline does not check it.
    frames::ether(smac, VROUTER_MAC, &ip)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_vrouters_carry_workload_traffic_as_policy_allows() {
    let dir1 = tempfile::tempdir().unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let (v1, eth1) = vrouter(1, dir1.path(), &["tap-a", "tap-c"]);
    let (v2, eth2) = vrouter(2, dir2.path(), &["tap-b"]);
    let _fabric = MemFabric::start(vec![
        FabricNode {
            peer: eth1.clone(),
            ip: fabric_addr(1).ip,
            mac: fabric_addr(1).mac,
        },
        FabricNode {
            peer: eth2.clone(),
            ip: fabric_addr(2).ip,
            mac: fabric_addr(2).mac,
        },
    ]);
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
    let _fabric = MemFabric::start(vec![
        FabricNode {
            peer: eth1.clone(),
            ip: fabric_addr(1).ip,
            mac: fabric_addr(1).mac,
        },
        FabricNode {
            peer: eth2.clone(),
            ip: fabric_addr(2).ip,
            mac: fabric_addr(2).mac,
        },
    ]);
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
    let _fabric = MemFabric::start(vec![
        FabricNode {
            peer: eth1.clone(),
            ip: fabric_addr(1).ip,
            mac: fabric_addr(1).mac,
        },
        FabricNode {
            peer: eth2.clone(),
            ip: fabric_addr(2).ip,
            mac: fabric_addr(2).mac,
        },
    ]);
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
    let _fabric = MemFabric::start(vec![
        FabricNode {
            peer: eth1.clone(),
            ip: fabric_addr(1).ip,
            mac: fabric_addr(1).mac,
        },
        FabricNode {
            peer: eth2.clone(),
            ip: fabric_addr(2).ip,
            mac: fabric_addr(2).mac,
        },
    ]);
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
        let fabric = MemFabric::start(vec![
            FabricNode {
                peer: eth1.clone(),
                ip: fabric_addr(1).ip,
                mac: fabric_addr(1).mac,
            },
            FabricNode {
                peer: eth2.clone(),
                ip: fabric_addr(2).ip,
                mac: fabric_addr(2).mac,
            },
        ]);
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
