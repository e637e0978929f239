//! Checks the fields of a request body against the schema: properties by their declared types,
//! refs resolved to existing objects of the right type. Nothing here writes; a rejected body
//! leaves the store untouched.

use cirrus_model::{FieldKind, ResourceType};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::index::Index;

/// The validated changes a body asks for.
#[derive(Debug, Default)]
pub struct Changes {
    pub set: Map<String, Value>,
    pub unset: Vec<String>,
}

pub fn check_fields(
    index: &Index,
    ty: &ResourceType,
    what: &str,
    input: &Map<String, Value>,
) -> ApiResult<Changes> {
    let schema = cirrus_model::schema();
    let mut out = Changes::default();
    for (field, value) in input {
        match ty.field_kind(field) {
            // Identity is the write path's own business; children and back refs are derived.
            Some(FieldKind::Identity | FieldKind::BackRef(_) | FieldKind::Children(_)) => {}
            Some(FieldKind::Ref(def)) => {
                let refs = if value.is_null() {
                    Vec::new()
                } else {
                    resolve_refs(index, ty, &def.to, field, what, value)?
                };
                // No refs left is no field at all, as Contrail reads it back (the client's None).
                if refs.is_empty() {
                    out.unset.push(field.clone());
                } else {
                    out.set.insert(field.clone(), Value::Array(refs));
                }
            }
            Some(FieldKind::Prop(_)) if value.is_null() => out.unset.push(field.clone()),
            Some(FieldKind::Prop(_)) => {
                // Normalizing accepts what Contrail accepts (numeric strings for integers) and
                // stores it in one canonical form.
                let mut value = value.clone();
                schema
                    .normalize_prop(ty, field, &mut value)
                    .map_err(|e| ApiError::bad_request(format!("{what}: {e}")))?;
                // A collection with no elements is no value at all, as Contrail stores it.
                let empty_collection = ty
                    .prop(field)
                    .and_then(|p| p.collection.as_ref())
                    .is_some_and(|c| {
                        value
                            .get(c.field())
                            .is_none_or(|l| l.as_array().is_none_or(Vec::is_empty))
                    });
                if empty_collection {
                    out.unset.push(field.clone());
                } else {
                    out.set.insert(field.clone(), value);
                }
            }
            None => {
                return Err(ApiError::bad_request(format!(
                    "{what}: unknown field '{field}' for type {}",
                    ty.name
                )));
            }
        }
    }
    Ok(out)
}

/// Resolves `[{to|uuid, attr}]` to stored `[{to, uuid, attr}]`, rejecting refs to objects that do
/// not exist and malformed entries or attributes (400, as Contrail).
pub fn resolve_refs(
    index: &Index,
    ty: &ResourceType,
    to_type: &str,
    field: &str,
    what: &str,
    value: &Value,
) -> ApiResult<Vec<Value>> {
    let Some(list) = value.as_array() else {
        return Err(ApiError::bad_request(format!(
            "{what}: {field}: expected a list of refs"
        )));
    };
    let mut out: Vec<Value> = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let Some(r) = r.as_object() else {
            return Err(ApiError::bad_request(format!(
                "{what}: {at}: expected an object"
            )));
        };
        let mut attr = r.get("attr").cloned().unwrap_or(Value::Null);
        // Contrail answers a create or update naming a missing object with 400 (ref-update
        // answers 404, see `resolve_one`).
        let target = resolve_one(index, to_type, what, &at, r).map_err(|e| {
            if e.kind == crate::error::Kind::NotFound {
                ApiError::unknown_reference(e.message)
            } else {
                e
            }
        })?;
        if !attr.is_null() {
            cirrus_model::schema()
                .normalize_ref_attr(ty, to_type, &mut attr)
                .map_err(|e| ApiError::bad_request(format!("{what}: {e} (in {at})")))?;
        }
        let entry = serde_json::json!({"to": target.1, "uuid": target.0, "attr": attr});
        // A second ref to the same object replaces the first, as a set of links would.
        if let Some(pos) = out.iter().position(|e| e["uuid"] == entry["uuid"]) {
            out[pos] = entry;
        } else {
            out.push(entry);
        }
    }
    Ok(out)
}

/// Finds a ref's target by `uuid`, else by `to` (fq_name list): returns (uuid, fq_name).
pub fn resolve_one(
    index: &Index,
    to_type: &str,
    what: &str,
    at: &str,
    r: &Map<String, Value>,
) -> ApiResult<(String, Vec<String>)> {
    if let Some(u) = r.get("uuid").filter(|v| !v.is_null()) {
        let u = u.as_str().ok_or_else(|| {
            ApiError::bad_request(format!("{what}: {at}.uuid: expected a string"))
        })?;
        let obj = index.get(u).ok_or_else(|| {
            ApiError::not_found(format!("{what}: {at}: no {to_type} object with uuid {u}"))
        })?;
        if obj.type_name() != to_type {
            return Err(ApiError::bad_request(format!(
                "{what}: {at}: {u} is a {}, not a {to_type}",
                obj.type_name()
            )));
        }
        return Ok((obj.uuid.clone(), obj.fq_name.clone()));
    }
    let to = r.get("to").ok_or_else(|| {
        ApiError::bad_request(format!("{what}: {at}: a ref needs `uuid` or `to`"))
    })?;
    let fq = fq_name(what, &format!("{at}.to"), to)?;
    let joined = fq.join(":");
    let obj = index.by_fq_name(to_type, &joined).ok_or_else(|| {
        ApiError::not_found(format!("{what}: {at}: no {to_type} object named {joined}"))
    })?;
    Ok((obj.uuid.clone(), obj.fq_name.clone()))
}

/// An fq_name as the model checks it, refused with 400 naming the object and field path.
pub fn fq_name(what: &str, field: &str, v: &Value) -> ApiResult<Vec<String>> {
    cirrus_model::parse_fq_name(field, v).map_err(|e| ApiError::bad_request(format!("{what}: {e}")))
}
