//! Property: compiling change by change (each change recompiling only what it reaches, run to
//! a fixed point) ends where compiling the final graph from scratch ends. Both graphs get
//! the same config changes; the derived state is compared by name, with each automatic route
//! target replaced by the name of its owner (numbers depend on allocation order).

use std::collections::BTreeMap;

use cirrus_intent::testing::{Graph, PROJECT};
use cirrus_intent::{Compiler, Options};
use proptest::prelude::*;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
enum Addr {
    Net(usize),
    Any,
    Local,
    Policy(usize),
    Subnet(u8),
    Group(usize),
}

#[derive(Debug, Clone)]
struct Rule {
    both: bool,
    src: Addr,
    dst: Addr,
    deny: bool,
    port: u16,
}

#[derive(Debug, Clone)]
enum Op {
    AddNetwork(usize),
    DeleteNetwork(usize),
    SetPolicy(usize, Vec<Rule>),
    DeletePolicy(usize),
    Attach(usize, Vec<usize>),
    SetGroup(usize, Vec<Rule>),
    DeleteGroup(usize),
    AddPort(usize, usize),
    DeletePort(usize),
    SetRouter(Vec<usize>),
    DeleteRouter,
    SetTargets(usize, u8),
}

const N: usize = 4;

fn addr() -> impl Strategy<Value = Addr> {
    prop_oneof![
        4 => (0..N).prop_map(Addr::Net),
        1 => Just(Addr::Any),
        3 => Just(Addr::Local),
        1 => (0..N).prop_map(Addr::Policy),
        1 => (0u8..3).prop_map(Addr::Subnet),
        1 => (0..N).prop_map(Addr::Group),
    ]
}

fn rules() -> impl Strategy<Value = Vec<Rule>> {
    prop::collection::vec(
        (
            any::<bool>(),
            addr(),
            addr(),
            prop::bool::weighted(0.2),
            prop_oneof![Just(0u16), Just(80u16)],
        )
            .prop_map(|(both, src, dst, deny, port)| Rule {
                both,
                src,
                dst,
                deny,
                port,
            }),
        0..4,
    )
}

/// Every network with its own policy first (so most later changes find what they name), then changes.
fn ops() -> impl Strategy<Value = Vec<Op>> {
    (
        prop::collection::vec(rules(), N),
        prop::collection::vec(op(), 1..32),
    )
        .prop_map(|(policies, rest)| {
            let mut v: Vec<Op> = (0..N).map(Op::AddNetwork).collect();
            v.extend(
                policies
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| Op::SetPolicy(i, r)),
            );
            v.extend((0..N).map(|i| Op::Attach(i, vec![i])));
            v.extend(rest);
            v
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..N).prop_map(Op::AddNetwork),
        1 => (0..N).prop_map(Op::DeleteNetwork),
        3 => ((0..N), rules()).prop_map(|(i, r)| Op::SetPolicy(i, r)),
        1 => (0..N).prop_map(Op::DeletePolicy),
        6 => ((0..N), prop::collection::vec(0..N, 0..3)).prop_map(|(i, p)| Op::Attach(i, p)),
        2 => ((0..N), rules()).prop_map(|(i, r)| Op::SetGroup(i, r)),
        1 => (0..N).prop_map(Op::DeleteGroup),
        2 => ((0..N), (0..N)).prop_map(|(p, n)| Op::AddPort(p, n)),
        1 => (0..N).prop_map(Op::DeletePort),
        1 => prop::collection::vec(0..N, 0..3).prop_map(Op::SetRouter),
        1 => Just(Op::DeleteRouter),
        1 => ((0..N), (0u8..3)).prop_map(|(i, t)| Op::SetTargets(i, t)),
    ]
}

fn fq(kind: &str, i: usize) -> String {
    format!("{PROJECT}:{kind}{i}")
}

fn address(a: &Addr, group_rule: bool) -> Value {
    match a {
        Addr::Net(i) => json!({"virtual_network": fq("n", *i)}),
        Addr::Any if group_rule => json!({"security_group": "any"}),
        Addr::Any => json!({"virtual_network": "any"}),
        Addr::Local if group_rule => json!({"security_group": "local"}),
        Addr::Local => json!({"virtual_network": "local"}),
        Addr::Policy(i) => json!({"network_policy": fq("p", *i)}),
        Addr::Subnet(i) => {
            json!({"subnet": {"ip_prefix": format!("10.{i}.0.0"), "ip_prefix_len": 16}})
        }
        Addr::Group(i) => json!({"security_group": fq("s", *i)}),
    }
}

fn rule_json(r: &Rule, n: usize, group_rule: bool) -> Value {
    json!({"rule_uuid": format!("00000000-0000-0000-0000-{n:012}"), "direction": if r.both {"<>"} else {">"},
           "protocol": if r.port == 0 {"any"} else {"tcp"}, "ethertype": "IPv4",
           "src_addresses": [address(&r.src, group_rule)], "dst_addresses": [address(&r.dst, group_rule)],
           "src_ports": [{"start_port": 0, "end_port": 65535}],
           "dst_ports": [{"start_port": r.port, "end_port": if r.port == 0 {65535} else {r.port}}],
           "action_list": {"simple_action": if r.deny {"deny"} else {"pass"}}})
}

fn uuid(g: &Graph, ty: &str, name: &str) -> Option<String> {
    g.index.uuid_of(ty, name).map(str::to_string)
}

fn apply(g: &mut Graph, op: &Op) {
    match op {
        Op::AddNetwork(i) => {
            if uuid(g, "virtual-network", &fq("n", *i)).is_none() {
                g.network(&format!("n{i}"));
            }
        }
        Op::DeleteNetwork(i) => {
            if let Some(u) = uuid(g, "virtual-network", &fq("n", *i))
                && !g
                    .index
                    .back_refs(&u)
                    .any(|o| o.type_name() == "virtual-machine-interface")
            {
                g.delete_network(&u);
            }
        }
        Op::SetPolicy(i, rules) => {
            let rules: Vec<Value> = rules
                .iter()
                .enumerate()
                .map(|(n, r)| rule_json(r, *i * 10 + n, false))
                .collect();
            match uuid(g, "network-policy", &fq("p", *i)) {
                Some(u) => g.update(
                    &u,
                    json!({"network_policy_entries": {"policy_rule": rules}}),
                ),
                None => {
                    g.policy(&format!("p{i}"), json!(rules));
                }
            }
        }
        Op::DeletePolicy(i) => {
            if let Some(u) = uuid(g, "network-policy", &fq("p", *i))
                && g.index.back_refs(&u).next().is_none()
            {
                g.delete(&u);
            }
        }
        Op::Attach(i, ps) => {
            if let Some(vn) = uuid(g, "virtual-network", &fq("n", *i)) {
                let mut ps: Vec<String> = ps
                    .iter()
                    .filter_map(|p| uuid(g, "network-policy", &fq("p", *p)))
                    .collect();
                ps.dedup();
                let refs: Vec<&str> = ps.iter().map(String::as_str).collect();
                g.attach(&vn, &refs);
            }
        }
        Op::SetGroup(i, rules) => {
            let rules: Vec<Value> = rules
                .iter()
                .enumerate()
                .map(|(n, r)| rule_json(r, *i * 10 + n, true))
                .collect();
            match uuid(g, "security-group", &fq("s", *i)) {
                Some(u) => g.update(
                    &u,
                    json!({"security_group_entries": {"policy_rule": rules}}),
                ),
                None => {
                    g.security_group(&format!("s{i}"), json!(rules));
                }
            }
        }
        Op::DeleteGroup(i) => {
            if let Some(u) = uuid(g, "security-group", &fq("s", *i)) {
                let children: Vec<String> = g.index.children(&u).map(|c| c.uuid.clone()).collect();
                for c in children {
                    g.delete(&c);
                }
                g.delete(&u);
            }
        }
        Op::AddPort(p, n) => {
            if uuid(g, "virtual-machine-interface", &fq("vmi", *p)).is_none()
                && let Some(vn) = uuid(g, "virtual-network", &fq("n", *n))
            {
                g.port(&format!("vmi{p}"), &vn);
            }
        }
        Op::DeletePort(p) => {
            if let Some(u) = uuid(g, "virtual-machine-interface", &fq("vmi", *p))
                && g.index.back_refs(&u).next().is_none()
            {
                g.delete(&u);
            }
        }
        Op::SetRouter(ports) => {
            let ports: Vec<String> = ports
                .iter()
                .filter_map(|p| uuid(g, "virtual-machine-interface", &fq("vmi", *p)))
                .collect();
            let refs: Vec<Value> = ports
                .iter()
                .map(|p| json!({"to": g.index.get(p).unwrap().fq_name}))
                .collect();
            match uuid(g, "logical-router", &fq("lr", 0)) {
                Some(u) => g.update(&u, json!({"virtual_machine_interface_refs": refs})),
                None => {
                    let r: Vec<&str> = ports.iter().map(String::as_str).collect();
                    g.router("lr0", &r);
                }
            }
        }
        Op::DeleteRouter => {
            if let Some(u) = uuid(g, "logical-router", &fq("lr", 0)) {
                g.delete(&u);
            }
        }
        Op::SetTargets(i, t) => {
            if let Some(vn) = uuid(g, "virtual-network", &fq("n", *i)) {
                let list = |l: &[&str]| json!({"route_target": l});
                let body = match t {
                    0 => {
                        json!({"route_target_list": list(&[]), "import_route_target_list": list(&[])})
                    }
                    1 => json!({"route_target_list": list(&["target:1:1"])}),
                    _ => {
                        json!({"import_route_target_list": list(&["target:1:2", "target:1:3"]), "export_route_target_list": list(&["target:1:3"])})
                    }
                };
                g.update(&vn, body);
            }
        }
    }
}

/// The derived state of a graph by name: each derived field of each object, with automatic
/// route targets named after their owner.
fn derived(g: &Graph) -> BTreeMap<String, Value> {
    let mut auto: BTreeMap<String, String> = BTreeMap::new();
    for (n, owner) in g.index.id_owners(cirrus_intent::TARGET_POOL) {
        let o = g
            .index
            .get(owner)
            .map(|o| o.fq_str.clone())
            .unwrap_or_else(|| format!("orphan {owner}"));
        auto.insert(format!("target:64512:{n}"), format!("auto({o})"));
    }
    let name = |uuid: &str| -> String {
        let o = g.index.get(uuid).expect("ref target exists");
        auto.get(&o.fq_str)
            .cloned()
            .unwrap_or_else(|| o.fq_str.clone())
    };
    let mut out = BTreeMap::new();
    for ty in [
        "routing-instance",
        "virtual-machine-interface",
        "logical-router",
        "access-control-list",
        "route-target",
    ] {
        for o in g.index.of_type(ty) {
            let mut refs: Vec<String> = o
                .refs()
                .filter(|r| ["route-target", "routing-instance"].contains(&r.to_type))
                .map(|r| {
                    format!(
                        "{} {}",
                        name(r.uuid),
                        cirrus_intent::json::canonical(r.attr)
                    )
                })
                .collect();
            refs.sort();
            let mut v = json!({"refs": refs});
            for f in ["access_control_list_entries", "routing_instance_is_default"] {
                if let Some(x) = o.body.get(f) {
                    v[f] = cirrus_intent::json::canonical(x);
                }
            }
            let key = format!(
                "{ty} {}",
                auto.get(&o.fq_str)
                    .cloned()
                    .unwrap_or_else(|| o.fq_str.clone())
            );
            out.insert(key, v);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn change_by_change_equals_from_scratch(ops in ops()) {
        let mut inc = Graph::new();
        let mut compiler = Compiler::new(Options::default());
        inc.converge_full(&mut compiler);
        let mut scratch = Graph::new();
        for op in &ops {
            let since = inc.revision();
            apply(&mut inc, op);
            inc.converge(&mut compiler, since);
            apply(&mut scratch, op);
        }
        // The incremental result is a fixed point of a full compile...
        let again = Compiler::new(Options::default()).full(&inc.index);
        prop_assert_eq!(&again.writes, &vec![], "a full compile would still write");
        // ... and the same, by name, as compiling the final graph at once.
        scratch.converge_full(&mut Compiler::new(Options::default()));
        let (a, b) = (derived(&inc), derived(&scratch));
        prop_assert_eq!(a, b);
    }
}
