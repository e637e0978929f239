//! Security draft mode (Contrail's `_security_base.py`): while `enable_security_policy_draft` is
//! on for a scope (a project, or the global system config for the resources under
//! `default-policy-management`), a client's create, update or delete of a security resource
//! (application policy set, firewall policy, firewall rule, service group, address group, the
//! types of Contrail's `SECURITY_OBJECT_TYPES`) is not applied: it becomes a draft copy under the
//! scope's `draft-policy-management` with `draft_mode_state` `created`, `updated` or `deleted`,
//! answered 202. `POST /security-policy-draft` (`commit.rs`) applies or drops the drafts. The
//! draft policy management itself is made and removed by `hooks/security_draft.rs`.
//!
//! This module decides, for one write, whether it goes to a draft and plans the draft's side;
//! `ops.rs` calls it before planning a plain write.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::object::{Obj, Parent, default_id_perms};
use crate::reservations::Reservations;

pub mod commit;

/// Contrail's `SECURITY_OBJECT_TYPES`, in its order (commit applies them leaves first).
pub const SECURITY_TYPES: [&str; 5] = [
    "application-policy-set",
    "firewall-policy",
    "firewall-rule",
    "service-group",
    "address-group",
];

pub const DRAFT_PM: &str = "draft-policy-management";
const STATE: &str = "draft_mode_state";
const GLOBAL_PM: &str = "default-policy-management";
const GSC: &str = "default-global-system-config";

/// What a write did: applied, or accepted as a draft (202).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    Pending,
}

pub fn is_security(type_name: &str) -> bool {
    SECURITY_TYPES.contains(&type_name)
}

/// A scope in draft mode: the object holding the flag (project or global system config), the
/// one owning its enforced security resources (the project, or the global policy management),
/// and its draft policy management.
pub struct Scope {
    pub flag_holder: Arc<Obj>,
    pub owner: Arc<Obj>,
    pub draft_pm: Arc<Obj>,
}

fn enabled(o: &Obj) -> bool {
    o.body
        .get("enable_security_policy_draft")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The draft scope of a security resource whose parent is `parent`, when draft mode is on there.
pub fn scope_of(index: &Index, parent: &Obj) -> Option<Scope> {
    let (flag_holder, draft_fq) = match parent.type_name() {
        "project" => (
            index.get(&parent.uuid)?.clone(),
            format!("{}:{DRAFT_PM}", parent.fq_str),
        ),
        "policy-management" if parent.fq_str == GLOBAL_PM => (
            index.by_fq_name("global-system-config", GSC)?.clone(),
            DRAFT_PM.to_string(),
        ),
        _ => return None,
    };
    if !enabled(&flag_holder) {
        return None;
    }
    Some(Scope {
        flag_holder,
        owner: index.get(&parent.uuid)?.clone(),
        draft_pm: index.by_fq_name("policy-management", &draft_fq)?.clone(),
    })
}

/// The scope of a stored security resource (None for drafts, other types, draft mode off).
pub fn scope_of_obj(index: &Index, obj: &Obj) -> Option<Scope> {
    if !is_security(obj.type_name()) {
        return None;
    }
    scope_of(index, index.get(&obj.parent.as_ref()?.uuid)?)
}

/// Whether `obj` is a draft copy (its parent is a draft policy management).
pub fn is_draft(obj: &Obj) -> bool {
    obj.fq_name.len() >= 2 && obj.fq_name[obj.fq_name.len() - 2] == DRAFT_PM
}

pub fn state(obj: &Obj) -> Option<&str> {
    obj.body.get(STATE).and_then(Value::as_str)
}

/// The draft copy of the enforced resource `obj`, if one is pending.
pub fn pending_of<'a>(index: &'a Index, scope: &Scope, obj: &Obj) -> Option<&'a Arc<Obj>> {
    index.by_fq_name(
        obj.type_name(),
        &format!("{}:{}", scope.draft_pm.fq_str, obj.name()),
    )
}

fn title(type_name: &str) -> String {
    type_name
        .split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Refuses a change to the scope's security resources while a commit or discard holds it.
pub fn check_unlocked(reserved: &Reservations, scope: &Scope, type_name: &str) -> ApiResult<()> {
    match reserved.scope_action(&scope.flag_holder.uuid) {
        None => Ok(()),
        Some(action) => Err(ApiError::bad_request(format!(
            "Action '{action}' on {} '{}' ({}) scope is under progress. Cannot modify {} \
             security resource.",
            title(scope.flag_holder.type_name()),
            scope.flag_holder.fq_str,
            scope.flag_holder.uuid,
            title(type_name)
        ))),
    }
}

/// A security resource refers to none pending delete (Contrail's
/// `no_pending_deleted_resource_in_refs`), 400; on update, only refs `old` did not have.
pub fn check_refs(index: &Index, obj: &Obj, old: Option<&Obj>) -> ApiResult<()> {
    let had = |u: &str| old.is_some_and(|o| o.refs().any(|r| r.uuid == u));
    for r in obj
        .refs()
        .filter(|r| is_security(r.to_type) && !had(r.uuid))
    {
        let Some(target) = index.get(r.uuid) else {
            continue;
        };
        let pending = if is_draft(target) {
            Some(target)
        } else {
            scope_of_obj(index, target).and_then(|s| pending_of(index, &s, target))
        };
        if pending.is_some_and(|d| state(d) == Some("deleted")) {
            return Err(ApiError::bad_request(format!(
                "Referenced {} resource '{}' ({}) is in pending delete state, it cannot be \
                 referenced",
                title(r.to_type),
                target.fq_str,
                r.uuid
            )));
        }
    }
    Ok(())
}

/// A draft that is pending delete takes no update (400).
pub fn check_not_pending_delete(draft: &Obj, what_fq: &str) -> ApiResult<()> {
    if state(draft) == Some("deleted") {
        return Err(ApiError::bad_request(format!(
            "{} {what_fq} is in pending delete, cannot be updated",
            title(draft.type_name())
        )));
    }
    Ok(())
}

/// A create going to the draft: refused when a draft of that name is already pending.
pub fn check_create(index: &Index, scope: &Scope, type_name: &str, name: &str) -> ApiResult<()> {
    let draft_fq = format!("{}:{name}", scope.draft_pm.fq_str);
    if index.uuid_of(type_name, &draft_fq).is_some() {
        return Err(ApiError::bad_request(format!(
            "{} named {}:{name} was already created and it is pending to be committed or \
             discarded. You cannot create it again",
            title(type_name),
            scope.owner.fq_str
        )));
    }
    Ok(())
}

/// Where a draft of `name` lives.
pub fn draft_identity(scope: &Scope, name: &str) -> (Vec<String>, Parent) {
    let mut fq = scope.draft_pm.fq_name.clone();
    fq.push(name.to_string());
    (
        fq,
        Parent {
            type_name: "policy-management",
            uuid: scope.draft_pm.uuid.clone(),
        },
    )
}

/// Marks a new object as a draft in `state`.
pub fn mark(obj: &mut Obj, state: &str) {
    obj.body.insert(STATE.into(), json!(state));
}

/// A draft copy of `obj` (its body as given) under the scope's draft policy management: a new
/// uuid, in `state`.
pub fn copy(scope: &Scope, obj: &Obj, state: &str) -> Obj {
    let uuid = uuid::Uuid::new_v4().to_string();
    let (fq_name, parent) = draft_identity(scope, obj.name());
    let mut body: Map<String, Value> = obj.body.clone();
    let fresh = default_id_perms(&uuid);
    if let Some(Value::Object(ip)) = body.get_mut("id_perms") {
        for k in ["uuid", "created", "last_modified"] {
            ip.insert(k.into(), fresh[k].clone());
        }
    } else {
        body.insert("id_perms".into(), fresh);
    }
    let mut d = Obj {
        ty: obj.ty,
        uuid,
        fq_str: fq_name.join(":"),
        fq_name,
        parent: Some(parent),
        body,
        revision: 0,
    };
    mark(&mut d, state);
    d
}

/// Drops the fields that name the enforced object from an update body aimed at its draft.
pub fn retarget_input(input: &Map<String, Value>) -> Map<String, Value> {
    let mut m = input.clone();
    for k in ["fq_name", "uuid", "parent_type", "parent_uuid", "name"] {
        m.remove(k);
    }
    m
}

/// Refuses a delete (409) while something that stays refers to `obj`: an enforced referrer
/// without a draft, or a draft that still refers to it (Contrail's `pending_dbe_delete`).
pub fn check_delete_refs(index: &Index, obj: &Obj) -> ApiResult<()> {
    let mut held = Vec::new();
    for r in index.back_refs(&obj.uuid) {
        if index.is_relaxed(&obj.uuid, &r.uuid) || !is_security(r.type_name()) {
            if !index.is_relaxed(&obj.uuid, &r.uuid) {
                held.push(r.clone());
            }
            continue;
        }
        let pending = if is_draft(r) {
            Some(r)
        } else {
            scope_of_obj(index, r).and_then(|s| pending_of(index, &s, r))
        };
        match pending {
            None => held.push(r.clone()),
            Some(d) if state(d) == Some("deleted") => {}
            Some(d) if d.refs().any(|x| x.uuid == obj.uuid) => held.push(r.clone()),
            Some(_) => {}
        }
    }
    if held.is_empty() {
        return Ok(());
    }
    Err(ApiError::conflict(format!(
        "Delete when resource still referred: cannot delete {} {}: still referred by {:?}",
        obj.type_name(),
        obj.fq_str,
        held.iter()
            .map(|r| format!("{} {}", r.type_name(), r.fq_str))
            .collect::<Vec<_>>()
    )))
}
