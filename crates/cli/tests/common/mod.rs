//! The harness the sandbox and topology tests share: a [`Sandbox`] driven as a user drives it
//! (`cirrusctl sandbox ...`, `cirrusctl apply -f -`, the VNC REST API, `sandbox exec` for
//! ping, busybox nc and tshark), torn down with `sandbox down` when dropped (also when the
//! test panics), and the bounded waits the tests use. Skips (failures under CI=true) through
//! `cirrus_lab::testing`.

#![allow(dead_code)] // each test file uses its own part of the harness

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cirrus_lab::testing::{lab_can_run, skip, unique_prefix};
use cirrus_lab::{Lab, netns};
use serde_json::Value;

/// A program built beside cirrusctl, or named by `env`.
pub fn program(name: &str, env: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p));
    }
    let beside = Path::new(env!("CARGO_BIN_EXE_cirrusctl")).with_file_name(name);
    beside.is_file().then_some(beside)
}

/// `true` when a sandbox can run here with `tools` besides the lab's own; otherwise reports
/// the skip (a failure under CI=true) and returns `false`.
pub fn sandbox_can_run(test: &str, tools: &[&str]) -> bool {
    if !lab_can_run(test, tools) {
        return false;
    }
    if program("cirrus-controller", "CIRRUS_CONTROLLER_BIN").is_none()
        || program("cirrus-vrouter", "CIRRUS_VROUTER_BIN").is_none()
    {
        skip(
            test,
            "cirrus-controller and cirrus-vrouter are not built beside cirrusctl",
        );
        return false;
    }
    true
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Calls `probe` until it gives `Some`, at most `timeout`; panics naming `what` with `ctx()`.
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Option<T>,
    ctx: impl FnOnce() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}\n{}",
            ctx()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One sandbox under test: its prefix, state dir and API; `down` when dropped.
pub struct Sandbox {
    pub prefix: String,
    pub dir: PathBuf,
    pub api: String,
    pub introspect: String,
    /// The controller's analytics query API.
    pub analytics: String,
}

impl Sandbox {
    pub fn new(tag: &str) -> Sandbox {
        let prefix = unique_prefix(tag);
        let dir = std::env::temp_dir().join(format!("cirrusctl-sandbox-{prefix}"));
        Sandbox {
            api: format!("127.0.0.1:{}", free_port()),
            introspect: format!("127.0.0.1:{}", free_port()),
            analytics: format!("127.0.0.1:{}", free_port()),
            prefix,
            dir,
        }
    }

    /// `cirrusctl sandbox --prefix P --state-dir D <args>`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cirrusctl"));
        c.env_remove("CIRRUS_API")
            .env_remove("CIRRUS_SANDBOX_PREFIX")
            .env_remove("CIRRUS_SANDBOX_DIR")
            .env("CIRRUS_API", format!("http://{}", self.api))
            .arg("sandbox")
            .arg("--prefix")
            .arg(&self.prefix)
            .arg("--state-dir")
            .arg(&self.dir)
            .args(args)
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs a sandbox command that must succeed; its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "cirrusctl sandbox {args:?}: {}\nstdout: {stdout}\nstderr: {}\n{}",
            out.status,
            text(&out.stderr),
            self.logs()
        );
        stdout
    }

    pub fn up_args<'a>(&'a self, computes: &'a str) -> Vec<&'a str> {
        vec![
            "up",
            "--computes",
            computes,
            "--api-listen",
            &self.api,
            "--introspect-listen",
            &self.introspect,
            "--analytics-listen",
            &self.analytics,
            "--timeout",
            "60",
        ]
    }

    /// `sandbox up --computes N`, which must succeed.
    pub fn up(&self, computes: u32) -> String {
        let n = computes.to_string();
        self.ok(&self.up_args(&n))
    }

    /// The last lines of every log of the sandbox.
    pub fn logs(&self) -> String {
        let mut text = String::new();
        if let Ok(dir) = std::fs::read_dir(self.dir.join("logs")) {
            for e in dir.flatten() {
                let body = std::fs::read_to_string(e.path()).unwrap_or_default();
                let tail: Vec<&str> = body.lines().rev().take(30).collect();
                text.push_str(&format!("--- {}\n", e.path().display()));
                for l in tail.into_iter().rev() {
                    text.push_str(l);
                    text.push('\n');
                }
            }
        }
        text
    }

    /// Namespaces and the root link carrying the prefix that exist now.
    pub fn leftovers(&self) -> Vec<String> {
        let mut left: Vec<String> = netns::list()
            .into_iter()
            .filter(|n| n.starts_with(&format!("{}-", self.prefix)))
            .collect();
        if netns::link_exists(None, &format!("{}-ul", self.prefix)) {
            left.push(format!("{}-ul", self.prefix));
        }
        left
    }

    // ---- config, as a user gives it ----

    /// `cirrusctl --api <sandbox's> <args>`.
    pub fn cli(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cirrusctl"));
        c.args(["--api", &format!("http://{}", self.api)])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    }

    /// `cirrusctl apply -f -` with `yaml` on stdin, which must succeed; what it printed.
    pub fn apply(&self, yaml: &str) -> String {
        let out = self.cli(&["apply", "-f", "-"], Some(yaml));
        assert!(
            out.status.success(),
            "cirrusctl apply: {}\n{}\n{yaml}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// `cirrusctl apply -f examples/<name>`.
    pub fn apply_example(&self, name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples")
            .join(name);
        let out = self.cli(&["apply", "-f", &path.display().to_string()], None);
        assert!(out.status.success(), "{out:?}");
        text(&out.stdout)
    }

    /// A VNC REST call that must succeed; its JSON answer.
    pub fn rest(&self, method: &'static str, path: &str, body: Option<&Value>) -> Value {
        let url = format!("http://{}{path}", self.api);
        let answer = cirrus_lab::http::call(method, &url, body, Duration::from_secs(10)).unwrap();
        assert!(
            answer.ok(),
            "{method} {url}: {} {}",
            answer.status,
            answer.body
        );
        answer.json().unwrap_or(Value::Null)
    }

    /// The uuid of the object `kind` named `fq_name`.
    pub fn uuid(&self, kind: &str, fq_name: &[&str]) -> String {
        let body = serde_json::json!({"type": kind, "fq_name": fq_name});
        self.rest("POST", "/fqname-to-id", Some(&body))["uuid"]
            .as_str()
            .unwrap()
            .to_string()
    }

    // ---- workloads and traffic ----

    /// `sandbox workload add NAME --compute cK --network FQ`; the address DHCP gave (which
    /// must be its instance-ip).
    pub fn add_workload(&self, name: &str, compute: &str, network: &str) -> String {
        let added = self.ok(&[
            "workload",
            "add",
            name,
            "--compute",
            compute,
            "--network",
            network,
        ]);
        assert!(added.contains("from DHCP"), "{added}");
        assert!(
            !added.contains("instance-ip is"),
            "DHCP gave another address than the instance-ip: {added}"
        );
        // "workload W on cK in NET: A/L from DHCP ..."
        let cidr = added
            .split(": ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {added}"));
        cidr.split('/').next().unwrap().to_string()
    }

    /// `sandbox exec NAME -- argv`.
    pub fn exec(&self, name: &str, argv: &[&str]) -> Output {
        let mut args = vec!["exec", name, "--"];
        args.extend_from_slice(argv);
        self.run(&args)
    }

    /// `sandbox exec FROM -- ping -c 1 -W 1 TO` succeeded.
    pub fn ping(&self, from: &str, to: &str) -> bool {
        self.exec(from, &["ping", "-c", "1", "-W", "1", to])
            .status
            .success()
    }

    /// Pings until one answers, at most `timeout`.
    pub fn wait_ping(&self, from: &str, to: &str, timeout: Duration) {
        wait_until(
            &format!("{from} to ping {to}"),
            timeout,
            || self.ping(from, to).then_some(()),
            || self.logs(),
        );
    }

    /// A path of compute node `cK`'s vrouter introspect, read with curl inside the node.
    pub fn vrouter_introspect(&self, compute: &str, path: &str) -> Value {
        let url = format!("http://{}{path}", cirrus_lab::VROUTER_INTROSPECT);
        let out = self.exec(compute, &["curl", "-sf", "--max-time", "5", &url]);
        assert!(out.status.success(), "curl {url} in {compute}: {out:?}");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// The lab behind the sandbox, for what the CLI has no command for (restarting a process).
    pub fn lab(&self) -> Lab {
        Lab::open(&self.dir).unwrap()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if Lab::read(&self.dir).is_ok_and(|s| s.is_some()) {
            let down = self.run(&["down"]);
            if !down.status.success() {
                eprintln!(
                    "sandbox {} was not removed completely: {}{}",
                    self.prefix,
                    text(&down.stdout),
                    text(&down.stderr)
                );
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The address `sandbox status` shows for `workload`.
pub fn address(status: &str, workload: &str) -> String {
    let line = status
        .lines()
        .find(|l| l.split_whitespace().next() == Some(workload))
        .unwrap_or_else(|| panic!("no {workload} in:\n{status}"));
    let cidr = line.split_whitespace().nth(3).unwrap();
    cidr.split('/').next().unwrap().to_string()
}

/// A program running in a namespace of the sandbox through `sandbox exec NAME -- argv`, in
/// the background. `ip netns exec` execs the program, so it is the child of the `cirrusctl`
/// this test started: dropping this kills that pid (SIGKILL), so no process is left in a
/// namespace `down` deletes, also when the test panics.
pub struct Background {
    child: Option<std::process::Child>,
    pid: Option<u32>,
    pub what: String,
}

/// The children of process `pid` (every thread's).
fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            let list = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
            found.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    found
}

impl Background {
    pub fn start(sb: &Sandbox, name: &str, argv: &[&str]) -> Background {
        Background::spawn(sb, name, argv, Stdio::null(), Stdio::null())
    }

    /// As [`Background::start`], keeping what it prints for [`Background::output`].
    pub fn start_capturing(sb: &Sandbox, name: &str, argv: &[&str]) -> Background {
        Background::spawn(sb, name, argv, Stdio::piped(), Stdio::piped())
    }

    fn spawn(sb: &Sandbox, name: &str, argv: &[&str], out: Stdio, err: Stdio) -> Background {
        let mut args = vec!["exec", name, "--"];
        args.extend_from_slice(argv);
        let what = format!("sandbox exec {name} -- {}", argv.join(" "));
        let child = sb.command(&args).stdout(out).stderr(err).spawn().unwrap();
        let parent = child.id();
        let mut bg = Background {
            child: Some(child),
            pid: None,
            what,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while bg.pid.is_none() && Instant::now() < deadline {
            bg.pid = children(parent).first().copied();
            if bg.pid.is_none() {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        assert!(bg.pid.is_some(), "{} did not start", bg.what);
        bg
    }

    /// Whether it still runs.
    pub fn running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// Waits for it to end by itself (at most `timeout`); its output.
    pub fn output(mut self, timeout: Duration) -> Output {
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + timeout;
        while child.try_wait().unwrap().is_none() {
            if Instant::now() >= deadline {
                self.child = Some(child);
                panic!("{} did not end within {timeout:?}", self.what);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.pid = None;
        child.wait_with_output().unwrap()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let (Some(pid), Some(child)) = (self.pid, self.child.as_mut()) {
            // Still ours: its parent (our cirrusctl) has not been reaped, so the pid is not
            // reused by anyone else while it runs.
            if child.try_wait().ok().flatten().is_none() {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
            let _ = child.wait();
        }
    }
}

/// A tshark capture running in a namespace of the sandbox (`sandbox exec NAME -- tshark`),
/// started and ready (it said "Capturing on"); it ends by itself after `count` packets or
/// `seconds`, whichever comes first.
pub struct Capture {
    bg: Background,
}

impl Capture {
    /// `tshark -n -l -c COUNT -a duration:SECONDS <args>` in `name` (a workload, `cK` or
    /// `underlay`); `args` give the interface, filter, decodes and fields.
    pub fn start(sb: &Sandbox, name: &str, args: &[&str], count: u32, seconds: u32) -> Capture {
        use std::io::{BufRead, BufReader};
        let count = count.to_string();
        let duration = format!("duration:{seconds}");
        let mut argv = vec!["tshark", "-n", "-l", "-c", &count, "-a", &duration];
        argv.extend_from_slice(args);
        let mut bg = Background::spawn(sb, name, &argv, Stdio::piped(), Stdio::piped());
        // Wait until it captures: tshark says "Capturing on" when it starts its capture child
        // and (4.x) "Capture started" once that captures; packets in between are not seen.
        let stderr = bg.child.as_mut().unwrap().stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut said = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                said.push_str(&line);
                said.push('\n');
                if line.contains("Capturing on") {
                    let _ = tx.send(Ok(false));
                }
                if line.contains("Capture started") {
                    let _ = tx.send(Ok(true));
                }
            }
            let _ = tx.send(Err(said));
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut announced = None;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // Without "Capture started" (older tshark), a moment after "Capturing on".
            let wait = announced.map_or(left, |t: Instant| {
                (t + Duration::from_secs(2)).saturating_duration_since(Instant::now())
            });
            match rx.recv_timeout(wait) {
                Ok(Ok(true)) => break,
                Ok(Ok(false)) => announced = Some(Instant::now()),
                Ok(Err(said)) => panic!("{} failed to start: {said}", bg.what),
                Err(_) if announced.is_some() => break,
                Err(_) => panic!("{} did not start capturing within 20 s", bg.what),
            }
        }
        Capture { bg }
    }

    /// Waits until tshark ends (it must succeed); the lines it printed, one per packet.
    pub fn lines(self) -> Vec<String> {
        let what = self.bg.what.clone();
        let out = self.bg.output(Duration::from_secs(60));
        assert!(out.status.success(), "{what} failed: {out:?}");
        text(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    }
}
