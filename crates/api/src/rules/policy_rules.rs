//! Policy rules of security groups and network policies (Contrail's `_policy_base.py`): no rule
//! twice (409), a valid protocol, a security group's rule has `local` on one side and subnets of
//! its ethertype, a network policy's rule has an action and names no security group. Every rule
//! gets a `rule_uuid`.

use std::net::IpAddr;

use serde_json::{Value, json};

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

/// IP protocol names Contrail accepts besides numbers 0..255.
const PROTOCOLS: &[&str] = &[
    "any", "icmp", "tcp", "udp", "icmp6", "sctp", "ah", "esp", "gre", "igmp", "ospf", "pim", "vrrp",
];

pub fn check_security_group(c: &Ctx, _old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    check(c, new, "security_group_entries", false)
}

pub fn check_network_policy(c: &Ctx, _old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    check(c, new, "network_policy_entries", true)
}

fn check(c: &Ctx, obj: &mut Obj, field: &str, network_policy: bool) -> ApiResult<()> {
    let what = c.what;
    let bad = |m: String| Err(ApiError::bad_request(format!("{what}: {m}")));
    let Some(rules) = obj
        .body
        .get_mut(field)
        .and_then(|e| e.get_mut("policy_rule"))
        .and_then(Value::as_array_mut)
    else {
        return Ok(());
    };
    let bare = |r: &Value| {
        let mut r = r.clone();
        if let Some(m) = r.as_object_mut() {
            for k in ["rule_uuid", "created", "last_modified"] {
                m.remove(k);
            }
        }
        r
    };
    let bares: Vec<Value> = rules.iter().map(bare).collect();
    for (i, b) in bares.iter().enumerate() {
        if bares[i + 1..].contains(b) {
            let id = rules[i].get("rule_uuid").cloned().unwrap_or(Value::Null);
            return Err(ApiError::conflict(format!(
                "{what}: Rule already exists : {id}"
            )));
        }
    }
    for rule in rules.iter_mut() {
        let protocol = rule
            .get("protocol")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let valid = match protocol.parse::<i64>() {
            Ok(n) => (0..=255).contains(&n),
            Err(_) => PROTOCOLS.contains(&protocol.to_ascii_lowercase().as_str()),
        };
        if !valid {
            return bad(format!("Rule with invalid protocol : {protocol}"));
        }
        let sgs = |side: &str| -> Vec<Option<String>> {
            rule.get(side)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|a| {
                    a.get("security_group")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect()
        };
        let (src, dst) = (sgs("src_addresses"), sgs("dst_addresses"));
        if network_policy {
            if rule.get("action_list").is_none_or(Value::is_null) {
                return bad("Action is required".into());
            }
            if src.iter().chain(&dst).any(Option::is_some) {
                return bad(
                    "Config Error: policy rule refering to security group is not allowed".into(),
                );
            }
        } else {
            if let Some(eth) = rule.get("ethertype").and_then(Value::as_str) {
                for a in ["src_addresses", "dst_addresses"]
                    .iter()
                    .filter_map(|s| rule.get(*s).and_then(Value::as_array))
                    .flatten()
                {
                    let Some(p) = a.pointer("/subnet/ip_prefix").and_then(Value::as_str) else {
                        continue;
                    };
                    let v = match p.parse::<IpAddr>() {
                        Ok(IpAddr::V4(_)) => "IPv4",
                        Ok(IpAddr::V6(_)) => "IPv6",
                        Err(_) => continue,
                    };
                    if v != eth {
                        let len = a
                            .pointer("/subnet/ip_prefix_len")
                            .cloned()
                            .unwrap_or(Value::Null);
                        return bad(format!(
                            "Rule subnet {p}/{len} doesn't match ethertype {eth}"
                        ));
                    }
                }
            }
            let local = Some("local".to_string());
            if !src.contains(&local) && !dst.contains(&local) {
                return bad(
                    "At least one of source or destination addresses must be 'local'".into(),
                );
            }
        }
        if rule.get("rule_uuid").is_none_or(Value::is_null) {
            rule["rule_uuid"] = json!(uuid::Uuid::new_v4().to_string());
        }
    }
    Ok(())
}
