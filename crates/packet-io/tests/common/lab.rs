//! Network-namespace lab for the forwarding tests: every namespace and link it makes is
//! removed when the `Lab` is dropped (also when a test fails), and names carry a
//! per-process prefix so parallel runs never collide. Interface names stay within 15 bytes.

use cirrus_dataplane::wire::MacAddr;
use std::net::Ipv4Addr;
use std::process::{Command, Output};

/// Namespaces and links made by this test; removed on drop.
pub struct Lab {
    pub prefix: String,
    netns: Vec<String>,
    links: Vec<String>,
}

pub fn run(cmd: &str, args: &[&str]) -> Result<Output, String> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| format!("{cmd}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{cmd} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ))
    }
}

impl Lab {
    pub fn new(tag: &str) -> Self {
        Self {
            prefix: format!("cp{tag}{}", std::process::id() % 100_000),
            netns: Vec::new(),
            links: Vec::new(),
        }
    }

    /// A workload namespace `<prefix><tag>` whose `eth0`-like end has `mac`/`ip`/24, and
    /// the host end of its veth (returned) left in this namespace, up, for the runner.
    pub fn workload(&mut self, tag: &str, mac: MacAddr, ip: Ipv4Addr) -> Result<String, String> {
        let ns = format!("{}{tag}", self.prefix);
        let host = format!("{}h{tag}", self.prefix);
        let inner = format!("{}w{tag}", self.prefix);
        run("ip", &["netns", "add", &ns])?;
        self.netns.push(ns.clone());
        run(
            "ip",
            &["link", "add", &host, "type", "veth", "peer", "name", &inner],
        )?;
        self.links.push(host.clone());
        run("ip", &["link", "set", &inner, "netns", &ns])?;
        run(
            "ip",
            &[
                "-n",
                &ns,
                "link",
                "set",
                &inner,
                "address",
                &mac.to_string(),
            ],
        )?;
        run(
            "ip",
            &["-n", &ns, "addr", "add", &format!("{ip}/24"), "dev", &inner],
        )?;
        run("ip", &["-n", &ns, "link", "set", &inner, "up"])?;
        run("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        run("ip", &["link", "set", &host, "up"])?;
        Ok(host)
    }

    /// Two namespaces `<prefix><a>` and `<prefix><b>` joined directly by one veth pair
    /// (`eth0` in each), addressed `ip_a`/24 and `ip_b`/24: the plain path to compare the
    /// overlay with.
    pub fn pair(&mut self, a: &str, ip_a: Ipv4Addr, b: &str, ip_b: Ipv4Addr) -> Result<(), String> {
        let (na, nb) = (format!("{}{a}", self.prefix), format!("{}{b}", self.prefix));
        let (la, lb) = (
            format!("{}p{a}", self.prefix),
            format!("{}p{b}", self.prefix),
        );
        for n in [&na, &nb] {
            run("ip", &["netns", "add", n])?;
            self.netns.push(n.clone());
        }
        run(
            "ip",
            &["link", "add", &la, "type", "veth", "peer", "name", &lb],
        )?;
        self.links.push(la.clone());
        for (l, n, ip) in [(&la, &na, ip_a), (&lb, &nb, ip_b)] {
            run("ip", &["link", "set", l, "netns", n])?;
            run("ip", &["-n", n, "link", "set", l, "name", "eth0"])?;
            run(
                "ip",
                &["-n", n, "addr", "add", &format!("{ip}/24"), "dev", "eth0"],
            )?;
            run("ip", &["-n", n, "link", "set", "eth0", "up"])?;
            run("ip", &["-n", n, "link", "set", "lo", "up"])?;
        }
        Ok(())
    }

    pub fn ns(&self, tag: &str) -> String {
        format!("{}{tag}", self.prefix)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for l in &self.links {
            let _ = Command::new("ip").args(["link", "del", l]).output();
        }
        for n in &self.netns {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

/// Whether this process is root and iproute2 (`ip`) is there.
pub fn privileged() -> bool {
    // Root is uid 0 in /proc/self/status.
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    root && Command::new("ip")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether this test can run here ([`privileged`]). When it cannot: under `CI=true` the
/// test fails saying what is missing; elsewhere it prints `SKIP <test>: <why>` to
/// stderr, appends that line to `$CIRRUS_SKIP_LOG` when set, and the caller returns.
#[cfg(test)]
pub fn can_run(test: &str) -> bool {
    if privileged() {
        return true;
    }
    skip(test, "needs root and iproute2 (ip)");
    false
}

// The bench binaries include this module too (without the dev-dependencies); they skip nothing.
#[cfg(test)]
pub use cirrus_testkit::skip;

impl Lab {
    /// Takes charge of removing a link made elsewhere (e.g. a tap device).
    pub fn adopt_link(&mut self, name: &str) {
        self.links.push(name.to_string());
    }

    /// A veth pair with both ends in this namespace, up, with the given MACs (a fabric
    /// link between two vRouters).
    pub fn wire(
        &mut self,
        a: &str,
        mac_a: MacAddr,
        b: &str,
        mac_b: MacAddr,
    ) -> Result<(String, String), String> {
        let (a, b) = (format!("{}{a}", self.prefix), format!("{}{b}", self.prefix));
        run(
            "ip",
            &["link", "add", &a, "type", "veth", "peer", "name", &b],
        )?;
        self.links.push(a.clone());
        for (l, m) in [(&a, mac_a), (&b, mac_b)] {
            run("ip", &["link", "set", l, "address", &m.to_string()])?;
            run("ip", &["link", "set", l, "up"])?;
        }
        Ok((a, b))
    }
}
