//! Virtual networks (Contrail's `virtual_network.py` allocations): the network id and a VXLAN
//! id a client sets, the subnets as stored and their quota, and the primary routing instance
//! created with the network; on delete, the addresses reserved with `ip-alloc`.

use serde_json::json;

use super::{Companions, Ctx, allocate_id, server_owned};
use crate::alloc::addr;
use crate::alloc::ids::{self, VN_IDS};
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::object::{Obj, Parent};
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

/// Contrail's primary routing instance of a VN: same name, child of the VN.
fn primary_routing_instance(vn: &Obj) -> Obj {
    let ty = cirrus_model::schema()
        .resource("routing-instance")
        .expect("schema has routing-instance");
    // The fabric network's instance is Contrail's `__default__`, the default routing instance.
    let fabric = vn.fq_str == "default-domain:default-project:ip-fabric";
    let name = if fabric { "__default__" } else { vn.name() };
    let mut fq_name = vn.fq_name.clone();
    fq_name.push(name.to_string());
    let uuid = uuid::Uuid::new_v4().to_string();
    let mut body = serde_json::Map::new();
    body.insert("routing_instance_is_default".into(), json!(fabric));
    if let Some(p) = vn.body.get("perms2") {
        body.insert("perms2".into(), p.clone());
    }
    body.insert("id_perms".into(), crate::object::default_id_perms(&uuid));
    body.insert("display_name".into(), json!(name));
    Obj {
        ty,
        fq_str: fq_name.join(":"),
        fq_name,
        uuid,
        parent: Some(Parent {
            type_name: vn.type_name(),
            uuid: vn.uuid.clone(),
        }),
        body,
        revision: 0,
    }
}
