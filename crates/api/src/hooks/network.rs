//! Virtual networks (Contrail's `virtual_network.py` allocations): the network id and a VXLAN
//! id a client sets, the subnets as stored and their quota, and the primary routing instance
//! created with the network; on delete, the addresses reserved with `ip-alloc`.

use serde_json::json;

use super::{Companions, Ctx, allocate_id, server_owned};
use crate::alloc::addr;
use crate::alloc::ids::{self, VN_IDS};
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::object::Obj;
use crate::write::Planned;

pub(super) fn create(c: &Ctx, obj: &mut Obj, p: &mut Planned) -> ApiResult<Companions> {
    server_owned(c, obj, VN_IDS.1)?;
    crate::vn_subnets::normalize(c.index, c.what, obj, None)?;
    crate::vn_subnets::check_subnet_quota(c.index, c.quotas, c.what, obj, None, p)?;
    ids::vxlan(c.index, c.reserved, c.what, None, obj, p)?;
    allocate_id(c, obj, p, VN_IDS)?;
    Ok(vec![primary_routing_instance(obj)])
}

pub(super) fn update(c: &Ctx, old: &Obj, new: &mut Obj, p: &mut Planned) -> ApiResult<()> {
    if old.body.get(VN_IDS.1) != new.body.get(VN_IDS.1) {
        return Err(ApiError::server_owned(c.what, VN_IDS.1, "changed"));
    }
    crate::vn_subnets::normalize(c.index, c.what, new, Some(old))?;
    crate::vn_subnets::check_subnet_quota(c.index, c.quotas, c.what, new, Some(old), p)?;
    // A subnet that still holds allocated addresses cannot go away.
    let subnets = addr::vn_subnets(c.index, new);
    addr::check_still_covered(c.index, &new.uuid, &subnets)
        .map_err(|e| ApiError::conflict(format!("{}: {}", c.what, e.message)))?;
    // Last: the only step that holds a key.
    ids::vxlan(c.index, c.reserved, c.what, Some(old), new, p)
}

/// Addresses reserved with ip-alloc belong to the network itself.
pub(super) fn delete(index: &Index, obj: &Obj, p: &mut Planned) {
    for (a, owner) in index.ips_of(&obj.uuid) {
        if owner == &obj.uuid {
            p.delete(crate::keys::ip(&obj.uuid, a));
        }
    }
}

/// Contrail's primary routing instance of a VN: same name, child of the VN, marked default
/// (`routing_instance_is_default`) from the start, as Contrail's api-server creates it; a client
/// can neither delete it nor change the mark (`rules/routing_instance.rs`).
fn primary_routing_instance(vn: &Obj) -> Obj {
    // The fabric network's instance is Contrail's `__default__`, the default routing instance.
    let fabric = vn.fq_str == "default-domain:default-project:ip-fabric";
    let name = if fabric { "__default__" } else { vn.name() };
    let mut body = serde_json::Map::new();
    body.insert("routing_instance_is_default".into(), json!(true));
    if let Some(p) = vn.body.get("perms2") {
        body.insert("perms2".into(), p.clone());
    }
    super::companion("routing-instance", vn, name, body)
}
