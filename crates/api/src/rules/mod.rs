//! Per-resource rules Contrail's api-server applies on create and update (its `resources/*.py`
//! `pre_dbe_create`/`pre_dbe_update`), one small module per resource type, looked up in
//! [`RULES`] by type name. A rule sees the object as it will be stored (`new`), the stored one on
//! update (`old`), and the request body (`c.input`) for rules about what a request names.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::object::Obj;

mod application_policy_set;
mod bgp_router;
mod bgpaas;
mod bgpvpn;
mod bridge_domain;
mod draft_mode_state;
mod fabric;
mod firewall;
mod floating_ip;
mod global_system_config;
mod host_based_service;
mod instance_ip;
mod physical_interface;
mod physical_router;
mod policy_rules;
mod qos_config;
mod route_targets;
mod routed_network;
mod routing_instance;
mod routing_policy;
mod sub_cluster;
mod tag_refs;
mod virtual_network;
mod virtual_port_group;
mod virtual_router;
mod vmi;

pub struct Ctx<'a> {
    pub index: &'a Index,
    /// `<type> <fq_name>`, the prefix of every message.
    pub what: &'a str,
    pub input: &'a Map<String, Value>,
}

pub type Rule = fn(&Ctx, Option<&Obj>, &mut Obj) -> ApiResult<()>;

/// The rules, by resource type.
pub const RULES: &[(&str, Rule)] = &[
    ("virtual-machine-interface", vmi::check),
    ("physical-router", physical_router::check),
    ("sub-cluster", sub_cluster::check),
    ("routing-policy", routing_policy::check),
    ("qos-config", qos_config::check),
    ("bridge-domain", bridge_domain::check),
    ("bgp-as-a-service", bgpaas::check),
    ("bgp-router", bgp_router::check),
    ("global-system-config", global_system_config::check),
    ("instance-ip", instance_ip::check),
    ("virtual-router", virtual_router::check),
    ("security-group", policy_rules::check_security_group),
    ("network-policy", policy_rules::check_network_policy),
    ("virtual-network", bgpvpn::check_network),
    ("virtual-network", virtual_network::check),
    ("logical-router", bgpvpn::check_router),
    ("route-target", route_targets::check_object),
    ("host-based-service", host_based_service::check),
    ("floating-ip-pool", floating_ip::check_pool),
    ("floating-ip", floating_ip::check_ip),
    ("firewall-rule", firewall::check_rule),
    ("firewall-policy", firewall::check_policy),
    ("application-policy-set", firewall::check_policy_set),
    ("virtual-network", route_targets::check_lists),
    ("logical-router", route_targets::check_lists),
    ("global-system-config", route_targets::check_global_asn),
    ("routing-instance", routing_instance::check),
    ("application-policy-set", application_policy_set::check),
    ("virtual-network", routed_network::check),
    ("physical-interface", physical_interface::check),
    ("fabric", fabric::check),
    ("virtual-port-group", virtual_port_group::check),
    ("address-group", draft_mode_state::check),
    ("application-policy-set", draft_mode_state::check),
    ("firewall-policy", draft_mode_state::check),
    ("firewall-rule", draft_mode_state::check),
    ("service-group", draft_mode_state::check),
];

pub type DeleteRule = fn(&Index, &Obj) -> ApiResult<()>;

/// What a client may not delete, by resource type (Contrail's `pre_dbe_delete` refusals). Only
/// the object a request names is checked: what a cascade takes along is the server's doing.
pub const DELETE_RULES: &[(&str, DeleteRule)] = &[
    ("routing-instance", routing_instance::check_delete),
    (
        "application-policy-set",
        application_policy_set::check_delete,
    ),
    ("virtual-port-group", virtual_port_group::check_delete),
    ("host-based-service", host_based_service::check_delete),
];

/// Applies the delete rules of `obj`'s type.
pub fn check_delete(index: &Index, obj: &Obj) -> ApiResult<()> {
    for (ty, rule) in DELETE_RULES {
        if *ty == obj.type_name() {
            rule(index, obj)?;
        }
    }
    Ok(())
}

/// Applies the rules of `new`'s type, and those of every type (`old` is None on create).
pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    tag_refs::check(c, old, new)?;
    for (ty, rule) in RULES {
        if *ty == new.type_name() {
            rule(c, old, new)?;
        }
    }
    Ok(())
}

/// `obj.body[a][b]...`
pub(crate) fn at<'a>(obj: &'a Obj, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(obj.body.get(*first)?, |v, k| v.get(*k))
}

/// The global system config's ASN (Contrail's default 64512 when unset).
pub(crate) fn global_asn(index: &Index) -> u64 {
    index
        .by_fq_name("global-system-config", "default-global-system-config")
        .and_then(|g| g.body.get("autonomous_system"))
        .and_then(Value::as_u64)
        .unwrap_or(64512)
}

/// RFC 4271: a hold time is zero or at least three seconds (and fits 16 bits).
pub(crate) fn check_hold_time(c: &Ctx, hold_time: Option<&Value>) -> ApiResult<()> {
    let Some(v) = hold_time.filter(|v| !v.is_null()) else {
        return Ok(());
    };
    match v.as_i64() {
        Some(0) | Some(3..=65535) => Ok(()),
        _ => Err(ApiError::bad_request(format!(
            "{}: hold_time {v}: Hold Time MUST be either zero or at least three seconds \
             (and at most 65535)",
            c.what
        ))),
    }
}

/// An ASN within the range the global system config allows: 1-0xFFFF, or 1-0xFFFFFFFF with
/// `enable_4byte_as`. Zero and null mean unset.
pub(crate) fn check_asn(c: &Ctx, field: &str, asn: Option<&Value>) -> ApiResult<()> {
    let Some(v) = asn.filter(|v| !v.is_null() && v.as_i64() != Some(0)) else {
        return Ok(());
    };
    let four_byte = c
        .index
        .by_fq_name("global-system-config", "default-global-system-config")
        .and_then(|g| g.body.get("enable_4byte_as"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let max: i64 = if four_byte { 0xFFFF_FFFF } else { 0xFFFF };
    match v.as_i64() {
        Some(a) if (1..=max).contains(&a) => Ok(()),
        _ => Err(ApiError::bad_request(format!(
            "{}: {field} {v}: ASN out of range, should be between 1-{max:#X}",
            c.what
        ))),
    }
}
