//! Property test: no JSON value, however odd, panics the validator.

use cirrus_model::schema;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[ -~]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("10.0.0.1"),
            Just("fd00::/64"),
            Just("l2_l3"),
            Just("<>"),
            Just("64512:1"),
            Just("other7"),
            Just("-12"),
            Just("02:00:00:00:00:01"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    let keys = prop_oneof![
        "[a-z_]{1,10}",
        Just("ip_prefix".to_owned()),
        Just("ip_prefix_len".to_owned()),
        Just("subnet".to_owned()),
        Just("ipam_subnets".to_owned()),
        Just("policy_rule".to_owned()),
        Just("key_value_pair".to_owned()),
        Just("key".to_owned()),
        Just("to".to_owned()),
        Just("attr".to_owned()),
        Just("uuid".to_owned()),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn arbitrary_json_never_panics(v in arb_json(), ti in any::<prop::sample::Index>()) {
        let s = schema();
        let types: Vec<_> = s.resources().collect();
        let rt = types[ti.index(types.len())];
        let _ = s.validate_object(rt, &v);
        for p in &rt.props {
            let _ = s.validate_prop(rt, &p.name, &v);
            let _ = s.validate_collection_item(rt, &p.name, &v);
        }
        for r in &rt.refs {
            let _ = s.validate_ref_attr(rt, &r.to, &v);
            let _ = s.validate_refs(rt, &r.field, &v);
        }
        let _ = s.validate_prop(rt, "no_such_prop", &v);
        let _ = s.normalize_object(rt, &mut v.clone());
        for p in &rt.props {
            let _ = s.normalize_prop(rt, &p.name, &mut v.clone());
            let _ = s.normalize_collection_item(rt, &p.name, &mut v.clone());
        }
        for r in &rt.refs {
            let _ = s.normalize_ref_attr(rt, &r.to, &mut v.clone());
        }
        if let Value::Object(mut m) = v.clone() {
            let _ = s.fill_defaults(rt, &mut m);
        }
        let _ = s.validate_ref_attr(rt, "no-such-type", &v);
    }

    #[test]
    fn arbitrary_values_inside_known_shapes_never_panic(v in arb_json(), ti in any::<prop::sample::Index>()) {
        let s = schema();
        let types: Vec<_> = s.type_defs().collect();
        let t = types[ti.index(types.len())];
        let mut obj = Map::new();
        for f in &t.fields {
            obj.insert(f.name.clone(), v.clone());
        }
        let value = Value::Object(obj);
        let _ = s.validate_value(&cirrus_model::TypeRef::Struct(t.name.clone()), &value, "x");
        let vn = s.resource("virtual-network").unwrap();
        let refs = json!([{"to": ["a", "b", "c"], "attr": {"ipam_subnets": [{"subnet": v.clone()}]}}]);
        let _ = s.validate_refs(vn, "network_ipam_refs", &refs);
    }
}

proptest! {
    #[test]
    fn string_formats_never_panic(s in "\\PC{0,20}", t in "[0-9a-fA-F:.\\-/]{0,20}") {
        for x in [&s, &t] {
            let _ = cirrus_model::formats::parse_mac(x);
            let _ = cirrus_model::formats::canonical_mac(x);
            let _ = cirrus_model::formats::is_valid_ip(x);
            let _ = cirrus_model::formats::check_community(x);
            let _ = cirrus_model::formats::check_service_interface(x);
            let _ = cirrus_model::formats::check_subnet(x, 24);
            let _ = cirrus_model::is_valid_uuid(x);
            let _ = cirrus_model::fq_name_from_str(x);
        }
    }
}
