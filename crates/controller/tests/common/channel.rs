//! Helpers for the channel tests: a tenant made through the REST API (networks with a subnet
//! and explicit targets, ports bound to a vrouter by `host_id` with an instance IP), and
//! simulated vrouters (`cirrus_control::testing`) on a runtime the test owns.

use std::net::Ipv4Addr;
use std::time::Duration;

use cirrus_control::testing::{SimOptions, SimRoute, SimVrouter};
use serde_json::{Value, json};

use super::Controller;

pub const PROJECT: [&str; 2] = ["default-domain", "default-project"];

/// The primary routing instance of network `name` in the default project.
pub fn instance(name: &str) -> String {
    format!("default-domain:default-project:{name}:{name}")
}

fn target_list(t: &[&str]) -> Value {
    json!({ "route_target": t })
}

/// A network with subnet `cidr` (`10.1.0.0/24`), both-ways targets `rt` and import-only
/// targets `import`; returns its uuid.
pub fn network(c: &Controller, name: &str, cidr: &str, rt: &[&str], import: &[&str]) -> String {
    let ipam = format!("{name}-ipam");
    c.create(
        "network-ipam",
        json!({"fq_name": [PROJECT[0], PROJECT[1], ipam], "parent_type": "project"}),
    );
    let (addr, len) = cidr.split_once('/').unwrap();
    c.create(
        "virtual-network",
        json!({
            "fq_name": [PROJECT[0], PROJECT[1], name],
            "parent_type": "project",
            "network_ipam_refs": [{
                "to": [PROJECT[0], PROJECT[1], ipam],
                "attr": {"ipam_subnets": [{"subnet": {"ip_prefix": addr, "ip_prefix_len": len.parse::<u32>().unwrap()}}]},
            }],
            "route_target_list": target_list(rt),
            "import_route_target_list": target_list(import),
        }),
    )
}

/// Sets a network's import-only targets.
pub fn set_imports(c: &Controller, vn: &str, import: &[&str]) {
    c.update(
        "virtual-network",
        vn,
        json!({"import_route_target_list": target_list(import)}),
    );
}

/// A port in network `vn` bound to vrouter `host`, with instance IP `ip`; returns its uuid.
pub fn port(c: &Controller, vn: &str, name: &str, host: &str, ip: &str) -> String {
    let vmi = c.create(
        "virtual-machine-interface",
        json!({
            "fq_name": [PROJECT[0], PROJECT[1], name],
            "parent_type": "project",
            "virtual_network_refs": [{"to": [PROJECT[0], PROJECT[1], vn]}],
            "virtual_machine_interface_bindings": {"key_value_pair": [{"key": "host_id", "value": host}]},
        }),
    );
    c.create(
        "instance-ip",
        json!({
            "fq_name": [format!("{name}-v4")],
            "instance_ip_address": ip,
            "virtual_network_refs": [{"to": [PROJECT[0], PROJECT[1], vn]}],
            "virtual_machine_interface_refs": [{"to": [PROJECT[0], PROJECT[1], name]}],
        }),
    );
    vmi
}

/// A runtime for the simulated vrouters (the REST calls stay blocking, outside it).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Connects a simulated vrouter `host` at underlay `198.18.0.<last>` and subscribes it to
/// `instances`.
pub fn vrouter(
    rt: &tokio::runtime::Runtime,
    c: &Controller,
    host: &str,
    last: u8,
    instances: &[&str],
) -> SimVrouter {
    let v = rt
        .block_on(SimVrouter::connect(
            c.channel,
            SimOptions::new(host, Ipv4Addr::new(198, 18, 0, last)),
        ))
        .unwrap_or_else(|e| panic!("{host} cannot connect: {e}\n{}", c.log()));
    for i in instances {
        v.subscribe(i);
    }
    v
}

/// Waits on a simulated vrouter's state; panics with the state and the controller's log.
pub fn wait(
    rt: &tokio::runtime::Runtime,
    c: &Controller,
    v: &SimVrouter,
    what: &str,
    cond: impl Fn(&cirrus_control::testing::SimState) -> bool,
) {
    if let Err(e) = rt.block_on(v.wait(what, Duration::from_secs(20), cond)) {
        panic!("{e}\n{}", c.log());
    }
}

pub fn host_route(ip: &str, label: u32) -> SimRoute {
    SimRoute::host(ip, label)
}

/// A network-policy allowing everything between networks `a` and `b` (`<>`), attached to
/// both: with the intent compiler running, their instances import each other's targets.
pub fn allow_both_ways(c: &Controller, a: &str, b: &str) -> String {
    let name = policy_between(c, a, b);
    for vn in [a, b] {
        attach_policies(c, vn, &[&name]);
    }
    name
}

/// Creates (not attaches) a `<>` pass-everything policy between networks `a` and `b`, named
/// `a-b`; returns its name.
pub fn policy_between(c: &Controller, a: &str, b: &str) -> String {
    let name = format!("{a}-{b}");
    let addr =
        |vn: &str| json!([{"virtual_network": format!("{}:{}:{vn}", PROJECT[0], PROJECT[1])}]);
    let any_port = json!([{"start_port": -1, "end_port": -1}]);
    c.create(
        "network-policy",
        json!({
            "fq_name": [PROJECT[0], PROJECT[1], name],
            "parent_type": "project",
            "network_policy_entries": {"policy_rule": [{
                "direction": "<>",
                "protocol": "any",
                "src_addresses": addr(a),
                "dst_addresses": addr(b),
                "src_ports": any_port,
                "dst_ports": any_port,
                "action_list": {"simple_action": "pass"},
            }]},
        }),
    );
    name
}

/// Sets a network's policies (by name, in the default project); none detaches them.
pub fn attach_policies(c: &Controller, vn: &str, policies: &[&str]) {
    let uuid = c.api(
        "POST",
        "/fqname-to-id",
        Some(json!({"type": "virtual-network", "fq_name": [PROJECT[0], PROJECT[1], vn]})),
    )["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let refs: Vec<Value> = policies
        .iter()
        .map(|p| {
            json!({"to": [PROJECT[0], PROJECT[1], p],
                   "attr": {"sequence": {"major": 0, "minor": 0}, "timer": null}})
        })
        .collect();
    c.update(
        "virtual-network",
        &uuid,
        json!({"network_policy_refs": refs}),
    );
}
