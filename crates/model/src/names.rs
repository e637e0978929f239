//! Contrail naming rules: how a type name (`virtual-network`) becomes its
//! underscored form, REST collection, ref/back-ref/children field names, and
//! helpers for fq_names and uuids.

use serde_json::Value;

use crate::error::ValidationError;

/// `virtual-network` -> `virtual_network`.
pub fn underscored(type_name: &str) -> String {
    type_name.replace('-', "_")
}

/// `virtual-network` -> `virtual-networks` (`virtual-DNS` -> `virtual-DNSs`).
pub fn collection_name(type_name: &str) -> String {
    format!("{type_name}s")
}

/// `network-ipam` -> `network_ipam_refs`.
pub fn ref_field_name(type_name: &str) -> String {
    format!("{}_refs", underscored(type_name))
}

/// `virtual-network` -> `virtual_network_back_refs`.
pub fn back_ref_field_name(type_name: &str) -> String {
    format!("{}_back_refs", underscored(type_name))
}

/// `virtual-network` -> `virtual_networks`, the field a parent lists it under.
pub fn children_field_name(type_name: &str) -> String {
    format!("{}s", underscored(type_name))
}

/// Joins an fq_name with `:`, as Contrail prints and indexes it.
pub fn fq_name_to_string<S: AsRef<str>>(fq_name: &[S]) -> String {
    let mut out = String::new();
    for (i, part) in fq_name.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push_str(part.as_ref());
    }
    out
}

/// Splits a `:`-joined fq_name string.
pub fn fq_name_from_str(s: &str) -> Vec<String> {
    s.split(':').map(str::to_owned).collect()
}

/// Checks that `value` is a non-empty JSON list of non-empty strings and
/// returns it. `field` names it in the error (usually `fq_name` or `to`).
pub fn parse_fq_name(field: &str, value: &Value) -> Result<Vec<String>, ValidationError> {
    let Value::Array(items) = value else {
        return Err(ValidationError::new(field, "must be a list of strings"));
    };
    if items.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::String(s) if !s.is_empty() => out.push(s.clone()),
            Value::String(_) => {
                return Err(ValidationError::new(
                    format!("{field}[{i}]"),
                    "name must not be empty",
                ));
            }
            _ => {
                return Err(ValidationError::new(
                    format!("{field}[{i}]"),
                    "must be a string",
                ));
            }
        }
    }
    Ok(out)
}

/// True for a uuid in the canonical 8-4-4-4-12 hex form (either case).
pub fn is_valid_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    b.iter().enumerate().all(|(i, &c)| match i {
        8 | 13 | 18 | 23 => c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn derived_names() {
        assert_eq!(underscored("virtual-network"), "virtual_network");
        assert_eq!(collection_name("virtual-DNS"), "virtual-DNSs");
        assert_eq!(collection_name("bgp-as-a-service"), "bgp-as-a-services");
        assert_eq!(ref_field_name("network-ipam"), "network_ipam_refs");
        assert_eq!(
            back_ref_field_name("virtual-network"),
            "virtual_network_back_refs"
        );
        assert_eq!(children_field_name("virtual-DNS"), "virtual_DNSs");
    }

    #[test]
    fn fq_names() {
        let fq = ["default-domain", "admin", "vn1"];
        assert_eq!(fq_name_to_string(&fq), "default-domain:admin:vn1");
        assert_eq!(fq_name_from_str("default-domain:admin:vn1"), fq);
        assert_eq!(
            parse_fq_name("fq_name", &json!(["a", "b"])).unwrap(),
            vec!["a", "b"]
        );
        assert_eq!(
            parse_fq_name("fq_name", &json!(["a", ""]))
                .unwrap_err()
                .field,
            "fq_name[1]"
        );
        assert!(parse_fq_name("fq_name", &json!([])).is_err());
        assert!(parse_fq_name("fq_name", &json!("a:b")).is_err());
        assert_eq!(
            parse_fq_name("to", &json!(["a", 3])).unwrap_err().field,
            "to[1]"
        );
    }

    #[test]
    fn uuids() {
        assert!(is_valid_uuid("8b5e2d6a-3c1f-4e7a-9d0b-1a2b3c4d5e6f"));
        assert!(is_valid_uuid("8B5E2D6A-3C1F-4E7A-9D0B-1A2B3C4D5E6F"));
        assert!(!is_valid_uuid("8b5e2d6a3c1f4e7a9d0b1a2b3c4d5e6f"));
        assert!(!is_valid_uuid("8b5e2d6a-3c1f-4e7a-9d0b-1a2b3c4d5e6g"));
        assert!(!is_valid_uuid(""));
    }
}
