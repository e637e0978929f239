//! The CRUD handlers for `/<type>s` and `/<type>/<uuid>`: create, read (with ETag), update
//! and delete of one object, over [`crate::ops`].

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::auth::READ;
use crate::draft::{self, Outcome};
use crate::error::{ApiError, ApiResult};
use crate::http::{Params, base_url, caller, flag, json_response, parse_body, resource};
use crate::ops;
use crate::render::{Selection, render};
use crate::state::ApiState;

/// The `{"<type>": {...}}` envelope of create and update bodies.
fn unwrap_envelope(type_name: &str, mut body: Map<String, Value>) -> ApiResult<Map<String, Value>> {
    match body.remove(type_name) {
        Some(Value::Object(m)) if body.is_empty() => Ok(m),
        Some(Value::Object(_)) => Err(ApiError::bad_request(format!(
            "request body has keys other than {type_name:?}: {:?}",
            body.keys().collect::<Vec<_>>()
        ))),
        Some(_) => Err(ApiError::bad_request(format!(
            "{type_name}: body must be a JSON object"
        ))),
        None => Err(ApiError::bad_request(format!(
            "request body must be {{\"{type_name}\": {{...}}}}, got keys {:?}",
            body.keys().collect::<Vec<_>>()
        ))),
    }
}

pub async fn create(
    State(state): State<Arc<ApiState>>,
    Path(collection): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let ty = cirrus_model::schema()
        .resource_by_collection(&collection)
        .ok_or_else(|| ApiError::not_found(format!("unknown collection /{collection}")))?;
    let caller = caller(&state, &headers)?;
    let input = unwrap_envelope(&ty.name, parse_body(&body)?)?;
    let obj = ops::create(&state, &caller, ty, &input).await?;
    tracing::info!(r#type = %ty.name, fq_name = %obj.fq_str, uuid = %obj.uuid, "created");
    let sel = Selection {
        children: false,
        back_refs: false,
        ..Selection::default()
    };
    let v = render(&obj, &state.index(), &base_url(&headers), &sel);
    Ok(accepted_if(
        draft::state(&obj).is_some(),
        json_response(&json!({ ty.name.as_str(): v })),
    ))
}

/// Contrail answers a write that only made a security draft with 202 Accepted.
fn accepted_if(pending: bool, mut resp: Response) -> Response {
    if pending {
        *resp.status_mut() = StatusCode::ACCEPTED;
    }
    resp
}

/// What `fields`, `exclude_*` ask for on a single-object read.
fn read_selection(params: &Params) -> Selection {
    let mut fields: std::collections::HashSet<String> = params
        .get("fields")
        .map(|f| {
            f.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    // Contrail always answers a read with `fields` with the object's id_perms and perms2 too.
    if !fields.is_empty() {
        fields.extend(["id_perms".to_string(), "perms2".to_string()]);
    }
    Selection {
        all: fields.is_empty(),
        children: fields.is_empty() && !flag(params, "exclude_children"),
        back_refs: fields.is_empty() && !flag(params, "exclude_back_refs"),
        hrefs: !flag(params, "exclude_hrefs"),
        fields,
    }
}

pub async fn read(
    State(state): State<Arc<ApiState>>,
    Path((type_name, uuid)): Path<(String, String)>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let ty = resource(&type_name)?;
    let caller = caller(&state, &headers)?;
    let index = state.index();
    let obj = index
        .get_typed(&ty.name, &uuid)
        .ok_or_else(|| ApiError::no_object(&ty.name, &uuid))?;
    caller.check(obj, READ)?;
    // The ETag covers the object's revision, the index revision (children and back refs) and
    // the query, so an unchanged answer can be confirmed without rendering it.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (
        obj.revision,
        index.revision,
        params.iter().collect::<std::collections::BTreeMap<_, _>>(),
    )
        .hash(&mut h);
    let etag = format!("\"{:016x}\"", h.finish());
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let v = render(obj, &index, &base_url(&headers), &read_selection(&params));
    let mut resp = json_response(&json!({ ty.name.as_str(): v }));
    if let Ok(v) = header::HeaderValue::from_str(&etag) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Ok(resp)
}

fn is_empty_update(type_name: &str, body: &Bytes) -> bool {
    if body.iter().all(u8::is_ascii_whitespace) {
        return true;
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Null) => true,
        Ok(Value::Object(m)) => {
            m.is_empty()
                || (m.len() == 1
                    && m.get(type_name)
                        .is_some_and(|v| v.is_null() || v.as_object().is_some_and(Map::is_empty)))
        }
        _ => false,
    }
}

pub async fn update(
    State(state): State<Arc<ApiState>>,
    Path((type_name, uuid)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let ty = resource(&type_name)?;
    let caller = caller(&state, &headers)?;
    // Contrail answers an update with nothing in it (no body, `{}`, `{"<type>": {}}`) with
    // 200 and changes nothing.
    if is_empty_update(&ty.name, &body) {
        return Ok(StatusCode::OK.into_response());
    }
    let input = unwrap_envelope(&ty.name, parse_body(&body)?)?;
    let (obj, outcome) = ops::update_outcome(&state, &caller, &ty.name, &uuid, &input).await?;
    tracing::info!(r#type = %ty.name, fq_name = %obj.fq_str, uuid = %obj.uuid, ?outcome, "updated");
    let href = crate::render::href(&base_url(&headers), &ty.name, &uuid);
    Ok(accepted_if(
        outcome == Outcome::Pending,
        json_response(&json!({ ty.name.as_str(): {"uuid": uuid, "href": href} })),
    ))
}

pub async fn delete(
    State(state): State<Arc<ApiState>>,
    Path((type_name, uuid)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let ty = resource(&type_name)?;
    let caller = caller(&state, &headers)?;
    let outcome = ops::delete_outcome(&state, &caller, &ty.name, &uuid).await?;
    tracing::info!(r#type = %ty.name, uuid = %uuid, ?outcome, "deleted");
    Ok(accepted_if(
        outcome == Outcome::Pending,
        StatusCode::OK.into_response(),
    ))
}
