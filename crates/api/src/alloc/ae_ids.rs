//! Aggregated-ethernet ids of virtual port groups (Contrail's `virtual_port_group.py`
//! `_process_ae_id`, ids 0..127 per physical router from `vnc_db`'s `_AE_MAX_ID`): a group that
//! spans two or more physical interfaces holds one AE id on each physical router it reaches,
//! written as `ae_num` in the attr of every interface ref of that router; a group down to one
//! interface holds none (the leftover ref's attr is cleared). An id a group holds is kept while
//! it keeps interfaces on that router; a client may ask for one (`ae_num` in a new ref's attr),
//! which must be free and must agree with the id the group already holds there (400). One store
//! key per (router, id) settles races, as for the other ids.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::keys;
use crate::object::Obj;
use crate::reservations::Reservations;
use crate::write::Planned;

const PI_REFS: &str = "physical_interface_refs";
/// Ids per physical router: 0..AE_MAX.
pub const AE_MAX: u64 = 128;

fn pool(router: &str) -> String {
    format!("ae-{router}")
}

/// (interface uuid, its physical router's uuid, the `ae_num` its ref carries) per ref.
fn refs(index: &Index, vpg: &Obj) -> Vec<(String, String, Option<u64>)> {
    vpg.body
        .get(PI_REFS)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let pi = r.get("uuid")?.as_str()?;
            let router = index.get(pi)?.parent.as_ref()?.uuid.clone();
            let ae = r
                .get("attr")
                .and_then(|a| a.get("ae_num"))
                .and_then(Value::as_u64);
            Some((pi.to_string(), router, ae))
        })
        .collect()
}

/// The ids `vpg` holds, by router (as its stored refs say).
fn held(index: &Index, vpg: &Obj) -> BTreeMap<String, u64> {
    refs(index, vpg)
        .into_iter()
        .filter_map(|(_, router, ae)| Some((router, ae?)))
        .collect()
}

fn router_name(index: &Index, router: &str) -> String {
    index
        .get(router)
        .map_or_else(|| router.to_string(), |o| o.fq_str.clone())
}

/// Plans the AE ids of `new` (the group as it will be stored, `old` as it is) and writes them
/// into its refs' attrs.
pub fn update(
    index: &Index,
    reserved: &Reservations,
    what: &str,
    old: Option<&Obj>,
    new: &mut Obj,
    p: &mut Planned,
) -> ApiResult<()> {
    let had = old.map(|o| held(index, o)).unwrap_or_default();
    let now = refs(index, new);
    let mut give: BTreeMap<String, Option<u64>> = BTreeMap::new();
    if now.len() >= 2 {
        let routers: BTreeSet<&String> = now.iter().map(|(_, r, _)| r).collect();
        for router in routers {
            let asked = now
                .iter()
                .filter(|(pi, r, ae)| r == router && ae.is_some() && !is_old_ref(old, pi))
                .find_map(|(_, _, ae)| *ae);
            let id = match (had.get(router), asked) {
                (Some(h), Some(a)) if *h != a => {
                    return Err(ApiError::bad_request(format!(
                        "{what}: {PI_REFS}: AE-ID ({h}) already allocated at PR ({}) Failed \
                         allocating user-defined AE-ID ({a})",
                        router_name(index, router)
                    )));
                }
                (Some(h), _) => *h,
                (None, asked) => take(index, reserved, what, new, router, asked, p)?,
            };
            give.insert(router.clone(), Some(id));
        }
    }
    for (router, id) in &had {
        if give.get(router) != Some(&Some(*id)) {
            p.delete(keys::id(&pool(router), *id));
        }
    }
    let vpg_uuid = new.uuid.clone();
    let Some(Value::Array(list)) = new.body.get_mut(PI_REFS) else {
        return Ok(());
    };
    for r in list.iter_mut() {
        let router = r
            .get("uuid")
            .and_then(Value::as_str)
            .and_then(|pi| index.get(pi))
            .and_then(|o| o.parent.as_ref())
            .map(|p| p.uuid.clone());
        let id = router.and_then(|rt| give.get(&rt).copied().flatten());
        r["attr"] = match id {
            Some(id) => json!({ "ae_num": id }),
            None => Value::Null,
        };
    }
    tracing::debug!(vpg = %vpg_uuid, ?give, "AE ids");
    Ok(())
}

fn is_old_ref(old: Option<&Obj>, pi: &str) -> bool {
    old.and_then(|o| o.body.get(PI_REFS))
        .and_then(Value::as_array)
        .is_some_and(|l| {
            l.iter()
                .any(|r| r.get("uuid").and_then(Value::as_str) == Some(pi))
        })
}

/// Takes `asked` (400 when another group holds it) or the lowest free id on `router`.
fn take(
    index: &Index,
    reserved: &Reservations,
    what: &str,
    vpg: &Obj,
    router: &str,
    asked: Option<u64>,
    p: &mut Planned,
) -> ApiResult<u64> {
    let pool = pool(router);
    let used = index.ids(&pool);
    let free =
        |v: u64| !used.is_some_and(|s| s.contains(&v)) && reserved.try_hold(&keys::id(&pool, v));
    let id = match asked {
        Some(a) if a >= AE_MAX => {
            return Err(ApiError::bad_request(format!(
                "{what}: {PI_REFS}: ae_num {a} is out of range 0..{}",
                AE_MAX - 1
            )));
        }
        Some(a) if free(a) => a,
        Some(a) => {
            return Err(ApiError::bad_request(format!(
                "{what}: {PI_REFS}: AE-ID ({a}) is already allocated at PR ({})",
                router_name(index, router)
            )));
        }
        None => (0..AE_MAX).find(|v| free(*v)).ok_or_else(|| {
            ApiError::bad_request(format!(
                "{what}: ResourceExhaustionError: when allocating AE-ID for \
                 virtual-port-group ({}) at physical-router ({})",
                vpg.name(),
                router_name(index, router)
            ))
        })?,
    };
    let key = keys::id(&pool, id);
    p.hold(key.clone());
    p.absent(key.clone(), None);
    p.put(key, vpg.uuid.clone());
    Ok(id)
}

/// Plans the release of every AE id `vpg` holds.
pub fn free(index: &Index, vpg: &Obj, p: &mut Planned) {
    for (router, id) in held(index, vpg) {
        p.delete(keys::id(&pool(&router), id));
    }
}
