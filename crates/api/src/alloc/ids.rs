//! Integer ids the server hands out: a virtual network's `virtual_network_network_id`, a
//! security group's `security_group_id`, a tag's value id within its type, a sub-cluster's
//! `sub_cluster_id`. One store key per
//! id (see [`keys::id`]) settles races between replicas.

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::keys;
use crate::object::Obj;
use crate::reservations::Reservations;
use crate::write::Planned;

/// An id pool: (pool name, property that holds the id, first value).
pub type Pool<'a> = (&'a str, &'a str, u64);

pub const VN_IDS: Pool<'static> = ("vn", "virtual_network_network_id", 1);
pub const SG_IDS: Pool<'static> = ("sg", "security_group_id", 8_000_000);
pub const SUB_CLUSTER_IDS: Pool<'static> = ("sub-cluster", "sub_cluster_id", 1);

/// Ids are taken from `first` up to `first + 2^24`.
const SPAN: u64 = 1 << 24;

/// Allocates the next id of `pool` into `obj.body[prop]` and plans its key.
pub fn allocate(
    index: &Index,
    reserved: &Reservations,
    what: &str,
    obj: &mut Obj,
    p: &mut Planned,
    (pool, prop, first): Pool,
) -> ApiResult<()> {
    let used = index.ids(pool);
    // Next after the highest in use keeps allocation O(log n); fill gaps only near the limit.
    let mut v = used
        .and_then(|s| s.last())
        .map_or(first, |m| m + 1)
        .max(first);
    let limit = first + SPAN;
    if v >= limit {
        // A client-chosen id (sub-clusters) can sit above the span.
        v = first;
    }
    let mut tries = 0;
    while used.is_some_and(|s| s.contains(&v)) || !reserved.try_hold(&keys::id(pool, v)) {
        v += 1;
        tries += 1;
        if v >= limit {
            v = first;
        }
        if tries > SPAN {
            return Err(ApiError::over_quota(format!("{what}: no free {prop}")));
        }
    }
    let key = keys::id(pool, v);
    p.hold(key.clone());
    p.absent(key.clone(), None);
    p.put(key, obj.uuid.clone());
    obj.body.insert(prop.into(), json!(v));
    Ok(())
}

/// Takes the id `v` of `pool` that the client asked for: 400 when another object holds it.
pub fn reserve(
    index: &Index,
    reserved: &Reservations,
    what: &str,
    obj: &mut Obj,
    p: &mut Planned,
    (pool, prop, _): Pool,
    v: u64,
) -> ApiResult<()> {
    let key = keys::id(pool, v);
    if index.ids(pool).is_some_and(|s| s.contains(&v)) || !reserved.try_hold(&key) {
        return Err(ApiError::bad_request(format!(
            "{what}: {prop}: {v} is already used, choose another one"
        )));
    }
    p.hold(key.clone());
    p.absent(key.clone(), None);
    p.put(key, obj.uuid.clone());
    obj.body.insert(prop.into(), json!(v));
    Ok(())
}

/// Plans the release of the ids `obj` holds.
pub fn free(obj: &Obj, p: &mut Planned) {
    for (pool, prop, _) in [VN_IDS, SG_IDS, SUB_CLUSTER_IDS] {
        if let Some(id) = obj.body.get(prop).and_then(Value::as_u64) {
            p.delete(keys::id(pool, id));
        }
    }
    if obj.type_name() == "tag"
        && let (Some(t), Some(id)) = (
            obj.body.get("tag_type_name").and_then(Value::as_str),
            obj.body.get("tag_id").and_then(Value::as_str),
        )
        && let Ok(id) = u64::from_str_radix(id.trim_start_matches("0x"), 16)
    {
        p.delete(keys::id(&format!("tag-{t}"), id & 0xffff));
    }
}
