//! Integer ids the server hands out: a virtual network's `virtual_network_network_id` (and the
//! VXLAN id a client sets on it, from the same pool), a
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
/// The VXLAN ids clients set on networks, kept apart from the network ids they share a space
/// with (so network ids keep counting from the lowest).
pub const VXLAN_IDS: &str = "vxlan";
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
    // Network ids and the VXLAN ids clients set are one space (see [`vxlan`]).
    let vxlans = (pool == VN_IDS.0).then(|| index.ids(VXLAN_IDS)).flatten();
    let mut tries = 0;
    while used.is_some_and(|s| s.contains(&v))
        || vxlans.is_some_and(|s| s.contains(&v))
        || !reserved.try_hold(&keys::id(pool, v))
    {
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
    if pool == VN_IDS.0 {
        p.absent(keys::id(VXLAN_IDS, v), None);
    }
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

/// A network's `virtual_network_properties.vxlan_network_identifier`, when the client sets one.
fn vxlan_of(obj: &Obj) -> Option<u64> {
    obj.body
        .get("virtual_network_properties")?
        .get("vxlan_network_identifier")?
        .as_u64()
}

/// A VXLAN id the client sets on a network comes from the network ids (Contrail keeps both in
/// one allocator): free, or the network's own id. A change takes the new one and gives back
/// the old; 400 when another network holds it.
pub fn vxlan(
    index: &Index,
    reserved: &Reservations,
    what: &str,
    old: Option<&Obj>,
    new: &Obj,
    p: &mut Planned,
) -> ApiResult<()> {
    let (was, now) = (old.and_then(vxlan_of), vxlan_of(new));
    if was == now {
        return Ok(());
    }
    let own = new.body.get(VN_IDS.1).and_then(Value::as_u64);
    if let Some(v) = now.filter(|v| Some(*v) != own) {
        let (key, as_network) = (keys::id(VXLAN_IDS, v), keys::id(VN_IDS.0, v));
        let taken = |pool: &str| index.ids(pool).is_some_and(|s| s.contains(&v));
        let free = !taken(VXLAN_IDS)
            && !taken(VN_IDS.0)
            && reserved.try_hold(&key)
            && (reserved.try_hold(&as_network) || {
                reserved.release(std::slice::from_ref(&key));
                false
            });
        if !free {
            return Err(ApiError::bad_request(format!(
                "{what}: virtual_network_properties.vxlan_network_identifier: Cannot set \
                 VXLAN_ID: {v}, it has already been set"
            )));
        }
        p.hold(key.clone());
        p.hold(as_network.clone());
        p.absent(key.clone(), None);
        p.absent(as_network, None);
        p.put(key, new.uuid.clone());
    }
    if let Some(v) = was.filter(|v| Some(*v) != own) {
        p.delete(keys::id(VXLAN_IDS, v));
    }
    Ok(())
}

/// Plans the release of the ids `obj` holds.
pub fn free(obj: &Obj, p: &mut Planned) {
    for (pool, prop, _) in [VN_IDS, SG_IDS, SUB_CLUSTER_IDS] {
        if let Some(id) = obj.body.get(prop).and_then(Value::as_u64) {
            p.delete(keys::id(pool, id));
        }
    }
    if obj.type_name() == "virtual-network"
        && let Some(v) = vxlan_of(obj)
        && obj.body.get(VN_IDS.1).and_then(Value::as_u64) != Some(v)
    {
        p.delete(keys::id(VXLAN_IDS, v));
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
