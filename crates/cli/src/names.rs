//! Names as the VNC API spells them: Contrail type names (and their collection paths), fq_names
//! written as colon-joined strings, uuids recognised by their shape, and the small table that
//! infers an object's parent type from its type and the length of its fq_name.

use std::fmt;

/// What was wrong with a name given on the command line or in a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("invalid type name '{0}': expected a Contrail type such as virtual-network")]
    BadType(String),
    #[error(
        "invalid fq_name '{0}': expected colon-joined non-empty names, e.g. default-domain:default-project:vn1"
    )]
    BadFqName(String),
    #[error(
        "cannot infer the parent type of a {kind} whose fq_name has {len} names; give it with --parent-type (or parent_type: in a document)"
    )]
    UnknownParent { kind: String, len: usize },
}

// ---- type names ----

/// Types whose singular name already ends in `s` (their collection is `<type>s` all the same).
const SINGULAR_ENDING_IN_S: &[&str] = &["config-properties", "device-chassis"];

/// Types whose canonical spelling is not all lower case.
const MIXED_CASE: &[&str] = &["virtual-DNS", "virtual-DNS-record"];

/// Short names operators use for the common types.
const ALIASES: &[(&str, &str)] = &[
    ("vn", "virtual-network"),
    ("vmi", "virtual-machine-interface"),
    ("vm", "virtual-machine"),
    ("iip", "instance-ip"),
    ("fip", "floating-ip"),
    ("fip-pool", "floating-ip-pool"),
    ("ipam", "network-ipam"),
    ("sg", "security-group"),
    ("acl", "access-control-list"),
    ("ri", "routing-instance"),
    ("rt", "route-target"),
    ("vr", "virtual-router"),
    ("lr", "logical-router"),
    ("si", "service-instance"),
    ("st", "service-template"),
    ("gsc", "global-system-config"),
    ("gvc", "global-vrouter-config"),
];

/// Normalises what a user typed into the canonical Contrail type name: underscores become dashes,
/// a plural `s` is dropped, and the case of the few mixed-case types is restored
/// (`virtual_networks` -> `virtual-network`, `virtual-dnss` -> `virtual-DNS`); a few short
/// aliases are understood too (`vn`, `vmi`, `iip`, `ipam`, `sg`, ...).
pub fn parse_type(input: &str) -> Result<String, NameError> {
    let mut name = input.trim().replace('_', "-").to_ascii_lowercase();
    let valid = !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(NameError::BadType(input.to_string()));
    }
    let known = |n: &str| {
        SINGULAR_ENDING_IN_S
            .iter()
            .chain(MIXED_CASE)
            .find(|t| t.eq_ignore_ascii_case(n))
            .map(|t| t.to_string())
    };
    if let Some(t) = known(&name) {
        return Ok(t);
    }
    if name.ends_with('s') && name.len() > 1 {
        name.pop();
    }
    if let Some(t) = known(&name) {
        return Ok(t);
    }
    if let Some((_, t)) = ALIASES.iter().find(|(alias, _)| *alias == name) {
        return Ok(t.to_string());
    }
    Ok(name)
}

/// The collection path of a type: `/virtual-networks`, `/virtual-DNSs`.
pub fn collection_path(kind: &str) -> String {
    format!("/{kind}s")
}

/// The path of one object: `/virtual-network/<uuid>`.
pub fn resource_path(kind: &str, uuid: &str) -> String {
    format!("/{kind}/{uuid}")
}

// ---- fq_names and uuids ----

/// Parses a colon-joined fq_name (`default-domain:default-project:vn1`).
pub fn parse_fq_name(input: &str) -> Result<Vec<String>, NameError> {
    let parts: Vec<String> = input.split(':').map(str::to_string).collect();
    if input.is_empty() || parts.iter().any(|p| p.is_empty()) {
        return Err(NameError::BadFqName(input.to_string()));
    }
    Ok(parts)
}

/// An fq_name as one command-line value (clap would take a bare `Vec` as many values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FqName(pub Vec<String>);

impl FqName {
    pub fn parse(input: &str) -> Result<FqName, NameError> {
        parse_fq_name(input).map(FqName)
    }
}

/// Joins an fq_name the way the API's `*_fq_name_str` parameters and our output write it.
pub fn join_fq_name(fq_name: &[String]) -> String {
    fq_name.join(":")
}

/// True when `s` has the shape of a uuid: 8-4-4-4-12 hex digits.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// An object named on the command line: by uuid or by fq_name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Uuid(String),
    FqName(Vec<String>),
}

impl Target {
    /// A string with the shape of a uuid is a uuid; anything else is a colon-joined fq_name.
    pub fn parse(input: &str) -> Result<Target, NameError> {
        if is_uuid(input) {
            Ok(Target::Uuid(input.to_ascii_lowercase()))
        } else {
            parse_fq_name(input).map(Target::FqName)
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Uuid(u) => f.write_str(u),
            Target::FqName(fq) => f.write_str(&join_fq_name(fq)),
        }
    }
}

// ---- parent inference ----

/// Children of `default-global-system-config` (fq_name of two names).
const UNDER_GLOBAL_SYSTEM_CONFIG: &[&str] = &[
    "global-vrouter-config",
    "global-qos-config",
    "global-analytics-config",
    "virtual-router",
    "physical-router",
    "bgp-router",
    "config-node",
    "analytics-node",
    "analytics-alarm-node",
    "analytics-snmp-node",
    "database-node",
    "config-database-node",
    "webui-node",
    "control-node-zone",
    "service-appliance-set",
    "alarm",
    "fabric",
    "node",
    "node-profile",
    "feature-flag",
    "devicemgr-node",
    "flow-node",
];

/// Global children of `default-policy-management` (fq_name of two names).
const UNDER_POLICY_MANAGEMENT: &[&str] = &[
    "application-policy-set",
    "firewall-policy",
    "firewall-rule",
    "address-group",
    "service-group",
];

/// Infers the parent type of a `kind` object from the length of its fq_name. `None` means the
/// parent is config-root, which the API takes when no parent_type is sent. Types not listed go
/// under a domain at two names and under a project at three, as most tenant objects do.
pub fn infer_parent_type(kind: &str, fq_len: usize) -> Result<Option<&'static str>, NameError> {
    let parent = match (fq_len, kind) {
        (0, _) => return Err(NameError::BadFqName(String::new())),
        (1, _) => None,
        (2, k) if UNDER_GLOBAL_SYSTEM_CONFIG.contains(&k) => Some("global-system-config"),
        (2, k) if UNDER_POLICY_MANAGEMENT.contains(&k) => Some("policy-management"),
        (2, _) => Some("domain"),
        (3, "virtual-DNS-record") => Some("virtual-DNS"),
        (3, "qos-queue" | "forwarding-class") => Some("global-qos-config"),
        (3, "physical-interface" | "logical-interface") => Some("physical-router"),
        (3, "service-appliance") => Some("service-appliance-set"),
        (3, _) => Some("project"),
        (4, "routing-instance" | "floating-ip-pool" | "alias-ip-pool" | "access-control-list") => {
            Some("virtual-network")
        }
        (4, "port-tuple") => Some("service-instance"),
        (4, "logical-interface") => Some("physical-interface"),
        (5, "floating-ip") => Some("floating-ip-pool"),
        (5, "alias-ip") => Some("alias-ip-pool"),
        (5, "bgp-router") => Some("routing-instance"),
        (len, kind) => {
            return Err(NameError::UnknownParent {
                kind: kind.to_string(),
                len,
            });
        }
    };
    Ok(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_are_normalised() {
        assert_eq!(parse_type("virtual-network").unwrap(), "virtual-network");
        assert_eq!(parse_type("virtual-networks").unwrap(), "virtual-network");
        assert_eq!(parse_type("virtual_network").unwrap(), "virtual-network");
        assert_eq!(parse_type("Virtual_Networks").unwrap(), "virtual-network");
        assert_eq!(parse_type("virtual-DNS").unwrap(), "virtual-DNS");
        assert_eq!(parse_type("virtual-dnss").unwrap(), "virtual-DNS");
        assert_eq!(
            parse_type("virtual_DNS_records").unwrap(),
            "virtual-DNS-record"
        );
        assert_eq!(parse_type("device-chassis").unwrap(), "device-chassis");
        assert_eq!(parse_type("device-chassiss").unwrap(), "device-chassis");
        assert_eq!(parse_type("project").unwrap(), "project");
        assert_eq!(parse_type("vn").unwrap(), "virtual-network");
        assert_eq!(parse_type("VMIs").unwrap(), "virtual-machine-interface");
        assert_eq!(parse_type("ipams").unwrap(), "network-ipam");
        assert_eq!(parse_type("sg").unwrap(), "security-group");
    }

    #[test]
    fn bad_type_names_are_refused() {
        for bad in ["", "-vn", "vn-", "virtual network", "vn/1", "s?"] {
            assert!(parse_type(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn paths() {
        assert_eq!(collection_path("virtual-network"), "/virtual-networks");
        assert_eq!(collection_path("virtual-DNS"), "/virtual-DNSs");
        assert_eq!(resource_path("project", "u"), "/project/u");
    }

    #[test]
    fn fq_names_parse_and_join() {
        let fq = parse_fq_name("default-domain:default-project:vn1").unwrap();
        assert_eq!(fq, ["default-domain", "default-project", "vn1"]);
        assert_eq!(join_fq_name(&fq), "default-domain:default-project:vn1");
        assert_eq!(parse_fq_name("default-domain").unwrap(), ["default-domain"]);
        for bad in ["", ":", "a::b", "a:", ":a"] {
            assert!(parse_fq_name(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn uuids_are_recognised_by_shape() {
        assert!(is_uuid("8a9b3c4d-1e2f-4a5b-9c8d-0123456789ab"));
        assert!(is_uuid("8A9B3C4D-1E2F-4A5B-9C8D-0123456789AB"));
        assert!(!is_uuid("8a9b3c4d1e2f4a5b9c8d0123456789ab"));
        assert!(!is_uuid("8a9b3c4d-1e2f-4a5b-9c8d-0123456789ag"));
        assert!(!is_uuid("default-domain:default-project:vn1"));
    }

    #[test]
    fn targets() {
        assert_eq!(
            Target::parse("8A9B3C4D-1E2F-4A5B-9C8D-0123456789AB").unwrap(),
            Target::Uuid("8a9b3c4d-1e2f-4a5b-9c8d-0123456789ab".into())
        );
        assert_eq!(
            Target::parse("default-domain:p:vn").unwrap(),
            Target::FqName(vec!["default-domain".into(), "p".into(), "vn".into()])
        );
        assert!(Target::parse("a::b").is_err());
    }

    #[test]
    fn parents_are_inferred() {
        assert_eq!(infer_parent_type("domain", 1).unwrap(), None);
        assert_eq!(infer_parent_type("project", 2).unwrap(), Some("domain"));
        assert_eq!(
            infer_parent_type("virtual-network", 3).unwrap(),
            Some("project")
        );
        assert_eq!(
            infer_parent_type("virtual-router", 2).unwrap(),
            Some("global-system-config")
        );
        assert_eq!(
            infer_parent_type("firewall-rule", 2).unwrap(),
            Some("policy-management")
        );
        assert_eq!(
            infer_parent_type("floating-ip-pool", 4).unwrap(),
            Some("virtual-network")
        );
        assert_eq!(
            infer_parent_type("floating-ip", 5).unwrap(),
            Some("floating-ip-pool")
        );
        assert_eq!(
            infer_parent_type("virtual-DNS-record", 3).unwrap(),
            Some("virtual-DNS")
        );
        assert!(matches!(
            infer_parent_type("virtual-network", 4),
            Err(NameError::UnknownParent { len: 4, .. })
        ));
    }
}
