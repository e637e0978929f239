//! `GET /v2.0/extensions`: exactly the extensions this server implements.

use serde_json::{Value, json};

use crate::error::{NResult, NeutronError};

const UPDATED: &str = "2026-12-02T00:00:00-00:00";

/// (alias, name, description)
pub const IMPLEMENTED: [(&str, &str, &str); 14] = [
    (
        "security-group",
        "security-group",
        "The security groups extension.",
    ),
    (
        "binding",
        "Port Binding",
        "Expose port bindings of a virtual port to external application",
    ),
    ("port-security", "Port Security", "Provides port security"),
    (
        "allowed-address-pairs",
        "Allowed Address Pairs",
        "Provides allowed address pairs",
    ),
    (
        "external-net",
        "Neutron external network",
        "Adds external network attribute to network resource.",
    ),
    (
        "net-mtu",
        "Network MTU",
        "Provides MTU attribute for a network resource.",
    ),
    (
        "standard-attr-description",
        "standard-attr-description",
        "Extension to add descriptions to standard attributes",
    ),
    (
        "standard-attr-timestamp",
        "Resource timestamps",
        "Adds created_at and updated_at fields to all Neutron resources that have Neutron standard attributes.",
    ),
    (
        "quotas",
        "Quota management support",
        "Expose functions for quotas management per tenant",
    ),
    (
        "pagination",
        "Pagination support",
        "Extension that indicates that pagination is enabled.",
    ),
    (
        "router",
        "Neutron L3 Router",
        "Router abstraction for basic L3 forwarding between L2 Neutron networks and access to external networks via a NAT gateway.",
    ),
    (
        "extraroute",
        "Neutron Extra Route",
        "Extra routes configuration for L3 router",
    ),
    (
        "ext-gw-mode",
        "Neutron L3 Configurable external gateway mode",
        "Extension of the router abstraction for specifying whether SNAT should occur on the external gateway",
    ),
    (
        "sorting",
        "Sorting support",
        "Extension that indicates that sorting is enabled.",
    ),
];

fn one(alias: &str, name: &str, description: &str) -> Value {
    json!({"alias": alias, "name": name, "description": description, "updated": UPDATED, "links": []})
}

pub fn list() -> Vec<Value> {
    IMPLEMENTED.iter().map(|(a, n, d)| one(a, n, d)).collect()
}

pub fn show(alias: &str) -> NResult<Value> {
    IMPLEMENTED
        .iter()
        .find(|(a, _, _)| *a == alias)
        .map(|(a, n, d)| one(a, n, d))
        .ok_or_else(|| NeutronError::not_found("Extension", alias))
}
