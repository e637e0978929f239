//! Create, update and delete of one object, planned against the index and committed as one store
//! transaction together with everything that goes with it (fq_name guard, allocations, companion
//! objects, frees). Used by the REST handlers and by the bootstrap of default objects.

use std::collections::HashSet;
use std::sync::Arc;

use cirrus_model::ResourceType;
use serde_json::{Map, Value, json};

use crate::auth::{Caller, WRITE};
use crate::draft::{self, Outcome};
use crate::error::{ApiError, ApiResult};
use crate::fields::{Changes, check_fields, fq_name};
use crate::hooks::{self, Ctx};
use crate::index::Index;
use crate::keys;
use crate::object::{Obj, Parent, default_id_perms};
use crate::quota::QuotaDefaults;
use crate::reservations::Reservations;
use crate::state::ApiState;
use crate::write::{self, Planned};

/// Overlays the non-null fields of `given` on `base` (one level deep, as id_perms needs).
fn overlay(mut base: Value, given: &Value) -> Value {
    if let (Some(b), Some(g)) = (base.as_object_mut(), given.as_object()) {
        for (k, v) in g {
            if !v.is_null() {
                b.insert(k.clone(), v.clone());
            }
        }
    }
    base
}

/// Finds the fq_name and parent of a new object from `fq_name`, `parent_type`, `parent_uuid`.
fn identity(
    index: &Index,
    ty: &ResourceType,
    input: &Map<String, Value>,
) -> ApiResult<(Vec<String>, Option<Arc<Obj>>)> {
    let t = &ty.name;
    let parent_type = input
        .get("parent_type")
        .and_then(Value::as_str)
        .filter(|p| *p != "config-root");
    let parent_uuid = input.get("parent_uuid").and_then(Value::as_str);
    let real_parents: Vec<&str> = ty
        .parents
        .iter()
        .map(String::as_str)
        .filter(|p| *p != "config-root")
        .collect();
    let global_ok = ty.parents.is_empty() || ty.parents.iter().any(|p| p == "config-root");
    let fq_name = match input.get("fq_name") {
        Some(v) if !v.is_null() => fq_name(t, "fq_name", v)?,
        _ => {
            // No fq_name: build it from the parent and `name`.
            let name = input.get("name").and_then(Value::as_str).ok_or_else(|| {
                ApiError::bad_request(format!("{t}: fq_name (or parent and name) is required"))
            })?;
            let mut fq = match parent_uuid.and_then(|u| index.get(u)) {
                Some(p) => p.fq_name.clone(),
                None => vec![],
            };
            fq.push(name.to_string());
            fq
        }
    };
    let what = format!("{t} {}", fq_name.join(":"));
    if let Some(pt) = parent_type
        && !real_parents.contains(&pt)
    {
        return Err(ApiError::bad_request(format!(
            "{what}: parent_type {pt} is not a valid parent (expected one of {:?})",
            ty.parents
        )));
    }
    if fq_name.len() == 1 {
        if parent_type.is_some() || !global_ok {
            return Err(ApiError::bad_request(format!(
                "{what}: fq_name has no parent part, but a {t} lives under one of {real_parents:?}"
            )));
        }
        return Ok((fq_name, None));
    }
    let parent_fq = fq_name[..fq_name.len() - 1].join(":");
    let parent = if let Some(pu) = parent_uuid {
        let p = index
            .get(pu)
            .ok_or_else(|| ApiError::bad_request(format!("{what}: parent {pu} does not exist")))?;
        if p.fq_str != parent_fq || !real_parents.contains(&p.type_name()) {
            return Err(ApiError::bad_request(format!(
                "{what}: parent_uuid {pu} is {} {}, which does not match the fq_name",
                p.type_name(),
                p.fq_str
            )));
        }
        p.clone()
    } else {
        let candidates: Vec<&str> = match parent_type {
            Some(pt) => vec![pt],
            None => real_parents.clone(),
        };
        candidates
            .iter()
            .find_map(|pt| index.by_fq_name(pt, &parent_fq))
            .cloned()
            .ok_or_else(|| {
                // Contrail: 400 "Parent ... does not exist".
                ApiError::bad_request(format!(
                    "{what}: Parent {parent_fq} type {} does not exist",
                    candidates.join("|")
                ))
            })?
    };
    Ok((fq_name, Some(parent)))
}

/// Adds compares that every ref target still exists as we saw it.
fn guard_refs(index: &Index, obj: &Obj, p: &mut Planned, seen: &mut HashSet<String>) {
    for r in obj.refs() {
        if seen.insert(r.uuid.to_string())
            && let Some(t) = index.get(r.uuid)
        {
            p.at_revision(keys::obj(&t.uuid), t.revision);
        }
    }
}

/// Where the elements of list properties sit: Contrail gives each element of a list collection
/// a string position (`prop-collection-update`), kept here beside the body, under a key that is
/// never rendered nor accepted from clients. A list set whole has positions `0`, `1`, ...
pub const POSITIONS: &str = "__positions__";

fn apply(body: &mut Map<String, Value>, changes: Changes) {
    if let Some(Value::Object(pos)) = body.get_mut(POSITIONS) {
        for k in changes.set.keys().chain(&changes.unset) {
            pos.remove(k);
        }
        if pos.is_empty() {
            body.remove(POSITIONS);
        }
    }
    for k in changes.unset {
        body.remove(&k);
    }
    body.extend(changes.set);
}

pub fn plan_create(
    index: &Index,
    reserved: &Reservations,
    quotas: &QuotaDefaults,
    caller: &Caller,
    ty: &'static ResourceType,
    input: &Map<String, Value>,
) -> ApiResult<(Planned, String)> {
    let mut input = input.clone();
    hooks::normalize_input(&ty.name, &mut input);
    let input = &input;
    let (fq_name, parent) = identity(index, ty, input)?;
    let fq_str = fq_name.join(":");
    let what = format!("{} {fq_str}", ty.name);
    caller.check_create_under(&ty.name, parent.as_deref())?;
    if let Some(u) = index.uuid_of(&ty.name, &fq_str) {
        return Err(ApiError::conflict(format!(
            "{what} already exists with uuid: {u}"
        )));
    }
    let uuid = match input.get("uuid").and_then(Value::as_str) {
        Some(u) => {
            let parsed = uuid::Uuid::parse_str(u)
                .map_err(|_| ApiError::bad_request(format!("{what}: uuid {u:?} is not a UUID")))?;
            if index.get(u).is_some() {
                return Err(ApiError::conflict(format!(
                    "{what}: uuid {u} is already in use"
                )));
            }
            parsed.to_string()
        }
        None => uuid::Uuid::new_v4().to_string(),
    };
    // In a scope in draft mode a security resource is created as a draft (202).
    let draft_scope = parent
        .as_ref()
        .filter(|_| draft::is_security(&ty.name))
        .and_then(|par| draft::scope_of(index, par));
    if let Some(s) = &draft_scope {
        draft::check_unlocked(reserved, s, &ty.name)?;
        draft::check_create(
            index,
            s,
            &ty.name,
            fq_name.last().map_or("", String::as_str),
        )?;
    }
    let draft_identity = draft_scope
        .as_ref()
        .map(|s| draft::draft_identity(s, fq_name.last().map_or("", String::as_str)));
    let changes = check_fields(index, ty, &what, input)?;
    caller.check_create_visible(&what, changes.set.get("id_perms"))?;
    let mut body = Map::new();
    apply(&mut body, changes);
    let id_perms = overlay(
        default_id_perms(&uuid),
        body.get("id_perms").unwrap_or(&Value::Null),
    );
    body.insert("id_perms".into(), id_perms);
    let perms2 =
        json!({"owner": caller.owner(), "owner_access": 7, "global_access": 0, "share": []});
    let perms2 = if caller.admin {
        overlay(perms2, body.get("perms2").unwrap_or(&Value::Null))
    } else {
        perms2
    };
    body.insert("perms2".into(), perms2);
    if body.get("display_name").is_none_or(Value::is_null) {
        body.insert("display_name".into(), json!(fq_name.last()));
    }
    let mut obj = Obj {
        ty,
        uuid: uuid.clone(),
        fq_str,
        fq_name,
        parent: parent.as_ref().map(|p| Parent {
            type_name: p.type_name(),
            uuid: p.uuid.clone(),
        }),
        body,
        revision: 0,
    };
    let mut p = Planned::default();
    // Compare 0 is the fq_name guard: losing it means another request created the same name.
    let final_fq = draft_identity
        .as_ref()
        .map_or(obj.fq_str.clone(), |(fq, _)| fq.join(":"));
    p.absent(
        keys::fqn(&ty.name, &final_fq),
        Some(format!("{what} already exists")),
    );
    p.absent(
        keys::obj(&uuid),
        Some(format!("{what}: uuid {uuid} is already in use")),
    );
    if let Some(par) = &parent {
        p.at_revision(keys::obj(&par.uuid), par.revision);
    }
    crate::quota::check_create(index, quotas, &obj, caller, &what, &mut p)?;
    draft::check_refs(index, &obj, None)?;
    let mut seen = HashSet::new();
    guard_refs(index, &obj, &mut p, &mut seen);
    let companions = hooks::on_create(
        &Ctx {
            index,
            reserved,
            quotas,
            what: &what,
            input,
        },
        &mut obj,
        &mut p,
    )?;
    // The type's rules and hooks saw the resource where it will live once committed.
    if let Some((fq, par)) = draft_identity {
        obj.fq_str = fq.join(":");
        obj.fq_name = fq;
        obj.parent = Some(par);
        draft::mark(&mut obj, "created");
    }
    p.put(keys::obj(&obj.uuid), obj.to_stored());
    p.put(keys::fqn(obj.type_name(), &obj.fq_str), obj.uuid.clone());
    for o in &companions {
        put_new(&mut p, o);
    }
    Ok((p, uuid))
}

/// Stores `o` under its uuid and its fq_name, which no other object may hold yet (a companion,
/// a draft copy).
fn put_new(p: &mut Planned, o: &Obj) {
    p.absent(
        keys::fqn(o.type_name(), &o.fq_str),
        Some(format!("{} {} already exists", o.type_name(), o.fq_str)),
    );
    p.put(keys::obj(&o.uuid), o.to_stored());
    p.put(keys::fqn(o.type_name(), &o.fq_str), o.uuid.clone());
}

pub fn plan_update(
    index: &Index,
    reserved: &Reservations,
    quotas: &QuotaDefaults,
    caller: &Caller,
    old: &Obj,
    input: &Map<String, Value>,
) -> ApiResult<(Planned, Outcome)> {
    plan_update_with(index, reserved, quotas, caller, old, input, &Map::new())
}

/// An update that also records element positions of list properties (see [`POSITIONS`]). A
/// security resource in a scope in draft mode is not changed: its draft is (made if need be).
pub fn plan_update_with(
    index: &Index,
    reserved: &Reservations,
    quotas: &QuotaDefaults,
    caller: &Caller,
    old: &Obj,
    input: &Map<String, Value>,
    positions: &Map<String, Value>,
) -> ApiResult<(Planned, Outcome)> {
    caller.check(old, WRITE)?;
    if draft::is_draft(old) {
        draft::check_not_pending_delete(old, &old.fq_str)?;
    } else if let Some(s) = draft::scope_of_obj(index, old) {
        draft::check_unlocked(reserved, &s, old.type_name())?;
        if let Some(d) = draft::pending_of(index, &s, old) {
            draft::check_not_pending_delete(d, &old.fq_str)?;
            let retargeted = draft::retarget_input(input);
            let (new, mut p) = updated(index, reserved, quotas, d, &retargeted, positions)?;
            p.put(keys::obj(&new.uuid), new.to_stored());
            return Ok((p, Outcome::Pending));
        }
        let (new, mut p) = updated(index, reserved, quotas, old, input, positions)?;
        put_new(&mut p, &draft::copy(&s, &new, "updated"));
        return Ok((p, Outcome::Pending));
    }
    let (new, mut p) = updated(index, reserved, quotas, old, input, positions)?;
    p.put(keys::obj(&new.uuid), new.to_stored());
    Ok((p, Outcome::Applied))
}

/// `old` with the update applied, checked and with its type's hooks run; the plan holds
/// everything but the object's own put.
fn updated(
    index: &Index,
    reserved: &Reservations,
    quotas: &QuotaDefaults,
    old: &Obj,
    input: &Map<String, Value>,
    positions: &Map<String, Value>,
) -> ApiResult<(Obj, Planned)> {
    let what = format!("{} {}", old.type_name(), old.fq_str);
    if let Some(fq) = input.get("fq_name").filter(|v| !v.is_null())
        && cirrus_model::parse_fq_name("fq_name", fq).ok().as_ref() != Some(&old.fq_name)
    {
        return Err(ApiError::bad_request(format!(
            "{what}: fq_name cannot be changed"
        )));
    }
    if let Some(u) = input.get("uuid").and_then(Value::as_str)
        && u != old.uuid
    {
        return Err(ApiError::bad_request(format!(
            "{what}: uuid cannot be changed (body has {u})"
        )));
    }
    let changes = check_fields(index, old.ty, &what, input)?;
    let mut new = old.clone();
    let given_id_perms = changes.set.get("id_perms").cloned();
    let given_perms2 = changes.set.get("perms2").cloned();
    apply(&mut new.body, changes);
    if !positions.is_empty() {
        let slot = new
            .body
            .entry(POSITIONS)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(m) = slot.as_object_mut() {
            m.extend(positions.clone());
        }
    }
    // id_perms keep their uuid and creation time; perms2 only change by chown/chmod or admin.
    let mut id_perms = overlay(
        old.body
            .get("id_perms")
            .cloned()
            .unwrap_or_else(|| default_id_perms(&old.uuid)),
        &given_id_perms.unwrap_or(Value::Null),
    );
    id_perms["uuid"] = old
        .body
        .get("id_perms")
        .and_then(|v| v.get("uuid"))
        .cloned()
        .unwrap_or(Value::Null);
    id_perms["created"] = old
        .body
        .get("id_perms")
        .and_then(|v| v.get("created"))
        .cloned()
        .unwrap_or(Value::Null);
    id_perms["last_modified"] = json!(
        chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S%.6f")
            .to_string()
    );
    new.body.insert("id_perms".into(), id_perms);
    let perms2 = old.body.get("perms2").cloned().unwrap_or(Value::Null);
    // Whoever may write the object may change its perms2 (chown/chmod do exactly that).
    let perms2 = match given_perms2 {
        Some(g) => overlay(perms2, &g),
        None => perms2,
    };
    new.body.insert("perms2".into(), perms2);
    let mut p = Planned::default();
    p.at_revision(keys::obj(&old.uuid), old.revision);
    let mut seen = HashSet::new();
    guard_refs(index, &new, &mut p, &mut seen);
    hooks::on_update(
        &Ctx {
            index,
            reserved,
            quotas,
            what: &what,
            input,
        },
        old,
        &mut new,
        &mut p,
    )?;
    draft::check_refs(index, &new, Some(old))?;
    Ok((new, p))
}

pub fn plan_delete(
    index: &Index,
    reserved: &Reservations,
    caller: &Caller,
    obj: &Obj,
) -> ApiResult<(Planned, Outcome)> {
    caller.check_delete(obj)?;
    crate::rules::check_delete(index, obj)?;
    if !draft::is_draft(obj)
        && let Some(s) = draft::scope_of_obj(index, obj)
    {
        draft::check_unlocked(reserved, &s, obj.type_name())?;
        draft::check_delete_refs(index, obj)?;
        let mut p = Planned::default();
        p.at_revision(keys::obj(&obj.uuid), obj.revision);
        match draft::pending_of(index, &s, obj) {
            Some(d) if draft::state(d) == Some("deleted") => {}
            Some(d) => {
                let mut d2 = (**d).clone();
                draft::mark(&mut d2, "deleted");
                p.at_revision(keys::obj(&d.uuid), d.revision);
                p.put(keys::obj(&d2.uuid), d2.to_stored());
            }
            None => {
                put_new(&mut p, &draft::copy(&s, obj, "deleted"));
            }
        }
        return Ok((p, Outcome::Pending));
    }
    plan_delete_now(index, obj).map(|p| (p, Outcome::Applied))
}

fn plan_delete_now(index: &Index, obj: &Obj) -> ApiResult<Planned> {
    let what = format!("{} {}", obj.type_name(), obj.fq_str);
    let cascade = hooks::cascade(index, obj);
    let going: HashSet<&str> = std::iter::once(obj.uuid.as_str())
        .chain(cascade.iter().map(|o| o.uuid.as_str()))
        .collect();
    let mut children = Vec::new();
    let mut referrers = Vec::new();
    // Refs a cascade takes away with their target: the referrers are rewritten without them.
    let mut stripped: std::collections::BTreeMap<&str, Obj> = Default::default();
    for o in cascade.iter() {
        for r in index.back_refs(&o.uuid) {
            if !going.contains(r.uuid.as_str()) && hooks::dropped_with_target(r, o) {
                let r2 = stripped
                    .entry(r.uuid.as_str())
                    .or_insert_with(|| (**r).clone());
                hooks::drop_refs_to(r2, &o.uuid);
            }
        }
    }
    // A relaxed ref goes with its target too, as Contrail drops it from the referrer.
    for o in std::iter::once(obj).chain(cascade.iter().map(|o| o.as_ref())) {
        for r in index.back_refs(&o.uuid) {
            if !going.contains(r.uuid.as_str()) && index.is_relaxed(&o.uuid, &r.uuid) {
                let r2 = stripped
                    .entry(r.uuid.as_str())
                    .or_insert_with(|| (**r).clone());
                hooks::drop_refs_to(r2, &o.uuid);
            }
        }
    }
    for o in std::iter::once(obj).chain(cascade.iter().map(|o| o.as_ref())) {
        children.extend(
            index
                .children(&o.uuid)
                .filter(|c| !going.contains(c.uuid.as_str()))
                .map(|c| format!("{} {}", c.type_name(), c.fq_str)),
        );
        referrers.extend(
            index
                .back_refs(&o.uuid)
                .filter(|r| {
                    !going.contains(r.uuid.as_str())
                        && !index.is_relaxed(&o.uuid, &r.uuid)
                        && !hooks::derived_ref(r, o)
                        && (o.uuid == obj.uuid || !hooks::dropped_with_target(r, o))
                })
                .map(|r| format!("{} {}", r.type_name(), r.fq_str)),
        );
    }
    if !children.is_empty() {
        return Err(ApiError::conflict(format!(
            "Delete when children still present: cannot delete {what}: children {children:?} still exist"
        )));
    }
    if !referrers.is_empty() {
        return Err(ApiError::conflict(format!(
            "Delete when resource still referred: cannot delete {what}: still referred by {referrers:?}"
        )));
    }
    let mut p = Planned::default();
    // Relax markers die with either end of the ref; a set, since a cascade can reach one twice.
    let mut relax = std::collections::BTreeSet::new();
    for o in std::iter::once(obj).chain(cascade.iter().map(|o| o.as_ref())) {
        p.at_revision(keys::obj(&o.uuid), o.revision);
        p.delete(keys::obj(&o.uuid));
        p.delete(keys::fqn(o.type_name(), &o.fq_str));
        hooks::on_delete(index, o, &mut p);
        for r in o.refs() {
            if index.is_relaxed(r.uuid, &o.uuid) {
                relax.insert(keys::relax(r.uuid, &o.uuid));
            }
        }
        for from in index.relaxed_to(&o.uuid) {
            relax.insert(keys::relax(&o.uuid, from));
        }
    }
    for k in relax {
        p.delete(k);
    }
    for r in stripped.values() {
        p.at_revision(keys::obj(&r.uuid), r.revision);
        p.put(keys::obj(&r.uuid), r.to_stored());
    }
    if obj.type_name() == "project" {
        for k in index.quota_keys_of(&obj.uuid) {
            p.delete(k);
        }
    }
    Ok(p)
}

// ---- the async entry points ----

pub async fn create(
    state: &ApiState,
    caller: &Caller,
    ty: &'static ResourceType,
    input: &Map<String, Value>,
) -> ApiResult<Arc<Obj>> {
    create_with(state, &state.quota_defaults, caller, ty, input).await
}

/// [`create`] under the given default quotas (the objects made at first start are under none,
/// as Contrail's are).
pub async fn create_with(
    state: &ApiState,
    quotas: &QuotaDefaults,
    caller: &Caller,
    ty: &'static ResourceType,
    input: &Map<String, Value>,
) -> ApiResult<Arc<Obj>> {
    let (uuid, _) = write::run(state, |idx, res| {
        let (p, uuid) = plan_create(idx, res, quotas, caller, ty, input)?;
        Ok((p, uuid))
    })
    .await?;
    state
        .index()
        .get(&uuid)
        .cloned()
        .ok_or_else(|| ApiError::internal("created object vanished"))
}

pub async fn update(
    state: &ApiState,
    caller: &Caller,
    type_name: &str,
    uuid: &str,
    input: &Map<String, Value>,
) -> ApiResult<Arc<Obj>> {
    Ok(update_outcome(state, caller, type_name, uuid, input)
        .await?
        .0)
}

/// [`update`], saying whether the change was applied or went to a draft.
pub async fn update_outcome(
    state: &ApiState,
    caller: &Caller,
    type_name: &str,
    uuid: &str,
    input: &Map<String, Value>,
) -> ApiResult<(Arc<Obj>, Outcome)> {
    let (outcome, _) = write::run(state, |idx, res| {
        let old = idx
            .get_typed(type_name, uuid)
            .ok_or_else(|| ApiError::no_object(type_name, uuid))?;
        let (p, outcome) = plan_update(idx, res, &state.quota_defaults, caller, old, input)?;
        Ok((p, outcome))
    })
    .await?;
    let obj = state
        .index()
        .get(uuid)
        .cloned()
        .ok_or_else(|| ApiError::no_object(type_name, uuid))?;
    Ok((obj, outcome))
}

pub async fn delete(
    state: &ApiState,
    caller: &Caller,
    type_name: &str,
    uuid: &str,
) -> ApiResult<()> {
    delete_outcome(state, caller, type_name, uuid).await?;
    Ok(())
}

/// [`delete`], saying whether the object went or a pending delete was drafted.
pub async fn delete_outcome(
    state: &ApiState,
    caller: &Caller,
    type_name: &str,
    uuid: &str,
) -> ApiResult<Outcome> {
    let (outcome, _) = write::run(state, |idx, res| {
        let obj = idx
            .get_typed(type_name, uuid)
            .ok_or_else(|| ApiError::no_object(type_name, uuid))?;
        let (p, outcome) = plan_delete(idx, res, caller, obj)?;
        Ok((p, outcome))
    })
    .await?;
    Ok(outcome)
}

/// Replaces one object's body through `f` (ref-update, prop collections, chown, chmod, set-tag),
/// with the same validation and compare-and-swap as an update.
pub async fn modify(
    state: &ApiState,
    caller: &Caller,
    uuid: &str,
    f: impl Fn(&Index, &Obj) -> ApiResult<Map<String, Value>>,
) -> ApiResult<Arc<Obj>> {
    write::run(state, |idx, res| {
        let old = idx
            .get(uuid)
            .ok_or_else(|| ApiError::not_found(format!("No object found for id {uuid}")))?;
        let input = f(idx, old)?;
        Ok((
            plan_update(idx, res, &state.quota_defaults, caller, old, &input)?.0,
            (),
        ))
    })
    .await?;
    state
        .index()
        .get(uuid)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("No object found for id {uuid}")))
}

/// [`modify`] for prop collections: `f` also returns the element positions of the list
/// properties it changes.
pub async fn modify_with_positions(
    state: &ApiState,
    caller: &Caller,
    uuid: &str,
    f: impl Fn(&Index, &Obj) -> ApiResult<(Map<String, Value>, Map<String, Value>)>,
) -> ApiResult<()> {
    write::run(state, |idx, res| {
        let old = idx
            .get(uuid)
            .ok_or_else(|| ApiError::not_found(format!("No object found for id {uuid}")))?;
        let (input, positions) = f(idx, old)?;
        Ok((
            plan_update_with(
                idx,
                res,
                &state.quota_defaults,
                caller,
                old,
                &input,
                &positions,
            )?
            .0,
            (),
        ))
    })
    .await?;
    Ok(())
}
