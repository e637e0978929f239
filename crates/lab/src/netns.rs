//! Network namespaces by name (`ip netns`, mounted under /run/netns), and running a closure
//! inside one: a fresh thread enters the namespace with setns(2) and everything it opens
//! (sockets to a vrouter's 127.0.0.1:9091, say) lives there; the calling thread never moves.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sched::{CloneFlags, setns};

use crate::cmd;
use crate::error::{LabError, Result};

const NETNS_DIR: &str = "/run/netns";

fn path(ns: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(ns)
}

pub fn exists(ns: &str) -> bool {
    path(ns).exists()
}

/// The named namespaces on this machine.
pub fn list() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(NETNS_DIR) else {
        return Vec::new();
    };
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

pub fn add(ns: &str) -> Result<()> {
    cmd::run("ip", &["netns", "add", ns])?;
    // Loopback up, so servers inside (port IPC, introspect) can listen on 127.0.0.1.
    cmd::run("ip", &["-n", ns, "link", "set", "lo", "up"])?;
    Ok(())
}

/// Removes the namespace if it exists. Its links go with it (the kernel frees them shortly
/// after, asynchronously, once no process holds the namespace).
pub fn delete(ns: &str) -> Result<()> {
    if !exists(ns) {
        return Ok(());
    }
    cmd::run("ip", &["netns", "delete", ns]).map(drop)
}

/// Pids of the processes running inside the namespace.
pub fn pids(ns: &str) -> Vec<u32> {
    cmd::run("ip", &["netns", "pids", ns])
        .map(|out| {
            out.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Runs `f` on a thread that has entered namespace `ns`, and returns what it returned.
pub fn run_in<T, F>(ns: &str, f: F) -> Result<T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    let file = std::fs::File::open(path(ns)).map_err(|source| LabError::Netns {
        ns: ns.to_string(),
        source,
    })?;
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                setns(&file, CloneFlags::CLONE_NEWNET).map_err(|errno| LabError::Netns {
                    ns: ns.to_string(),
                    source: errno.into(),
                })?;
                Ok(f())
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Whether a TCP connection to `addr` from inside `ns` succeeds within `timeout`.
pub fn tcp_reachable(ns: &str, addr: std::net::SocketAddr, timeout: Duration) -> Result<bool> {
    run_in(ns, || {
        std::net::TcpStream::connect_timeout(&addr, timeout).is_ok()
    })
}

/// Whether a link named `ifname` exists in `ns` (`None`: the root namespace).
pub fn link_exists(ns: Option<&str>, ifname: &str) -> bool {
    let mut args = Vec::new();
    if let Some(ns) = ns {
        args.extend(["-n", ns]);
    }
    args.extend(["link", "show", "dev", ifname]);
    cmd::run("ip", &args).is_ok()
}

/// Waits (bounded) until the link is gone: the kernel frees a deleted namespace's links
/// asynchronously.
pub fn wait_link_gone(ns: Option<&str>, ifname: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if !link_exists(ns, ifname) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
