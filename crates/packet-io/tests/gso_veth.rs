//! GSO-aware I/O end to end (root): two vRouters whose workload ports are `AfPacketGso`
//! sockets, their workloads' offloads left on (TSO, GSO, checksum), joined by a fabric
//! veth in three ways: MTU 9000 with GSO sockets (super-frames cut into jumbo segments),
//! MTU 65535 with GSO sockets (as the sandbox's underlay: super-frames cross whole, their
//! checksums left partial end to end), and MTU 9000 with plain packet sockets (checksums
//! completed before the fabric, checked by B's kernel). Each time a TCP transfer from A to
//! B arrives whole and unchanged (its SHA-256 compared), a UDP datagram whose checksum
//! A's kernel left partial arrives, and ping works; the device counters show which path
//! was taken. Needs root, `ip` and `python3`; every namespace and link is removed on
//! exit, also on failure.

mod common;

use cirrus_dataplane::control::Dataplane;
use cirrus_dataplane::pipeline::{Worker, WorkerConfig};
use cirrus_packet_io::af_packet::AfPacket;
use cirrus_packet_io::af_packet_gso::{AfPacketGso, GsoConfig};
use cirrus_packet_io::device::Device;
use cirrus_packet_io::report::RunnerReport;
use cirrus_packet_io::runner::{Port, Runner, RunnerConfig};
use common::lab::{Lab, can_run, run, skip};
use common::overlay::*;
use common::*;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

const MIB: usize = 8;

fn counters(r: &RunnerReport, port: u32) -> cirrus_packet_io::DeviceCounters {
    r.workers
        .iter()
        .flat_map(|w| &w.ports)
        .find(|p| p.ifindex == port)
        .map(|p| p.counters)
        .unwrap()
}

/// How the two vRouters' fabric ports are made.
#[derive(Clone, Copy, PartialEq)]
enum Fabric {
    /// GSO sockets on a fabric of this MTU.
    Gso(u32),
    /// Plain packet sockets (no offload metadata) on a jumbo fabric.
    Plain,
}

#[test]
fn tcp_and_udp_cross_the_overlay_with_offloads_on() {
    transfer(
        "tcp_and_udp_cross_the_overlay_with_offloads_on",
        Fabric::Gso(9000),
    );
}

#[test]
fn super_frames_cross_a_64k_fabric_whole_with_checksums_left_partial() {
    transfer(
        "super_frames_cross_a_64k_fabric_whole_with_checksums_left_partial",
        Fabric::Gso(65535),
    );
}

#[test]
fn partial_checksums_are_completed_for_a_fabric_without_offloads() {
    transfer(
        "partial_checksums_are_completed_for_a_fabric_without_offloads",
        Fabric::Plain,
    );
}

fn transfer(test: &str, fabric: Fabric) {
    if !can_run(test) {
        return;
    }
    if Command::new("python3").arg("--version").output().is_err() {
        skip(test, "needs python3");
        return;
    }
    let mtu = match fabric {
        Fabric::Gso(mtu) => mtu,
        Fabric::Plain => 9000,
    };
    let mut lab = Lab::new(match fabric {
        Fabric::Gso(9000) => "g",
        Fabric::Gso(_) => "G",
        Fabric::Plain => "p",
    });
    let host_a = lab.workload("a", MAC_A, VM_A).unwrap();
    let host_b = lab.workload("b", MAC_B, VM_B).unwrap();
    let (f1, f2) = lab.wire("f1", FABRIC_MAC_1, "f2", FABRIC_MAC_2).unwrap();
    for l in [&f1, &f2] {
        run("ip", &["link", "set", l, "mtu", &mtu.to_string()]).unwrap();
    }
    let (ns_a, ns_b) = (lab.ns("a"), lab.ns("b"));
    let (l1, l2) = (Ipv4Addr::new(198, 18, 0, 1), Ipv4Addr::new(198, 18, 0, 2));
    let (_c1, dp1) = vrouter(
        l1,
        FABRIC_MAC_1,
        l2,
        FABRIC_MAC_2,
        (MAC_A, VM_A, 17),
        (VM_B, 18),
    );
    let (_c2, dp2) = vrouter(
        l2,
        FABRIC_MAC_2,
        l1,
        FABRIC_MAC_1,
        (MAC_B, VM_B, 18),
        (VM_A, 17),
    );
    let cfg = GsoConfig::for_fabric_mtu(mtu as usize);
    let open_fabric = |name: &str| -> Box<dyn Device> {
        match fabric {
            Fabric::Gso(_) => Box::new(AfPacketGso::open(name, cfg).unwrap()),
            Fabric::Plain => Box::new(AfPacket::open(name).unwrap()),
        }
    };
    let spawn = |dp: Dataplane, vm: &str, fabric: &str| {
        Runner::spawn(
            Worker::new(dp, WorkerConfig::default()),
            vec![
                Port {
                    ifindex: IF_VM,
                    device: Box::new(AfPacketGso::open(vm, cfg).unwrap()),
                },
                Port {
                    ifindex: IF_FABRIC,
                    device: open_fabric(fabric),
                },
            ],
            Box::new(TestAgent::default()),
            RunnerConfig::default(),
        )
    };
    let r1 = spawn(dp1, &host_a, &f1);
    let r2 = spawn(dp2, &host_b, &f2);

    run(
        "ip",
        &[
            "netns",
            "exec",
            &ns_a,
            "ping",
            "-c",
            "2",
            "-i",
            "0.2",
            "-W",
            "2",
            &VM_B.to_string(),
        ],
    )
    .expect("ping across the overlay");

    // TCP: B hashes what it receives on one connection; A sends MIB MiB of a pattern.
    let pattern = "bytes(range(256))*4096";
    let server = Command::new("ip")
        .args(["netns", "exec", &ns_b, "timeout", "30", "python3", "-c"])
        .arg(format!(
            "import socket,hashlib\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('{VM_B}',5001))\ns.listen(1)\nc,_=s.accept()\nh=hashlib.sha256()\nn=0\nwhile True:\n  d=c.recv(1<<20)\n  if not d: break\n  h.update(d)\n  n+=len(d)\nprint(n,h.hexdigest())"
        ))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let client = run(
        "ip",
        &[
            "netns",
            "exec",
            &ns_a,
            "timeout",
            "30",
            "python3",
            "-c",
            &format!(
                "import socket\nd={pattern}\ns=socket.create_connection(('{VM_B}',5001),timeout=20)\nfor _ in range({MIB}): s.sendall(d)\ns.close()"
            ),
        ],
    );
    let out = server.wait_with_output().unwrap();
    assert!(client.is_ok(), "TCP client: {client:?}");
    let want = Command::new("python3")
        .arg("-c")
        .arg(format!(
            "import hashlib\nd={pattern}\nh=hashlib.sha256()\nfor _ in range({MIB}): h.update(d)\nprint({MIB}*len(d),h.hexdigest())"
        ))
        .output()
        .unwrap();
    let want = String::from_utf8(want.stdout).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), want.trim());

    // UDP: A's kernel leaves the checksum for the device (tx checksum offload on); B's
    // kernel drops a datagram whose checksum is wrong.
    let server = Command::new("ip")
        .args(["netns", "exec", &ns_b, "timeout", "10", "python3", "-c"])
        .arg(format!(
            "import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind(('{VM_B}',5002))\ns.settimeout(8)\nprint(s.recv(4096))"
        ))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    run(
        "ip",
        &[
            "netns",
            "exec",
            &ns_a,
            "python3",
            "-c",
            &format!(
                "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor _ in range(3):\n  s.sendto(b'checksum left to the device',('{VM_B}',5002)); time.sleep(0.2)"
            ),
        ],
    )
    .unwrap();
    let out = server.wait_with_output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "b'checksum left to the device'"
    );

    let (rep1, rep2) = (r1.handle().report().unwrap(), r2.handle().report().unwrap());
    let (a_in, b_out) = (counters(&rep1, IF_VM), counters(&rep2, IF_VM));
    let (f_out, f_in) = (counters(&rep1, IF_FABRIC), counters(&rep2, IF_FABRIC));
    // Super-frames came whole from A, their checksums partial.
    assert!(a_in.rx_gso_frames > 0, "{a_in:?}");
    assert!(a_in.rx_csum_partial > 0, "{a_in:?}");
    assert_eq!(a_in.rx_gso_unsupported, 0);
    match fabric {
        // Cut into jumbo segments, each with its checksum summed.
        Fabric::Gso(9000) | Fabric::Plain => {
            assert!(a_in.rx_gso_segments > a_in.rx_gso_frames, "{a_in:?}")
        }
        // One segment each: they go on as they came, and B receives them partial.
        Fabric::Gso(_) => {
            assert_eq!(a_in.rx_gso_segments, a_in.rx_gso_frames, "{a_in:?}");
            assert!(f_in.rx_csum_partial > 0, "{f_in:?}");
        }
    }
    // Completed only before a device that cannot hand a checksum on partial.
    match fabric {
        Fabric::Plain => assert!(f_out.tx_csum_completed > 0, "{f_out:?}"),
        Fabric::Gso(_) => assert_eq!(f_out.tx_csum_completed, 0, "{f_out:?}"),
    }
    // Segments crossed the fabric whole, and went to B's stack as GSO frames.
    assert_eq!((f_out.tx_oversized, f_in.rx_truncated), (0, 0));
    assert!(b_out.tx_gso_frames > 0, "{b_out:?}");
    assert_eq!(b_out.tx_bad_checksum, 0);
    assert!(
        (MIB << 20) as u64 / b_out.tx_frames.max(1) > 1500,
        "few frames for the data: {b_out:?}"
    );
    r1.stop().unwrap();
    r2.stop().unwrap();
}
