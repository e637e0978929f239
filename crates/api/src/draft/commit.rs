//! `POST /security-policy-draft` `{scope_uuid, action}` (Contrail's `security_policy_draft`):
//! `commit` applies a scope's drafts to the enforced resources (a created draft becomes the
//! resource, keeping its uuid; an updated one's body replaces the resource's; a deleted one
//! deletes it), `discard` drops them. Draft mode stays on. Either runs as one transaction while
//! the scope is held: other changes to its security resources get 400 meanwhile, and so does a
//! second action. What refers to a committed draft from outside the commit (another scope's
//! resources) is re-pointed to the committed resource in the same transaction. Unlike
//! Contrail's sequence of internal requests, a commit that would leave a ref to a deleted
//! resource changes nothing (409).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Value, json};

use super::{DRAFT_PM, SECURITY_TYPES, state, title};
use crate::auth::WRITE;
use crate::error::{ApiError, ApiResult};
use crate::http::{caller, json_response, parse_body};
use crate::index::Index;
use crate::keys;
use crate::object::{Obj, Parent};
use crate::state::ApiState;
use crate::write::{self, Planned};

/// Releases the scope when the action ends, however it ends.
struct ScopeHold<'a>(&'a ApiState, String);

impl Drop for ScopeHold<'_> {
    fn drop(&mut self) {
        self.0.reservations.unlock_scope(&self.1);
    }
}

pub async fn security_policy_draft(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_body(&body)?;
    let field = |k: &str| {
        body.get(k).and_then(Value::as_str).ok_or_else(|| {
            ApiError::bad_request(format!(
                "security-policy-draft: `{k}` (a string) is required"
            ))
        })
    };
    let scope_uuid = field("scope_uuid")?.to_string();
    let action = field("action")?.to_string();
    if action != "commit" && action != "discard" {
        return Err(ApiError::bad_request(format!(
            "security-policy-draft: action: Only 'commit' or 'discard' actions are supported, \
             not {action:?}"
        )));
    }
    let caller = caller(&state, &headers)?;
    let (pm_fq, scope_title, scope_fq) = {
        let index = state.index();
        let scope = index.get(&scope_uuid).ok_or_else(|| {
            ApiError::not_found(format!(
                "security-policy-draft: Cannot find scope where pending security resource are \
                 own: no object has uuid {scope_uuid}"
            ))
        })?;
        caller.check(scope, WRITE)?;
        let pm_fq = match scope.type_name() {
            "global-system-config" => DRAFT_PM.to_string(),
            "project" => format!("{}:{DRAFT_PM}", scope.fq_str),
            t => {
                return Err(ApiError::bad_request(format!(
                    "security-policy-draft: scope_uuid: {t} {} is not a security scope (a \
                     project or the global system config)",
                    scope.fq_str
                )));
            }
        };
        (pm_fq, title(scope.type_name()), scope.fq_str.clone())
    };
    if state
        .index()
        .by_fq_name("policy-management", &pm_fq)
        .is_none()
    {
        return Err(ApiError::bad_request(format!(
            "Security draft mode is not enabled on the {scope_title} {scope_fq} ({scope_uuid})"
        )));
    }
    if !state.reservations.try_lock_scope(&scope_uuid, &action) {
        return Err(ApiError::bad_request(format!(
            "Security resource modifications or commit/discard action on {scope_title} \
             '{scope_fq}' ({scope_uuid}) scope is under progress. Try again later."
        )));
    }
    let _hold = ScopeHold(&state, scope_uuid.clone());
    write::run(&state, |idx, _| {
        let scope = idx
            .get(&scope_uuid)
            .ok_or_else(|| ApiError::not_found(format!("scope {scope_uuid} is gone")))?;
        let pm = idx.by_fq_name("policy-management", &pm_fq).ok_or_else(|| {
            ApiError::bad_request(format!(
                "Security draft mode is not enabled on the {scope_title} {scope_fq} \
                 ({scope_uuid})"
            ))
        })?;
        let plan = if action == "commit" {
            plan_commit(idx, scope, pm)?
        } else {
            plan_discard(idx, pm)?
        };
        Ok((plan, ()))
    })
    .await?;
    Ok(json_response(&json!({})))
}

/// The drafts under `pm`, in Contrail's order of types.
fn drafts<'a>(index: &'a Index, pm: &Obj) -> Vec<&'a Arc<Obj>> {
    let mut v: Vec<&Arc<Obj>> = index
        .children(&pm.uuid)
        .filter(|c| SECURITY_TYPES.contains(&c.type_name()))
        .collect();
    v.sort_by_key(|c| SECURITY_TYPES.iter().position(|t| *t == c.type_name()));
    v
}

/// What a commit or discard leaves: per uuid, the object's new body (Some) or its removal.
type Outcome = HashMap<String, Option<Obj>>;

fn plan_discard(index: &Index, pm: &Obj) -> ApiResult<Planned> {
    let mut out = Outcome::new();
    let mut p = Planned::default();
    for d in drafts(index, pm) {
        p.at_revision(keys::obj(&d.uuid), d.revision);
        p.delete(keys::fqn(d.type_name(), &d.fq_str));
        out.insert(d.uuid.clone(), None);
    }
    finish(index, out, p)
}

fn plan_commit(index: &Index, scope: &Obj, pm: &Obj) -> ApiResult<Planned> {
    let owner = match scope.type_name() {
        "project" => scope,
        _ => index
            .by_fq_name("policy-management", "default-policy-management")
            .ok_or_else(|| ApiError::internal("the global policy management is missing"))?,
    };
    let mut out = Outcome::new();
    let mut p = Planned::default();
    // A draft's uuid → the uuid its resource has once committed.
    let mut renamed: HashMap<String, String> = HashMap::new();
    let mut commits = Vec::new();
    for d in drafts(index, pm) {
        p.at_revision(keys::obj(&d.uuid), d.revision);
        p.delete(keys::fqn(d.type_name(), &d.fq_str));
        out.insert(d.uuid.clone(), None);
        let fq_str = format!("{}:{}", owner.fq_str, d.name());
        let enforced = index.by_fq_name(d.type_name(), &fq_str);
        match (state(d), enforced) {
            (Some("created"), None) => {
                let mut o = (**d).clone();
                o.fq_name = owner.fq_name.clone();
                o.fq_name.push(d.name().to_string());
                o.fq_str = fq_str;
                o.parent = Some(Parent {
                    type_name: owner.type_name(),
                    uuid: owner.uuid.clone(),
                });
                p.absent(
                    keys::fqn(o.type_name(), &o.fq_str),
                    Some(format!("{} {} already exists", o.type_name(), o.fq_str)),
                );
                commits.push(o);
            }
            (Some("updated"), Some(e)) => {
                let mut o = (**e).clone();
                o.body = d.body.clone();
                for k in ["uuid", "created"] {
                    if let (Some(ip), Some(v)) = (
                        o.body.get_mut("id_perms").and_then(Value::as_object_mut),
                        e.body.get("id_perms").and_then(|ip| ip.get(k)),
                    ) {
                        ip.insert(k.into(), v.clone());
                    }
                }
                if let Some(p2) = e.body.get("perms2") {
                    o.body.insert("perms2".into(), p2.clone());
                }
                p.at_revision(keys::obj(&e.uuid), e.revision);
                renamed.insert(d.uuid.clone(), e.uuid.clone());
                commits.push(o);
            }
            (Some("deleted"), Some(e)) => {
                p.at_revision(keys::obj(&e.uuid), e.revision);
                p.delete(keys::fqn(e.type_name(), &e.fq_str));
                crate::hooks::on_delete(index, e, &mut p);
                renamed.insert(d.uuid.clone(), e.uuid.clone());
                out.insert(e.uuid.clone(), None);
            }
            (s, e) => tracing::warn!(
                draft = %d.fq_str, state = ?s, enforced = e.is_some(),
                "a draft in no committable state is dropped"
            ),
        }
    }
    let drafted: Vec<String> = out.keys().cloned().collect();
    for mut o in commits {
        o.body.remove(super::STATE);
        retarget_refs(&mut o, pm, owner, &renamed);
        p.put(keys::fqn(o.type_name(), &o.fq_str), o.uuid.clone());
        out.insert(o.uuid.clone(), Some(o));
    }
    // Resources outside this commit (another scope's, or its drafts) that refer to these drafts
    // refer to the committed resources instead.
    let mut others: HashMap<String, Obj> = HashMap::new();
    for d in &drafted {
        for r in index.back_refs(d) {
            if out.contains_key(&r.uuid) {
                continue;
            }
            let o = others
                .entry(r.uuid.clone())
                .or_insert_with(|| (**r).clone());
            p.at_revision(keys::obj(&r.uuid), r.revision);
            retarget_refs(o, pm, owner, &renamed);
        }
    }
    for (u, o) in others {
        out.insert(u, Some(o));
    }
    finish(index, out, p)
}

/// Refs and firewall-rule endpoints naming drafts name the committed resources instead.
fn retarget_refs(o: &mut Obj, pm: &Obj, owner: &Obj, renamed: &HashMap<String, String>) {
    let draft_prefix = format!("{}:", pm.fq_str);
    let rename_fq = |s: &str| -> Option<String> {
        s.strip_prefix(&draft_prefix)
            .map(|n| format!("{}:{n}", owner.fq_str))
    };
    let ty = o.ty;
    for (field, list) in o.body.iter_mut() {
        if ty.ref_by_field(field).is_some() {
            for r in list.as_array_mut().into_iter().flatten() {
                if let Some(u) = r.get("uuid").and_then(Value::as_str)
                    && let Some(n) = renamed.get(u)
                {
                    r["uuid"] = json!(n);
                }
                let to: Option<Vec<String>> = r
                    .get("to")
                    .and_then(|t| serde_json::from_value(t.clone()).ok());
                if let Some(fq) = to.and_then(|t| rename_fq(&t.join(":"))) {
                    r["to"] = json!(fq.split(':').collect::<Vec<_>>());
                }
            }
        } else if (field == "endpoint_1" || field == "endpoint_2")
            && let Some(ag) = list.get("address_group").and_then(Value::as_str)
            && let Some(n) = rename_fq(ag)
        {
            list["address_group"] = json!(n);
        }
    }
}

/// Checks that what stays refers only to what stays, then writes the outcome.
fn finish(index: &Index, out: Outcome, mut p: Planned) -> ApiResult<Planned> {
    let exists = |u: &str| match out.get(u) {
        Some(o) => o.is_some(),
        None => index.get(u).is_some(),
    };
    for (u, o) in &out {
        match o {
            Some(o) => {
                if let Some(r) = o.refs().find(|r| !exists(r.uuid)) {
                    return Err(ApiError::conflict(format!(
                        "{} {} would refer to {} {}, which does not stay",
                        o.type_name(),
                        o.fq_str,
                        r.to_type,
                        r.uuid
                    )));
                }
            }
            None => {
                let held: Vec<String> = index
                    .back_refs(u)
                    .filter(|r| !out.contains_key(&r.uuid) && !index.is_relaxed(u, &r.uuid))
                    .map(|r| format!("{} {}", r.type_name(), r.fq_str))
                    .collect();
                if !held.is_empty() {
                    let what = index
                        .get(u)
                        .map(|o| format!("{} {}", o.type_name(), o.fq_str))
                        .unwrap_or_default();
                    return Err(ApiError::conflict(format!(
                        "Delete when resource still referred: cannot delete {what}: still \
                         referred by {held:?}"
                    )));
                }
            }
        }
    }
    for (u, o) in out {
        match o {
            Some(o) => p.put(keys::obj(&u), o.to_stored()),
            None => p.delete(keys::obj(&u)),
        }
    }
    Ok(p)
}
