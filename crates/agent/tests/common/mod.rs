//! Shared by the agent's tests against a real `cirrus-controller`: the controller process
//! (killed by PID on drop, also when a test panics), a blocking HTTP/1.1 client for its
//! VNC API, the vrouters (real agents in-process over in-memory devices, joined by an
//! in-memory fabric), traffic helpers, and the skip rule.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cirrus_agent::fabric::FabricAddr;
use cirrus_agent::node::{AgentOptions, MemDevices, NodeEvent, Running, controller, start};
use cirrus_agent::testing::memfabric::FabricNode;
use cirrus_dataplane::wire::MacAddr;
use cirrus_packet_io::memory::MemPeer;
use serde_json::{Value, json};

pub use cirrus_testkit::skip;

/// The controller binary: `$CIRRUS_CONTROLLER_BIN`, else the one built beside this test.
pub fn controller_bin() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CIRRUS_CONTROLLER_BIN") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    // <target>/debug/deps/<test> -> <target>/debug/cirrus-controller
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("cirrus-controller");
    p.is_file().then_some(p)
}

/// The controller binary when it is built and has the vrouter channel; else the test is
/// skipped (see [`skip`]).
pub fn controller_or_skip(test: &str) -> Option<std::path::PathBuf> {
    let Some(bin) = controller_bin() else {
        skip(
            test,
            "cirrus-controller not built (cargo build -p cirrus-controller, or set $CIRRUS_CONTROLLER_BIN)",
        );
        return None;
    };
    let help = std::process::Command::new(&bin)
        .arg("--help")
        .output()
        .ok()?;
    if !String::from_utf8_lossy(&help.stdout).contains("--channel-listen") {
        let why = format!(
            "{} has no vrouter channel (--channel-listen): rebuild it",
            bin.display()
        );
        skip(test, &why);
        return None;
    }
    Some(bin)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One request with `Connection: close`: status and JSON body.
pub fn http(
    method: &str,
    addr: SocketAddr,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("{path}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(15))).ok();
    let body = body.map(Value::to_string).unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").ok_or("no header")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut r = rest;
        while let Some((len, tail)) = r.split_once("\r\n") {
            let n = usize::from_str_radix(len.trim(), 16).unwrap_or(0);
            if n == 0 || tail.len() < n {
                break;
            }
            out.push_str(&tail[..n]);
            r = tail[n..].trim_start_matches("\r\n");
        }
        out
    } else {
        rest.to_string()
    };
    Ok((
        status,
        serde_json::from_str(&payload).unwrap_or(Value::String(payload)),
    ))
}

/// A `cirrus-controller` on the embedded store in `dir`.
pub struct Controller {
    child: Option<Child>,
    pub api: SocketAddr,
    pub introspect: SocketAddr,
    pub channel: SocketAddr,
    bgp_port: u16,
    pub dir: PathBuf,
    bin: PathBuf,
    extra: Vec<String>,
}

impl Controller {
    pub fn start(bin: &Path, dir: &Path) -> Controller {
        Controller::start_with(bin, dir, &[])
    }

    /// [`Controller::start`] with more flags.
    pub fn start_with(bin: &Path, dir: &Path, extra: &[&str]) -> Controller {
        let mut c = Controller {
            child: None,
            api: SocketAddr::from(([127, 0, 0, 1], free_port())),
            introspect: SocketAddr::from(([127, 0, 0, 1], free_port())),
            channel: SocketAddr::from(([127, 0, 0, 1], free_port())),
            bgp_port: free_port(),
            dir: dir.to_path_buf(),
            bin: bin.to_path_buf(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        c.spawn();
        c
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("controller.log"))
            .unwrap();
        let child = Command::new(&self.bin)
            .args(["--api-listen", &self.api.to_string()])
            .args(["--data-dir", &self.dir.join("data").display().to_string()])
            .args(["--hostname", "cn1", "--bgp-address", "127.0.0.1"])
            .args(["--bgp-port", &self.bgp_port.to_string()])
            .args(["--introspect-listen", &self.introspect.to_string()])
            .args(["--channel-listen", &self.channel.to_string()])
            .args(&self.extra)
            .args(["--log", "info"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawning cirrus-controller");
        self.child = Some(child);
        let t = Instant::now();
        while http("GET", self.api, "/", None).map(|r| r.0) != Ok(200) {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "controller not ready:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops it (SIGKILL, by PID).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same data dir and ports.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    pub fn log(&self) -> String {
        let l = std::fs::read_to_string(self.dir.join("controller.log")).unwrap_or_default();
        l[l.len().saturating_sub(4000)..].to_string()
    }

    pub fn api(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (s, v) = http(method, self.api, path, body.as_ref()).unwrap();
        assert!(
            (200..300).contains(&s),
            "{method} {path}: {s} {v}\n{}",
            self.log()
        );
        v
    }

    pub fn create(&self, kind: &str, fields: Value) -> String {
        let v = self.api("POST", &format!("/{kind}s"), Some(json!({ kind: fields })));
        v[kind]["uuid"].as_str().unwrap().to_string()
    }

    pub fn get(&self, kind: &str, uuid: &str) -> Value {
        self.api("GET", &format!("/{kind}/{uuid}"), None)[kind].clone()
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.kill();
    }
}

pub const P: [&str; 2] = ["default-domain", "default-project"];

/// A network with one subnet and a route target; returns its uuid.
pub fn network(c: &Controller, name: &str, cidr: &str, target: &str) -> String {
    let ipam = format!("{name}-ipam");
    c.create(
        "network-ipam",
        json!({"fq_name": [P[0], P[1], ipam], "parent_type": "project"}),
    );
    let (addr, len) = cidr.split_once('/').unwrap();
    c.create(
        "virtual-network",
        json!({
            "fq_name": [P[0], P[1], name], "parent_type": "project",
            "network_ipam_refs": [{"to": [P[0], P[1], ipam],
                "attr": {"ipam_subnets": [{"subnet": {"ip_prefix": addr, "ip_prefix_len": len.parse::<u32>().unwrap()}}]}}],
            "route_target_list": {"route_target": [target]},
        }),
    )
}

/// A port bound to vrouter `host` with instance IP `ip`: its uuid and MAC.
pub fn port(c: &Controller, vn: &str, name: &str, host: &str, ip: &str) -> (String, MacAddr) {
    let vmi = c.create(
        "virtual-machine-interface",
        json!({
            "fq_name": [P[0], P[1], name], "parent_type": "project",
            "virtual_network_refs": [{"to": [P[0], P[1], vn]}],
            "virtual_machine_interface_bindings": {"key_value_pair": [{"key": "host_id", "value": host}]},
        }),
    );
    c.create(
        "instance-ip",
        json!({
            "fq_name": [format!("{name}-v4")], "instance_ip_address": ip,
            "virtual_network_refs": [{"to": [P[0], P[1], vn]}],
            "virtual_machine_interface_refs": [{"to": [P[0], P[1], name]}],
        }),
    );
    let mac = c.get("virtual-machine-interface", &vmi)["virtual_machine_interface_mac_addresses"]["mac_address"][0]
        .as_str()
        .and_then(cirrus_agent::config::parse_mac)
        .expect("the API gives the port a MAC");
    (vmi, mac)
}

pub fn fabric_addr(n: u8) -> FabricAddr {
    FabricAddr {
        ip: Ipv4Addr::new(198, 18, 0, 10 + n),
        prefix_len: 24,
        mac: MacAddr([2, 0xfa, 0, 0, 0, 10 + n]),
        gateway: None,
    }
}

/// A running agent with its devices' peer ends.
pub struct Vrouter {
    pub run: Running,
    pub eth0: MemPeer,
    pub taps: Vec<(String, MemPeer)>,
    pub n: u8,
}

impl Vrouter {
    /// Starts vrouter `c<n>` on `dir` with taps named `taps`, connected to `controllers`.
    pub fn start(n: u8, dir: &Path, taps: &[&str], controllers: &[SocketAddr]) -> Vrouter {
        Vrouter::start_with_token(n, dir, taps, controllers, None)
    }

    /// [`Vrouter::start`] with a channel token.
    pub fn start_with_token(
        n: u8,
        dir: &Path,
        taps: &[&str],
        controllers: &[SocketAddr],
        token: Option<&str>,
    ) -> Vrouter {
        let mut devs = MemDevices::default();
        let eth0 = devs.add("eth0");
        let taps = taps.iter().map(|t| (t.to_string(), devs.add(t))).collect();
        let mut opts =
            AgentOptions::new(&format!("c{n}"), dir.to_path_buf(), "eth0", fabric_addr(n));
        opts.workers = 1;
        opts.controllers = controllers
            .iter()
            .map(|a| controller(&a.to_string()))
            .collect();
        opts.token = token.map(str::to_string);
        let run = start(opts, Box::new(devs)).expect("agent starts");
        Vrouter { run, eth0, taps, n }
    }

    pub fn tap(&self, name: &str) -> &MemPeer {
        &self.taps.iter().find(|(n, _)| n == name).unwrap().1
    }

    pub fn add_port(&self, uuid: &str, tap: &str) {
        let _ = self.run.events.send(NodeEvent::PortAdded {
            uuid: uuid.into(),
            name: tap.into(),
            enabled: true,
        });
    }

    pub fn fabric_node(&self) -> FabricNode {
        let a = fabric_addr(self.n);
        FabricNode {
            peer: self.eth0.clone(),
            ip: a.ip,
            mac: a.mac,
        }
    }

    /// Whether a route to `prefix` is programmed over a tunnel.
    pub fn has_tunnel_route(&self, prefix: &str) -> bool {
        let s = self.run.status.load();
        s.vrfs.iter().any(|v| {
            v.routes
                .iter()
                .any(|r| r.prefix == prefix && r.nexthop.contains(" to 198.18."))
        })
    }

    /// Whether the tunnel to vrouter `endpoint` is programmed with its underlay MAC.
    pub fn tunnel_ready(&self, endpoint: &str) -> bool {
        let s = self.run.status.load();
        s.nexthops.iter().any(|n| {
            n.nexthop.ends_with(&format!("to {endpoint}")) && n.programmed.starts_with("Tunnel")
        })
    }

    pub fn status_json(&self) -> String {
        serde_json::to_string_pretty(&**self.run.status.load()).unwrap_or_default()
    }
}

/// Polls `cond` (every 20 ms) until it holds; panics after `limit` with `context()`.
pub async fn wait(
    what: &str,
    limit: Duration,
    mut cond: impl FnMut() -> bool,
    context: impl Fn() -> String,
) {
    let t = Instant::now();
    while !cond() {
        if t.elapsed() > limit {
            panic!(
                "timed out after {limit:?} waiting for {what}\n{}",
                context()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
