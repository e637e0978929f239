//! A GoBGP peer of the sandbox's controller: gobgpd runs on another underlay address of the
//! lab (198.18.x.3, on the root namespace's link; started through `cirrus-lab`, which records
//! and stops it), its bgp-router is created with `cirrusctl apply` with a ref to the
//! controller's own (the Contrail way), and it learns the workloads' routes as VPNv4: each
//! workload's /32 with RD `<its vrouter's address>:<network id>`, next hop that vrouter's
//! underlay address, an MPLS label, the network's route target and the MPLS-over-UDP tunnel
//! encapsulation.

mod common;

use std::time::Duration;

use cirrus_lab::ProcessSpec;
use common::{Sandbox, free_port, sandbox_can_run, text, wait_until};

const NET: &str = "default-domain:bgp:red";
const GOBGP_AS: u32 = 65001;

const CONFIG: &str = "\
kind: project
fq_name: [default-domain, bgp]
---
kind: network-ipam
fq_name: [default-domain, bgp, bgp-ipam]
---
kind: virtual-network
fq_name: [default-domain, bgp, red]
route_target_list:
  route_target: [\"target:64512:7100\"]
network_ipam_refs:
  - to: [default-domain, bgp, bgp-ipam]
    attr:
      ipam_subnets:
        - subnet: {ip_prefix: 10.60.0.0, ip_prefix_len: 24}
";

#[test]
fn a_gobgp_peer_learns_the_workloads_routes_as_vpnv4() {
    let test = "a_gobgp_peer_learns_the_workloads_routes_as_vpnv4";
    if !sandbox_can_run(test, &["gobgpd", "gobgp"]) {
        return;
    }
    let sb = Sandbox::new("bgp");
    sb.up(2);
    // gobgpd on 198.18.x.3, peering with the controller's speaker on 198.18.x.1:179.
    let (gobgp_at, controller_at, api_port) = {
        let mut lab = sb.lab();
        let at = lab.add_root_address(3).unwrap();
        let controller = lab.plan().root_addr();
        let api_port = free_port();
        let conf = lab.state_dir().join("gobgpd.toml");
        std::fs::write(
            &conf,
            format!(
                "[global.config]\n  as = {GOBGP_AS}\n  router-id = \"{at}\"\n  port = 179\n  \
                 local-address-list = [\"{at}\"]\n\n[[neighbors]]\n  [neighbors.config]\n    \
                 neighbor-address = \"{controller}\"\n    peer-as = 64512\n  \
                 [neighbors.transport.config]\n    local-address = \"{at}\"\n  \
                 [neighbors.timers.config]\n    connect-retry = 1\n  [[neighbors.afi-safis]]\n    \
                 [neighbors.afi-safis.config]\n      afi-safi-name = \"l3vpn-ipv4-unicast\"\n"
            ),
        )
        .unwrap();
        let spec = ProcessSpec::new("gobgpd", None, "gobgpd").args([
            "-f".to_string(),
            conf.display().to_string(),
            "--api-hosts".to_string(),
            format!("127.0.0.1:{api_port}"),
            "--pprof-disable".to_string(),
        ]);
        lab.spawn(&spec).unwrap();
        (at, controller, api_port)
    };
    let gobgp = |args: &[&str]| {
        let out = std::process::Command::new("gobgp")
            .args(["-u", "127.0.0.1", "-p", &api_port.to_string()])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "gobgp {args:?}: {out:?}\n{}",
            sb.logs()
        );
        text(&out.stdout)
    };

    // GoBGP's bgp-router, with a ref to the controller's own: the session comes up.
    let control = format!("{}-control", sb.prefix);
    sb.apply(&format!(
        "kind: bgp-router\n\
         fq_name: [default-domain, default-project, ip-fabric, __default__, gobgp]\n\
         parent_type: routing-instance\n\
         bgp_router_parameters:\n  vendor: gobgp\n  router_type: router\n  \
         address: \"{gobgp_at}\"\n  identifier: \"{gobgp_at}\"\n  port: 179\n  \
         autonomous_system: {GOBGP_AS}\n\
         bgp_router_refs:\n  \
         - to: [default-domain, default-project, ip-fabric, __default__, {control}]\n    \
         attr: {{session: [{{uuid: \"1\", attributes: [{{address_families: {{family: [inet-vpn]}}}}]}}]}}\n"
    ));
    wait_until(
        "GoBGP's session with the controller Established",
        Duration::from_secs(30),
        || {
            let n = gobgp(&["neighbor"]);
            (n.contains(&controller_at.to_string()) && n.contains("Establ")).then_some(())
        },
        || sb.logs(),
    );

    sb.apply(CONFIG);
    let w1 = sb.add_workload("w1", "c1", NET);
    let w2 = sb.add_workload("w2", "c2", NET);
    let vn = sb.uuid("virtual-network", &["default-domain", "bgp", "red"]);
    let id = sb.rest("GET", &format!("/virtual-network/{vn}"), None)["virtual-network"]
        ["virtual_network_network_id"]
        .as_u64()
        .unwrap();
    let state = cirrus_lab::Lab::read(&sb.dir).unwrap().unwrap();
    let node = |k: &str| state.compute(k).unwrap().address.to_string();
    let expected = [(node("c1"), w1), (node("c2"), w2)];
    let table = wait_until(
        "both workloads' routes in GoBGP's VPNv4 table",
        Duration::from_secs(30),
        || {
            let t = gobgp(&["global", "rib", "-a", "vpnv4"]);
            expected
                .iter()
                .all(|(c, w)| t.contains(&format!("{c}:{id}:{w}/32")))
                .then_some(t)
        },
        || sb.logs(),
    );
    for (c, w) in &expected {
        let key = format!("{c}:{id}:{w}/32");
        let line = table.lines().find(|l| l.contains(&key)).unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        // `*> RD:PREFIX [LABEL] NEXTHOP AS_PATH AGE ATTRS`
        let at = words.iter().position(|w| w.contains(&key)).unwrap();
        let label: u32 = words[at + 1]
            .trim_matches(|c| c == '[' || c == ']')
            .parse()
            .unwrap_or_else(|_| panic!("no label in {line}"));
        assert!(label >= 16, "{line}");
        assert_eq!(words[at + 2], c, "next hop: {line}");
        assert!(line.contains("64512:7100"), "route target: {line}");
        assert!(line.contains("MPLS in UDP"), "tunnel encapsulation: {line}");
    }
}
