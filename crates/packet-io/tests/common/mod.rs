//! Shared by the runner tests: a two-workload VRF and an agent that proxies ARP (answers
//! every request with the vRouter MAC, as Contrail's agent does), answers expired TTLs with
//! ICMP time exceeded from the gateway, and allows every flow.
#![allow(dead_code)]

pub mod lab;
pub mod overlay;

use cirrus_dataplane::control::{Controller, Dataplane};
use cirrus_dataplane::flow::{FlowDecision, FlowSpec, Upcall};
use cirrus_dataplane::pipeline::TrapReason;
use cirrus_dataplane::pipeline::icmp_error::time_exceeded_v4;
use cirrus_dataplane::tables::{IfIndex, Interface, InterfaceKind, Nexthop};
use cirrus_dataplane::wire::*;
use cirrus_packet_io::runner::Agent;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const VROUTER_MAC: MacAddr = MacAddr([0x00, 0x00, 0x5e, 0x00, 0x01, 0x00]);
pub const MAC_A: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 3]);
pub const MAC_B: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 4]);
pub const VM_A: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 3);
pub const VM_B: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 4);
/// The workload network's gateway address (the source of the agent's ICMP errors).
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
pub const IF_A: IfIndex = 1;
pub const IF_B: IfIndex = 2;

/// VRF 1 with workloads A and B (flows on B's port when `policy`).
pub fn topology(policy: bool) -> (Controller, Dataplane) {
    let (mut c, dp) = Controller::new(16, VROUTER_MAC);
    c.add_vrf(1).unwrap();
    for (ifindex, mac, ip, nh, pol) in [
        (IF_A, MAC_A, VM_A, 1, false),
        (IF_B, MAC_B, VM_B, 2, policy),
    ] {
        c.set_interface(Interface {
            ifindex,
            name: format!("vm{ifindex}"),
            mac,
            kind: InterfaceKind::Virtual {
                vrf: 1,
                ips: vec![IpAddr::V4(ip)],
                policy: pol,
            },
            flow_limit: 0,
            fat_flows: Vec::new(),
        })
        .unwrap();
        c.set_nexthop(
            nh,
            Nexthop::Encap {
                ifindex,
                dmac: mac,
                smac: VROUTER_MAC,
            },
        )
        .unwrap();
        c.add_route(1, ip.into(), 32, nh).unwrap();
    }
    c.commit();
    (c, dp)
}

/// Proxy-ARP, allow-all agent; counts what it saw.
#[derive(Clone, Default)]
pub struct TestAgent {
    pub arps: Arc<AtomicUsize>,
    pub upcalls: Arc<AtomicUsize>,
}

impl Agent for TestAgent {
    fn upcall(&mut self, up: &Upcall) -> Option<FlowDecision> {
        self.upcalls.fetch_add(1, Ordering::Relaxed);
        Some(FlowDecision {
            index: up.index,
            key: up.key,
            forward: FlowSpec::forward(up.key.vrf()),
            reverse: Some((
                up.key.reversed(up.key.vrf()),
                FlowSpec::forward(up.key.vrf()),
            )),
        })
    }

    fn trap(
        &mut self,
        ingress: IfIndex,
        reason: TrapReason,
        frame: &[u8],
    ) -> Vec<(IfIndex, Vec<u8>)> {
        if reason == TrapReason::TtlExpired {
            // As Contrail's agent: ICMP time exceeded from the gateway, back to the sender.
            return time_exceeded_v4(frame, GATEWAY, VROUTER_MAC)
                .map(|f| vec![(ingress, f)])
                .unwrap_or_default();
        }
        if reason != TrapReason::Arp {
            return Vec::new();
        }
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return Vec::new();
        };
        let Ok(arp) = ArpPacket::new_checked(eth.payload()).and_then(|a| ArpRepr::parse(&a)) else {
            return Vec::new();
        };
        if arp.operation != ArpOperation::Request || arp.target_ip == arp.source_ip {
            return Vec::new();
        }
        self.arps.fetch_add(1, Ordering::Relaxed);
        let mut f = vec![0u8; 42];
        EthernetRepr {
            src: VROUTER_MAC,
            dst: arp.source_hw,
            ethertype: EtherType::ARP,
        }
        .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
        ArpRepr {
            operation: ArpOperation::Reply,
            source_hw: VROUTER_MAC,
            source_ip: arp.target_ip,
            target_hw: arp.source_hw,
            target_ip: arp.source_ip,
        }
        .emit(&mut f[14..]);
        vec![(ingress, f)]
    }
}

/// Ethernet + IPv4 + UDP from port 4000 to 5000 (checksum left zero: "none").
pub fn udp_v4(
    smac: MacAddr,
    dmac: MacAddr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    payload: &[u8],
) -> Vec<u8> {
    udp_v4_ports(smac, dmac, (src, 4000), (dst, 5000), payload)
}

/// Ethernet + IPv4 + UDP between the given (address, port)s.
pub fn udp_v4_ports(
    smac: MacAddr,
    dmac: MacAddr,
    (src, src_port): (Ipv4Addr, u16),
    (dst, dst_port): (Ipv4Addr, u16),
    payload: &[u8],
) -> Vec<u8> {
    let mut f = vec![0u8; 42 + payload.len()];
    EthernetRepr {
        src: smac,
        dst: dmac,
        ethertype: EtherType::IPV4,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    Ipv4Repr {
        src,
        dst,
        protocol: IpProtocol::UDP,
        payload_len: 8 + payload.len(),
        ttl: 64,
        tos: 0,
        ident: 1,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    }
    .emit(&mut f[14..34]);
    UdpRepr {
        src_port,
        dst_port,
        payload_len: payload.len(),
    }
    .emit(&mut f[34..42]);
    f[42..].copy_from_slice(payload);
    f
}
