//! Per-project quotas, as Contrail's api-server keeps them (`vnc_quota.py`): a project's
//! `quota.<type>`, else the operator's default for the type, else the operator's `defaults`
//! ([`QuotaDefaults`], Contrail's `[QUOTA]` section; a project's own `quota.defaults` is not
//! read, as in Contrail), bounds how many objects of a type count against it; negative or unset
//! means unlimited. Only the types `QuotaType` names have quotas. A project may hold one
//! `host_based_service` at most: any limit but 0 or 1 (unset included) counts as 0. Exceeding
//! a quota is OverQuota (412).
//!
//! Which project an object counts against: the one it refers to (`project_refs`, a floating
//! IP's owner), else its parent project, else for a floating-ip-pool or loadbalancer-member the
//! project above its parent. What is counted: the project's children of the type, the pools of
//! its networks, the members of its load-balancer pools, the objects referring to it; and two
//! counts that are not objects: the rules of its security groups and the subnets of its
//! networks, checked when a write makes them grow.
//!
//! Each check that applies compares and rewrites the project's quota key for the type in the
//! write's transaction ([`keys::quota`]), so concurrent writers (on any replica) cannot all
//! pass one count.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::auth::{Caller, user_visible};
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::keys;
use crate::object::Obj;
use crate::rules::at;
use crate::write::Planned;

/// The operator's default limits for projects that set none: per quota type (`subnet=10`), and
/// `defaults` for every type without its own default. Contrail reads them from the `[QUOTA]`
/// section of its config file; `cirrus-controller` from `--quota-default`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuotaDefaults {
    per_type: BTreeMap<String, i64>,
    all: Option<i64>,
}

/// The quota `QuotaType` has for `key` (a type name with underscores, or `defaults`).
fn is_quota_key(key: &str) -> bool {
    cirrus_model::schema()
        .type_def("QuotaType")
        .is_some_and(|t| t.field(key).is_some())
}

impl QuotaDefaults {
    /// Parses `TYPE=LIMIT` items (`virtual_network=10`, `defaults=100`); TYPE is a field of
    /// Contrail's `QuotaType`, LIMIT an integer (negative: unlimited).
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, String> {
        let mut d = QuotaDefaults::default();
        for item in items {
            let item = item.as_ref().trim();
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| format!("quota default {item:?}: expected TYPE=LIMIT"))?;
            let key = key.trim().replace('-', "_");
            if !is_quota_key(&key) {
                return Err(format!(
                    "quota default {item:?}: {key} is not a quota type (a field of QuotaType, \
                     such as virtual_network, subnet, security_group_rule or defaults)"
                ));
            }
            let limit: i64 = value.trim().parse().map_err(|_| {
                format!("quota default {item:?}: limit {value:?} is not an integer")
            })?;
            if key == "defaults" {
                d.all = Some(limit);
            } else {
                d.per_type.insert(key, limit);
            }
        }
        Ok(d)
    }

    pub fn is_empty(&self) -> bool {
        self.per_type.is_empty() && self.all.is_none()
    }

    /// `type=limit` items, for the start-up log.
    pub fn describe(&self) -> String {
        let mut items: Vec<String> = self
            .per_type
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if let Some(a) = self.all {
            items.push(format!("defaults={a}"));
        }
        items.join(",")
    }

    /// The project's limit for `key` (a type name with underscores), None when unlimited.
    pub fn limit(&self, project: &Obj, key: &str) -> Option<i64> {
        if key == "defaults" || !is_quota_key(key) {
            return None;
        }
        let limit = project
            .body
            .get("quota")
            .and_then(|q| q.get(key))
            .and_then(Value::as_i64)
            .or_else(|| self.per_type.get(key).copied())
            .or(self.all)
            .unwrap_or(-1);
        let limit = match limit {
            0 | 1 => limit,
            _ if key == "host_based_service" => 0,
            _ => limit,
        };
        (limit >= 0).then_some(limit)
    }
}

/// The project `obj` counts against, Contrail's way (see the module doc).
fn project_of<'a>(index: &'a Index, obj: &Obj) -> Option<&'a Arc<Obj>> {
    if let Some(r) = obj.refs().find(|r| r.to_type == "project") {
        return index.get(r.uuid);
    }
    let parent = index.get(&obj.parent.as_ref()?.uuid)?;
    match (obj.type_name(), parent.type_name()) {
        (_, "project") => Some(parent),
        // A pool's floating IP without a project ref gets one to the project its fq_name
        // starts with (rules/floating_ip.rs), and counts against it.
        ("floating-ip", "floating-ip-pool") => index.by_fq_name(
            "project",
            &obj.fq_name[..2.min(obj.fq_name.len())].join(":"),
        ),
        ("floating-ip-pool" | "loadbalancer-member", _) => index.get(&parent.parent.as_ref()?.uuid),
        _ => None,
    }
}

/// Objects of `obj`'s type already counted against `project`.
fn used(index: &Index, project: &Obj, type_name: &str) -> usize {
    let under = |parent_type: &'static str| {
        index
            .children(&project.uuid)
            .filter(move |c| c.type_name() == parent_type)
            .flat_map(|c| index.children(&c.uuid))
            .filter(|o| o.type_name() == type_name && user_visible(o))
            .count()
    };
    match type_name {
        "floating-ip-pool" => under("virtual-network"),
        "loadbalancer-member" => under("loadbalancer-pool"),
        _ if project.ty.children.iter().any(|c| c == type_name) => index
            .children(&project.uuid)
            .filter(|o| o.type_name() == type_name && user_visible(o))
            .count(),
        _ => index
            .back_refs(&project.uuid)
            .filter(|o| o.type_name() == type_name && user_visible(o))
            .count(),
    }
}

/// Checks the create of `obj` against its project's quota for its type. Objects that count
/// against no project fall back to the caller's project, counted by owner.
pub fn check_create(
    index: &Index,
    quotas: &QuotaDefaults,
    obj: &Obj,
    caller: &Caller,
    what: &str,
    p: &mut Planned,
) -> ApiResult<()> {
    if !user_visible(obj) {
        return Ok(());
    }
    let found = project_of(index, obj);
    let project = match found {
        Some(p) => p,
        None => match caller.project_uuid.as_deref().and_then(|u| index.get(u)) {
            Some(p) => p,
            None => return Ok(()),
        },
    };
    let Some(limit) = quotas.limit(project, obj.ty.underscored()) else {
        return Ok(());
    };
    let used = if found.is_some() {
        used(index, project, obj.type_name())
    } else {
        let owner = project.uuid.replace('-', "");
        index
            .of_type(obj.type_name())
            .filter(|o| at(o, &["perms2", "owner"]).and_then(Value::as_str) == Some(&owner))
            .count()
    };
    if used as i64 >= limit {
        return Err(ApiError::over_quota(format!(
            "{what}: quota exceeded: project {} allows {limit} {} objects",
            project.fq_str,
            obj.type_name()
        )));
    }
    guard(index, project, obj.ty.underscored(), p);
    Ok(())
}

/// Checks a count that is not of objects (quota `key`), for a write that makes it grow
/// (callers skip writes that do not, so shrinking below a lowered quota is always allowed): the
/// project's total once the write is done is `total()`, counted only when the project has that
/// quota (counting walks the project's children).
pub fn check_count(
    index: &Index,
    quotas: &QuotaDefaults,
    what: &str,
    project: &Obj,
    key: &str,
    total: impl FnOnce() -> usize,
    p: &mut Planned,
) -> ApiResult<()> {
    let Some(limit) = quotas.limit(project, key) else {
        return Ok(());
    };
    if total() as i64 > limit {
        return Err(ApiError::over_quota(format!(
            "{what}: quota exceeded: project {} allows {limit} {}s",
            project.fq_str,
            key.replace('_', " ")
        )));
    }
    guard(index, project, key, p);
    Ok(())
}

fn rule_count(sg: &Obj) -> usize {
    at(sg, &["security_group_entries", "policy_rule"])
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

/// The `security_group_rule` quota: the rules of all the project's security groups.
pub fn check_security_group_rules(
    index: &Index,
    quotas: &QuotaDefaults,
    what: &str,
    sg: &Obj,
    old: Option<&Obj>,
    p: &mut Planned,
) -> ApiResult<()> {
    let Some(project) = sg.parent.as_ref().and_then(|par| index.get(&par.uuid)) else {
        return Ok(());
    };
    if project.type_name() != "project" || !user_visible(sg) {
        return Ok(());
    }
    let now = rule_count(sg);
    let total = || {
        let others: usize = index
            .children(&project.uuid)
            .filter(|o| o.type_name() == "security-group" && o.uuid != sg.uuid && user_visible(o))
            .map(|o| rule_count(o))
            .sum();
        others + now
    };
    if now <= old.map_or(0, rule_count) {
        return Ok(());
    }
    check_count(
        index,
        quotas,
        what,
        project,
        "security_group_rule",
        total,
        p,
    )
}

/// Compares the project's quota key for `key` as the count saw it, and rewrites it.
fn guard(index: &Index, project: &Obj, key: &str, p: &mut Planned) {
    let k = keys::quota(&project.uuid, key);
    p.at_revision(k.clone(), index.quota_revision(&project.uuid, key));
    p.put(k, Vec::new());
}

#[cfg(test)]
mod tests {
    use super::QuotaDefaults;

    #[test]
    fn defaults_parse_quota_types_and_integers_only() {
        let d =
            QuotaDefaults::parse(&["virtual-network=10", " subnet = 3 ", "defaults=-1"]).unwrap();
        assert_eq!(d.describe(), "subnet=3,virtual_network=10,defaults=-1");
        let err = |item: &str| QuotaDefaults::parse(&[item]).unwrap_err();
        assert!(err("tag=3").contains("tag is not a quota type"));
        assert!(err("subnet").contains("expected TYPE=LIMIT"));
        assert!(err("subnet=x").contains("is not an integer"));
        assert!(QuotaDefaults::parse::<&str>(&[]).unwrap().is_empty());
    }
}
