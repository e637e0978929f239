//! `cirrusctl sandbox` end to end, as a user runs it (root): `up` with a real controller and
//! real vrouters, workloads that take their addresses by DHCP and ping each other across
//! compute nodes, `status`, then a vrouter killed with SIGKILL and `down`, after which no
//! namespace, link or process of the sandbox is left; and `down` after `cirrusctl` itself is
//! killed in the middle of `up`. Skips (fails under CI=true) without root, the tools, or the
//! programs (built beside cirrusctl, or CIRRUS_CONTROLLER_BIN / CIRRUS_VROUTER_BIN).

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cirrus_lab::Lab;
use cirrus_lab::testing::{lab_can_run, skip};
use common::{Sandbox, address, program};

#[test]
fn up_workloads_ping_across_nodes_then_a_crash_and_down_leave_nothing() {
    let test = "up_workloads_ping_across_nodes_then_a_crash_and_down_leave_nothing";
    if !lab_can_run(test, &["ping"]) {
        return;
    }
    let (Some(_), Some(_)) = (
        program("cirrus-controller", "CIRRUS_CONTROLLER_BIN"),
        program("cirrus-vrouter", "CIRRUS_VROUTER_BIN"),
    ) else {
        skip(
            test,
            "cirrus-controller and cirrus-vrouter are not built beside cirrusctl",
        );
        return;
    };
    let sb = Sandbox::new("sbx");
    let up = sb.ok(&sb.up_args("2"));
    assert!(
        up.contains(&format!("VNC API     http://{}", sb.api)),
        "{up}"
    );
    let status = sb.ok(&["status"]);
    assert_eq!(
        status.matches("connected").count() - status.matches("NOT CONNECTED").count(),
        2,
        "{status}"
    );

    let apply = Command::new(env!("CARGO_BIN_EXE_cirrusctl"))
        .args(["--api", &format!("http://{}", sb.api), "apply", "-f"])
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo.yaml"))
        .output()
        .unwrap();
    assert!(apply.status.success(), "{apply:?}");
    for (name, node) in [("web1", "c1"), ("web2", "c2")] {
        let added = sb.ok(&[
            "workload",
            "add",
            name,
            "--compute",
            node,
            "--network",
            "default-domain:demo:web",
        ]);
        assert!(added.contains("from DHCP"), "{added}");
        assert!(
            !added.contains("instance-ip is"),
            "DHCP gave another address: {added}"
        );
    }
    let status = sb.ok(&["status"]);
    let web2 = address(&status, "web2");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ping = sb.run(&["exec", "web1", "--", "ping", "-c", "1", "-W", "1", &web2]);
        if ping.status.success() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "web1 cannot ping web2 ({web2}) across the overlay:\n{}\n{}",
            String::from_utf8_lossy(&ping.stdout),
            sb.logs()
        );
    }
    // `exec` passes the command's exit status through.
    assert_eq!(
        sb.run(&["exec", "web1", "--", "sh", "-c", "exit 7"])
            .status
            .code(),
        Some(7)
    );

    // A vrouter crashes; `down` still removes everything and says it had ended.
    let state = Lab::read(&sb.dir).unwrap().unwrap();
    let vrouter = state.process("vrouter-c1").unwrap().clone();
    Command::new("kill")
        .args(["-9", &vrouter.pid.to_string()])
        .status()
        .unwrap();
    let down = sb.ok(&["down"]);
    assert!(down.contains("already ended vrouter-c1"), "{down}");
    assert_eq!(sb.leftovers(), Vec::<String>::new());
    for p in &state.processes {
        assert!(!cirrus_lab::process::alive(p), "{} still runs", p.name);
    }
    assert!(
        !sb.dir.exists(),
        "the state dir is left: {}",
        sb.dir.display()
    );
}

#[test]
fn down_after_cirrusctl_itself_is_killed_during_up() {
    let test = "down_after_cirrusctl_itself_is_killed_during_up";
    if !lab_can_run(test, &[]) {
        return;
    }
    if program("cirrus-controller", "CIRRUS_CONTROLLER_BIN").is_none() {
        skip(test, "cirrus-controller is not built beside cirrusctl");
        return;
    }
    let sb = Sandbox::new("kil");
    // `up` is held in its wait for the vrouter's port IPC by a stand-in that never serves one
    // (a shell that sleeps), and killed there: after the controller and the stand-in run and
    // are recorded, before `up` could finish or clean up.
    std::fs::create_dir_all(&sb.dir).unwrap();
    let stand_in = sb.dir.join("sleeping-vrouter");
    std::fs::write(&stand_in, "#!/bin/sh\nexec sleep 600\n").unwrap();
    std::fs::set_permissions(
        &stand_in,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut args = sb.up_args("1");
    let stand_in_arg = stand_in.display().to_string();
    args.extend(["--vrouter-bin", &stand_in_arg]);
    let mut child = sb
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let state = loop {
        let state = Lab::read(&sb.dir).ok().flatten();
        if let Some(s) = state.filter(|s| s.process("vrouter-c1").is_some()) {
            break s;
        }
        assert!(Instant::now() < deadline, "up never started the vrouter");
        assert!(
            child.try_wait().unwrap().is_none(),
            "up ended before starting the vrouter:\n{}",
            sb.logs()
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let processes = state.processes.clone();
    for p in &processes {
        assert!(
            cirrus_lab::process::alive(p),
            "{} is not running:\n{}",
            p.name,
            sb.logs()
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!sb.leftovers().is_empty());

    let down = sb.ok(&["down"]);
    assert!(down.contains("stopped vrouter-c1, controller"), "{down}");
    assert_eq!(sb.leftovers(), Vec::<String>::new());
    for p in &processes {
        assert!(!cirrus_lab::process::alive(p), "{} still runs", p.name);
    }
    // And a second `down` finds nothing.
    let again = sb.ok(&["down"]);
    assert!(again.contains("no sandbox is up"), "{again}");
}
