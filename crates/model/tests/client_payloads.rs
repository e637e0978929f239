//! Bodies exactly as the vnc_api Python client sends them (nested structs with
//! every unset field as null) pass validation; broken variants fail with the
//! right field path. The fixture is written by tools/make_client_payloads.py.

use cirrus_model::{ValidationError, schema};
use serde_json::{Value, json};

fn payloads() -> Vec<(String, Value)> {
    let all: Value =
        serde_json::from_str(include_str!("fixtures/client_payloads.json")).expect("fixture");
    all.as_array()
        .expect("list")
        .iter()
        .map(|p| {
            (
                p["type"].as_str().expect("type").to_owned(),
                p["body"].clone(),
            )
        })
        .collect()
}

fn body(type_name: &str) -> Value {
    payloads()
        .into_iter()
        .find(|(t, _)| t == type_name)
        .unwrap_or_else(|| panic!("no {type_name} payload"))
        .1
}

fn validate(type_name: &str, body: &Value) -> Result<(), ValidationError> {
    let s = schema();
    s.validate_object(s.resource(type_name).expect("type"), body)
}

fn err_field(type_name: &str, body: &Value) -> String {
    validate(type_name, body).expect_err("should fail").field
}

#[test]
fn every_client_payload_validates() {
    let all = payloads();
    assert!(all.len() >= 30);
    for (t, b) in &all {
        if let Err(e) = validate(t, b) {
            panic!("{t}: {e}\n{b:#}");
        }
    }
}

#[test]
fn client_payloads_cover_the_main_types() {
    let types: Vec<String> = payloads().into_iter().map(|(t, _)| t).collect();
    for t in [
        "project",
        "virtual-network",
        "network-ipam",
        "virtual-machine-interface",
        "instance-ip",
        "security-group",
        "network-policy",
        "bgp-router",
        "firewall-rule",
    ] {
        assert!(types.iter().any(|x| x == t), "{t}");
    }
}

#[test]
fn bad_enum_in_nested_struct() {
    let mut vn = body("virtual-network");
    vn["virtual_network_properties"]["forwarding_mode"] = json!("l4");
    assert_eq!(
        err_field("virtual-network", &vn),
        "virtual_network_properties.forwarding_mode"
    );
}

#[test]
fn bad_type_deep_in_ref_attr() {
    let mut vn = body("virtual-network");
    vn["network_ipam_refs"][0]["attr"]["ipam_subnets"][0]["subnet"]["ip_prefix_len"] =
        json!("twenty-four");
    assert_eq!(
        err_field("virtual-network", &vn),
        "network_ipam_refs[0].attr.ipam_subnets[0].subnet.ip_prefix_len"
    );
}

#[test]
fn unknown_nested_field() {
    let mut vn = body("virtual-network");
    vn["network_ipam_refs"][0]["attr"]["ipam_subnets"][0]["bogus"] = json!(1);
    let e = validate("virtual-network", &vn).unwrap_err();
    assert_eq!(e.field, "network_ipam_refs[0].attr.ipam_subnets[0].bogus");
    assert!(e.message.contains("IpamSubnetType"), "{e}");
}

#[test]
fn policy_rule_errors() {
    let mut np = body("network-policy");
    np["network_policy_entries"]["policy_rule"][0]["direction"] = json!("<");
    assert_eq!(
        err_field("network-policy", &np),
        "network_policy_entries.policy_rule[0].direction"
    );
    let mut np = body("network-policy");
    np["network_policy_entries"]["policy_rule"][0]["dst_ports"][0]["end_port"] = json!(70000);
    assert_eq!(
        err_field("network-policy", &np),
        "network_policy_entries.policy_rule[0].dst_ports[0].end_port"
    );
    let mut np = body("network-policy");
    np["network_policy_entries"]["policy_rule"][0]["action_list"]["simple_action"] = json!("drop");
    assert_eq!(
        err_field("network-policy", &np),
        "network_policy_entries.policy_rule[0].action_list.simple_action"
    );
    let mut np = body("network-policy");
    np["network_policy_entries"]["policy_rule"][0]["src_addresses"] = json!({"subnet": null});
    assert_eq!(
        err_field("network-policy", &np),
        "network_policy_entries.policy_rule[0].src_addresses"
    );
}

#[test]
fn simple_props() {
    let mut iip = body("instance-ip");
    iip["instance_ip_address"] = json!("10.0.0.300");
    assert_eq!(err_field("instance-ip", &iip), "instance_ip_address");
    iip["instance_ip_address"] = json!("fd00::3");
    iip["instance_ip_family"] = json!("v5");
    assert_eq!(err_field("instance-ip", &iip), "instance_ip_family");
    iip["instance_ip_family"] = json!("v6");
    iip["instance_ip_secondary"] = json!("yes");
    assert_eq!(err_field("instance-ip", &iip), "instance_ip_secondary");
    iip["instance_ip_secondary"] = json!(true);
    assert!(validate("instance-ip", &iip).is_ok());
}

#[test]
fn integers_are_strict_but_normalize_takes_numeric_strings_like_contrail() {
    let s = schema();
    let rt = s.resource("virtual-network").unwrap();
    let mut vn = body("virtual-network");
    vn["virtual_network_properties"]["vxlan_network_identifier"] = json!("5001");
    assert_eq!(
        err_field("virtual-network", &vn),
        "virtual_network_properties.vxlan_network_identifier"
    );
    s.normalize_object(rt, &mut vn).unwrap();
    assert_eq!(
        vn["virtual_network_properties"]["vxlan_network_identifier"],
        json!(5001)
    );
    assert!(validate("virtual-network", &vn).is_ok());
    vn["virtual_network_properties"]["vxlan_network_identifier"] = json!(0);
    assert_eq!(
        err_field("virtual-network", &vn),
        "virtual_network_properties.vxlan_network_identifier"
    );
    assert!(s.normalize_object(rt, &mut vn.clone()).is_err());
    for bad in [json!(true), json!(1.5), json!("0x10"), json!(5001.0)] {
        vn["virtual_network_properties"]["vxlan_network_identifier"] = bad;
        assert!(validate("virtual-network", &vn).is_err());
    }
    vn["virtual_network_properties"]["vxlan_network_identifier"] = json!(5001.0);
    s.normalize_object(rt, &mut vn).unwrap();
    assert_eq!(
        vn["virtual_network_properties"]["vxlan_network_identifier"],
        json!(5001)
    );
}

#[test]
fn vmi_shapes() {
    let mut vmi = body("virtual-machine-interface");
    vmi["virtual_machine_interface_mac_addresses"]["mac_address"][0] = json!("02:00:00:00:00");
    assert_eq!(
        err_field("virtual-machine-interface", &vmi),
        "virtual_machine_interface_mac_addresses.mac_address[0]"
    );
    let mut vmi = body("virtual-machine-interface");
    vmi["virtual_machine_interface_bindings"]["key_value_pair"][1]["value"] = json!(3);
    assert_eq!(
        err_field("virtual-machine-interface", &vmi),
        "virtual_machine_interface_bindings.key_value_pair[1].value"
    );
    let mut vmi = body("virtual-machine-interface");
    vmi["routing_instance_refs"][0]["attr"]["direction"] = json!("up");
    assert_eq!(
        err_field("virtual-machine-interface", &vmi),
        "routing_instance_refs[0].attr.direction"
    );
    let mut vmi = body("virtual-machine-interface");
    vmi["virtual_machine_interface_properties"]["service_interface_type"] = json!("middle");
    assert_eq!(
        err_field("virtual-machine-interface", &vmi),
        "virtual_machine_interface_properties.service_interface_type"
    );
}

#[test]
fn ref_list_shapes() {
    let mut vmi = body("virtual-machine-interface");
    vmi["virtual_network_refs"] = json!({"to": ["a"]});
    assert_eq!(
        err_field("virtual-machine-interface", &vmi),
        "virtual_network_refs"
    );
    vmi["virtual_network_refs"] = json!([{"attr": null}]);
    assert_eq!(
        err_field("virtual-machine-interface", &vmi),
        "virtual_network_refs[0]"
    );
    vmi["virtual_network_refs"] = json!([{"to": ["a", 1]}]);
    assert_eq!(
        err_field("virtual-machine-interface", &vmi),
        "virtual_network_refs[0].to[1]"
    );
    vmi["virtual_network_refs"] =
        json!([{"uuid": "8b5e2d6a-3c1f-4e7a-9d0b-1a2b3c4d5e6f", "attr": null}]);
    assert!(validate("virtual-machine-interface", &vmi).is_ok());
}

#[test]
fn bgp_peering_attr() {
    let mut b = body("bgp-router");
    b["bgp_router_refs"][0]["attr"]["session"][0]["attributes"][0]["address_families"]["family"]
        [0] = json!("ipx");
    assert_eq!(
        err_field("bgp-router", &b),
        "bgp_router_refs[0].attr.session[0].attributes[0].address_families.family[0]"
    );
    let mut b = body("bgp-router");
    b["bgp_router_parameters"]["hold_time"] = json!(70000);
    assert_eq!(
        err_field("bgp-router", &b),
        "bgp_router_parameters.hold_time"
    );
}

#[test]
fn identity_fields() {
    let mut p = body("project");
    p["parent_type"] = json!("project");
    assert_eq!(err_field("project", &p), "parent_type");
    let mut p = body("project");
    p["fq_name"] = json!(["default-domain", ""]);
    assert_eq!(err_field("project", &p), "fq_name[1]");
    let mut p = body("project");
    p["uuid"] = json!("not-a-uuid");
    assert_eq!(err_field("project", &p), "uuid");
    assert!(validate("project", &json!([1])).is_err());
}

#[test]
fn subnet_type_checks_prefix() {
    let mut vn = body("virtual-network");
    vn["network_ipam_refs"][0]["attr"]["ipam_subnets"][0]["subnet"]["ip_prefix_len"] = json!(40);
    assert_eq!(
        err_field("virtual-network", &vn),
        "network_ipam_refs[0].attr.ipam_subnets[0].subnet"
    );
    vn["network_ipam_refs"][0]["attr"]["ipam_subnets"][0]["subnet"] =
        json!({"ip_prefix": "fd00::", "ip_prefix_len": 64});
    assert!(validate("virtual-network", &vn).is_ok());
}

#[test]
fn unknown_top_level_keys_are_left_to_the_caller() {
    let s = schema();
    let vn = s.resource("virtual-network").unwrap();
    let mut b = body("virtual-network");
    b["no_such_field"] = json!(1);
    assert!(s.validate_object(vn, &b).is_ok());
    assert!(vn.field_kind("no_such_field").is_none());
    assert!(s.validate_prop(vn, "no_such_field", &json!(1)).is_err());
}

#[test]
fn ref_attr_paths() {
    let s = schema();
    let vn = s.resource("virtual-network").unwrap();
    let attr = json!({"ipam_subnets": [null, {"subnet": {"ip_prefix": "10.0.0.0", "ip_prefix_len": "x"}}], "host_routes": null});
    let e = s
        .validate_ref_attr_at(vn, "network-ipam", 2, &attr)
        .unwrap_err();
    assert_eq!(
        e.field,
        "network_ipam_refs[2].attr.ipam_subnets[1].subnet.ip_prefix_len"
    );
    let e = s.validate_ref_attr(vn, "network-ipam", &attr).unwrap_err();
    assert_eq!(
        e.field,
        "network_ipam_refs.attr.ipam_subnets[1].subnet.ip_prefix_len"
    );
    assert!(
        s.validate_ref_attr(vn, "qos-config", &json!({"anything": 1}))
            .is_ok()
    );
    assert_eq!(
        s.validate_ref_attr_at(vn, "no-such", 0, &json!(null))
            .unwrap_err()
            .field,
        "no_such_refs"
    );
    let e = s
        .validate_ref_attr(vn, "network-policy", &json!({"sequence": {"major": "a"}}))
        .unwrap_err();
    assert_eq!(e.field, "network_policy_refs.attr.sequence.major");
}

#[test]
fn collection_items() {
    let s = schema();
    let vmi = s.resource("virtual-machine-interface").unwrap();
    let p = "virtual_machine_interface_bindings";
    assert!(
        s.validate_collection_item(vmi, p, &json!({"key": "host_id", "value": "c1"}))
            .is_ok()
    );
    let e = s
        .validate_collection_item(vmi, p, &json!({"value": "c1"}))
        .unwrap_err();
    assert_eq!(
        e.field,
        "virtual_machine_interface_bindings.key_value_pair.key"
    );
    let e = s
        .validate_collection_item(vmi, p, &json!({"key": "k", "valu": "c1"}))
        .unwrap_err();
    assert_eq!(
        e.field,
        "virtual_machine_interface_bindings.key_value_pair.valu"
    );
    let ff = "virtual_machine_interface_fat_flow_protocols";
    assert!(
        s.validate_collection_item(vmi, ff, &json!({"protocol": "tcp", "port": 80}))
            .is_ok()
    );
    assert!(
        s.validate_collection_item(vmi, ff, &json!({"protocol": "tcp", "port": "http"}))
            .is_err()
    );
    assert!(
        s.validate_collection_item(vmi, "display_name", &json!("x"))
            .is_err()
    );
}
