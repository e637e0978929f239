//! Names as the VNC API spells them, for the command line: type names typed loosely (plural,
//! underscores, any case, a few short aliases) resolved against `cirrus-model`'s schema, fq_names
//! written as colon-joined strings, uuids recognised by their shape, and an object's parent type
//! inferred from the schema's parent tables and the length of its fq_name. The naming rules
//! themselves (collections, fq_name joining, uuid shape) are the model's.

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

/// Normalises what a user typed into the canonical Contrail type name, as the schema spells it:
/// underscores become dashes, a plural `s` is dropped, case is ignored
/// (`virtual_networks` -> `virtual-network`, `virtual-dnss` -> `virtual-DNS`); a few short
/// aliases are understood too (`vn`, `vmi`, `iip`, `ipam`, `sg`, ...). A name the schema does not
/// know is returned normalised, for the server to judge.
pub fn parse_type(input: &str) -> Result<String, NameError> {
    let name = input.trim().replace('_', "-").to_ascii_lowercase();
    let valid = !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(NameError::BadType(input.to_string()));
    }
    let schema = cirrus_model::schema();
    let known = |n: &str| {
        schema
            .resources()
            .find(|t| t.name.eq_ignore_ascii_case(n))
            .map(|t| t.name.clone())
    };
    if let Some(t) = known(&name) {
        return Ok(t);
    }
    if let Some(singular) = name.strip_suffix('s')
        && let Some(t) = known(singular)
    {
        return Ok(t);
    }
    let singular = name.strip_suffix('s').unwrap_or(&name);
    if let Some((_, t)) = ALIASES
        .iter()
        .find(|(alias, _)| *alias == name || *alias == singular)
    {
        return Ok(t.to_string());
    }
    Ok(singular.to_string())
}

/// The collection path of a type: `/virtual-networks`, `/virtual-DNSs`.
pub fn collection_path(kind: &str) -> String {
    format!("/{}", cirrus_model::names::collection_name(kind))
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
    cirrus_model::fq_name_to_string(fq_name)
}

/// True when `s` has the shape of a uuid: 8-4-4-4-12 hex digits.
pub fn is_uuid(s: &str) -> bool {
    cirrus_model::is_valid_uuid(s)
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

/// The fq_name lengths a `kind` object can have, from the schema's parent tables (1 under
/// config-root, one more than any of its parents').
fn fq_lengths(kind: &str, depth: usize) -> Vec<usize> {
    let Some(t) = cirrus_model::schema().resource(kind) else {
        return vec![];
    };
    if depth > 8 {
        return vec![];
    }
    let mut out = Vec::new();
    for p in &t.parents {
        if p == cirrus_model::CONFIG_ROOT {
            out.push(1);
        } else {
            out.extend(fq_lengths(p, depth + 1).into_iter().map(|l| l + 1));
        }
    }
    if t.parents.is_empty() {
        out.push(1);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// When several parent types fit an fq_name's length, the tenant one is meant (a VMI of three
/// names is a project's, not a vrouter's; an ACL of four is a network's).
const PREFERRED_PARENTS: &[&str] = &["project", "virtual-network", "domain"];

/// Infers the parent type of a `kind` object from the length of its fq_name, by the schema:
/// the parent type whose objects have fq_names one shorter (the tenant one when several do).
/// `None` means the parent is config-root, which the API takes when no parent_type is sent.
/// When none fits, the user says which with `--parent-type`.
pub fn infer_parent_type(kind: &str, fq_len: usize) -> Result<Option<&'static str>, NameError> {
    if fq_len == 0 {
        return Err(NameError::BadFqName(String::new()));
    }
    if fq_len == 1 {
        return Ok(None);
    }
    let unknown = || NameError::UnknownParent {
        kind: kind.to_string(),
        len: fq_len,
    };
    let t = cirrus_model::schema().resource(kind).ok_or_else(unknown)?;
    let fits: Vec<&'static str> = t
        .parents
        .iter()
        .filter(|p| p.as_str() != cirrus_model::CONFIG_ROOT)
        .filter(|p| fq_lengths(p, 0).contains(&(fq_len - 1)))
        .map(String::as_str)
        .collect();
    match fits.as_slice() {
        [one] => Ok(Some(one)),
        [] => Err(unknown()),
        several => PREFERRED_PARENTS
            .iter()
            .find(|p| several.contains(p))
            .map(|p| Some(*p))
            .ok_or_else(unknown),
    }
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
        // From the schema, not a hand-kept table: types the old table did not list.
        assert_eq!(
            infer_parent_type("bridge-domain", 4).unwrap(),
            Some("virtual-network")
        );
        assert_eq!(
            infer_parent_type("virtual-machine-interface", 3).unwrap(),
            Some("project")
        );
        assert_eq!(
            infer_parent_type("access-control-list", 4).unwrap(),
            Some("virtual-network")
        );
        assert_eq!(infer_parent_type("qos-config", 3).unwrap(), Some("project"));
    }

    #[test]
    fn every_schema_type_is_recognised_in_every_spelling() {
        for t in cirrus_model::schema()
            .resources()
            .filter(|t| t.name != cirrus_model::CONFIG_ROOT)
        {
            for spelling in [
                t.name.clone(),
                t.collection().to_string(),
                t.underscored().to_string(),
                t.name.to_uppercase(),
            ] {
                assert_eq!(parse_type(&spelling).unwrap(), t.name, "{spelling}");
            }
        }
    }
}
