//! The compiler on config graphs built in memory: what each kind of object derives, run to a
//! fixed point through [`Graph::converge`] (the writes applied as the controller would).

use cirrus_intent::testing::{Graph, PROJECT};
use cirrus_intent::{Compiler, Options, TARGET_POOL, Write};
use serde_json::{Value, json};

fn instance(g: &Graph, vn: &str) -> std::sync::Arc<cirrus_api::object::Obj> {
    let vn = g.index.get(vn).unwrap();
    cirrus_intent::primary_instance(&g.index, vn)
        .unwrap()
        .clone()
}

/// (target name, import_export) of an instance's route-target refs, sorted.
fn targets(g: &Graph, vn: &str) -> Vec<(String, Value)> {
    let ri = instance(g, vn);
    let mut v: Vec<(String, Value)> = ri
        .refs()
        .filter(|r| r.to_type == "route-target")
        .map(|r| {
            let rt = g.index.get(r.uuid).expect("route target exists");
            (
                rt.fq_str.clone(),
                r.attr.get("import_export").cloned().unwrap_or(Value::Null),
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn connections(g: &Graph, vn: &str) -> Vec<String> {
    let ri = instance(g, vn);
    let mut v: Vec<String> = ri
        .refs()
        .filter(|r| r.to_type == "routing-instance")
        .map(|r| g.index.get(r.uuid).unwrap().fq_str.clone())
        .collect();
    v.sort();
    v
}

fn acl(g: &Graph, fq: &str) -> Option<Value> {
    g.index
        .by_fq_name("access-control-list", fq)
        .map(|a| a.body["access_control_list_entries"].clone())
}

fn started() -> (Graph, Compiler) {
    let mut g = Graph::new();
    let mut c = Compiler::new(Options::default());
    g.converge_full(&mut c);
    (g, c)
}

fn rule(
    dir: &str,
    proto: &str,
    src: Value,
    dst: Value,
    dport: (i64, i64),
    action: &str,
    uuid: &str,
) -> Value {
    json!({"rule_uuid": uuid, "direction": dir, "protocol": proto, "ethertype": "IPv4",
           "src_addresses": [src], "dst_addresses": [dst],
           "src_ports": [{"start_port": -1, "end_port": -1}],
           "dst_ports": [{"start_port": dport.0, "end_port": dport.1}],
           "action_list": {"simple_action": action}})
}

fn vn_addr(name: &str) -> Value {
    json!({"virtual_network": format!("{PROJECT}:{name}")})
}

#[test]
fn a_network_gets_its_own_target_and_its_listed_ones() {
    let (mut g, mut c) = started();
    let since = g.revision();
    let vn = g.network("blue");
    g.update(
        &vn,
        json!({
            "route_target_list": {"route_target": ["target:64512:100"]},
            "import_route_target_list": {"route_target": ["target:64512:200", "target:64512:300"]},
            "export_route_target_list": {"route_target": ["target:64512:300", "target:64512:400"]},
        }),
    );
    g.converge(&mut c, since);
    assert_eq!(
        targets(&g, &vn),
        vec![
            ("target:64512:100".into(), Value::Null),
            ("target:64512:200".into(), json!("import")),
            // In both the import and the export list: both ways, as Contrail does.
            ("target:64512:300".into(), Value::Null),
            ("target:64512:400".into(), json!("export")),
            ("target:64512:8000000".into(), Value::Null),
        ]
    );
    let ri = instance(&g, &vn);
    assert_eq!(ri.body["routing_instance_is_default"], json!(true));
    // The number is kept in the store, owned by the instance.
    let owners: Vec<(u64, String)> = g
        .index
        .id_owners(TARGET_POOL)
        .map(|(n, o)| (n, o.to_string()))
        .collect();
    assert_eq!(owners, vec![(8_000_000, ri.uuid.clone())]);
    // The second network gets the next number.
    let since = g.revision();
    let red = g.network("red");
    g.converge(&mut c, since);
    assert_eq!(
        targets(&g, &red),
        vec![("target:64512:8000001".into(), Value::Null)]
    );
}

#[test]
fn a_restart_or_a_takeover_keeps_every_number_and_writes_nothing() {
    let (mut g, mut c) = started();
    let since = g.revision();
    let a = g.network("a");
    let b = g.network("b");
    g.converge(&mut c, since);
    let before = (targets(&g, &a), targets(&g, &b));
    let mut fresh = Compiler::new(Options::default());
    let out = fresh.full(&g.index);
    assert_eq!(
        out.writes,
        vec![],
        "a second compiler agrees with the store"
    );
    // A crash after the number was reserved but before the target was written: the number
    // is found again and the target is created with it.
    let rt = g
        .index
        .by_fq_name("route-target", "target:64512:8000001")
        .unwrap()
        .uuid
        .clone();
    let ri = instance(&g, &b);
    g.update(&ri.uuid, json!({"route_target_refs": []}));
    g.delete(&rt);
    let out = Compiler::new(Options::default()).full(&g.index);
    assert!(
        out.writes
            .iter()
            .all(|w| !matches!(w, Write::ReserveTarget { .. })),
        "{:?}",
        out.writes
    );
    g.apply(&out.writes);
    assert_eq!((targets(&g, &a), targets(&g, &b)), before);
}

#[test]
fn deleting_a_network_frees_its_number_and_target() {
    let (mut g, mut c) = started();
    let since = g.revision();
    let vn = g.network("gone");
    g.converge(&mut c, since);
    assert!(
        g.index
            .by_fq_name("route-target", "target:64512:8000000")
            .is_some()
    );
    let since = g.revision();
    g.delete_network(&vn);
    g.converge(&mut c, since);
    assert!(
        g.index
            .by_fq_name("route-target", "target:64512:8000000")
            .is_none()
    );
    assert_eq!(g.index.id_owners(TARGET_POOL).count(), 0);
}

#[test]
fn a_port_refers_to_its_networks_primary_instance() {
    let (mut g, mut c) = started();
    let since = g.revision();
    let vn = g.network("net");
    let port = g.port("port1", &vn);
    g.converge(&mut c, since);
    let vmi = g.index.get(&port).unwrap();
    let refs: Vec<_> = vmi
        .refs()
        .filter(|r| r.to_type == "routing-instance")
        .collect();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].uuid, instance(&g, &vn).uuid);
    assert_eq!(refs[0].attr["direction"], "both");
}

#[test]
fn networks_connect_only_while_both_policies_allow() {
    let (mut g, mut c) = started();
    let since = g.revision();
    let red = g.network("red");
    let blue = g.network("blue");
    let p_red = g.policy(
        "red-to-blue",
        json!([rule(
            "<>",
            "any",
            vn_addr("red"),
            vn_addr("blue"),
            (-1, -1),
            "pass",
            "r1"
        )]),
    );
    let p_blue = g.policy(
        "blue-to-red",
        json!([rule(
            "<>",
            "any",
            vn_addr("blue"),
            vn_addr("red"),
            (-1, -1),
            "pass",
            "r2"
        )]),
    );
    g.attach(&red, &[&p_red]);
    g.converge(&mut c, since);
    assert_eq!(
        connections(&g, &red),
        Vec::<String>::new(),
        "only one side allows"
    );
    let since = g.revision();
    g.attach(&blue, &[&p_blue]);
    g.converge(&mut c, since);
    assert_eq!(connections(&g, &red), vec![format!("{PROJECT}:blue:blue")]);
    assert_eq!(connections(&g, &blue), vec![format!("{PROJECT}:red:red")]);
    // Either side stopping ends it.
    let since = g.revision();
    g.attach(&blue, &[]);
    g.converge(&mut c, since);
    assert_eq!(connections(&g, &red), Vec::<String>::new());
    assert_eq!(connections(&g, &blue), Vec::<String>::new());
    assert!(
        acl(&g, &format!("{PROJECT}:blue:blue")).is_none(),
        "no policy, no ACL"
    );
    // A deny rule connects nothing.
    let since = g.revision();
    g.update(&p_blue, json!({"network_policy_entries": {"policy_rule": [rule("<>", "any", vn_addr("blue"), vn_addr("red"), (-1, -1), "deny", "r3")]}}));
    g.attach(&blue, &[&p_blue]);
    g.converge(&mut c, since);
    assert_eq!(connections(&g, &red), Vec::<String>::new());
}

#[test]
fn a_policy_makes_contrails_acl_entries() {
    let (mut g, mut c) = started();
    let since = g.revision();
    let red = g.network("red");
    g.network("blue");
    let p = g.policy(
        "web",
        json!([
            rule(
                "<>",
                "tcp",
                vn_addr("red"),
                vn_addr("blue"),
                (80, 80),
                "pass",
                "11111111-0000-0000-0000-000000000001"
            ),
            rule(
                ">",
                "udp",
                json!({"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 16}}),
                json!({"subnet": {"ip_prefix": "10.2.0.0", "ip_prefix_len": 16}}),
                (53, 53),
                "deny",
                "11111111-0000-0000-0000-000000000002"
            ),
            rule(
                ">",
                "icmp",
                json!({"virtual_network": "local"}),
                json!({"virtual_network": "any"}),
                (-1, -1),
                "pass",
                "11111111-0000-0000-0000-000000000003"
            ),
            rule(
                ">",
                "tcp",
                json!({"security_group": "default-domain:p:sg"}),
                vn_addr("red"),
                (22, 22),
                "pass",
                "11111111-0000-0000-0000-000000000004"
            ),
            rule(
                ">",
                "tcp",
                vn_addr("green"),
                vn_addr("blue"),
                (1, 2),
                "pass",
                "not-mine"
            ),
        ]),
    );
    g.attach(&red, &[&p]);
    g.converge(&mut c, since);
    let e = acl(&g, &format!("{PROJECT}:red:red")).expect("red has an ACL");
    assert_eq!(e["dynamic"], json!(false));
    let rules = e["acl_rule"].as_array().unwrap();
    let summary: Vec<String> = rules
        .iter()
        .map(|r| {
            let m = &r["match_condition"];
            let addr = |a: &Value| {
                a["virtual_network"]
                    .as_str()
                    .map(str::to_string)
                    .or_else(|| {
                        a["subnet"]["ip_prefix"]
                            .as_str()
                            .map(|s| format!("{s}/{}", a["subnet"]["ip_prefix_len"]))
                    })
                    .or_else(|| a["security_group"].as_str().map(|s| format!("sg {s}")))
                    .unwrap_or_default()
            };
            format!(
                "{} {} {}:{} -> {}:{} {} {}",
                r["action_list"]["simple_action"].as_str().unwrap(),
                m["protocol"].as_str().unwrap(),
                addr(&m["src_address"]),
                m["src_port"]["start_port"],
                addr(&m["dst_address"]),
                m["dst_port"]["start_port"],
                r["direction"].as_str().unwrap_or("-"),
                r["rule_uuid"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    let red_fq = format!("{PROJECT}:red");
    let blue_fq = format!("{PROJECT}:blue");
    let expect = vec![
        // <> expanded into two one-way entries, same rule uuid.
        format!("pass 6 {red_fq}:-1 -> {blue_fq}:80 > 11111111-0000-0000-0000-000000000001"),
        format!("pass 6 {blue_fq}:80 -> {red_fq}:-1 > 11111111-0000-0000-0000-000000000001"),
        "deny 17 10.1.0.0/16:-1 -> 10.2.0.0/16:53 > 11111111-0000-0000-0000-000000000002".to_string(),
        format!("pass 1 {red_fq}:-1 -> any:-1 > 11111111-0000-0000-0000-000000000003"),
        "pass 6 sg default-domain:p:sg:-1 -> default-domain:p:red:22 > 11111111-0000-0000-0000-000000000004".to_string(),
        // Implicit: this network to itself.
        format!("pass any {red_fq}:0 -> {red_fq}:0 - 00000000-0000-0000-0000-100000000001"),
        // Deny twins of each rule (logical routers enabled), any protocol, every port.
        format!("deny any {red_fq}:0 -> {blue_fq}:0 > 11111111-0000-0000-0000-000000000001"),
        format!("deny any {blue_fq}:0 -> {red_fq}:0 > 11111111-0000-0000-0000-000000000001"),
        "deny any 10.1.0.0/16:0 -> 10.2.0.0/16:0 > 11111111-0000-0000-0000-000000000002".to_string(),
        format!("deny any {red_fq}:0 -> any:0 > 11111111-0000-0000-0000-000000000003"),
        format!("deny any sg default-domain:p:sg:0 -> {red_fq}:0 > 11111111-0000-0000-0000-000000000004"),
        // And any to any passes: routes keep networks apart.
        "pass any any:0 -> any:0 - 00000000-0000-0000-0000-100000000001".to_string(),
    ];
    assert_eq!(summary, expect, "{summary:#?}");
    // The icmp rule to any is a connection to every network that allows this one back.
    assert_eq!(
        c.connections_of(&red)
            .unwrap()
            .iter()
            .cloned()
            .collect::<Vec<_>>(),
        vec!["*".to_string(), blue_fq]
    );
}

#[test]
fn a_rule_naming_a_policy_matches_the_networks_attached_to_it() {
    let (mut g, mut c) = started();
    let since = g.revision();
    let a = g.network("a");
    let b = g.network("b");
    let pb = g.policy("pb", json!([]));
    let pa = g.policy(
        "pa",
        json!([rule(
            ">",
            "any",
            json!({"virtual_network": "local"}),
            json!({"network_policy": format!("{PROJECT}:pb")}),
            (-1, -1),
            "pass",
            "x"
        )]),
    );
    g.attach(&a, &[&pa]);
    g.converge(&mut c, since);
    let dsts = |g: &Graph| -> Vec<String> {
        acl(g, &format!("{PROJECT}:a:a")).unwrap()["acl_rule"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["rule_uuid"] == "x" && r["action_list"]["simple_action"] == "pass")
            .map(|r| {
                r["match_condition"]["dst_address"]["virtual_network"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        dsts(&g),
        Vec::<String>::new(),
        "nothing is attached to pb yet"
    );
    // Attaching b to pb changes a's ACL, although neither a nor pa changed.
    let since = g.revision();
    g.attach(&b, &[&pb]);
    let outs = g.converge(&mut c, since);
    assert_eq!(dsts(&g), vec![format!("{PROJECT}:b")]);
    assert!(
        outs[0].stats.networks <= 2,
        "only a and b recompiled: {:?}",
        outs[0].stats
    );
}

#[test]
fn security_groups_get_ingress_and_egress_acls_with_group_ids() {
    let (mut g, mut c) = started();
    let since = g.revision();
    let web = g.security_group("web", json!([]));
    let sg_rule = |src: Value, dst: Value, proto: &str| {
        json!({"rule_uuid": format!("u-{proto}"), "direction": ">", "protocol": proto, "ethertype": "IPv4",
        "src_addresses": [src], "dst_addresses": [dst], "src_ports": [{"start_port": 0, "end_port": 65535}],
        "dst_ports": [{"start_port": 0, "end_port": 65535}]})
    };
    let db = g.security_group(
        "db",
        json!([
            sg_rule(
                json!({"security_group": format!("{PROJECT}:web")}),
                json!({"security_group": "local"}),
                "tcp"
            ),
            sg_rule(
                json!({"security_group": "local"}),
                json!({"subnet": {"ip_prefix": "0.0.0.0", "ip_prefix_len": 0}}),
                "any"
            ),
            sg_rule(
                json!({"security_group": format!("{PROJECT}:nosuch")}),
                json!({"security_group": "local"}),
                "udp"
            ),
        ]),
    );
    g.converge(&mut c, since);
    let web_id = g.index.get(&web).unwrap().body["security_group_id"].clone();
    let ingress = acl(&g, &format!("{PROJECT}:db:ingress-access-control-list")).unwrap();
    let rules = ingress["acl_rule"].as_array().unwrap();
    assert_eq!(
        rules.len(),
        1,
        "the rule naming a missing group is left out: {rules:#?}"
    );
    let m = &rules[0]["match_condition"];
    assert_eq!(
        m["src_address"]["security_group"],
        json!(web_id.to_string())
    );
    assert_eq!(m["dst_address"]["security_group"], Value::Null);
    assert_eq!(m["protocol"], "6");
    assert_eq!(m["ethertype"], "IPv4");
    assert_eq!(rules[0]["action_list"]["simple_action"], "pass");
    let egress = acl(&g, &format!("{PROJECT}:db:egress-access-control-list")).unwrap();
    assert_eq!(egress["acl_rule"].as_array().unwrap().len(), 1);
    assert_eq!(egress["acl_rule"][0]["match_condition"]["protocol"], "any");
    // An empty group still has both, empty.
    assert_eq!(
        acl(&g, &format!("{PROJECT}:web:ingress-access-control-list")).unwrap()["acl_rule"],
        json!([])
    );
    // Creating the missing group brings its rule in, recompiling only the groups involved.
    let since = g.revision();
    let nosuch = g.security_group("nosuch", json!([]));
    let outs = g.converge(&mut c, since);
    assert_eq!(outs[0].stats.groups, 2, "{:?}", outs[0].stats);
    let ingress = acl(&g, &format!("{PROJECT}:db:ingress-access-control-list")).unwrap();
    assert_eq!(ingress["acl_rule"].as_array().unwrap().len(), 2);
    let _ = (db, nosuch);
}

#[test]
fn a_logical_router_joins_its_networks_through_its_target() {
    let (mut g, mut c) = started();
    let since = g.revision();
    let a = g.network("a");
    let b = g.network("b");
    let other = g.network("other");
    let pa = g.port("pa", &a);
    let pb = g.port("pb", &b);
    let lr = g.router("lr", &[&pa, &pb]);
    g.converge(&mut c, since);
    let lr_obj = g.index.get(&lr).unwrap();
    let lr_rt: Vec<String> = lr_obj
        .refs()
        .filter(|r| r.to_type == "route-target")
        .map(|r| g.index.get(r.uuid).unwrap().fq_str.clone())
        .collect();
    assert_eq!(lr_rt.len(), 1);
    let has = |g: &Graph, vn: &str| {
        targets(g, vn)
            .iter()
            .any(|(t, ie)| *t == lr_rt[0] && ie.is_null())
    };
    assert!(has(&g, &a) && has(&g, &b));
    assert!(!has(&g, &other));
    // Taking a port off the router takes its network off the target.
    let since = g.revision();
    let pa_fq = g.index.get(&pa).unwrap().fq_name.clone();
    g.update(
        &lr,
        json!({"virtual_machine_interface_refs": [{"to": pa_fq}]}),
    );
    g.converge(&mut c, since);
    assert!(has(&g, &a) && !has(&g, &b));
}

#[test]
fn floating_ips_derive_nothing() {
    // Contrail's schema transformer only tracks floating IPs (for service chains); the agent
    // resolves NAT from the floating-ip objects themselves.
    let (mut g, mut c) = started();
    let since = g.revision();
    let public = g.network("public");
    let private = g.network("private");
    let port = g.port("vm", &private);
    g.converge(&mut c, since);
    let since = g.revision();
    let pool = g.create(
        "floating-ip-pool",
        &format!("{PROJECT}:public:pool"),
        json!({}),
    );
    let port_fq = g.index.get(&port).unwrap().fq_name.clone();
    g.create("floating-ip", &format!("{PROJECT}:public:pool:fip"), json!({"floating_ip_address": "192.0.2.10", "virtual_machine_interface_refs": [{"to": port_fq}]}));
    let outs = g.converge(&mut c, since);
    assert_eq!(outs[0].writes, vec![]);
    let _ = (public, pool);
}

#[test]
fn without_logical_routers_the_acl_ends_in_deny() {
    let mut g = Graph::new();
    let mut c = Compiler::new(Options {
        logical_routers_enabled: false,
        ..Options::default()
    });
    let red = g.network("red");
    let p = g.policy(
        "p",
        json!([rule(
            ">",
            "tcp",
            vn_addr("red"),
            vn_addr("blue"),
            (80, 80),
            "pass",
            "r"
        )]),
    );
    g.attach(&red, &[&p]);
    g.converge_full(&mut c);
    let e = acl(&g, &format!("{PROJECT}:red:red")).unwrap();
    let last = e["acl_rule"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action_list"]["simple_action"], "deny");
    assert_eq!(last["rule_uuid"], "00000000-0000-0000-0000-100000000002");
    assert_eq!(e["acl_rule"].as_array().unwrap().len(), 3);
}
