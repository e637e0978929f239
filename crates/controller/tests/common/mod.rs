//! Helpers for the controller's process-level tests: a real `cirrus-controller` (the binary
//! Cargo built for this package, or `$CIRRUS_CONTROLLER_BIN`), a GoBGP daemon, a tiny HTTP/1.1
//! client (std only), free ports. Every process is killed by its PID on drop, also when a test
//! panics, and every temp dir is removed.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cirrus_store::testing::{TempDir, free_port};
use serde_json::{Value, json};

pub const FABRIC: [&str; 4] = [
    "default-domain",
    "default-project",
    "ip-fabric",
    "__default__",
];

/// Polls `cond` every 200 ms until it holds; panics after `limit` with what was awaited and
/// `context()` (logs, last answers).
pub fn wait_for(
    what: &str,
    limit: Duration,
    mut cond: impl FnMut() -> bool,
    context: impl Fn() -> String,
) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "timed out after {limit:?} waiting for {what}\n{}",
        context()
    );
}

// ---- HTTP ----

/// One request with `Connection: close`; returns the status and the JSON body (a JSON string
/// when the body is not JSON, null when empty).
pub fn http(
    method: &str,
    addr: SocketAddr,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let body = body.map(Value::to_string);
    let (status, payload) = cirrus_metrics::testing::http(method, addr, path, body.as_deref())?;
    let v = if payload.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&payload).unwrap_or(Value::String(payload))
    };
    Ok((status, v))
}

pub mod channel;

// ---- cirrus-controller ----

fn controller_bin() -> PathBuf {
    let bin = std::env::var_os("CIRRUS_CONTROLLER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_cirrus-controller")));
    assert!(
        bin.is_file(),
        "cirrus-controller not found at {}: build it first (cargo build -p cirrus-controller) \
         or point $CIRRUS_CONTROLLER_BIN at it",
        bin.display()
    );
    bin
}

/// One `cirrus-controller` with both roles, its BGP speaker on `bgp_ip` and a free port.
pub struct Controller {
    // A cell so that `stop` works while closures (failure context) borrow the controller.
    child: std::cell::RefCell<Option<Child>>,
    pub hostname: String,
    pub api: SocketAddr,
    pub introspect: SocketAddr,
    pub bgp: SocketAddr,
    /// Where vrouters connect (the channel).
    pub channel: SocketAddr,
    dir: TempDir,
}

impl Controller {
    /// Starts it on the embedded store in its own temp dir, or on `store` (`etcd://...`).
    pub fn start(hostname: &str, bgp_ip: Ipv4Addr, store: Option<&str>) -> Controller {
        Controller::start_with(hostname, bgp_ip, store, &[])
    }

    /// Like [`Controller::start`], with extra flags.
    pub fn start_with(
        hostname: &str,
        bgp_ip: Ipv4Addr,
        store: Option<&str>,
        extra: &[&str],
    ) -> Controller {
        let dir = TempDir::new(&format!("cirrus-ctl-{hostname}")).expect("temp dir");
        let port = || free_port().expect("free port");
        let api = SocketAddr::from(([127, 0, 0, 1], port()));
        let introspect = SocketAddr::from(([127, 0, 0, 1], port()));
        let bgp = SocketAddr::from((bgp_ip, port()));
        let channel = SocketAddr::from(([127, 0, 0, 1], port()));
        let log = std::fs::File::create(dir.path().join("controller.log")).unwrap();
        let child = Command::new(controller_bin())
            .arg("--api-listen")
            .arg(api.to_string())
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--store")
            .arg(store.unwrap_or("embedded"))
            .arg("--hostname")
            .arg(hostname)
            .arg("--bgp-address")
            .arg(bgp.ip().to_string())
            .arg("--bgp-port")
            .arg(bgp.port().to_string())
            .arg("--introspect-listen")
            .arg(introspect.to_string())
            .arg("--channel-listen")
            .arg(channel.to_string())
            .args(extra)
            .arg("--log")
            .arg("info,cirrus_bgp=debug")
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawning cirrus-controller");
        let c = Controller {
            child: std::cell::RefCell::new(Some(child)),
            hostname: hostname.to_string(),
            api,
            introspect,
            bgp,
            channel,
            dir,
        };
        let start = Instant::now();
        loop {
            let exited = c.child.borrow_mut().as_mut().map(Child::try_wait);
            if let Some(Ok(Some(status))) = exited {
                panic!("cirrus-controller exited early ({status}):\n{}", c.log());
            }
            let ready = http("GET", c.introspect, "/bgp/neighbors", None)
                .is_ok_and(|(s, _)| s == 200)
                && http("GET", c.api, "/", None).is_ok_and(|(s, _)| s == 200);
            if ready {
                return c;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "cirrus-controller not ready in 30 s:\n{}",
                c.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log(&self) -> String {
        let log =
            std::fs::read_to_string(self.dir.path().join("controller.log")).unwrap_or_default();
        let start = log.len().saturating_sub(6000);
        format!(
            "--- {} log (tail) ---\n{}",
            self.hostname,
            &log[log.ceil_char_boundary(start)..]
        )
    }

    /// A VNC API call that must succeed.
    pub fn api(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = http(method, self.api, path, body.as_ref()).unwrap();
        assert!(
            (200..300).contains(&status),
            "{method} {path}: {status} {v}\n{}",
            self.log()
        );
        v
    }

    /// Creates an object; returns its uuid.
    pub fn create(&self, kind: &str, fields: Value) -> String {
        let v = self.api("POST", &format!("/{kind}s"), Some(json!({ kind: fields })));
        v[kind]["uuid"].as_str().unwrap().to_string()
    }

    pub fn update(&self, kind: &str, uuid: &str, fields: Value) {
        self.api(
            "PUT",
            &format!("/{kind}/{uuid}"),
            Some(json!({ kind: fields })),
        );
    }

    /// `GET /bgp/neighbors`; anything but a 200 with a list fails the test.
    pub fn neighbors(&self) -> Vec<Value> {
        let (status, v) = http("GET", self.introspect, "/bgp/neighbors", None).unwrap();
        match v["neighbors"].as_array() {
            Some(n) if status == 200 => n.clone(),
            _ => panic!("GET /bgp/neighbors: {status} {v}"),
        }
    }

    pub fn neighbor(&self, addr: Ipv4Addr) -> Option<Value> {
        let a = addr.to_string();
        self.neighbors()
            .into_iter()
            .find(|n| n["address"] == a.as_str())
    }

    /// `GET /routes?instance=...`: the status and the answer.
    pub fn routes_answer(&self, query: &str) -> (u16, Value) {
        http("GET", self.introspect, &format!("/routes?{query}"), None).unwrap()
    }

    /// The routes of an instance or table. Anything but a 200 with a list (a 404: no such
    /// instance) fails the test: it must not read as "no routes".
    pub fn routes(&self, instance: &str) -> Vec<Value> {
        let (status, v) = self.routes_answer(&format!("instance={instance}"));
        match v["routes"].as_array() {
            Some(r) if status == 200 => r.clone(),
            _ => panic!("GET /routes?instance={instance}: {status} {v}"),
        }
    }

    pub fn route(&self, instance: &str, prefix: &str) -> Option<Value> {
        self.routes(instance)
            .into_iter()
            .find(|r| r["prefix"] == prefix)
    }

    /// `GET /vrouters`.
    pub fn vrouters(&self) -> Value {
        http("GET", self.introspect, "/vrouters", None).unwrap().1
    }

    /// The temp dir the controller runs in (for files the test writes, e.g. tokens).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn pid(&self) -> u32 {
        self.child.borrow().as_ref().map_or(0, Child::id)
    }

    /// SIGTERM (a clean stop: Cease to every peer), then SIGKILL if it lingers.
    pub fn stop(&self) {
        self.stop_within(Duration::from_secs(10));
    }

    /// SIGTERM, then SIGKILL if it has not exited after `limit`; whether it exited by itself.
    pub fn stop_within(&self, limit: Duration) -> bool {
        let Some(mut child) = self.child.borrow_mut().take() else {
            return true;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.get_mut().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A bgp-router of `router_type` under the fabric instance, as the REST API takes it.
pub fn bgp_router(
    name: &str,
    router_type: &str,
    at: SocketAddr,
    asn: u32,
    refs: Vec<Value>,
) -> Value {
    let mut fq: Vec<&str> = FABRIC.to_vec();
    fq.push(name);
    json!({
        "fq_name": fq,
        "parent_type": "routing-instance",
        "bgp_router_parameters": {
            "vendor": "gobgp",
            "router_type": router_type,
            "address": at.ip().to_string(),
            "identifier": at.ip().to_string(),
            "port": at.port(),
            "autonomous_system": asn,
        },
        "bgp_router_refs": refs,
    })
}

/// A bgp-router ref to the control node `hostname` with the session's address families.
pub fn peering(hostname: &str, families: &[&str]) -> Value {
    let mut fq: Vec<&str> = FABRIC.to_vec();
    fq.push(hostname);
    json!({
        "to": fq,
        "attr": {"session": [{"uuid": "1", "attributes": [
            {"address_families": {"family": families}}
        ]}]},
    })
}

// ---- GoBGP ----

fn require(bin: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/usr/local/bin"] {
        let p = Path::new(dir).join(bin);
        if p.is_file() {
            return p;
        }
    }
    panic!("{bin} not found: install the Debian package `gobgpd` (apt-get install gobgpd)");
}

/// `gobgpd` on its own loopback address, peering with one Cirrus speaker.
pub struct GoBgp {
    child: Option<Child>,
    pub at: SocketAddr,
    api: SocketAddr,
    dir: TempDir,
}

pub const GOBGP_AS: u32 = 65001;

impl GoBgp {
    /// GoBGP at `ip` (free port) with one neighbor, `peer` (AS `peer_as`), for `afi_safis`
    /// (GoBGP's names, e.g. l3vpn-ipv4-unicast).
    pub fn start(ip: Ipv4Addr, peer: SocketAddr, peer_as: u32, afi_safis: &[&str]) -> GoBgp {
        let at = SocketAddr::from((ip, free_port().unwrap()));
        GoBgp::start_at(at, peer, peer_as, afi_safis)
    }

    /// Like [`GoBgp::start`], listening on `at` (to bring a stopped one back where it was).
    pub fn start_at(at: SocketAddr, peer: SocketAddr, peer_as: u32, afi_safis: &[&str]) -> GoBgp {
        let bin = require("gobgpd");
        let dir = TempDir::new("cirrus-ctl-gobgp").expect("temp dir");
        let ip = at.ip();
        let api = SocketAddr::from((ip, free_port().unwrap()));
        let mut afis = String::new();
        for f in afi_safis {
            afis.push_str(&format!(
                "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"{f}\"\n"
            ));
        }
        let conf = dir.path().join("gobgpd.toml");
        std::fs::write(
            &conf,
            format!(
                "[global.config]\n  as = {GOBGP_AS}\n  router-id = \"{ip}\"\n  port = {port}\n  local-address-list = [\"{ip}\"]\n\n\
                 [[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{peer_ip}\"\n    peer-as = {peer_as}\n\
                 \x20 [neighbors.transport.config]\n    local-address = \"{ip}\"\n    remote-port = {peer_port}\n\
                 \x20 [neighbors.timers.config]\n    connect-retry = 1\n    hold-time = 30\n    keepalive-interval = 10\n{afis}",
                port = at.port(),
                peer_ip = peer.ip(),
                peer_port = peer.port(),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("gobgpd.log")).unwrap();
        let child = Command::new(bin)
            .arg("-f")
            .arg(&conf)
            .arg("--api-hosts")
            .arg(api.to_string())
            .arg("--pprof-disable")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawning gobgpd");
        let g = GoBgp {
            child: Some(child),
            at,
            api,
            dir,
        };
        // Wait for its gRPC API, so that the first CLI call does not race the start.
        wait_for(
            "gobgpd's API",
            Duration::from_secs(15),
            || TcpStream::connect_timeout(&g.api, Duration::from_millis(200)).is_ok(),
            || g.log(),
        );
        g
    }

    /// Runs `gobgp` against this daemon; its stdout. A failure fails the test (as
    /// [`Self::cli_ok`]): an observation that did not happen must not read as "nothing there".
    pub fn cli(&self, args: &str) -> String {
        self.cli_ok(args)
    }

    /// `gobgp global rib -a vpnv4`, which must have listed the table (its header, or "Network
    /// not in table").
    pub fn vpnv4(&self) -> String {
        let t = self.cli_ok("global rib -a vpnv4");
        assert!(
            t.contains("Network"),
            "gobgp did not list its vpnv4 table: {t}"
        );
        t
    }

    /// Runs `gobgp` and panics, with its stderr, when it fails.
    pub fn cli_ok(&self, args: &str) -> String {
        let out = Command::new(require("gobgp"))
            .arg("-u")
            .arg(self.api.ip().to_string())
            .arg("-p")
            .arg(self.api.port().to_string())
            .args(args.split_whitespace())
            .output()
            .expect("running gobgp");
        assert!(
            out.status.success(),
            "gobgp {args} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    }

    pub fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("gobgpd.log")).unwrap_or_default();
        let start = log.len().saturating_sub(3000);
        format!(
            "--- gobgpd log (tail) ---\n{}",
            &log[log.ceil_char_boundary(start)..]
        )
    }
}

impl Drop for GoBgp {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
