//! [`Lab`]: one lab on this machine, its state file and the handle that changes it. A lab made
//! by [`Lab::create`] is torn down when its handle is dropped (tests), unless [`Lab::keep`] was
//! called (the sandbox, whose processes outlive `cirrusctl sandbox up`); [`Lab::open`] takes an
//! existing lab back from its state dir, and [`Lab::down`] removes every namespace, link and
//! process its state records. Building the underlay and compute nodes is in `underlay.rs`,
//! workloads in `workload.rs`, the controller and vrouters in `services.rs`, teardown in
//! `teardown.rs`.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use nix::sys::signal::Signal;
use serde_json::Value;

use crate::error::{LabError, Result};
use crate::plan::{MAX_COMPUTES, Plan};
use crate::process::{self, ProcessSpec};
use crate::state::{self, ComputeRecord, LabState, ProcessRecord, WorkloadRecord};
use crate::subnet;

/// What [`Lab::create`] builds.
#[derive(Debug, Clone)]
pub struct LabSpec {
    /// Starts every namespace and root-namespace link name (see [`crate::plan`]).
    pub prefix: String,
    /// Holds the state file, the logs and the processes' data. Created if missing.
    pub state_dir: PathBuf,
    /// Compute nodes c1..cN made with the underlay.
    pub computes: u32,
    /// Which /24 of 198.18.0.0/15 to use; `None`: the lowest free one.
    pub subnet: Option<u16>,
    /// Leave checksum and segmentation offloads on for workload veths (the default: the
    /// vrouter's GSO-aware I/O completes checksums and cuts super-frames). Turn them off for a
    /// forwarder that reads one whole frame at a time.
    pub workload_offloads: bool,
    /// MTU of every underlay link ([`crate::plan::UNDERLAY_MTU`], 65535, unless a test
    /// wants another).
    pub underlay_mtu: u32,
}

impl LabSpec {
    pub fn new(prefix: &str, state_dir: impl Into<PathBuf>) -> LabSpec {
        LabSpec {
            prefix: prefix.to_string(),
            state_dir: state_dir.into(),
            computes: 0,
            subnet: None,
            workload_offloads: true,
            underlay_mtu: crate::plan::UNDERLAY_MTU,
        }
    }

    pub fn computes(mut self, n: u32) -> Self {
        self.computes = n;
        self
    }

    pub fn workload_offloads(mut self, on: bool) -> Self {
        self.workload_offloads = on;
        self
    }

    pub fn underlay_mtu(mut self, mtu: u32) -> Self {
        self.underlay_mtu = mtu;
        self
    }

    pub fn subnet(mut self, index: u16) -> Self {
        self.subnet = Some(index);
        self
    }
}

/// A lab: the handle that changes it, holding its state dir's lock.
pub struct Lab {
    pub(crate) plan: Plan,
    pub(crate) state: LabState,
    pub(crate) dir: PathBuf,
    _lock: File,
    /// Processes this handle started, by name, so they are reaped when they end.
    pub(crate) children: HashMap<String, Child>,
    /// Tear everything down when dropped.
    owned: bool,
}

impl Lab {
    /// Builds a new lab: the underlay and `spec.computes` compute nodes. On failure, whatever
    /// was made is torn down before the error is returned.
    pub fn create(spec: &LabSpec) -> Result<Lab> {
        crate::plan::check_prefix(&spec.prefix)?;
        if spec.computes > MAX_COMPUTES {
            return Err(LabError::Invalid(format!(
                "{} compute nodes: at most {MAX_COMPUTES}",
                spec.computes
            )));
        }
        std::fs::create_dir_all(&spec.state_dir)
            .map_err(|e| LabError::file("creating the state dir", &spec.state_dir, e))?;
        let lock = state::lock(&spec.state_dir)?;
        if let Some(existing) = LabState::load(&spec.state_dir)? {
            return Err(LabError::Invalid(format!(
                "lab {} is already recorded in {}: tear it down first",
                existing.prefix,
                spec.state_dir.display()
            )));
        }
        let subnet_lock = subnet::lock()?;
        let index = subnet::choose(spec.subnet, &subnet::used()?)?;
        let plan = Plan::new(&spec.prefix, index)?;
        let mut state = LabState::new(&spec.prefix, index);
        state.workload_offloads = spec.workload_offloads;
        state.underlay_mtu = spec.underlay_mtu;
        state.save(&spec.state_dir)?;
        let mut lab = Lab {
            plan,
            state,
            dir: spec.state_dir.clone(),
            _lock: lock,
            children: HashMap::new(),
            owned: true,
        };
        let built = lab.build_underlay();
        // The /24 is ours once the root link carries its address.
        drop(subnet_lock);
        built?;
        for _ in 0..spec.computes {
            lab.add_compute()?;
        }
        tracing::info!(
            prefix = %lab.plan.prefix(),
            underlay = %lab.plan.underlay_addr(0),
            computes = spec.computes,
            "lab built"
        );
        Ok(lab)
    }

    /// Takes back the lab recorded in `state_dir` (to change it or tear it down). Dropping
    /// the handle leaves the lab as it is.
    pub fn open(state_dir: &Path) -> Result<Lab> {
        let lock = state::lock(state_dir)?;
        let state = LabState::load(state_dir)?.ok_or_else(|| {
            LabError::Invalid(format!("no lab is recorded in {}", state_dir.display()))
        })?;
        Ok(Lab {
            plan: Plan::new(&state.prefix, state.subnet)?,
            state,
            dir: state_dir.to_path_buf(),
            _lock: lock,
            children: HashMap::new(),
            owned: false,
        })
    }

    /// The state recorded in `state_dir`, read without taking the lock (for status).
    pub fn read(state_dir: &Path) -> Result<Option<LabState>> {
        LabState::load(state_dir)
    }

    /// Leaves the lab running when this handle is dropped: its processes outlive this
    /// program, and [`Lab::open`] + [`Lab::down`] remove it later.
    pub fn keep(&mut self) {
        self.owned = false;
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn state(&self) -> &LabState {
        &self.state
    }

    pub fn state_dir(&self) -> &Path {
        &self.dir
    }

    /// Where process logs go.
    pub fn log_dir(&self) -> PathBuf {
        self.dir.join("logs")
    }

    pub fn compute(&self, name: &str) -> Result<&ComputeRecord> {
        self.state
            .compute(name)
            .ok_or_else(|| self.not_found("compute node", name))
    }

    pub fn workload(&self, name: &str) -> Result<&WorkloadRecord> {
        self.state
            .workload(name)
            .ok_or_else(|| self.not_found("workload", name))
    }

    pub fn process(&self, name: &str) -> Result<&ProcessRecord> {
        self.state
            .process(name)
            .ok_or_else(|| self.not_found("process", name))
    }

    pub(crate) fn not_found(&self, kind: &'static str, name: &str) -> LabError {
        LabError::NotFound {
            kind,
            name: name.to_string(),
            prefix: self.plan.prefix().to_string(),
        }
    }

    /// Keeps `value` under `key` in the state file.
    pub fn set_meta(&mut self, key: &str, value: Value) -> Result<()> {
        self.state.meta.insert(key.to_string(), value);
        self.save()
    }

    pub fn meta(&self, key: &str) -> Option<&Value> {
        self.state.meta.get(key)
    }

    pub(crate) fn save(&self) -> Result<()> {
        self.state.save(&self.dir)
    }

    /// Records a namespace before it is made.
    pub(crate) fn record_netns(&mut self, ns: &str) -> Result<()> {
        if !self.state.namespaces.iter().any(|n| n == ns) {
            self.state.namespaces.push(ns.to_string());
            self.save()?;
        }
        Ok(())
    }

    /// Records a root-namespace link before it is made.
    pub(crate) fn record_root_link(&mut self, link: &str) -> Result<()> {
        if !self.state.root_links.iter().any(|l| l == link) {
            self.state.root_links.push(link.to_string());
            self.save()?;
        }
        Ok(())
    }

    // ---- processes ----

    /// Starts a process (in a namespace of this lab or the root namespace) with its output in
    /// `<state dir>/logs/<name>.log`, and records it.
    pub fn spawn(&mut self, spec: &ProcessSpec) -> Result<ProcessRecord> {
        if let Some(old) = self.state.process(&spec.name) {
            if process::alive(old) {
                return Err(LabError::Process {
                    name: spec.name.clone(),
                    detail: format!("already running as pid {}", old.pid),
                });
            }
            self.forget_process(&spec.name)?;
        }
        let log = self.log_dir().join(format!("{}.log", spec.name));
        let (child, record) = process::start(spec, &log)?;
        self.state.processes.push(record.clone());
        self.children.insert(spec.name.clone(), child);
        self.save()?;
        Ok(record)
    }

    /// Whether the named process runs (false when it ended or was never started).
    pub fn alive(&mut self, name: &str) -> bool {
        if let Some(child) = self.children.get_mut(name) {
            let _ = child.try_wait();
        }
        self.state.process(name).is_some_and(process::alive)
    }

    /// Sends `signal` to the named process (e.g. SIGKILL to simulate a crash).
    pub fn signal(&mut self, name: &str, signal: Signal) -> Result<bool> {
        let record = self.process(name)?.clone();
        let sent = process::signal(&record, signal);
        if let Some(child) = self.children.get_mut(name) {
            let _ = child.try_wait();
        }
        Ok(sent)
    }

    /// Stops the named process (SIGTERM, SIGKILL after `grace`) and forgets it.
    pub fn stop(&mut self, name: &str, grace: Duration) -> Result<()> {
        let record = self.process(name)?.clone();
        process::stop(&record, self.children.get_mut(name), grace);
        self.forget_process(name)
    }

    /// Waits (bounded) for the named process to end by itself; its exit status when this
    /// handle started it. The record is dropped once it ended.
    pub fn wait(
        &mut self,
        name: &str,
        timeout: Duration,
    ) -> Result<Option<std::process::ExitStatus>> {
        let record = self.process(name)?.clone();
        let status = crate::http::wait_for(
            &format!("{name} (pid {}) to end", record.pid),
            timeout,
            Duration::from_millis(20),
            || match self.children.get_mut(name) {
                Some(child) => Ok(child
                    .try_wait()
                    .map_err(|e| LabError::Process {
                        name: name.to_string(),
                        detail: e.to_string(),
                    })?
                    .map(Some)),
                None => Ok((!process::alive(&record)).then_some(None)),
            },
        )?;
        self.forget_process(name)?;
        Ok(status)
    }

    pub(crate) fn forget_process(&mut self, name: &str) -> Result<()> {
        self.state.processes.retain(|p| p.name != name);
        if let Some(mut child) = self.children.remove(name) {
            let _ = child.try_wait();
        }
        self.save()
    }

    /// The error for a process that died while the lab waited on it, with its log's tail.
    pub(crate) fn died(&mut self, name: &str, waiting_for: &str) -> LabError {
        let status = self
            .children
            .get_mut(name)
            .and_then(|c| c.try_wait().ok().flatten())
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        let log = self
            .state
            .process(name)
            .map(|p| p.log.clone())
            .unwrap_or_default();
        LabError::Process {
            name: name.to_string(),
            detail: format!(
                "ended{status} before {waiting_for}; last lines of {}:\n{}",
                log.display(),
                process::log_tail(&log, 20)
            ),
        }
    }

    // ---- commands inside the lab ----

    /// A command that runs `argv` inside namespace `ns` (for `sandbox exec`).
    pub fn command_in(ns: &str, argv: &[String]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns]).args(argv);
        c
    }

    /// Runs `argv` inside `ns` to completion; its standard output, or an error with what it
    /// printed.
    pub fn run_in(&self, ns: &str, argv: &[&str]) -> Result<String> {
        let mut args = vec!["netns", "exec", ns];
        args.extend_from_slice(argv);
        crate::cmd::run("ip", &args)
    }

    /// The namespace of a compute node (`cK`) or workload, by its lab name.
    pub fn netns_of(&self, name: &str) -> Result<String> {
        if let Some(c) = self.state.compute(name) {
            return Ok(c.netns.clone());
        }
        if let Some(w) = self.state.workload(name) {
            return Ok(w.netns.clone());
        }
        if name == "underlay" || name == "u" {
            return Ok(self.plan.underlay_ns());
        }
        Err(self.not_found("compute node or workload", name))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.owned {
            let report = self.teardown();
            if !report.clean() {
                tracing::warn!(%report, "lab teardown left something behind");
                eprintln!("cirrus-lab: teardown of {}: {report}", self.plan.prefix());
            }
        } else {
            // The processes this handle started run on; whoever ends them later (`down` from
            // another program), this program must still reap them, or each stays a zombie
            // for as long as this program runs.
            for (name, mut child) in self.children.drain() {
                let reaper = std::thread::Builder::new().name(format!("reap-{name}"));
                let _ = reaper.spawn(move || child.wait());
            }
        }
    }
}
