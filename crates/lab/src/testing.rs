//! The harness topology tests share (feature `testing`): the project's skip rule, a unique
//! prefix per test, where the binaries under test are, and [`TestLab`], a lab in a temporary
//! state dir that is torn down and removed when the test ends, also when it panics.
//!
//! Skip rule (PLAN.md): a missing prerequisite fails the test under `CI=true`; elsewhere the
//! test prints `SKIP <test>: <why>` to stderr, appends that line to `$CIRRUS_SKIP_LOG` when
//! set, and returns.

use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::cmd;
use crate::error::Result;
use crate::lab::{Lab, LabSpec};

/// Reports a skipped test (or fails it under `CI=true`): the project's one rule,
/// [`cirrus_testkit::skip`].
pub fn skip(test: &str, why: &str) {
    cirrus_testkit::skip(test, why)
}

/// Whether this process runs as root (uid 0).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
    })
}

/// What a lab needs that this machine lacks: root, and the tools it runs.
pub fn missing_prerequisites(tools: &[&str]) -> Vec<String> {
    let mut missing = Vec::new();
    if !is_root() {
        missing.push("root (network namespaces)".to_string());
    }
    for tool in tools {
        if !cmd::installed(tool) {
            missing.push(format!("{tool} (scripts/install-test-deps.sh installs it)"));
        }
    }
    missing
}

/// The tools every lab uses.
pub const LAB_TOOLS: &[&str] = &["ip", "nft", "ethtool", "busybox"];

/// `true` when the lab can run here; otherwise reports the skip (see [`skip`]) and returns
/// `false`.
pub fn lab_can_run(test: &str, extra_tools: &[&str]) -> bool {
    let tools: Vec<&str> = LAB_TOOLS.iter().chain(extra_tools).copied().collect();
    let missing = missing_prerequisites(&tools);
    if missing.is_empty() {
        return true;
    }
    skip(test, &format!("needs {}", missing.join(", ")));
    false
}

/// A prefix no other test on this machine uses now: `t`, up to 3 characters of `tag`, and
/// the pid and a per-process counter in hex.
pub fn unique_prefix(tag: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tag: String = tag
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .take(3)
        .collect();
    let id = ((std::process::id() & 0xfffff) << 8) | (n & 0xff);
    let mut prefix = format!("t{tag}{id:x}");
    prefix.truncate(crate::plan::PREFIX_MAX);
    prefix
}

/// A program built beside the test binary (`cirrus-controller`, `cirrus-vrouter`), or named by
/// `$CIRRUS_<NAME>_BIN` (e.g. `CIRRUS_CONTROLLER_BIN`, `CIRRUS_VROUTER_BIN`).
pub fn binary(name: &str) -> Option<PathBuf> {
    // cirrus-controller -> CIRRUS_CONTROLLER_BIN
    let var = format!("{}_BIN", name.to_ascii_uppercase().replace('-', "_"));
    if let Some(path) = std::env::var_os(&var) {
        return Some(PathBuf::from(path));
    }
    // Test binaries live in <target>/<profile>/deps; programs in <target>/<profile>.
    let exe = std::env::current_exe().ok()?;
    let candidates = [
        exe.parent().and_then(Path::parent).map(|p| p.join(name)),
        exe.parent().map(|p| p.join(name)),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

/// A lab in its own temporary state dir, torn down and the dir removed when dropped.
pub struct TestLab {
    lab: Option<Lab>,
    dir: PathBuf,
}

impl TestLab {
    /// A lab with a unique prefix built from `tag` and `computes` compute nodes.
    pub fn new(tag: &str, computes: u32) -> Result<TestLab> {
        TestLab::with(tag, |spec| spec.computes(computes))
    }

    /// A lab with a unique prefix built from `tag`, its spec changed by `f`.
    pub fn with(tag: &str, f: impl FnOnce(LabSpec) -> LabSpec) -> Result<TestLab> {
        let prefix = unique_prefix(tag);
        let dir = std::env::temp_dir().join(format!("cirrus-lab-{prefix}"));
        let _ = std::fs::remove_dir_all(&dir);
        let lab = Lab::create(&f(LabSpec::new(&prefix, &dir)));
        match lab {
            Ok(lab) => Ok(TestLab {
                lab: Some(lab),
                dir,
            }),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Gives up the handle without tearing down, as a crash of the test program would; the lab
    /// stays recorded in [`TestLab::dir`] for [`Lab::open`].
    pub fn abandon(&mut self) {
        if let Some(mut lab) = self.lab.take() {
            lab.keep();
        }
    }
}

impl Deref for TestLab {
    type Target = Lab;
    fn deref(&self) -> &Lab {
        self.lab.as_ref().expect("the lab was abandoned")
    }
}

impl DerefMut for TestLab {
    fn deref_mut(&mut self) -> &mut Lab {
        self.lab.as_mut().expect("the lab was abandoned")
    }
}

impl Drop for TestLab {
    fn drop(&mut self) {
        if let Some(lab) = self.lab.take() {
            drop(lab);
        } else if let Ok(lab) = Lab::open(&self.dir) {
            // Abandoned and not taken back: still ours to remove.
            let report = lab.down();
            if !report.clean() {
                eprintln!("cirrus-lab: teardown of an abandoned test lab: {report}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_unique_and_valid() {
        let a = unique_prefix("Crash!");
        let b = unique_prefix("crash");
        assert_ne!(a, b);
        crate::plan::check_prefix(&a).unwrap();
        assert!(a.starts_with("tcra"), "{a}");
        crate::plan::check_prefix(&unique_prefix("")).unwrap();
    }
}
