//! A real Prometheus server and `promtool` for tests (feature `testing`; Debian `prometheus`,
//! installed by `scripts/install-test-deps.sh`). The server listens on a free loopback port,
//! keeps its data in a temp dir, scrapes every second, is killed by its PID and its dir
//! removed on drop, also when the test panics. It can run inside a network namespace the
//! test made (`ip netns exec`), to reach programs listening on that namespace's loopback.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const PROMETHEUS: &str = "/usr/bin/prometheus";
pub const PROMTOOL: &str = "/usr/bin/promtool";

/// `true` when prometheus and promtool are installed; else reports the skip (a failure under
/// CI=true) and returns `false`.
pub fn prometheus_can_run(test: &str) -> bool {
    for bin in [PROMETHEUS, PROMTOOL] {
        if !Path::new(bin).is_file() {
            cirrus_testkit::skip(
                test,
                &format!(
                    "{bin} missing: install the Debian package prometheus (scripts/install-test-deps.sh)"
                ),
            );
            return false;
        }
    }
    true
}

/// A scrape job: its name and `host:port` targets (path `/metrics`).
pub struct Job<'a> {
    pub name: &'a str,
    pub targets: Vec<String>,
}

/// A running Prometheus.
pub struct Prometheus {
    child: Option<Child>,
    pub listen: SocketAddr,
    dir: PathBuf,
    netns: Option<String>,
}

fn temp_dir(prefix: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let d = std::env::temp_dir().join(format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

impl Prometheus {
    /// Starts Prometheus scraping `jobs` every second, with `rules` (files) loaded, in the
    /// network namespace `netns` when given; waits until its API answers.
    pub fn start(jobs: &[Job], rules: &[&Path], netns: Option<&str>) -> Prometheus {
        let dir = temp_dir("cirrus-prometheus");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let listen = SocketAddr::from(([127, 0, 0, 1], port));
        let mut conf = String::from("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n");
        if !rules.is_empty() {
            conf.push_str("rule_files:\n");
            for r in rules {
                conf.push_str(&format!("  - {}\n", r.display()));
            }
        }
        conf.push_str("scrape_configs:\n");
        for j in jobs {
            let t: Vec<String> = j.targets.iter().map(|t| format!("'{t}'")).collect();
            conf.push_str(&format!(
                "  - job_name: {}\n    static_configs:\n      - targets: [{}]\n",
                j.name,
                t.join(", ")
            ));
        }
        std::fs::write(dir.join("prometheus.yml"), &conf).unwrap();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, PROMETHEUS]);
                c
            }
            None => Command::new(PROMETHEUS),
        };
        let child = cmd
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={listen}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawning prometheus");
        let mut p = Prometheus {
            child: Some(child),
            listen,
            dir,
            netns: netns.map(str::to_string),
        };
        let start = Instant::now();
        loop {
            if let Some(Ok(Some(st))) = p.child.as_mut().map(Child::try_wait) {
                panic!("prometheus exited early ({st}):\n{}", p.log());
            }
            if p.get("/-/ready").is_ok_and(|(s, _)| s == 200) {
                return p;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "prometheus not ready in 30 s:\n{}",
                p.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The tail of its log.
    pub fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("prometheus.log")).unwrap_or_default();
        let start = log.len().saturating_sub(4000);
        format!(
            "--- prometheus log (tail) ---\n{}",
            &log[log.ceil_char_boundary(start)..]
        )
    }

    /// A GET on its HTTP API (run inside the namespace when it lives in one).
    fn get(&self, path_and_query: &str) -> Result<(u16, String), String> {
        match &self.netns {
            None => http_get(self.listen, path_and_query),
            Some(ns) => {
                // The server's loopback is the namespace's: ask from inside it.
                let url = format!("http://{}{}", self.listen, path_and_query);
                let out = Command::new("ip")
                    .args([
                        "netns",
                        "exec",
                        ns,
                        "curl",
                        "-s",
                        "-w",
                        "\n%{http_code}",
                        &url,
                    ])
                    .output()
                    .map_err(|e| format!("curl in {ns}: {e}"))?;
                let text = String::from_utf8_lossy(&out.stdout).to_string();
                let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
                let code: u16 = code.trim().parse().unwrap_or(0);
                if code == 0 {
                    return Err(format!("curl {url} in {ns}: no answer"));
                }
                Ok((code, body.to_string()))
            }
        }
    }

    /// `/api/v1/targets`: each active target's job and health (`up`, `down`, `unknown`), and
    /// its last scrape error.
    pub fn targets(&self) -> Vec<(String, String, String)> {
        let (_, body) = self.get("/api/v1/targets").unwrap_or_default();
        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        v["data"]["activeTargets"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|t| {
                        (
                            t["labels"]["job"].as_str().unwrap_or("").to_string(),
                            t["health"].as_str().unwrap_or("").to_string(),
                            t["lastError"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until every target is `up`; panics with the targets and the log otherwise.
    pub fn wait_targets_up(&self, limit: Duration) {
        let start = Instant::now();
        loop {
            let t = self.targets();
            if !t.is_empty() && t.iter().all(|(_, h, _)| h == "up") {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "prometheus targets not all up after {limit:?}: {t:?}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// An instant query: each series' labels and value. A failed query fails the test.
    pub fn query(&self, expr: &str) -> Vec<(Value, f64)> {
        let (status, body) = self
            .get(&format!("/api/v1/query?query={}", encode(expr)))
            .unwrap_or_else(|e| panic!("query {expr}: {e}"));
        let v: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("query {expr}: {status} {body:?}: {e}"));
        assert_eq!(v["status"], "success", "query {expr}: {status} {body}");
        v["data"]["result"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        let val = s["value"][1]
                            .as_str()
                            .and_then(|x| x.parse::<f64>().ok())
                            .unwrap_or(f64::NAN);
                        (s["metric"].clone(), val)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The one value of `expr` (a query giving one series), `None` while it gives none.
    pub fn value(&self, expr: &str) -> Option<f64> {
        let r = self.query(expr);
        assert!(r.len() <= 1, "query {expr} gave {} series: {r:?}", r.len());
        r.first().map(|(_, v)| *v)
    }

    /// Polls `expr` until it has the value `want`; panics with the last value and `ctx()`.
    pub fn wait_value(&self, expr: &str, want: f64, limit: Duration, ctx: impl Fn() -> String) {
        let start = Instant::now();
        loop {
            let got = self.value(expr);
            if got == Some(want) {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "query {expr}: want {want}, got {got:?} after {limit:?}\n{}\n{}",
                self.log(),
                ctx()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // `ip netns exec` execs prometheus: the PID is the server's.
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `promtool check metrics` on an exposition: its verdict and what it said.
pub fn promtool_check_metrics(exposition: &str) -> (bool, String) {
    let mut child = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning promtool");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .expect("writing to promtool");
    let out = child.wait_with_output().expect("promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// `promtool test rules FILE...`: its verdict and what it said.
pub fn promtool_test_rules(files: &[&Path]) -> (bool, String) {
    let out = Command::new(PROMTOOL)
        .args(["test", "rules"])
        .args(files)
        .output()
        .expect("running promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// A GET with `Connection: close`: status and body.
pub fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    http("GET", addr, path, None)
}

/// One request with `Connection: close` (a body goes as JSON): status and body, a chunked
/// one put together.
pub fn http(
    method: &str,
    addr: SocketAddr,
    path: &str,
    body: Option<&str>,
) -> Result<(u16, String), String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("{method} http://{addr}{path}: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(15))).ok();
    let body = body.unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .map_err(|e| format!("{method} {path}: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{method} {path}: no HTTP header in {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("{method} {path}: bad status line in {head:?}"))?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Percent-encodes a query parameter.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
