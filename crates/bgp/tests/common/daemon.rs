//! Third-party BGP daemons for interop tests: locate the binary (fail naming the Debian
//! package when missing), temp config dirs, and processes killed by PID on drop (also on panic).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The path of `bin`, or a test failure that names the package to install.
pub fn require(bin: &str, package: &str) -> PathBuf {
    let candidates = [
        PathBuf::from(bin),
        Path::new("/usr/bin").join(bin),
        Path::new("/usr/sbin").join(bin),
        Path::new("/usr/lib/frr").join(bin),
    ];
    for c in &candidates {
        if c.is_absolute() && c.exists() {
            return c.clone();
        }
    }
    if let Ok(out) = Command::new("which").arg(bin).output()
        && out.status.success()
    {
        return PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    }
    panic!("{bin} not found: install the Debian package `{package}` (apt-get install {package})");
}

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p =
            std::env::temp_dir().join(format!("cirrus-bgp-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed (SIGKILL to its own PID) and reaped on drop.
pub struct Daemon {
    pub name: String,
    child: Option<Child>,
}

impl Daemon {
    pub fn spawn(name: &str, cmd: &mut Command, log: &Path) -> Daemon {
        let f = std::fs::File::create(log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Daemon {
            name: name.to_string(),
            child: Some(child),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    /// Kills now (SIGKILL): used to simulate a crash for graceful-restart tests.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs a CLI command and returns its stdout. Not being able to run it, or a non-zero exit,
/// fails the test: an observation that did not happen must never read as "nothing there".
pub fn run(bin: &Path, args: &[&str]) -> String {
    try_run(bin, args).unwrap_or_else(|e| panic!("{e}"))
}

/// [`run`] for the calls that may fail on purpose (waiting for a daemon to come back): its
/// stdout, or what went wrong.
pub fn try_run(bin: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new(bin)
        .args(args)
        .output()
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{} {args:?} failed ({}):\n{stdout}{}",
            bin.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
