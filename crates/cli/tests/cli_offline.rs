//! cirrusctl as a user runs it, where no server is needed: help text, usage errors, bad files,
//! and the hint when nothing listens at the API address.

use std::net::TcpListener;
use std::process::{Command, Output, Stdio};

fn cirrusctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cirrusctl"))
        .env_remove("CIRRUS_TOKEN")
        .env_remove("CIRRUS_API")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An API address where nothing listens (a port just released).
fn closed_api() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

#[test]
fn every_command_has_help_with_an_example() {
    for cmd in [
        &["--help"][..],
        &["list", "--help"],
        &["get", "--help"],
        &["create", "--help"],
        &["delete", "--help"],
        &["apply", "--help"],
    ] {
        let out = cirrusctl(cmd);
        assert!(out.status.success(), "{cmd:?}");
        let help = text(&out.stdout);
        assert!(help.contains("Example"), "{cmd:?}:\n{help}");
        assert!(help.contains("cirrusctl "), "{cmd:?}:\n{help}");
    }
}

#[test]
fn usage_errors_exit_2() {
    for cmd in [
        &["frobnicate"][..],
        &["get", "virtual network", "x"],
        &["list", "project", "-o", "xml"],
        &["apply"],
    ] {
        let out = cirrusctl(cmd);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {}", text(&out.stderr));
    }
}

#[test]
fn connection_refused_hints_at_the_controller() {
    let api = closed_api();
    let out = cirrusctl(&["--api", &api, "list", "virtual-networks"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: GET /virtual-networks: cannot connect"),
        "{err}"
    );
    assert!(
        err.contains(&format!("is cirrus-controller running on {api}?")),
        "{err}"
    );
}

#[test]
fn bad_apply_files_name_the_document_before_any_request() {
    let dir = std::env::temp_dir().join(format!("cirrusctl-offline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.yaml");
    std::fs::write(
        &file,
        "kind: project\nfq_name: default-domain:p\n---\nfq_name: a:b:c\n",
    )
    .unwrap();
    // The API address is closed: a request would fail differently.
    let out = cirrusctl(&[
        "--api",
        &closed_api(),
        "apply",
        "-f",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("document 2: missing 'kind'"), "{err}");
    assert!(text(&out.stdout).is_empty());

    let empty = dir.join("empty.yaml");
    std::fs::write(&empty, "# nothing\n---\n").unwrap();
    let out = cirrusctl(&[
        "--api",
        &closed_api(),
        "apply",
        "-f",
        empty.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("empty.yaml: no objects to apply"));

    let out = cirrusctl(&["apply", "-f", "/nonexistent/cirrus.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("reading /nonexistent/cirrus.yaml"));
    let _ = std::fs::remove_dir_all(&dir);
}
