//! Contrail's own operator tool reads our Sandesh XML introspect pages: the PyPI
//! `contrail-scrape` package (installed into the test venv by scripts/install-test-deps.sh),
//! against a sandbox with two compute nodes and a GoBGP peer of the controller.
//! `contrail-scrape-ist vrouter intf|vrf|route` on c1 shows its port, its VRF and the route to
//! the workload on c2 (MPLSoUDP to c2, with its label); `contrail-scrape --vrouter` collects
//! every page the agent lists, the flows (`KFlowReq`) and drop counters (`KDropStatsReq`)
//! among them; `contrail-scrape-ist control nei|route show` shows the GoBGP neighbour
//! Established and the workloads' VPN routes.

mod common;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use cirrus_lab::ProcessSpec;
use common::{Sandbox, free_port, sandbox_can_run, text, wait_until};

const NET: &str = "default-domain:snh:red";
const GOBGP_AS: u32 = 65001;

const CONFIG: &str = "\
kind: project
fq_name: [default-domain, snh]
---
kind: network-ipam
fq_name: [default-domain, snh, snh-ipam]
---
kind: virtual-network
fq_name: [default-domain, snh, red]
network_ipam_refs:
  - to: [default-domain, snh, snh-ipam]
    attr:
      ipam_subnets:
        - subnet: {ip_prefix: 10.61.0.0, ip_prefix_len: 24}
";

/// The venv's `contrail-scrape` tools; `None` after a skip when they are not installed.
fn scrape_bin(test: &str) -> Option<PathBuf> {
    let venv = std::env::var_os("CIRRUS_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| cirrus_testkit::repo_root().join("target/test-venv"));
    let bin = venv.join("bin");
    if bin.join("contrail-scrape-ist").is_file() && bin.join("contrail-scrape").is_file() {
        return Some(bin);
    }
    cirrus_testkit::skip(
        test,
        &format!(
            "no contrail-scrape in {} (scripts/install-test-deps.sh installs it)",
            bin.display()
        ),
    );
    None
}

fn ok(out: Output, what: &str, sb: &Sandbox) -> String {
    assert!(
        out.status.success(),
        "{what}: {}\nstdout: {}\nstderr: {}\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr),
        sb.logs()
    );
    text(&out.stdout)
}

#[test]
fn contrail_scrape_reads_the_agent_and_control_node_pages() {
    let test = "contrail_scrape_reads_the_agent_and_control_node_pages";
    if !sandbox_can_run(test, &["gobgpd", "gobgp", "tar"]) {
        return;
    }
    let Some(bin) = scrape_bin(test) else {
        return;
    };
    let ist = bin.join("contrail-scrape-ist").display().to_string();
    let sb = Sandbox::new("snh");
    sb.up(2);

    // GoBGP on 198.18.x.3 peers with the controller (as in topology_bgp).
    let (gobgp_at, _api_port) = {
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
        (at, api_port)
    };
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
    sb.apply(CONFIG);
    let w1 = sb.add_workload("w1", "c1", NET);
    let w2 = sb.add_workload("w2", "c2", NET);
    sb.wait_ping("w1", &w2, Duration::from_secs(30));
    let state = cirrus_lab::Lab::read(&sb.dir).unwrap().unwrap();
    let c2 = state.compute("c2").unwrap().address.to_string();
    let tap1 = state.workload("w1").unwrap().host_ifname.clone();

    // `contrail-scrape` collects every page each introspect lists into an archive (the
    // agent's inside c1); `contrail-scrape-ist` reads the collected pages in its working
    // folder, as operators run it.
    let port = cirrus_lab::VROUTER_INTROSPECT.port();
    let scrape = bin.join("contrail-scrape").display().to_string();
    let collect = |name: &str, node: Option<&str>, target: &str| -> PathBuf {
        let work = sb.dir.join(format!("scrape-{name}"));
        std::fs::create_dir_all(&work).unwrap();
        let cmd = format!("cd {} && {scrape} --{name} {target}", work.display());
        let out = match node {
            Some(n) => sb.exec(n, &["sh", "-c", &cmd]),
            None => std::process::Command::new("sh")
                .args(["-c", &cmd])
                .output()
                .unwrap(),
        };
        ok(out, &format!("contrail-scrape --{name}"), &sb);
        let untar = std::process::Command::new("tar")
            .args(["-xzf", "contrail-scrape.tgz"])
            .current_dir(&work)
            .output()
            .unwrap();
        ok(untar, "tar -xzf contrail-scrape.tgz", &sb);
        work.join("scrape")
    };
    let read = |dir: &std::path::Path, name: &str| {
        walk(dir)
            .into_iter()
            .find(|p| p.file_name().is_some_and(|f| f == name))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .unwrap_or_else(|| panic!("contrail-scrape wrote no {name}: {:?}", walk(dir)))
    };
    let ist_in = |dir: &std::path::Path, args: &[&str]| {
        let out = std::process::Command::new(&ist)
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        ok(out, &format!("contrail-scrape-ist {args:?}"), &sb)
    };

    // The agent: interfaces, VRFs, routes; flows and drop counters among the pages.
    let vr = wait_until(
        "w2's route among c1's collected pages",
        Duration::from_secs(15),
        || {
            let d = collect("vrouter", Some("c1"), &format!("127.0.0.1:{port}"));
            walk(&d)
                .iter()
                .any(|p| {
                    p.to_string_lossy().contains("Inet4UcRouteReq?vrf_index=")
                        && std::fs::read_to_string(p).is_ok_and(|t| t.contains(&w2))
                })
                .then_some(d)
        },
        || sb.logs(),
    );
    let intf = ist_in(&vr, &["vrouter", "intf"]);
    assert!(
        intf.contains(&tap1) && intf.contains(&w1) && intf.contains(NET) && intf.contains("Active"),
        "{intf}"
    );
    let vrf = ist_in(&vr, &["vrouter", "vrf", "-c", "name", "ucindex", "vn"]);
    let instance = format!("{NET}:red");
    let line = vrf
        .lines()
        .find(|l| l.contains(&instance))
        .unwrap_or_else(|| panic!("no VRF {instance}: {vrf}"));
    let id: String = line
        .split('|')
        .map(str::trim)
        .find(|c| !c.is_empty() && c.chars().all(|x| x.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no ucindex in {line}"))
        .to_string();
    let routes = ist_in(&vr, &["vrouter", "route", "-v", &id]);
    let to_w2: String = routes
        .split(&format!("{w2}/32"))
        .nth(1)
        .unwrap_or("")
        .lines()
        .take(3)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        to_w2.contains("MPLSoUDP")
            && to_w2.contains(&format!("dip:{c2}"))
            && to_w2.contains("nh_type:tunnel"),
        "{routes}"
    );
    assert!(
        routes.contains(&format!("{w1}/32")) && routes.contains(&tap1),
        "{routes}"
    );
    let flows = read(&vr, "KFlowReq");
    assert!(
        flows.contains("KFlowInfo") && flows.contains(&w1) && flows.contains(&w2),
        "{flows}"
    );
    let drops = read(&vr, "KDropStatsReq");
    assert!(drops.contains("ds_flow_action_drop"), "{drops}");

    // The control node: the GoBGP neighbour and the workloads' routes.
    let ctl = wait_until(
        "the GoBGP neighbour Established and both workloads' routes on the control node",
        Duration::from_secs(30),
        || {
            let d = collect("control", None, &sb.introspect);
            let nei = read(&d, "BgpNeighborReq");
            let rt = read(&d, "ShowRouteReq");
            (nei.contains("Established") && rt.contains(&w1) && rt.contains(&w2)).then_some(d)
        },
        || sb.logs(),
    );
    let nei = ist_in(&ctl, &["control", "nei"]);
    assert!(
        nei.contains(&gobgp_at.to_string())
            && nei.contains("Established")
            && nei.contains(&GOBGP_AS.to_string()),
        "{nei}"
    );
    let shown = ist_in(&ctl, &["control", "route", "show"]);
    assert!(
        shown.contains(&format!("{w1}/32")) && shown.contains(&format!("{w2}/32")),
        "{shown}"
    );
    assert!(shown.contains("bgp.l3vpn.0"), "{shown}");
    assert!(shown.contains(&c2), "next hop c2: {shown}");
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
