//! Small readers and builders of the JSON shapes the compiler reads and writes (Contrail's
//! `AddressType`, `PortType`, `ActionListType`, `AclRuleType`, `RouteTargetList`), and the
//! comparison that tells whether a stored value already says what the compiler wants.

use serde_json::{Map, Value, json};

/// Contrail's rule uuids of the implicit ACL rules (cfgm_common).
pub const RULE_IMPLICIT_ALLOW_UUID: &str = "00000000-0000-0000-0000-100000000001";
pub const RULE_IMPLICIT_DENY_UUID: &str = "00000000-0000-0000-0000-100000000002";

pub fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

pub fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The `route_target` strings of a `RouteTargetList` property of `body`.
pub fn target_list<'a>(body: &'a Map<String, Value>, prop: &str) -> Vec<&'a str> {
    body.get(prop)
        .map(|l| list(l, "route_target"))
        .unwrap_or(&[])
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// Contrail's `AddressType(virtual_network=vn)` as vnc_api serializes it.
pub fn vn_address(vn: &str) -> Value {
    json!({"subnet": null, "virtual_network": vn, "security_group": null,
           "network_policy": null, "subnet_list": []})
}

/// Contrail's `PortType()`: every port.
pub fn any_port() -> Value {
    json!({"start_port": 0, "end_port": 65535})
}

/// Contrail's `ActionListType(simple_action)`.
pub fn simple_action(action: &str) -> Value {
    json!({"simple_action": action, "gateway_name": null, "apply_service": [],
           "mirror_to": null, "assign_routing_instance": null, "log": false, "alert": false,
           "qos_action": null, "host_based_service": false})
}

/// An object from (key, value) pairs, moving the values in (`json!` would deep-copy them).
pub fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::Object(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// Contrail's `MatchConditionType(protocol, src, sport, dst, dport, ethertype)`.
pub fn match_condition(
    protocol: &str,
    src: Value,
    src_port: Value,
    dst: Value,
    dst_port: Value,
    ethertype: Value,
) -> Value {
    object([
        ("protocol", Value::from(protocol)),
        ("src_address", src),
        ("src_port", src_port),
        ("dst_address", dst),
        ("dst_port", dst_port),
        ("ethertype", ethertype),
    ])
}

/// Contrail's `AclRuleType(match, action, rule_uuid, direction)`.
pub fn acl_rule(
    m: Value,
    action: Value,
    rule_uuid: Option<&str>,
    direction: Option<&str>,
) -> Value {
    object([
        ("match_condition", m),
        ("action_list", action),
        ("rule_uuid", rule_uuid.map_or(Value::Null, Value::from)),
        ("direction", direction.map_or(Value::Null, Value::from)),
    ])
}

/// Contrail's `AclEntriesType(dynamic, acl_rule)`.
pub fn acl_entries(dynamic: Option<bool>, rules: Vec<Value>) -> Value {
    object([
        ("dynamic", dynamic.map_or(Value::Null, Value::from)),
        ("acl_rule", Value::Array(rules)),
    ])
}

/// `v` without null members and empty lists, recursively: two values that differ only in
/// fields left unset compare equal.
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, x)| !x.is_null() && x.as_array().is_none_or(|a| !a.is_empty()))
                .map(|(k, x)| (k.clone(), canonical(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Whether a stored ref list holds exactly the refs `want` names (by target fq_name), with
/// the same link attributes.
pub fn same_refs(stored: Option<&Value>, want: &[Value]) -> bool {
    let key = |r: &Value| {
        let to = r
            .get("to")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(":")
            })
            .unwrap_or_default();
        (
            to,
            canonical(r.get("attr").unwrap_or(&Value::Null)).to_string(),
        )
    };
    let stored = stored
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if stored.len() != want.len() {
        return false;
    }
    let mut a: Vec<_> = stored.iter().map(key).collect();
    let mut b: Vec<_> = want.iter().map(key).collect();
    a.sort();
    b.sort();
    a == b
}
