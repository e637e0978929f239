//! A virtual network's ACLs from its network policies, as Contrail's schema transformer
//! writes them (`VirtualNetworkST.evaluate` / `policy_to_acl_rule`): one static
//! `access-control-list` named after the network (policies without a timer) and one named
//! `dynamic` (policies with one), each an `AclEntriesType`; and the networks the policies
//! connect it to (the other side of every non-deny entry that names this network).
//!
//! Rules with services (`apply_service`) are left out, as Contrail does when it finds no
//! service chain to build; mirror actions are kept as written.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::Options;
use crate::acl_list::{AclRuleList, expand_bidirectional, protocol_to_acl};
use crate::json::*;

/// The fabric network, which `fabric_snat` networks may reach.
pub const IP_FABRIC_VN: &str = "default-domain:default-project:ip-fabric";

/// One policy attached to the network, in sequence order.
pub struct AttachedPolicy<'a> {
    pub fq_name: &'a str,
    pub rules: &'a [Value],
    /// Attached with a timer: its entries go to the `dynamic` ACL.
    pub timed: bool,
}

/// What a network's policies make of it.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct NetworkAcls {
    /// `access_control_list_entries` of the ACL named after the network, if it has one.
    pub static_entries: Option<Value>,
    /// ... and of the ACL named `dynamic`.
    pub dynamic_entries: Option<Value>,
    /// Networks (fq_names) its policies let it talk to; `*` for "any".
    pub connections: BTreeSet<String>,
    pub warnings: Vec<String>,
}

/// The inputs about the network itself.
pub struct NetworkView<'a> {
    pub fq_name: &'a str,
    pub is_provider_network: bool,
    pub fabric_snat: bool,
    /// Provider networks it is linked to (`virtual_network_refs`).
    pub provider_vns: Vec<String>,
}

pub fn network_acls(
    vn: &NetworkView,
    policies: &[AttachedPolicy],
    policy_vns: &dyn Fn(&str) -> Option<Vec<String>>,
    opts: &Options,
) -> NetworkAcls {
    let mut out = NetworkAcls::default();
    let me = |n: Option<&str>| n == Some(vn.fq_name) || n == Some("any");
    let mut static_list: Option<AclRuleList> = None;
    let mut dynamic_list: Option<AclRuleList> = None;
    if policies.is_empty()
        && (vn.is_provider_network || !vn.provider_vns.is_empty() || vn.fabric_snat)
    {
        static_list = Some(AclRuleList::new(false));
    }
    for policy in policies {
        let entries = if policy.timed {
            dynamic_list.get_or_insert_with(|| AclRuleList::new(true))
        } else {
            static_list.get_or_insert_with(|| AclRuleList::new(false))
        };
        for prule in policy.rules {
            let added = policy_rule_entries(vn, prule, entries.dynamic, policy_vns, &mut out);
            for (arule, key) in added.into_keyed() {
                let deny = arule.pointer("/action_list/simple_action") == Some(&json!("deny"));
                let m = &arule["match_condition"];
                let vn_of = |a: &Value| str_of(a, "virtual_network").map(str::to_string);
                let (src, dst) = (vn_of(&m["src_address"]), vn_of(&m["dst_address"]));
                if !entries.append_keyed(arule, key) || deny {
                    continue;
                }
                let (src, dst) = (src.as_deref(), dst.as_deref());
                for other in [me(dst).then_some(src), me(src).then_some(dst)]
                    .into_iter()
                    .flatten()
                    .flatten()
                {
                    if other == "any" {
                        out.connections.insert("*".into());
                    } else if other != vn.fq_name {
                        out.connections.insert(other.to_string());
                    }
                }
            }
        }
    }
    if let Some(mut list) = static_list {
        implicit_rules(vn, &mut list, opts);
        out.static_entries = Some(entries_value(list, opts));
    }
    out.dynamic_entries = dynamic_list.map(|l| entries_value(l, opts));
    out
}

fn entries_value(list: AclRuleList, opts: &Options) -> Value {
    let rules = if opts.expand_bidirectional {
        expand_bidirectional(list.rules)
    } else {
        list.rules
    };
    acl_entries(Some(list.dynamic), rules)
}

/// Contrail's implicit rules after a static ACL's policy rules: this network to itself
/// passes; with logical routers enabled (Contrail's default) every policy rule gets a deny
/// twin for any protocol and port and the list ends in any-to-any pass (routes, not the ACL,
/// keep unconnected networks apart), else it ends in any-to-any deny.
fn implicit_rules(vn: &NetworkView, list: &mut AclRuleList, opts: &Options) {
    let me = || vn_address(vn.fq_name);
    let rule = |src: Value, dst: Value, action: &str, uuid: &str, dir: Option<&str>| {
        acl_rule(
            match_condition("any", src, any_port(), dst, any_port(), Value::Null),
            simple_action(action),
            Some(uuid),
            dir,
        )
    };
    let mut implicit = AclRuleList::new(false);
    implicit.append(rule(me(), me(), "pass", RULE_IMPLICIT_ALLOW_UUID, None));
    if vn.fabric_snat {
        let fabric = vn_address(IP_FABRIC_VN);
        implicit.append(rule(
            me(),
            fabric,
            "pass",
            RULE_IMPLICIT_ALLOW_UUID,
            Some("<>"),
        ));
        let any = vn_address("any");
        implicit.append(rule(me(), any, "deny", RULE_IMPLICIT_DENY_UUID, Some("<>")));
    }
    if opts.logical_routers_enabled {
        for r in &list.rules {
            let m = &r["match_condition"];
            let strip = |a: &Value| {
                let mut a = a.clone();
                if str_of(&a, "virtual_network").is_some() {
                    a["subnet"] = Value::Null;
                    a["subnet_list"] = json!([]);
                }
                a
            };
            implicit.append(acl_rule(
                match_condition(
                    "any",
                    strip(&m["src_address"]),
                    any_port(),
                    strip(&m["dst_address"]),
                    any_port(),
                    Value::Null,
                ),
                simple_action("deny"),
                r.get("rule_uuid").and_then(Value::as_str),
                r.get("direction").and_then(Value::as_str),
            ));
        }
        if vn.is_provider_network {
            let any = vn_address("any");
            implicit.append(rule(me(), any, "deny", RULE_IMPLICIT_DENY_UUID, Some("<>")));
        } else {
            for p in &vn.provider_vns {
                let pa = vn_address(p);
                implicit.append(rule(me(), pa, "deny", RULE_IMPLICIT_DENY_UUID, Some("<>")));
            }
        }
        let any = || vn_address("any");
        implicit.append(rule(any(), any(), "pass", RULE_IMPLICIT_ALLOW_UUID, None));
    } else {
        let any = || vn_address("any");
        implicit.append(rule(any(), any(), "deny", RULE_IMPLICIT_DENY_UUID, None));
    }
    for (r, key) in implicit.into_keyed() {
        list.append_keyed(r, key);
    }
}

/// Contrail's `policy_to_acl_rule`: the entries one policy rule makes for this network.
fn policy_rule_entries(
    vn: &NetworkView,
    prule: &Value,
    dynamic: bool,
    policy_vns: &dyn Fn(&str) -> Option<Vec<String>>,
    out: &mut NetworkAcls,
) -> AclRuleList {
    let mut result = AclRuleList::new(dynamic);
    let me = |n: Option<&str>| n == Some(vn.fq_name) || n == Some("any");
    let rule_uuid = str_of(prule, "rule_uuid");
    let Some(proto) = protocol_to_acl(str_of(prule, "protocol"), str_of(prule, "ethertype"), true)
    else {
        out.warnings.push(format!(
            "network {}: policy rule {}: unknown protocol {:?}; rule left out",
            vn.fq_name,
            rule_uuid.unwrap_or("?"),
            prule.get("protocol")
        ));
        return result;
    };
    let Some(action) = prule.get("action_list").filter(|a| a.is_object()) else {
        return result;
    };
    let has_service = !list(action, "apply_service").is_empty();
    let mut action = action.clone();
    action["assign_routing_instance"] = Value::Null;
    let direction = str_of(prule, "direction");
    let has_subnet = |a: &Value| {
        a.get("subnet").is_some_and(|s| !s.is_null()) || !list(a, "subnet_list").is_empty()
    };
    for saddr in list(prule, "src_addresses") {
        let mut sm = saddr.clone();
        let mut svn = str_of(saddr, "virtual_network").map(str::to_string);
        if svn.as_deref() == Some("local") {
            svn = Some(vn.fq_name.to_string());
            sm["virtual_network"] = json!(vn.fq_name);
        }
        let spol = str_of(saddr, "network_policy");
        for daddr in list(prule, "dst_addresses") {
            let mut dm = daddr.clone();
            let mut dvn = str_of(daddr, "virtual_network").map(str::to_string);
            if dvn.as_deref() == Some("local") {
                dvn = Some(vn.fq_name.to_string());
                dm["virtual_network"] = json!(vn.fq_name);
            }
            let dpol = str_of(daddr, "network_policy");
            let attached =
                |p: &str| policy_vns(p).is_some_and(|v| v.iter().any(|n| n == vn.fq_name));
            if me(dvn.as_deref()) || me(svn.as_deref()) {
            } else if dvn.is_none() && dpol.is_some() {
                if !attached(dpol.unwrap_or_default()) {
                    continue;
                }
                dm["network_policy"] = Value::Null;
                dm["virtual_network"] = json!(vn.fq_name);
            } else if svn.is_none() && spol.is_some() {
                if !attached(spol.unwrap_or_default()) {
                    continue;
                }
                sm["network_policy"] = Value::Null;
                sm["virtual_network"] = json!(vn.fq_name);
            } else if svn.is_none()
                && dvn.is_none()
                && spol.is_none()
                && dpol.is_none()
                && has_subnet(saddr)
                && has_subnet(daddr)
            {
                if has_service {
                    continue;
                }
            } else {
                continue;
            }
            if has_service {
                out.warnings.push(format!(
                    "network {}: policy rule {}: service chains are not supported; rule left out",
                    vn.fq_name,
                    rule_uuid.unwrap_or("?")
                ));
                continue;
            }
            let expand = |a: Value| -> Vec<Value> {
                match str_of(&a, "network_policy") {
                    Some(p) => policy_vns(p)
                        .unwrap_or_default()
                        .iter()
                        .map(|x| vn_address(x))
                        .collect(),
                    None => vec![a],
                }
            };
            let (sa_list, da_list) = (expand(sm.clone()), expand(dm));
            for sp in list(prule, "src_ports") {
                for dp in list(prule, "dst_ports") {
                    for sa in &sa_list {
                        for da in &da_list {
                            result.append(acl_rule(
                                match_condition(
                                    &proto,
                                    sa.clone(),
                                    sp.clone(),
                                    da.clone(),
                                    dp.clone(),
                                    Value::Null,
                                ),
                                action.clone(),
                                rule_uuid,
                                direction,
                            ));
                        }
                    }
                }
            }
        }
    }
    result
}
