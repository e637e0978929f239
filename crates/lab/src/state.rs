//! The lab's state file, `<state dir>/lab.json`: every namespace, root-namespace link and
//! process the lab made, written *before* the lab makes a namespace or link and right after it
//! starts a process, so that teardown (`Lab::open(dir)?.down()`) finds all of it also after a
//! crash of any part or of the program that built the lab. Written whole to a temporary file
//! and renamed over the old one, so a reader never sees half a file.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{LabError, Result};

/// The state file's name inside the state dir.
pub const STATE_FILE: &str = "lab.json";
/// Held (flock) by the one handle that may change the lab.
pub const LOCK_FILE: &str = "lab.lock";
const VERSION: u32 = 1;

/// Everything a lab made, as recorded in its state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabState {
    pub version: u32,
    pub prefix: String,
    /// Which /24 of 198.18.0.0/15 the underlay uses.
    pub subnet: u16,
    /// Network namespaces, in the order they were made (torn down in reverse).
    pub namespaces: Vec<String>,
    /// Links in the root namespace.
    pub root_links: Vec<String>,
    /// Processes started and not yet seen to end.
    pub processes: Vec<ProcessRecord>,
    pub computes: Vec<ComputeRecord>,
    pub workloads: Vec<WorkloadRecord>,
    /// Offloads left on for workload veths (see `LabSpec::workload_offloads`).
    #[serde(default)]
    pub workload_offloads: bool,
    /// MTU of the underlay links.
    #[serde(default = "default_mtu")]
    pub underlay_mtu: u32,
    /// What the lab's user keeps beside it (e.g. the API URL of the sandbox's controller).
    #[serde(default)]
    pub meta: BTreeMap<String, Value>,
}

/// A process the lab started; teardown stops it only if the pid still names the same process
/// (same start time), so a recycled pid is never signalled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRecord {
    /// Unique in the lab: `controller`, `vrouter-c1`, ...
    pub name: String,
    pub pid: u32,
    /// Field 22 of /proc/<pid>/stat (clock ticks after boot) when it was started.
    pub start_ticks: Option<u64>,
    /// The namespace it runs in; `None` for the root namespace.
    pub netns: Option<String>,
    pub argv: Vec<String>,
    pub log: PathBuf,
}

/// A compute node: a namespace with `eth0` on the underlay bridge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputeRecord {
    /// `cK`, also the vrouter's hostname.
    pub name: String,
    pub index: u32,
    pub netns: String,
    pub address: Ipv4Addr,
    /// Where its vrouter serves the port IPC (inside `netns`), once one runs.
    #[serde(default)]
    pub port_ipc: Option<SocketAddr>,
    /// Where its vrouter serves introspect (inside `netns`), once one runs.
    #[serde(default)]
    pub introspect: Option<SocketAddr>,
}

/// A workload: a namespace joined to a compute node by a veth pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadRecord {
    pub name: String,
    pub netns: String,
    /// `cK`.
    pub compute: String,
    /// The veth end in the compute namespace (the vrouter's port, Contrail's `system-name`).
    pub host_ifname: String,
    /// The workload's own end, inside `netns`.
    pub ifname: String,
    pub mac: Option<String>,
    /// The address its DHCP client got, `a.b.c.d/len`.
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub meta: BTreeMap<String, Value>,
}

fn default_mtu() -> u32 {
    crate::plan::UNDERLAY_MTU
}

impl LabState {
    pub fn new(prefix: &str, subnet: u16) -> LabState {
        LabState {
            version: VERSION,
            prefix: prefix.to_string(),
            subnet,
            namespaces: Vec::new(),
            root_links: Vec::new(),
            processes: Vec::new(),
            computes: Vec::new(),
            workloads: Vec::new(),
            workload_offloads: false,
            underlay_mtu: crate::plan::UNDERLAY_MTU,
            meta: BTreeMap::new(),
        }
    }

    /// The state in `dir`, or `None` when no lab is recorded there.
    pub fn load(dir: &Path) -> Result<Option<LabState>> {
        let path = dir.join(STATE_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(LabError::file("reading the state file", path, e)),
        };
        let state: LabState = serde_json::from_str(&text).map_err(|e| LabError::BadState {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if state.version != VERSION {
            return Err(LabError::BadState {
                path,
                reason: format!(
                    "version {} (this program reads version {VERSION})",
                    state.version
                ),
            });
        }
        Ok(Some(state))
    }

    /// Writes the state to `dir` atomically (temporary file, then rename).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(STATE_FILE);
        let tmp = dir.join(format!("{STATE_FILE}.tmp"));
        let text = serde_json::to_string_pretty(self).expect("the state serializes");
        std::fs::write(&tmp, text + "\n")
            .map_err(|e| LabError::file("writing the state file", &tmp, e))?;
        std::fs::rename(&tmp, &path)
            .map_err(|e| LabError::file("replacing the state file", &path, e))
    }

    /// Removes the state file (after a complete teardown).
    pub fn remove(dir: &Path) -> Result<()> {
        let path = dir.join(STATE_FILE);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(LabError::file("removing the state file", path, e)),
        }
    }

    pub fn compute(&self, name: &str) -> Option<&ComputeRecord> {
        self.computes.iter().find(|c| c.name == name)
    }

    pub fn workload(&self, name: &str) -> Option<&WorkloadRecord> {
        self.workloads.iter().find(|w| w.name == name)
    }

    pub fn process(&self, name: &str) -> Option<&ProcessRecord> {
        self.processes.iter().find(|p| p.name == name)
    }
}

/// Takes the state dir's lock (blocking while another handle holds it).
pub fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| LabError::file("opening the lock file", &path, e))?;
    file.lock()
        .map_err(|e| LabError::file("locking", &path, e))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_loads_and_removes() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(LabState::load(dir.path()).unwrap(), None);
        let mut state = LabState::new("t1", 7);
        state.namespaces.push("t1-u".into());
        state.processes.push(ProcessRecord {
            name: "controller".into(),
            pid: 42,
            start_ticks: Some(1234),
            netns: None,
            argv: vec!["cirrus-controller".into()],
            log: dir.path().join("logs/controller.log"),
        });
        state
            .meta
            .insert("api".into(), "http://127.0.0.1:8082".into());
        state.save(dir.path()).unwrap();
        assert_eq!(LabState::load(dir.path()).unwrap(), Some(state));
        LabState::remove(dir.path()).unwrap();
        LabState::remove(dir.path()).unwrap();
        assert_eq!(LabState::load(dir.path()).unwrap(), None);
    }

    #[test]
    fn a_foreign_file_is_refused_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STATE_FILE), "{\"version\": 9}").unwrap();
        let err = LabState::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("lab.json"), "{err}");
        let mut state = serde_json::to_value(LabState::new("t", 0)).unwrap();
        state["version"] = 2.into();
        std::fs::write(dir.path().join(STATE_FILE), state.to_string()).unwrap();
        let err = LabState::load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("version 2"), "{err}");
    }
}
