//! Shared by the in-memory end-to-end tests: real agents (control task, tables, runner)
//! over in-memory devices joined by an in-memory fabric, driven by a message-level
//! controller; the slice they serve, and helpers to wait, collect and read frames.
#![allow(dead_code, unused_imports)]

pub use std::net::Ipv4Addr;
pub use std::sync::atomic::Ordering;
pub use std::time::{Duration, Instant};

pub use cirrus_agent::config::ConfigStore;
pub use cirrus_agent::config::testing::*;
pub use cirrus_agent::fabric::FabricAddr;
pub use cirrus_agent::introspect::{self, Introspect};
pub use cirrus_agent::node::{AgentOptions, MemDevices, NodeEvent, Running, start};
pub use cirrus_agent::program::VROUTER_MAC;
pub use cirrus_agent::testing::controller::MiniController;
pub use cirrus_agent::testing::frames;
pub use cirrus_agent::testing::http_get;
pub use cirrus_agent::testing::memfabric::{FabricNode, MemFabric};
pub use cirrus_agent::trap::dhcp_wire::{DhcpOp, DhcpPacket, DhcpRepr, MessageType};
pub use cirrus_agent::trap::frame::{self, Ends};
pub use cirrus_dataplane::drop::DropReason;
pub use cirrus_dataplane::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame, EthernetRepr, Ipv4Packet, MacAddr,
    TcpFlags, TcpPacket, UdpPacket,
};
pub use cirrus_packet_io::memory::MemPeer;
pub use serde_json::json;

pub const A: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 3);
pub const B: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 4);
pub const C: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 5);
pub const VIP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 100);
pub const MAC_A: MacAddr = MacAddr([2, 0, 0, 0, 0, 3]);
pub const MAC_B: MacAddr = MacAddr([2, 0, 0, 0, 0, 4]);
pub const MAC_C: MacAddr = MacAddr([2, 0, 0, 0, 0, 5]);
pub const RED: &str = "d:p:red:red";

/// Network red; group web (8000001) and db (8000002), both open on TCP 22 to all and on
/// everything to web; ports a (web) and c (no group) on c1, b (db) on c2; a and b carry
/// the VIP as an active-active allowed address pair.
pub fn slice() -> ConfigStore {
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

pub struct Vrouter {
    pub run: Running,
    pub taps: Vec<(String, MemPeer)>,
}

pub fn fabric_addr(n: u8) -> FabricAddr {
    FabricAddr {
        ip: Ipv4Addr::new(198, 18, 0, 10 + n),
        prefix_len: 24,
        mac: MacAddr([2, 0xfa, 0, 0, 0, 10 + n]),
        gateway: None,
    }
}

/// Vrouter `n`'s place on the in-memory fabric, `eth` the peer of its fabric port.
pub fn fabric_node(n: u8, eth: &MemPeer) -> FabricNode {
    let a = fabric_addr(n);
    FabricNode {
        peer: eth.clone(),
        ip: a.ip,
        mac: a.mac,
    }
}

pub fn vrouter(n: u8, dir: &std::path::Path, taps: &[&str]) -> (Vrouter, MemPeer) {
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
    pub fn tap(&self, name: &str) -> &MemPeer {
        &self.taps.iter().find(|(n, _)| n == name).unwrap().1
    }
    pub fn port(&self, uuid: &str) {
        let _ = self.run.events.send(NodeEvent::PortAdded {
            uuid: uuid.into(),
            name: format!("tap-{uuid}"),
            enabled: true,
        });
    }
    /// Whether the tunnel to vrouter `endpoint` is programmed with its underlay MAC.
    pub fn tunnel_ready(&self, endpoint: &str) -> bool {
        let s = self.run.status.load();
        s.nexthops.iter().any(|n| {
            n.nexthop.ends_with(&format!("to {endpoint}")) && n.programmed.starts_with("Tunnel")
        })
    }

    pub fn has_route(&self, prefix: &str, via: &str) -> bool {
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
pub async fn until(
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
pub async fn collect(tap: &MemPeer, n: usize) -> Vec<Vec<u8>> {
    collect_within(tap, n, Duration::from_secs(3)).await
}

/// Frames a tap received until `n` arrived or `d` passed (for what must not arrive).
pub async fn collect_within(tap: &MemPeer, n: usize, d: Duration) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let t = Instant::now();
    while got.len() < n && t.elapsed() < d {
        got.extend(tap.drain());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    got
}

/// (dmac, smac, src, dst, ttl, dst port) of an Ethernet/IPv4 frame.
pub fn parse(f: &[u8]) -> (MacAddr, MacAddr, Ipv4Addr, Ipv4Addr, u8, u16) {
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

pub fn syn(smac: MacAddr, src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16) -> Vec<u8> {
    let mut ip = frames::tcp_ip(src, 1, dst, dport, TcpFlags::SYN, b"");
    ip[20..22].copy_from_slice(&sport.to_be_bytes());
    // The checksum no longer matches the port: the pipeline does not check it.
    frames::ether(smac, VROUTER_MAC, &ip)
}
