//! Sub-clusters: their `sub_cluster_id`, as Contrail's `sub_cluster.py` allocates it.

use serde_json::{Value, json};

use super::{Companions, Ctx, allocate_id};
use crate::alloc::ids::{self, SUB_CLUSTER_IDS};
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;
use crate::write::Planned;

pub(super) fn create(c: &Ctx, obj: &mut Obj, p: &mut Planned) -> ApiResult<Companions> {
    sub_cluster_id(c, None, obj, p)?;
    Ok(vec![])
}

pub(super) fn update(c: &Ctx, old: &Obj, new: &mut Obj, p: &mut Planned) -> ApiResult<()> {
    sub_cluster_id(c, Some(old), new, p)
}

/// A sub-cluster's id: allocated from 1 unless the client names a free one, within two bytes
/// when the global ASN takes four and four bytes otherwise (Contrail's `sub_cluster.py`). An
/// update may move it to another free id; one that names none keeps it.
fn sub_cluster_id(c: &Ctx, old: Option<&Obj>, new: &mut Obj, p: &mut Planned) -> ApiResult<()> {
    let prop = SUB_CLUSTER_IDS.1;
    let held = old.and_then(|o| o.body.get(prop)).and_then(Value::as_u64);
    let Some(asked) = new.body.get(prop).filter(|v| !v.is_null()).cloned() else {
        return match held {
            Some(h) => {
                new.body.insert(prop.into(), json!(h));
                Ok(())
            }
            None => allocate_id(c, new, p, SUB_CLUSTER_IDS),
        };
    };
    let max: u64 = if crate::rules::global_asn(c.index) > 0xFFFF {
        0xFFFF
    } else {
        0xFFFF_FFFF
    };
    let v = asked
        .as_u64()
        .filter(|v| (1..=max).contains(v))
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "{}: {prop}: requested id {asked} is out of the range 1-{max} (two bytes if the \
             global ASN uses four bytes, four bytes if it uses two)",
                c.what
            ))
        })?;
    if held == Some(v) {
        return Ok(());
    }
    ids::reserve(c.index, c.reserved, c.what, new, p, SUB_CLUSTER_IDS, v)?;
    if let Some(h) = held {
        p.delete(crate::keys::id(SUB_CLUSTER_IDS.0, h));
    }
    Ok(())
}
