//! The lab's errors: each says which step failed on which object, and carries what the tool
//! printed, so a failed `sandbox up` or topology test reads as a sentence.

use std::path::PathBuf;

/// Anything that goes wrong building, using or tearing down a lab.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// A command (`ip`, `nft`, `ethtool`, ...) could not be started or exited non-zero.
    #[error("{command}: {detail}")]
    Command { command: String, detail: String },

    /// A file of the lab (state, lock, log, script) could not be read or written.
    #[error("{what} {}: {source}", path.display())]
    File {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The state file exists but is not one this version wrote.
    #[error("state file {}: {reason}", path.display())]
    BadState { path: PathBuf, reason: String },

    /// A name or value given to the lab is not usable.
    #[error("{0}")]
    Invalid(String),

    /// The lab has no such compute node, workload or process.
    #[error("no {kind} named {name} in lab {prefix}")]
    NotFound {
        kind: &'static str,
        name: String,
        prefix: String,
    },

    /// A process of the lab could not be started, or died while the lab waited for it.
    #[error("process {name}: {detail}")]
    Process { name: String, detail: String },

    /// Entering a network namespace failed.
    #[error("entering network namespace {ns}: {source}")]
    Netns {
        ns: String,
        #[source]
        source: std::io::Error,
    },

    /// An HTTP call (readiness probe, port IPC) failed.
    #[error("{method} {url}: {detail}")]
    Http {
        method: &'static str,
        url: String,
        detail: String,
    },

    /// Something did not happen within its time.
    #[error("timed out after {seconds:.1} s waiting for {what}")]
    Timeout { what: String, seconds: f64 },

    /// No free /24 is left in 198.18.0.0/15 for another lab.
    #[error("every /24 of 198.18.0.0/15 is in use by other labs on this machine")]
    NoSubnet,
}

pub type Result<T, E = LabError> = std::result::Result<T, E>;

impl LabError {
    pub(crate) fn file(
        what: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        LabError::File {
            what,
            path: path.into(),
            source,
        }
    }
}
