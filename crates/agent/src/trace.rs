//! `GET /trace`: what the vrouter does with one packet from one of its ports, and why, from
//! live state: the flow decision as flow setup makes it ([`crate::flow_setup::decide_explained`]
//! on the current [`FlowContext`], the same evaluation a flow miss gets), the rule of each
//! policy layer that passed or denied it (named through the config slice: its network policy,
//! security group or firewall rule, by name and uuid), and the route the packet would take
//! in the VRF the flow forwards in: the prefix matched, the next hop as programmed, its
//! encapsulation and label or VNI.
//!
//! Query: `port` (the port's uuid, device or VMI name/fq_name), `dst`, `proto` (name or
//! number), optional `src` (default the port's first address), `sport` (default 40000),
//! `dport` (default 0). Nothing is installed and no counter moves.

use std::collections::HashMap;
use std::net::IpAddr;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cirrus_dataplane::flow::{FlowKey, FlowVerdict};
use cirrus_dataplane::wire::IpProtocol;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::config::{ConfigStore, parse_prefix, prefix_contains};
use crate::flow_context::FlowContext;
use crate::flow_setup::{Decided, Miss, Refusal, decide_explained};
use crate::introspect::Introspect;
use crate::node::Status;
use crate::node::status::{PortStatus, RouteStatus};
use crate::policy::Layer;
use crate::policy::acl::protocol_range;
use crate::policy::session::{GATEWAY_ICMP_DNS, IMPLICIT_ALLOW, IMPLICIT_DENY};
use crate::upcall_frame::FirstPacket;

// ---- names of rules, read off the config slice once per flow-context rebuild ----

/// Where a rule uuid comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleOwner {
    /// `network-policy`, `security-group` or `firewall-rule`.
    pub kind: String,
    pub name: String,
    pub uuid: String,
    /// The rule's position in its list (1-based; 0 for a firewall rule, its own object).
    pub index: usize,
    /// The rule in words.
    pub text: String,
}

/// Names of what flow setup's rule ids point at.
#[derive(Debug, Clone, Default)]
pub struct RuleNames {
    /// Rule uuid -> where it is configured.
    pub rules: HashMap<String, RuleOwner>,
    /// Object uuid -> (kind, fq_name) for networks, security groups, ACLs (their owner's
    /// kind and name) and ports.
    pub objects: HashMap<String, (String, String)>,
}

fn addr_words(a: &Value) -> String {
    let s = |k: &str| a.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    if let Some(n) = s("virtual_network") {
        return n.to_string();
    }
    if let Some(g) = s("security_group") {
        return format!("sg {g}");
    }
    if let Some(p) = s("network_policy") {
        return format!("policy {p}");
    }
    if let Some(sub) = a.get("subnet").filter(|v| !v.is_null()) {
        return format!(
            "{}/{}",
            sub.get("ip_prefix").and_then(Value::as_str).unwrap_or("?"),
            sub.get("ip_prefix_len")
                .and_then(Value::as_i64)
                .unwrap_or(0)
        );
    }
    "any".into()
}

fn list_words(v: Option<&Value>, each: impl Fn(&Value) -> String) -> String {
    let items: Vec<String> = v
        .and_then(Value::as_array)
        .map(|l| l.iter().map(each).collect())
        .unwrap_or_default();
    if items.is_empty() {
        "any".into()
    } else {
        items.join(",")
    }
}

fn ports_words(p: &Value) -> String {
    let n = |k: &str| p.get(k).and_then(Value::as_i64).unwrap_or(-1);
    match (n("start_port"), n("end_port")) {
        (-1, _) | (0, 65535) => "any".into(),
        (a, b) if a == b => a.to_string(),
        (a, b) => format!("{a}-{b}"),
    }
}

/// A policy or security-group rule (`PolicyRuleType`) in words.
fn rule_words(r: &Value) -> String {
    let action = r
        .pointer("/action_list/simple_action")
        .and_then(Value::as_str)
        .unwrap_or("(no simple action)");
    let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("any");
    format!(
        "{action} {} {} port {} {} {} port {}",
        s("protocol"),
        list_words(r.get("src_addresses"), addr_words),
        list_words(r.get("src_ports"), ports_words),
        s("direction"),
        list_words(r.get("dst_addresses"), addr_words),
        list_words(r.get("dst_ports"), ports_words),
    )
}

fn firewall_words(o: &Map<String, Value>) -> String {
    let action = o
        .get("action_list")
        .and_then(|a| a.get("simple_action"))
        .and_then(Value::as_str)
        .unwrap_or("?");
    let svc = o.get("service").map(|s| {
        format!(
            "{} port {}",
            s.get("protocol").and_then(Value::as_str).unwrap_or("any"),
            s.get("dst_ports").map(ports_words).unwrap_or("any".into())
        )
    });
    let ep = |k: &str| {
        o.get(k)
            .map(|e| {
                let tags = e.get("tags").and_then(Value::as_array);
                match (tags, e.get("virtual_network").and_then(Value::as_str)) {
                    (Some(t), _) if !t.is_empty() => t
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join("&"),
                    (_, Some(n)) => n.to_string(),
                    _ if e.get("any").and_then(Value::as_bool) == Some(true) => "any".into(),
                    _ => "?".into(),
                }
            })
            .unwrap_or_else(|| "any".into())
    };
    format!(
        "{action} {} {} {} {}",
        svc.unwrap_or_else(|| "service-group".into()),
        ep("endpoint_1"),
        o.get("direction").and_then(Value::as_str).unwrap_or("<>"),
        ep("endpoint_2")
    )
}

/// Reads the names of rules and of the objects that own them off the slice.
pub fn rule_names(store: &ConfigStore) -> RuleNames {
    let mut n = RuleNames::default();
    for (kind, field) in [
        ("network-policy", "network_policy_entries"),
        ("security-group", "security_group_entries"),
    ] {
        for o in store.of_kind(kind) {
            n.objects
                .insert(o.uuid.clone(), (kind.to_string(), o.fq_str()));
            let rules = o.body.get(field).and_then(|e| e.get("policy_rule"));
            for (i, r) in rules
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                if let Some(u) = r.get("rule_uuid").and_then(Value::as_str) {
                    n.rules.insert(
                        u.to_string(),
                        RuleOwner {
                            kind: kind.to_string(),
                            name: o.fq_str(),
                            uuid: o.uuid.clone(),
                            index: i + 1,
                            text: rule_words(r),
                        },
                    );
                }
            }
        }
    }
    for o in store.of_kind("firewall-rule") {
        n.rules.insert(
            o.uuid.clone(),
            RuleOwner {
                kind: "firewall-rule".into(),
                name: o.fq_str(),
                uuid: o.uuid.clone(),
                index: 0,
                text: firewall_words(&o.body),
            },
        );
    }
    for kind in ["virtual-network", "virtual-machine-interface"] {
        for o in store.of_kind(kind) {
            n.objects
                .insert(o.uuid.clone(), (kind.to_string(), o.fq_str()));
        }
    }
    // An ACL is named by what owns it (a network's ACL, a group's ingress or egress one).
    for o in store.of_kind("access-control-list") {
        let parent = o.fq_name[..o.fq_name.len().saturating_sub(1)].join(":");
        n.objects.insert(
            o.uuid.clone(),
            (
                o.parent_type.clone(),
                format!("{parent} (ACL {})", o.name()),
            ),
        );
    }
    n
}

// ---- the request ----

#[derive(Debug, Deserialize)]
pub struct TraceQuery {
    pub port: Option<String>,
    pub src: Option<String>,
    pub dst: Option<String>,
    pub proto: Option<String>,
    pub sport: Option<String>,
    pub dport: Option<String>,
}

/// Why a trace cannot be answered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TraceError {
    #[error("{field}: {why}")]
    Field { field: &'static str, why: String },
    #[error("port {0}: no such port on this vrouter (see /ports)")]
    NoPort(String),
    #[error("port {0}: not programmed yet ({1})")]
    NotProgrammed(String, String),
}

impl TraceError {
    fn status(&self) -> StatusCode {
        match self {
            TraceError::Field { .. } => StatusCode::BAD_REQUEST,
            TraceError::NoPort(_) => StatusCode::NOT_FOUND,
            TraceError::NotProgrammed(..) => StatusCode::CONFLICT,
        }
    }
}

fn field(field: &'static str, why: impl Into<String>) -> TraceError {
    TraceError::Field {
        field,
        why: why.into(),
    }
}

/// A protocol by name or number.
fn protocol(p: &str) -> Result<u8, TraceError> {
    match protocol_range(Some(p)) {
        Some((a, b)) if a == b => Ok(a),
        _ => Err(field(
            "proto",
            format!("{p:?} is not one protocol (tcp, udp, icmp, icmp6 or a number)"),
        )),
    }
}

fn port_number(name: &'static str, v: Option<&str>, default: u16) -> Result<u16, TraceError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => s
            .parse()
            .map_err(|_| field(name, format!("{s:?} is not a port number (0-65535)"))),
    }
}

fn address(name: &'static str, v: &str) -> Result<IpAddr, TraceError> {
    v.trim()
        .parse()
        .map_err(|_| field(name, format!("{v:?} is not an IP address")))
}

/// The port `q` names: uuid, device, or its VMI's name or fq_name.
fn find_port<'a>(st: &'a Status, names: &RuleNames, q: &str) -> Option<&'a PortStatus> {
    st.ports.iter().find(|p| {
        p.uuid == q
            || p.device == q
            || names
                .objects
                .get(&p.uuid)
                .is_some_and(|(_, fq)| fq == q || fq.rsplit(':').next() == Some(q))
    })
}

// ---- the route ----

/// The programmed route `dst` takes in `vrf`: the longest prefix that holds it.
fn route_of(st: &Status, vrf: u16, dst: IpAddr) -> Option<&RouteStatus> {
    let v = st.vrfs.iter().find(|v| v.id == vrf)?;
    v.routes
        .iter()
        .filter_map(|r| Some((parse_prefix(&r.prefix)?, r)))
        .filter(|(p, _)| prefix_contains(p, dst))
        .max_by_key(|(p, _)| p.len)
        .map(|(_, r)| r)
}

/// A next hop as [`crate::node::status::describe`] words it, in parts: encapsulation,
/// label or VNI, tunnel destination.
pub fn nexthop_parts(nh: &str) -> Value {
    let words: Vec<&str> = nh.split_whitespace().collect();
    match words.as_slice() {
        [encap @ ("MPLSoUDP" | "MPLSoGRE"), "label", l, "to", d, ..] => {
            json!({"encap": encap, "label": l.parse::<u32>().ok(), "tunnel_dst": d})
        }
        ["VXLAN", "vni", v, "to", d, ..] => {
            json!({"encap": "VXLAN", "vni": v.parse::<u32>().ok(), "tunnel_dst": d})
        }
        ["interface", ..] => json!({"encap": "none (local port)"}),
        ["ecmp", ..] => json!({"encap": "ecmp"}),
        ["discard"] => json!({"encap": "none (discard)"}),
        ["agent", ..] => json!({"encap": "none (to the agent)"}),
        ["vrf", ..] => json!({"encap": "none (another VRF)"}),
        _ => json!({}),
    }
}

// ---- the rules ----

fn layer_word(l: Layer) -> &'static str {
    match l {
        Layer::NetworkPolicy => "network-policy",
        Layer::SecurityGroup => "security-group",
        Layer::Firewall => "firewall",
    }
}

/// One rule id of flow setup, with the names behind it.
fn rule_json(names: &RuleNames, layer: Layer, verdict: &str, id: &str) -> Value {
    let mut o = json!({"layer": layer_word(layer), "verdict": verdict, "rule": id});
    if let Some(r) = names.rules.get(id) {
        o["rule_uuid"] = json!(id);
        o["kind"] = json!(r.kind);
        o["name"] = json!(r.name);
        o["uuid"] = json!(r.uuid);
        o["index"] = json!(r.index);
        o["text"] = json!(r.text);
        return o;
    }
    let (what, acl) = match id.split_once(':') {
        Some((w, a)) => (w, Some(a)),
        None => (id, None),
    };
    let why = match what {
        IMPLICIT_DENY => "no rule matched: what no rule passes is denied",
        IMPLICIT_ALLOW => "nothing configured for this layer",
        GATEWAY_ICMP_DNS => "ICMP or DNS to the network's gateway or DNS address always passes",
        _ => "a rule without a rule_uuid (ACL entry)",
    };
    o["text"] = json!(why);
    if let Some(acl) = acl {
        if let Some((kind, name)) = names.objects.get(acl) {
            o["kind"] = json!(kind);
            o["name"] = json!(name);
        }
        o["uuid"] = json!(acl);
    }
    o
}

/// A refusal; a security group's names the groups of the ports involved (`groups`), as no
/// rule of theirs matched.
fn refusal_json(names: &RuleNames, r: &Refusal, groups: &[String]) -> Value {
    match r {
        Refusal::Policy(layer, rule) => {
            let mut o = rule_json(names, *layer, "deny", rule);
            if *layer == Layer::SecurityGroup && !names.rules.contains_key(&**rule) {
                o["security_groups"] = json!(groups);
            }
            o
        }
        other => json!({"reason": other.reason()}),
    }
}

fn explain(ctx: &FlowContext, st: &Status, q: &TraceQuery) -> Result<Value, TraceError> {
    let names = &ctx.rule_names;
    let port_q = q
        .port
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| field("port", "give the port's uuid, device or name"))?;
    let port = find_port(st, names, port_q).ok_or_else(|| TraceError::NoPort(port_q.into()))?;
    let Some(pc) = ctx.ports.get(&port.ifindex) else {
        let why = port
            .waiting
            .clone()
            .unwrap_or_else(|| "no flow state for it".into());
        return Err(TraceError::NotProgrammed(port_q.into(), why));
    };
    let dst = address(
        "dst",
        q.dst.as_deref().ok_or_else(|| field("dst", "missing"))?,
    )?;
    let src = match q.src.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => address("src", s)?,
        None => port
            .addresses
            .iter()
            .filter_map(|a| a.parse::<IpAddr>().ok())
            .find(|a| a.is_ipv4() == dst.is_ipv4())
            .ok_or_else(|| field("src", "the port has no address of that family; give one"))?,
    };
    if src.is_ipv4() != dst.is_ipv4() {
        return Err(field("dst", "not of the source's address family"));
    }
    let proto = protocol(q.proto.as_deref().unwrap_or("tcp"))?;
    // TCP, UDP, SCTP.
    let has_ports = matches!(proto, 6 | 17 | 132);
    let (sport, dport) = if has_ports {
        (
            port_number("sport", q.sport.as_deref(), 40000)?,
            port_number("dport", q.dport.as_deref(), 0)?,
        )
    } else {
        (0, 0)
    };
    let key = FlowKey::new(pc.vrf, IpProtocol(proto), src, dst, sport, dport);
    let miss = Miss {
        index: 0,
        key,
        ingress: pc.ifindex,
        first: FirstPacket {
            smac: Some(pc.mac),
            label: None,
            vni: None,
            tcp: None,
        },
    };
    let d: Decided = decide_explained(ctx, &miss);
    let forward = d.decision.forward;
    let allowed = forward.verdict != FlowVerdict::Drop;
    let vrf_id = if allowed { forward.dst_vrf } else { pc.vrf };
    let instance = st
        .vrfs
        .iter()
        .find(|v| v.id == vrf_id)
        .map(|v| v.instance.clone());
    // After destination NAT the route is the fixed address's.
    let lookup_dst = match (d.nat, forward.nat_dst, &d.decision.reverse) {
        (Some(_), true, Some((rk, _))) => rk.src(),
        _ => dst,
    };
    let route = route_of(st, vrf_id, lookup_dst).map(|r| {
        let mut o = json!({"prefix": r.prefix, "nexthop": r.nexthop, "nexthop_id": r.nexthop_id});
        if let (Value::Object(m), Value::Object(p)) = (&mut o, nexthop_parts(&r.nexthop)) {
            m.extend(p);
        }
        o
    });
    let mut rules: Vec<Value> = d
        .allowed_by
        .iter()
        .map(|(l, r)| rule_json(names, *l, "allow", r))
        .collect();
    // The groups of the ports involved: the source's, and a local destination's.
    let groups: Vec<String> = st
        .ports
        .iter()
        .filter(|p| p.uuid == port.uuid || p.addresses.iter().any(|a| *a == dst.to_string()))
        .flat_map(|p| &p.security_groups)
        .map(|g| names.objects.get(g).map_or(g.clone(), |(_, n)| n.clone()))
        .collect();
    if let Some(r) = &d.refused {
        rules.push(refusal_json(names, r, &groups));
    }
    let reverse = d
        .reverse_refused
        .as_ref()
        .map(|r| refusal_json(names, r, &groups));
    let mut why = Vec::new();
    match &d.refused {
        None => {
            why.push(format!(
                "forwarded in VRF {vrf_id} ({})",
                instance.as_deref().unwrap_or("?")
            ));
            match &route {
                Some(r) => why.push(format!(
                    "route {} via {}",
                    r["prefix"].as_str().unwrap_or("?"),
                    r["nexthop"].as_str().unwrap_or("?")
                )),
                None => why.push("no programmed route holds the destination".into()),
            }
            for r in &rules {
                why.push(format!("passed by {}", rule_line(r)));
            }
        }
        Some(Refusal::Policy(..)) => {
            why.push(format!(
                "dropped: denied by {}",
                rule_line(&rules[rules.len() - 1])
            ));
        }
        Some(other) => why.push(format!("dropped: {}", other.reason())),
    }
    if let Some(r) = &reverse {
        why.push(format!("replies are dropped: denied by {}", rule_line(r)));
    }
    if let Some(n) = d.nat {
        why.push(format!("translated through floating IP {n}"));
    }
    Ok(json!({
        "port": {
            "uuid": port.uuid, "device": port.device, "ifindex": port.ifindex,
            "name": names.objects.get(&port.uuid).map(|(_, n)| n.clone()),
            "network": port.network, "vrf": pc.vrf, "instance": port.instance,
        },
        "packet": {"src": src.to_string(), "dst": dst.to_string(), "proto": proto,
                   "sport": sport, "dport": dport},
        "action": if allowed { "forward" } else { "drop" },
        "reason": d.refused.as_ref().map(Refusal::reason),
        "vrf": {"id": vrf_id, "instance": instance},
        "route": route,
        "nat": d.nat.map(|a| a.to_string()),
        "rules": rules,
        "reverse_refused": reverse,
        "explanation": why,
    }))
}

/// A rule as one phrase: layer, kind and name, rule number, uuid.
pub fn rule_line(r: &Value) -> String {
    let s = |k: &str| r.get(k).and_then(Value::as_str);
    let mut out = format!("{} rule", s("layer").unwrap_or("?"));
    if let (Some(kind), Some(name)) = (s("kind"), s("name")) {
        out.push_str(&format!(" of {kind} {name}"));
    }
    if let Some(i) = r.get("index").and_then(Value::as_u64).filter(|i| *i > 0) {
        out.push_str(&format!(" #{i}"));
    }
    out.push_str(&format!(" ({})", s("rule").unwrap_or("?")));
    if let Some(t) = s("text") {
        out.push_str(&format!(": {t}"));
    }
    out
}

/// The handler.
pub async fn trace(State(s): State<Introspect>, Query(q): Query<TraceQuery>) -> Response {
    let ctx = s.ctx.load();
    let st = s.status.load();
    match explain(&ctx, &st, &q) {
        Ok(v) => Json(v).into_response(),
        Err(e) => (e.status(), Json(json!({"error": e.to_string()}))).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nexthops_split_into_encapsulation_and_label() {
        assert_eq!(
            nexthop_parts("MPLSoUDP label 17 to 198.18.0.12"),
            json!({"encap": "MPLSoUDP", "label": 17, "tunnel_dst": "198.18.0.12"})
        );
        assert_eq!(
            nexthop_parts("VXLAN vni 5001 to 198.18.0.11"),
            json!({"encap": "VXLAN", "vni": 5001, "tunnel_dst": "198.18.0.11"})
        );
        assert_eq!(
            nexthop_parts("interface 3 (tapa)")["encap"],
            "none (local port)"
        );
    }

    #[test]
    fn rules_read_in_words() {
        let r = json!({"direction": ">", "protocol": "tcp",
            "src_addresses": [{"virtual_network": "d:p:left"}], "src_ports": [{"start_port": -1, "end_port": -1}],
            "dst_addresses": [{"subnet": {"ip_prefix": "10.0.0.0", "ip_prefix_len": 8}}],
            "dst_ports": [{"start_port": 80, "end_port": 80}],
            "action_list": {"simple_action": "pass"}});
        assert_eq!(
            rule_words(&r),
            "pass tcp d:p:left port any > 10.0.0.0/8 port 80"
        );
    }

    fn port(uuid: &str, device: &str, ifindex: u32, addr: &str, vrf: u16) -> PortStatus {
        PortStatus {
            fq_name: None,
            uuid: uuid.into(),
            device: device.into(),
            ifindex,
            label: 0,
            enabled: true,
            attached: true,
            device_error: None,
            waiting: None,
            network: None,
            instance: None,
            vrf: Some(vrf),
            mac: None,
            addresses: vec![addr.into()],
            floating_ips: Vec::new(),
            security_groups: Vec::new(),
            tags: Vec::new(),
            policy: true,
        }
    }

    fn query(port: &str, dst: &str, dport: &str) -> TraceQuery {
        TraceQuery {
            port: Some(port.into()),
            src: None,
            dst: Some(dst.into()),
            proto: Some("tcp".into()),
            sport: None,
            dport: Some(dport.into()),
        }
    }

    /// Flow setup's own scenario (`flow_setup_tests`): red may open TCP 80 in blue (rule
    /// `red-blue-80`), the rest is denied by `implicit-red`.
    #[test]
    fn the_decision_and_its_rule_are_flow_setups() {
        use crate::flow_setup::tests::{scenario, world};
        use crate::node::status::VrfStatus;
        let w = world(&mut scenario());
        let st = Status {
            ports: vec![port("a", "tapa", 2, "10.1.0.3", w.red)],
            vrfs: vec![VrfStatus {
                id: w.red,
                instance: "d:p:red:red".into(),
                routes: vec![RouteStatus {
                    prefix: "10.2.0.3/32".into(),
                    nexthop: "interface 3 (tapb)".into(),
                    nexthop_id: Some(7),
                }],
            }],
            ..Status::default()
        };
        let t = explain(&w.ctx, &st, &query("tapa", "10.2.0.3", "80")).unwrap();
        assert_eq!(t["action"], "forward", "{t:#}");
        assert_eq!(t["packet"]["src"], "10.1.0.3");
        assert_eq!(t["rules"][0]["rule"], "red-blue-80", "{t:#}");
        assert_eq!(t["rules"][0]["verdict"], "allow", "{t:#}");
        assert_eq!(t["route"]["prefix"], "10.2.0.3/32", "{t:#}");
        assert_eq!(t["route"]["encap"], "none (local port)", "{t:#}");
        let t = explain(&w.ctx, &st, &query("a", "10.2.0.3", "443")).unwrap();
        assert_eq!(
            (&t["action"], &t["reason"]),
            (&json!("drop"), &json!("network-policy"))
        );
        assert_eq!(t["rules"][0]["rule"], "implicit-red", "{t:#}");
        assert_eq!(t["rules"][0]["verdict"], "deny", "{t:#}");
        assert_eq!(
            explain(&w.ctx, &st, &query("nope", "10.2.0.3", "80")).unwrap_err(),
            TraceError::NoPort("nope".into())
        );
        assert!(matches!(
            explain(&w.ctx, &st, &query("a", "10.2.0", "80")),
            Err(TraceError::Field { field: "dst", .. })
        ));
    }

    #[test]
    fn bad_fields_are_named() {
        assert_eq!(
            protocol("tcpx").unwrap_err().to_string(),
            "proto: \"tcpx\" is not one protocol (tcp, udp, icmp, icmp6 or a number)"
        );
        assert!(matches!(
            port_number("dport", Some("70000"), 0),
            Err(TraceError::Field { field: "dport", .. })
        ));
        assert_eq!(protocol("17"), Ok(17));
    }
}
