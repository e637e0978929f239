//! The action endpoints that `vnc_api` finds through the homepage: name and id lookups, ref
//! updates, key-value, ownership, tags, permissions (prop collections: [`crate::prop_collection`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::auth::caller::perms_letters;
use crate::auth::{AaaMode, WRITE};
use crate::error::{ApiError, ApiResult};
use crate::fields::{fq_name, resolve_one};
use crate::http::{Params, caller, json_response, parse_body, resource};
use crate::keys;
use crate::ops;
use crate::state::ApiState;
use crate::write::{self, Planned};

fn str_field<'a>(body: &'a Map<String, Value>, k: &str, what: &str) -> ApiResult<&'a str> {
    body.get(k)
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request(format!("{what}: `{k}` (a string) is required")))
}

pub async fn fqname_to_id(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_body(&body)?;
    let type_name = str_field(&body, "type", "fqname-to-id")?;
    let ty = resource(type_name)?;
    let fq = fq_name(
        "fqname-to-id",
        "fq_name",
        body.get("fq_name").unwrap_or(&Value::Null),
    )?;
    let caller = caller(&state, &headers)?;
    let index = state.index();
    let obj = index
        .by_fq_name(&ty.name, &fq.join(":"))
        .filter(|o| caller.can_read(o))
        .ok_or_else(|| {
            ApiError::not_found(format!("Name {fq:?} not found for type {type_name}"))
        })?;
    Ok(json_response(&json!({"uuid": obj.uuid})))
}

pub async fn id_to_fqname(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_body(&body)?;
    let uuid = str_field(&body, "uuid", "id-to-fqname")?;
    let caller = caller(&state, &headers)?;
    let index = state.index();
    let obj = index
        .get(uuid)
        .filter(|o| caller.can_read(o))
        .ok_or_else(|| ApiError::not_found(format!("UUID {uuid} not found")))?;
    Ok(json_response(
        &json!({"fq_name": obj.fq_name, "type": obj.type_name()}),
    ))
}

pub async fn ref_update(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_body(&body)?;
    let what = "ref-update";
    let type_name = str_field(&body, "type", what)?;
    let ty = resource(type_name)?;
    let uuid = str_field(&body, "uuid", what)?.to_string();
    let ref_type = str_field(&body, "ref-type", what)?.replace('_', "-");
    let def = ty.ref_to(&ref_type).ok_or_else(|| {
        ApiError::bad_request(format!("{what}: {type_name} has no refs to {ref_type}"))
    })?;
    let field = def.field.clone();
    let op = str_field(&body, "operation", what)?.to_ascii_uppercase();
    if op != "ADD" && op != "DELETE" {
        return Err(ApiError::bad_request(format!(
            "{what}: operation {op:?} is not ADD or DELETE"
        )));
    }
    let caller = caller(&state, &headers)?;
    let mut target = Map::new();
    for k in ["uuid", "to"] {
        let src = if k == "uuid" {
            "ref-uuid"
        } else {
            "ref-fq-name"
        };
        if let Some(v) = body.get(src).filter(|v| !v.is_null()) {
            target.insert(k.into(), v.clone());
        }
    }
    let attr = body.get("attr").cloned().unwrap_or(Value::Null);
    if state.index().get_typed(&ty.name, &uuid).is_none() {
        return Err(ApiError::no_object(&ty.name, &uuid));
    }
    ops::modify(&state, &caller, &uuid, |idx, obj| {
        let (ref_uuid, ref_fq) = resolve_one(idx, &ref_type, what, &field, &target)?;
        let mut list: Vec<Value> = obj
            .body
            .get(&field)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        list.retain(|r| r.get("uuid").and_then(Value::as_str) != Some(&ref_uuid));
        if op == "ADD" {
            list.push(json!({"to": ref_fq, "uuid": ref_uuid, "attr": attr}));
        }
        let mut input = Map::new();
        input.insert(field.clone(), Value::Array(list));
        Ok(input)
    })
    .await?;
    Ok(json_response(&json!({"uuid": uuid})))
}

pub async fn ref_relax_for_delete(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_body(&body)?;
    let what = "ref-relax-for-delete";
    let uuid = str_field(&body, "uuid", what)?.to_string();
    let ref_uuid = str_field(&body, "ref-uuid", what)?.to_string();
    let caller = caller(&state, &headers)?;
    write::run(&state, |idx, _| {
        let obj = idx
            .get(&uuid)
            .ok_or_else(|| ApiError::not_found(format!("{what}: no object {uuid}")))?;
        caller.check(obj, WRITE)?;
        if !obj.refs().any(|r| r.uuid == ref_uuid) {
            return Err(ApiError::bad_request(format!(
                "{what}: {} {} has no ref to {ref_uuid}",
                obj.type_name(),
                obj.fq_str
            )));
        }
        let mut p = Planned::default();
        p.at_revision(keys::obj(&uuid), obj.revision);
        p.put(keys::relax(&ref_uuid, &uuid), uuid.clone());
        Ok((p, ()))
    })
    .await?;
    Ok(json_response(&json!({"uuid": uuid})))
}

pub async fn useragent_kv(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_body(&body)?;
    let what = "useragent-kv";
    let _caller = caller(&state, &headers)?;
    let op = str_field(&body, "operation", what)?.to_ascii_uppercase();
    let key = body.get("key").and_then(Value::as_str).map(str::to_string);
    match op.as_str() {
        "STORE" => {
            let key =
                key.ok_or_else(|| ApiError::bad_request(format!("{what}: key is required")))?;
            let value = match body.get("value") {
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => return Err(ApiError::bad_request(format!("{what}: value is required"))),
            };
            state
                .commit(cirrus_store::Txn::new().put(keys::kv(&key), value))
                .await?;
            Ok(json_response(&json!({})))
        }
        "RETRIEVE" => {
            let index = state.index();
            // Contrail: one key gives its value, a list the values of those present, none all
            // pairs.
            match body.get("key") {
                Some(Value::String(k)) if !k.is_empty() => {
                    let v = index.kv.get(k).ok_or_else(|| {
                        ApiError::not_found(format!("{what}: no value for key {k:?}"))
                    })?;
                    Ok(json_response(&json!({"value": v})))
                }
                Some(Value::Array(ks)) if !ks.is_empty() => {
                    let values: Vec<&String> = ks
                        .iter()
                        .filter_map(|k| index.kv.get(k.as_str()?))
                        .collect();
                    Ok(json_response(&json!({ "value": values })))
                }
                _ => {
                    let pairs: Vec<Value> = index
                        .kv
                        .iter()
                        .map(|(k, v)| json!({"key": k, "value": v}))
                        .collect();
                    Ok(json_response(&json!({ "value": pairs })))
                }
            }
        }
        "DELETE" => {
            let key =
                key.ok_or_else(|| ApiError::bad_request(format!("{what}: key is required")))?;
            state
                .commit(cirrus_store::Txn::new().delete(keys::kv(&key)))
                .await?;
            Ok(json_response(&json!({})))
        }
        // Contrail answers an unknown operation with 404.
        other => Err(ApiError::not_found(format!(
            "{what}: operation {other:?} is not STORE, RETRIEVE or DELETE"
        ))),
    }
}

fn perms_change(
    body: &Map<String, Value>,
    what: &str,
    old: Option<&Value>,
) -> ApiResult<Map<String, Value>> {
    let mut perms2 = old.cloned().unwrap_or_else(|| json!({}));
    if let Some(owner) = body.get("owner").filter(|v| !v.is_null()) {
        let s = owner
            .as_str()
            .ok_or_else(|| ApiError::bad_request(format!("{what}: owner must be a string")))?;
        perms2["owner"] = json!(s.replace('-', ""));
    }
    for k in ["owner_access", "global_access"] {
        if let Some(v) = body.get(k).filter(|v| !v.is_null()) {
            let n = v
                .as_u64()
                .filter(|n| *n <= 7)
                .ok_or_else(|| ApiError::bad_request(format!("{what}: {k} must be 0..7")))?;
            perms2[k] = json!(n);
        }
    }
    if let Some(share) = body.get("share").filter(|v| !v.is_null()) {
        perms2["share"] = share.clone();
    }
    let mut m = Map::new();
    m.insert("perms2".into(), perms2);
    Ok(m)
}

pub async fn chown(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    chperms(state, headers, body, "chown").await
}

pub async fn chmod(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    chperms(state, headers, body, "chmod").await
}

async fn chperms(
    state: Arc<ApiState>,
    headers: HeaderMap,
    body: Bytes,
    what: &str,
) -> ApiResult<Response> {
    let body = parse_body(&body)?;
    let uuid = str_field(&body, "uuid", what)?.to_string();
    if what == "chown" {
        str_field(&body, "owner", what)?;
    }
    let caller = caller(&state, &headers)?;
    ops::modify(&state, &caller, &uuid, |_, obj| {
        perms_change(&body, what, obj.body.get("perms2"))
    })
    .await?;
    Ok(json_response(&json!({})))
}

/// `set-tag`: `{obj_type, obj_uuid, <tag-type>: {value, is_global} | null}`. A tag named
/// `<type>=<value>` must exist (global, or in the object's project).
pub async fn set_tag(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_body(&body)?;
    let what = "set-tag";
    let obj_type = str_field(&body, "obj_type", what)?.replace('_', "-");
    let uuid = str_field(&body, "obj_uuid", what)?.to_string();
    let ty = resource(&obj_type)?;
    if ty.ref_to("tag").is_none() {
        return Err(ApiError::bad_request(format!(
            "{what}: {obj_type} cannot have tags"
        )));
    }
    let caller = caller(&state, &headers)?;
    let changes: Vec<(String, Option<Value>)> = body
        .iter()
        .filter(|(k, _)| *k != "obj_type" && *k != "obj_uuid")
        .map(|(k, v)| (k.clone(), if v.is_null() { None } else { Some(v.clone()) }))
        .collect();
    ops::modify(&state, &caller, &uuid, |idx, obj| {
        let mut refs: Vec<Value> = obj
            .body
            .get("tag_refs")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (tag_type, spec) in &changes {
            // Drop the refs to tags of this type.
            refs.retain(|r| {
                let name = r
                    .get("to")
                    .and_then(Value::as_array)
                    .and_then(|t| t.last())
                    .and_then(Value::as_str)
                    .unwrap_or("");
                name.split_once('=').map(|(t, _)| t) != Some(tag_type.as_str())
            });
            let Some(spec) = spec else { continue };
            let mut values: Vec<String> = Vec::new();
            if let Some(v) = spec.get("value").and_then(Value::as_str) {
                values.push(v.to_string());
            }
            for v in spec
                .get("add_values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                values.extend(v.as_str().map(str::to_string));
            }
            let global = spec
                .get("is_global")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            for v in values {
                let name = format!("{tag_type}={v}");
                let fq = if global {
                    name.clone()
                } else {
                    let project = obj
                        .fq_name
                        .iter()
                        .take(2)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(":");
                    format!("{project}:{name}")
                };
                let tag = idx
                    .by_fq_name("tag", &fq)
                    .ok_or_else(|| ApiError::not_found(format!("{what}: tag {fq} not found")))?;
                refs.push(json!({"to": tag.fq_name, "uuid": tag.uuid, "attr": null}));
            }
        }
        let mut m = Map::new();
        m.insert("tag_refs".into(), Value::Array(refs));
        Ok(m)
    })
    .await?;
    Ok(json_response(&json!({})))
}

/// `GET /obj-perms[?uuid=U]`: the caller's token, whether it holds the cloud-admin or global
/// read-only role, and its access to one object as `RWX` letters. With authentication off, as
/// on Contrail: no token and full access.
pub async fn obj_perms(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let caller = caller(&state, &headers)?;
    let obj_access = |caller: &crate::auth::Caller| -> ApiResult<Option<u64>> {
        let Some(uuid) = params.get("uuid") else {
            return Ok(None);
        };
        let index = state.index();
        let obj = index
            .get(uuid)
            .ok_or_else(|| ApiError::not_found(format!("obj-perms: no object {uuid}")))?;
        Ok(Some(caller.access(obj)))
    };
    if matches!(state.auth, crate::auth::Auth::None) || caller.mode == AaaMode::NoAuth {
        let mut out = json!({"token_info": null, "is_cloud_admin_role": false,
                             "is_global_read_only_role": false});
        if obj_access(&caller)?.is_some() {
            out["permissions"] = json!("RWX");
        }
        return Ok(json_response(&out));
    }
    let roles: Vec<Value> = caller.roles.iter().map(|r| json!({"name": r})).collect();
    let token_info = json!({
        "token": {"roles": roles, "user": {"name": caller.user},
                  "project": {"id": caller.project_uuid, "name": caller.project_name()}},
    });
    let mut out = json!({
        "token_info": token_info,
        "is_cloud_admin_role": state.access.is_admin(&caller.roles),
        "is_global_read_only_role": caller.read_only,
    });
    if let Some(a) = obj_access(&caller)? {
        out["permissions"] = json!(perms_letters(a));
    }
    Ok(json_response(&out))
}
