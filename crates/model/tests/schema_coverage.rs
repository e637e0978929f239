//! Every resource type Cirrus serves is declared, with Contrail's names,
//! parents, refs, ref attr types and prop-collections.

use cirrus_model::{Collection, Presence, TypeRef, schema};

const LISTED: &[&str] = &[
    "config-root",
    "domain",
    "project",
    "global-system-config",
    "global-vrouter-config",
    "virtual-network",
    "network-ipam",
    "virtual-machine",
    "virtual-machine-interface",
    "instance-ip",
    "floating-ip-pool",
    "floating-ip",
    "network-policy",
    "security-group",
    "access-control-list",
    "routing-instance",
    "route-target",
    "virtual-router",
    "bgp-router",
    "logical-router",
    "tag",
    "tag-type",
    "policy-management",
    "application-policy-set",
    "firewall-policy",
    "firewall-rule",
    "address-group",
    "service-group",
    "service-template",
    "service-instance",
    "port-tuple",
    "bgp-as-a-service",
    "loadbalancer",
    "qos-config",
    "virtual-DNS",
    "virtual-DNS-record",
    "physical-router",
    "alias-ip-pool",
];

#[test]
fn listed_types_are_present_with_derived_names() {
    let s = schema();
    for name in LISTED {
        let rt = s.resource(name).unwrap_or_else(|| panic!("{name} missing"));
        let under = name.replace('-', "_");
        assert_eq!(rt.underscored(), under);
        assert_eq!(rt.collection(), format!("{name}s"));
        assert_eq!(rt.children_field(), format!("{under}s"));
        assert_eq!(rt.ref_field(), format!("{under}_refs"));
        assert_eq!(rt.back_ref_field(), format!("{under}_back_refs"));
        assert_eq!(
            s.resource_by_collection(rt.collection()).unwrap().name,
            *name
        );
        assert_eq!(s.resource_by_underscored(&under).unwrap().name, *name);
        for common in ["id_perms", "perms2", "annotations", "display_name"] {
            assert!(rt.prop(common).is_some(), "{name}.{common}");
        }
    }
    assert!(s.resources().count() >= LISTED.len());
    assert!(s.resource("no-such-type").is_none());
    assert!(s.resource_by_collection("virtual-network").is_none());
    assert_eq!(
        s.resource_by_any_name("virtual_DNS").unwrap().name,
        "virtual-DNS"
    );
    assert_eq!(
        s.resource_by_any_name("bgp-router").unwrap().name,
        "bgp-router"
    );
    assert!(s.resource_by_any_name("bgp_routers").is_none());
}

#[test]
fn odd_collection_names() {
    let s = schema();
    assert_eq!(
        s.resource_by_collection("virtual-DNSs").unwrap().name,
        "virtual-DNS"
    );
    assert_eq!(
        s.resource_by_collection("bgp-as-a-services").unwrap().name,
        "bgp-as-a-service"
    );
    assert_eq!(
        s.resource_by_collection("access-control-lists")
            .unwrap()
            .name,
        "access-control-list"
    );
    assert_eq!(
        s.resource("virtual-DNS").unwrap().children_field(),
        "virtual_DNSs"
    );
}

#[test]
fn parents() {
    let s = schema();
    let parents = |n: &str| s.resource(n).unwrap().parents.clone();
    assert!(parents("config-root").is_empty());
    assert_eq!(parents("domain"), ["config-root"]);
    assert_eq!(parents("global-system-config"), ["config-root"]);
    assert_eq!(parents("project"), ["domain"]);
    assert_eq!(parents("virtual-network"), ["project"]);
    assert_eq!(parents("network-ipam"), ["project"]);
    assert_eq!(parents("instance-ip"), ["config-root"]);
    assert_eq!(parents("virtual-machine"), ["config-root"]);
    assert_eq!(parents("routing-instance"), ["virtual-network"]);
    assert_eq!(parents("floating-ip"), ["floating-ip-pool", "instance-ip"]);
    assert_eq!(
        parents("access-control-list"),
        ["virtual-network", "security-group"]
    );
    assert_eq!(parents("virtual-router"), ["global-system-config"]);
    assert_eq!(parents("global-vrouter-config"), ["global-system-config"]);
    assert_eq!(parents("bgp-router"), ["routing-instance"]);
    assert_eq!(parents("virtual-DNS"), ["domain"]);
    assert_eq!(parents("virtual-DNS-record"), ["virtual-DNS"]);
    assert_eq!(parents("port-tuple"), ["service-instance"]);
    assert_eq!(parents("tag"), ["config-root", "project"]);
    assert_eq!(parents("firewall-rule"), ["policy-management", "project"]);
    let vmi = s.resource("virtual-machine-interface").unwrap();
    for p in ["virtual-machine", "project", "virtual-router"] {
        assert!(vmi.has_parent(p));
    }
    assert!(s.resource("domain").unwrap().is_top_level());
    assert!(!vmi.is_top_level());
}

#[test]
fn children_and_back_refs_are_derived() {
    let s = schema();
    let kids: Vec<_> = s
        .children_of("project")
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    for k in [
        "virtual-network",
        "network-ipam",
        "security-group",
        "virtual-machine-interface",
    ] {
        assert!(kids.contains(&k), "{k}");
    }
    let top: Vec<_> = s
        .children_of("config-root")
        .iter()
        .map(|r| r.name.clone())
        .collect();
    for k in [
        "domain",
        "global-system-config",
        "instance-ip",
        "virtual-machine",
        "tag",
    ] {
        assert!(top.iter().any(|t| t == k), "{k}");
    }
    assert!(!top.iter().any(|t| t == "config-root"));
    let vn = s.resource("virtual-network").unwrap();
    assert_eq!(
        vn.child_by_field("routing_instances"),
        Some("routing-instance")
    );
    let srcs: Vec<_> = s
        .back_ref_sources("virtual-network")
        .iter()
        .map(|r| r.name.clone())
        .collect();
    for k in [
        "virtual-machine-interface",
        "instance-ip",
        "virtual-network",
    ] {
        assert!(srcs.iter().any(|t| t == k), "{k}");
    }
    assert_eq!(
        vn.back_ref_by_field("virtual_machine_interface_back_refs"),
        Some("virtual-machine-interface")
    );
    assert!(s.children_of("no-such").is_empty());
    assert!(s.back_ref_sources("no-such").is_empty());
}

fn attr_of(from: &str, to: &str) -> Option<String> {
    let rt = schema().resource(from).unwrap();
    let r = rt.ref_to(to).unwrap_or_else(|| panic!("{from} -> {to}"));
    assert_eq!(r.field, format!("{}_refs", to.replace('-', "_")));
    assert_eq!(rt.ref_by_field(&r.field).unwrap().to, to);
    r.attr.as_ref().map(|a| a.to_string())
}

#[test]
fn refs_and_link_attributes() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        ("virtual-network", "network-ipam", Some("VnSubnetsType")),
        (
            "virtual-network",
            "network-policy",
            Some("VirtualNetworkPolicyType"),
        ),
        ("virtual-network", "qos-config", None),
        ("bgp-router", "bgp-router", Some("BgpPeeringAttributes")),
        (
            "routing-instance",
            "route-target",
            Some("InstanceTargetType"),
        ),
        ("firewall-policy", "firewall-rule", Some("FirewallSequence")),
        (
            "application-policy-set",
            "firewall-policy",
            Some("FirewallSequence"),
        ),
        (
            "virtual-machine-interface",
            "routing-instance",
            Some("PolicyBasedForwardingRuleType"),
        ),
        ("virtual-machine-interface", "virtual-network", None),
        ("virtual-machine-interface", "security-group", None),
        ("instance-ip", "virtual-machine-interface", None),
        ("instance-ip", "virtual-network", None),
        ("floating-ip", "virtual-machine-interface", None),
        ("floating-ip", "project", None),
        ("logical-router", "virtual-machine-interface", None),
        ("project", "floating-ip-pool", None),
        (
            "virtual-router",
            "network-ipam",
            Some("VirtualRouterNetworkIpamType"),
        ),
        ("service-instance", "service-template", None),
        ("firewall-rule", "address-group", None),
        ("network-ipam", "virtual-DNS", None),
    ];
    for (from, to, attr) in cases {
        assert_eq!(attr_of(from, to).as_deref(), *attr, "{from} -> {to}");
    }
    let vmi = schema().resource("virtual-machine-interface").unwrap();
    assert!(vmi.ref_to("no-such").is_none());
    assert!(vmi.ref_by_field("virtual_network_ref").is_none());
}

#[test]
fn prop_collections() {
    let s = schema();
    let coll = |t: &str, p: &str| {
        s.resource(t)
            .unwrap()
            .prop(p)
            .unwrap_or_else(|| panic!("{t}.{p}"))
            .collection
            .clone()
    };
    match coll(
        "virtual-machine-interface",
        "virtual_machine_interface_bindings",
    ) {
        Some(Collection::Map { key, field, item }) => {
            assert_eq!(key, "key");
            assert_eq!(field, "key_value_pair");
            assert_eq!(item, TypeRef::Struct("KeyValuePair".into()));
        }
        other => panic!("{other:?}"),
    }
    match coll(
        "virtual-machine-interface",
        "virtual_machine_interface_fat_flow_protocols",
    ) {
        Some(Collection::List {
            key: None, field, ..
        }) => assert_eq!(field, "fat_flow_protocol"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        coll("project", "annotations"),
        Some(Collection::Map { .. })
    ));
    assert!(matches!(
        coll("network-ipam", "ipam_subnets"),
        Some(Collection::List { .. })
    ));
    assert!(coll("virtual-network", "virtual_network_properties").is_none());
    let n = s.resource("qos-config").unwrap().collection_props().count();
    assert_eq!(n, 4, "annotations + dscp/vlan_priority/mpls_exp entries");
}

#[test]
fn required_props_and_defaults() {
    let s = schema();
    let iip = s.resource("instance-ip").unwrap();
    let addr = iip.prop("instance_ip_address").unwrap();
    assert!(addr.required);
    assert_eq!(addr.presence, Presence::Required);
    assert!(!addr.ops.update);
    assert_eq!(addr.ty, TypeRef::IpAddress);
    let vn = s.resource("virtual-network").unwrap();
    assert_eq!(
        vn.prop("mac_aging_time").unwrap().default,
        Some(serde_json::json!(300))
    );
    assert_eq!(vn.prop("id_perms").unwrap().presence, Presence::SystemOnly);
    let fr = s.resource("firewall-rule").unwrap();
    assert!(fr.required_props().any(|p| p.name == "direction"));
}

#[test]
fn struct_types_are_complete() {
    let s = schema();
    let fields = |t: &str| -> Vec<String> {
        s.type_def(t)
            .unwrap_or_else(|| panic!("{t}"))
            .fields
            .iter()
            .map(|f| f.name.clone())
            .collect()
    };
    assert_eq!(fields("SubnetType"), ["ip_prefix", "ip_prefix_len"]);
    assert_eq!(
        fields("IdPermsType"),
        [
            "permissions",
            "uuid",
            "enable",
            "created",
            "last_modified",
            "description",
            "user_visible",
            "creator"
        ]
    );
    assert_eq!(
        fields("PermType2"),
        ["owner", "owner_access", "global_access", "share"]
    );
    assert_eq!(fields("VnSubnetsType"), ["ipam_subnets", "host_routes"]);
    for t in [
        "IpamSubnetType",
        "PolicyEntriesType",
        "PolicyRuleType",
        "AddressType",
        "PortType",
        "ActionListType",
        "BgpRouterParams",
        "BgpSessionAttributes",
        "BgpPeeringAttributes",
        "ShareType",
        "KeyValuePairs",
        "RouteTargetList",
        "VirtualNetworkType",
        "VirtualNetworkPolicyType",
        "SequenceType",
        "MacAddressesType",
        "IpamType",
        "AllocationPoolType",
        "DhcpOptionsListType",
        "RouteTableType",
        "AddressFamilies",
        "AuthenticationData",
        "FirewallRuleEndpointType",
        "FirewallServiceType",
        "FirewallSequence",
        "InstanceTargetType",
        "PolicyBasedForwardingRuleType",
    ] {
        assert!(!fields(t).is_empty(), "{t}");
    }
    assert!(s.type_def("NoSuchType").is_none());
}

#[test]
fn parent_inference_by_fq_name_length() {
    let s = schema();
    let infer = |t: &str, n: usize| s.infer_parent_type(s.resource(t).unwrap(), n);
    assert_eq!(infer("domain", 1), Some("config-root"));
    assert_eq!(infer("project", 2), Some("domain"));
    assert_eq!(infer("virtual-network", 3), Some("project"));
    assert_eq!(infer("virtual-network", 2), None);
    assert_eq!(infer("tag", 1), Some("config-root"));
    assert_eq!(infer("tag", 3), Some("project"));
    assert_eq!(
        infer("virtual-machine-interface", 2),
        Some("virtual-machine")
    );
    assert_eq!(
        infer("virtual-machine-interface", 3),
        None,
        "project or virtual-router"
    );
    assert_eq!(infer("domain", 0), None);
    let lens: Vec<usize> = s
        .resource("routing-instance")
        .unwrap()
        .fq_name_lengths()
        .collect();
    assert_eq!(lens, [4]);
    let lens: Vec<usize> = s
        .resource("config-root")
        .unwrap()
        .fq_name_lengths()
        .collect();
    assert!(lens.is_empty());
}
