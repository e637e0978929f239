//! Firewall policies compiled for matching (Contrail's application-policy-set model): a
//! rule matches when the flow's protocol and ports fall in one of its services, endpoint 1
//! matches the source and endpoint 2 the destination (the other way round for `<`, either
//! for `<>`), and both ends carry the same value of each match-tag type. Policies are
//! tried in order, rules in sequence; the first match decides.

use std::sync::Arc;

use cirrus_proto::convert::Prefix;

use super::acl::RuleMatch;
use super::header::{Header, NameId, Side, has_ports};
use super::names::Names;
use crate::config::firewall::{Endpoint, FirewallPolicy, FwDirection, Service, in_prefixes};
use crate::config::prefix_contains;

/// An endpoint, compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FwEndpoint {
    Any,
    Tags(Vec<u32>),
    AddressGroup {
        prefixes: Vec<Prefix>,
        labels: Vec<u32>,
    },
    Network(NameId),
    Subnet(Prefix),
    Nothing,
}

impl FwEndpoint {
    fn compile(e: &Endpoint, names: &mut Names) -> FwEndpoint {
        match e {
            Endpoint::Any => FwEndpoint::Any,
            Endpoint::Tags(t) => {
                let mut t = t.clone();
                t.sort_unstable();
                FwEndpoint::Tags(t)
            }
            Endpoint::AddressGroup { prefixes, labels } => FwEndpoint::AddressGroup {
                prefixes: prefixes.clone(),
                labels: labels.clone(),
            },
            Endpoint::Network(n) => FwEndpoint::Network(names.intern(n)),
            Endpoint::Subnet(p) => FwEndpoint::Subnet(*p),
            Endpoint::Unresolved(_) => FwEndpoint::Nothing,
        }
    }

    #[inline]
    fn matches(&self, s: &Side<'_>) -> bool {
        match self {
            FwEndpoint::Any => true,
            // Every tag of the endpoint is on the side (both lists sorted).
            FwEndpoint::Tags(t) => t.iter().all(|x| s.tags.binary_search(x).is_ok()),
            // Address groups match by prefix or by any one of their labels.
            FwEndpoint::AddressGroup { prefixes, labels } => {
                in_prefixes(prefixes, s.addr)
                    || labels.iter().any(|l| s.tags.binary_search(l).is_ok())
            }
            FwEndpoint::Network(id) => s.networks.contains(id),
            FwEndpoint::Subnet(p) => prefix_contains(p, s.addr),
            FwEndpoint::Nothing => false,
        }
    }
}

/// A compiled firewall rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FwRule {
    pub uuid: Arc<str>,
    pub pass: bool,
    pub direction: FwDirection,
    pub services: Vec<Service>,
    pub endpoint_1: FwEndpoint,
    pub endpoint_2: FwEndpoint,
    pub match_tag_types: Vec<u32>,
}

fn tag_of_type(tags: &[u32], ty: u32) -> Option<u32> {
    tags.iter().copied().find(|t| t >> 16 == ty)
}

impl FwRule {
    fn service_matches(&self, h: &Header<'_>) -> bool {
        let (sp, dp) = if has_ports(h.proto) {
            (h.src.port, h.dst.port)
        } else {
            (0, 0)
        };
        self.services.iter().any(|s| {
            s.proto.0 <= h.proto
                && h.proto <= s.proto.1
                && (*s == Service::ANY
                    || !has_ports(h.proto)
                    || (s.src_ports.0 <= sp
                        && sp <= s.src_ports.1
                        && s.dst_ports.0 <= dp
                        && dp <= s.dst_ports.1))
        })
    }

    fn one_way(&self, h: &Header<'_>) -> bool {
        self.service_matches(h)
            && self.endpoint_1.matches(&h.src)
            && self.endpoint_2.matches(&h.dst)
    }

    pub fn matches(&self, h: &Header<'_>) -> bool {
        let tags_ok = self.match_tag_types.iter().all(|&ty| {
            matches!(
                (tag_of_type(h.src.tags, ty), tag_of_type(h.dst.tags, ty)),
                (Some(a), Some(b)) if a == b
            )
        });
        if !tags_ok {
            return false;
        }
        match self.direction {
            FwDirection::Forward => self.one_way(h),
            FwDirection::Backward => self.one_way(&h.reversed()),
            FwDirection::Both => self.one_way(h) || self.one_way(&h.reversed()),
        }
    }
}

/// A compiled firewall policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FwPolicy {
    pub uuid: String,
    pub rules: Vec<FwRule>,
}

impl FwPolicy {
    pub fn compile(p: &FirewallPolicy, names: &mut Names) -> FwPolicy {
        FwPolicy {
            uuid: p.uuid.clone(),
            rules: p
                .rules
                .iter()
                .map(|r| FwRule {
                    uuid: Arc::from(r.uuid.as_str()),
                    pass: r.pass,
                    direction: r.direction,
                    services: r.services.clone(),
                    endpoint_1: FwEndpoint::compile(&r.endpoint_1, names),
                    endpoint_2: FwEndpoint::compile(&r.endpoint_2, names),
                    match_tag_types: r.match_tag_types.clone(),
                })
                .collect(),
        }
    }
}

/// The first matching rule across `policies`, in order.
pub fn first_match_in(policies: &[Arc<FwPolicy>], h: &Header<'_>) -> Option<RuleMatch> {
    policies.iter().find_map(|p| {
        p.rules.iter().find(|r| r.matches(h)).map(|r| RuleMatch {
            pass: r.pass,
            rule: r.uuid.clone(),
        })
    })
}
