//! The shipped alert rules and dashboard (`deploy/`): `promtool check rules` accepts the rules,
//! `promtool test rules` makes each alert fire and clear on synthetic series, and every
//! Cirrus metric the rules and the dashboard read is one the programs export (its name is in
//! their source), so a renamed metric cannot leave an alert that never fires.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use cirrus_metrics::testing::{PROMTOOL, prometheus_can_run, promtool_test_rules};

fn root() -> PathBuf {
    cirrus_testkit::repo_root()
}

#[test]
fn alert_rules_fire_and_clear_under_promtool() {
    if !prometheus_can_run("alert_rules_fire_and_clear_under_promtool") {
        return;
    }
    let rules = root().join("deploy/prometheus/cirrus-alerts.yml");
    let out = Command::new(PROMTOOL)
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool check rules: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let tests = root().join("deploy/prometheus/cirrus-alerts.test.yml");
    let (ok, said) = promtool_test_rules(&[&tests]);
    assert!(ok, "promtool test rules: {said}");
    // Every alert of the file is exercised by the tests.
    let rules_text = std::fs::read_to_string(&rules).unwrap();
    let tests_text = std::fs::read_to_string(&tests).unwrap();
    for line in rules_text.lines() {
        if let Some(name) = line.trim().strip_prefix("- alert: ") {
            assert!(
                tests_text.contains(&format!("alertname: {name}")),
                "alert {name} has no promtool test"
            );
        }
    }
}

/// `cirrus_...` names in a text, histogram suffixes removed.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("cirrus_") {
        let start = i + at;
        let mut end = start;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
            end += 1;
        }
        let preceded =
            start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if !preceded {
            let mut name = &text[start..end];
            for sfx in ["_bucket", "_count", "_sum"] {
                if let Some(n) = name.strip_suffix(sfx) {
                    name = n;
                }
            }
            out.insert(name.to_string());
        }
        i = end.max(start + 1);
    }
    out
}

fn sources(dir: &Path, into: &mut String) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, into);
        } else if p.extension().is_some_and(|x| x == "rs") {
            into.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
        }
    }
}

#[test]
fn rules_and_dashboard_read_only_exported_metrics() {
    let mut code = String::new();
    for c in ["controller", "agent", "control"] {
        sources(&root().join("crates").join(c).join("src"), &mut code);
    }
    // A family name is a string literal in the code that writes it.
    let exported: BTreeSet<String> = metric_names(&code)
        .into_iter()
        .filter(|n| code.contains(&format!("\"{n}\"")))
        .collect();
    assert!(exported.contains("cirrus_bgp_peer_up"), "{exported:?}");
    for file in [
        "deploy/prometheus/cirrus-alerts.yml",
        "deploy/grafana/cirrus.json",
    ] {
        let text = std::fs::read_to_string(root().join(file)).unwrap();
        let used = metric_names(&text);
        assert!(!used.is_empty(), "{file} reads no cirrus metric");
        let unknown: Vec<&String> = used.difference(&exported).collect();
        assert!(
            unknown.is_empty(),
            "{file} reads metrics no program exports: {unknown:?}"
        );
    }
}
