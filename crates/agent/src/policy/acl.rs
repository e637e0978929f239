//! Access-control-lists compiled for matching: Contrail's `AclEntriesType` (network-policy
//! ACLs under networks, ingress and egress ACLs under security groups) turned into rules
//! that compare integers and prefixes. Matching follows Contrail's agent
//! (`filter/acl_entry.cc`): an address is a subnet or subnet list, a network name (`any`
//! matches all), a security-group id (`-1` any), or nothing (any); ports count only for
//! protocols other than ICMP/ICMPv6, and `-1..-1` is every port; a `<>` rule also matches
//! the reply direction. Rules are tried in order and the first one with an action decides.

use std::sync::Arc;

use cirrus_proto::convert::Prefix;

use super::header::{Header, NameId, Side, has_ports};
use super::names::Names;
use crate::config::schema::{AclEntriesType, AddressType, PortType};
use crate::config::{prefix_contains, subnet_prefix};

/// Rule id given to rules that carry no `rule_uuid`: `<acl uuid>:<index>`.
fn rule_id(acl: &str, i: usize, uuid: Option<&str>) -> Arc<str> {
    match uuid.filter(|u| !u.is_empty()) {
        Some(u) => Arc::from(u),
        None => Arc::from(format!("{acl}:{i}").as_str()),
    }
}

/// What an address of a rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrMatch {
    Any,
    Prefixes(Vec<Prefix>),
    Network(NameId),
    SecurityGroup(u32),
    /// Names something the agent cannot match on (an unresolved name): never matches.
    Nothing,
}

impl AddrMatch {
    fn compile(a: Option<&AddressType>, names: &mut Names) -> AddrMatch {
        let Some(a) = a else { return AddrMatch::Any };
        let mut prefixes: Vec<Prefix> = a
            .subnet
            .as_ref()
            .and_then(subnet_prefix)
            .into_iter()
            .collect();
        prefixes.extend(a.subnet_list.iter().flatten().filter_map(subnet_prefix));

        if !prefixes.is_empty() {
            return AddrMatch::Prefixes(prefixes);
        }
        if a.subnet.as_ref().is_some_and(|s| s.ip_prefix.is_some()) {
            // A subnet that does not read: match nothing rather than everything.
            return AddrMatch::Nothing;
        }
        if let Some(vn) = a.virtual_network.as_deref().filter(|v| !v.is_empty()) {
            return if vn == "any" {
                AddrMatch::Any
            } else {
                AddrMatch::Network(names.intern(vn))
            };
        }
        if let Some(sg) = a.security_group.as_deref().filter(|v| !v.is_empty()) {
            return match sg.trim().parse::<i64>() {
                Ok(-1) => AddrMatch::Any,
                Ok(id) if (0..=u32::MAX as i64).contains(&id) => {
                    AddrMatch::SecurityGroup(id as u32)
                }
                _ => AddrMatch::Nothing,
            };
        }
        if a.network_policy.as_deref().is_some_and(|v| !v.is_empty()) {
            return AddrMatch::Nothing;
        }
        AddrMatch::Any
    }

    #[inline]
    fn matches(&self, s: &Side<'_>) -> bool {
        match self {
            AddrMatch::Any => true,
            AddrMatch::Prefixes(p) => p.iter().any(|p| prefix_contains(p, s.addr)),
            AddrMatch::Network(id) => s.networks.contains(id),
            AddrMatch::SecurityGroup(id) => s.security_groups.contains(id),
            AddrMatch::Nothing => false,
        }
    }
}

/// An inclusive port range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ports(pub u16, pub u16);

impl Ports {
    pub const ANY: Ports = Ports(0, 65535);

    fn compile(p: Option<&PortType>) -> Ports {
        let Some(p) = p else { return Ports::ANY };
        let s = p.start_port.unwrap_or(0);
        let e = p.end_port.unwrap_or(65535);
        if s < 0 && e < 0 {
            return Ports::ANY;
        }
        Ports(
            s.clamp(0, 65535) as u16,
            if e < 0 { 65535 } else { e.min(65535) as u16 },
        )
    }

    #[inline]
    pub fn contains(&self, p: u16) -> bool {
        self.0 <= p && p <= self.1
    }
}

/// One compiled rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub proto: (u8, u8),
    /// `Some(true)` IPv6 only, `Some(false)` IPv4 only.
    pub v6: Option<bool>,
    pub src: AddrMatch,
    pub dst: AddrMatch,
    /// `None` when ports are not matched (ICMP rules).
    pub ports: Option<(Ports, Ports)>,
    pub bidirectional: bool,
    /// `Some(true)` pass, `Some(false)` deny, `None` no simple action (not terminal).
    pub pass: Option<bool>,
    pub uuid: Arc<str>,
}

impl Rule {
    #[inline]
    fn matches_one_way(&self, h: &Header<'_>) -> bool {
        if let Some((sp, dp)) = &self.ports {
            let (s, d) = if has_ports(h.proto) {
                (h.src.port, h.dst.port)
            } else {
                (0, 0)
            };
            if !sp.contains(s) || !dp.contains(d) {
                return false;
            }
        }
        self.src.matches(&h.src) && self.dst.matches(&h.dst)
    }

    /// Whether the rule matches this direction of a flow.
    #[inline]
    pub fn matches(&self, h: &Header<'_>) -> bool {
        if h.proto < self.proto.0 || h.proto > self.proto.1 {
            return false;
        }
        if self.v6.is_some_and(|v6| v6 != h.is_v6()) {
            return false;
        }
        self.matches_one_way(h) || (self.bidirectional && self.matches_one_way(&h.reversed()))
    }
}

/// A compiled ACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    pub uuid: String,
    pub rules: Vec<Rule>,
}

/// A rule's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    pub pass: bool,
    pub rule: Arc<str>,
}

/// `"any"`, a number, or a protocol name, as an inclusive range.
pub fn protocol_range(p: Option<&str>) -> Option<(u8, u8)> {
    let p = p.unwrap_or("any").trim().to_ascii_lowercase();
    match p.as_str() {
        "any" | "" => Some((0, 255)),
        "tcp" => Some((6, 6)),
        "udp" => Some((17, 17)),
        "icmp" => Some((1, 1)),
        "icmp6" | "ipv6-icmp" => Some((58, 58)),
        "sctp" => Some((132, 132)),
        n => n.parse::<u8>().ok().map(|v| (v, v)),
    }
}

impl Acl {
    /// Compiles `entries`; network names are interned in `names`. A rule whose protocol
    /// does not read is kept as one that never matches (so rule order is not disturbed).
    pub fn compile(uuid: &str, entries: &AclEntriesType, names: &mut Names) -> Acl {
        let rules = entries
            .acl_rule
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let m = r.match_condition.clone().unwrap_or_default();
                let proto = protocol_range(m.protocol.as_deref());
                let ports = match proto {
                    Some((1, 1)) | Some((58, 58)) => None,
                    _ => Some((
                        Ports::compile(m.src_port.as_ref()),
                        Ports::compile(m.dst_port.as_ref()),
                    )),
                };
                let action = r.action_list.as_ref();
                let pass = match action.and_then(|a| a.simple_action.as_deref()) {
                    Some("pass") => Some(true),
                    Some("deny") => Some(false),
                    _ => None,
                };
                Rule {
                    proto: proto.unwrap_or((1, 0)),
                    v6: match m.ethertype.as_deref() {
                        Some("IPv6") => Some(true),
                        Some("IPv4") => Some(false),
                        _ => None,
                    },
                    src: AddrMatch::compile(m.src_address.as_ref(), names),
                    dst: AddrMatch::compile(m.dst_address.as_ref(), names),
                    ports,
                    bidirectional: r.direction.as_deref() == Some("<>"),
                    pass,
                    uuid: rule_id(uuid, i, r.rule_uuid.as_deref()),
                }
            })
            .collect();
        Acl {
            uuid: uuid.to_string(),
            rules,
        }
    }

    /// The first rule with an action that matches `h`.
    #[inline]
    pub fn first_match(&self, h: &Header<'_>) -> Option<RuleMatch> {
        self.rules.iter().find_map(|r| {
            let pass = r.pass?;
            r.matches(h).then(|| RuleMatch {
                pass,
                rule: r.uuid.clone(),
            })
        })
    }
}

/// The first match across a list of ACLs, in order (`None`: nothing matched).
pub fn first_match_in(acls: &[Arc<Acl>], h: &Header<'_>) -> Option<RuleMatch> {
    acls.iter().find_map(|a| a.first_match(h))
}
