//! Helpers for tests of this crate and of its users: a temporary directory and a throwaway
//! etcd server, both cleaned up on drop (also when a test panics).
//!
//! No extra dependencies: std only, so that using them costs nothing at build time.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where Debian's `etcd-server` package installs the binary; `$CIRRUS_ETCD` overrides.
pub const DEFAULT_ETCD: &str = "/usr/bin/etcd";

/// A directory under the system temp dir, removed with everything in it on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// A fresh, empty directory whose name starts with `prefix`.
    pub fn new(prefix: &str) -> std::io::Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A free TCP port on 127.0.0.1, found by binding port 0. Another process could take it
/// before it is used; good enough for tests, which retry on a failed start.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The etcd binary to use, or an error telling how to install it.
pub fn etcd_binary() -> Result<PathBuf, String> {
    let path = std::env::var_os("CIRRUS_ETCD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_ETCD));
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "etcd binary not found at {}: install it with `apt-get install etcd-server` \
             (or point $CIRRUS_ETCD at one)",
            path.display()
        ))
    }
}

/// A single-member etcd on random loopback ports with its own temp data dir. Killed (by its
/// PID) and waited for on drop, so no test leaves one behind, panicking or not.
#[derive(Debug)]
pub struct EtcdServer {
    child: Child,
    client_url: String,
    // Dropped after the child is killed (fields drop in order after Drop::drop runs).
    dir: TempDir,
}

impl EtcdServer {
    /// Starts etcd and waits until its client port accepts connections.
    pub fn start() -> Result<Self, String> {
        let binary = etcd_binary()?;
        let mut last_error = String::new();
        // A port found free can be taken before etcd binds it; try a few times.
        for _ in 0..3 {
            match Self::start_once(&binary) {
                Ok(server) => return Ok(server),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    fn start_once(binary: &Path) -> Result<Self, String> {
        let dir = TempDir::new("cirrus-etcd").map_err(|e| format!("temp dir: {e}"))?;
        let client_port = free_port().map_err(|e| format!("free port: {e}"))?;
        let peer_port = free_port().map_err(|e| format!("free port: {e}"))?;
        let client_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let log = std::fs::File::create(dir.path().join("etcd.log"))
            .map_err(|e| format!("etcd log file: {e}"))?;
        let log_err = log.try_clone().map_err(|e| format!("etcd log file: {e}"))?;
        let child = Command::new(binary)
            .arg("--name=cirrus-test")
            .arg(format!("--data-dir={}", dir.path().join("data").display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=cirrus-test={peer_url}"))
            .arg("--initial-cluster-state=new")
            // Tests do not need etcd's own fsync latency on tmpfs-like dirs to be realistic,
            // but keep the defaults otherwise so behaviour matches production.
            .arg("--log-level=warn")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let mut server = Self {
            child,
            client_url,
            dir,
        };
        server.wait_ready(client_port)?;
        Ok(server)
    }

    /// Waits until etcd serves its health endpoint, or reports why it did not.
    fn wait_ready(&mut self, port: u16) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("etcd exited early ({status}): {}", self.log_tail()));
            }
            if health_ok(port) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("etcd not ready after 30 s: {}", self.log_tail()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("etcd.log")).unwrap_or_default();
        let start = log.len().saturating_sub(2000);
        log.get(start..).unwrap_or("").to_string()
    }

    /// `http://127.0.0.1:PORT`, for `open_etcd`.
    pub fn endpoint(&self) -> &str {
        &self.client_url
    }

    /// `etcd://127.0.0.1:PORT`, for `open`.
    pub fn spec(&self) -> String {
        format!("etcd://{}", self.client_url.trim_start_matches("http://"))
    }

    /// The child's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        // Child::kill sends SIGKILL to this child's PID only.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain HTTP GET of etcd's `/health`, so that readiness needs no client library.
fn health_ok(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect_timeout(
        &([127, 0, 0, 1], port).into(),
        Duration::from_millis(200),
    ) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body.contains("\"health\":\"true\"") || body.contains("\"health\": \"true\"")
}
