//! What flow setup reads from the first packet of a flow beyond its key: the workload's
//! source MAC (anti-spoofing), the MPLS label or VNI it arrived with from the fabric (which
//! local port it is for), and the TCP flags of the inner segment (a flow first seen on an
//! established connection). Malformed frames give `None`: the flow is refused and counted.

use cirrus_dataplane::tables::{MPLS_UDP_PORT, VXLAN_UDP_PORT};
use cirrus_dataplane::wire::{
    EtherType, EthernetFrame, GrePacket, IpProtocol, Ipv4Packet, MacAddr, MplsPacket, TcpFlags,
    TcpPacket, UdpPacket, VxlanPacket,
};

/// What a first packet says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstPacket {
    /// Source MAC of the workload frame (the inner frame for VXLAN; `None` for MPLS, which
    /// carries bare IP).
    pub smac: Option<MacAddr>,
    pub label: Option<u32>,
    pub vni: Option<u32>,
    pub tcp: Option<TcpFlags>,
}

fn tcp_flags(ip: &[u8]) -> Option<TcpFlags> {
    match ip.first()? >> 4 {
        4 => {
            let p = Ipv4Packet::new_checked(ip).ok()?;
            if p.protocol() != IpProtocol::TCP || p.frag_offset() != 0 {
                return None;
            }
            TcpPacket::new_checked(p.payload()).ok().map(|t| t.flags())
        }
        6 => {
            // Next header right after the fixed header only (extension headers: no flags).
            if ip.len() < 40 || ip[6] != 6 {
                return None;
            }
            TcpPacket::new_checked(&ip[40..]).ok().map(|t| t.flags())
        }
        _ => None,
    }
}

/// A frame a workload sent (Ethernet, then IP).
pub fn from_workload(frame: &[u8]) -> Option<FirstPacket> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    match eth.ethertype() {
        EtherType::IPV4 => {
            Ipv4Packet::new_checked(eth.payload()).ok()?;
        }
        EtherType::IPV6 if eth.payload().len() >= 40 => {}
        _ => return None,
    }
    Some(FirstPacket {
        smac: Some(eth.src_addr()),
        label: None,
        vni: None,
        tcp: tcp_flags(eth.payload()),
    })
}

/// An overlay frame from the fabric (Ethernet, IPv4, then MPLS over UDP or GRE, or VXLAN).
pub fn from_fabric(frame: &[u8]) -> Option<FirstPacket> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EtherType::IPV4 {
        return None;
    }
    let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
    let l4 = 14 + ip.header_len();
    let end = (14 + ip.total_len() as usize).min(frame.len());
    let mpls_at = match ip.protocol() {
        IpProtocol::UDP => {
            let udp = UdpPacket::new_checked(frame.get(l4..end)?).ok()?;
            match udp.dst_port() {
                MPLS_UDP_PORT => l4 + 8,
                VXLAN_UDP_PORT => {
                    let vx = VxlanPacket::new_checked(frame.get(l4 + 8..end)?).ok()?;
                    let vni = vx.vni();
                    let inner = EthernetFrame::new_checked(frame.get(l4 + 16..end)?).ok()?;
                    return Some(FirstPacket {
                        smac: Some(inner.src_addr()),
                        label: None,
                        vni: Some(vni),
                        tcp: tcp_flags(frame.get(l4 + 30..end)?),
                    });
                }
                _ => return None,
            }
        }
        IpProtocol::GRE => {
            l4 + GrePacket::new_checked(frame.get(l4..end)?)
                .ok()?
                .header_len()
        }
        _ => return None,
    };
    let label = MplsPacket::new_checked(frame.get(mpls_at..end)?)
        .ok()?
        .label();
    Some(FirstPacket {
        smac: None,
        label: Some(label),
        vni: None,
        tcp: tcp_flags(frame.get(mpls_at + 4..end)?),
    })
}

/// A segment of an established connection: ACK without SYN (Contrail's TCP-ACK flow).
pub fn is_tcp_ack(f: Option<TcpFlags>) -> bool {
    f.is_some_and(|f| f.ack() && !f.syn())
}
