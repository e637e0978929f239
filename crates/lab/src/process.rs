//! Processes of a lab: started in a namespace (through `ip netns exec`, which execs the program
//! so the pid we see is the program's) with their output appended to a log file, each in its
//! own process group so a Ctrl-C at the terminal does not reach them; identified by pid *and*
//! start time, so stopping one never signals a process that merely reuses its pid.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::{LabError, Result};
use crate::state::ProcessRecord;

/// What to start.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    /// Unique in the lab: names the record and the log file `<logs>/<name>.log`.
    pub name: String,
    /// The namespace to run in; `None` for the root namespace.
    pub netns: Option<String>,
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl ProcessSpec {
    pub fn new(name: &str, netns: Option<&str>, program: impl Into<PathBuf>) -> ProcessSpec {
        ProcessSpec {
            name: name.to_string(),
            netns: netns.map(str::to_string),
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// The command line, as recorded.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .collect()
    }
}

/// Starts `spec` with its output appended to `log`; returns the child and its record.
pub(crate) fn start(spec: &ProcessSpec, log: &Path) -> Result<(Child, ProcessRecord)> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| LabError::file("creating the log directory", dir, e))?;
    }
    let out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .map_err(|e| LabError::file("opening the log", log, e))?;
    let err = out
        .try_clone()
        .map_err(|e| LabError::file("opening the log", log, e))?;
    let mut command = match &spec.netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(&spec.program);
            c
        }
        None => Command::new(&spec.program),
    };
    command
        .args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0);
    let child = command.spawn().map_err(|e| LabError::Process {
        name: spec.name.clone(),
        detail: format!("starting {}: {e}", spec.argv().join(" ")),
    })?;
    let pid = child.id();
    let record = ProcessRecord {
        name: spec.name.clone(),
        pid,
        start_ticks: start_ticks(pid),
        netns: spec.netns.clone(),
        argv: spec.argv(),
        log: log.to_path_buf(),
    };
    tracing::info!(name = %spec.name, pid, netns = ?spec.netns, "started");
    Ok((child, record))
}

/// Field 22 of `/proc/<pid>/stat`: when the process started, in clock ticks after boot.
pub fn start_ticks(pid: u32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// The fields of `/proc/<pid>/stat` after the command name (state is the first).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself hold spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// Whether the recorded process still runs: its pid exists, is not a zombie, and started when
/// the record says.
pub fn alive(record: &ProcessRecord) -> bool {
    let Some(fields) = stat_fields(record.pid) else {
        return false;
    };
    if matches!(fields.first().map(String::as_str), Some("Z" | "X" | "x")) {
        return false;
    }
    match record.start_ticks {
        Some(t) => fields.get(19).and_then(|s| s.parse().ok()) == Some(t),
        // Recorded without a start time (it had ended before we looked): never ours to signal.
        None => false,
    }
}

/// Sends `signal` to the recorded process if it is still the same process.
pub fn signal(record: &ProcessRecord, signal: Signal) -> bool {
    if !alive(record) {
        return false;
    }
    let Ok(pid) = i32::try_from(record.pid) else {
        return false;
    };
    kill(Pid::from_raw(pid), signal).is_ok()
}

/// Stops the recorded process: SIGTERM, then SIGKILL after `grace`; waits (bounded) until it is
/// gone. `child` reaps it when this program started it. Returns whether it was running.
pub fn stop(record: &ProcessRecord, mut child: Option<&mut Child>, grace: Duration) -> bool {
    let reap = |c: &mut Option<&mut Child>| {
        if let Some(c) = c.as_mut() {
            let _ = c.try_wait();
        }
    };
    reap(&mut child);
    if !signal(record, Signal::SIGTERM) {
        return false;
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        reap(&mut child);
        if !alive(record) {
            tracing::info!(name = %record.name, pid = record.pid, "stopped");
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(record, Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(record) && Instant::now() < deadline {
        reap(&mut child);
        std::thread::sleep(Duration::from_millis(10));
    }
    reap(&mut child);
    tracing::warn!(name = %record.name, pid = record.pid, "killed after {grace:?}");
    true
}

/// The last `lines` lines of a log, for error messages.
pub fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_for_line(log: &Path, line: &str) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while log_tail(log, 1) != line {
            assert!(
                Instant::now() < deadline,
                "{} never said {line}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn records_are_checked_by_start_time_and_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sleep.log");
        let spec =
            ProcessSpec::new("sleeper", None, "sh").args(["-c", "echo hello; exec sleep 30"]);
        let (mut child, record) = start(&spec, &log).unwrap();
        assert!(alive(&record));
        wait_for_line(&log, "hello");
        // The same pid with another start time is not ours.
        let other = ProcessRecord {
            start_ticks: record.start_ticks.map(|t| t + 1),
            ..record.clone()
        };
        assert!(!alive(&other));
        assert!(!signal(&other, Signal::SIGTERM));
        assert!(alive(&record));
        assert!(stop(&record, Some(&mut child), Duration::from_secs(5)));
        assert!(!alive(&record));
        assert!(!stop(&record, Some(&mut child), Duration::from_secs(1)));
        assert_eq!(log_tail(&log, 5), "hello");
    }

    #[test]
    fn a_process_ignoring_sigterm_is_killed() {
        let dir = tempfile::tempdir().unwrap();
        let spec = ProcessSpec::new("stubborn", None, "sh").args([
            "-c",
            "trap '' TERM; echo ready; while :; do sleep 0.05; done",
        ]);
        let log = dir.path().join("s.log");
        let (mut child, record) = start(&spec, &log).unwrap();
        wait_for_line(&log, "ready");
        assert!(stop(&record, Some(&mut child), Duration::from_millis(200)));
        assert!(!alive(&record));
    }
}
