//! The contract between the intent compiler and the agent (PLAN section 2): ACL entries as
//! `cirrus-intent` writes them for network policies and security groups, compiled and
//! evaluated by the agent, give the verdicts Contrail's do.

use std::net::IpAddr;
use std::sync::Arc;

use cirrus_agent::config::schema::AclEntriesType;
use cirrus_agent::policy::{
    Acl, EvalOpts, Header, Layer, Names, PortRules, Side, Verdict, evaluate,
};
use cirrus_intent::Options;
use cirrus_intent::network_acl::{AttachedPolicy, NetworkView, network_acls};
use cirrus_intent::sg_acl::group_acls;
use serde_json::{Value, json};

const RED: &str = "default-domain:p:red";
const BLUE: &str = "default-domain:p:blue";

fn compile(names: &mut Names, uuid: &str, entries: &Value) -> Arc<Acl> {
    let e: AclEntriesType = serde_json::from_value(entries.clone()).expect("intent's entries read");
    Arc::new(Acl::compile(uuid, &e, names))
}

/// `red <> blue`, TCP to port 80 of blue.
fn policy() -> Vec<Value> {
    vec![json!({
        "direction": "<>", "protocol": "tcp", "rule_uuid": "red-blue-80",
        "src_addresses": [{"virtual_network": RED}], "src_ports": [{"start_port": -1, "end_port": -1}],
        "dst_addresses": [{"virtual_network": BLUE}], "dst_ports": [{"start_port": 80, "end_port": 80}],
        "action_list": {"simple_action": "pass"}, "ethertype": "IPv4"
    })]
}

fn network_acl(names: &mut Names, vn: &str, opts: &Options) -> Arc<Acl> {
    let rules = policy();
    let out = network_acls(
        &NetworkView {
            fq_name: vn,
            is_provider_network: false,
            fabric_snat: false,
            provider_vns: vec![],
        },
        &[AttachedPolicy {
            fq_name: "default-domain:p:pol",
            rules: &rules,
            timed: false,
        }],
        &|_| Some(vec![RED.to_string(), BLUE.to_string()]),
        opts,
    );
    compile(
        names,
        vn,
        out.static_entries.as_ref().expect("a static ACL"),
    )
}

struct Flow {
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    src_vn: Vec<u32>,
    dst_vn: Vec<u32>,
    src_sg: Vec<u32>,
}

impl Flow {
    fn h(&self) -> Header<'_> {
        Header {
            proto: 6,
            src: Side {
                addr: self.src,
                port: self.sport,
                networks: &self.src_vn,
                security_groups: &self.src_sg,
                tags: &[],
            },
            dst: Side {
                addr: self.dst,
                port: self.dport,
                networks: &self.dst_vn,
                security_groups: &[],
                tags: &[],
            },
        }
    }
}

#[test]
fn network_policy_acls_from_the_compiler_decide_as_contrail() {
    for logical_routers_enabled in [true, false] {
        let opts = Options {
            logical_routers_enabled,
            ..Options::default()
        };
        let mut n = Names::default();
        let (red, blue) = (n.intern(RED), n.intern(BLUE));
        let rules = |acl: Arc<Acl>| PortRules {
            network_acl: Some(acl),
            ..PortRules::default()
        };
        let red_acl = rules(network_acl(&mut n, RED, &opts));
        let blue_acl = rules(network_acl(&mut n, BLUE, &opts));
        let f = |sport, dport, from_red: bool| Flow {
            src: if from_red { "10.1.0.3" } else { "10.2.0.3" }
                .parse()
                .unwrap(),
            dst: if from_red { "10.2.0.3" } else { "10.1.0.3" }
                .parse()
                .unwrap(),
            sport,
            dport,
            src_vn: vec![if from_red { red } else { blue }],
            dst_vn: vec![if from_red { blue } else { red }],
            src_sg: vec![],
        };
        // red -> blue:80, both ends local: allowed, and its replies too.
        let o = evaluate(
            &f(40000, 80, true).h(),
            Some(&red_acl),
            Some(&blue_acl),
            EvalOpts::default(),
        );
        assert_eq!(
            (o.forward.clone(), o.reverse.clone()),
            (Verdict::Allow, Verdict::Allow),
            "lr {logical_routers_enabled}"
        );
        // The same seen by each vrouter alone (remote other end).
        assert!(
            evaluate(
                &f(40000, 80, true).h(),
                Some(&red_acl),
                None,
                EvalOpts::default()
            )
            .forward
            .allowed()
        );
        assert!(
            evaluate(
                &f(40000, 80, true).h(),
                None,
                Some(&blue_acl),
                EvalOpts::default()
            )
            .forward
            .allowed()
        );
        // red -> blue:443: denied, by the rule's deny twin (logical routers) or the
        // implicit deny, named.
        let o = evaluate(
            &f(40000, 443, true).h(),
            Some(&red_acl),
            None,
            EvalOpts::default(),
        );
        let Verdict::Deny {
            layer: Layer::NetworkPolicy,
            rule,
        } = &o.forward
        else {
            panic!("443 passed (lr {logical_routers_enabled}): {o:?}")
        };
        let expect = if logical_routers_enabled {
            "red-blue-80"
        } else {
            "00000000-0000-0000-0000-100000000002"
        };
        assert_eq!(&**rule, expect);
        // Inside red: passes.
        let mut inside = f(1, 2, true);
        inside.dst_vn = vec![red];
        assert!(
            evaluate(&inside.h(), Some(&red_acl), None, EvalOpts::default())
                .forward
                .allowed()
        );
    }
}

#[test]
fn security_group_acls_from_the_compiler_decide_as_contrail() {
    // Ingress: TCP 22 from anywhere and everything from the group itself; egress: all.
    let entries = json!({"policy_rule": [
        {"direction": ">", "protocol": "tcp", "rule_uuid": "ssh",
         "src_addresses": [{"subnet": {"ip_prefix": "0.0.0.0", "ip_prefix_len": 0}}], "src_ports": [{"start_port": 0, "end_port": 65535}],
         "dst_addresses": [{"security_group": "local"}], "dst_ports": [{"start_port": 22, "end_port": 22}],
         "action_list": {"simple_action": "pass"}, "ethertype": "IPv4"},
        {"direction": ">", "protocol": "any", "rule_uuid": "self",
         "src_addresses": [{"security_group": "default-domain:p:web"}], "src_ports": [{"start_port": 0, "end_port": 65535}],
         "dst_addresses": [{"security_group": "local"}], "dst_ports": [{"start_port": 0, "end_port": 65535}],
         "action_list": {"simple_action": "pass"}, "ethertype": "IPv4"},
        {"direction": ">", "protocol": "any", "rule_uuid": "out",
         "src_addresses": [{"security_group": "local"}], "src_ports": [{"start_port": 0, "end_port": 65535}],
         "dst_addresses": [{"subnet": {"ip_prefix": "0.0.0.0", "ip_prefix_len": 0}}], "dst_ports": [{"start_port": 0, "end_port": 65535}],
         "action_list": {"simple_action": "pass"}, "ethertype": "IPv4"}
    ]});
    let g = group_acls(
        "default-domain:p:web",
        Some(8000001),
        Some(&entries),
        &|_| Some(8000001),
    );
    assert!(g.warnings.is_empty(), "{:?}", g.warnings);
    let mut n = Names::default();
    let port = PortRules {
        sg_ingress: Some(vec![compile(&mut n, "in", &g.ingress)]),
        sg_egress: Some(vec![compile(&mut n, "out", &g.egress)]),
        ..PortRules::default()
    };
    let f = |dport, sg: Vec<u32>| Flow {
        src: "10.1.0.9".parse().unwrap(),
        dst: "10.1.0.3".parse().unwrap(),
        sport: 40000,
        dport,
        src_vn: vec![],
        dst_vn: vec![],
        src_sg: sg,
    };
    let ok = |fl: Flow| {
        evaluate(&fl.h(), None, Some(&port), EvalOpts::default())
            .forward
            .allowed()
    };
    assert!(ok(f(22, vec![])), "22 from anywhere");
    assert!(!ok(f(80, vec![])), "80 from a stranger");
    assert!(ok(f(80, vec![8000001])), "80 from the group");
    let out = Flow {
        src: "10.1.0.3".parse().unwrap(),
        dst: "203.0.113.1".parse().unwrap(),
        sport: 1,
        dport: 443,
        src_vn: vec![],
        dst_vn: vec![],
        src_sg: vec![],
    };
    assert!(
        evaluate(&out.h(), Some(&port), None, EvalOpts::default())
            .forward
            .allowed(),
        "out to anywhere"
    );
}
