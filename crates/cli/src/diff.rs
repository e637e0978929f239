//! Whether an object on the server already is as a document wants it: the comparison behind
//! `apply`'s idempotence. A document names only the fields it cares about, and the server fills
//! defaults and ids into what it stores (subnet uuids, gateways, `href`s), so a desired value
//! matches when everything it says is in the current value ("subset" match). Ref lists match as
//! multisets of (target fq_name, attr).

use serde_json::{Map, Value};

/// Names of the document's fields whose desired value the current object does not match,
/// sorted by name.
pub fn changed_fields(desired: &Map<String, Value>, current: &Map<String, Value>) -> Vec<String> {
    desired
        .iter()
        .filter(|(key, want)| {
            let have = current.get(key.as_str()).unwrap_or(&Value::Null);
            let same = if key.ends_with("_refs") {
                refs_match(want, have)
            } else {
                value_matches(want, have)
            };
            !same
        })
        .map(|(key, _)| key.clone())
        .collect()
}

/// True when everything `want` says is in `have`: mappings by their given keys (a key the server
/// lacks counts as null), lists element by element with equal lengths, numbers by value.
pub fn value_matches(want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Object(w), Value::Object(h)) => w
            .iter()
            .all(|(k, wv)| value_matches(wv, h.get(k).unwrap_or(&Value::Null))),
        // An empty mapping asks for nothing.
        (Value::Object(w), Value::Null) => w.values().all(|v| value_matches(v, &Value::Null)),
        (Value::Array(w), Value::Array(h)) => {
            w.len() == h.len() && w.iter().zip(h).all(|(wv, hv)| value_matches(wv, hv))
        }
        (Value::Array(w), Value::Null) => w.is_empty(),
        (Value::Number(w), Value::Number(h)) => numbers_equal(w, h),
        (w, h) => w == h,
    }
}

fn numbers_equal(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    a.as_f64() == b.as_f64()
}

/// True when the current ref list holds exactly the wanted refs, in any order. A wanted ref names
/// its target by `to` (fq_name) or `uuid`; its `attr`, when given, must match the current attr.
pub fn refs_match(want: &Value, have: &Value) -> bool {
    let want: &[Value] = want.as_array().map_or(&[], Vec::as_slice);
    let have: &[Value] = have.as_array().map_or(&[], Vec::as_slice);
    if want.len() != have.len() {
        return false;
    }
    let mut used = vec![false; have.len()];
    want.iter().all(|w| {
        let found = have
            .iter()
            .enumerate()
            .position(|(i, h)| !used[i] && ref_matches(w, h));
        if let Some(i) = found {
            used[i] = true;
        }
        found.is_some()
    })
}

fn ref_matches(want: &Value, have: &Value) -> bool {
    let same_target = match (want.get("to"), want.get("uuid")) {
        (Some(to), _) => have.get("to") == Some(to),
        (None, Some(uuid)) => have.get("uuid") == Some(uuid),
        (None, None) => false,
    };
    same_target
        && want
            .get("attr")
            .is_none_or(|w| value_matches(w, have.get("attr").unwrap_or(&Value::Null)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn scalars_and_numbers() {
        assert!(value_matches(&json!("a"), &json!("a")));
        assert!(!value_matches(&json!("a"), &json!("b")));
        assert!(value_matches(&json!(24), &json!(24)));
        assert!(value_matches(&json!(24), &json!(24.0)));
        assert!(value_matches(&json!(u64::MAX), &json!(u64::MAX)));
        assert!(!value_matches(&json!(24), &json!("24")));
        assert!(value_matches(&json!(null), &json!(null)));
        assert!(!value_matches(&json!(null), &json!(false)));
        assert!(!value_matches(&json!(true), &json!(null)));
    }

    #[test]
    fn mappings_match_on_the_keys_given() {
        let have =
            json!({"forwarding_mode": "l3", "vxlan_network_identifier": null, "rpf": "enable"});
        assert!(value_matches(&json!({"forwarding_mode": "l3"}), &have));
        assert!(value_matches(
            &json!({"vxlan_network_identifier": null}),
            &have
        ));
        assert!(value_matches(&json!({"missing": null}), &have));
        assert!(!value_matches(&json!({"forwarding_mode": "l2"}), &have));
        assert!(!value_matches(&json!({"missing": 1}), &have));
        assert!(value_matches(&json!({}), &json!(null)));
        assert!(!value_matches(&json!({"a": 1}), &json!(null)));
    }

    #[test]
    fn lists_match_element_by_element() {
        let have = json!([{"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 24}, "subnet_uuid": "u", "default_gateway": "10.1.0.1"}]);
        assert!(value_matches(
            &json!([{"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 24}}]),
            &have
        ));
        assert!(!value_matches(
            &json!([{"subnet": {"ip_prefix": "10.2.0.0", "ip_prefix_len": 24}}]),
            &have
        ));
        assert!(!value_matches(&json!([]), &have));
        assert!(value_matches(&json!([]), &json!(null)));
        assert!(!value_matches(&json!([1, 2]), &json!([2, 1])));
    }

    #[test]
    fn refs_match_by_target_and_attr_in_any_order() {
        let have = json!([
            {"to": ["d", "p", "ipam1"], "uuid": "u1", "href": "h1", "attr": {"ipam_subnets": [{"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 24}, "subnet_uuid": "s1"}]}},
            {"to": ["d", "p", "ipam2"], "uuid": "u2", "href": "h2", "attr": null}
        ]);
        let want = json!([
            {"to": ["d", "p", "ipam2"]},
            {"to": ["d", "p", "ipam1"], "attr": {"ipam_subnets": [{"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 24}}]}}
        ]);
        assert!(refs_match(&want, &have));
        // By uuid.
        assert!(refs_match(&json!([{"uuid": "u1"}, {"uuid": "u2"}]), &have));
        // A ref missing, one extra, another target, another attr.
        assert!(!refs_match(&json!([{"to": ["d", "p", "ipam1"]}]), &have));
        assert!(!refs_match(
            &json!([{"to": ["d", "p", "ipam1"]}, {"to": ["d", "p", "ipam2"]}, {"to": ["d", "p", "ipam3"]}]),
            &have
        ));
        assert!(!refs_match(
            &json!([{"to": ["d", "p", "ipam1"]}, {"to": ["d", "p", "ipam3"]}]),
            &have
        ));
        let other_attr = json!([
            {"to": ["d", "p", "ipam2"]},
            {"to": ["d", "p", "ipam1"], "attr": {"ipam_subnets": [{"subnet": {"ip_prefix": "10.9.0.0", "ip_prefix_len": 24}}]}}
        ]);
        assert!(!refs_match(&other_attr, &have));
        // The same target twice needs two current refs.
        assert!(!refs_match(
            &json!([{"to": ["d", "p", "ipam1"]}, {"to": ["d", "p", "ipam1"]}]),
            &have
        ));
        // No refs wanted, none there (absent or empty).
        assert!(refs_match(&json!([]), &json!(null)));
        assert!(refs_match(&json!([]), &json!([])));
    }

    #[test]
    fn changed_fields_lists_only_what_differs() {
        let current = map(json!({
            "uuid": "u", "fq_name": ["d", "p", "vn"], "display_name": "vn",
            "virtual_network_properties": {"forwarding_mode": "l3", "rpf": "enable"},
            "network_ipam_refs": [{"to": ["d", "p", "ipam"], "uuid": "i", "attr": {"ipam_subnets": []}}]
        }));
        let same = map(json!({
            "display_name": "vn",
            "virtual_network_properties": {"forwarding_mode": "l3"},
            "network_ipam_refs": [{"to": ["d", "p", "ipam"]}]
        }));
        assert!(changed_fields(&same, &current).is_empty());
        let differ = map(json!({
            "display_name": "vn two",
            "virtual_network_properties": {"forwarding_mode": "l3"},
            "network_ipam_refs": [],
            "network_policy_refs": [],
            "route_target_list": {"route_target": ["target:64512:1"]}
        }));
        assert_eq!(
            changed_fields(&differ, &current),
            ["display_name", "network_ipam_refs", "route_target_list"]
        );
    }
}
