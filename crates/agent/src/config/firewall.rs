//! Firewall policies (Contrail's security-policy model): which application-policy-sets
//! apply to a port (the global ones, and those whose application tag the port carries),
//! their firewall policies and rules in sequence order, with endpoints (tags, address
//! groups, networks, subnets, any), services (inline or service groups), direction and
//! match-tags resolved to what the evaluator needs.

use std::net::IpAddr;

use cirrus_proto::convert::Prefix;

use super::port::{Port, tag_id};
use super::schema::{
    FirewallRuleEndpointType, FirewallRuleMatchTagsType, FirewallSequence,
    FirewallServiceGroupType, FirewallServiceType, SubnetListType,
};
use super::{ConfigError, ConfigStore, Object, subnet_prefix};

/// Tag type ids by name (Contrail's predefined tag types).
pub fn tag_type_id(name: &str) -> Option<u32> {
    match name {
        "label" => Some(0),
        "application" => Some(1),
        "tier" => Some(2),
        "deployment" => Some(3),
        "site" => Some(4),
        "neutron_fwaas" => Some(5),
        _ => None,
    }
}

/// One endpoint of a firewall rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Endpoint {
    Any,
    /// Every one of these tag ids must be on the side.
    Tags(Vec<u32>),
    /// Inside one of the prefixes, or carrying one of the labels.
    AddressGroup {
        #[serde(serialize_with = "crate::ser::vec_display")]
        prefixes: Vec<Prefix>,
        labels: Vec<u32>,
    },
    Network(String),
    Subnet(#[serde(serialize_with = "crate::ser::display")] Prefix),
    /// Names something not in the slice: matches nothing.
    Unresolved(String),
}

/// Protocol and port ranges a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Service {
    /// Inclusive protocol range (0..=255 for any).
    pub proto: (u8, u8),
    pub src_ports: (u16, u16),
    pub dst_ports: (u16, u16),
}

impl Service {
    pub const ANY: Service = Service {
        proto: (0, 255),
        src_ports: (0, 65535),
        dst_ports: (0, 65535),
    };
}

/// Which way a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum FwDirection {
    /// `>`: endpoint 1 to endpoint 2.
    Forward,
    /// `<`: endpoint 2 to endpoint 1.
    Backward,
    /// `<>`: both.
    Both,
}

/// A firewall rule, resolved.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FirewallRule {
    pub uuid: String,
    pub fq_name: String,
    pub pass: bool,
    pub direction: FwDirection,
    pub services: Vec<Service>,
    pub endpoint_1: Endpoint,
    pub endpoint_2: Endpoint,
    /// Tag types whose values must be equal on both sides.
    pub match_tag_types: Vec<u32>,
}

/// A firewall policy and its rules, in sequence order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FirewallPolicy {
    pub uuid: String,
    pub fq_name: String,
    pub rules: Vec<FirewallRule>,
}

fn seq(attr: &serde_json::Value) -> f64 {
    serde_json::from_value::<FirewallSequence>(attr.clone())
        .ok()
        .and_then(|s| s.sequence)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(f64::MAX)
}

/// Targets of `o`'s refs to `kind`, ordered by their `FirewallSequence`.
fn in_sequence<'a>(store: &'a ConfigStore, o: &'a Object, kind: &'a str) -> Vec<&'a Object> {
    let mut v: Vec<(f64, &Object)> = o
        .refs_to(kind)
        .filter_map(|r| Some((seq(r.attr), &**store.get_kind(kind, r.uuid)?)))
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.uuid.cmp(&b.1.uuid)));
    v.into_iter().map(|(_, o)| o).collect()
}

/// Whether an `all_applications` set covers `port`: a global set (under the policy
/// management, not a project) covers every port; a project's default set only the project's.
fn covers(set: &Object, port: &Port) -> bool {
    if set.parent_type != "project" {
        return true;
    }
    let project = set.fq_name[..set.fq_name.len().saturating_sub(1)].join(":");
    port.fq_name
        .strip_prefix(project.as_str())
        .is_some_and(|rest| rest.starts_with(':'))
}

/// The firewall policies that apply to `port`, in evaluation order: those of the
/// application-policy-sets for all applications (the global ones, and its project's default
/// set), then those of the sets tagged with one of the port's application tags.
pub fn port_policies(store: &ConfigStore, port: &Port) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut sets: Vec<&Object> = store
        .of_kind("application-policy-set")
        .filter(|a| a.bool_prop("all_applications").unwrap_or(false))
        .filter(|a| covers(a, port))
        .map(|a| &**a)
        .collect();
    let app_tags: Vec<u32> = port.tags.iter().copied().filter(|t| t >> 16 == 1).collect();
    sets.extend(
        store
            .of_kind("application-policy-set")
            .filter(|a| !a.bool_prop("all_applications").unwrap_or(false))
            .filter(|a| {
                store
                    .ref_targets(a, "tag")
                    .filter_map(|t| tag_id(t))
                    .any(|id| app_tags.contains(&id))
            })
            .map(|a| &**a),
    );
    for set in sets {
        for p in in_sequence(store, set, "firewall-policy") {
            if !out.contains(&p.uuid) {
                out.push(p.uuid.clone());
            }
        }
    }
    out
}

fn proto_number(name: &str) -> Option<(u8, u8)> {
    match name.trim().to_ascii_lowercase().as_str() {
        "any" | "" => Some((0, 255)),
        "tcp" => Some((6, 6)),
        "udp" => Some((17, 17)),
        "icmp" => Some((1, 1)),
        "icmp6" | "ipv6-icmp" => Some((58, 58)),
        "sctp" => Some((132, 132)),
        n => n.parse().ok().map(|p| (p, p)),
    }
}

fn port_range(p: &Option<super::schema::PortType>) -> (u16, u16) {
    match p {
        None => (0, 65535),
        Some(p) => {
            let s = p.start_port.unwrap_or(0);
            let e = p.end_port.unwrap_or(65535);
            if s < 0 && e < 0 {
                (0, 65535)
            } else {
                (s.clamp(0, 65535) as u16, e.clamp(0, 65535) as u16)
            }
        }
    }
}

fn service_of(s: &FirewallServiceType) -> Option<Service> {
    let proto = match (s.protocol.as_deref(), s.protocol_id) {
        (Some(p), _) if p.eq_ignore_ascii_case("any") => (0, 255),
        (_, Some(id)) => {
            let id = u8::try_from(id).ok()?;
            (id, id)
        }
        (Some(p), None) => proto_number(p)?,
        (None, None) => (0, 255),
    };
    if proto == (0, 255) {
        return Some(Service::ANY);
    }
    Some(Service {
        proto,
        src_ports: port_range(&s.src_ports),
        dst_ports: port_range(&s.dst_ports),
    })
}

fn tag_by_name(store: &ConfigStore, name: &str) -> Option<u32> {
    store
        .of_kind("tag")
        .find(|t| t.name() == name || t.fq_str() == name)
        .and_then(|t| tag_id(t))
}

fn endpoint_of(store: &ConfigStore, e: &FirewallRuleEndpointType) -> Endpoint {
    if let Some(p) = e.subnet.as_ref().and_then(subnet_prefix) {
        return Endpoint::Subnet(p);
    }
    if let Some(vn) = e.virtual_network.as_deref().filter(|v| !v.is_empty()) {
        return Endpoint::Network(vn.to_string());
    }
    if let Some(ag) = e.address_group.as_deref().filter(|v| !v.is_empty()) {
        let Some(o) = store.by_fq_name("address-group", ag) else {
            return Endpoint::Unresolved(format!("address-group {ag}"));
        };
        let list: SubnetListType = o.prop_or_none("address_group_prefix").unwrap_or_default();
        return Endpoint::AddressGroup {
            prefixes: list.subnet.iter().filter_map(subnet_prefix).collect(),
            labels: store
                .ref_targets(o, "tag")
                .filter_map(|t| tag_id(t))
                .collect(),
        };
    }
    let ids: Vec<u32> = e
        .tag_ids
        .iter()
        .flatten()
        .filter_map(|i| u32::try_from(*i).ok())
        .collect();
    if !ids.is_empty() {
        return Endpoint::Tags(ids);
    }
    if let Some(names) = e.tags.as_ref().filter(|t| !t.is_empty()) {
        let mut ids = Vec::new();
        for n in names {
            match tag_by_name(store, n) {
                Some(id) => ids.push(id),
                None => return Endpoint::Unresolved(format!("tag {n}")),
            }
        }
        ids.sort_unstable();
        return Endpoint::Tags(ids);
    }
    Endpoint::Any
}

/// One firewall rule.
pub fn firewall_rule_of(store: &ConfigStore, o: &Object) -> Result<FirewallRule, ConfigError> {
    let what = || format!("firewall-rule {}", o.uuid);
    let action: super::schema::ActionListType =
        o.prop("action_list")?
            .ok_or_else(|| ConfigError::Property {
                object: what(),
                property: "action_list".into(),
                why: "required".into(),
            })?;
    let direction = match o.str_prop("direction") {
        Some(">") => FwDirection::Forward,
        Some("<") => FwDirection::Backward,
        _ => FwDirection::Both,
    };
    let mut services = Vec::new();
    if let Some(s) = o.prop::<FirewallServiceType>("service")? {
        services.extend(service_of(&s));
    }
    for g in store.ref_targets(o, "service-group") {
        let l: FirewallServiceGroupType = g
            .prop_or_none("service_group_firewall_service_list")
            .unwrap_or_default();
        services.extend(l.firewall_service.iter().filter_map(service_of));
    }
    if services.is_empty() {
        services.push(Service::ANY);
    }
    let ep = |name: &str| -> Result<Endpoint, ConfigError> {
        Ok(o.prop::<FirewallRuleEndpointType>(name)?
            .map(|e| endpoint_of(store, &e))
            .unwrap_or(Endpoint::Any))
    };
    let mut match_tag_types: Vec<u32> = o
        .prop_or_none::<super::schema::FirewallRuleMatchTagsTypeIdList>("match_tag_types")
        .map(|l| {
            l.tag_type
                .iter()
                .filter_map(|t| u32::try_from(*t).ok())
                .collect()
        })
        .unwrap_or_default();
    if match_tag_types.is_empty() {
        match_tag_types = o
            .prop_or_none::<FirewallRuleMatchTagsType>("match_tags")
            .map(|l| l.tag_list.iter().filter_map(|n| tag_type_id(n)).collect())
            .unwrap_or_default();
    }
    Ok(FirewallRule {
        uuid: o.uuid.clone(),
        fq_name: o.fq_str(),
        pass: action.simple_action.as_deref() == Some("pass"),
        direction,
        services,
        endpoint_1: ep("endpoint_1")?,
        endpoint_2: ep("endpoint_2")?,
        match_tag_types,
    })
}

/// A firewall policy with its rules in sequence order; rules that do not read are named
/// in the error list and left out (a policy that lost a rule must not lose the others).
pub fn firewall_policy(
    store: &ConfigStore,
    uuid: &str,
) -> Result<(FirewallPolicy, Vec<ConfigError>), ConfigError> {
    let o = store
        .get_kind("firewall-policy", uuid)
        .ok_or_else(|| ConfigError::Missing {
            kind: "firewall-policy".into(),
            uuid: uuid.into(),
        })?;
    let mut rules = Vec::new();
    let mut bad = Vec::new();
    for r in in_sequence(store, o, "firewall-rule") {
        match firewall_rule_of(store, r) {
            Ok(r) => rules.push(r),
            Err(e) => bad.push(e),
        }
    }
    Ok((
        FirewallPolicy {
            uuid: o.uuid.clone(),
            fq_name: o.fq_str(),
            rules,
        },
        bad,
    ))
}

/// Whether `addr` is inside one of `prefixes`.
pub fn in_prefixes(prefixes: &[Prefix], addr: IpAddr) -> bool {
    prefixes.iter().any(|p| super::prefix_contains(p, addr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::port::port;
    use crate::config::testing::{obj, with_plain_refs, with_refs};
    use serde_json::json;

    #[test]
    fn a_projects_default_set_covers_only_its_own_ports() {
        use crate::config::testing::child_of;
        let mut s = crate::config::testing::port_slice();
        let p = port(&s, "vmi1").unwrap();
        let project: Vec<&str> = p.fq_name.split(':').take(2).collect();
        for (uuid, proj, fp) in [
            ("aps-mine", project[1], "fp-mine"),
            ("aps-other", "elsewhere", "fp-other"),
        ] {
            s.upsert(obj(
                "firewall-policy",
                fp,
                &[project[0], proj, fp],
                json!({}),
            ));
            s.upsert(with_refs(
                child_of(
                    obj(
                        "application-policy-set",
                        uuid,
                        &[project[0], proj, "default-application-policy-set"],
                        json!({"all_applications": true}),
                    ),
                    "project",
                    proj,
                ),
                "firewall_policy_refs",
                &[(fp, json!({"sequence": "1"}))],
            ));
        }
        assert_eq!(port_policies(&s, &p), vec!["fp-mine"]);
    }

    #[test]
    fn policies_follow_the_application_tag_and_sequence() {
        let mut s = crate::config::testing::port_slice();
        s.upsert(obj("address-group", "ag1", &["d", "p", "ag"], json!({"address_group_prefix": {"subnet": [{"ip_prefix": "10.9.0.0", "ip_prefix_len": 16}]}})));
        s.upsert(obj(
            "service-group",
            "svc1",
            &["d", "p", "svc"],
            json!({"service_group_firewall_service_list": {"firewall_service": [
            {"protocol": "tcp", "dst_ports": {"start_port": 443, "end_port": 443}}]}}),
        ));
        s.upsert(with_plain_refs(
            obj("firewall-rule", "r2", &["d", "p", "r2"], json!({
                "action_list": {"simple_action": "deny"}, "direction": ">",
                "endpoint_1": {"tags": ["application=web"]}, "endpoint_2": {"address_group": "d:p:ag"},
                "match_tags": {"tag_list": ["tier"]}})),
            "service_group_refs",
            &["svc1"],
        ));
        s.upsert(obj(
            "firewall-rule",
            "r1",
            &["d", "p", "r1"],
            json!({
            "action_list": {"simple_action": "pass"}, "direction": "<>",
            "service": {"protocol": "udp", "dst_ports": {"start_port": 53, "end_port": 53}},
            "endpoint_1": {"any": true}, "endpoint_2": {"virtual_network": "d:p:red"}}),
        ));
        s.upsert(with_refs(
            obj("firewall-policy", "fp1", &["d", "p", "fp1"], json!({})),
            "firewall_rule_refs",
            &[
                ("r2", json!({"sequence": "2.0"})),
                ("r1", json!({"sequence": "1.5"})),
            ],
        ));
        s.upsert(obj(
            "firewall-policy",
            "fp-global",
            &["d", "p", "fpg"],
            json!({}),
        ));
        s.upsert(with_refs(
            with_plain_refs(
                obj(
                    "application-policy-set",
                    "aps-web",
                    &["d", "p", "web"],
                    json!({}),
                ),
                "tag_refs",
                &["t-app"],
            ),
            "firewall_policy_refs",
            &[("fp1", json!({"sequence": "1"}))],
        ));
        s.upsert(with_refs(
            obj(
                "application-policy-set",
                "aps-g",
                &["d", "p", "g"],
                json!({"all_applications": true}),
            ),
            "firewall_policy_refs",
            &[("fp-global", json!({"sequence": "1"}))],
        ));
        s.upsert(obj(
            "application-policy-set",
            "aps-other",
            &["d", "p", "o"],
            json!({}),
        ));
        let p = port(&s, "vmi1").unwrap();
        assert_eq!(port_policies(&s, &p), vec!["fp-global", "fp1"]);
        let (fp, bad) = firewall_policy(&s, "fp1").unwrap();
        assert!(bad.is_empty());
        let uuids: Vec<_> = fp.rules.iter().map(|r| r.uuid.as_str()).collect();
        assert_eq!(uuids, vec!["r1", "r2"]);
        let r1 = &fp.rules[0];
        assert_eq!((r1.pass, r1.direction), (true, FwDirection::Both));
        assert_eq!(
            r1.services,
            vec![Service {
                proto: (17, 17),
                src_ports: (0, 65535),
                dst_ports: (53, 53)
            }]
        );
        assert_eq!(r1.endpoint_2, Endpoint::Network("d:p:red".into()));
        let r2 = &fp.rules[1];
        assert_eq!(r2.endpoint_1, Endpoint::Tags(vec![0x0001_0001]));
        assert!(
            matches!(&r2.endpoint_2, Endpoint::AddressGroup { prefixes, .. } if prefixes.len() == 1)
        );
        assert_eq!(r2.services[0].dst_ports, (443, 443));
        assert_eq!(r2.match_tag_types, vec![2]);
    }
}
