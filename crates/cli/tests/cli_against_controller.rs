//! cirrusctl end to end against a real `cirrus-controller`: apply (twice, then with a change),
//! get, list, create, delete and the error paths, each run as the `cirrusctl` binary a user runs.
//!
//! The controller binary is taken from `CIRRUS_CONTROLLER_BIN`, else from beside the cirrusctl
//! binary under test, else `target/debug/` of the workspace (the project's test script builds it
//! first). Without it the test is a visible skip (a failure under `CI=true`). The controller
//! runs on a free loopback port with a fresh data dir, and is killed by its pid when the test
//! ends, also on panic.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

// ---- the controller under test ----

fn controller_bin() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CIRRUS_CONTROLLER_BIN") {
        let path = PathBuf::from(path);
        // Set but wrong is a mistake to report, not a missing prerequisite.
        assert!(
            path.is_file(),
            "CIRRUS_CONTROLLER_BIN={} is not a file",
            path.display()
        );
        return Some(path);
    }
    // Beside cirrusctl (same target dir and profile), else the workspace's default target dir.
    let beside = Path::new(env!("CARGO_BIN_EXE_cirrusctl")).with_file_name("cirrus-controller");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let default = root.join("target/debug/cirrus-controller");
    [beside, default].into_iter().find(|p| p.exists())
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir =
            std::env::temp_dir().join(format!("cirrusctl-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running controller; killed (by its pid, through its `Child`) when dropped.
struct Controller {
    child: Child,
    url: String,
    log: PathBuf,
    // Dropped after the child is killed (fields drop in order, after `Drop::drop`).
    dir: TempDir,
}

impl Controller {
    fn start(bin: &Path) -> Controller {
        let dir = TempDir::new("it");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.0.join("controller.log");
        let log_file = std::fs::File::create(&log).unwrap();
        std::fs::create_dir_all(dir.0.join("data")).unwrap();
        // The config node alone: the control node's fixed ports (introspect, channel, BGP)
        // may be taken by a sandbox or another controller on this machine.
        let child = Command::new(bin)
            .args(["--roles", "config"])
            .arg("--api-listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(dir.0.join("data"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().unwrap())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let mut controller = Controller {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            dir,
        };
        controller.wait_ready();
        controller
    }

    fn wait_ready(&mut self) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(2)))
            .build()
            .into();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if agent.get(format!("{}/", self.url)).call().is_ok() {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "cirrus-controller exited with {status} before answering:\n{}",
                    self.log_text()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "cirrus-controller did not answer GET / on {} within 60 s:\n{}",
                    self.url,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs `cirrusctl --api URL ARGS...`.
    fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_cirrusctl"))
            .env_remove("CIRRUS_TOKEN")
            .env_remove("CIRRUS_API")
            .arg("--api")
            .arg(&self.url)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs cirrusctl, asserts it succeeded and returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "cirrusctl {args:?} failed ({}):\nstdout: {stdout}\nstderr: {stderr}\ncontroller log:\n{}",
            out.status,
            self.log_text()
        );
        stdout
    }

    /// Runs cirrusctl, asserts it failed with status 1 and returns its stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.cli(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(1),
            "cirrusctl {args:?} should fail with 1; stdout: {}\nstderr: {stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        stderr
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- the scenario ----

const NETWORK: &str = r#"# an IPAM and a network that uses it
kind: network-ipam
fq_name: default-domain:default-project:cli-ipam
---
kind: virtual-network
fq_name: [default-domain, default-project, cli-vn]
display_name: cli vn
network_ipam_refs:
  - to: [default-domain, default-project, cli-ipam]
    attr:
      ipam_subnets:
        - subnet: {ip_prefix: 10.91.0.0, ip_prefix_len: 24}
"#;

/// Splits `ACTION TYPE FQNAME UUID` lines.
fn applied(stdout: &str) -> Vec<[String; 4]> {
    stdout
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 4, "not ACTION TYPE FQNAME UUID: {l:?}");
            [f[0], f[1], f[2], f[3]].map(str::to_string)
        })
        .collect()
}

#[test]
fn cirrusctl_against_a_real_controller() {
    let Some(bin) = controller_bin() else {
        cirrus_testkit::skip(
            "cli_against_controller::cirrusctl_against_a_real_controller",
            "no cirrus-controller binary (set CIRRUS_CONTROLLER_BIN or build it: \
             cargo build -p cirrus-controller)",
        );
        return;
    };
    let c = Controller::start(&bin);
    let file = c.write("network.yaml", NETWORK);

    // apply creates, then changes nothing, then updates exactly the changed object.
    let first = applied(&c.ok(&["apply", "-f", &file]));
    assert_eq!(first.len(), 2, "{first:?}");
    assert_eq!(
        first[0][..3],
        [
            "created",
            "network-ipam",
            "default-domain:default-project:cli-ipam"
        ]
    );
    assert_eq!(
        first[1][..3],
        [
            "created",
            "virtual-network",
            "default-domain:default-project:cli-vn"
        ]
    );
    let (ipam_uuid, vn_uuid) = (first[0][3].clone(), first[1][3].clone());

    let second = applied(&c.ok(&["apply", "-f", &file]));
    assert_eq!(second[0][0], "unchanged", "{second:?}");
    assert_eq!(second[1][0], "unchanged", "{second:?}");
    assert_eq!((&second[0][3], &second[1][3]), (&ipam_uuid, &vn_uuid));

    let changed = c.write(
        "network2.yaml",
        &NETWORK.replace("display_name: cli vn", "display_name: cli vn two"),
    );
    let third = applied(&c.ok(&["apply", "-f", &changed]));
    assert_eq!(third[0][0], "unchanged", "{third:?}");
    assert_eq!(third[1][0], "updated", "{third:?}");
    let fourth = applied(&c.ok(&["apply", "-f", &changed]));
    assert_eq!(fourth[1][0], "unchanged", "{fourth:?}");

    // get by fq_name (json) and by uuid (table).
    let vn: Value = serde_json::from_str(&c.ok(&[
        "get",
        "virtual-network",
        "default-domain:default-project:cli-vn",
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(vn["uuid"], vn_uuid.as_str());
    assert_eq!(
        vn["fq_name"],
        serde_json::json!(["default-domain", "default-project", "cli-vn"])
    );
    assert_eq!(vn["display_name"], "cli vn two");
    assert_eq!(
        vn["network_ipam_refs"][0]["to"],
        serde_json::json!(["default-domain", "default-project", "cli-ipam"])
    );
    let table = c.ok(&["get", "virtual-networks", &vn_uuid]);
    assert!(
        table.contains("default-domain:default-project:cli-vn"),
        "{table}"
    );

    // list: json entries, and the detailed table with the subnet.
    let list: Value = serde_json::from_str(&c.ok(&[
        "list",
        "virtual-networks",
        "--parent",
        "default-domain:default-project",
        "-o",
        "json",
    ]))
    .unwrap();
    let entries = list.as_array().expect("a JSON list");
    assert!(
        entries.iter().any(|e| e["uuid"] == vn_uuid.as_str()),
        "{list}"
    );
    let detail = c.ok(&["list", "virtual_network", "--detail"]);
    assert!(detail.starts_with("UUID"), "{detail}");
    assert!(detail.contains("10.91.0.0/24"), "{detail}");

    // create, and a second create of the same fq_name is the server's 409.
    let created = c.ok(&[
        "create",
        "project",
        "default-domain:cli-project",
        "--set",
        "display_name=cli project",
    ]);
    assert!(
        created.starts_with("created project default-domain:cli-project "),
        "{created}"
    );
    let err = c.fails(&["create", "project", "default-domain:cli-project"]);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("POST /projects: 409"), "{err}");

    // apply stops at the first refused document and names it.
    let bad = c.write(
        "bad.yaml",
        "kind: project\nfq_name: default-domain:cli-project\n---\n\
         kind: virtual-network\nfq_name: default-domain:cli-project:vn-bad\n\
         network_ipam_refs: [{to: default-domain:cli-project:no-such-ipam}]\n---\n\
         kind: network-ipam\nfq_name: default-domain:cli-project:never\n",
    );
    let out = c.cli(&["apply", "-f", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.starts_with("unchanged project"), "{stdout}");
    assert!(
        stderr.contains("document 2 (virtual-network default-domain:cli-project:vn-bad) failed: "),
        "{stderr}"
    );
    c.fails(&["get", "network-ipam", "default-domain:cli-project:never"]);

    // delete by fq_name and by uuid; then the objects are gone.
    let deleted = c.ok(&[
        "delete",
        "virtual-network",
        "default-domain:default-project:cli-vn",
    ]);
    assert_eq!(
        deleted.trim(),
        format!("deleted virtual-network default-domain:default-project:cli-vn {vn_uuid}")
    );
    c.ok(&["delete", "network-ipam", &ipam_uuid]);
    c.ok(&["delete", "project", "default-domain:cli-project"]);
    let err = c.fails(&[
        "get",
        "virtual-network",
        "default-domain:default-project:cli-vn",
    ]);
    assert!(err.contains("not found"), "{err}");
    let err = c.fails(&["get", "network-ipam", &ipam_uuid]);
    assert!(
        err.contains(&format!("GET /network-ipam/{ipam_uuid}: 404")),
        "{err}"
    );
}
