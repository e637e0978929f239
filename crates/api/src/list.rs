//! Collection listing: `GET /<type>s` and `POST /list-bulk-collection`, with Contrail's filters
//! (parent_id, parent_fq_name_str, back_ref_id, obj_uuids, fq_names, filters, shared), shapes
//! (plain, detail, count, fields) and paging (page_marker, page_limit).

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use cirrus_model::ResourceType;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::http::{Params, base_url, caller, flag, json_bytes, parse_body};
use crate::index::Index;
use crate::object::Obj;
use crate::render::{Selection, View, href};
use crate::state::ApiState;

pub async fn list_collection(
    State(state): State<Arc<ApiState>>,
    Path(collection): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let ty = cirrus_model::schema()
        .resource_by_collection(&collection)
        .ok_or_else(|| ApiError::not_found(format!("unknown collection /{collection}")))?;
    let caller = caller(&state, &headers)?;
    let v = list(&state.index(), &caller, ty, &params, &base_url(&headers))?;
    Ok(json_bytes(v))
}

/// The POST form of a list, for queries too long for a URL; the body holds the same keys plus
/// `type`.
pub async fn list_bulk(
    State(state): State<Arc<ApiState>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let body = parse_body(&body)?;
    let type_name = body
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::bad_request("list-bulk-collection: `type` is required"))?;
    let ty = crate::http::resource(type_name)?;
    let params: Params = body
        .iter()
        .filter(|(k, _)| k.as_str() != "type")
        .map(|(k, v)| {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Array(a) => a
                    .iter()
                    .map(|e| {
                        e.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| e.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                Value::Bool(b) => b.to_string(),
                other => other.to_string(),
            };
            (k.clone(), s)
        })
        .collect();
    let caller = caller(&state, &headers)?;
    let v = list(&state.index(), &caller, ty, &params, &base_url(&headers))?;
    Ok(json_bytes(v))
}

fn csv(params: &Params, k: &str) -> Option<Vec<String>> {
    params
        .get(k)
        .filter(|v| !v.is_empty())
        .map(|v| v.split(',').map(str::to_string).collect())
}

/// `filters=k==v,k2==v2`: values are JSON when they parse as JSON, else plain strings. Several
/// values for one key match any of them; different keys must all match.
fn parse_filters(s: &str) -> ApiResult<Vec<(String, Vec<Value>)>> {
    let mut out: Vec<(String, Vec<Value>)> = Vec::new();
    for part in s.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once("==")
            .ok_or_else(|| ApiError::bad_request(format!("filters: {part:?} is not key==value")))?;
        let v = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        match out.iter_mut().find(|(key, _)| key == k) {
            Some((_, vs)) => vs.push(v),
            None => out.push((k.to_string(), vec![v])),
        }
    }
    Ok(out)
}

pub fn list(
    index: &Index,
    caller: &Caller,
    ty: &ResourceType,
    params: &Params,
    base: &str,
) -> ApiResult<Vec<u8>> {
    let t = ty.name.as_str();
    let detail = flag(params, "detail");
    let count = flag(params, "count");
    let hrefs = !flag(params, "exclude_hrefs");
    let fields: HashSet<String> = csv(params, "fields")
        .unwrap_or_default()
        .into_iter()
        .collect();
    for f in &fields {
        if ty.field_kind(f).is_none() {
            return Err(ApiError::bad_request(format!(
                "fields: {t} has no field {f:?}"
            )));
        }
    }
    // A filter on a field the type does not have is ignored, as Contrail ignores it.
    let mut filters = params
        .get("filters")
        .map(|f| parse_filters(f))
        .transpose()?
        .unwrap_or_default();
    filters.retain(|(k, _)| ty.field_kind(k).is_some());
    let page_limit: Option<usize> = match params.get("page_limit") {
        Some(v) => Some(v.parse().ok().filter(|l| *l > 0).ok_or_else(|| {
            ApiError::bad_request(format!("page_limit: {v:?} is not a positive number"))
        })?),
        None => None,
    };
    let marker = params
        .get("page_marker")
        .filter(|m| !m.is_empty() && m.as_str() != "None");

    // Start from the narrowest index the query allows; every path yields uuid order, which is
    // what page markers count in.
    let fq_names: Option<HashSet<String>> =
        params.get("fq_names").filter(|s| !s.is_empty()).map(|s| {
            // fq_names are comma-separated colon-joined names.
            s.split(',').map(str::to_string).collect()
        });
    let obj_uuids = csv(params, "obj_uuids");
    let narrowed: Option<Vec<&Arc<Obj>>> = if let Some(uuids) = &obj_uuids {
        // Named by uuid or by fq_name: Contrail lists the union of the two.
        let by_name = fq_names
            .iter()
            .flatten()
            .filter_map(|fq| index.by_fq_name(t, fq));
        Some(
            uuids
                .iter()
                .filter_map(|u| index.get_typed(t, u))
                .chain(by_name)
                .collect(),
        )
    } else if let Some(parents) = csv(params, "parent_id") {
        Some(
            parents
                .iter()
                .flat_map(|p| index.children(p).filter(|c| c.type_name() == t))
                .collect(),
        )
    } else {
        csv(params, "back_ref_id").map(|targets| {
            targets
                .iter()
                .flat_map(|r| index.back_refs(r).filter(|o| o.type_name() == t))
                .collect()
        })
    };
    let candidates: Box<dyn Iterator<Item = &Arc<Obj>>> = match narrowed {
        Some(mut v) => {
            v.sort_by(|a, b| a.uuid.cmp(&b.uuid));
            v.dedup_by(|a, b| a.uuid == b.uuid);
            Box::new(
                v.into_iter()
                    .filter(move |o| marker.is_none_or(|m| o.uuid.as_str() > m.as_str())),
            )
        }
        None => Box::new(index.of_type_from(t, marker.map(String::as_str))),
    };
    // The anchors not used to narrow still filter: parent_id, back_ref_id and obj_uuids combine.
    let parent_ids: Option<HashSet<String>> =
        csv(params, "parent_id").map(|v| v.into_iter().collect());
    let back_ref_ids: Option<HashSet<String>> =
        csv(params, "back_ref_id").map(|v| v.into_iter().collect());
    let parent_fq = params.get("parent_fq_name_str").filter(|s| !s.is_empty());
    let fq_names = fq_names.filter(|_| obj_uuids.is_none());
    let matches = |o: &Obj| {
        caller.lists(o)
            && parent_fq.is_none_or(|p| {
                o.fq_name.len() > 1
                    && o.fq_str.len() > p.len()
                    && o.fq_str.starts_with(p.as_str())
                    && o.fq_str.as_bytes()[p.len()] == b':'
                    && !o.fq_str[p.len() + 1..].contains(':')
            })
            && fq_names.as_ref().is_none_or(|s| s.contains(&o.fq_str))
            && parent_ids
                .as_ref()
                .is_none_or(|s| o.parent.as_ref().is_some_and(|p| s.contains(&p.uuid)))
            && back_ref_ids
                .as_ref()
                .is_none_or(|s| o.refs().any(|r| s.contains(r.uuid)))
            && filters.iter().all(|(k, vs)| {
                o.body.get(k).is_some_and(|v| {
                    vs.contains(v) || vs.iter().any(|x| x.as_str() == Some(&v.to_string()))
                })
            })
    };
    let mut selected: Vec<&Arc<Obj>> = Vec::new();
    let mut next_marker = None;
    for o in candidates {
        if !matches(o) {
            continue;
        }
        if page_limit.is_some_and(|l| selected.len() >= l) {
            next_marker = selected.last().map(|o| o.uuid.clone());
            break;
        }
        selected.push(o);
    }
    let key = ty.collection().to_string();
    if count {
        return Ok(json!({ key: {"count": selected.len()} })
            .to_string()
            .into_bytes());
    }
    let sel = Selection {
        all: detail,
        children: false,
        back_refs: false,
        hrefs,
        fields: fields.clone(),
    };
    // Written straight into the response buffer: lists of many objects are the hot read path.
    let mut out = Vec::with_capacity(64 + selected.len() * if detail { 1024 } else { 160 });
    out.extend_from_slice(b"{");
    write(&mut out, &key);
    out.extend_from_slice(b":[");
    for (i, o) in selected.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let view = View {
            obj: o,
            index,
            base,
            sel: &sel,
        };
        if detail {
            out.extend_from_slice(b"{");
            write(&mut out, &t);
            out.push(b':');
            write(&mut out, &view);
            out.push(b'}');
        } else if fields.is_empty() {
            let mut e = json!({"fq_name": o.fq_name, "uuid": o.uuid});
            if hrefs {
                e["href"] = json!(href(base, t, &o.uuid));
            }
            write(&mut out, &e);
        } else {
            // Contrail's summary with fields: fq_name, uuid, href and the fields asked, no more.
            let mut e = serde_json::to_value(&view).unwrap_or_default();
            if let Some(m) = e.as_object_mut() {
                m.retain(|k, _| {
                    matches!(k.as_str(), "fq_name" | "uuid" | "href") || fields.contains(k)
                });
            }
            write(&mut out, &e);
        }
    }
    out.push(b']');
    // A paged walk (a marker or a limit given) always learns where to go on, null at the end.
    if page_limit.is_some() || params.contains_key("page_marker") {
        out.extend_from_slice(b",\"marker\":");
        write(&mut out, &next_marker);
    }
    out.push(b'}');
    Ok(out)
}

/// Serializes into the response buffer; writing to a Vec cannot fail and our values always
/// serialize, so there is no error to report.
fn write(out: &mut Vec<u8>, v: &impl serde::Serialize) {
    let _ = serde_json::to_writer(out, v);
}
