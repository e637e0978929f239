//! Addresses of instance IPs, floating IPs and alias IPs (Contrail's `instance_ip.py`,
//! `floating_ip.py`, `alias_ip.py` over `vnc_addr_mgmt.py`): taken from the network (or the
//! pool's network), from IPAMs' flat subnets, or from a vrouter's IPAM links when created;
//! fixed afterwards; given back when deleted. The allocator itself is `alloc/`.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{Value, json};

use super::{Companions, Ctx, refs_of};
use crate::alloc::addr::{self, Ask};
use crate::alloc::subnet;
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::object::Obj;
use crate::write::Planned;

/// The address property and its family property, by type.
fn fields(obj: &Obj) -> (&'static str, &'static str) {
    match obj.type_name() {
        "instance-ip" => ("instance_ip_address", "instance_ip_family"),
        "floating-ip" => ("floating_ip_address", "floating_ip_address_family"),
        _ => ("alias_ip_address", "alias_ip_address_family"),
    }
}

pub(super) fn create_instance_ip(c: &Ctx, obj: &mut Obj, p: &mut Planned) -> ApiResult<Companions> {
    let Some(vn) = refs_of(obj, "virtual_network_refs")
        .next()
        .map(str::to_string)
    else {
        assign_from_ipams(c, obj, p)?;
        return Ok(vec![]);
    };
    assign_address(c, obj, p, &vn, "instance_ip_address", "instance_ip_family")?;
    Ok(vec![])
}

/// Floating and alias IPs take theirs from the network above their pool.
pub(super) fn create_in_pool(c: &Ctx, obj: &mut Obj, p: &mut Planned) -> ApiResult<Companions> {
    let (field, family) = fields(obj);
    let vn = pool_vn(c.index, obj).ok_or_else(|| {
        ApiError::bad_request(format!(
            "{}: a {} lives in a pool of a virtual network",
            c.what,
            obj.type_name()
        ))
    })?;
    // A pool may name the subnets of its network it hands addresses from, tried in order.
    let pool_subnets: Vec<String> = obj
        .parent
        .as_ref()
        .and_then(|par| c.index.get(&par.uuid))
        .and_then(|pool| {
            pool.body
                .get("floating_ip_pool_subnets")?
                .get("subnet_uuid")
                .cloned()
        })
        .and_then(|l| l.as_array().cloned())
        .into_iter()
        .flatten()
        .filter_map(|u| u.as_str().map(str::to_string))
        .collect();
    if pool_subnets.is_empty() {
        assign_address(c, obj, p, &vn, field, family)?;
        return Ok(vec![]);
    }
    let mut last = None;
    for subnet in pool_subnets {
        obj.body.insert("subnet_uuid".into(), json!(subnet));
        match assign_address(c, obj, p, &vn, field, family) {
            Ok(()) => return Ok(vec![]),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| ApiError::internal("no pool subnet tried")))
}

pub(super) fn update(c: &Ctx, old: &Obj, new: &mut Obj, _: &mut Planned) -> ApiResult<()> {
    let (field, _) = fields(old);
    if old.body.get(field) != new.body.get(field) {
        let ty = old.type_name().replace('-', " ");
        return Err(ApiError::bad_request(format!(
            "{}: {field}: {ty} address can not be changed",
            c.what
        )));
    }
    if new.type_name() == "instance-ip" {
        check_gateway_user(c, new)?;
    }
    Ok(())
}

/// Gives the address back to the space it was taken from.
pub(super) fn delete(index: &Index, obj: &Obj, p: &mut Planned) {
    let (field, _) = fields(obj);
    let Some(a) = obj.body.get(field).and_then(Value::as_str) else {
        return;
    };
    let vn = match obj.type_name() {
        "instance-ip" => refs_of(obj, "virtual_network_refs")
            .next()
            .and_then(|u| index.get(u)),
        _ => pool_vn(index, obj).and_then(|u| index.get(&u)),
    };
    if let Some(vn) = vn {
        for key in addr::held_keys(index, vn, a, &obj.uuid) {
            p.delete(key);
        }
        return;
    }
    // Taken from IPAMs directly, or through a vrouter's IPAM links: the address lives in
    // one of those IPAMs' spaces.
    let via_router = refs_of(obj, "virtual_router_refs")
        .filter_map(|u| index.get(u))
        .flat_map(|vr| refs_of(vr, "network_ipam_refs"));
    for ipam in refs_of(obj, "network_ipam_refs").chain(via_router) {
        if index.ip_owner(ipam, a) == Some(obj.uuid.as_str()) {
            p.delete(crate::keys::ip(ipam, a));
        }
    }
}

/// The virtual network whose pool holds a floating-ip or alias-ip.
fn pool_vn(index: &Index, obj: &Obj) -> Option<String> {
    let pool = index.get(&obj.parent.as_ref()?.uuid)?;
    Some(pool.parent.as_ref()?.uuid.clone())
}

/// Contrail lets several instance IPs share a subnet's gateway address, but only for ports
/// that are not a virtual machine's (router ports): 400 otherwise.
fn check_gateway_user(c: &Ctx, iip: &Obj) -> ApiResult<()> {
    let Some(a) = iip
        .body
        .get("instance_ip_address")
        .and_then(Value::as_str)
        .and_then(|a| a.parse::<IpAddr>().ok())
    else {
        return Ok(());
    };
    let Some(vn) = refs_of(iip, "virtual_network_refs")
        .next()
        .and_then(|u| c.index.get(u))
    else {
        return Ok(());
    };
    let is_gw =
        addr::subnet_of(&addr::vn_subnets(c.index, vn), a).is_some_and(|s| s.gateway == Some(a));
    if !is_gw {
        return Ok(());
    }
    let vm_port = refs_of(iip, "virtual_machine_interface_refs").any(|u| {
        c.index.get(u).is_some_and(|vmi| {
            vmi.body
                .get("virtual_machine_refs")
                .and_then(Value::as_array)
                .is_some_and(|r| !r.is_empty())
        })
    });
    if vm_port {
        return Err(ApiError::bad_request(format!(
            "{}: Gateway IP cannot be used by VM port",
            c.what
        )));
    }
    Ok(())
}

fn assign_address(
    c: &Ctx,
    obj: &mut Obj,
    p: &mut Planned,
    vn_uuid: &str,
    field: &str,
    family_field: &str,
) -> ApiResult<()> {
    let vn = c
        .index
        .get(vn_uuid)
        .ok_or_else(|| ApiError::not_found(format!("{}: no virtual-network {vn_uuid}", c.what)))?;
    let requested = match obj.body.get(field).and_then(Value::as_str) {
        Some(r) => Some(r.parse::<IpAddr>().map_err(|_| {
            ApiError::bad_request(format!("{}: {field}: {r:?} is not an IP address", c.what))
        })?),
        None => None,
    };
    let ask = Ask {
        addr: requested,
        v6: subnet::is_v6(obj.body.get(family_field).and_then(Value::as_str)),
        subnet_uuid: obj
            .body
            .get("subnet_uuid")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .map(str::to_string),
    };
    let picked = addr::allocate(c.index, c.reserved, vn, &ask, &obj.uuid, p)
        .map_err(|e| e.on_create(c.what))?;
    record_address(c, obj, picked, field, family_field)
}

/// An instance IP with no network but IPAM refs takes the next free address of those IPAMs'
/// flat subnets (Contrail allocates so for pods); one that refers to a vrouter takes it from
/// the pools of the vrouter's IPAM links. Asking for an address is 400.
fn assign_from_ipams(c: &Ctx, obj: &mut Obj, p: &mut Planned) -> ApiResult<()> {
    let router = refs_of(obj, "virtual_router_refs")
        .next()
        .and_then(|u| c.index.get(u));
    let links: Vec<(&Arc<Obj>, Ranges)> = match router {
        Some(vr) => vr
            .body
            .get("network_ipam_refs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| {
                let ipam = c.index.get(r.get("uuid")?.as_str()?)?;
                Some((ipam, router_pools(r)))
            })
            .collect(),
        None => refs_of(obj, "network_ipam_refs")
            .filter_map(|u| c.index.get(u))
            .map(|i| (i, Vec::new()))
            .collect(),
    };
    let ipams: Vec<&Arc<Obj>> = links.iter().map(|(i, _)| *i).collect();
    let Some(first) = ipams.first() else {
        return Err(ApiError::bad_request(format!(
            "{}: virtual_network_refs: an instance-ip needs a virtual network (or \
             network_ipam_refs to IPAMs with flat subnets, or a virtual router's)",
            c.what
        )));
    };
    if obj
        .body
        .get("instance_ip_address")
        .is_some_and(|v| !v.is_null())
    {
        return Err(ApiError::bad_request(format!(
            "{}: instance_ip_address: allocation for requested IP from a network_ipam is not \
             supported",
            c.what
        )));
    }
    let subnets: Vec<subnet::Subnet> = links
        .iter()
        .flat_map(|(ipam, pools)| {
            addr::ipam_subnets(ipam)
                .into_iter()
                .filter_map(move |mut s| {
                    if router.is_none() {
                        return Some(s);
                    }
                    // Through a vrouter: only its link's pools, in the subnets that hold them.
                    let inside: Vec<(u128, u128)> = pools
                        .iter()
                        .copied()
                        .filter(|(a, b)| s.first() <= *a && *b <= s.last())
                        .collect();
                    (!inside.is_empty()).then(|| {
                        s.pools = inside;
                        s
                    })
                })
        })
        .collect();
    let ask = Ask {
        addr: None,
        v6: subnet::is_v6(obj.body.get("instance_ip_family").and_then(Value::as_str)),
        subnet_uuid: obj
            .body
            .get("subnet_uuid")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .map(str::to_string),
    };
    let tag = obj
        .body
        .get("instance_ip_subscriber_tag")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_string);
    let picked = match tag {
        Some(tag) => {
            super::subscriber_tag::allocate(c, &obj.uuid, &ipams, &subnets, &tag, &ask, p)?
        }
        None => addr::allocate_from(c.index, c.reserved, first, &subnets, &ask, &obj.uuid, p)
            .map_err(|e| e.on_create(c.what))?,
    };
    record_address(c, obj, picked, "instance_ip_address", "instance_ip_family")
}

/// Inclusive address ranges.
type Ranges = Vec<(u128, u128)>;

/// The allocation pools on a vrouter's IPAM link, as address ranges.
fn router_pools(link: &Value) -> Ranges {
    link.pointer("/attr/allocation_pools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let a: IpAddr = p.get("start")?.as_str()?.parse().ok()?;
            let b: IpAddr = p.get("end")?.as_str()?.parse().ok()?;
            Some((subnet::to_u128(a), subnet::to_u128(b)))
        })
        .collect()
}

fn record_address(
    c: &Ctx,
    obj: &mut Obj,
    picked: addr::Picked,
    field: &str,
    family_field: &str,
) -> ApiResult<()> {
    obj.body
        .insert("subnet_uuid".into(), json!(picked.subnet_uuid));
    obj.body
        .insert(field.into(), json!(picked.addr.to_string()));
    if obj.body.get(family_field).is_none_or(Value::is_null) {
        obj.body.insert(
            family_field.into(),
            json!(if picked.addr.is_ipv6() { "v6" } else { "v4" }),
        );
    }
    if picked.is_gateway && obj.type_name() == "instance-ip" {
        check_gateway_user(c, obj)?;
    } else if picked.is_gateway {
        // Only instance IPs may share the gateway address.
        return Err(ApiError::conflict(format!(
            "{}: {field}: IP address already in use",
            c.what
        )));
    }
    Ok(())
}
