//! Alarms on UVEs, in Contrail's `UVEAlarms` shape (`type`, `severity`, `ack`,
//! `timestamp`, `token`, `description`, `alarm_rules` with the `or_list`/`and_list` of
//! the conditions that matched and their values). Three rules:
//! - vrouter disconnected: its export session to the collector ended (and none replaced
//!   it), or, when `silent_after` is set, nothing arrived from it for that long (off by
//!   default: a vrouter with no flows sends nothing);
//! - deny rate: more flows denied in the last minute than `deny_per_minute`;
//! - BGP connectivity (on the control node, Contrail's rule): not every configured BGP
//!   peer is Established (`num_up_bgp_peer != num_bgp_peer`), since the first went down.
//!
//! An alarm's `token` is opserver's: base64 of `{"host_ip", "http_port", "timestamp"}`;
//! `POST /analytics/alarms/acknowledge` with it sets `ack` on that raise of the alarm (a
//! new raise, with a new timestamp, is unacknowledged again).

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use crate::uve::{UveState, VrouterState};

pub const DISCONNECTED: &str = "default-global-system-config:system-defined-vrouter-disconnected";
pub const DENY_RATE: &str = "default-global-system-config:system-defined-vrouter-deny-rate";
pub const BGP_CONNECTIVITY: &str = "default-global-system-config:system-defined-bgp-connectivity";

/// Contrail's severities: 0 critical, 1 major, 2 minor.
const MAJOR: u8 = 1;
const MINOR: u8 = 2;

/// The alarm rules' settings.
#[derive(Debug, Clone, Copy)]
pub struct AlarmConfig {
    /// A vrouter silent this long is disconnected (None: only an ended session is).
    pub silent_after: Option<Duration>,
    /// Denied flows per minute per vrouter above which the deny-rate alarm is raised.
    pub deny_per_minute: u64,
}

impl Default for AlarmConfig {
    fn default() -> Self {
        AlarmConfig {
            silent_after: None,
            deny_per_minute: 100,
        }
    }
}

/// `/analytics/alarm-types`: each alarm type with its description and severity.
pub fn alarm_types() -> Value {
    json!({
        DISCONNECTED: {
            "uve_keys": ["vrouter"],
            "severity": MAJOR,
            "description": "Vrouter's export session to the collector ended, or nothing was received from it for the configured time.",
        },
        DENY_RATE: {
            "uve_keys": ["vrouter"],
            "severity": MINOR,
            "description": "Flows denied per minute on a vrouter are above the configured threshold.",
        },
        BGP_CONNECTIVITY: {
            "uve_keys": ["control-node"],
            "severity": MAJOR,
            "description": "BGP peer mismatch. Not enough BGP peers are up.",
        },
    })
}

fn condition(operand1: &str, operation: &str, operand2: Value, value: Value) -> Value {
    json!({
        "condition": {
            "operand1": operand1,
            "operation": operation,
            "operand2": operand2,
            "variables": [],
        },
        "match": [{ "json_operand1_value": value.to_string(), "json_variables": {} }],
    })
}

fn alarm(kind: &str, severity: u8, at_us: i64, description: String, cond: Value) -> Value {
    json!({
        "type": kind,
        "severity": severity,
        "ack": false,
        "timestamp": at_us,
        "description": description,
        "alarm_rules": { "or_list": [{ "and_list": [cond] }] },
    })
}

/// The alarms raised on `name` at `now_us`.
pub fn vrouter_alarms(cfg: &AlarmConfig, name: &str, v: &VrouterState, now_us: i64) -> Vec<Value> {
    let mut out = Vec::new();
    let silent_for = now_us - v.last_seen_us;
    let silent = cfg
        .silent_after
        .is_some_and(|d| silent_for > d.as_micros() as i64);
    if let Some(at) = v.disconnected_at_us {
        out.push(alarm(
            DISCONNECTED,
            MAJOR,
            at,
            format!("vrouter {name}: export session to the collector ended"),
            condition(
                "NodeStatus.collector_session",
                "==",
                json!({ "json_value": "\"Down\"" }),
                json!("Down"),
            ),
        ));
    } else if silent {
        out.push(alarm(
            DISCONNECTED,
            MAJOR,
            v.last_seen_us,
            format!(
                "vrouter {name}: nothing received for {} s",
                silent_for / 1_000_000
            ),
            condition(
                "NodeStatus.silent_for_s",
                ">",
                json!({ "json_value": cfg.silent_after.unwrap_or_default().as_secs().to_string() }),
                json!(silent_for / 1_000_000),
            ),
        ));
    }
    let denied = UveState::denies_last_minute(v, now_us);
    if denied > cfg.deny_per_minute {
        out.push(alarm(
            DENY_RATE,
            MINOR,
            v.denies.back().copied().unwrap_or(now_us),
            format!(
                "vrouter {name}: {denied} flows denied in the last minute (threshold {})",
                cfg.deny_per_minute
            ),
            condition(
                "VrouterStatsAgent.denied_flows_per_minute",
                ">",
                json!({ "json_value": cfg.deny_per_minute.to_string() }),
                json!(denied),
            ),
        ));
    }
    out
}

/// The alarms raised on the control node `name` at `now_us`.
pub fn control_node_alarms(st: &UveState, name: &str) -> Vec<Value> {
    let n = &st.nodes;
    if n.control.as_ref().is_none_or(|c| c.name != name) {
        return Vec::new();
    }
    let Some(since) = n.peers_down_since_us else {
        return Vec::new();
    };
    let down = n.peers_down();
    let up = n.peers.len() - down.len();
    vec![alarm(
        BGP_CONNECTIVITY,
        MAJOR,
        since,
        format!(
            "control node {name}: {up} of {} BGP peers up; not Established: {}",
            n.peers.len(),
            down.join(", ")
        ),
        condition(
            "BgpRouterState.num_up_bgp_peer",
            "!=",
            json!({ "uve_attribute": "BgpRouterState.num_bgp_peer" }),
            json!(up),
        ),
    )]
}

/// The alarms raised on the UVE `table`/`name`, without tokens and acknowledgements.
fn raised(cfg: &AlarmConfig, st: &UveState, table: &str, name: &str, now_us: i64) -> Vec<Value> {
    match table {
        "vrouter" => st
            .vrouters
            .get(name)
            .map(|v| vrouter_alarms(cfg, name, v, now_us))
            .unwrap_or_default(),
        "control-node" => control_node_alarms(st, name),
        _ => Vec::new(),
    }
}

/// The alarms raised on the UVE `table`/`name`, with their tokens (from `origin`, where
/// the API listens) and acknowledgements.
pub fn uve_alarms(
    cfg: &AlarmConfig,
    st: &UveState,
    table: &str,
    name: &str,
    origin: SocketAddr,
    now_us: i64,
) -> Vec<Value> {
    let mut out = raised(cfg, st, table, name, now_us);
    for a in &mut out {
        let at = a["timestamp"].as_i64().unwrap_or(0);
        let kind = a["type"].as_str().unwrap_or("").to_string();
        a["token"] = json!(token(origin, at));
        a["ack"] = json!(st.acks.get(&(table.into(), name.into(), kind)) == Some(&at));
    }
    out
}

/// opserver's alarm token: base64 of the generator's address and the alarm's timestamp.
pub fn token(origin: SocketAddr, at_us: i64) -> String {
    B64.encode(
        json!({
            "host_ip": origin.ip().to_string(),
            "http_port": origin.port(),
            "timestamp": at_us,
        })
        .to_string(),
    )
}

/// The timestamp a token carries, or why it is not a token.
pub fn token_timestamp(token: &str) -> Result<i64, &'static str> {
    let raw = B64.decode(token).map_err(|_| "not base64")?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| "not base64 of JSON")?;
    for f in ["host_ip", "http_port", "timestamp"] {
        if v.get(f).is_none() {
            return Err("lacks host_ip, http_port or timestamp");
        }
    }
    v["timestamp"].as_i64().ok_or("timestamp is not an integer")
}

/// Why an acknowledgement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    #[error("token: {0}")]
    BadToken(&'static str),
    #[error("name: no alarm {kind} raised on {table} {name} with that token")]
    NotRaised {
        table: String,
        name: String,
        kind: String,
    },
}

/// Acknowledges the alarm `kind` on `table`/`name` raised at the token's timestamp.
pub fn acknowledge(
    cfg: &AlarmConfig,
    st: &mut UveState,
    table: &str,
    name: &str,
    kind: &str,
    token: &str,
    now_us: i64,
) -> Result<(), AckError> {
    let at = token_timestamp(token).map_err(AckError::BadToken)?;
    if !raised(cfg, st, table, name, now_us)
        .iter()
        .any(|a| a["type"] == kind && a["timestamp"].as_i64() == Some(at))
    {
        return Err(AckError::NotRaised {
            table: table.into(),
            name: name.into(),
            kind: kind.into(),
        });
    }
    st.acks.insert((table.into(), name.into(), kind.into()), at);
    Ok(())
}

/// `/analytics/alarms`: `{"<type>": [{"name", "value": {"UVEAlarms": {...}}}]}`, only the
/// UVEs with an alarm raised (an empty object when none is).
/// With `ack`, only the alarms whose `ack` is that.
pub fn alarms_json(
    cfg: &AlarmConfig,
    st: &UveState,
    origin: SocketAddr,
    ack: Option<bool>,
    now_us: i64,
) -> Value {
    let mut out = serde_json::Map::new();
    let control: Vec<String> = st.nodes.control.iter().map(|c| c.name.clone()).collect();
    let tables: [(&str, Vec<String>); 2] = [
        ("control-node", control),
        ("vrouter", st.vrouters.keys().cloned().collect()),
    ];
    for (table, names) in tables {
        let list: Vec<Value> = names
            .iter()
            .filter_map(|name| {
                let mut a = uve_alarms(cfg, st, table, name, origin, now_us);
                if let Some(want) = ack {
                    a.retain(|x| x["ack"] == want);
                }
                (!a.is_empty()).then(|| {
                    json!({
                        "name": name,
                        "value": { "UVEAlarms": { "name": name, "alarms": a, "deleted": false } },
                    })
                })
            })
            .collect();
        if !list.is_empty() {
            out.insert(table.into(), Value::Array(list));
        }
    }
    Value::Object(out)
}
