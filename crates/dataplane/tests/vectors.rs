//! Parses every frame of the tcpdump captures in `../shared/vectors/tcpdump/tests` with
//! the wire types (descending through VLAN, MPLS, GRE, UDP tunnels), checks the fields
//! tcpdump's decodings state, and feeds every frame to both pipeline ingress paths: no
//! panic, every packet accounted for. Without the vectors folder each test is a visible skip
//! (a failure under `CI=true`).

mod common;

use cirrus_dataplane::drop::DropReason;
use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::{Disposition, Worker, WorkerConfig};
use cirrus_dataplane::wire::*;
use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};
use std::path::{Path, PathBuf};

/// tcpdump's test captures, or a visible skip (a failure under CI) naming `test`.
fn vectors_dir(test: &str) -> Option<PathBuf> {
    cirrus_testkit::vectors("tcpdump/tests", &format!("{}::{test}", module_path!()))
}

/// Frames of a capture as (link type, bytes).
fn frames(path: &Path) -> Vec<(u32, Vec<u8>)> {
    let file = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    if path.extension().is_some_and(|e| e == "pcapng") {
        let mut r = PcapNgReader::new(&file[..]).unwrap();
        let mut links = Vec::new();
        while let Some(b) = r.next_block() {
            match b {
                Ok(Block::InterfaceDescription(i)) => links.push(u32::from(i.linktype)),
                Ok(Block::EnhancedPacket(p)) => out.push((
                    links.get(p.interface_id as usize).copied().unwrap_or(1),
                    p.data.to_vec(),
                )),
                Ok(Block::SimplePacket(p)) => {
                    out.push((links.first().copied().unwrap_or(1), p.data.to_vec()))
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    } else {
        let mut r = PcapReader::new(&file[..]).unwrap();
        let link = u32::from(r.header().datalink);
        while let Some(p) = r.next_packet() {
            match p {
                Ok(p) => out.push((link, p.data.to_vec())),
                Err(_) => break,
            }
        }
    }
    out
}

#[derive(Default, Debug)]
struct Summary {
    labels: Vec<(u32, bool, u8)>,
    vnis: Vec<u32>,
    gre_keys: Vec<Option<u32>>,
    arp: Vec<std::result::Result<ArpRepr, WireError>>,
    fragments: usize,
    icmpv6: Vec<std::result::Result<Icmpv6Repr, WireError>>,
    udp_ports: Vec<(u16, u16)>,
    errors: Vec<WireError>,
}

const MAX_DEPTH: usize = 8;

fn eth(b: &[u8], s: &mut Summary, depth: usize) {
    match EthernetFrame::new_checked(b) {
        Ok(f) => ethertype(f.ethertype(), f.payload(), s, depth + 1),
        Err(e) => s.errors.push(e),
    }
}

fn ethertype(t: EtherType, p: &[u8], s: &mut Summary, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    match t {
        EtherType::IPV4 => ipv4(p, s, depth),
        EtherType::IPV6 => ipv6(p, s, depth),
        EtherType::ARP => s
            .arp
            .push(ArpPacket::new_checked(p).and_then(|a| ArpRepr::parse(&a))),
        EtherType::VLAN | EtherType::QINQ => match VlanPacket::new_checked(p) {
            Ok(v) => ethertype(v.ethertype(), v.payload(), s, depth + 1),
            Err(e) => s.errors.push(e),
        },
        EtherType::MPLS => mpls(p, s, depth),
        EtherType::TEB => eth(p, s, depth),
        _ => {}
    }
}

fn ip_any(p: &[u8], s: &mut Summary, depth: usize) {
    match p.first().map(|b| b >> 4) {
        Some(4) => ipv4(p, s, depth),
        Some(6) => ipv6(p, s, depth),
        _ => {}
    }
}

fn mpls(mut p: &[u8], s: &mut Summary, depth: usize) {
    for _ in 0..16 {
        match MplsPacket::new_checked(p) {
            Ok(m) => {
                s.labels.push((m.label(), m.bottom_of_stack(), m.ttl()));
                p = &p[4..];
                if m.bottom_of_stack() {
                    return ip_any(p, s, depth + 1);
                }
            }
            Err(e) => return s.errors.push(e),
        }
    }
}

fn ipv4(p: &[u8], s: &mut Summary, depth: usize) {
    let ip = match Ipv4Packet::new_checked(p) {
        Ok(ip) => ip,
        Err(e) => return s.errors.push(e),
    };
    if let Err(e) = Ipv4Repr::parse(&ip) {
        s.errors.push(e);
    }
    if ip.is_fragment() {
        s.fragments += 1;
        if ip.frag_offset() != 0 {
            return;
        }
    }
    let pseudo = checksum::pseudo_v4(
        ip.src_addr(),
        ip.dst_addr(),
        ip.protocol().0,
        ip.payload().len() as u32,
    );
    l4(ip.protocol(), ip.payload(), pseudo, s, depth + 1);
}

fn ipv6(p: &[u8], s: &mut Summary, depth: usize) {
    let ip = match Ipv6Packet::new_checked(p) {
        Ok(ip) => ip,
        Err(e) => return s.errors.push(e),
    };
    let ul = match ip.upper_layer() {
        Ok(u) => u,
        Err(e) => return s.errors.push(e),
    };
    if ul.fragment.is_some() {
        s.fragments += 1;
        return;
    }
    let body = &p[ul.offset..40 + ip.payload_len() as usize];
    let pseudo = checksum::pseudo_v6(
        &ip.src_addr(),
        &ip.dst_addr(),
        ul.protocol.0,
        body.len() as u32,
    );
    l4(ul.protocol, body, pseudo, s, depth + 1);
}

fn l4(proto: IpProtocol, b: &[u8], pseudo: u32, s: &mut Summary, depth: usize) {
    match proto {
        IpProtocol::UDP => match UdpPacket::new_checked(b) {
            Ok(u) => {
                s.udp_ports.push((u.src_port(), u.dst_port()));
                match u.dst_port() {
                    6635 => mpls(u.payload(), s, depth),
                    4789 => match VxlanPacket::new_checked(u.payload()) {
                        Ok(v) => {
                            s.vnis.push(v.vni());
                            eth(v.payload(), s, depth);
                        }
                        Err(e) => s.errors.push(e),
                    },
                    _ => {}
                }
            }
            Err(e) => s.errors.push(e),
        },
        IpProtocol::TCP => {
            if let Err(e) = TcpPacket::new_checked(b).and_then(|t| TcpRepr::parse(&t)) {
                s.errors.push(e)
            }
        }
        IpProtocol::GRE => match GrePacket::new_checked(b) {
            Ok(g) => {
                s.gre_keys.push(g.key());
                ethertype(g.protocol(), g.payload(), s, depth);
            }
            Err(e) => s.errors.push(e),
        },
        IpProtocol::ICMP => {
            if let Err(e) = Icmpv4Packet::new_checked(b).and_then(|i| Icmpv4Repr::parse(&i)) {
                s.errors.push(e)
            }
        }
        IpProtocol::ICMPV6 => s
            .icmpv6
            .push(Icmpv6Packet::new_checked(b).and_then(|i| Icmpv6Repr::parse(&i, pseudo))),
        _ => {}
    }
}

fn summarize(link: u32, f: &[u8]) -> Summary {
    let mut s = Summary::default();
    match link {
        1 => eth(f, &mut s, 0),
        101 => ip_any(f, &mut s, 0),
        // Linux cooked capture: 16-byte header ending in the Ethernet type.
        113 if f.len() >= 16 => ethertype(
            EtherType(u16::from_be_bytes([f[14], f[15]])),
            &f[16..],
            &mut s,
            0,
        ),
        // PPP in HDLC framing (ff 03) then the PPP protocol; 0x0021 is IPv4.
        9 if f.len() >= 4 && f[2..4] == [0x00, 0x21] => ipv4(&f[4..], &mut s, 0),
        _ => {}
    }
    s
}

fn all(dir: &Path, name: &str) -> Vec<Summary> {
    frames(&dir.join(name))
        .iter()
        .map(|(l, f)| summarize(*l, f))
        .collect()
}

#[test]
fn every_capture_parses_without_panic_and_runs_through_the_pipeline() {
    let Some(dir) = vectors_dir("every_capture_parses_without_panic_and_runs_through_the_pipeline")
    else {
        return;
    };
    let (_c, dp) = common::topology();
    let mut w = Worker::new(dp, WorkerConfig::default());
    let mut total = 0u64;
    let mut drops = 0u64;
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path
            .extension()
            .is_some_and(|e| e == "pcap" || e == "pcapng")
        {
            continue;
        }
        files += 1;
        for (link, f) in frames(&path) {
            let _ = summarize(link, &f);
            for ingress in [common::IF_A, common::IF_FABRIC, common::IF_C] {
                let mut p = [PacketBuf::from_frame(&f)];
                let mut out = [Disposition::Held];
                w.process_batch(1, ingress, &mut p, &mut out);
                total += 1;
                drops += matches!(out[0], Disposition::Drop(_)) as u64;
            }
            w.take_extra();
        }
    }
    assert!(files >= 30, "only {files} captures found");
    assert_eq!(w.stats.rx, total);
    assert_eq!(w.drops.total(), drops, "every drop is counted by reason");
    assert!(w.drops.get(DropReason::Malformed) > 0);
    println!(
        "{files} captures, {total} packets, drops {:?}",
        w.drops.nonzero()
    );
}

#[test]
fn mpls_over_udp_labels_match_tcpdump() {
    let Some(dir) = vectors_dir("mpls_over_udp_labels_match_tcpdump") else {
        return;
    };
    let s = all(&dir, "mpls-over-udp.pcap");
    let labels: Vec<_> = s.iter().flat_map(|s| s.labels.clone()).collect();
    // tcpdump: "MPLS (label 21, tc 0, [S], ttl 63)" and label 46, over UDP 6635.
    assert_eq!(labels, vec![(21, true, 63), (46, true, 63)]);
    assert!(s.iter().all(|s| s.errors.is_empty()), "{s:?}");
    let sports: Vec<_> = s.iter().map(|s| s.udp_ports[0].0).collect();
    assert_ne!(sports[0], sports[1], "entropy source ports vary");
}

#[test]
fn vxlan_vni_matches_tcpdump() {
    let Some(dir) = vectors_dir("vxlan_vni_matches_tcpdump") else {
        return;
    };
    let s = all(&dir, "vxlan.pcap");
    assert_eq!(s.len(), 10);
    assert!(s.iter().all(|s| s.vnis == vec![100]));
    assert_eq!(
        s.iter().filter(|s| !s.arp.is_empty()).count(),
        2,
        "ARP request and reply inside"
    );
    assert!(s.iter().all(|s| s.arp.iter().all(|a| a.is_ok())));
}

#[test]
fn gre_keys_arp_icmpv6_fragments_match_tcpdump() {
    let Some(dir) = vectors_dir("gre_keys_arp_icmpv6_fragments_match_tcpdump") else {
        return;
    };
    let gre = all(&dir, "various_gre.pcap");
    assert!(
        gre.iter().any(|s| s.gre_keys.contains(&Some(0x28))),
        "GRE key 0x28"
    );
    // arp-too-long-tha: hardware length 14 is refused, not misread.
    let arp = all(&dir, "arp-too-long-tha.pcap");
    assert!(arp.iter().all(|s| s.arp.iter().all(|a| a.is_err())) && !arp[0].arp.is_empty());
    // icmpv6: a router advertisement with a valid checksum.
    let ra = all(&dir, "icmpv6.pcap");
    assert!(
        ra.iter()
            .flat_map(|s| &s.icmpv6)
            .any(|r| matches!(r, Ok(Icmpv6Repr::Ndisc(NdiscRepr::RouterAdvert { .. }))))
    );
    let ns = all(&dir, "icmpv6-ns-nonce.pcap");
    assert!(
        ns.iter()
            .flat_map(|s| &s.icmpv6)
            .any(|r| matches!(r, Ok(Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit { .. }))))
    );
    // afs.pcap: 200 of 601 frames are IPv4 fragments (tcpdump rx-v).
    let afs = all(&dir, "afs.pcap");
    assert_eq!(afs.len(), 601);
    assert_eq!(afs.iter().map(|s| s.fragments).sum::<usize>(), 200);
    // DHCP: four messages between ports 67 and 68.
    let dhcp = all(&dir, "dhcp-rfc3004.pcap");
    assert_eq!(
        dhcp.iter()
            .filter(|s| s.udp_ports.iter().any(|p| p.0 == 67 || p.1 == 67))
            .count(),
        4
    );
    // The malformed IPv6 fragment header is an error or a fragment, never a panic.
    let _ = all(&dir, "ipv6_frag6_negative_len.pcap");
}
