//! `prop-collection-get` and `prop-collection-update`: element-wise access to list and map
//! properties, as Contrail keeps them. A list element has a string position and the list is
//! ordered by position (an element added without one gets a uuid; a list set whole has
//! positions `0`, `1`, ...); a map element is keyed by its key field. Modifying a position that
//! does not exist adds it, deleting one that does not exist changes nothing (Contrail's store
//! does the same).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use cirrus_model::Collection;
use serde_json::{Map, Value, json};

use crate::auth::READ;
use crate::error::{ApiError, ApiResult};
use crate::http::{Params, caller, json_response, parse_body};
use crate::object::Obj;
use crate::ops::{self, POSITIONS};
use crate::state::ApiState;

/// The elements of a collection property (inside its wrapper object).
fn items(value: Option<&Value>, field: &str) -> Vec<Value> {
    value
        .and_then(|v| v.get(field))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// The positions of a list property's `n` elements.
fn positions(obj: &Obj, prop: &str, n: usize) -> Vec<String> {
    obj.body
        .get(POSITIONS)
        .and_then(|p| p.get(prop))
        .and_then(Value::as_array)
        .filter(|a| a.len() == n)
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_else(|| (0..n).map(|i| i.to_string()).collect())
}

fn collection<'a>(obj: &'a Obj, prop: &str, what: &str) -> ApiResult<&'a Collection> {
    obj.ty
        .prop(prop)
        .and_then(|p| p.collection.as_ref())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{what}: {} has no collection property {prop:?}",
                obj.type_name()
            ))
        })
}

pub async fn get(
    State(state): State<Arc<ApiState>>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let what = "prop-collection-get";
    let uuid = params
        .get("uuid")
        .ok_or_else(|| ApiError::bad_request(format!("{what}: uuid is required")))?;
    let fields = params
        .get("fields")
        .ok_or_else(|| ApiError::bad_request(format!("{what}: fields is required")))?;
    let position = params.get("position");
    let caller = caller(&state, &headers)?;
    let index = state.index();
    let obj = index
        .get(uuid)
        .ok_or_else(|| ApiError::not_found(format!("{what}: no object {uuid}")))?;
    caller.check(obj, READ)?;
    let mut out = Map::new();
    for f in fields.split(',').filter(|f| !f.is_empty()) {
        let coll = collection(obj, f, what)?;
        let list = items(obj.body.get(f), coll.field());
        let pos: Vec<Value> = match coll {
            Collection::Map { key, .. } => list
                .iter()
                .map(|i| i.get(key.as_str()).cloned().unwrap_or(Value::Null))
                .collect(),
            _ => positions(obj, f, list.len())
                .into_iter()
                .map(Value::String)
                .collect(),
        };
        let pairs: Vec<Value> = list
            .into_iter()
            .zip(pos)
            .filter(|(_, p)| position.is_none_or(|want| p.as_str() == Some(want.as_str())))
            .map(|(i, p)| json!([i, p]))
            .collect();
        out.insert(f.to_string(), Value::Array(pairs));
    }
    Ok(json_response(&Value::Object(out)))
}

/// A list property being edited: elements and their positions, kept in position order.
struct List {
    items: Vec<Value>,
    positions: Vec<String>,
}

impl List {
    fn index_of(&self, pos: &str) -> Option<usize> {
        self.positions.iter().position(|p| p == pos)
    }

    /// Puts `value` at `pos`: in place of the element there, else where the order says.
    fn put(&mut self, pos: String, value: Value) {
        if let Some(i) = self.index_of(&pos) {
            self.items[i] = value;
            return;
        }
        let i = self
            .positions
            .iter()
            .position(|p| p.as_str() > pos.as_str())
            .unwrap_or(self.positions.len());
        self.items.insert(i, value);
        self.positions.insert(i, pos);
    }

    fn delete(&mut self, pos: &str) {
        if let Some(i) = self.index_of(pos) {
            self.items.remove(i);
            self.positions.remove(i);
        }
    }
}

pub async fn update(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_body(&body)?;
    let what = "prop-collection-update";
    let uuid = body
        .get("uuid")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request(format!("{what}: `uuid` (a string) is required")))?
        .to_string();
    let updates = body
        .get("updates")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ApiError::bad_request(format!("{what}: updates (a list) is required")))?;
    let caller = caller(&state, &headers)?;
    ops::modify_with_positions(&state, &caller, &uuid, |_, obj| {
        let mut lists: Map<String, Value> = Map::new();
        let mut list_state: Vec<(String, List)> = Vec::new();
        let mut maps: Map<String, Value> = Map::new();
        for (i, u) in updates.iter().enumerate() {
            let at = format!("{what}: updates[{i}]");
            let field = u
                .get("field")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::bad_request(format!("{at}: field is required")))?;
            let coll = collection(obj, field, &at)?;
            let op = u
                .get("operation")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_ascii_lowercase();
            let value = u.get("value").cloned().filter(|v| !v.is_null());
            let position = u.get("position").filter(|v| !v.is_null()).map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            });
            let need = |what_for: &str| {
                ApiError::bad_request(format!("{at}: {op} needs the field {what_for}"))
            };
            match coll {
                Collection::Map { key, .. } => {
                    let current = maps.get(field).cloned().or(obj.body.get(field).cloned());
                    let mut elems = items(current.as_ref(), coll.field());
                    match op.as_str() {
                        "set" => {
                            let v = value.ok_or_else(|| need("value"))?;
                            let k = v.get(key.as_str()).cloned().ok_or_else(|| {
                                ApiError::bad_request(format!(
                                    "{at}: value has no key field {key:?}"
                                ))
                            })?;
                            match elems.iter().position(|e| e.get(key.as_str()) == Some(&k)) {
                                Some(j) => elems[j] = v,
                                None => elems.push(v),
                            }
                        }
                        "delete" => {
                            let p = position.ok_or_else(|| need("position"))?;
                            elems.retain(|e| e.get(key.as_str()).and_then(Value::as_str) != Some(&p));
                        }
                        _ => {
                            return Err(ApiError::bad_request(format!(
                                "{at}: Unsupported operation {op} for a map property (set|delete)"
                            )));
                        }
                    }
                    maps.insert(field.to_string(), json!({ coll.field(): elems }));
                }
                _ => {
                    let slot = match list_state.iter().position(|(f, _)| f == field) {
                        Some(j) => j,
                        None => {
                            let elems = items(obj.body.get(field), coll.field());
                            let positions = positions(obj, field, elems.len());
                            list_state.push((
                                field.to_string(),
                                List {
                                    items: elems,
                                    positions,
                                },
                            ));
                            list_state.len() - 1
                        }
                    };
                    let list = &mut list_state[slot].1;
                    match op.as_str() {
                        "add" => {
                            let v = value.ok_or_else(|| need("value"))?;
                            let p = position.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                            list.put(p, v);
                        }
                        "modify" => {
                            let v = value.ok_or_else(|| need("value and position"))?;
                            let p = position.ok_or_else(|| need("value and position"))?;
                            list.put(p, v);
                        }
                        "delete" => list.delete(&position.ok_or_else(|| need("position"))?),
                        _ => {
                            return Err(ApiError::bad_request(format!(
                                "{at}: Unsupported operation {op} for a list property (add|modify|delete)"
                            )));
                        }
                    }
                }
            }
        }
        let mut positions = Map::new();
        for (field, list) in list_state {
            let wrapper = obj
                .ty
                .prop(&field)
                .and_then(|p| p.collection.as_ref())
                .map(|c| c.field().to_string())
                .unwrap_or_default();
            if list.items.is_empty() {
                lists.insert(field, Value::Null);
            } else {
                lists.insert(field.clone(), json!({ wrapper: list.items }));
                positions.insert(field, json!(list.positions));
            }
        }
        lists.extend(maps);
        Ok((lists, positions))
    })
    .await?;
    Ok(json_response(&json!({})))
}
