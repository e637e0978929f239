//! `cirrusctl vrouter ...`: a compute node's agent as its introspect shows it (Contrail's agent
//! introspect port, 8085): controller sessions, ports, VRFs and routes, flows, drop counters
//! and the answers it gave workloads, as tables for people or the same JSON/YAML.
//!
//! The introspect listens on the compute node's loopback. `--introspect URL` reaches one the
//! caller can reach; `--node cK` reaches a sandbox's compute node by entering its network
//! namespace (root), so `cirrusctl vrouter --node c1 flows` works from the machine's shell.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::bgp::{cell, get, joined, list};
use crate::client::{Client, encode_query_value};
use crate::output::{self, Format};

#[derive(Debug, Args)]
pub struct VrouterArgs {
    /// Base URL of the vrouter's introspect (on the compute node itself)
    #[arg(
        long,
        global = true,
        env = "CIRRUS_VROUTER_INTROSPECT",
        default_value = "http://127.0.0.1:8085"
    )]
    pub introspect: String,

    /// A sandbox compute node (c1, c2, ...): its introspect is reached inside its namespace
    #[arg(long, global = true, value_name = "NODE")]
    pub node: Option<String>,

    /// The sandbox that --node belongs to [default: /run/cirrus-sandbox/<CIRRUS_SANDBOX_PREFIX
    /// or cirrus>]
    #[arg(long, global = true, env = "CIRRUS_SANDBOX_DIR", value_name = "DIR")]
    pub sandbox_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: VrouterCommand,
}

#[derive(Debug, Subcommand)]
pub enum VrouterCommand {
    /// Hostname, readiness, config revision, problems and programming errors
    Status,
    /// The controller sessions: state, subscriptions, routes published and received
    Controllers,
    /// Ports: device, label, network, VRF, MAC, addresses, floating IPs, state
    Ports,
    /// VRFs (routing instances) with their route counts
    Vrfs,
    /// The routes of one VRF with their next hops
    Routes {
        /// The routing instance's fq_name
        #[arg(long, value_name = "NAME", conflicts_with = "vrf")]
        instance: Option<String>,
        /// The VRF id
        #[arg(long, value_name = "ID")]
        vrf: Option<u16>,
    },
    /// Flow entries with their action, NAT and counters
    Flows {
        /// At most this many
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Only this VRF's
        #[arg(long, value_name = "ID")]
        vrf: Option<u16>,
    },
    /// Drops by reason: the pipeline's, and flow setup's by reason and by the rule that denied
    Drops,
    /// DHCP, ARP, ND and ping answers given to workloads, counted
    Services,
}

/// Where the sandbox lives when `--sandbox-dir` is not given.
pub(crate) fn default_sandbox_dir() -> PathBuf {
    let prefix = std::env::var("CIRRUS_SANDBOX_PREFIX").unwrap_or_else(|_| "cirrus".into());
    PathBuf::from("/run/cirrus-sandbox").join(prefix)
}

/// The namespace of a sandbox compute node.
fn node_namespace(args: &VrouterArgs, node: &str) -> anyhow::Result<String> {
    let dir = args.sandbox_dir.clone().unwrap_or_else(default_sandbox_dir);
    let Some(state) = cirrus_lab::Lab::read(&dir)? else {
        bail!(
            "--node {node}: no sandbox is up in {} (give --sandbox-dir, or --introspect)",
            dir.display()
        );
    };
    match state.compute(node) {
        Some(c) => Ok(c.netns.clone()),
        None => {
            let known: Vec<&str> = state.computes.iter().map(|c| c.name.as_str()).collect();
            bail!(
                "--node {node}: the sandbox has no such compute node (it has: {})",
                known.join(", ")
            )
        }
    }
}

/// GETs `path` from the vrouter's introspect, inside the node's namespace for `--node`.
pub(crate) fn fetch(args: &VrouterArgs, path: &str) -> anyhow::Result<Value> {
    let client = Client::new(&args.introspect, None);
    match &args.node {
        None => get(&client, path),
        Some(node) => {
            let ns = node_namespace(args, node)?;
            cirrus_lab::netns::run_in(&ns, || get(&client, path))
                .with_context(|| format!("entering {node}'s namespace {ns}"))?
        }
    }
}

pub fn run(args: &VrouterArgs, format: Format) -> anyhow::Result<String> {
    let (path, key) = match &args.command {
        VrouterCommand::Status => ("/status".to_string(), None),
        VrouterCommand::Controllers => ("/controllers".to_string(), Some("controllers")),
        VrouterCommand::Ports => ("/ports".to_string(), Some("ports")),
        VrouterCommand::Vrfs => ("/vrfs".to_string(), Some("vrfs")),
        VrouterCommand::Routes { instance, vrf } => (
            match (instance, vrf) {
                (Some(i), _) => format!("/routes?instance={}", encode_query_value(i)),
                (None, Some(v)) => format!("/routes?vrf={v}"),
                (None, None) => bail!("give --instance NAME or --vrf ID (see `vrouter vrfs`)"),
            },
            Some("routes"),
        ),
        VrouterCommand::Flows { limit, vrf } => (
            match vrf {
                Some(v) => format!("/flows?limit={limit}&vrf={v}"),
                None => format!("/flows?limit={limit}"),
            },
            Some("flows"),
        ),
        VrouterCommand::Drops => ("/drops".to_string(), None),
        VrouterCommand::Services => ("/services".to_string(), None),
    };
    let answer = fetch(args, &path)?;
    if format != Format::Table {
        return Ok(output::to_text(format, &answer));
    }
    let rows = match key {
        Some(k) => list(&answer, k)?,
        None => Vec::new(),
    };
    Ok(match &args.command {
        VrouterCommand::Controllers => controllers_table(&rows),
        VrouterCommand::Ports => ports_table(&rows),
        VrouterCommand::Vrfs => output::table(
            &["ID", "INSTANCE", "ROUTES"],
            &rows
                .iter()
                .map(|r| vec![cell(r, "id"), cell(r, "instance"), cell(r, "routes")])
                .collect::<Vec<_>>(),
        ),
        VrouterCommand::Routes { .. } => output::table(
            &["PREFIX", "NEXT HOP", "NH ID"],
            &rows
                .iter()
                .map(|r| vec![cell(r, "prefix"), cell(r, "nexthop"), cell(r, "nexthop_id")])
                .collect::<Vec<_>>(),
        ),
        VrouterCommand::Flows { .. } => flows_table(&answer, &rows),
        VrouterCommand::Drops => drops_table(&answer),
        // Nested records read best as YAML.
        VrouterCommand::Status | VrouterCommand::Services => output::to_text(Format::Yaml, &answer),
    })
}

/// A session state as the agent serializes it (`"Connecting"`, or `{"Established": {...}}`),
/// in one word.
fn state_word(r: &Value) -> String {
    match r.get("state") {
        Some(Value::Object(m)) => m.keys().next().cloned().unwrap_or_else(|| "-".into()),
        _ => cell(r, "state"),
    }
}

pub fn controllers_table(rows: &[Value]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                cell(r, "index"),
                cell(r, "address"),
                state_word(r),
                joined(r, &["subscribed"]),
                cell(r, "routes_published"),
                cell(r, "routes_received"),
                cell(r, "routes_stale"),
                cell(r, "last_error"),
            ]
        })
        .collect();
    output::table(
        &[
            "#",
            "ADDRESS",
            "STATE",
            "SUBSCRIBED",
            "PUBLISHED",
            "RECEIVED",
            "STALE",
            "LAST ERROR",
        ],
        &rows,
    )
}

pub fn ports_table(rows: &[Value]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let state = if let Some(w) = r.get("waiting").and_then(Value::as_str) {
                format!("waiting: {w}")
            } else if let Some(e) = r.get("device_error").and_then(Value::as_str) {
                format!("device error: {e}")
            } else if r.get("enabled").and_then(Value::as_bool) == Some(false) {
                "disabled".into()
            } else if r.get("attached").and_then(Value::as_bool) == Some(true) {
                "up".into()
            } else {
                "not attached".into()
            };
            vec![
                cell(r, "device"),
                cell(r, "label"),
                cell(r, "network"),
                cell(r, "vrf"),
                cell(r, "mac"),
                joined(r, &["addresses"]),
                joined(r, &["floating_ips"]),
                state,
            ]
        })
        .collect();
    output::table(
        &[
            "DEVICE",
            "LABEL",
            "NETWORK",
            "VRF",
            "MAC",
            "ADDRESSES",
            "FLOATING IPS",
            "STATE",
        ],
        &rows,
    )
}

pub fn flows_table(answer: &Value, rows: &[Value]) -> String {
    let endpoint = |r: &Value, a: &str, p: &str| format!("{}:{}", cell(r, a), cell(r, p));
    let table_rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                cell(r, "vrf"),
                cell(r, "proto"),
                endpoint(r, "src", "sport"),
                endpoint(r, "dst", "dport"),
                cell(r, "action"),
                cell(r, "packets"),
                cell(r, "bytes"),
            ]
        })
        .collect();
    let mut text = output::table(
        &[
            "VRF",
            "PROTO",
            "SOURCE",
            "DESTINATION",
            "ACTION",
            "PACKETS",
            "BYTES",
        ],
        &table_rows,
    );
    let matched = answer.get("matched").and_then(Value::as_u64).unwrap_or(0);
    if matched as usize > rows.len() {
        text.push_str(&format!(
            "({} of {matched} flows shown; --limit N for more)\n",
            rows.len()
        ));
    }
    text
}

pub fn drops_table(answer: &Value) -> String {
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut add = |what: &str, m: Option<&Value>| {
        for (reason, n) in m.and_then(Value::as_object).into_iter().flatten() {
            // A rule's count is its flows (of which replies alone, when any).
            let n = match n {
                Value::Object(o) => match (o.get("flows"), o.get("replies")) {
                    (Some(f), Some(r)) if r.as_u64().unwrap_or(0) > 0 => {
                        format!("{f} ({r} of them replies)")
                    }
                    (Some(f), _) => f.to_string(),
                    _ => n.to_string(),
                },
                other => other.to_string(),
            };
            rows.push(vec![what.to_string(), reason.clone(), n]);
        }
    };
    add("pipeline", answer.get("pipeline"));
    let setup = answer.get("flow_setup");
    add("flow setup", setup.and_then(|f| f.get("by_reason")));
    add("denied by rule", setup.and_then(|f| f.get("by_rule")));
    let mut text = output::table(&["WHERE", "REASON OR RULE", "COUNT"], &rows);
    if let Some(f) = setup {
        text.push_str(&format!(
            "flow setup: {} decided, {} allowed, {} translated, {} refused\n",
            cell(f, "decided"),
            cell(f, "allowed"),
            cell(f, "translated"),
            cell(f, "refused")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ports_show_their_state_in_words() {
        let rows = vec![
            json!({"device": "tapa", "label": 20, "network": "d:p:red", "vrf": 2,
                   "mac": "02:aa:00:00:00:01", "addresses": ["10.1.1.3"], "floating_ips": [],
                   "enabled": true, "attached": true}),
            json!({"device": "tapb", "label": 21, "enabled": true, "attached": false,
                   "waiting": "config of its virtual-machine-interface", "addresses": []}),
        ];
        let t = ports_table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("DEVICE"), "{t}");
        assert!(
            lines[1].contains("tapa") && lines[1].contains("10.1.1.3") && lines[1].ends_with("up"),
            "{t}"
        );
        assert!(
            lines[2].contains("waiting: config of its virtual-machine-interface"),
            "{t}"
        );
    }

    #[test]
    fn controller_states_read_as_one_word() {
        let rows = vec![
            json!({"index": 0, "address": "198.18.1.1:5269", "subscribed": ["d:p:vn:vn"],
                   "state": {"Established": {"session_id": 1, "graceful_restart_seconds": 0}},
                   "routes_published": 4, "routes_received": 11, "routes_stale": 0}),
            json!({"index": 1, "address": "198.18.1.2:5269", "state": "Connecting",
                   "last_error": "connection refused"}),
        ];
        let t = controllers_table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        let cols: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            cols[..4],
            ["0", "198.18.1.1:5269", "Established", "d:p:vn:vn"],
            "{t}"
        );
        assert!(
            lines[2].contains("Connecting") && lines[2].contains("connection refused"),
            "{t}"
        );
    }

    #[test]
    fn flows_say_when_more_matched_than_shown() {
        let rows = vec![
            json!({"vrf": 2, "proto": 6, "src": "10.1.1.3", "sport": 40000,
            "dst": "10.1.1.4", "dport": 80, "action": "forward", "packets": 3, "bytes": 180}),
        ];
        let t = flows_table(&json!({"matched": 5}), &rows);
        assert!(
            t.contains("10.1.1.3:40000") && t.contains("10.1.1.4:80"),
            "{t}"
        );
        assert!(t.contains("(1 of 5 flows shown"), "{t}");
        let t = flows_table(&json!({"matched": 1}), &rows);
        assert!(!t.contains("shown"), "{t}");
    }

    #[test]
    fn drops_list_pipeline_reasons_flow_reasons_and_rules() {
        let answer = json!({
            "pipeline": {"SourceSpoofed": 4},
            "flow_setup": {"decided": 10, "allowed": 7, "translated": 1, "refused": 3,
                "by_reason": {"policy": 3},
                "by_rule": {"0a4e8a52-1111-2222-3333-444444444444": {"layer": "policy", "flows": 3, "replies": 0}}}
        });
        let t = drops_table(&answer);
        assert!(t.contains("pipeline") && t.contains("SourceSpoofed"), "{t}");
        assert!(
            t.contains("denied by rule") && t.contains("0a4e8a52"),
            "{t}"
        );
        assert!(
            t.contains("10 decided, 7 allowed, 1 translated, 3 refused"),
            "{t}"
        );
    }
}
