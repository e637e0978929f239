//! Security groups (numeric id, ingress and egress ACLs) and access-control-lists (their
//! `AclEntriesType`), read as the intent compiler writes them (Contrail's schema
//! transformer's shapes).

use super::schema::AclEntriesType;
use super::{ConfigError, ConfigStore, Object};

/// A security group.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SecurityGroup {
    pub uuid: String,
    pub fq_name: String,
    /// The id routes carry and rules name (`configured_security_group_id` when set, else
    /// the allocated `security_group_id`).
    pub id: u32,
    pub ingress_acl: Option<String>,
    pub egress_acl: Option<String>,
}

/// The security group `uuid`.
pub fn security_group(store: &ConfigStore, uuid: &str) -> Result<SecurityGroup, ConfigError> {
    let o = store
        .get_kind("security-group", uuid)
        .ok_or_else(|| ConfigError::Missing {
            kind: "security-group".into(),
            uuid: uuid.into(),
        })?;
    Ok(security_group_of(store, o))
}

pub fn security_group_of(store: &ConfigStore, o: &Object) -> SecurityGroup {
    let configured = o
        .int_prop("configured_security_group_id")
        .filter(|v| *v > 0);
    let id = configured
        .or_else(|| o.int_prop("security_group_id"))
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(0);
    let acl = |name: &str| {
        store
            .children(&o.uuid, "access-control-list")
            .find(|a| a.name() == name)
            .map(|a| a.uuid.clone())
    };
    SecurityGroup {
        uuid: o.uuid.clone(),
        fq_name: o.fq_str(),
        id,
        ingress_acl: acl("ingress-access-control-list"),
        egress_acl: acl("egress-access-control-list"),
    }
}

/// The entries of an access-control-list (an ACL without entries has none: it denies).
pub fn acl_entries(store: &ConfigStore, uuid: &str) -> Result<AclEntriesType, ConfigError> {
    let o = store
        .get_kind("access-control-list", uuid)
        .ok_or_else(|| ConfigError::Missing {
            kind: "access-control-list".into(),
            uuid: uuid.into(),
        })?;
    Ok(o.prop("access_control_list_entries")?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::{child_of, obj};
    use serde_json::json;

    #[test]
    fn reads_group_ids_and_both_acls() {
        let mut s = ConfigStore::new();
        s.upsert(obj(
            "security-group",
            "sg1",
            &["d", "p", "web"],
            json!({"security_group_id": 8000001, "configured_security_group_id": 0}),
        ));
        s.upsert(obj(
            "security-group",
            "sg2",
            &["d", "p", "db"],
            json!({"security_group_id": 8000002, "configured_security_group_id": 42}),
        ));
        for (u, n) in [
            ("a-in", "ingress-access-control-list"),
            ("a-eg", "egress-access-control-list"),
        ] {
            s.upsert(child_of(
                obj("access-control-list", u, &["d", "p", "web", n], json!({"access_control_list_entries": {"acl_rule": [
                    {"match_condition": {"protocol": "6", "src_address": {"security_group": "8000001"}, "src_port": {"start_port": 0, "end_port": 65535},
                      "dst_address": {}, "dst_port": {"start_port": 22, "end_port": 22}, "ethertype": "IPv4"},
                     "action_list": {"simple_action": "pass"}, "rule_uuid": "r1"}]}})),
                "security-group",
                "sg1",
            ));
        }
        let g = security_group(&s, "sg1").unwrap();
        assert_eq!(
            (g.id, g.ingress_acl.as_deref(), g.egress_acl.as_deref()),
            (8000001, Some("a-in"), Some("a-eg"))
        );
        assert_eq!(security_group(&s, "sg2").unwrap().id, 42);
        let e = acl_entries(&s, "a-in").unwrap();
        assert_eq!(e.acl_rule.len(), 1);
        assert_eq!(e.acl_rule[0].rule_uuid.as_deref(), Some("r1"));
        assert!(acl_entries(&s, "nope").is_err());
    }
}
