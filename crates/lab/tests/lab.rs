//! The lab itself, on this machine's kernel (root): namespaces, links and addresses come up as
//! the plan says and are all gone after the handle is dropped and after a simulated crash
//! (kill -9 of a recorded process and loss of the handle, then `down`); compute kernels drop
//! overlay packets; a workload takes its address from a real DHCP server through the real
//! client; the controller in the root namespace is reachable from a compute node over the
//! underlay. Skips (or fails under CI=true) without root and the tools.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use cirrus_lab::testing::{TestLab, binary, lab_can_run, skip};
use cirrus_lab::{ControllerSpec, Lab, ProcessSpec, WorkloadSpec, netns};
use nix::sys::signal::Signal;

fn ip(args: &[&str]) -> String {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn in_ns(ns: &str, argv: &[&str]) -> std::process::Output {
    Command::new("ip")
        .args(["netns", "exec", ns])
        .args(argv)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ping(ns: &str, addr: &str) -> bool {
    in_ns(ns, &["ping", "-c", "1", "-W", "2", addr])
        .status
        .success()
}

/// Every namespace and root link the lab's names could use, that exist now.
fn leftovers(prefix: &str) -> Vec<String> {
    let mut left: Vec<String> = netns::list()
        .into_iter()
        .filter(|n| n.starts_with(&format!("{prefix}-")))
        .collect();
    if netns::link_exists(None, &format!("{prefix}-ul")) {
        left.push(format!("link {prefix}-ul"));
    }
    left
}

#[test]
fn the_underlay_comes_up_as_planned_and_is_gone_after_drop() {
    if !lab_can_run(
        "the_underlay_comes_up_as_planned_and_is_gone_after_drop",
        &["ping"],
    ) {
        return;
    }
    let mut lab = TestLab::new("up", 2).unwrap();
    let plan = lab.plan().clone();
    let prefix = plan.prefix().to_string();
    for ns in [plan.underlay_ns(), plan.compute_ns(1), plan.compute_ns(2)] {
        assert!(netns::exists(&ns), "{ns} missing");
    }
    // The root namespace's link carries 198.18.x.1/24 at MTU 65535; so do the nodes' eth0.
    let root = ip(&["-o", "addr", "show", "dev", &plan.root_link()]);
    assert!(
        root.contains(&format!("inet {}/24", plan.root_addr())),
        "{root}"
    );
    assert!(ip(&["link", "show", &plan.root_link()]).contains("mtu 65535"));
    let c1 = ip(&[
        "-n",
        &plan.compute_ns(1),
        "-o",
        "addr",
        "show",
        "dev",
        "eth0",
    ]);
    assert!(
        c1.contains(&format!("inet {}/24", plan.compute_addr(1))),
        "{c1}"
    );
    for ns in [plan.compute_ns(1), plan.compute_ns(2)] {
        assert!(ip(&["-n", &ns, "link", "show", "eth0"]).contains("mtu 65535"));
    }
    assert!(ip(&["-n", &plan.underlay_ns(), "link", "show", "br0"]).contains("mtu 65535"));
    // Node to node, node to root, root to node, over the bridge, with 65507-byte payloads (the most IPv4 carries).
    assert!(ping(&plan.compute_ns(1), &plan.compute_addr(2).to_string()));
    assert!(ping(&plan.compute_ns(2), &plan.root_addr().to_string()));
    let second = lab.add_root_address(2).unwrap();
    assert!(ping(&plan.compute_ns(1), &second.to_string()));
    assert!(lab.add_root_address(11).is_err());
    let big = Command::new("ping")
        .args(["-c", "1", "-W", "2", "-M", "do", "-s", "65507"])
        .arg(plan.compute_addr(1).to_string())
        .output()
        .unwrap();
    assert!(big.status.success(), "{big:?}");
    // The state file lists what was made.
    let state = Lab::read(lab.dir()).unwrap().unwrap();
    assert_eq!(state.namespaces.len(), 3);
    assert_eq!(state.root_links, [plan.root_link()]);
    assert_eq!(state.computes.len(), 2);

    drop(lab);
    assert_eq!(leftovers(&prefix), Vec::<String>::new());
}

#[test]
fn compute_kernels_drop_overlay_packets_on_input() {
    if !lab_can_run("compute_kernels_drop_overlay_packets_on_input", &["bash"]) {
        return;
    }
    let lab = TestLab::new("nft", 2).unwrap();
    let (c1, c2) = (lab.plan().compute_ns(1), lab.plan().compute_ns(2));
    let to = lab.plan().compute_addr(1);
    // Resolve c1's MAC first, so no datagram waits on ARP.
    assert!(ping(&c2, &to.to_string()));
    for port in [6635, 4789, 6635] {
        let send = format!("printf overlay > /dev/udp/{to}/{port}");
        let out = in_ns(&c2, &["bash", "-c", &send]);
        assert!(out.status.success(), "{out:?}");
    }
    // Other UDP is left to the kernel (which answers a closed port with ICMP, so a second
    // write on a connected socket would fail; one is enough to count).
    let out = in_ns(
        &c2,
        &["bash", "-c", &format!("printf x > /dev/udp/{to}/9999")],
    );
    assert!(out.status.success(), "{out:?}");
    let table = || {
        String::from_utf8(
            in_ns(
                &c1,
                &["nft", "list", "table", "inet", cirrus_lab::OVERLAY_TABLE],
            )
            .stdout,
        )
        .unwrap()
    };
    // Delivery is asynchronous to the sender: wait (bounded) for the count.
    let counted = |t: &str| {
        t.lines()
            .any(|l| l.contains("udp dport") && l.contains("counter packets 3 "))
    };
    let counters = cirrus_lab::http::wait_for(
        "3 overlay datagrams counted on c1",
        Duration::from_secs(10),
        Duration::from_millis(20),
        || {
            let t = table();
            Ok(counted(&t).then_some(t))
        },
    )
    .unwrap_or_else(|e| panic!("{e}:\n{}", table()));
    // nft lists protocol 47 by its /etc/protocols name where there is one
    assert!(
        ["gre", "47"]
            .iter()
            .any(|p| counters.contains(&format!("meta l4proto {p} counter packets 0 "))),
        "{counters}"
    );
    // The sending node's own table saw nothing.
    let c2_counters =
        String::from_utf8(in_ns(&c2, &["nft", "list", "table", "inet", "cirrus_lab"]).stdout)
            .unwrap();
    assert!(c2_counters.contains("counter packets 0 "), "{c2_counters}");
}

#[test]
fn a_crash_of_a_process_and_of_the_handle_then_down_removes_everything() {
    if !lab_can_run("a_crash_...then_down_removes_everything", &["sleep"]) {
        return;
    }
    let mut lab = TestLab::new("crash", 2).unwrap();
    let prefix = lab.plan().prefix().to_string();
    let c1 = lab.plan().compute_ns(1);
    lab.add_workload(&WorkloadSpec::new("w1", "c1", "tapw1"))
        .unwrap();
    let crasher = lab
        .spawn(&ProcessSpec::new("crasher", Some(&c1), "sleep").arg("600"))
        .unwrap();
    let sleeper = lab
        .spawn(&ProcessSpec::new("sleeper", None, "sleep").arg("600"))
        .unwrap();
    // A process the lab did not start, inside one of its namespaces: teardown must not kill it.
    let mut stranger = Lab::command_in(&c1, &["sleep".into(), "600".into()])
        .spawn()
        .unwrap();
    assert!(netns::pids(&c1).contains(&crasher.pid));

    assert!(lab.signal("crasher", Signal::SIGKILL).unwrap());
    cirrus_lab::http::wait_for(
        "the crasher to die",
        Duration::from_secs(5),
        Duration::from_millis(10),
        || Ok((!lab.alive("crasher")).then_some(())),
    )
    .unwrap();
    // The program holding the lab "crashes": its handle is gone without a teardown.
    lab.abandon();
    assert!(netns::exists(&c1));

    let report = Lab::open(lab.dir()).unwrap().down();
    assert_eq!(report.stopped, ["sleeper"]);
    assert_eq!(report.already_ended, ["crasher"]);
    assert!(
        report.namespaces.contains(&format!("{prefix}-w1")),
        "{report}"
    );
    // The stranger holds c1's namespace: reported, not killed.
    assert!(!report.clean(), "{report}");
    assert!(report.problems[0].contains(&c1), "{report}");
    assert_eq!(
        stranger.try_wait().unwrap(),
        None,
        "teardown killed a process it did not start"
    );
    assert!(!cirrus_lab::process::alive(&sleeper));
    stranger.kill().unwrap();
    stranger.wait().unwrap();
    assert!(
        netns::wait_link_gone(None, &format!("{prefix}-ul"), Duration::from_secs(5)),
        "root link left"
    );
    assert_eq!(leftovers(&prefix), Vec::<String>::new());
    assert!(
        Lab::read(lab.dir()).unwrap().is_some(),
        "kept while something was left"
    );
    // A second `down` finds nothing left and forgets the lab.
    let again = Lab::open(lab.dir()).unwrap().down();
    assert!(again.clean(), "{again}");
    assert!(Lab::read(lab.dir()).unwrap().is_none());
}

#[test]
fn a_workload_takes_its_address_from_a_real_dhcp_server_through_udhcpc() {
    if !lab_can_run("a_workload_takes_its_address_...", &["ping"]) {
        return;
    }
    let mut lab = TestLab::with("dhcp", |s| s.computes(1).workload_offloads(false)).unwrap();
    let c1 = lab.plan().compute_ns(1);
    let w = lab
        .add_workload(&WorkloadSpec::new("web", "c1", "tapweb").mac("02:00:00:00:00:0a"))
        .unwrap();
    assert!(ip(&["-n", &w.netns, "link", "show", "eth0"]).contains("02:00:00:00:00:0a"));
    // Offloads are off on both ends, as asked.
    let features = String::from_utf8(in_ns(&w.netns, &["ethtool", "-k", "eth0"]).stdout).unwrap();
    assert!(features.contains("tx-checksumming: off"), "{features}");
    // busybox udhcpd stands where the vrouter's DHCP server will be: on the node's end.
    ip(&["-n", &c1, "addr", "add", "10.77.0.1/24", "dev", "tapweb"]);
    let conf = lab.dir().join("udhcpd.conf");
    let leases = lab.dir().join("udhcpd.leases");
    std::fs::write(&leases, "").unwrap();
    std::fs::write(
        &conf,
        format!(
            "start 10.77.0.50\nend 10.77.0.60\ninterface tapweb\nlease_file {}\n\
             option subnet 255.255.255.0\noption router 10.77.0.1\noption mtu 1400\n\
             option staticroutes 10.78.0.0/16 10.77.0.1\n",
            leases.display()
        ),
    )
    .unwrap();
    let server = ProcessSpec::new("udhcpd", Some(&c1), "busybox")
        .args(["udhcpd", "-f"])
        .arg(conf.display().to_string());
    lab.spawn(&server).unwrap();

    let lease = lab.dhcp("web", Duration::from_secs(10)).unwrap();
    assert_eq!(lease.router, Some("10.77.0.1".parse().unwrap()));
    assert!((50..=60).contains(&lease.address.octets()[3]), "{lease:?}");
    assert_eq!((lease.prefix_len, lease.mtu), (24, Some(1400)));
    // The script applied it: address, MTU, default route, option-121 route.
    let addr = ip(&["-n", &w.netns, "-o", "addr", "show", "dev", "eth0"]);
    assert!(
        addr.contains(&format!("inet {}/24", lease.address)),
        "{addr}"
    );
    assert!(ip(&["-n", &w.netns, "link", "show", "eth0"]).contains("mtu 1400"));
    let routes = ip(&["-n", &w.netns, "route"]);
    assert!(
        routes.contains("default via 10.77.0.1 dev eth0"),
        "{routes}"
    );
    assert!(
        routes.contains("10.78.0.0/16 via 10.77.0.1 dev eth0"),
        "{routes}"
    );
    assert!(ping(&w.netns, "10.77.0.1"));
    assert_eq!(
        lab.workload("web").unwrap().address.as_deref(),
        Some(format!("{}/24", lease.address).as_str())
    );
    assert!(
        lab.state().process("dhcp-web").is_none(),
        "the client ended and was forgotten"
    );

    // Without a server the client gives up within its time and says so.
    lab.stop("udhcpd", Duration::from_secs(2)).unwrap();
    lab.add_workload(&WorkloadSpec::new("db", "c1", "tapdb"))
        .unwrap();
    let err = lab
        .dhcp("db", Duration::from_secs(2))
        .unwrap_err()
        .to_string();
    assert!(err.contains("got no lease"), "{err}");

    let ns = lab.workload("web").unwrap().netns.clone();
    lab.remove_workload("web").unwrap();
    assert!(!netns::exists(&ns));
    assert!(lab.workload("web").is_err());
}

fn controller() -> Option<PathBuf> {
    let bin = binary("cirrus-controller");
    if bin.is_none() {
        skip(
            "the controller part of a lab test",
            "cirrus-controller is not built (cargo build -p cirrus-controller, or CIRRUS_CONTROLLER_BIN)",
        );
    }
    bin
}

#[test]
fn the_controller_in_the_root_namespace_is_reachable_from_a_compute_node() {
    if !lab_can_run("the_controller_..._reachable_from_a_compute_node", &[]) {
        return;
    }
    let Some(bin) = controller() else { return };
    let mut lab = TestLab::new("ctl", 2).unwrap();
    let mut spec = ControllerSpec::new(&lab, bin);
    // The API on the underlay address too, so the node can reach it the way a vrouter
    // reaches the channel.
    let underlay = IpAddr::V4(lab.plan().root_addr());
    spec.api_listen = SocketAddr::new(underlay, 8082);
    lab.start_controller(&spec, Duration::from_secs(60))
        .unwrap();
    let url = format!("http://{underlay}:8082/");
    for k in [1, 2] {
        let ns = lab.plan().compute_ns(k);
        let answer = netns::run_in(&ns, || {
            cirrus_lab::http::get_json(&url, Duration::from_secs(5))
        })
        .unwrap()
        .unwrap();
        assert!(answer.get("links").is_some(), "{answer}");
        // Its channel (what vrouters connect to) and its BGP speaker listen there as well.
        let channel = SocketAddr::new(underlay, cirrus_lab::CHANNEL_PORT);
        assert_eq!(spec.channel_listen, Some(channel));
        assert!(netns::tcp_reachable(&ns, channel, Duration::from_secs(2)).unwrap());
        let bgp = SocketAddr::new(underlay, 179);
        assert!(netns::tcp_reachable(&ns, bgp, Duration::from_secs(2)).unwrap());
    }
    // From the root namespace's loopback the introspect answers, vrouters included (none yet).
    let introspect = format!("{}/bgp/neighbors", spec.introspect_url());
    cirrus_lab::http::get_json(&introspect, Duration::from_secs(5)).unwrap();
    let vrouters = format!("{}/vrouters", spec.introspect_url());
    let answer = cirrus_lab::http::get_json(&vrouters, Duration::from_secs(5)).unwrap();
    assert!(
        cirrus_lab::connected_vrouters(&answer, &["c1".into()]).is_empty(),
        "{answer}"
    );
    assert!(lab.alive("controller"));
}

#[test]
fn a_lab_whose_state_file_is_lost_is_swept_by_its_prefix() {
    if !lab_can_run("a_lab_whose_state_file_is_lost_is_swept_by_its_prefix", &[]) {
        return;
    }
    let mut lab = TestLab::new("swp", 2).unwrap();
    let prefix = lab.plan().prefix().to_string();
    let dir = lab.dir().to_path_buf();
    lab.abandon();
    std::fs::remove_file(dir.join(cirrus_lab::STATE_FILE)).unwrap();
    assert_eq!(leftovers(&prefix).len(), 4, "{:?}", leftovers(&prefix));
    let report = Lab::sweep(&prefix, &dir)
        .unwrap()
        .expect("something to sweep");
    assert!(report.clean(), "{report}");
    assert_eq!(report.namespaces.len(), 3, "{report}");
    assert_eq!(leftovers(&prefix), Vec::<String>::new());
    assert!(Lab::sweep(&prefix, &dir).unwrap().is_none());
}

#[test]
fn offloads_and_the_underlay_mtu_follow_the_spec_also_after_reopening() {
    if !lab_can_run("offloads_and_the_underlay_mtu_follow_the_spec", &[]) {
        return;
    }
    let mut lab = TestLab::with("gso", |s| {
        s.computes(1).workload_offloads(true).underlay_mtu(9000)
    })
    .unwrap();
    let c1 = lab.plan().compute_ns(1);
    assert!(ip(&["-n", &c1, "link", "show", "eth0"]).contains("mtu 9000"));
    assert!(ip(&["link", "show", &lab.plan().root_link()]).contains("mtu 9000"));
    // A workload added through a handle reopened from the state dir, as `sandbox workload
    // add` does, keeps the lab's choice.
    let dir = lab.dir().to_path_buf();
    lab.abandon();
    let mut reopened = Lab::open(&dir).unwrap();
    let w = reopened
        .add_workload(&WorkloadSpec::new("w", "c1", "tapw"))
        .unwrap();
    let features = String::from_utf8(in_ns(&w.netns, &["ethtool", "-k", "eth0"]).stdout).unwrap();
    assert!(features.contains("tx-checksumming: on"), "{features}");
    drop(reopened);
}
