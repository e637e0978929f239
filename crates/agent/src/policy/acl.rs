//! Access-control-lists compiled for matching: Contrail's `AclEntriesType` (network-policy
//! ACLs under networks, ingress and egress ACLs under security groups) turned into rules
//! that compare integers and prefixes. Matching follows Contrail's agent
//! (`filter/acl_entry.cc`): an address is a subnet or subnet list, a network name (`any`
//! matches all), a security-group id (`-1` any), or nothing (any); ports count only for
//! protocols other than ICMP/ICMPv6, and `-1..-1` is every port; a `<>` rule also matches
//! the reply direction. Rules are tried in order and the first one with an action decides.

use std::net::IpAddr;
use std::sync::Arc;

use cirrus_proto::convert::Prefix;

use super::header::{Header, NameId, Side, has_ports};
use super::names::Names;
use crate::config::schema::{AclEntriesType, AddressType, PortType};
use crate::config::subnet_prefix;

/// Rule id given to rules that carry no `rule_uuid`: `<acl uuid>:<index>`.
fn rule_id(acl: &str, i: usize, uuid: Option<&str>) -> Arc<str> {
    match uuid.filter(|u| !u.is_empty()) {
        Some(u) => Arc::from(u),
        None => Arc::from(format!("{acl}:{i}").as_str()),
    }
}

/// A prefix compiled for matching: family, address bits and mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    v6: bool,
    bits: u128,
    mask: u128,
}

impl Net {
    pub fn new(p: &Prefix) -> Net {
        let (v6, bits, width) = match p.addr {
            IpAddr::V4(a) => (false, u128::from(a.to_bits()), 32u32),
            IpAddr::V6(a) => (true, a.to_bits(), 128),
        };
        let host = width - u32::from(p.len);
        let mask = if host >= 128 {
            0
        } else {
            (u128::MAX >> (128 - width)) & !((1u128 << host) - 1)
        };
        Net {
            v6,
            bits: bits & mask,
            mask,
        }
    }

    #[inline]
    pub fn contains(&self, a: IpAddr) -> bool {
        let (v6, bits) = match a {
            IpAddr::V4(a) => (false, u128::from(a.to_bits())),
            IpAddr::V6(a) => (true, a.to_bits()),
        };
        self.v6 == v6 && bits & self.mask == self.bits
    }
}

/// What an address of a rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrMatch {
    Any,
    Prefixes(Vec<Net>),
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
            return AddrMatch::Prefixes(prefixes.iter().map(Net::new).collect());
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
            AddrMatch::Prefixes(p) => p.iter().any(|p| p.contains(s.addr)),
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
    /// One orientation: `s`/`d` are the source and destination sides, `sp`/`dp` their
    /// ports as matched (0 for protocols without ports).
    #[inline(always)]
    fn one_way(&self, s: &Side<'_>, d: &Side<'_>, sp: u16, dp: u16) -> bool {
        if let Some((rs, rd)) = &self.ports
            && (!rs.contains(sp) || !rd.contains(dp))
        {
            return false;
        }
        self.src.matches(s) && self.dst.matches(d)
    }

    /// Whether the rule matches this direction of a flow.
    #[inline]
    pub fn matches(&self, h: &Header<'_>) -> bool {
        let (sp, dp) = if has_ports(h.proto) {
            (h.src.port, h.dst.port)
        } else {
            (0, 0)
        };
        self.matches_ports(h, sp, dp)
    }

    #[inline(always)]
    fn matches_ports(&self, h: &Header<'_>, sp: u16, dp: u16) -> bool {
        if h.proto < self.proto.0 || h.proto > self.proto.1 {
            return false;
        }
        if self.v6.is_some_and(|v6| v6 != h.is_v6()) {
            return false;
        }
        self.one_way(&h.src, &h.dst, sp, dp)
            || (self.bidirectional && self.one_way(&h.dst, &h.src, dp, sp))
    }
}

/// A compiled ACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    pub uuid: String,
    pub rules: Vec<Rule>,
    /// Indices of the rules with an action that can match each protocol class (TCP, UDP,
    /// ICMP, ICMPv6, other), in order: a flow only walks the rules of its protocol.
    by_proto: [Vec<u32>; 5],
}

/// The protocol class of `proto` (an index into `Acl::by_proto`).
#[inline]
fn class(proto: u8) -> usize {
    match proto {
        6 => 0,
        17 => 1,
        1 => 2,
        58 => 3,
        _ => 4,
    }
}

/// Whether a rule for protocols `lo..=hi` can match a flow of class `c`.
fn in_class(lo: u8, hi: u8, c: usize) -> bool {
    match c {
        0 => lo <= 6 && 6 <= hi,
        1 => lo <= 17 && 17 <= hi,
        2 => lo <= 1 && 1 <= hi,
        3 => lo <= 58 && 58 <= hi,
        // Every other protocol: unless the rule names exactly one of the four above.
        _ => !(lo == hi && matches!(lo, 1 | 6 | 17 | 58)) && lo <= hi,
    }
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
            .collect::<Vec<Rule>>();
        let by_proto = std::array::from_fn(|c| {
            rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.pass.is_some() && in_class(r.proto.0, r.proto.1, c))
                .map(|(i, _)| i as u32)
                .collect()
        });
        Acl {
            uuid: uuid.to_string(),
            rules,
            by_proto,
        }
    }

    /// The first rule with an action that matches `h`.
    #[inline]
    pub fn first_match(&self, h: &Header<'_>) -> Option<RuleMatch> {
        let (sp, dp) = if has_ports(h.proto) {
            (h.src.port, h.dst.port)
        } else {
            (0, 0)
        };
        // Indices come from `rules` itself (see `compile`).
        let i = self.by_proto[class(h.proto)]
            .iter()
            .map(|&i| &self.rules[i as usize])
            .position(|r| r.matches_ports(h, sp, dp))?;
        let r = &self.rules[self.by_proto[class(h.proto)][i] as usize];
        Some(RuleMatch {
            // Only rules with an action are indexed.
            pass: r.pass.unwrap_or(false),
            rule: r.uuid.clone(),
        })
    }
}

/// The first match across a list of ACLs, in order (`None`: nothing matched).
pub fn first_match_in(acls: &[Arc<Acl>], h: &Header<'_>) -> Option<RuleMatch> {
    acls.iter().find_map(|a| a.first_match(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_prefix;

    #[test]
    fn compiled_prefixes_match_like_prefixes() {
        let n = |s: &str| Net::new(&parse_prefix(s).unwrap());
        let a = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(n("0.0.0.0/0").contains(a("203.0.113.9")));
        assert!(!n("0.0.0.0/0").contains(a("::1")));
        assert!(n("10.1.0.0/16").contains(a("10.1.255.1")));
        assert!(!n("10.1.0.0/16").contains(a("10.2.0.1")));
        assert!(n("10.1.0.3/32").contains(a("10.1.0.3")));
        assert!(!n("10.1.0.3/32").contains(a("10.1.0.4")));
        assert!(n("fd00:1::/64").contains(a("fd00:1::77")));
        assert!(!n("fd00:1::/64").contains(a("fd00:2::77")));
        assert!(n("::/0").contains(a("fd00:2::77")));
        assert!(n("fd00::1/128").contains(a("fd00::1")));
    }
}
