//! Shared test topology and frame builders: one vRouter with two local workloads in VRF 1,
//! a fabric port, remote workloads over each encapsulation, an ECMP prefix and an L2
//! flood list. Addresses: underlay 198.18.0.0/15, overlay 10.1.0.0/16.
#![allow(dead_code)]

pub mod pcap;

use cirrus_dataplane::control::{Controller, Dataplane};
use cirrus_dataplane::tables::{Interface, InterfaceKind, Nexthop, TunnelEncap};
use cirrus_dataplane::wire::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const VROUTER_MAC: MacAddr = MacAddr([0x00, 0x00, 0x5e, 0x00, 0x01, 0x00]);
pub const FABRIC_MAC: MacAddr = MacAddr([0x02, 0xfa, 0, 0, 0, 1]);
pub const GATEWAY_MAC: MacAddr = MacAddr([0x02, 0xfa, 0, 0, 0, 0xfe]);
pub const MAC_A: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 3]);
pub const MAC_B: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 4]);
pub const MAC_E: MacAddr = MacAddr([0x02, 0, 0, 0, 1, 7]);
pub const LOCAL_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub const PEER1: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
pub const PEER2: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 3);
pub const VM_A: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 3);
pub const VM_B: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 4);
pub const VM_C_UDP: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 5);
pub const VM_D_GRE: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 6);
pub const VM_E_VXLAN: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 7);
pub const FIP: Ipv4Addr = Ipv4Addr::new(10, 1, 9, 9);

pub const IF_FABRIC: u32 = 0;
pub const IF_A: u32 = 1;
pub const IF_B: u32 = 2;
pub const IF_C: u32 = 3; // policy-enabled workload
pub const IF_AGENT: u32 = 4;
pub const VM_P: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 5);
pub const MAC_P: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 5]);

pub const NH_A: u32 = 1;
pub const NH_B: u32 = 2;
pub const NH_C_UDP: u32 = 3;
pub const NH_D_GRE: u32 = 4;
pub const NH_E_VXLAN: u32 = 5;
pub const NH_ECMP1: u32 = 6;
pub const NH_ECMP2: u32 = 7;
pub const NH_ECMP: u32 = 8;
pub const NH_FLOOD: u32 = 9;
pub const NH_L2VRF: u32 = 10;
pub const NH_DISCARD: u32 = 11;
pub const NH_P: u32 = 12;
pub const NH_E_L2: u32 = 13;

pub const LABEL_A: u32 = 17;
pub const LABEL_P: u32 = 19;
pub const VNI: u32 = 100;

fn tunnel(encap: TunnelEncap, dst: Ipv4Addr) -> Nexthop {
    Nexthop::Tunnel {
        encap,
        src_ip: LOCAL_IP,
        dst_ip: dst,
        fabric_if: IF_FABRIC,
        dmac: GATEWAY_MAC,
        smac: FABRIC_MAC,
    }
}

pub const V6_A: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 3);
pub const V6_REMOTE: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 5);

fn vif(ifindex: u32, name: &str, mac: MacAddr, ip: Ipv4Addr, policy: bool) -> Interface {
    let mut ips = vec![IpAddr::V4(ip)];
    if ip == VM_A {
        ips.push(IpAddr::V6(V6_A));
    }
    Interface {
        ifindex,
        name: name.into(),
        mac,
        kind: InterfaceKind::Virtual {
            vrf: 1,
            ips,
            policy,
        },
        flow_limit: 0,
        fat_flows: Vec::new(),
    }
}

/// Programs the standard topology and commits it.
pub fn topology() -> (Controller, Dataplane) {
    let (mut c, dp) = Controller::new(64, VROUTER_MAC);
    c.add_vrf(1).unwrap();
    c.set_interface(Interface {
        ifindex: IF_FABRIC,
        name: "eth0".into(),
        mac: FABRIC_MAC,
        kind: InterfaceKind::Fabric {
            local_ip: LOCAL_IP,
            gateway_mac: GATEWAY_MAC,
        },
        flow_limit: 0,
        fat_flows: Vec::new(),
    })
    .unwrap();
    c.set_interface(vif(IF_A, "tap-a", MAC_A, VM_A, false))
        .unwrap();
    c.set_interface(vif(IF_B, "tap-b", MAC_B, VM_B, false))
        .unwrap();
    c.set_interface(vif(IF_C, "tap-p", MAC_P, VM_P, true))
        .unwrap();
    c.set_interface(Interface {
        ifindex: IF_AGENT,
        name: "pkt0".into(),
        mac: MacAddr::ZERO,
        kind: InterfaceKind::Agent,
        flow_limit: 0,
        fat_flows: Vec::new(),
    })
    .unwrap();
    c.set_nexthop(
        NH_A,
        Nexthop::Encap {
            ifindex: IF_A,
            dmac: MAC_A,
            smac: VROUTER_MAC,
        },
    )
    .unwrap();
    c.set_nexthop(
        NH_B,
        Nexthop::Encap {
            ifindex: IF_B,
            dmac: MAC_B,
            smac: VROUTER_MAC,
        },
    )
    .unwrap();
    c.set_nexthop(
        NH_P,
        Nexthop::Encap {
            ifindex: IF_C,
            dmac: MAC_P,
            smac: VROUTER_MAC,
        },
    )
    .unwrap();
    c.set_nexthop(
        NH_C_UDP,
        tunnel(TunnelEncap::MplsOverUdp { label: 33 }, PEER1),
    )
    .unwrap();
    c.set_nexthop(
        NH_D_GRE,
        tunnel(TunnelEncap::MplsOverGre { label: 34 }, PEER1),
    )
    .unwrap();
    c.set_nexthop(
        NH_E_VXLAN,
        tunnel(
            TunnelEncap::Vxlan {
                vni: VNI,
                inner_dmac: MAC_E,
            },
            PEER1,
        ),
    )
    .unwrap();
    c.set_nexthop(
        NH_E_L2,
        tunnel(
            TunnelEncap::Vxlan {
                vni: VNI,
                inner_dmac: MAC_E,
            },
            PEER2,
        ),
    )
    .unwrap();
    c.set_nexthop(
        NH_ECMP1,
        tunnel(TunnelEncap::MplsOverUdp { label: 41 }, PEER1),
    )
    .unwrap();
    c.set_nexthop(
        NH_ECMP2,
        tunnel(TunnelEncap::MplsOverUdp { label: 42 }, PEER2),
    )
    .unwrap();
    c.set_nexthop(
        NH_ECMP,
        Nexthop::Composite {
            members: vec![NH_ECMP1, NH_ECMP2],
        },
    )
    .unwrap();
    c.set_nexthop(
        NH_FLOOD,
        Nexthop::Flood {
            members: vec![NH_A, NH_B, NH_E_L2],
        },
    )
    .unwrap();
    c.set_nexthop(NH_L2VRF, Nexthop::VrfTranslate { vrf: 1 })
        .unwrap();
    c.set_nexthop(NH_DISCARD, Nexthop::Discard).unwrap();
    let r =
        |c: &mut Controller, a: Ipv4Addr, l: u8, nh: u32| c.add_route(1, a.into(), l, nh).unwrap();
    r(&mut c, VM_A, 32, NH_A);
    r(&mut c, VM_B, 32, NH_B);
    r(&mut c, VM_P, 32, NH_P);
    r(&mut c, VM_C_UDP, 32, NH_C_UDP);
    r(&mut c, VM_D_GRE, 32, NH_D_GRE);
    r(&mut c, VM_E_VXLAN, 32, NH_E_VXLAN);
    r(&mut c, Ipv4Addr::new(10, 1, 2, 0), 24, NH_ECMP);
    r(&mut c, Ipv4Addr::new(10, 66, 0, 0), 16, NH_DISCARD);
    c.add_route(1, V6_A.into(), 128, NH_A).unwrap();
    c.add_route(1, V6_REMOTE.into(), 128, NH_C_UDP).unwrap();
    c.add_bridge_entry(1, MAC_A, NH_A).unwrap();
    c.add_bridge_entry(1, MAC_B, NH_B).unwrap();
    c.add_bridge_entry(1, MAC_E, NH_E_L2).unwrap();
    c.add_bridge_entry(1, MacAddr::BROADCAST, NH_FLOOD).unwrap();
    c.set_label(LABEL_A, NH_A).unwrap();
    c.set_label(LABEL_P, NH_P).unwrap();
    c.set_vni(VNI, NH_L2VRF).unwrap();
    c.commit();
    (c, dp)
}

/// Ethernet + IPv4 + UDP with valid checksums.
pub fn udp_v4(
    smac: MacAddr,
    dmac: MacAddr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    l4_v4(
        smac,
        dmac,
        src,
        dst,
        IpProtocol::UDP,
        |b| {
            UdpRepr {
                src_port: sport,
                dst_port: dport,
                payload_len: payload.len(),
            }
            .emit(b);
            b[8..].copy_from_slice(payload);
        },
        8 + payload.len(),
    )
}

/// Ethernet + IPv4 + TCP (no options) with valid checksums.
pub fn tcp_v4(
    smac: MacAddr,
    dmac: MacAddr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    flags: u16,
) -> Vec<u8> {
    l4_v4(
        smac,
        dmac,
        src,
        dst,
        IpProtocol::TCP,
        |b| {
            TcpRepr {
                src_port: sport,
                dst_port: dport,
                seq: 1,
                ack: 0,
                flags: TcpFlags(flags),
                window: 512,
            }
            .emit(b);
        },
        20,
    )
}

/// Ethernet + IPv4 + ICMP echo request.
pub fn icmp_v4(smac: MacAddr, dmac: MacAddr, src: Ipv4Addr, dst: Ipv4Addr, ident: u16) -> Vec<u8> {
    let mut f = l4_v4(
        smac,
        dmac,
        src,
        dst,
        IpProtocol::ICMP,
        |b| {
            Icmpv4Repr::echo(true, ident, 1, 8).emit(b);
            b[8..].copy_from_slice(b"cirrus!!");
        },
        16,
    );
    Icmpv4Packet::new_unchecked(&mut f[34..]).fill_checksum();
    f
}

fn l4_v4(
    smac: MacAddr,
    dmac: MacAddr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: IpProtocol,
    fill: impl FnOnce(&mut [u8]),
    l4_len: usize,
) -> Vec<u8> {
    let mut f = vec![0u8; 34 + l4_len];
    EthernetRepr {
        src: smac,
        dst: dmac,
        ethertype: EtherType::IPV4,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    Ipv4Repr {
        src,
        dst,
        protocol: proto,
        payload_len: l4_len,
        ttl: 64,
        tos: 0,
        ident: 0x1234,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    }
    .emit(&mut f[14..34]);
    fill(&mut f[34..]);
    let ph = checksum::pseudo_v4(src, dst, proto.0, l4_len as u32);
    match proto {
        IpProtocol::UDP => UdpPacket::new_unchecked(&mut f[34..]).fill_checksum(ph),
        IpProtocol::TCP => TcpPacket::new_unchecked(&mut f[34..]).fill_checksum(ph),
        _ => {}
    }
    f
}

/// Ethernet + ARP request from `smac`/`sip` for `tip`.
pub fn arp_request(smac: MacAddr, sip: Ipv4Addr, tip: Ipv4Addr) -> Vec<u8> {
    let mut f = vec![0u8; 42];
    EthernetRepr {
        src: smac,
        dst: MacAddr::BROADCAST,
        ethertype: EtherType::ARP,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    ArpRepr {
        operation: ArpOperation::Request,
        source_hw: smac,
        source_ip: sip,
        target_hw: MacAddr::ZERO,
        target_ip: tip,
    }
    .emit(&mut f[14..]);
    f
}

/// A packet as a remote vRouter would send it to us over MPLS over UDP.
pub fn mpls_udp_from_peer(label: u32, inner_ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 8 + 4 + inner_ip.len()];
    EthernetRepr {
        src: GATEWAY_MAC,
        dst: FABRIC_MAC,
        ethertype: EtherType::IPV4,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    Ipv4Repr {
        src: PEER1,
        dst: LOCAL_IP,
        protocol: IpProtocol::UDP,
        payload_len: 12 + inner_ip.len(),
        ttl: 64,
        tos: 0,
        ident: 0,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    }
    .emit(&mut f[14..34]);
    UdpRepr {
        src_port: 50000,
        dst_port: 6635,
        payload_len: 4 + inner_ip.len(),
    }
    .emit(&mut f[34..42]);
    MplsRepr {
        label,
        tc: 0,
        bottom_of_stack: true,
        ttl: 64,
    }
    .emit(&mut f[42..46]);
    f[46..].copy_from_slice(inner_ip);
    f
}

/// A VXLAN packet from a peer carrying `inner_frame`.
pub fn vxlan_from_peer(vni: u32, inner_frame: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 8 + 8 + inner_frame.len()];
    EthernetRepr {
        src: GATEWAY_MAC,
        dst: FABRIC_MAC,
        ethertype: EtherType::IPV4,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    Ipv4Repr {
        src: PEER2,
        dst: LOCAL_IP,
        protocol: IpProtocol::UDP,
        payload_len: 16 + inner_frame.len(),
        ttl: 64,
        tos: 0,
        ident: 0,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    }
    .emit(&mut f[14..34]);
    UdpRepr {
        src_port: 50001,
        dst_port: 4789,
        payload_len: 8 + inner_frame.len(),
    }
    .emit(&mut f[34..42]);
    VxlanRepr { vni }.emit(&mut f[42..50]);
    f[50..].copy_from_slice(inner_frame);
    f
}

/// Ethernet + IPv6 + UDP with a valid checksum.
pub fn udp_v6(
    smac: MacAddr,
    dmac: MacAddr,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let l4_len = 8 + payload.len();
    let mut f = vec![0u8; 54 + l4_len];
    EthernetRepr {
        src: smac,
        dst: dmac,
        ethertype: EtherType::IPV6,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    Ipv6Repr {
        src,
        dst,
        next_header: IpProtocol::UDP,
        payload_len: l4_len,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 7,
    }
    .emit(&mut f[14..54]);
    UdpRepr {
        src_port: sport,
        dst_port: dport,
        payload_len: payload.len(),
    }
    .emit(&mut f[54..62]);
    f[62..].copy_from_slice(payload);
    let ph = checksum::pseudo_v6(&src, &dst, 17, l4_len as u32);
    UdpPacket::new_unchecked(&mut f[54..]).fill_checksum(ph);
    f
}

/// A packet as a remote vRouter would send it to us over MPLS over GRE.
pub fn mpls_gre_from_peer(label: u32, inner_ip: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 4 + 4 + inner_ip.len()];
    EthernetRepr {
        src: GATEWAY_MAC,
        dst: FABRIC_MAC,
        ethertype: EtherType::IPV4,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    Ipv4Repr {
        src: PEER1,
        dst: LOCAL_IP,
        protocol: IpProtocol::GRE,
        payload_len: 8 + inner_ip.len(),
        ttl: 64,
        tos: 0,
        ident: 0,
        dont_frag: false,
        more_frags: false,
        frag_offset: 0,
    }
    .emit(&mut f[14..34]);
    GreRepr {
        protocol: EtherType::MPLS,
        key: None,
        seq: None,
    }
    .emit(&mut f[34..38]);
    MplsRepr {
        label,
        tc: 0,
        bottom_of_stack: true,
        ttl: 64,
    }
    .emit(&mut f[38..42]);
    f[42..].copy_from_slice(inner_ip);
    f
}
