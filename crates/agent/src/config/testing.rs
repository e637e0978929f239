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
