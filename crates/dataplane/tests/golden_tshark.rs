//! Golden tests: the frames each pipeline path emits are written to a pcap and dissected by
//! tshark, a dissector we did not write; the test asserts the dissected fields.
//! Needs `tshark` (Debian package `tshark`); the test fails with that advice when missing.

mod common;

use cirrus_dataplane::flow::{FlowDecision, FlowKey, FlowSpec};
use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::{Disposition, TrapReason, Worker, WorkerConfig};
use cirrus_dataplane::wire::*;
use common::*;
use std::net::Ipv4Addr;
use std::process::Command;

const FIELDS: &[&str] = &[
    "eth.dst",
    "eth.src",
    "ip.src",
    "ip.dst",
    "ip.ttl",
    "ip.proto",
    "udp.dstport",
    "mpls.label",
    "mpls.bottom",
    "gre.proto",
    "vxlan.vni",
    "arp.opcode",
    "ip.flags.mf",
    "ip.frag_offset",
    "udp.srcport",
    "ip.checksum.status",
    "udp.checksum.status",
    "tcp.flags.syn",
    "_ws.expert",
];

fn run(w: &mut Worker, ingress: u32, frame: &[u8]) -> (Disposition, Vec<u8>) {
    let mut p = [PacketBuf::from_frame(frame)];
    let mut out = [Disposition::Held];
    w.process_batch(100, ingress, &mut p, &mut out);
    (out[0], p[0].data().to_vec())
}

fn emitted(w: &mut Worker, ingress: u32, frame: &[u8], want: Disposition) -> Vec<u8> {
    let (d, out) = run(w, ingress, frame);
    assert_eq!(d, want);
    out
}

/// Dissects `frames` with tshark; one map of field -> value per frame.
fn dissect(name: &str, frames: &[Vec<u8>]) -> Vec<std::collections::HashMap<&'static str, String>> {
    let dir = std::env::temp_dir().join(format!("cirrus-dataplane-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.pcap"));
    common::pcap::write(&path, frames).unwrap();
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-r"]).arg(&path).args([
        "-d",
        "udp.port==6635,mpls",
        "-o",
        "ip.check_checksum:TRUE",
        "-o",
        "udp.check_checksum:TRUE",
        "-T",
        "fields",
        "-E",
        "separator=\t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=,",
    ]);
    for f in FIELDS {
        cmd.args(["-e", f]);
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!(
            "tshark could not run ({e}): install it with `apt-get install tshark` (scripts/install-test-deps.sh does)"
        ),
    };
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    eprintln!("{name}:\n{text}");
    let _ = std::fs::remove_dir_all(&dir);
    text.lines()
        .map(|l| {
            FIELDS
                .iter()
                .copied()
                .zip(l.split('\t').map(str::to_string))
                .collect()
        })
        .collect()
}

/// A minimal BOOTP/DHCP Discover from MAC_A (RFC 2131 layout, magic cookie, option 53).
fn dhcp_discover() -> Vec<u8> {
    let mut b = vec![0u8; 244];
    b[0] = 1; // BOOTREQUEST
    b[1] = 1; // Ethernet
    b[2] = 6;
    b[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
    b[28..34].copy_from_slice(&MAC_A.0);
    b[236..240].copy_from_slice(&[99, 130, 83, 99]);
    b[240..244].copy_from_slice(&[53, 1, 1, 255]);
    b
}

#[test]
// Frames are pushed one per path with a comment each; a vec! literal would hide that.
#[allow(clippy::vec_init_then_push)]
fn tshark_agrees_with_every_path() {
    let (_c, dp) = topology();
    let mut w = Worker::new(dp, WorkerConfig::default());
    let mut frames = Vec::new();
    // 1: local VM to VM.
    frames.push(emitted(
        &mut w,
        IF_A,
        &udp_v4(MAC_A, VROUTER_MAC, VM_A, VM_B, 1000, 2000, b"local"),
        Disposition::Tx(IF_B),
    ));
    // 2: VM to remote over MPLS over UDP.
    frames.push(emitted(
        &mut w,
        IF_A,
        &udp_v4(MAC_A, VROUTER_MAC, VM_A, VM_C_UDP, 1000, 2000, b"mplsoudp"),
        Disposition::Tx(IF_FABRIC),
    ));
    // 3: over MPLS over GRE.
    frames.push(emitted(
        &mut w,
        IF_A,
        &tcp_v4(MAC_A, VROUTER_MAC, VM_A, VM_D_GRE, 1000, 80, TcpFlags::SYN),
        Disposition::Tx(IF_FABRIC),
    ));
    // 4: over VXLAN.
    frames.push(emitted(
        &mut w,
        IF_A,
        &icmp_v4(MAC_A, VROUTER_MAC, VM_A, VM_E_VXLAN, 7),
        Disposition::Tx(IF_FABRIC),
    ));
    // 5: MPLS over UDP decapsulated to VM A.
    let inner = udp_v4(MAC_E, VROUTER_MAC, VM_C_UDP, VM_A, 7777, 1000, b"reply");
    frames.push(emitted(
        &mut w,
        IF_FABRIC,
        &mpls_udp_from_peer(LABEL_A, &inner[14..]),
        Disposition::Tx(IF_A),
    ));
    // 6: VXLAN decapsulated to VM A.
    frames.push(emitted(
        &mut w,
        IF_FABRIC,
        &vxlan_from_peer(VNI, &icmp_v4(MAC_E, MAC_A, VM_E_VXLAN, VM_A, 9)),
        Disposition::Tx(IF_A),
    ));
    // 7-8: ARP and DHCP go to the agent unchanged.
    frames.push(emitted(
        &mut w,
        IF_A,
        &arp_request(MAC_A, VM_A, VM_B),
        Disposition::Trap(TrapReason::Arp),
    ));
    let dhcp = udp_v4(
        MAC_A,
        MacAddr::BROADCAST,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::BROADCAST,
        68,
        67,
        &dhcp_discover(),
    );
    frames.push(emitted(
        &mut w,
        IF_A,
        &dhcp,
        Disposition::Trap(TrapReason::Dhcp),
    ));
    // 9-10: ECMP over two members (flows chosen to land on different members). Source
    // ports from an unassigned range, so tshark never dissects the payload as some
    // port-registered protocol (5001 is iperf2's) whichever flows the hash picks.
    let mut seen = std::collections::BTreeMap::new();
    for sport in 0..64 {
        let (_, out) = run(
            &mut w,
            IF_A,
            &udp_v4(
                MAC_A,
                VROUTER_MAC,
                VM_A,
                Ipv4Addr::new(10, 1, 2, 9),
                41000 + sport,
                80,
                b"e",
            ),
        );
        seen.entry(u32::from_be_bytes([0, out[42], out[43], out[44]]) >> 4)
            .or_insert(out);
    }
    assert_eq!(seen.len(), 2, "ECMP used one member only");
    frames.extend(seen.into_values());
    // 11-12: source NAT on the way out, destination NAT on the way back.
    assert_eq!(
        run(
            &mut w,
            IF_C,
            &udp_v4(MAC_P, VROUTER_MAC, VM_P, VM_C_UDP, 3000, 7777, b"q")
        )
        .0,
        Disposition::Held
    );
    let up = w.take_upcalls().remove(0);
    let rev = FlowKey::new(1, IpProtocol::UDP, VM_C_UDP.into(), FIP.into(), 7777, 40000);
    let released = w
        .apply_decision(
            100,
            FlowDecision {
                index: up.index,
                key: up.key,
                forward: FlowSpec {
                    nat_src: true,
                    ..FlowSpec::forward(1)
                },
                reverse: Some((
                    rev,
                    FlowSpec {
                        nat_dst: true,
                        ..FlowSpec::forward(1)
                    },
                )),
            },
        )
        .unwrap();
    assert_eq!(released[0].0, Disposition::Tx(IF_FABRIC));
    frames.push(released[0].1.data().to_vec());
    let reply = udp_v4(MAC_E, VROUTER_MAC, VM_C_UDP, FIP, 7777, 40000, b"a");
    frames.push(emitted(
        &mut w,
        IF_FABRIC,
        &mpls_udp_from_peer(LABEL_P, &reply[14..]),
        Disposition::Tx(IF_C),
    ));
    // 13-14: a fragmented datagram: first and later fragment both encapsulated.
    for (off, more) in [(0u16, true), (40, false)] {
        let mut f = udp_v4(MAC_A, VROUTER_MAC, VM_A, VM_C_UDP, 7000, 7001, &[0u8; 32]);
        f[20..22].copy_from_slice(&(((more as u16) << 13) | (off / 8)).to_be_bytes());
        Ipv4Packet::new_unchecked(&mut f[14..]).fill_checksum();
        frames.push(emitted(&mut w, IF_A, &f, Disposition::Tx(IF_FABRIC)));
    }

    let d = dissect("paths", &frames);
    assert_eq!(d.len(), frames.len());
    let f = |i: usize, k: &str| d[i - 1].get(k).cloned().unwrap_or_default();
    let each = |i: usize, k: &str| -> Vec<String> {
        f(i, k)
            .split(',')
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    };
    // Wireshark's checksum status: 0 bad, 1 good, 2 unverified, 3 not present (zero), 4 illegal.
    // Every IP header's checksum is good, and every UDP header's, except the outer UDP header of
    // an MPLSoUDP or VXLAN packet over IPv4, which Cirrus leaves zero on purpose (RFC 7510
    // section 3, RFC 7348 section 5): "not present". One status per header: none unchecked.
    for i in 1..=frames.len() {
        let ips = each(i, "ip.src").len();
        assert_eq!(
            each(i, "ip.checksum.status"),
            vec!["1"; ips],
            "frame {i}: IP header checksums"
        );
        let ports = each(i, "udp.dstport");
        let tunnel = ips > 1 && ports.first().is_some_and(|p| p == "6635" || p == "4789");
        let want: Vec<&str> = (0..ports.len())
            .map(|j| if j == 0 && tunnel { "3" } else { "1" })
            .collect();
        assert_eq!(
            each(i, "udp.checksum.status"),
            want,
            "frame {i}: UDP checksums (ports {ports:?})"
        );
        assert!(
            !f(i, "_ws.expert").contains("Malformed"),
            "frame {i}: tshark calls it malformed"
        );
    }
    assert_eq!(
        (f(1, "eth.dst"), f(1, "eth.src"), f(1, "ip.ttl")),
        (
            "02:00:00:00:00:04".into(),
            "00:00:5e:00:01:00".into(),
            "63".into()
        )
    );
    assert_eq!(f(2, "ip.src"), "198.18.0.1,10.1.0.3");
    assert_eq!(f(2, "ip.dst"), "198.18.0.2,10.1.1.5");
    assert_eq!(f(2, "udp.dstport"), "6635,2000");
    assert_eq!(
        (f(2, "mpls.label"), f(2, "mpls.bottom"), f(2, "ip.ttl")),
        ("33".into(), "1".into(), "64,63".into())
    );
    let sport: u16 = f(2, "udp.srcport")
        .split(',')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(sport >= 49152, "entropy source port {sport}");
    assert_eq!(
        (f(3, "gre.proto"), f(3, "mpls.label"), f(3, "tcp.flags.syn")),
        ("0x8847".into(), "34".into(), "1".into())
    );
    assert_eq!(f(3, "ip.dst"), "198.18.0.2,10.1.1.6");
    // Routed over VXLAN: inner destination is the remote workload's MAC.
    assert_eq!(f(4, "eth.dst"), "02:fa:00:00:00:fe,02:00:00:00:01:07");
    assert_eq!(
        (f(4, "udp.dstport"), f(4, "vxlan.vni"), f(4, "ip.dst")),
        ("4789".into(), "100".into(), "198.18.0.2,10.1.1.7".into())
    );
    assert_eq!(
        (
            f(5, "eth.dst"),
            f(5, "ip.src"),
            f(5, "ip.dst"),
            f(5, "ip.ttl")
        ),
        (
            "02:00:00:00:00:03".into(),
            "10.1.1.5".into(),
            "10.1.0.3".into(),
            "63".into()
        )
    );
    assert_eq!(
        (f(6, "eth.dst"), f(6, "ip.src"), f(6, "vxlan.vni")),
        ("02:00:00:00:00:03".into(), "10.1.1.7".into(), "".into())
    );
    assert_eq!(f(7, "arp.opcode"), "1");
    assert_eq!(f(8, "udp.dstport"), "67");
    let labels = [f(9, "mpls.label"), f(10, "mpls.label")];
    assert!(
        labels.contains(&"41".to_string()) && labels.contains(&"42".to_string()),
        "{labels:?}"
    );
    assert_eq!(f(11, "ip.src"), "198.18.0.1,10.1.9.9");
    assert_eq!(f(11, "udp.srcport").split(',').nth(1), Some("40000"));
    assert_eq!(
        (f(12, "ip.dst"), f(12, "udp.dstport")),
        ("10.1.0.5".into(), "3000".into())
    );
    assert_eq!(
        (f(13, "ip.flags.mf"), f(13, "ip.frag_offset")),
        ("0,1".into(), "0,0".into())
    );
    assert_eq!(
        (f(14, "ip.flags.mf"), f(14, "ip.frag_offset")),
        ("0,0".into(), "0,5".into())
    );
}
