//! Running the system's network tools (`ip`, `nft`, `ethtool`): one function that runs a
//! command to completion and turns a failure into a [`LabError::Command`] carrying the
//! command line and what it printed.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::error::{LabError, Result};

/// The command line as a user would type it, for error messages and logs.
pub(crate) fn describe(program: &str, args: &[&str]) -> String {
    let mut line = program.to_string();
    for a in args {
        line.push(' ');
        if a.is_empty() || a.contains(char::is_whitespace) {
            line.push_str(&format!("{a:?}"));
        } else {
            line.push_str(a);
        }
    }
    line
}

/// Runs `program args...` and returns its standard output; a non-zero exit is an error that
/// says what the command printed on standard error.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<String> {
    run_with_input(program, args, None)
}

/// [`run`] with `input` written to the command's standard input.
pub(crate) fn run_with_input(program: &str, args: &[&str], input: Option<&str>) -> Result<String> {
    let line = describe(program, args);
    tracing::debug!(command = %line, "run");
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| LabError::Command {
            command: line.clone(),
            detail: if e.kind() == std::io::ErrorKind::NotFound {
                format!("{program} is not installed (scripts/run.sh installs it)")
            } else {
                e.to_string()
            },
        })?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| LabError::Command {
                command: line.clone(),
                detail: format!("writing its input: {e}"),
            })?;
    }
    let out = child.wait_with_output().map_err(|e| LabError::Command {
        command: line.clone(),
        detail: e.to_string(),
    })?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let said = [stderr.trim(), stdout.trim()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    Err(LabError::Command {
        command: line,
        detail: format!(
            "{}{}",
            out.status,
            if said.is_empty() {
                String::new()
            } else {
                format!(": {said}")
            }
        ),
    })
}

/// Whether `program` can be started at all (installed and on PATH).
pub fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--help")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_say_the_command_and_what_it_printed() {
        let err = run("sh", &["-c", "echo nope >&2; exit 3"]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with("sh -c \"echo nope >&2; exit 3\": "),
            "{text}"
        );
        assert!(text.contains("exit status: 3: nope"), "{text}");
        let err = run("cirrus-no-such-tool", &[]).unwrap_err();
        assert!(err.to_string().contains("is not installed"), "{err}");
        assert_eq!(run_with_input("cat", &[], Some("hi")).unwrap(), "hi");
    }
}
