//! Flow decisions from a hand-built slice in Contrail's JSON shape: same network, across
//! networks by policy, security groups, floating IPs both ways, local flows across VRFs,
//! and spoofed sources.

use std::net::{IpAddr, Ipv4Addr};

use cirrus_dataplane::flow::{FlowKey, FlowSpec, FlowVerdict, Upcall};
use cirrus_dataplane::wire::{IpProtocol, MacAddr, TcpFlags};
use serde_json::json;

use super::*;
use crate::config::ConfigStore;
use crate::config::testing::*;
use crate::flow_context::FlowContext;
use crate::policy::Layer;
use crate::program::VROUTER_MAC;
use crate::testing::frames;
use crate::testing::scenario::{Scenario, identity};

pub(crate) const MAC_A: MacAddr = MacAddr([2, 0, 0, 0, 0, 3]);
pub(crate) const MAC_B: MacAddr = MacAddr([2, 0, 0, 0, 0, 4]);
pub(crate) const A: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 3);
pub(crate) const B: Ipv4Addr = Ipv4Addr::new(10, 2, 0, 3);
pub(crate) const REMOTE_RED: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 9);
pub(crate) const FIP: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 5);
pub(crate) const OUTSIDE: Ipv4Addr = Ipv4Addr::new(172, 16, 0, 9);
pub(crate) const C2: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 12);

/// Red (10.1/24) may open TCP 80 in blue (10.2/24), `<>` (red's ACL also lets red talk to
/// itself, then denies); public (172.16/24) with a floating IP of port a. Port a (red) is
/// in group web: in from anywhere on 22 and from web itself, out anything. Port c (red)
/// has no group.
pub(crate) fn scenario() -> Scenario {
    let mut s = ConfigStore::new();
    add_network(&mut s, "vn-red", "red", 5, "10.1.0.0/24");
    add_network(&mut s, "vn-blue", "blue", 6, "10.2.0.0/24");
    add_network(&mut s, "vn-pub", "public", 9, "172.16.0.0/24");
    let red = json!({"virtual_network": "d:p:red"});
    let blue = json!({"virtual_network": "d:p:blue"});
    let any = json!({"virtual_network": "any"});
    let mut red_blue = acl_rule(
        "6",
        red.clone(),
        blue.clone(),
        (80, 80),
        "pass",
        "red-blue-80",
    );
    red_blue["direction"] = json!("<>");
    set_network_acl(
        &mut s,
        "vn-red",
        json!([
            acl_rule("any", red.clone(), red.clone(), (-1, -1), "pass", "red-red"),
            red_blue,
            acl_rule(
                "any",
                any.clone(),
                any.clone(),
                (-1, -1),
                "deny",
                "implicit-red"
            ),
        ]),
    );
    add_security_group(
        &mut s,
        "sg-web",
        8000001,
        json!([
            acl_rule(
                "6",
                json!({"subnet": {"ip_prefix": "0.0.0.0", "ip_prefix_len": 0}}),
                json!({}),
                (22, 22),
                "pass",
                "ssh-in"
            ),
            acl_rule(
                "any",
                json!({"security_group": "8000001"}),
                json!({}),
                (-1, -1),
                "pass",
                "web-in"
            ),
        ]),
        json!([acl_rule(
            "any",
            json!({}),
            json!({"subnet": {"ip_prefix": "0.0.0.0", "ip_prefix_len": 0}}),
            (-1, -1),
            "pass",
            "all-out"
        )]),
    );
    add_port(
        &mut s,
        "a",
        "vn-red",
        "02:00:00:00:00:03",
        "10.1.0.3",
        &["sg-web"],
    );
    add_port(&mut s, "b", "vn-blue", "02:00:00:00:00:04", "10.2.0.3", &[]);
    add_port(&mut s, "c", "vn-red", "02:00:00:00:00:05", "10.1.0.4", &[]);
    add_floating_ip(&mut s, "fip-a", "vn-pub", "a", "172.16.0.5");
    let mut sc = Scenario::new(identity(1), s);
    sc.register("a", 2, 17);
    sc.register("b", 3, 18);
    sc.register("c", 4, 19);
    sc.add_route(
        "d:p:red:red",
        "10.1.0.9/32",
        C2,
        30,
        5,
        "d:p:red",
        &[8000001],
    );
    sc.add_route(
        "d:p:red:red",
        "10.1.0.10/32",
        C2,
        31,
        5,
        "d:p:red",
        &[8000002],
    );
    // Red and blue import each other's routes: each has the other's port.
    sc.add_route(
        "d:p:blue:blue",
        "10.1.0.3/32",
        identity(1).underlay,
        17,
        5,
        "d:p:red",
        &[8000001],
    );
    sc.add_route(
        "d:p:red:red",
        "10.2.0.3/32",
        identity(1).underlay,
        18,
        6,
        "d:p:blue",
        &[],
    );
    sc.add_route(
        "d:p:public:public",
        "172.16.0.9/32",
        C2,
        40,
        9,
        "d:p:public",
        &[],
    );
    sc
}

pub(crate) struct World {
    pub ctx: FlowContext,
    pub red: u16,
    pub blue: u16,
    pub public: u16,
}

pub(crate) fn world(sc: &mut Scenario) -> World {
    let c = sc.compile();
    let vrf = |i: &str| {
        c.desired
            .vrfs
            .iter()
            .find(|(_, n)| *n == i)
            .map(|(v, _)| *v)
            .unwrap_or(0)
    };
    World {
        red: vrf("d:p:red:red"),
        blue: vrf("d:p:blue:blue"),
        public: vrf("d:p:public:public"),
        ctx: c.context,
    }
}

pub(crate) fn tcp_up(
    ingress: u32,
    vrf: u16,
    smac: MacAddr,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    dport: u16,
    flags: u16,
) -> Upcall {
    let ip = frames::tcp_ip(src, 40000, dst, dport, flags, b"");
    Upcall {
        index: 7,
        key: FlowKey::new(vrf, IpProtocol::TCP, src.into(), dst.into(), 40000, dport),
        ingress,
        frame: frames::ether(smac, VROUTER_MAC, &ip),
    }
}

pub(crate) fn fabric_up(vrf: u16, label: u32, src: Ipv4Addr, dst: Ipv4Addr, dport: u16) -> Upcall {
    let ip = frames::tcp_ip(src, 40000, dst, dport, TcpFlags::SYN, b"");
    Upcall {
        index: 9,
        key: FlowKey::new(vrf, IpProtocol::TCP, src.into(), dst.into(), 40000, dport),
        ingress: 1,
        frame: frames::mpls_udp(C2, identity(1).underlay, label, &ip),
    }
}

fn rev(d: &Decided) -> (FlowKey, FlowSpec) {
    d.decision.reverse.unwrap()
}

#[test]
fn same_network_to_a_remote_port_is_allowed_both_ways() {
    let w = world(&mut scenario());
    let d = decide(
        &w.ctx,
        &tcp_up(2, w.red, MAC_A, A, REMOTE_RED, 5432, TcpFlags::SYN),
    );
    assert_eq!(d.refused, None);
    assert_eq!(d.decision.forward, FlowSpec::forward(w.red));
    let (rk, rs) = rev(&d);
    assert_eq!(
        rk,
        FlowKey::new(
            w.red,
            IpProtocol::TCP,
            REMOTE_RED.into(),
            A.into(),
            5432,
            40000
        )
    );
    assert_eq!(rs, FlowSpec::forward(w.red));
}

#[test]
fn a_security_group_opens_one_port_and_not_another() {
    let w = world(&mut scenario());
    // From the fabric, a remote red port (group 8000002) to a: 22 is open to all...
    let mut up = fabric_up(w.red, 17, Ipv4Addr::new(10, 1, 0, 10), A, 22);
    assert_eq!(decide(&w.ctx, &up).refused, None);
    // ...80 is not.
    up = fabric_up(w.red, 17, Ipv4Addr::new(10, 1, 0, 10), A, 80);
    let d = decide(&w.ctx, &up);
    assert_eq!(
        d.refused,
        Some(Refusal::Policy(
            Layer::SecurityGroup,
            "implicit-deny".into()
        ))
    );
    assert_eq!(d.decision.forward.verdict, FlowVerdict::Drop);
    assert_eq!(rev(&d).1.verdict, FlowVerdict::Drop);
    // From a member of web (the route carries its group id) 80 is open.
    let up = fabric_up(w.red, 17, REMOTE_RED, A, 80);
    assert_eq!(decide(&w.ctx, &up).refused, None);
}

#[test]
fn across_networks_only_what_the_policy_allows() {
    let w = world(&mut scenario());
    // a (red) to b (blue), both local: 80 passes, with the reply keyed in blue's VRF.
    let d = decide(&w.ctx, &tcp_up(2, w.red, MAC_A, A, B, 80, TcpFlags::SYN));
    assert_eq!(d.refused, None);
    let (rk, rs) = rev(&d);
    assert_eq!(rk.vrf(), w.blue);
    assert_eq!((rk.src(), rk.dst()), (IpAddr::from(B), IpAddr::from(A)));
    assert_eq!(rs, FlowSpec::forward(w.blue));
    // 443 is denied by red's ACL, naming its rule.
    let d = decide(&w.ctx, &tcp_up(2, w.red, MAC_A, A, B, 443, TcpFlags::SYN));
    assert_eq!(
        d.refused,
        Some(Refusal::Policy(Layer::NetworkPolicy, "implicit-red".into()))
    );
    // b may not open a connection into red, even on 80.
    let d = decide(&w.ctx, &tcp_up(3, w.blue, MAC_B, B, A, 80, TcpFlags::SYN));
    assert_eq!(
        d.refused,
        Some(Refusal::Policy(Layer::NetworkPolicy, "implicit-red".into()))
    );
    // Inside red, between two local ports: c's flow to a meets a's ingress group (22
    // open to all, 80 only to web members).
    let c = Ipv4Addr::new(10, 1, 0, 4);
    let mac_c = MacAddr([2, 0, 0, 0, 0, 5]);
    assert_eq!(
        decide(&w.ctx, &tcp_up(4, w.red, mac_c, c, A, 22, TcpFlags::SYN)).refused,
        None
    );
    let d = decide(&w.ctx, &tcp_up(4, w.red, mac_c, c, A, 80, TcpFlags::SYN));
    assert_eq!(
        d.refused,
        Some(Refusal::Policy(
            Layer::SecurityGroup,
            "implicit-deny".into()
        ))
    );
}

#[test]
fn floating_ip_translates_both_ways() {
    let w = world(&mut scenario());
    // From the public network (fabric) to the floating IP: destination NAT into a.
    let d = decide(&w.ctx, &fabric_up(w.red, 17, OUTSIDE, FIP, 22));
    assert_eq!(d.refused, None);
    assert_eq!(d.nat, Some(FIP.into()));
    assert_eq!(
        d.decision.forward,
        FlowSpec {
            nat_dst: true,
            ..FlowSpec::forward(w.red)
        }
    );
    let (rk, rs) = rev(&d);
    assert_eq!(
        rk,
        FlowKey::new(w.red, IpProtocol::TCP, A.into(), OUTSIDE.into(), 22, 40000)
    );
    assert_eq!(
        rs,
        FlowSpec {
            nat_src: true,
            ..FlowSpec::forward(w.public)
        }
    );
    // From a to the outside (routed only in the public network): source NAT.
    let d = decide(
        &w.ctx,
        &tcp_up(2, w.red, MAC_A, A, OUTSIDE, 443, TcpFlags::SYN),
    );
    assert_eq!(d.refused, None);
    assert_eq!(
        d.decision.forward,
        FlowSpec {
            nat_src: true,
            ..FlowSpec::forward(w.public)
        }
    );
    let (rk, rs) = rev(&d);
    assert_eq!(
        rk,
        FlowKey::new(
            w.red,
            IpProtocol::TCP,
            OUTSIDE.into(),
            FIP.into(),
            443,
            40000
        )
    );
    assert_eq!(
        rs,
        FlowSpec {
            nat_dst: true,
            ..FlowSpec::forward(w.red)
        }
    );
    // The group still applies to translated flows: 80 from outside is closed.
    let d = decide(&w.ctx, &fabric_up(w.red, 17, OUTSIDE, FIP, 80));
    assert!(matches!(
        d.refused,
        Some(Refusal::Policy(Layer::SecurityGroup, _))
    ));
}

#[test]
fn spoofed_sources_and_unknown_destinations_are_refused_and_named() {
    let w = world(&mut scenario());
    let d = decide(
        &w.ctx,
        &tcp_up(2, w.red, MAC_B, A, REMOTE_RED, 5432, TcpFlags::SYN),
    );
    assert_eq!(d.refused, Some(Refusal::SourceMac));
    assert_eq!(d.decision.forward.verdict, FlowVerdict::Drop);
    assert!(d.decision.reverse.is_none());
    let d = decide(
        &w.ctx,
        &tcp_up(
            2,
            w.red,
            MAC_A,
            A,
            Ipv4Addr::new(192, 0, 2, 1),
            1,
            TcpFlags::SYN,
        ),
    );
    assert_eq!(d.refused, Some(Refusal::NoRoute));
    let d = decide(
        &w.ctx,
        &fabric_up(w.red, 99, REMOTE_RED, Ipv4Addr::new(10, 1, 0, 77), 1),
    );
    assert_eq!(d.refused, Some(Refusal::UnknownPort));
    let mut up = tcp_up(2, w.red, MAC_A, A, REMOTE_RED, 1, TcpFlags::SYN);
    up.frame.truncate(20);
    assert_eq!(decide(&w.ctx, &up).refused, Some(Refusal::Malformed));
}

#[test]
fn ping_of_the_gateway_passes_whatever_the_policy() {
    let mut sc = scenario();
    // b's network denies everything.
    set_network_acl(
        &mut sc.store,
        "vn-blue",
        json!([acl_rule(
            "any",
            json!({}),
            json!({}),
            (-1, -1),
            "deny",
            "deny-all"
        )]),
    );
    let w = world(&mut sc);
    let gw = Ipv4Addr::new(10, 2, 0, 1);
    let ip = frames::echo_ip(B, gw, 1, 1);
    let up = Upcall {
        index: 1,
        key: FlowKey::new(w.blue, IpProtocol::ICMP, B.into(), gw.into(), 1, 1),
        ingress: 3,
        frame: frames::ether(MAC_B, VROUTER_MAC, &ip),
    };
    // The gateway is routed to the agent (Receive), so the lookup finds no route in the
    // flow context; the gateway exemption comes first.
    let d = decide(&w.ctx, &up);
    assert_eq!(d.refused, None, "{d:?}");
}
