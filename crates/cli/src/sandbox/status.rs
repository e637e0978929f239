//! `sandbox status`: what the state file records, checked against what runs: each process
//! (running or ended), each compute node (is its vrouter connected to the controller), each
//! workload (its network and address).

use std::time::Duration;

use serde_json::Value;

use cirrus_lab::{Lab, LabState};

use super::Sandbox;
use crate::output::{self, Format};

pub fn status(sandbox: &Sandbox, format: Format) -> anyhow::Result<()> {
    let Some(state) = Lab::read(&sandbox.dir)? else {
        println!("no sandbox is up in {}", sandbox.dir.display());
        return Ok(());
    };
    if format != Format::Table {
        let value = serde_json::to_value(&state)?;
        print!("{}", output::to_text(format, &value));
        return Ok(());
    }
    print!("{}", render(sandbox, &state));
    Ok(())
}

fn meta<'a>(state: &'a LabState, key: &str) -> &'a str {
    state.meta.get(key).and_then(Value::as_str).unwrap_or("-")
}

fn render(sandbox: &Sandbox, state: &LabState) -> String {
    let plan = cirrus_lab::Plan::new(&state.prefix, state.subnet).ok();
    let mut out = format!(
        "sandbox {}: state in {}, underlay {}/24\n  VNC API     {}\n  introspect  {}\n\n",
        state.prefix,
        sandbox.dir.display(),
        plan.map_or("?".to_string(), |p| p.underlay_addr(0).to_string()),
        meta(state, "api"),
        meta(state, "introspect"),
    );
    let processes: Vec<Vec<String>> = state
        .processes
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.pid.to_string(),
                if cirrus_lab::process::alive(p) {
                    "running".into()
                } else {
                    "ENDED".into()
                },
                p.netns.clone().unwrap_or_else(|| "(root)".into()),
                p.log.display().to_string(),
            ]
        })
        .collect();
    out.push_str(&output::table(
        &["PROCESS", "PID", "STATE", "NAMESPACE", "LOG"],
        &processes,
    ));

    let hostnames: Vec<String> = state.computes.iter().map(|c| c.name.clone()).collect();
    let connected = connected(state, &hostnames);
    let computes: Vec<Vec<String>> = state
        .computes
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                c.address.to_string(),
                c.netns.clone(),
                match &connected {
                    Some(list) if list.contains(&c.name) => "connected".into(),
                    Some(_) => "NOT CONNECTED".into(),
                    None => "?".into(),
                },
            ]
        })
        .collect();
    if !computes.is_empty() {
        out.push('\n');
        out.push_str(&output::table(
            &["COMPUTE", "ADDRESS", "NAMESPACE", "VROUTER"],
            &computes,
        ));
    }
    let workloads: Vec<Vec<String>> = state
        .workloads
        .iter()
        .map(|w| {
            vec![
                w.name.clone(),
                w.compute.clone(),
                w.meta
                    .get("network")
                    .and_then(Value::as_str)
                    .unwrap_or("-")
                    .to_string(),
                w.address.clone().unwrap_or_else(|| "-".into()),
                w.mac.clone().unwrap_or_else(|| "-".into()),
                w.netns.clone(),
            ]
        })
        .collect();
    if !workloads.is_empty() {
        out.push('\n');
        out.push_str(&output::table(
            &[
                "WORKLOAD",
                "COMPUTE",
                "NETWORK",
                "ADDRESS",
                "MAC",
                "NAMESPACE",
            ],
            &workloads,
        ));
    }
    out
}

/// The compute nodes the controller's introspect lists as connected; `None` when it does not
/// answer.
fn connected(state: &LabState, hostnames: &[String]) -> Option<Vec<String>> {
    let introspect = state.meta.get("introspect")?.as_str()?;
    let url = format!("{introspect}/vrouters");
    let answer = cirrus_lab::http::get_json(&url, Duration::from_secs(2)).ok()?;
    Some(cirrus_lab::connected_vrouters(&answer, hostnames))
}
