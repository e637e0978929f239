//! `cirrusctl flows`: the flows the vrouters recorded, from the analytics query API
//! (Contrail's `POST /analytics/query`, port 8081): FlowSeriesTable (default: one row per flow
//! with its packets and bytes in the time range), FlowRecordTable (the latest record of each
//! flow) or SessionSeriesTable, filtered by network, addresses, protocol, port and action,
//! as a table or the same rows as JSON/YAML.

use anyhow::bail;
use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use crate::bgp::cell;
use crate::client::{ApiError, Client};
use crate::output::{self, Format};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FlowTable {
    /// FlowSeriesTable: flows with their packets and bytes in the time range
    Series,
    /// FlowRecordTable: the latest record of each flow
    Records,
    /// SessionSeriesTable: sessions (both directions of a flow) seen from their client
    Sessions,
}

#[derive(Debug, Args)]
pub struct FlowsArgs {
    /// Base URL of the analytics API
    #[arg(
        long,
        env = "CIRRUS_ANALYTICS",
        default_value = "http://127.0.0.1:8081"
    )]
    pub analytics: String,

    /// Which table to query
    #[arg(long, value_enum, default_value_t = FlowTable::Series)]
    pub table: FlowTable,

    /// Only flows from or to this virtual network (fq_name)
    #[arg(long, value_name = "FQ_NAME")]
    pub vn: Option<String>,

    /// Only flows from this address
    #[arg(long, value_name = "ADDRESS")]
    pub src: Option<String>,

    /// Only flows to this address
    #[arg(long, value_name = "ADDRESS")]
    pub dst: Option<String>,

    /// Only this protocol: tcp, udp, icmp, icmp6 or a number
    #[arg(long)]
    pub proto: Option<String>,

    /// Only flows to this destination (server) port
    #[arg(long)]
    pub port: Option<u16>,

    /// Only flows with this action: pass or deny
    #[arg(long)]
    pub action: Option<String>,

    /// Only flows recorded by this vrouter (its hostname)
    #[arg(long)]
    pub vrouter: Option<String>,

    /// How far back: 30s, 10m, 2h, 1d
    #[arg(long, default_value = "10m")]
    pub since: String,

    /// At most this many rows
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

/// `10m` as Contrail's relative time `now-10m`.
pub fn since(s: &str) -> anyhow::Result<String> {
    let s = s.trim();
    let unit = s.chars().last().unwrap_or(' ');
    let num = &s[..s.len().saturating_sub(1)];
    if !matches!(unit, 's' | 'm' | 'h' | 'd') || num.parse::<u32>().map_or(true, |n| n == 0) {
        bail!("--since {s:?}: give a number and a unit, s, m, h or d (e.g. 10m)");
    }
    Ok(format!("now-{s}"))
}

fn protocol(p: &str) -> anyhow::Result<u8> {
    Ok(match p.trim().to_ascii_lowercase().as_str() {
        "tcp" => 6,
        "udp" => 17,
        "icmp" => 1,
        "icmp6" | "ipv6-icmp" => 58,
        "sctp" => 132,
        n => match n.parse() {
            Ok(v) => v,
            Err(_) => bail!("--proto {p:?}: give tcp, udp, icmp, icmp6 or a number"),
        },
    })
}

fn eq(name: &str, value: Value) -> Value {
    json!({"name": name, "value": value, "op": 1})
}

/// Column names of one table kind: (table, source vn, remote vn, source ip, dest ip, port,
/// action).
struct Cols {
    table: &'static str,
    vn: &'static str,
    other_vn: &'static str,
    src: &'static str,
    dst: &'static str,
    port: &'static str,
    action: &'static str,
}

fn cols(t: FlowTable) -> Cols {
    match t {
        FlowTable::Series | FlowTable::Records => Cols {
            table: if t == FlowTable::Series {
                "FlowSeriesTable"
            } else {
                "FlowRecordTable"
            },
            vn: "sourcevn",
            other_vn: "destvn",
            src: "sourceip",
            dst: "destip",
            port: "dport",
            action: "action",
        },
        FlowTable::Sessions => Cols {
            table: "SessionSeriesTable",
            vn: "vn",
            other_vn: "remote_vn",
            src: "local_ip",
            dst: "remote_ip",
            port: "server_port",
            action: "forward_action",
        },
    }
}

/// The columns FlowSeriesTable and FlowRecordTable share, before their counters.
const FLOW_COLUMNS: [&str; 13] = [
    "vrouter",
    "sourcevn",
    "sourceip",
    "sport",
    "destvn",
    "destip",
    "dport",
    "protocol",
    "action",
    "nw_ace_uuid",
    "sg_rule_uuid",
    "security_policy_rule",
    "drop_reason",
];

fn select(t: FlowTable) -> Vec<&'static str> {
    match t {
        FlowTable::Series => [&FLOW_COLUMNS[..], &["SUM(packets)", "SUM(bytes)"]].concat(),
        FlowTable::Records => [
            &FLOW_COLUMNS[..],
            &["setup_time", "agg-packets", "agg-bytes"],
        ]
        .concat(),
        FlowTable::Sessions => vec![
            "vrouter",
            "vn",
            "local_ip",
            "client_port",
            "remote_vn",
            "remote_ip",
            "server_port",
            "protocol",
            "forward_action",
            "forward_nw_ace_uuid",
            "forward_sg_rule_uuid",
            "security_policy_rule",
            "forward_drop_reason",
            "SUM(forward_sampled_pkts)",
            "SUM(forward_sampled_bytes)",
        ],
    }
}

/// The query body the arguments ask for.
pub fn query(a: &FlowsArgs) -> anyhow::Result<Value> {
    let c = cols(a.table);
    let mut base = Vec::new();
    if let Some(s) = &a.src {
        base.push(eq(c.src, json!(s)));
    }
    if let Some(d) = &a.dst {
        base.push(eq(c.dst, json!(d)));
    }
    if let Some(p) = &a.proto {
        base.push(eq("protocol", json!(protocol(p)?)));
    }
    if let Some(p) = a.port {
        base.push(eq(c.port, json!(p)));
    }
    if let Some(v) = &a.vrouter {
        base.push(eq("vrouter", json!(v)));
    }
    // A network: as either end (an OR of two AND lists).
    let where_: Vec<Vec<Value>> = match &a.vn {
        Some(vn) => [c.vn, c.other_vn]
            .iter()
            .map(|col| {
                let mut l = base.clone();
                l.push(eq(col, json!(vn)));
                l
            })
            .collect(),
        None if base.is_empty() => Vec::new(),
        None => vec![base],
    };
    if a.limit == 0 {
        bail!("--limit: give at least 1");
    }
    let (sort, order) = match a.table {
        FlowTable::Series => ("SUM(bytes)", 2),
        FlowTable::Records => ("setup_time", 2),
        FlowTable::Sessions => ("SUM(forward_sampled_bytes)", 2),
    };
    let mut q = json!({
        "table": c.table,
        "start_time": since(&a.since)?,
        "end_time": "now",
        "select_fields": select(a.table),
        "sort_fields": [sort],
        "sort": order,
        "limit": a.limit,
    });
    if !where_.is_empty() {
        q["where"] = json!(where_);
    }
    if let Some(act) = &a.action {
        let act = act.trim().to_ascii_lowercase();
        if !matches!(act.as_str(), "pass" | "deny" | "drop") {
            bail!("--action {act:?}: give pass or deny");
        }
        let act = if act == "drop" { "deny".into() } else { act };
        q["filter"] = json!([[eq(c.action, json!(act))]]);
    }
    if a.table == FlowTable::Sessions {
        q["session_type"] = json!("client");
    }
    Ok(q)
}

pub fn run(a: &FlowsArgs, format: Format) -> anyhow::Result<String> {
    let body = query(a)?;
    let client = Client::new(&a.analytics, None);
    let answer = client
        .call("POST", "/analytics/query", Some(&body))
        .map_err(|e| match &e {
            // The query API names the field it refused.
            ApiError::Status { status, body, .. } => {
                anyhow::anyhow!("analytics query refused ({status}): {body}")
            }
            _ => anyhow::Error::from(e),
        })?;
    let rows = answer
        .get("value")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if format != Format::Table {
        return Ok(output::to_text(format, &Value::Array(rows)));
    }
    let mut out = table(a.table, &rows);
    for b in answer
        .get("bounded")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push_str(&format!("note: {}\n", b.as_str().unwrap_or_default()));
    }
    Ok(out)
}

/// The first rule column with a value.
fn rule(r: &Value, cols: &[&str]) -> String {
    cols.iter()
        .filter_map(|c| r.get(*c).and_then(Value::as_str))
        .find(|s| !s.is_empty())
        .unwrap_or("-")
        .to_string()
}

fn endpoint(r: &Value, a: &str, p: &str) -> String {
    format!("{}:{}", cell(r, a), cell(r, p))
}

pub fn table(t: FlowTable, rows: &[Value]) -> String {
    let (headers, body): (Vec<&str>, Vec<Vec<String>>) = match t {
        FlowTable::Series | FlowTable::Records => {
            let (p, b) = if t == FlowTable::Series {
                ("SUM(packets)", "SUM(bytes)")
            } else {
                ("agg-packets", "agg-bytes")
            };
            (
                vec![
                    "VROUTER",
                    "PROTO",
                    "SOURCE",
                    "SOURCE VN",
                    "DESTINATION",
                    "DEST VN",
                    "ACTION",
                    "RULE",
                    "PACKETS",
                    "BYTES",
                ],
                rows.iter()
                    .map(|r| {
                        let action = match r.get("drop_reason").and_then(Value::as_str) {
                            Some(d) if !d.is_empty() => format!("{} ({d})", cell(r, "action")),
                            _ => cell(r, "action"),
                        };
                        vec![
                            cell(r, "vrouter"),
                            cell(r, "protocol"),
                            endpoint(r, "sourceip", "sport"),
                            cell(r, "sourcevn"),
                            endpoint(r, "destip", "dport"),
                            cell(r, "destvn"),
                            action,
                            rule(r, &["nw_ace_uuid", "sg_rule_uuid", "security_policy_rule"]),
                            cell(r, p),
                            cell(r, b),
                        ]
                    })
                    .collect(),
            )
        }
        FlowTable::Sessions => (
            vec![
                "VROUTER",
                "PROTO",
                "CLIENT",
                "VN",
                "SERVER",
                "REMOTE VN",
                "ACTION",
                "RULE",
                "PACKETS",
                "BYTES",
            ],
            rows.iter()
                .map(|r| {
                    vec![
                        cell(r, "vrouter"),
                        cell(r, "protocol"),
                        endpoint(r, "local_ip", "client_port"),
                        cell(r, "vn"),
                        endpoint(r, "remote_ip", "server_port"),
                        cell(r, "remote_vn"),
                        cell(r, "forward_action"),
                        rule(
                            r,
                            &[
                                "forward_nw_ace_uuid",
                                "forward_sg_rule_uuid",
                                "security_policy_rule",
                            ],
                        ),
                        cell(r, "SUM(forward_sampled_pkts)"),
                        cell(r, "SUM(forward_sampled_bytes)"),
                    ]
                })
                .collect(),
        ),
    };
    output::table(&headers, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(table: FlowTable) -> FlowsArgs {
        FlowsArgs {
            analytics: "http://127.0.0.1:8081".into(),
            table,
            vn: None,
            src: None,
            dst: None,
            proto: None,
            port: None,
            action: None,
            vrouter: None,
            since: "10m".into(),
            limit: 100,
        }
    }

    #[test]
    fn a_network_is_either_end_and_other_filters_hold_for_both() {
        let a = FlowsArgs {
            vn: Some("d:p:left".into()),
            proto: Some("tcp".into()),
            port: Some(80),
            action: Some("deny".into()),
            ..args(FlowTable::Series)
        };
        let q = query(&a).unwrap();
        assert_eq!(q["table"], "FlowSeriesTable");
        assert_eq!(q["start_time"], "now-10m");
        let w = q["where"].as_array().unwrap();
        assert_eq!(w.len(), 2);
        assert!(
            w[0].as_array()
                .unwrap()
                .contains(&eq("sourcevn", json!("d:p:left")))
        );
        assert!(
            w[1].as_array()
                .unwrap()
                .contains(&eq("destvn", json!("d:p:left")))
        );
        for l in w {
            assert!(l.as_array().unwrap().contains(&eq("protocol", json!(6))));
            assert!(l.as_array().unwrap().contains(&eq("dport", json!(80))));
        }
        assert_eq!(q["filter"], json!([[eq("action", json!("deny"))]]));
    }

    #[test]
    fn sessions_use_their_own_columns() {
        let a = FlowsArgs {
            src: Some("10.0.0.3".into()),
            port: Some(22),
            ..args(FlowTable::Sessions)
        };
        let q = query(&a).unwrap();
        assert_eq!(q["table"], "SessionSeriesTable");
        assert_eq!(
            q["where"],
            json!([[
                eq("local_ip", json!("10.0.0.3")),
                eq("server_port", json!(22))
            ]])
        );
        assert_eq!(q["session_type"], "client");
    }

    #[test]
    fn bad_arguments_are_named() {
        assert!(since("10x").unwrap_err().to_string().contains("--since"));
        assert!(since("m").is_err());
        assert_eq!(since("2h").unwrap(), "now-2h");
        let a = FlowsArgs {
            proto: Some("tcpp".into()),
            ..args(FlowTable::Series)
        };
        assert!(query(&a).unwrap_err().to_string().contains("--proto"));
    }

    #[test]
    fn rows_show_the_rule_and_the_drop_reason() {
        let rows = vec![
            json!({"vrouter": "c1", "protocol": 6, "sourceip": "10.0.1.3", "sport": 40000,
            "sourcevn": "d:p:left", "destip": "10.0.2.3", "dport": 81, "destvn": "d:p:right",
            "action": "deny", "drop_reason": "network-policy", "nw_ace_uuid": "rule-b",
            "sg_rule_uuid": "", "SUM(packets)": 2, "SUM(bytes)": 120}),
        ];
        let t = table(FlowTable::Series, &rows);
        assert!(t.contains("10.0.2.3:81"), "{t}");
        assert!(t.contains("deny (network-policy)"), "{t}");
        assert!(t.contains("rule-b"), "{t}");
    }
}
