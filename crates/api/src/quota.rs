//! Per-project quotas, as Contrail's api-server keeps them (`vnc_quota.py`): a project's
//! `quota.<type>` (else `quota.defaults`; negative or unset means unlimited) bounds how many
//! objects of a type count against it. Exceeding one is OverQuota (412).
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

use std::sync::Arc;

use serde_json::Value;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::keys;
use crate::object::Obj;
use crate::rules::at;
use crate::write::Planned;

/// The project's limit for `key` (a type name with underscores), None when unlimited.
pub fn limit(project: &Obj, key: &str) -> Option<i64> {
    let quota = project.body.get("quota")?;
    quota
        .get(key)
        .and_then(Value::as_i64)
        .or_else(|| quota.get("defaults").and_then(Value::as_i64))
        .filter(|l| *l >= 0)
}

/// The project `obj` counts against, Contrail's way (see the module doc).
fn project_of<'a>(index: &'a Index, obj: &Obj) -> Option<&'a Arc<Obj>> {
    if let Some(r) = obj.refs().find(|r| r.to_type == "project") {
        return index.get(r.uuid);
    }
    let parent = index.get(&obj.parent.as_ref()?.uuid)?;
    match (obj.type_name(), parent.type_name()) {
        (_, "project") => Some(parent),
        ("floating-ip-pool" | "loadbalancer-member", _) => index.get(&parent.parent.as_ref()?.uuid),
        _ => None,
    }
}

fn visible(o: &Obj) -> bool {
    at(o, &["id_perms", "user_visible"]) != Some(&Value::Bool(false))
}

/// Objects of `obj`'s type already counted against `project`.
fn used(index: &Index, project: &Obj, type_name: &str) -> usize {
    let under = |parent_type: &'static str| {
        index
            .children(&project.uuid)
            .filter(move |c| c.type_name() == parent_type)
            .flat_map(|c| index.children(&c.uuid))
            .filter(|o| o.type_name() == type_name && visible(o))
            .count()
    };
    match type_name {
        "floating-ip-pool" => under("virtual-network"),
        "loadbalancer-member" => under("loadbalancer-pool"),
        _ if project.ty.children.iter().any(|c| c == type_name) => index
            .children(&project.uuid)
            .filter(|o| o.type_name() == type_name && visible(o))
            .count(),
        _ => index
            .back_refs(&project.uuid)
            .filter(|o| o.type_name() == type_name && visible(o))
            .count(),
    }
}

/// Checks the create of `obj` against its project's quota for its type. Objects that count
/// against no project fall back to the caller's project, counted by owner.
pub fn check_create(
    index: &Index,
    obj: &Obj,
    caller: &Caller,
    what: &str,
    p: &mut Planned,
) -> ApiResult<()> {
    if !visible(obj) {
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
    let Some(limit) = limit(project, obj.ty.underscored()) else {
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

/// Checks a count that is not of objects (quota `key`): the project's total once
/// the write is done is `total()`, counted only when the project has that quota (counting
/// walks the project's children); only a write that makes it grow (`grew`) can pass the
/// limit, so shrinking below a lowered quota is always allowed.
pub fn check_count(
    index: &Index,
    what: &str,
    project: &Obj,
    key: &str,
    total: impl FnOnce() -> usize,
    grew: bool,
    p: &mut Planned,
) -> ApiResult<()> {
    let Some(limit) = limit(project, key).filter(|_| grew) else {
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
    what: &str,
    sg: &Obj,
    old: Option<&Obj>,
    p: &mut Planned,
) -> ApiResult<()> {
    let Some(project) = sg.parent.as_ref().and_then(|par| index.get(&par.uuid)) else {
        return Ok(());
    };
    if project.type_name() != "project" || !visible(sg) {
        return Ok(());
    }
    let now = rule_count(sg);
    let total = || {
        let others: usize = index
            .children(&project.uuid)
            .filter(|o| o.type_name() == "security-group" && o.uuid != sg.uuid && visible(o))
            .map(|o| rule_count(o))
            .sum();
        others + now
    };
    let grew = now > old.map_or(0, rule_count);
    check_count(index, what, project, "security_group_rule", total, grew, p)
}

/// Compares the project's quota key for `key` as the count saw it, and rewrites it.
fn guard(index: &Index, project: &Obj, key: &str, p: &mut Planned) {
    let k = keys::quota(&project.uuid, key);
    p.at_revision(k.clone(), index.quota_revision(&project.uuid, key));
    p.put(k, Vec::new());
}
