//! Policy evaluation over each ACL shape, security groups and firewall rules, with ACL
//! entries in Contrail's JSON shape.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::config::firewall::{Endpoint, FirewallPolicy, FirewallRule, FwDirection, Service};
use crate::config::parse_prefix;
use crate::config::schema::AclEntriesType;

fn acl(names: &mut Names, rules: Value) -> Arc<Acl> {
    let e: AclEntriesType = serde_json::from_value(json!({ "acl_rule": rules })).unwrap();
    Arc::new(Acl::compile("acl-under-test", &e, names))
}

fn rule(
    proto: &str,
    src: Value,
    sp: (i64, i64),
    dst: Value,
    dp: (i64, i64),
    action: &str,
    uuid: &str,
) -> Value {
    json!({
        "match_condition": {
            "protocol": proto,
            "src_address": src, "src_port": {"start_port": sp.0, "end_port": sp.1},
            "dst_address": dst, "dst_port": {"start_port": dp.0, "end_port": dp.1},
            "ethertype": "IPv4"
        },
        "action_list": {"simple_action": action},
        "rule_uuid": uuid
    })
}

struct Flow {
    proto: u8,
    src: IpAddr,
    sport: u16,
    dst: IpAddr,
    dport: u16,
    src_vn: Vec<NameId>,
    dst_vn: Vec<NameId>,
    src_sg: Vec<u32>,
    dst_sg: Vec<u32>,
    src_tags: Vec<u32>,
    dst_tags: Vec<u32>,
}

impl Flow {
    fn tcp(src: &str, dst: &str, dport: u16) -> Flow {
        Flow {
            proto: 6,
            src: src.parse().unwrap(),
            sport: 40000,
            dst: dst.parse().unwrap(),
            dport,
            src_vn: vec![],
            dst_vn: vec![],
            src_sg: vec![],
            dst_sg: vec![],
            src_tags: vec![],
            dst_tags: vec![],
        }
    }
    fn h(&self) -> Header<'_> {
        Header {
            proto: self.proto,
            src: Side {
                addr: self.src,
                port: self.sport,
                networks: &self.src_vn,
                security_groups: &self.src_sg,
                tags: &self.src_tags,
            },
            dst: Side {
                addr: self.dst,
                port: self.dport,
                networks: &self.dst_vn,
                security_groups: &self.dst_sg,
                tags: &self.dst_tags,
            },
        }
    }
}

fn first(a: &Acl, f: &Flow) -> Option<(bool, String)> {
    a.first_match(&f.h()).map(|m| (m.pass, m.rule.to_string()))
}

#[test]
fn each_address_shape_matches_what_it_names() {
    let mut n = Names::default();
    let red = n.intern("d:p:red");
    let blue = n.intern("d:p:blue");
    let a = acl(
        &mut n,
        json!([
            rule(
                "6",
                json!({"virtual_network": "d:p:red"}),
                (-1, -1),
                json!({"virtual_network": "d:p:blue"}),
                (80, 80),
                "pass",
                "vn-to-vn"
            ),
            rule(
                "17",
                json!({"subnet": {"ip_prefix": "10.9.0.0", "ip_prefix_len": 16}}),
                (0, 65535),
                json!({}),
                (53, 53),
                "pass",
                "subnet"
            ),
            rule(
                "17",
                json!({"subnet_list": [{"ip_prefix": "10.7.0.0", "ip_prefix_len": 24}, {"ip_prefix": "10.8.0.0", "ip_prefix_len": 24}]}),
                (0, 65535),
                json!({}),
                (0, 65535),
                "pass",
                "subnet-list"
            ),
            rule(
                "6",
                json!({"security_group": "8000005"}),
                (0, 65535),
                json!({}),
                (22, 22),
                "pass",
                "sg"
            ),
            rule(
                "6",
                json!({"security_group": "-1"}),
                (0, 65535),
                json!({"virtual_network": "any"}),
                (23, 23),
                "deny",
                "any-deny"
            ),
            rule(
                "any",
                json!({}),
                (0, 65535),
                json!({}),
                (0, 65535),
                "pass",
                "catch-all-tcp8080"
            ),
        ]),
    );
    // Network to network, port 80 only.
    let mut f = Flow::tcp("10.1.0.3", "10.2.0.3", 80);
    f.src_vn = vec![red];
    f.dst_vn = vec![blue];
    assert_eq!(first(&a, &f), Some((true, "vn-to-vn".into())));
    f.dst_vn = vec![red];
    assert_eq!(first(&a, &f).unwrap().1, "catch-all-tcp8080");
    // Subnet source with a destination port range.
    let mut f = Flow::tcp("10.9.4.4", "10.2.0.3", 53);
    f.proto = 17;
    assert_eq!(first(&a, &f).unwrap().1, "subnet");
    f.src = "10.8.0.7".parse().unwrap();
    f.dport = 999;
    assert_eq!(first(&a, &f).unwrap().1, "subnet-list");
    f.src = "10.6.0.7".parse().unwrap();
    assert_eq!(first(&a, &f).unwrap().1, "catch-all-tcp8080");
    // Security-group id of the source.
    let mut f = Flow::tcp("10.3.0.3", "10.2.0.3", 22);
    f.src_sg = vec![8000005];
    assert_eq!(first(&a, &f).unwrap().1, "sg");
    f.src_sg = vec![8000006];
    assert_eq!(first(&a, &f).unwrap().1, "catch-all-tcp8080");
    // -1 is any group; "any" any network; deny is an action like pass.
    let f = Flow::tcp("10.3.0.3", "10.2.0.3", 23);
    assert_eq!(first(&a, &f), Some((false, "any-deny".into())));
}

#[test]
fn protocol_ports_ethertype_and_direction() {
    let mut n = Names::default();
    let a = acl(
        &mut n,
        json!([
            // ICMP rules ignore ports even when the rule has a range that would not
            // contain 0.
            rule("1", json!({}), (5, 6), json!({}), (5, 6), "pass", "icmp"),
            {
                "match_condition": {"protocol": "6", "src_address": {"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 24}},
                    "src_port": {"start_port": -1, "end_port": -1}, "dst_address": {"subnet": {"ip_prefix": "10.2.0.0", "ip_prefix_len": 24}},
                    "dst_port": {"start_port": 443, "end_port": 443}, "ethertype": "IPv4"},
                "action_list": {"simple_action": "pass"}, "rule_uuid": "bidir", "direction": "<>"
            },
            {
                "match_condition": {"protocol": "any", "src_address": {}, "src_port": {}, "dst_address": {}, "dst_port": {}, "ethertype": "IPv6"},
                "action_list": {"simple_action": "pass"}, "rule_uuid": "v6-only"
            },
            // No simple action (a mirror-only rule): not terminal.
            {"match_condition": {"protocol": "any", "src_address": {}, "dst_address": {}, "ethertype": "IPv4"}, "action_list": {}, "rule_uuid": "no-action"},
        ]),
    );
    let mut f = Flow::tcp("10.1.0.3", "10.2.0.3", 0);
    f.proto = 1;
    assert_eq!(first(&a, &f).unwrap().1, "icmp");
    let f = Flow::tcp("10.1.0.3", "10.2.0.3", 443);
    assert_eq!(first(&a, &f).unwrap().1, "bidir");
    // The reply of that connection matches the `<>` rule the other way round.
    let mut r = Flow::tcp("10.2.0.3", "10.1.0.3", 40000);
    r.sport = 443;
    assert_eq!(first(&a, &r).unwrap().1, "bidir");
    // A new connection from the other side to 443 does not.
    let r = Flow::tcp("10.2.0.3", "10.1.0.3", 443);
    assert_eq!(first(&a, &r), None);
    let v6 = Flow::tcp("fd00::1", "fd00::2", 1);
    assert_eq!(first(&a, &v6).unwrap().1, "v6-only");
    // Protocols without their own class (GRE) meet the rules for them and for any.
    let g = acl(
        &mut n,
        json!([
            rule(
                "6",
                json!({}),
                (0, 65535),
                json!({}),
                (0, 65535),
                "pass",
                "tcp"
            ),
            rule(
                "47",
                json!({}),
                (0, 65535),
                json!({}),
                (0, 65535),
                "deny",
                "gre"
            ),
            rule(
                "any",
                json!({}),
                (0, 65535),
                json!({}),
                (0, 65535),
                "pass",
                "any"
            ),
        ]),
    );
    let mut gre = Flow::tcp("10.1.0.3", "10.2.0.3", 0);
    gre.proto = 47;
    gre.sport = 0;
    assert_eq!(first(&g, &gre), Some((false, "gre".into())));
    gre.proto = 50;
    assert_eq!(first(&g, &gre).unwrap().1, "any");
    assert_eq!(
        first(&g, &Flow::tcp("10.1.0.3", "10.2.0.3", 1)).unwrap().1,
        "tcp"
    );
    assert_eq!(first(&a, &Flow::tcp("10.5.0.1", "10.6.0.1", 1)), None);
}

#[test]
fn first_match_wins_and_rules_without_uuid_get_one() {
    let mut n = Names::default();
    let e: AclEntriesType = serde_json::from_value(json!({"acl_rule": [
        {"match_condition": {"protocol": "any", "src_address": {}, "dst_address": {}, "ethertype": "IPv4"}, "action_list": {"simple_action": "deny"}},
        rule("any", json!({}), (0, 65535), json!({}), (0, 65535), "pass", "later")
    ]}))
    .unwrap();
    let a = Acl::compile("acl7", &e, &mut n);
    assert_eq!(
        first(&a, &Flow::tcp("10.0.0.1", "10.0.0.2", 1)),
        Some((false, "acl7:0".into()))
    );
}

fn rules(
    network_acl: Option<Arc<Acl>>,
    sg_in: Option<Vec<Arc<Acl>>>,
    sg_out: Option<Vec<Arc<Acl>>>,
) -> PortRules {
    PortRules {
        network_acl,
        sg_ingress: sg_in,
        sg_egress: sg_out,
        firewall: None,
    }
}

#[test]
fn network_policy_one_way_rule_passes_requests_not_replies() {
    let mut n = Names::default();
    let red = n.intern("d:p:red");
    let blue = n.intern("d:p:blue");
    let red_acl = acl(
        &mut n,
        json!([rule(
            "any",
            json!({"virtual_network": "d:p:red"}),
            (0, 65535),
            json!({"virtual_network": "d:p:blue"}),
            (0, 65535),
            "pass",
            "red>blue"
        )]),
    );
    let src = rules(Some(red_acl), None, None);
    let mut f = Flow::tcp("10.1.0.3", "10.2.0.3", 80);
    f.src_vn = vec![red];
    f.dst_vn = vec![blue];
    let o = evaluate(&f.h(), Some(&src), None, EvalOpts::default());
    assert_eq!(o.forward, Verdict::Allow);
    assert!(
        matches!(&o.reverse, Verdict::Deny { layer: Layer::NetworkPolicy, rule } if rule.starts_with("implicit-deny"))
    );
    // Blue to red: denied both ways, by the implicit deny of red's ACL.
    let mut b = Flow::tcp("10.2.0.3", "10.1.0.3", 80);
    b.src_vn = vec![blue];
    b.dst_vn = vec![red];
    let o = evaluate(&b.h(), None, Some(&src), EvalOpts::default());
    assert!(!o.forward.allowed() && !o.reverse.allowed());
    // Without an ACL everything passes; ICMP to the gateway passes whatever the ACL.
    let open = rules(None, None, None);
    assert_eq!(
        evaluate(&b.h(), None, Some(&open), EvalOpts::default()).forward,
        Verdict::Allow
    );
    let gw = EvalOpts {
        gateway_service: true,
        ..Default::default()
    };
    assert!(evaluate(&b.h(), None, Some(&src), gw).forward.allowed());
}

#[test]
fn security_groups_are_reflexive_and_name_the_denying_rule() {
    let mut n = Names::default();
    // Ingress: TCP 22 from group 8000001 only. Egress: anything.
    let ingress = acl(
        &mut n,
        json!([rule(
            "6",
            json!({"security_group": "8000001"}),
            (0, 65535),
            json!({}),
            (22, 22),
            "pass",
            "ssh-from-web"
        )]),
    );
    let egress = acl(
        &mut n,
        json!([rule(
            "any",
            json!({}),
            (0, 65535),
            json!({"subnet": {"ip_prefix": "0.0.0.0", "ip_prefix_len": 0}}),
            (0, 65535),
            "pass",
            "all-out"
        )]),
    );
    let db = rules(
        None,
        Some(vec![ingress.clone()]),
        Some(vec![egress.clone()]),
    );
    // From a remote web server (group 8000001) to the db port 22: allowed both ways.
    let mut f = Flow::tcp("10.1.0.9", "10.1.0.3", 22);
    f.src_sg = vec![8000001];
    let o = evaluate(&f.h(), None, Some(&db), EvalOpts::default());
    assert_eq!(
        (o.forward.clone(), o.reverse.clone()),
        (Verdict::Allow, Verdict::Allow)
    );
    // Port 80 is not open.
    f.dport = 80;
    let o = evaluate(&f.h(), None, Some(&db), EvalOpts::default());
    assert_eq!(
        o.forward,
        Verdict::Deny {
            layer: Layer::SecurityGroup,
            rule: Arc::from("implicit-deny")
        }
    );
    assert!(!o.reverse.allowed());
    // From another group: denied.
    f.dport = 22;
    f.src_sg = vec![8000002];
    assert!(
        !evaluate(&f.h(), None, Some(&db), EvalOpts::default())
            .forward
            .allowed()
    );
    // The db's own outgoing connection passes its egress group.
    let out = Flow::tcp("10.1.0.3", "10.1.0.9", 5432);
    assert!(
        evaluate(&out.h(), Some(&db), None, EvalOpts::default())
            .forward
            .allowed()
    );
    // A local flow checks the source's egress and the destination's ingress: from a
    // port in group 8000001 to the db, 22 passes and 80 does not.
    let web = rules(None, Some(vec![]), Some(vec![egress.clone()]));
    let mut l = Flow::tcp("10.1.0.9", "10.1.0.3", 22);
    l.src_sg = vec![8000001];
    assert!(
        evaluate(&l.h(), Some(&web), Some(&db), EvalOpts::default())
            .forward
            .allowed()
    );
    l.dport = 80;
    assert!(
        !evaluate(&l.h(), Some(&web), Some(&db), EvalOpts::default())
            .forward
            .allowed()
    );
}

#[test]
fn a_tcp_ack_flow_passes_when_the_reply_direction_would_have_opened_it() {
    let mut n = Names::default();
    let ingress = acl(
        &mut n,
        json!([rule(
            "6",
            json!({}),
            (0, 65535),
            json!({}),
            (22, 22),
            "pass",
            "ssh-in"
        )]),
    );
    let db = rules(None, Some(vec![ingress]), Some(vec![]));
    // The db's reply segment (22 -> 40000) after an agent restart: its egress list is
    // empty (denies), but the connection into 22 was allowed.
    let mut f = Flow::tcp("10.1.0.3", "10.1.0.9", 40000);
    f.sport = 22;
    assert!(
        !evaluate(&f.h(), Some(&db), None, EvalOpts::default())
            .forward
            .allowed()
    );
    let ack = EvalOpts {
        tcp_ack: true,
        ..Default::default()
    };
    assert!(evaluate(&f.h(), Some(&db), None, ack).forward.allowed());
}

fn fw_rule(
    uuid: &str,
    pass: bool,
    dir: FwDirection,
    svc: Service,
    e1: Endpoint,
    e2: Endpoint,
    match_tags: Vec<u32>,
) -> FirewallRule {
    FirewallRule {
        uuid: uuid.into(),
        fq_name: uuid.into(),
        pass,
        direction: dir,
        services: vec![svc],
        endpoint_1: e1,
        endpoint_2: e2,
        match_tag_types: match_tags,
    }
}

#[test]
fn firewall_rules_match_tags_groups_services_and_direction() {
    let mut n = Names::default();
    const WEB: u32 = 0x0001_0001;
    const FE: u32 = 0x0002_0001;
    const BE: u32 = 0x0002_0002;
    const SITE_A: u32 = 0x0004_0001;
    const SITE_B: u32 = 0x0004_0002;
    let https = Service {
        proto: (6, 6),
        src_ports: (0, 65535),
        dst_ports: (443, 443),
    };
    let policy = FirewallPolicy {
        uuid: "fp".into(),
        fq_name: "fp".into(),
        rules: vec![
            fw_rule(
                "fe>be-https-same-site",
                true,
                FwDirection::Forward,
                https,
                Endpoint::Tags(vec![FE]),
                Endpoint::Tags(vec![BE]),
                vec![4],
            ),
            fw_rule(
                "ag<",
                true,
                FwDirection::Backward,
                Service::ANY,
                Endpoint::AddressGroup {
                    prefixes: vec![parse_prefix("10.50.0.0/16").unwrap()],
                    labels: vec![],
                },
                Endpoint::Any,
                vec![],
            ),
            fw_rule(
                "deny-web",
                false,
                FwDirection::Both,
                Service::ANY,
                Endpoint::Tags(vec![WEB]),
                Endpoint::Any,
                vec![],
            ),
        ],
    };
    let fp = vec![Arc::new(FwPolicy::compile(&policy, &mut n))];
    let port = PortRules {
        firewall: Some(fp.clone()),
        ..Default::default()
    };
    let mut f = Flow::tcp("10.1.0.3", "10.2.0.3", 443);
    f.src_tags = vec![FE, SITE_A];
    f.dst_tags = vec![BE, SITE_A];
    assert!(
        evaluate(&f.h(), Some(&port), None, EvalOpts::default())
            .forward
            .allowed()
    );
    // Another site: the match-tag fails; nothing else matches: implicit deny.
    f.dst_tags = vec![BE, SITE_B];
    assert_eq!(
        evaluate(&f.h(), Some(&port), None, EvalOpts::default()).forward,
        Verdict::Deny {
            layer: Layer::Firewall,
            rule: Arc::from("implicit-deny")
        }
    );
    // `<`: from anything to the address group.
    let g = Flow::tcp("10.1.0.3", "10.50.1.1", 9);
    assert!(
        evaluate(&g.h(), Some(&port), None, EvalOpts::default())
            .forward
            .allowed()
    );
    let g = Flow::tcp("10.50.1.1", "10.1.0.3", 9);
    assert!(
        !evaluate(&g.h(), Some(&port), None, EvalOpts::default())
            .forward
            .allowed()
    );
    // `<>` deny on the web tag, from either end.
    let mut w = Flow::tcp("10.1.0.3", "10.2.0.3", 80);
    w.dst_tags = vec![WEB];
    assert_eq!(
        evaluate(&w.h(), Some(&port), None, EvalOpts::default()).forward,
        Verdict::Deny {
            layer: Layer::Firewall,
            rule: Arc::from("deny-web")
        }
    );
}
