//! Contrail's ACL rule list (`AclRuleListST`): a rule is added only when no rule already in
//! the list matches a superset of its traffic (ports, protocol, addresses; for dynamic lists
//! also the same mirror analyzer). Also the protocol names of policy rules turned into the
//! numbers ACLs carry, and the expansion of `<>` entries into two `>` entries.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use crate::json::{list, str_of};

/// An ordered list of `AclRuleType` values with Contrail's subset rule.
#[derive(Debug, Default, Clone)]
pub struct AclRuleList {
    pub rules: Vec<Value>,
    pub dynamic: bool,
    /// What the subset rule compares of each rule, read once.
    keys: Vec<MatchKey>,
}

/// The parts of a rule's match the subset rule looks at.
#[derive(Debug, Clone)]
pub struct MatchKey {
    protocol: Protocol,
    src_port: (i64, i64),
    dst_port: (i64, i64),
    src: AddrKey,
    dst: AddrKey,
    analyzer: Option<String>,
}

/// An ACL protocol: `any`, a number, or (never written by the compiler) another string.
#[derive(Debug, Clone, PartialEq)]
enum Protocol {
    Any,
    Number(u16),
    Other(Option<String>),
}

impl Protocol {
    fn of(v: Option<&str>) -> Self {
        match v {
            Some("any") => Protocol::Any,
            Some(s) => s
                .parse()
                .map_or_else(|_| Protocol::Other(Some(s.to_string())), Protocol::Number),
            None => Protocol::Other(None),
        }
    }
}

#[derive(Debug, Clone)]
struct AddrKey {
    vn: Option<String>,
    subnets: Vec<IpNet>,
}

impl MatchKey {
    pub fn of(rule: &Value) -> Self {
        let m = &rule["match_condition"];
        let ports = |p: &Value| (port(p, "start_port", 0), port(p, "end_port", 65535));
        let addr = |a: &Value| AddrKey {
            vn: a
                .get("virtual_network")
                .and_then(Value::as_str)
                .map(str::to_string),
            subnets: subnets(a),
        };
        MatchKey {
            protocol: Protocol::of(m.get("protocol").and_then(Value::as_str)),
            src_port: ports(&m["src_port"]),
            dst_port: ports(&m["dst_port"]),
            src: addr(&m["src_address"]),
            dst: addr(&m["dst_address"]),
            analyzer: rule
                .pointer("/action_list/mirror_to/analyzer_name")
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }

    /// Whether every packet `self` matches is matched by `rhs` too.
    fn within(&self, rhs: &MatchKey) -> bool {
        port_is_subset(self.src_port, rhs.src_port)
            && port_is_subset(self.dst_port, rhs.dst_port)
            && (rhs.protocol == self.protocol || rhs.protocol == Protocol::Any)
            && address_is_subset(&self.src, &rhs.src)
            && address_is_subset(&self.dst, &rhs.dst)
    }
}

impl AclRuleList {
    pub fn new(dynamic: bool) -> Self {
        Self {
            rules: Vec::new(),
            dynamic,
            keys: Vec::new(),
        }
    }

    /// Appends `rule` unless an earlier rule covers it; says whether it was added.
    pub fn append(&mut self, rule: Value) -> bool {
        let key = MatchKey::of(&rule);
        self.append_keyed(rule, key)
    }

    /// [`AclRuleList::append`] with the rule's key already read.
    pub fn append_keyed(&mut self, rule: Value, key: MatchKey) -> bool {
        let covered = self
            .keys
            .iter()
            .any(|k| key.within(k) && (!self.dynamic || key.analyzer == k.analyzer));
        if covered {
            return false;
        }
        self.rules.push(rule);
        self.keys.push(key);
        true
    }

    /// The rules with their keys, in order.
    pub fn into_keyed(self) -> impl Iterator<Item = (Value, MatchKey)> {
        self.rules.into_iter().zip(self.keys)
    }
}

fn port(v: &Value, key: &str, default: i64) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or(default)
}

fn port_is_subset(lhs: (i64, i64), rhs: (i64, i64)) -> bool {
    lhs.0 >= rhs.0 && (rhs.1 == -1 || lhs.1 <= rhs.1)
}

fn subnets(addr: &Value) -> Vec<IpNet> {
    let one = addr.get("subnet").filter(|s| !s.is_null());
    list(addr, "subnet_list")
        .iter()
        .chain(one)
        .filter_map(|s| {
            let ip: IpAddr = str_of(s, "ip_prefix")?.parse().ok()?;
            let len = u8::try_from(s.get("ip_prefix_len")?.as_u64()?).ok()?;
            IpNet::new(ip, len).ok().map(|n| n.trunc())
        })
        .collect()
}

fn address_is_subset(lhs: &AddrKey, rhs: &AddrKey) -> bool {
    if lhs.subnets.is_empty() && rhs.subnets.is_empty() {
        return rhs.vn == lhs.vn || rhs.vn.as_deref() == Some("any");
    }
    lhs.subnets
        .iter()
        .any(|a| rhs.subnets.iter().any(|b| b.contains(a)))
}

/// Contrail's `protocol_policy_to_acl`: a policy rule's protocol (name or number) as the
/// ACL's protocol string; `None` for a name it does not know.
pub fn protocol_to_acl(
    proto: Option<&str>,
    ethertype: Option<&str>,
    none_is_any: bool,
) -> Option<String> {
    let Some(p) = proto else {
        return none_is_any.then(|| "any".to_string());
    };
    if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) {
        return Some(p.to_string());
    }
    let mut p = p.to_ascii_lowercase();
    if ethertype == Some("IPv6") && p == "icmp" {
        p = "ipv6-icmp".into();
    }
    let n = match p.as_str() {
        "any" => return Some("any".into()),
        "ah" => 51,
        "dccp" => 33,
        "egp" => 8,
        "esp" => 50,
        "gre" => 47,
        "hopopt" | "ip" => 0,
        "icmp" => 1,
        "igmp" => 2,
        "ipip" => 4,
        "ipv6-encap" => 41,
        "ipv6-frag" => 44,
        "ipv6-icmp" | "icmp6" => 58,
        "ipv6-nonxt" => 59,
        "ipv6-opts" => 60,
        "ipv6-route" => 43,
        "ospf" => 89,
        "pgm" => 113,
        "rsvp" => 46,
        "sctp" => 132,
        "tcp" => 6,
        "udp" => 17,
        "udplite" => 136,
        "vrrp" => 112,
        _ => return None,
    };
    Some(n.to_string())
}

/// Each `<>` entry as two `>` entries, the second with addresses and ports swapped (left
/// out when both sides are the same), in place, as the vrouter agent reads them: the
/// compiler writes only one-way entries, so first-match evaluation needs no special case.
pub fn expand_bidirectional(rules: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::with_capacity(rules.len());
    for mut r in rules {
        if r.get("direction").and_then(Value::as_str) != Some("<>") {
            out.push(r);
            continue;
        }
        r["direction"] = Value::from(">");
        let m = &r["match_condition"];
        let same = m["src_address"] == m["dst_address"] && m["src_port"] == m["dst_port"];
        let reverse = (!same).then(|| {
            let mut rev = r.clone();
            let m = rev["match_condition"]
                .as_object_mut()
                .expect("match is an object");
            let (sa, da) = (m["src_address"].take(), m["dst_address"].take());
            m["src_address"] = da;
            m["dst_address"] = sa;
            let (sp, dp) = (m["src_port"].take(), m["dst_port"].take());
            m["src_port"] = dp;
            m["dst_port"] = sp;
            rev
        });
        out.push(r);
        out.extend(reverse);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::*;
    use serde_json::json;

    fn rule(proto: &str, src: Value, sp: Value, dst: Value, dp: Value) -> Value {
        acl_rule(
            match_condition(proto, src, sp, dst, dp, Value::Null),
            simple_action("pass"),
            None,
            Some(">"),
        )
    }

    #[test]
    fn narrower_rules_after_wider_ones_are_dropped() {
        let mut l = AclRuleList::new(false);
        assert!(l.append(rule(
            "any",
            vn_address("a"),
            any_port(),
            vn_address("any"),
            any_port()
        )));
        let port80 = json!({"start_port": 80, "end_port": 80});
        // Same networks, one protocol and port: covered.
        assert!(!l.append(rule(
            "6",
            vn_address("a"),
            any_port(),
            vn_address("b"),
            port80.clone()
        )));
        // Another source network: not covered.
        assert!(l.append(rule(
            "6",
            vn_address("b"),
            any_port(),
            vn_address("a"),
            port80
        )));
        assert_eq!(l.rules.len(), 2);
    }

    #[test]
    fn subnets_are_compared_by_containment() {
        let sub = |p: &str, n: u8| json!({"subnet": {"ip_prefix": p, "ip_prefix_len": n}});
        let key = |a: Value| rule("any", a, any_port(), vn_address("x"), any_port());
        let mut l = AclRuleList::new(false);
        assert!(l.append(key(sub("10.1.0.0", 16))));
        assert!(
            !l.append(key(sub("10.1.2.0", 24))),
            "inside an earlier subnet"
        );
        assert!(
            l.append(key(sub("10.0.0.0", 8))),
            "wider than the earlier one"
        );
        assert!(
            l.append(key(vn_address("any"))),
            "a network is not inside a subnet"
        );
    }

    #[test]
    fn protocols_become_numbers() {
        assert_eq!(
            protocol_to_acl(Some("TCP"), None, true).as_deref(),
            Some("6")
        );
        assert_eq!(
            protocol_to_acl(Some("icmp"), Some("IPv6"), true).as_deref(),
            Some("58")
        );
        assert_eq!(
            protocol_to_acl(Some("17"), None, true).as_deref(),
            Some("17")
        );
        assert_eq!(protocol_to_acl(None, None, true).as_deref(), Some("any"));
        assert_eq!(protocol_to_acl(None, None, false), None);
        assert_eq!(protocol_to_acl(Some("bogus"), None, true), None);
    }

    #[test]
    fn bidirectional_entries_expand_in_place() {
        let p80 = json!({"start_port": 80, "end_port": 80});
        let mut r = rule(
            "6",
            vn_address("a"),
            any_port(),
            vn_address("b"),
            p80.clone(),
        );
        r["direction"] = json!("<>");
        let same = {
            let mut s = rule(
                "any",
                vn_address("a"),
                any_port(),
                vn_address("a"),
                any_port(),
            );
            s["direction"] = json!("<>");
            s
        };
        let out = expand_bidirectional(vec![r, same]);
        assert_eq!(out.len(), 3, "{out:#?}");
        assert_eq!(
            out[1]["match_condition"]["src_address"]["virtual_network"],
            "b"
        );
        assert_eq!(out[1]["match_condition"]["src_port"], p80);
        assert!(out.iter().all(|r| r["direction"] == ">"));
    }
}
