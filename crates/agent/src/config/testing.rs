//! Builders for hand-made config objects in Contrail's JSON shape, for tests and benches.

use serde_json::{Value, json};

use super::{ConfigStore, Object};

/// An object of `kind` with the given body (a JSON object).
pub fn obj(kind: &str, uuid: &str, fq: &[&str], body: Value) -> Object {
    Object {
        kind: kind.into(),
        uuid: uuid.into(),
        fq_name: fq.iter().map(|s| s.to_string()).collect(),
        parent_type: String::new(),
        parent_uuid: String::new(),
        body: body.as_object().cloned().unwrap_or_default(),
        revision: 1,
    }
}

/// The same object as a child of `parent`.
pub fn child_of(mut o: Object, parent_kind: &str, parent_uuid: &str) -> Object {
    o.parent_type = parent_kind.into();
    o.parent_uuid = parent_uuid.into();
    o
}

/// Adds `field: [{to, uuid, attr}]` refs (the `to` fq_name is left as the uuid: the agent
/// reads refs by uuid).
pub fn with_refs(mut o: Object, field: &str, targets: &[(&str, Value)]) -> Object {
    let list: Vec<Value> = targets
        .iter()
        .map(|(u, attr)| json!({"to": [u], "uuid": u, "attr": attr}))
        .collect();
    o.body.insert(field.into(), Value::Array(list));
    o
}

/// [`with_refs`] without link attributes.
pub fn with_plain_refs(o: Object, field: &str, targets: &[&str]) -> Object {
    let t: Vec<(&str, Value)> = targets.iter().map(|u| (*u, Value::Null)).collect();
    with_refs(o, field, &t)
}

/// A project with one network (tagged), an external network with a floating-IP pool, and
/// port `vmi1` in the first with two instance IPs, an allowed address pair, a floating
/// IP, two security groups (`sg1`, `sg2`, not in the slice) and its own tags.
pub fn port_slice() -> ConfigStore {
    let mut s = ConfigStore::new();
    s.upsert(obj("project", "proj", &["d", "p"], json!({})));
    s.upsert(obj(
        "tag",
        "t-app",
        &["application=web"],
        json!({"tag_id": "0x00010001"}),
    ));
    s.upsert(obj(
        "tag",
        "t-tier",
        &["tier=fe"],
        json!({"tag_id": "0x00020001"}),
    ));
    s.upsert(obj(
        "tag",
        "t-tier2",
        &["tier=be"],
        json!({"tag_id": "0x00020002"}),
    ));
    s.upsert(obj(
        "tag",
        "t-lbl",
        &["label=x"],
        json!({"tag_id": "0x00000007"}),
    ));
    s.upsert(with_plain_refs(
        child_of(
            obj("virtual-network", "vn1", &["d", "p", "red"], json!({})),
            "project",
            "proj",
        ),
        "tag_refs",
        &["t-tier", "t-lbl"],
    ));
    s.upsert(obj(
        "virtual-network",
        "vn-ext",
        &["d", "p", "public"],
        json!({"router_external": true}),
    ));
    s.upsert(child_of(
        obj(
            "floating-ip-pool",
            "pool1",
            &["d", "p", "public", "pool"],
            json!({}),
        ),
        "virtual-network",
        "vn-ext",
    ));
    let port = obj(
        "virtual-machine-interface",
        "vmi1",
        &["d", "p", "port1"],
        json!({
            "virtual_machine_interface_mac_addresses": {"mac_address": ["02:00:00:00:00:01"]},
            "virtual_machine_interface_allowed_address_pairs": {"allowed_address_pair": [
                {"ip": {"ip_prefix": "10.1.0.100", "ip_prefix_len": 32}, "mac": "", "address_mode": "active-active"}]},
            "virtual_machine_interface_bindings": {"key_value_pair": [{"key": "host_id", "value": "c1"}]},
            "virtual_machine_interface_properties": {"max_flows": 50},
            "virtual_machine_interface_fat_flow_protocols": {"fat_flow_protocol": [{"protocol": "tcp", "port": 80}]}
        }),
    );
    let port = with_plain_refs(port, "virtual_network_refs", &["vn1"]);
    let port = with_plain_refs(port, "security_group_refs", &["sg1", "sg2"]);
    let port = with_refs(
        port,
        "tag_refs",
        &[("t-app", json!(null)), ("t-tier2", json!(null))],
    );
    s.upsert(port);
    s.upsert(with_plain_refs(
        obj(
            "instance-ip",
            "iip1",
            &["iip1"],
            json!({"instance_ip_address": "10.1.0.3"}),
        ),
        "virtual_machine_interface_refs",
        &["vmi1"],
    ));
    s.upsert(with_plain_refs(
        obj(
            "instance-ip",
            "iip2",
            &["iip2"],
            json!({"instance_ip_address": "10.1.0.9", "instance_ip_secondary": true}),
        ),
        "virtual_machine_interface_refs",
        &["vmi1"],
    ));
    s.upsert(with_plain_refs(
        child_of(
            obj(
                "floating-ip",
                "fip1",
                &["d", "p", "public", "pool", "fip1"],
                json!({"floating_ip_address": "172.16.0.5"}),
            ),
            "floating-ip-pool",
            "pool1",
        ),
        "virtual_machine_interface_refs",
        &["vmi1"],
    ));
    s
}

/// Adds an IPAM (once) and a network `name` with one subnet (`cidr`, gateway .1, DNS .2)
/// and the given VNI, in project `d:p`.
pub fn add_network(s: &mut ConfigStore, uuid: &str, name: &str, vni: u32, cidr: &str) {
    if s.get("ipam").is_none() {
        s.upsert(obj("network-ipam", "ipam", &["d", "p", "ipam"], json!({})));
    }
    let (addr, len) = cidr.split_once('/').expect("cidr");
    let base: std::net::Ipv4Addr = addr.parse().expect("IPv4 cidr");
    let gw = std::net::Ipv4Addr::from_bits(base.to_bits() + 1);
    let dns = std::net::Ipv4Addr::from_bits(base.to_bits() + 2);
    let vn = obj(
        "virtual-network",
        uuid,
        &["d", "p", name],
        json!({"virtual_network_network_id": vni, "virtual_network_properties": {"vxlan_network_identifier": vni}}),
    );
    s.upsert(with_refs(
        vn,
        "network_ipam_refs",
        &[(
            "ipam",
            json!({"ipam_subnets": [{
                "subnet": {"ip_prefix": addr, "ip_prefix_len": len.parse::<i64>().unwrap()},
                "default_gateway": gw.to_string(),
                "dns_server_address": dns.to_string()
            }]}),
        )],
    ));
}

/// Gives network `vn` its network-policy ACL with `rules` (a JSON list of `AclRuleType`).
pub fn set_network_acl(s: &mut ConfigStore, vn: &str, rules: Value) {
    let name = s.get(vn).expect("network").name().to_string();
    let mut fq = s.get(vn).unwrap().fq_name.clone();
    fq.push(name);
    let fq: Vec<&str> = fq.iter().map(String::as_str).collect();
    s.upsert(child_of(
        obj(
            "access-control-list",
            &format!("acl-{vn}"),
            &fq,
            json!({"access_control_list_entries": {"acl_rule": rules}}),
        ),
        "virtual-network",
        vn,
    ));
}

/// Adds a port in network `vn` with one instance IP and the given security groups.
pub fn add_port(s: &mut ConfigStore, uuid: &str, vn: &str, mac: &str, ip: &str, sgs: &[&str]) {
    let p = obj(
        "virtual-machine-interface",
        uuid,
        &["d", "p", uuid],
        json!({"virtual_machine_interface_mac_addresses": {"mac_address": [mac]}}),
    );
    let p = with_plain_refs(p, "virtual_network_refs", &[vn]);
    s.upsert(with_plain_refs(p, "security_group_refs", sgs));
    s.upsert(with_plain_refs(
        with_plain_refs(
            obj(
                "instance-ip",
                &format!("iip-{uuid}"),
                &[&format!("iip-{uuid}")],
                json!({"instance_ip_address": ip}),
            ),
            "virtual_machine_interface_refs",
            &[uuid],
        ),
        "virtual_network_refs",
        &[vn],
    ));
}

/// Adds a security group with numeric `id` and its ingress and egress ACLs (JSON lists of
/// `AclRuleType`, as the intent compiler writes them).
pub fn add_security_group(s: &mut ConfigStore, uuid: &str, id: u32, ingress: Value, egress: Value) {
    s.upsert(obj(
        "security-group",
        uuid,
        &["d", "p", uuid],
        json!({"security_group_id": id}),
    ));
    for (name, rules) in [
        ("ingress-access-control-list", ingress),
        ("egress-access-control-list", egress),
    ] {
        s.upsert(child_of(
            obj(
                "access-control-list",
                &format!("{uuid}-{name}"),
                &["d", "p", uuid, name],
                json!({"access_control_list_entries": {"acl_rule": rules}}),
            ),
            "security-group",
            uuid,
        ));
    }
}

/// Gives port `port` floating IP `addr` from a pool of network `vn`.
pub fn add_floating_ip(s: &mut ConfigStore, uuid: &str, vn: &str, port: &str, addr: &str) {
    let pool = format!("pool-{vn}");
    if s.get(&pool).is_none() {
        s.upsert(child_of(
            obj(
                "floating-ip-pool",
                &pool,
                &["d", "p", vn, "pool"],
                json!({}),
            ),
            "virtual-network",
            vn,
        ));
    }
    s.upsert(with_plain_refs(
        child_of(
            obj(
                "floating-ip",
                uuid,
                &["d", "p", vn, "pool", uuid],
                json!({"floating_ip_address": addr}),
            ),
            "floating-ip-pool",
            &pool,
        ),
        "virtual_machine_interface_refs",
        &[port],
    ));
}

/// One ACL rule in Contrail's shape: `proto` ("any", "6", ...), addresses as JSON
/// `AddressType`s, destination port range, action "pass"/"deny", direction ">"/"<>".
pub fn acl_rule(
    proto: &str,
    src: Value,
    dst: Value,
    dports: (i64, i64),
    action: &str,
    uuid: &str,
) -> Value {
    json!({
        "match_condition": {
            "protocol": proto,
            "src_address": src, "src_port": {"start_port": -1, "end_port": -1},
            "dst_address": dst, "dst_port": {"start_port": dports.0, "end_port": dports.1},
            "ethertype": "IPv4"
        },
        "action_list": {"simple_action": action},
        "rule_uuid": uuid,
        "direction": ">"
    })
}
