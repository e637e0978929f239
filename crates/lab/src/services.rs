//! The Cirrus programs a lab runs: `cirrus-controller` in the root namespace (its API and
//! introspect on loopback, its channel and BGP on the underlay address 198.18.x.1) and one
//! `cirrus-vrouter` per compute node (its port IPC on 127.0.0.1 inside the node's namespace,
//! its introspect on every address of the node, as Contrail's agent, so that the controller's
//! console reaches it over the underlay), each started, recorded and waited on until it serves.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::error::{LabError, Result};
use crate::http;
use crate::lab::Lab;
use crate::netns;
use crate::process::ProcessSpec;
use crate::state::ProcessRecord;

/// Contrail's XMPP port, which the channel keeps.
pub const CHANNEL_PORT: u16 = 5269;
/// The vrouter's port IPC, as Contrail's.
pub const PORT_IPC: SocketAddr = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9091);
/// The vrouter's introspect, as Contrail's agent: port 8085 on every address of the compute
/// node (its loopback for `cirrusctl vrouter --node`, its underlay address for the controller's
/// web console).
pub const VROUTER_INTROSPECT: SocketAddr =
    SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 8085);

/// How to run a controller.
#[derive(Debug, Clone)]
pub struct ControllerSpec {
    /// The process's name in the lab (and its log's).
    pub name: String,
    pub binary: PathBuf,
    pub api_listen: SocketAddr,
    pub introspect_listen: SocketAddr,
    /// `--channel-listen`; `None` leaves the flag out.
    pub channel_listen: Option<SocketAddr>,
    /// `--bgp-address`: where its bgp-router listens when first created.
    pub bgp_address: Option<IpAddr>,
    pub hostname: String,
    /// `--data-dir` (embedded store); default `<state dir>/<name>`.
    pub data_dir: Option<PathBuf>,
    pub extra_args: Vec<String>,
}

impl ControllerSpec {
    /// A controller for `lab`: API and introspect on the lab's own loopback address (ports 8082
    /// and 8083), channel and BGP on the underlay address 198.18.x.1.
    pub fn new(lab: &Lab, binary: impl Into<PathBuf>) -> ControllerSpec {
        let lo = IpAddr::V4(lab.plan().loopback());
        let underlay = IpAddr::V4(lab.plan().root_addr());
        ControllerSpec {
            name: "controller".into(),
            binary: binary.into(),
            api_listen: SocketAddr::new(lo, 8082),
            introspect_listen: SocketAddr::new(lo, 8083),
            channel_listen: Some(SocketAddr::new(underlay, CHANNEL_PORT)),
            bgp_address: Some(underlay),
            hostname: format!("{}-control", lab.plan().prefix()),
            data_dir: None,
            extra_args: Vec::new(),
        }
    }

    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_listen)
    }

    pub fn introspect_url(&self) -> String {
        format!("http://{}", self.introspect_listen)
    }
}

/// How to run the vrouter of one compute node.
#[derive(Debug, Clone)]
pub struct VrouterSpec {
    /// `cK`; also its `--hostname`.
    pub compute: String,
    pub binary: PathBuf,
    /// `--controller`, one or two.
    pub controllers: Vec<SocketAddr>,
    /// `--state-dir`; default `<state dir>/<cK>`.
    pub state_dir: Option<PathBuf>,
    pub port_ipc_listen: SocketAddr,
    pub introspect_listen: SocketAddr,
    pub extra_args: Vec<String>,
}

impl VrouterSpec {
    pub fn new(compute: &str, binary: impl Into<PathBuf>, controllers: &[SocketAddr]) -> Self {
        VrouterSpec {
            compute: compute.to_string(),
            binary: binary.into(),
            controllers: controllers.to_vec(),
            state_dir: None,
            port_ipc_listen: PORT_IPC,
            introspect_listen: VROUTER_INTROSPECT,
            extra_args: Vec::new(),
        }
    }
}

impl Lab {
    /// Starts a controller in the root namespace and waits (at most `timeout`) until its API
    /// answers `GET /`.
    pub fn start_controller(
        &mut self,
        spec: &ControllerSpec,
        timeout: Duration,
    ) -> Result<ProcessRecord> {
        let data_dir = spec
            .data_dir
            .clone()
            .unwrap_or_else(|| self.dir.join(&spec.name));
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| LabError::file("creating the controller's data dir", &data_dir, e))?;
        let mut p = ProcessSpec::new(&spec.name, None, &spec.binary)
            .arg("--api-listen")
            .arg(spec.api_listen.to_string())
            .arg("--introspect-listen")
            .arg(spec.introspect_listen.to_string())
            .arg("--data-dir")
            .arg(data_dir.display().to_string())
            .arg("--hostname")
            .arg(&spec.hostname);
        if let Some(addr) = spec.bgp_address {
            p = p.arg("--bgp-address").arg(addr.to_string());
        }
        if let Some(addr) = spec.channel_listen {
            p = p.arg("--channel-listen").arg(addr.to_string());
        }
        let p = p
            .args(spec.extra_args.iter().cloned())
            .env("RUST_LOG", "info");
        let record = self.spawn(&p)?;
        let url = format!("{}/", spec.api_url());
        let name = spec.name.clone();
        let waited = http::wait_for(
            &format!("{name}'s API on {url}"),
            timeout,
            Duration::from_millis(50),
            || {
                if !self.alive(&name) {
                    return Err(self.died(&name, "its API answered"));
                }
                Ok(http::call("GET", &url, None, Duration::from_secs(2))
                    .ok()
                    .filter(|a| a.ok())
                    .map(drop))
            },
        );
        waited?;
        Ok(record)
    }

    /// Starts the vrouter of compute node `spec.compute` inside its namespace and waits (at
    /// most `timeout`) until its port IPC accepts connections.
    pub fn start_vrouter(
        &mut self,
        spec: &VrouterSpec,
        timeout: Duration,
    ) -> Result<ProcessRecord> {
        let node = self.compute(&spec.compute)?.clone();
        let state_dir = spec
            .state_dir
            .clone()
            .unwrap_or_else(|| self.dir.join(&spec.compute));
        std::fs::create_dir_all(&state_dir)
            .map_err(|e| LabError::file("creating the vrouter's state dir", &state_dir, e))?;
        let mut p = ProcessSpec::new(
            &vrouter_name(&spec.compute),
            Some(&node.netns),
            &spec.binary,
        )
        .arg("--hostname")
        .arg(&spec.compute);
        for c in &spec.controllers {
            p = p.arg("--controller").arg(c.to_string());
        }
        let p = p
            .arg("--fabric-interface")
            .arg("eth0")
            .arg("--state-dir")
            .arg(state_dir.display().to_string())
            .arg("--port-ipc-listen")
            .arg(spec.port_ipc_listen.to_string())
            .arg("--introspect-listen")
            .arg(spec.introspect_listen.to_string())
            .args(spec.extra_args.iter().cloned())
            .env("RUST_LOG", "info");
        let record = self.spawn(&p)?;
        if let Some(c) = self
            .state
            .computes
            .iter_mut()
            .find(|c| c.name == spec.compute)
        {
            c.port_ipc = Some(spec.port_ipc_listen);
            c.introspect = Some(spec.introspect_listen);
        }
        self.save()?;
        let name = record.name.clone();
        let addr = spec.port_ipc_listen;
        http::wait_for(
            &format!("{name}'s port IPC on {addr} in {}", node.netns),
            timeout,
            Duration::from_millis(50),
            || {
                if !self.alive(&name) {
                    return Err(self.died(&name, "its port IPC listened"));
                }
                let up = netns::tcp_reachable(&node.netns, addr, Duration::from_millis(500))?;
                Ok(up.then_some(()))
            },
        )?;
        Ok(record)
    }

    /// GET a path of a compute node's vrouter introspect (from inside its namespace).
    pub fn vrouter_introspect(&self, compute: &str, path: &str) -> Result<Value> {
        let node = self.compute(compute)?;
        let addr = node.introspect.ok_or_else(|| {
            LabError::Invalid(format!("no vrouter runs on {compute}: start one first"))
        })?;
        let url = format!("http://{addr}{path}");
        netns::run_in(&node.netns, || http::get_json(&url, Duration::from_secs(5)))?
    }
}

/// The lab's name for the vrouter process of compute node `cK`.
pub fn vrouter_name(compute: &str) -> String {
    format!("vrouter-{compute}")
}

/// Which of `hostnames` the controller's introspect `/vrouters` answer shows as connected.
///
/// Tolerant of the answer's shape: it looks, at any depth, for objects naming a vrouter
/// (`hostname` or `name`) and takes one as connected unless it says otherwise (`connected:
/// false`, or a `state` other than established/connected/up).
pub fn connected_vrouters(answer: &Value, hostnames: &[String]) -> Vec<String> {
    fn walk(v: &Value, found: &mut Vec<(String, bool)>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| walk(i, found)),
            Value::Object(map) => {
                let name = ["hostname", "name"]
                    .iter()
                    .find_map(|k| map.get(*k).and_then(Value::as_str));
                if let Some(name) = name {
                    let connected = match (map.get("connected"), map.get("state")) {
                        (Some(Value::Bool(b)), _) => *b,
                        (_, Some(Value::String(s))) => matches!(
                            s.to_ascii_lowercase().as_str(),
                            "established" | "connected" | "up" | "ready"
                        ),
                        _ => true,
                    };
                    found.push((name.to_string(), connected));
                }
                map.values().for_each(|i| walk(i, found));
            }
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(answer, &mut found);
    hostnames
        .iter()
        .filter(|h| found.iter().any(|(n, c)| n == *h && *c))
        .cloned()
        .collect()
}

/// Waits (at most `timeout`) until the controller's introspect lists every one of `hostnames`
/// as a connected vrouter.
pub fn wait_vrouters_connected(
    introspect_url: &str,
    hostnames: &[String],
    timeout: Duration,
) -> Result<()> {
    let url = format!("{}/vrouters", introspect_url.trim_end_matches('/'));
    let mut last = Vec::new();
    http::wait_for(
        &format!("vrouters {} to connect ({url})", hostnames.join(", ")),
        timeout,
        Duration::from_millis(100),
        || {
            let Ok(answer) = http::get_json(&url, Duration::from_secs(2)) else {
                return Ok(None);
            };
            last = connected_vrouters(&answer, hostnames);
            Ok((last.len() == hostnames.len()).then_some(()))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn connected_vrouters_are_read_from_any_reasonable_shape() {
        let names = ["c1".to_string(), "c2".to_string(), "c3".to_string()];
        let answer = json!({"vrouters": [
            {"hostname": "c1", "state": "Established", "address": "198.18.0.11"},
            {"hostname": "c2", "connected": false},
            {"hostname": "c3"},
        ]});
        assert_eq!(connected_vrouters(&answer, &names), ["c1", "c3"]);
        let answer = json!([{"name": "c2", "state": "up"}, {"name": "c9"}]);
        assert_eq!(connected_vrouters(&answer, &names), ["c2"]);
        assert!(connected_vrouters(&json!({}), &names).is_empty());
    }
}
