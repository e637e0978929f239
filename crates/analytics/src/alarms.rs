//! Alarms on vrouter UVEs, in Contrail's `UVEAlarms` shape (`type`, `severity`, `ack`,
//! `timestamp`, `token`, `description`, `alarm_rules` with the `or_list`/`and_list` of
//! the conditions that matched and their values). Two rules:
//! - vrouter disconnected: its export session to the collector ended (and none replaced
//!   it), or, when `silent_after` is set, nothing arrived from it for that long (off by
//!   default: a vrouter with no flows sends nothing);
//! - deny rate: more flows denied in the last minute than `deny_per_minute`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::uve::{UveState, VrouterState};

pub const DISCONNECTED: &str = "default-global-system-config:system-defined-vrouter-disconnected";
pub const DENY_RATE: &str = "default-global-system-config:system-defined-vrouter-deny-rate";

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
        "token": format!("{kind}@{at_us}"),
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

/// `/analytics/alarms`: `{"vrouter": [{"name", "value": {"UVEAlarms": {...}}}]}`, only
/// the vrouters with an alarm raised (an empty object when none is).
pub fn alarms_json(cfg: &AlarmConfig, st: &UveState, now_us: i64) -> Value {
    let list: Vec<Value> = st
        .vrouters
        .iter()
        .filter_map(|(name, v)| {
            let a = vrouter_alarms(cfg, name, v, now_us);
            (!a.is_empty()).then(|| {
                json!({
                    "name": name,
                    "value": { "UVEAlarms": { "name": name, "alarms": a, "deleted": false } },
                })
            })
        })
        .collect();
    if list.is_empty() {
        json!({})
    } else {
        json!({ "vrouter": list })
    }
}
