//! The VNC side: reads from the api crate's index and writes through its `ops` (so every rule,
//! hook, allocation and quota of the VNC API applies), plus the few conversions every resource
//! shares (names, tenant, timestamps, key/value pairs).

use std::sync::Arc;

use cirrus_api::object::Obj;
use cirrus_api::ops;
use serde_json::{Map, Value, json};

use crate::ctx::{Ctx, dashless};
use crate::error::{NResult, NeutronError};

/// One object of `type_name` the caller may read, else Neutron's 404 for `resource`.
pub fn get(ctx: &Ctx, type_name: &str, resource: &'static str, id: &str) -> NResult<Arc<Obj>> {
    let idx = ctx.state.index();
    match idx.get_typed(type_name, id) {
        Some(o)
            if ctx.caller.can_read(o)
                && (ctx.caller.admin || cirrus_api::auth::user_visible(o)) =>
        {
            Ok(o.clone())
        }
        _ => Err(NeutronError::not_found(resource, id)),
    }
}

/// Every object of `type_name` the caller may list.
pub fn list(ctx: &Ctx, type_name: &str) -> Vec<Arc<Obj>> {
    let idx = ctx.state.index();
    idx.of_type(type_name)
        .filter(|o| ctx.caller.lists(o))
        .cloned()
        .collect()
}

pub async fn create(ctx: &Ctx, type_name: &str, input: Map<String, Value>) -> NResult<Arc<Obj>> {
    let t = cirrus_api::http::resource(type_name)?;
    Ok(ops::create(&ctx.state, &ctx.caller, t, &input).await?)
}

/// Creates a companion object the server keeps for a Neutron resource (instance IPs,
/// virtual machines, floating-ip pools: global objects a tenant cannot create through the VNC
/// API), as the admin, the way vnc_openstack writes with the service's credentials; the
/// Neutron-level checks have been made on the caller.
pub async fn create_companion(
    ctx: &Ctx,
    type_name: &str,
    input: Map<String, Value>,
) -> NResult<Arc<Obj>> {
    let t = cirrus_api::http::resource(type_name)?;
    let admin = cirrus_api::auth::Caller::admin();
    Ok(ops::create(&ctx.state, &admin, t, &input).await?)
}

/// Deletes a companion object (see [`create_companion`]).
pub async fn delete_companion(ctx: &Ctx, type_name: &str, uuid: &str) -> NResult<()> {
    let admin = cirrus_api::auth::Caller::admin();
    Ok(ops::delete(&ctx.state, &admin, type_name, uuid).await?)
}

pub async fn update(
    ctx: &Ctx,
    type_name: &str,
    uuid: &str,
    input: Map<String, Value>,
) -> NResult<Arc<Obj>> {
    Ok(ops::update(&ctx.state, &ctx.caller, type_name, uuid, &input).await?)
}

pub async fn delete(ctx: &Ctx, type_name: &str, uuid: &str) -> NResult<()> {
    Ok(ops::delete(&ctx.state, &ctx.caller, type_name, uuid).await?)
}

/// Neutron's name of an object: its display name, else the last fq_name part.
pub fn name(o: &Obj) -> String {
    o.body
        .get("display_name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| o.name().to_string())
}

/// The tenant (dashless project uuid) an object belongs to: its parent project, else its
/// perms2 owner.
pub fn tenant(o: &Obj) -> String {
    match &o.parent {
        Some(p) if p.type_name == "project" => dashless(&p.uuid),
        _ => o
            .body
            .get("perms2")
            .and_then(|p| p.get("owner"))
            .and_then(Value::as_str)
            .map(dashless)
            .unwrap_or_default(),
    }
}

fn id_perm(o: &Obj, k: &str) -> Option<Value> {
    o.body.get("id_perms").and_then(|p| p.get(k)).cloned()
}

pub fn description(o: &Obj) -> String {
    id_perm(o, "description")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn enabled(o: &Obj) -> bool {
    id_perm(o, "enable")
        .and_then(|v| v.as_bool())
        .unwrap_or(true)
}

/// Neutron's timestamp (`2026-12-02T06:00:00Z`) of a VNC one (`2026-12-02T06:00:00.123456`).
pub fn stamp(s: Option<&str>) -> Value {
    match s {
        Some(s) => {
            let base = s.split('.').next().unwrap_or(s).trim_end_matches('Z');
            Value::String(format!("{base}Z"))
        }
        None => Value::Null,
    }
}

/// The tenant, timestamps, description and revision every rendered resource carries.
pub fn common(o: &Obj, out: &mut Map<String, Value>) {
    let t = tenant(o);
    out.insert("tenant_id".into(), json!(t));
    out.insert("project_id".into(), json!(t));
    out.insert("description".into(), json!(description(o)));
    let created = id_perm(o, "created");
    let modified = id_perm(o, "last_modified");
    out.insert(
        "created_at".into(),
        stamp(created.as_ref().and_then(Value::as_str)),
    );
    out.insert(
        "updated_at".into(),
        stamp(modified.as_ref().and_then(Value::as_str)),
    );
    out.insert("revision_number".into(), json!(o.revision.max(0)));
    out.insert("tags".into(), json!([]));
}

/// id_perms for a create or update: enable and description, whatever the body gives.
pub fn id_perms(body: &Map<String, Value>, enable_key: Option<&str>) -> Option<Value> {
    let mut p = Map::new();
    if let Some(d) = body.get("description").and_then(Value::as_str) {
        p.insert("description".into(), json!(d));
    }
    if let Some(k) = enable_key
        && let Some(e) = body.get(k).and_then(Value::as_bool)
    {
        p.insert("enable".into(), json!(e));
    }
    (!p.is_empty()).then_some(Value::Object(p))
}

/// A value of a `KeyValuePairs` property.
pub fn kv(o: &Obj, prop: &str, key: &str) -> Option<String> {
    o.body
        .get(prop)?
        .get("key_value_pair")?
        .as_array()?
        .iter()
        .find(|kv| kv.get("key").and_then(Value::as_str) == Some(key))?
        .get("value")?
        .as_str()
        .map(str::to_string)
}

/// `prop` of `o` with `key` set to `value` (removed when None).
pub fn kv_set(current: Option<&Value>, key: &str, value: Option<&str>) -> Value {
    let mut pairs: Vec<Value> = current
        .and_then(|c| c.get("key_value_pair"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    pairs.retain(|kv| kv.get("key").and_then(Value::as_str) != Some(key));
    if let Some(v) = value {
        pairs.push(json!({"key": key, "value": v}));
    }
    json!({"key_value_pair": pairs})
}

/// The fq_name last part for a new object named `name` under `parent_fq`: the name when free
/// (and not empty), else `<name>-<uuid>`, as vnc_openstack does on a clash.
pub fn free_name(ctx: &Ctx, type_name: &str, parent_fq: &str, name: &str, uuid: &str) -> String {
    if name.is_empty() {
        return uuid.to_string();
    }
    let taken = ctx
        .state
        .index()
        .by_fq_name(type_name, &format!("{parent_fq}:{name}"))
        .is_some();
    if taken {
        format!("{name}-{uuid}")
    } else {
        name.to_string()
    }
}

/// The fq_name (joined) of the project `uuid`.
pub fn project_fq(ctx: &Ctx, uuid: &str) -> NResult<String> {
    ctx.state
        .index()
        .get_typed("project", uuid)
        .map(|p| p.fq_str.clone())
        .ok_or_else(|| NeutronError::NotFound {
            resource: "Project",
            id: uuid.to_string(),
        })
}

/// A ref entry by uuid.
pub fn ref_to(uuid: &str) -> Value {
    json!({"uuid": uuid})
}

/// The uuids of `o`'s refs in field `field`.
pub fn ref_uuids(o: &Obj, field: &str) -> Vec<String> {
    o.body
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uuid").and_then(Value::as_str).map(str::to_string))
        .collect()
}
