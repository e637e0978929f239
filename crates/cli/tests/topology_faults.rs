//! Faults, on a sandbox (`cirrusctl sandbox`), the processes restarted through `cirrus-lab`
//! (the CLI has no command for that):
//! - a vrouter killed with SIGKILL stops forwarding; restarted on its state dir it has its
//!   ports back without being told again, and traffic resumes;
//! - the controller stopped: traffic between existing workloads keeps flowing; restarted on
//!   its data dir, its config is all there and a new workload gets DHCP and reaches the others;
//! - two controllers on one etcd, every vrouter connected to both: killing one (SIGKILL), a
//!   TCP stream that was running goes on to its end, whole and in order, and new flows set up.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::process::Command;
use std::time::{Duration, Instant};

use cirrus_lab::{CHANNEL_PORT, ControllerSpec, Lab, ProcessSpec, VrouterSpec};
use common::{Background, Sandbox, free_port, program, sandbox_can_run, text, wait_until};

const NET: &str = "default-domain:flt:net";

const CONFIG: &str = "\
kind: project
fq_name: [default-domain, flt]
---
kind: network-ipam
fq_name: [default-domain, flt, flt-ipam]
---
kind: virtual-network
fq_name: [default-domain, flt, net]
network_ipam_refs:
  - to: [default-domain, flt, flt-ipam]
    attr:
      ipam_subnets:
        - subnet: {ip_prefix: 10.50.0.0, ip_prefix_len: 24}
";

fn vrouter_bin() -> std::path::PathBuf {
    program("cirrus-vrouter", "CIRRUS_VROUTER_BIN").unwrap()
}

fn controller_bin() -> std::path::PathBuf {
    program("cirrus-controller", "CIRRUS_CONTROLLER_BIN").unwrap()
}

/// SIGKILL to the lab's process `name` (by its recorded pid), and waits until it is gone.
fn kill9(lab: &mut Lab, name: &str) {
    let record = lab.process(name).unwrap().clone();
    assert!(cirrus_lab::process::alive(&record), "{name} is not running");
    let killed = Command::new("kill")
        .args(["-9", &record.pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    wait_until(
        &format!("{name} to end"),
        Duration::from_secs(10),
        || (!lab.alive(name)).then_some(()),
        String::new,
    );
}

/// The controller as `sandbox up` started it (same API, introspect, channel and data dir).
fn sandbox_controller(sb: &Sandbox, lab: &Lab) -> ControllerSpec {
    let mut spec = ControllerSpec::new(lab, controller_bin());
    spec.api_listen = sb.api.parse().unwrap();
    spec.introspect_listen = sb.introspect.parse().unwrap();
    spec
}

fn channel(lab: &Lab, host: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(lab.plan().underlay_addr(host)), CHANNEL_PORT)
}

#[test]
fn a_killed_vrouter_and_a_restarted_controller_keep_ports_config_and_traffic() {
    let test = "a_killed_vrouter_and_a_restarted_controller_keep_ports_config_and_traffic";
    if !sandbox_can_run(test, &["ping"]) {
        return;
    }
    let sb = Sandbox::new("flt");
    sb.up(2);
    sb.apply(CONFIG);
    let f1 = sb.add_workload("f1", "c1", NET);
    let f2 = sb.add_workload("f2", "c2", NET);
    sb.wait_ping("f1", &f2, Duration::from_secs(20));
    let ports_before = sb.vrouter_introspect("c1", "/ports");
    let vmi = sb.uuid(
        "virtual-machine-interface",
        &["default-domain", "flt", "f1"],
    );
    assert!(ports_before.to_string().contains(&vmi), "{ports_before}");

    // ---- kill -9 the vrouter of c1, then restart it on its state dir ----
    let restarted;
    {
        let mut lab = sb.lab();
        kill9(&mut lab, "vrouter-c1");
        assert!(!sb.ping("f1", &f2), "f1 reaches f2 with its vrouter dead");
        let spec = VrouterSpec::new("c1", vrouter_bin(), &[channel(&lab, 1)]);
        restarted = Instant::now();
        lab.start_vrouter(&spec, Duration::from_secs(60)).unwrap();
    }
    wait_until(
        "the restarted vrouter to have f1's port again",
        Duration::from_secs(20),
        || {
            sb.vrouter_introspect("c1", "/ports")
                .to_string()
                .contains(&vmi)
                .then_some(())
        },
        || sb.logs(),
    );
    sb.wait_ping("f1", &f2, Duration::from_secs(30));
    // The figure (target 10 s), printed for the closing note, not asserted.
    println!(
        "vrouter restart to f1's first ping across nodes: {:.2} s (target <= 10 s)",
        restarted.elapsed().as_secs_f64()
    );
    sb.wait_ping("f2", &f1, Duration::from_secs(10));

    // ---- stop the controller: traffic keeps flowing; restart it on its data dir ----
    let spec = {
        let mut lab = sb.lab();
        let spec = sandbox_controller(&sb, &lab);
        lab.stop(&spec.name, Duration::from_secs(5)).unwrap();
        spec
    };
    let down = sb.cli(&["get", "virtual-network", NET], None);
    assert!(!down.status.success(), "the API still answers: {down:?}");
    for _ in 0..3 {
        assert!(
            sb.ping("f1", &f2),
            "traffic stopped with the controller\n{}",
            sb.logs()
        );
    }
    {
        let mut lab = sb.lab();
        lab.start_controller(&spec, Duration::from_secs(60))
            .unwrap();
        cirrus_lab::wait_vrouters_connected(
            &spec.introspect_url(),
            &["c1".to_string(), "c2".to_string()],
            Duration::from_secs(30),
        )
        .unwrap();
    }
    let kept = sb.cli(&["get", "virtual-network", NET, "-o", "json"], None);
    assert!(kept.status.success(), "{kept:?}");
    assert!(text(&kept.stdout).contains("10.50.0.0"), "{kept:?}");
    assert_eq!(
        sb.uuid(
            "virtual-machine-interface",
            &["default-domain", "flt", "f1"]
        ),
        vmi
    );
    let f3 = sb.add_workload("f3", "c2", NET);
    sb.wait_ping("f3", &f1, Duration::from_secs(20));
    sb.wait_ping("f1", &f2, Duration::from_secs(10));
    assert!(f3 != f1 && f3 != f2);
}

#[test]
fn with_two_controllers_killing_one_keeps_a_tcp_stream_and_new_flows() {
    let test = "with_two_controllers_killing_one_keeps_a_tcp_stream_and_new_flows";
    if !sandbox_can_run(test, &["ping", "etcd", "ss"]) {
        return;
    }
    let sb = Sandbox::new("two");
    sb.up(2);
    // Two controllers on one etcd (the sandbox's own store is embedded: it is replaced), the
    // second on the lab's second controller address, and the vrouters restarted with both.
    let second_api = {
        let mut lab = sb.lab();
        let mut a = sandbox_controller(&sb, &lab);
        lab.stop(&a.name, Duration::from_secs(5)).unwrap();
        let (client, peer) = (free_port(), free_port());
        let client_url = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let etcd = ProcessSpec::new("etcd", None, "etcd").args([
            "--name=sandbox".to_string(),
            format!("--data-dir={}", lab.state_dir().join("etcd").display()),
            format!("--listen-client-urls={client_url}"),
            format!("--advertise-client-urls={client_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster=sandbox={peer_url}"),
            "--log-level=warn".to_string(),
        ]);
        lab.spawn(&etcd).unwrap();
        wait_until(
            "etcd to answer",
            Duration::from_secs(30),
            || {
                cirrus_lab::http::call(
                    "GET",
                    &format!("{client_url}/health"),
                    None,
                    Duration::from_secs(1),
                )
                .ok()
                .filter(|a| a.ok())
            },
            || sb.logs(),
        );
        let store = format!("etcd://127.0.0.1:{client}");
        a.data_dir = Some(lab.state_dir().join("controller-a"));
        a.extra_args = vec!["--store".into(), store.clone()];
        lab.start_controller(&a, Duration::from_secs(60)).unwrap();

        let second = IpAddr::V4(lab.add_root_address(2).unwrap());
        let mut b = ControllerSpec::new(&lab, controller_bin());
        b.name = "controller2".into();
        b.hostname = format!("{}-control2", sb.prefix);
        b.api_listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        b.introspect_listen = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        b.channel_listen = Some(SocketAddr::new(second, CHANNEL_PORT));
        b.bgp_address = Some(second);
        b.extra_args = vec!["--store".into(), store];
        lab.start_controller(&b, Duration::from_secs(60)).unwrap();

        let both = [channel(&lab, 1), channel(&lab, 2)];
        for c in ["c1", "c2"] {
            lab.stop(&cirrus_lab::vrouter_name(c), Duration::from_secs(5))
                .unwrap();
            let spec = VrouterSpec::new(c, vrouter_bin(), &both);
            lab.start_vrouter(&spec, Duration::from_secs(60)).unwrap();
        }
        let nodes = ["c1".to_string(), "c2".to_string()];
        for introspect in [a.introspect_url(), b.introspect_url()] {
            cirrus_lab::wait_vrouters_connected(&introspect, &nodes, Duration::from_secs(30))
                .unwrap();
        }
        b.api_url()
    };
    sb.apply(CONFIG);
    sb.add_workload("g1", "c1", NET);
    let g2 = sb.add_workload("g2", "c2", NET);
    sb.wait_ping("g1", &g2, Duration::from_secs(20));

    // A stream of 60 numbered lines, one every 100 ms, from g2 to g1.
    let script = sb.dir.join("ticker.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\ni=0\nwhile [ $i -lt 60 ]; do echo $i; i=$((i+1)); sleep 0.1; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let script = script.display().to_string();
    let _ticker = Background::start(
        &sb,
        "g2",
        &["busybox", "nc", "-l", "-p", "6000", "-e", &script],
    );
    let _echo = Background::start(
        &sb,
        "g2",
        &["busybox", "nc", "-ll", "-p", "6001", "-e", "echo", "g2"],
    );
    wait_until(
        "g2 to listen on 6000 and 6001",
        Duration::from_secs(10),
        || {
            let ss = text(&sb.exec("g2", &["ss", "-ltn"]).stdout);
            (ss.contains(":6000") && ss.contains(":6001")).then_some(())
        },
        || sb.logs(),
    );
    let mut stream =
        Background::start_capturing(&sb, "g1", &["busybox", "nc", "-w", "3", &g2, "6000"]);
    std::thread::sleep(Duration::from_millis(1500));

    // Kill the first controller (the one every vrouter was told first) mid-stream.
    assert!(stream.running(), "the stream ended early");
    kill9(&mut sb.lab(), "controller");

    // New flows set up: a new ping, a new TCP connection.
    sb.wait_ping("g1", &g2, Duration::from_secs(10));
    let said = wait_until(
        "a new connection from g1 to g2:6001",
        Duration::from_secs(10),
        || {
            let out = sb.exec("g1", &["busybox", "nc", "-w", "2", &g2, "6001"]);
            let said = text(&out.stdout).trim().to_string();
            (!said.is_empty()).then_some(said)
        },
        || sb.logs(),
    );
    assert_eq!(said, "g2");
    // A new workload, through the second controller's API (the sandbox is told to use it):
    // its port's config and routes can only come from the second controller now.
    sb.lab()
        .set_meta("api", serde_json::json!(second_api))
        .unwrap();
    let g3 = sb.add_workload("g3", "c2", NET);
    sb.wait_ping("g1", &g3, Duration::from_secs(20));

    let out = stream.output(Duration::from_secs(30));
    let expected: String = (0..60).map(|i| format!("{i}\n")).collect();
    assert_eq!(
        text(&out.stdout),
        expected,
        "the stream was cut or changed when a controller died\n{}",
        sb.logs()
    );
}
