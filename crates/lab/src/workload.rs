//! Workloads: a namespace per workload joined to its compute node by a veth pair (`eth0`
//! inside the workload, the port's host-side name in the compute node), the port handed to
//! the node's vrouter through its port IPC, and a real DHCP client (busybox `udhcpc`) run
//! inside to take the address our vrouter serves. The lease is applied by the lab's own
//! udhcpc event script, which also writes it to `<state dir>/leases/<name>` for the lab to read.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::cmd;
use crate::error::{LabError, Result};
use crate::http;
use crate::lab::Lab;
use crate::netns;
use crate::plan::{check_ifname, check_workload_name};
use crate::port_ipc::PortRequest;
use crate::process::{self, ProcessSpec};
use crate::state::WorkloadRecord;

/// What [`Lab::add_workload`] makes.
#[derive(Debug, Clone)]
pub struct WorkloadSpec {
    pub name: String,
    /// `cK`.
    pub compute: String,
    /// The veth end in the compute namespace; Contrail's `system-name` (see
    /// [`crate::plan::tap_name`]).
    pub host_ifname: String,
    /// The workload's MAC (the port's, as the API allocated it).
    pub mac: Option<String>,
    /// Kept in the state file beside the workload (network, uuids...).
    pub meta: BTreeMap<String, Value>,
}

impl WorkloadSpec {
    pub fn new(name: &str, compute: &str, host_ifname: &str) -> WorkloadSpec {
        WorkloadSpec {
            name: name.to_string(),
            compute: compute.to_string(),
            host_ifname: host_ifname.to_string(),
            mac: None,
            meta: BTreeMap::new(),
        }
    }

    pub fn mac(mut self, mac: &str) -> Self {
        self.mac = Some(mac.to_string());
        self
    }
}

/// A DHCP lease as the client applied it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub address: Ipv4Addr,
    pub prefix_len: u8,
    pub router: Option<Ipv4Addr>,
    pub dns: Vec<String>,
    pub mtu: Option<u32>,
    pub server: Option<Ipv4Addr>,
    pub lease_seconds: Option<u64>,
    /// Option 121, as udhcpc gives it: `dest/len gateway` pairs.
    pub static_routes: Vec<(String, Ipv4Addr)>,
}

impl Lease {
    /// Reads the `key=value` lines the event script writes.
    pub fn parse(text: &str) -> Option<Lease> {
        let kv: BTreeMap<&str, &str> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let get = |k: &str| kv.get(k).copied().filter(|v| !v.is_empty());
        let words: Vec<&str> = get("staticroutes")
            .map(|s| s.split_whitespace().collect())
            .unwrap_or_default();
        Some(Lease {
            address: get("ip")?.parse().ok()?,
            prefix_len: get("mask")?.parse().ok().filter(|l| *l <= 32)?,
            router: get("router").and_then(|r| r.split_whitespace().next()?.parse().ok()),
            dns: get("dns")
                .map(|d| d.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            mtu: get("mtu").and_then(|m| m.parse().ok()),
            server: get("serverid").and_then(|s| s.parse().ok()),
            lease_seconds: get("lease").and_then(|s| s.parse().ok()),
            static_routes: words
                .chunks(2)
                .filter_map(|p| Some((p.first()?.to_string(), p.get(1)?.parse().ok()?)))
                .collect(),
        })
    }
}

/// The udhcpc event script: applies the lease to the interface (address, MTU, default route,
/// option 121 routes) and writes it to `$LEASE_FILE`.
pub const UDHCPC_SCRIPT: &str = r#"#!/bin/sh
# udhcpc event script of a Cirrus lab: applies the lease to $interface, writes it to $LEASE_FILE.
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set dev "$interface" up
    ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
    for r in $router; do ip route replace default via "$r" dev "$interface"; break; done
    set -- $staticroutes
    while [ $# -ge 2 ]; do ip route replace "$1" via "$2" dev "$interface"; shift 2; done
    {
      echo "ip=$ip"; echo "mask=$mask"; echo "router=$router"; echo "dns=$dns"
      echo "mtu=$mtu"; echo "serverid=$serverid"; echo "lease=$lease"
      echo "staticroutes=$staticroutes"
    } > "$LEASE_FILE.tmp" && mv "$LEASE_FILE.tmp" "$LEASE_FILE"
    ;;
esac
exit 0
"#;

impl Lab {
    /// Makes a workload: its namespace, and a veth pair with `eth0` inside it (carrying
    /// `spec.mac`) and `spec.host_ifname` in the compute node's namespace, both up.
    pub fn add_workload(&mut self, spec: &WorkloadSpec) -> Result<WorkloadRecord> {
        check_workload_name(&spec.name)?;
        check_ifname(&spec.host_ifname)?;
        if self.state.workload(&spec.name).is_some() {
            return Err(LabError::Invalid(format!(
                "workload {} already exists in lab {}",
                spec.name,
                self.plan.prefix()
            )));
        }
        let compute = self.compute(&spec.compute)?.netns.clone();
        if self
            .state
            .workloads
            .iter()
            .any(|w| w.compute == spec.compute && w.host_ifname == spec.host_ifname)
        {
            return Err(LabError::Invalid(format!(
                "interface {} is taken on {}",
                spec.host_ifname, spec.compute
            )));
        }
        let ns = self.plan.workload_ns(&spec.name);
        let record = WorkloadRecord {
            name: spec.name.clone(),
            netns: ns.clone(),
            compute: spec.compute.clone(),
            host_ifname: spec.host_ifname.clone(),
            ifname: "eth0".into(),
            mac: spec.mac.clone(),
            address: None,
            meta: spec.meta.clone(),
        };
        self.state.workloads.push(record.clone());
        self.record_netns(&ns)?;
        netns::add(&ns)?;
        let host = spec.host_ifname.as_str();
        cmd::run(
            "ip",
            &[
                "-n", &compute, "link", "add", host, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ],
        )?;
        if let Some(mac) = &spec.mac {
            cmd::run("ip", &["-n", &ns, "link", "set", "eth0", "address", mac])?;
        }
        if !self.state.workload_offloads {
            // Whole, checksummed frames for a forwarder that reads one packet at a time.
            let off = [
                "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off",
            ];
            for (n, dev) in [(&compute, host), (&ns, "eth0")] {
                let mut args = vec!["netns", "exec", n.as_str(), "ethtool", "-K", dev];
                args.extend_from_slice(&off);
                cmd::run("ip", &args)?;
            }
        }
        cmd::run("ip", &["-n", &compute, "link", "set", host, "up"])?;
        cmd::run("ip", &["-n", &ns, "link", "set", "eth0", "up"])?;
        tracing::info!(workload = %spec.name, compute = %spec.compute, netns = %ns, "workload added");
        Ok(record)
    }

    /// Removes a workload's namespace (and so its veth pair) and its record.
    pub fn remove_workload(&mut self, name: &str) -> Result<()> {
        let record = self.workload(name)?.clone();
        let dhcp = format!("dhcp-{name}");
        if self.state.process(&dhcp).is_some() {
            self.stop(&dhcp, Duration::from_secs(1))?;
        }
        netns::delete(&record.netns)?;
        self.state.workloads.retain(|w| w.name != name);
        self.state.namespaces.retain(|n| *n != record.netns);
        self.save()
    }

    /// Sends a port to the vrouter of the workload's compute node (`POST /port` on its port
    /// IPC, from inside that node's namespace).
    pub fn post_port(&self, compute: &str, port: &PortRequest) -> Result<()> {
        let node = self.compute(compute)?;
        let addr = node.port_ipc.ok_or_else(|| {
            LabError::Invalid(format!("no vrouter runs on {compute}: start one first"))
        })?;
        let url = format!("http://{addr}/port");
        let body = serde_json::to_value(port).expect("a port request serializes");
        let answer = netns::run_in(&node.netns, || {
            http::call("POST", &url, Some(&body), Duration::from_secs(10))
        })??;
        if !answer.ok() {
            return Err(LabError::Http {
                method: "POST",
                url: format!("{url} (in {})", node.netns),
                detail: format!("{} {}", answer.status, answer.body.trim()),
            });
        }
        Ok(())
    }

    /// Runs busybox `udhcpc` in the workload until it holds a lease (at most `timeout`), and
    /// returns the lease it applied. The client's output is in `logs/dhcp-<name>.log`.
    pub fn dhcp(&mut self, name: &str, timeout: Duration) -> Result<Lease> {
        let record = self.workload(name)?.clone();
        let script = self.dir.join("udhcpc.script");
        std::fs::write(&script, UDHCPC_SCRIPT)
            .map_err(|e| LabError::file("writing the DHCP client script", &script, e))?;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| LabError::file("making the script executable", &script, e))?;
        let leases = self.dir.join("leases");
        std::fs::create_dir_all(&leases)
            .map_err(|e| LabError::file("creating the lease directory", &leases, e))?;
        let lease_file: PathBuf = leases.join(name);
        let _ = std::fs::remove_file(&lease_file);
        // udhcpc sends a discover every second, gives up after `tries` and exits non-zero (-n).
        let tries = timeout.as_secs().max(1).to_string();
        let proc_name = format!("dhcp-{name}");
        let spec = ProcessSpec::new(&proc_name, Some(&record.netns), "busybox")
            .args(["udhcpc", "-f", "-q", "-n", "-i", &record.ifname])
            .args(["-t", &tries, "-T", "1", "-A", "1"])
            .args(["-O", "mtu", "-O", "staticroutes"])
            .args(["-x", &format!("hostname:{name}")])
            .arg("-s")
            .arg(script.display().to_string())
            .env("LEASE_FILE", &lease_file.display().to_string());
        let log = self.spawn(&spec)?.log;
        // udhcpc ends by itself after its tries; the margin is for a loaded machine.
        let status = self.wait(&proc_name, timeout * 2 + Duration::from_secs(5));
        let status = match status {
            Ok(s) => s,
            Err(e) => {
                let _ = self.stop(&proc_name, Duration::from_millis(200));
                return Err(e);
            }
        };
        let lease = std::fs::read_to_string(&lease_file)
            .ok()
            .and_then(|t| Lease::parse(&t));
        let Some(lease) = lease.filter(|_| status.is_none_or(|s| s.success())) else {
            return Err(LabError::Process {
                name: proc_name,
                detail: format!(
                    "udhcpc in {} got no lease within {timeout:?}; last lines of {}:\n{}",
                    record.netns,
                    log.display(),
                    process::log_tail(&log, 10)
                ),
            });
        };
        if let Some(w) = self.state.workloads.iter_mut().find(|w| w.name == name) {
            w.address = Some(format!("{}/{}", lease.address, lease.prefix_len));
        }
        self.save()?;
        tracing::info!(workload = %name, address = %lease.address, "DHCP lease");
        Ok(lease)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_read_as_the_script_writes_them() {
        let text = "ip=10.9.0.20\nmask=24\nrouter=10.9.0.1 10.9.0.2\ndns=10.9.0.2\nmtu=1400\n\
                    serverid=10.9.0.1\nlease=864000\nstaticroutes=10.0.0.0/8 10.9.0.1\n";
        let lease = Lease::parse(text).unwrap();
        assert_eq!(lease.address, Ipv4Addr::new(10, 9, 0, 20));
        assert_eq!(lease.prefix_len, 24);
        assert_eq!(lease.router, Some(Ipv4Addr::new(10, 9, 0, 1)));
        assert_eq!(lease.dns, ["10.9.0.2"]);
        assert_eq!(lease.mtu, Some(1400));
        assert_eq!(lease.lease_seconds, Some(864000));
        assert_eq!(
            lease.static_routes,
            [("10.0.0.0/8".to_string(), Ipv4Addr::new(10, 9, 0, 1))]
        );
        let bare = Lease::parse("ip=10.0.0.3\nmask=16\nrouter=\ndns=\nmtu=\n").unwrap();
        assert_eq!((bare.router, bare.mtu, bare.dns.len()), (None, None, 0));
        assert_eq!(Lease::parse("ip=10.0.0.3\n"), None);
        assert_eq!(Lease::parse("ip=10.0.0.3\nmask=33\n"), None);
    }
}
