//! Instance IPs (Contrail's `instance_ip.py`): where the address comes from is one of a
//! network, IPAMs, or one vrouter (its IPAMs' pools), and a vrouter's address cannot be asked
//! for by subnet.

use super::Ctx;
use crate::error::{ApiError, ApiResult};
use crate::object::Obj;

pub fn check(c: &Ctx, old: Option<&Obj>, new: &mut Obj) -> ApiResult<()> {
    if old.is_some() {
        return Ok(());
    }
    let count = |to: &str| new.refs().filter(|r| r.to_type == to).count();
    let routers = count("virtual-router");
    if routers == 0 {
        return Ok(());
    }
    let bad = |m: &str| Err(ApiError::bad_request(format!("{}: {m}", c.what)));
    if count("network-ipam") > 0 {
        return bad("virtual_router_refs and network_ipam_refs are not allowed together");
    }
    if count("virtual-network") > 0 {
        return bad("virtual_router_refs and virtual_network_refs are not allowed together");
    }
    if routers > 1 {
        return bad("virtual_router_refs: Instance IP cannot refer to multiple vrouters");
    }
    if new
        .body
        .get("subnet_uuid")
        .and_then(|v| v.as_str())
        .is_some_and(|s| !s.is_empty())
    {
        return bad("subnet_uuid: subnet uuid based allocation not supported with vrouter");
    }
    Ok(())
}
