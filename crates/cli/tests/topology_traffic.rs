//! Three compute nodes, one network, a workload on each node (`cirrusctl sandbox`): each gets
//! its address by DHCP (busybox udhcpc, the instance-ip); ping and TCP (busybox nc, a bounded
//! transfer whose content is checked) work between nodes; tshark in the underlay namespace
//! sees MPLS over UDP (port 6635) carrying the workloads' own addresses; VXLAN (port 4789)
//! for a network that asks for it (forwarding mode l2); and once the global-vrouter-config
//! puts VXLAN first (`cirrusctl apply`), VXLAN for the first network too; and once it sets a
//! flow ageing timeout, idle flows leave the vrouters' flow tables after it.

mod common;

use std::time::Duration;

use common::{Background, Capture, Sandbox, sandbox_can_run, text, wait_until};

const NET: &str = "default-domain:tra:blue";

const CONFIG: &str = "\
kind: project
fq_name: [default-domain, tra]
---
kind: network-ipam
fq_name: [default-domain, tra, tra-ipam]
---
kind: virtual-network
fq_name: [default-domain, tra, blue]
network_ipam_refs:
  - to: [default-domain, tra, tra-ipam]
    attr:
      ipam_subnets:
        - subnet: {ip_prefix: 10.20.0.0, ip_prefix_len: 24}
";

/// A network that only bridges: the vrouters prefer VXLAN for it.
const BRIDGED: &str = "\
kind: virtual-network
fq_name: [default-domain, tra, bridged]
virtual_network_properties: {forwarding_mode: l2}
network_ipam_refs:
  - to: [default-domain, tra, tra-ipam]
    attr:
      ipam_subnets:
        - subnet: {ip_prefix: 10.21.0.0, ip_prefix_len: 24}
";

const VXLAN_FIRST: &str = "\
kind: global-vrouter-config
fq_name: [default-global-system-config, default-global-vrouter-config]
encapsulation_priorities:
  encapsulation: [VXLAN, MPLSoUDP, MPLSoGRE]
";

const AGEING: &str = "\
kind: global-vrouter-config
fq_name: [default-global-system-config, default-global-vrouter-config]
flow_aging_timeout_list:
  flow_aging_timeout:
    - {protocol: icmp, port: 0, timeout_in_seconds: 2}
";

/// The first two packets (at most `seconds`) of the overlay on the underlay's bridge while `traffic` runs: one line
/// per packet, `outer src|outer dst|inner src|inner dst`.
fn overlay(sb: &Sandbox, port: u16, seconds: u32, traffic: impl FnOnce()) -> Vec<Vec<String>> {
    let filter = format!("udp dst port {port}");
    let mut args = vec!["-i", "br0", "-f", &filter];
    if port == 6635 {
        args.extend(["-d", "udp.port==6635,mpls"]);
    }
    args.extend([
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "aggregator=|",
        "-e",
        "ip.src",
        "-e",
        "ip.dst",
    ]);
    let capture = Capture::start(sb, "underlay", &args, 2, seconds);
    traffic();
    // ip.src and ip.dst each list the outer then the inner header's.
    capture
        .lines()
        .into_iter()
        .map(|l| {
            let f: Vec<String> = l.split('|').map(str::to_string).collect();
            assert_eq!(f.len(), 4, "not an outer and an inner IPv4 header: {l}");
            vec![f[0].clone(), f[2].clone(), f[1].clone(), f[3].clone()]
        })
        .collect()
}

#[test]
fn three_nodes_dhcp_ping_tcp_and_the_overlay_on_the_wire() {
    let test = "three_nodes_dhcp_ping_tcp_and_the_overlay_on_the_wire";
    if !sandbox_can_run(test, &["ping", "tshark"]) {
        return;
    }
    let sb = Sandbox::new("trf");
    sb.up(3);
    sb.apply(CONFIG);
    let w1 = sb.add_workload("w1", "c1", NET);
    let w2 = sb.add_workload("w2", "c2", NET);
    let w3 = sb.add_workload("w3", "c3", NET);
    for a in [&w1, &w2, &w3] {
        assert!(a.starts_with("10.20.0."), "{a}");
    }
    assert!(w1 != w2 && w2 != w3 && w1 != w3);
    let state = cirrus_lab::Lab::read(&sb.dir).unwrap().unwrap();
    let node = |k: &str| state.compute(k).unwrap().address.to_string();
    let (c1, c2, c3) = (node("c1"), node("c2"), node("c3"));

    // Ping across every pair of nodes.
    sb.wait_ping("w1", &w2, Duration::from_secs(20));
    sb.wait_ping("w2", &w3, Duration::from_secs(20));
    sb.wait_ping("w3", &w1, Duration::from_secs(20));

    // The overlay on the wire: w1 (c1) pings w3 (c3) over MPLS over UDP.
    let seen = overlay(&sb, 6635, 10, || {
        assert!(sb.ping("w1", &w3), "{}", sb.logs());
    });
    assert_eq!(
        seen,
        [
            vec![c1.clone(), c3.clone(), w1.clone(), w3.clone()],
            vec![c3.clone(), c1.clone(), w3.clone(), w1.clone()]
        ],
        "MPLSoUDP from c1 to c3 and back, carrying w1 <-> w3"
    );

    // TCP between w1 (c1) and w2 (c2): w1 serves a bounded stream (busybox nc runs `seq`
    // on the connection and closes it when done), w2 receives it whole.
    let _server = Background::start(
        &sb,
        "w1",
        &[
            "busybox", "nc", "-l", "-p", "5001", "-e", "seq", "1", "20000",
        ],
    );
    let sent: String = (1..=20000).map(|i| format!("{i}\n")).collect();
    let received = wait_until(
        "w2 to receive w1's stream on port 5001",
        Duration::from_secs(10),
        || {
            let out = sb.exec("w2", &["busybox", "nc", "-w", "3", &w1, "5001"]);
            (out.status.success() && !out.stdout.is_empty()).then_some(out)
        },
        || sb.logs(),
    );
    let received = text(&received.stdout);
    assert_eq!(received.len(), sent.len(), "w2 received all of w1's stream");
    assert!(received == sent, "the stream arrived changed");

    // VXLAN for the network that asks for it (forwarding mode l2): y1 (c1) pings y2 (c3).
    sb.apply(BRIDGED);
    let y1 = sb.add_workload("y1", "c1", "default-domain:tra:bridged");
    let y2 = sb.add_workload("y2", "c3", "default-domain:tra:bridged");
    sb.wait_ping("y1", &y2, Duration::from_secs(20));
    let seen = overlay(&sb, 4789, 10, || {
        assert!(sb.ping("y1", &y2), "{}", sb.logs());
    });
    assert_eq!(
        seen,
        [
            vec![c1.clone(), c3.clone(), y1.clone(), y2.clone()],
            vec![c3.clone(), c1.clone(), y2, y1]
        ],
        "VXLAN from c1 to c3 and back, carrying y1 <-> y2"
    );

    // VXLAN first for every network, as the global-vrouter-config asks: w2 (c2) pings w3 (c3) over VXLAN.
    sb.apply(VXLAN_FIRST);
    let seen = wait_until(
        "the vrouters to take VXLAN",
        Duration::from_secs(20),
        || {
            let seen = overlay(&sb, 4789, 4, || {
                let _ = sb.ping("w2", &w3);
            });
            (seen.len() == 2).then_some(seen)
        },
        || sb.logs(),
    );
    assert_eq!(
        seen,
        [
            vec![c2.clone(), c3.clone(), w2.clone(), w3.clone()],
            vec![c3, c2, w3.clone(), w2]
        ],
        "VXLAN from c2 to c3 and back, carrying w2 <-> w3"
    );

    // A 2-second flow ageing timeout for ICMP (the default keeps an idle flow 180 s): the flows of one
    // ping from w2 to w3 are in c2's table, then gone once idle.
    sb.apply(AGEING);
    let flows_to_w3 = || {
        let f = sb.vrouter_introspect("c2", "/flows?limit=10000");
        f["flows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["dst"] == w3.as_str() || r["src"] == w3.as_str())
            .count()
    };
    wait_until(
        "the flows of a ping from w2 to w3 in c2's table",
        Duration::from_secs(20),
        || (sb.ping("w2", &w3) && flows_to_w3() > 0).then_some(()),
        || sb.logs(),
    );
    wait_until(
        "c2 to age the idle flows to w3 out after 2 s",
        Duration::from_secs(15),
        || (flows_to_w3() == 0).then_some(()),
        || format!("{}\n{}", sb.vrouter_introspect("c2", "/flows"), sb.logs()),
    );
}
