//! Server-side semantics that Contrail's API server adds to plain storage, per type: a virtual
//! network's id and primary routing instance, a security group's id, a VMI's MAC, the addresses of
//! instance IPs and floating IPs, and what each frees when deleted.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::ipam;
use crate::keys;
use crate::object::{Obj, Parent};
use crate::write::{Planned, Reservations};

/// Integer id pools: (pool name, property, first value).
const VN_IDS: (&str, &str, u64) = ("vn", "virtual_network_network_id", 1);
const SG_IDS: (&str, &str, u64) = ("sg", "security_group_id", 8_000_000);

pub struct Ctx<'a> {
    pub index: &'a Index,
    pub reserved: &'a Reservations,
    pub what: &'a str,
}

/// Extra objects created along with the one requested (a VN's primary routing instance).
pub type Companions = Vec<Obj>;

/// Fixes up a create body before its identity is read: a tag's name is always
/// `<tag_type_name>=<tag_value>`, whatever the client called it (Contrail does the same).
pub fn normalize_input(type_name: &str, input: &mut serde_json::Map<String, Value>) {
    if type_name != "tag" {
        return;
    }
    let (Some(t), Some(v)) = (
        input.get("tag_type_name").and_then(Value::as_str),
        input.get("tag_value").and_then(Value::as_str),
    ) else {
        return;
    };
    let name = format!("{t}={v}");
    if let Some(fq) = input.get_mut("fq_name").and_then(Value::as_array_mut)
        && let Some(last) = fq.last_mut()
    {
        *last = json!(name);
    }
    input.insert("name".into(), json!(name));
    if input
        .get("display_name")
        .is_some_and(|d| d.as_str() != Some(&name))
    {
        input.insert("display_name".into(), json!(name));
    }
}

/// Allocations hold their key in `c.reserved` until the transaction ends, and a plan that fails
/// is never committed nor released: so every check that can fail comes before the allocation.
pub fn on_create(c: &Ctx, obj: &mut Obj, p: &mut Planned) -> ApiResult<Companions> {
    match obj.type_name() {
        "virtual-network" => {
            server_owned(c, obj, VN_IDS.1)?;
            if let Some(refs) = obj.body.get_mut("network_ipam_refs") {
                ipam::normalize_vn_subnets(c.what, refs)?;
            }
            allocate_id(c, obj, p, VN_IDS)?;
            Ok(vec![primary_routing_instance(obj)])
        }
        "tag" => {
            // tag_id = tag type id (high 16 bits) | a per-type value id (low 16 bits).
            let t = obj
                .body
                .get("tag_type_name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let tag_type = c.index.by_fq_name("tag-type", &t).ok_or_else(|| {
                ApiError::not_found(format!("{}: tag_type_name: no tag-type {t:?}", c.what))
            })?;
            let type_id = tag_type
                .body
                .get("tag_type_id")
                .and_then(Value::as_str)
                .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok())
                .unwrap_or(0);
            let pool = format!("tag-{t}");
            allocate_id(c, obj, p, (&pool, "tag_value_id", 1))?;
            let value_id = obj
                .body
                .remove("tag_value_id")
                .and_then(|v| v.as_u64())
                .unwrap_or(0);
            obj.body.insert(
                "tag_id".into(),
                json!(format!("0x{:08x}", (type_id << 16) | value_id)),
            );
            obj.body.insert(
                "tag_type_refs".into(),
                json!([{"to": tag_type.fq_name, "uuid": tag_type.uuid, "attr": null}]),
            );
            Ok(vec![])
        }
        "security-group" => {
            server_owned(c, obj, SG_IDS.1)?;
            allocate_id(c, obj, p, SG_IDS)?;
            Ok(vec![])
        }
        "virtual-machine-interface" => {
            let has_mac = obj
                .body
                .get("virtual_machine_interface_mac_addresses")
                .and_then(|m| m.pointer("/mac_address/0"))
                .is_some();
            if !has_mac {
                obj.body.insert(
                    "virtual_machine_interface_mac_addresses".into(),
                    json!({"mac_address": [mac_from_uuid(&obj.uuid)]}),
                );
            }
            if refs_of(obj, "virtual_network_refs").next().is_none() {
                return Err(ApiError::bad_request(format!(
                    "{}: virtual_network_refs: a virtual-machine-interface needs a virtual network",
                    c.what
                )));
            }
            Ok(vec![])
        }
        "instance-ip" => {
            let vn = refs_of(obj, "virtual_network_refs")
                .next()
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "{}: virtual_network_refs: an instance-ip needs a virtual network",
                        c.what
                    ))
                })?;
            assign_address(c, obj, p, &vn, "instance_ip_address", "instance_ip_family")?;
            Ok(vec![])
        }
        "floating-ip" => {
            let vn = obj
                .parent
                .as_ref()
                .and_then(|pool| c.index.get(&pool.uuid))
                .and_then(|pool| pool.parent.as_ref())
                .map(|vn| vn.uuid.clone())
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "{}: a floating-ip lives in a floating-ip-pool of a virtual network",
                        c.what
                    ))
                })?;
            assign_address(
                c,
                obj,
                p,
                &vn,
                "floating_ip_address",
                "floating_ip_address_family",
            )?;
            Ok(vec![])
        }
        _ => Ok(vec![]),
    }
}

pub fn on_update(c: &Ctx, old: &Obj, new: &mut Obj, _p: &mut Planned) -> ApiResult<()> {
    for (ty, field) in [("virtual-network", VN_IDS.1), ("security-group", SG_IDS.1)] {
        if old.type_name() == ty && old.body.get(field) != new.body.get(field) {
            return Err(ApiError::forbidden(format!(
                "{}: {field} is allocated by the server and cannot be changed",
                c.what
            )));
        }
    }
    for field in ["instance_ip_address", "floating_ip_address"] {
        if old.body.get(field) != new.body.get(field) {
            return Err(ApiError::bad_request(format!(
                "{}: {field} cannot be changed; delete and create the object instead",
                c.what
            )));
        }
    }
    if new.type_name() == "virtual-network" {
        if let Some(refs) = new.body.get_mut("network_ipam_refs") {
            ipam::normalize_vn_subnets(c.what, refs)?;
        }
        // A subnet that still holds allocated addresses cannot go away.
        let subnets = ipam::vn_subnets(c.index, new);
        for (addr, owner) in c.index.ips_of(&new.uuid) {
            let in_use = addr
                .parse::<IpAddr>()
                .ok()
                .and_then(|a| ipam::subnet_of(&subnets, a));
            if in_use.is_none() {
                return Err(ApiError::conflict(format!(
                    "{}: cannot remove the subnet of {addr}: it is in use by {owner}",
                    c.what
                )));
            }
        }
    }
    Ok(())
}

/// Objects that go away together with `obj`: a VN's routing instances, and the access
/// control lists the intent compiler derives under a VN or a security group.
pub fn cascade(index: &Index, obj: &Obj) -> Vec<Arc<Obj>> {
    let derived: &[&str] = match obj.type_name() {
        "virtual-network" => &["routing-instance", "access-control-list"],
        "security-group" => &["access-control-list"],
        _ => &[],
    };
    index
        .children(&obj.uuid)
        .filter(|c| derived.contains(&c.type_name()))
        .cloned()
        .collect()
}

/// Refs that never block a delete: the connections the intent compiler keeps between
/// routing instances (it removes them itself once either network is gone).
pub fn derived_ref(from: &Obj, to: &Obj) -> bool {
    from.type_name() == "routing-instance" && to.type_name() == "routing-instance"
}

/// Frees what `obj` held: addresses and ids.
pub fn on_delete(index: &Index, obj: &Obj, p: &mut Planned) {
    for (_, prop, _) in [VN_IDS, SG_IDS] {
        if let Some(id) = obj.body.get(prop).and_then(Value::as_u64) {
            let pool = if prop == VN_IDS.1 { VN_IDS.0 } else { SG_IDS.0 };
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
    if obj.type_name() == "virtual-network" {
        // Addresses reserved with ip-alloc belong to the network itself.
        for (addr, owner) in index.ips_of(&obj.uuid) {
            if owner == &obj.uuid {
                p.delete(keys::ip(&obj.uuid, addr));
            }
        }
    }
    for (field, vn) in [
        (
            "instance_ip_address",
            refs_of(obj, "virtual_network_refs")
                .next()
                .map(str::to_string),
        ),
        ("floating_ip_address", floating_vn(index, obj)),
    ] {
        if let (Some(addr), Some(vn)) = (obj.body.get(field).and_then(Value::as_str), vn)
            && index.ip_owner(&vn, addr) == Some(obj.uuid.as_str())
        {
            p.delete(keys::ip(&vn, addr));
        }
    }
}

fn floating_vn(index: &Index, obj: &Obj) -> Option<String> {
    if obj.type_name() != "floating-ip" {
        return None;
    }
    let pool = index.get(&obj.parent.as_ref()?.uuid)?;
    Some(pool.parent.as_ref()?.uuid.clone())
}

pub fn refs_of<'a>(obj: &'a Obj, field: &str) -> impl Iterator<Item = &'a str> {
    obj.body
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("uuid")?.as_str())
}

fn server_owned(c: &Ctx, obj: &Obj, field: &str) -> ApiResult<()> {
    if obj.body.get(field).is_some_and(|v| !v.is_null()) {
        return Err(ApiError::forbidden(format!(
            "{}: {field} is allocated by the server and cannot be set",
            c.what
        )));
    }
    Ok(())
}

fn allocate_id(
    c: &Ctx,
    obj: &mut Obj,
    p: &mut Planned,
    (pool, prop, first): (&str, &str, u64),
) -> ApiResult<()> {
    let used = c.index.ids(pool);
    // Next after the highest in use keeps allocation O(log n); fill gaps only near the limit.
    let mut v = used
        .and_then(|s| s.last())
        .map_or(first, |m| m + 1)
        .max(first);
    let limit = first + (1 << 24);
    let mut tries = 0;
    while used.is_some_and(|s| s.contains(&v)) || !c.reserved.try_hold(&keys::id(pool, v)) {
        v += 1;
        tries += 1;
        if v >= limit {
            v = first;
        }
        if tries > 1 << 20 {
            return Err(ApiError::new(
                axum::http::StatusCode::PRECONDITION_FAILED,
                format!("{}: no free {prop}", c.what),
            ));
        }
    }
    let key = keys::id(pool, v);
    p.hold(key.clone());
    p.absent(key.clone(), None);
    p.put(key, obj.uuid.clone());
    obj.body.insert(prop.into(), json!(v));
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
    let subnets = ipam::vn_subnets(c.index, vn);
    if subnets.is_empty() {
        return Err(ApiError::bad_request(format!(
            "{}: virtual network {} has no subnets to allocate from",
            c.what, vn.fq_str
        )));
    }
    let requested = obj
        .body
        .get(field)
        .and_then(Value::as_str)
        .map(str::to_string);
    let addr = if let Some(req) = requested {
        let addr: IpAddr = req.parse().map_err(|_| {
            ApiError::bad_request(format!("{}: {field}: {req:?} is not an IP address", c.what))
        })?;
        let sn = ipam::subnet_of(&subnets, addr).ok_or_else(|| {
            ApiError::bad_request(format!(
                "{}: {field}: {addr} is not in any subnet of {}",
                c.what, vn.fq_str
            ))
        })?;
        if let Some(owner) = c.index.ip_owner(vn_uuid, &addr.to_string()) {
            return Err(ApiError::conflict(format!(
                "{}: {field}: {addr} is already in use by {owner}",
                c.what
            )));
        }
        obj.body.insert("subnet_uuid".into(), json!(sn.uuid));
        let key = keys::ip(vn_uuid, &addr.to_string());
        p.absent(
            key.clone(),
            Some(format!("{}: {field}: {addr} is already in use", c.what)),
        );
        p.put(key, obj.uuid.clone());
        addr
    } else {
        let want_v6 = ipam::is_v6(obj.body.get(family_field).and_then(Value::as_str));
        let want_subnet = obj
            .body
            .get("subnet_uuid")
            .and_then(Value::as_str)
            .map(str::to_string);
        let candidates = subnets.iter().filter(|s| {
            want_v6.is_none_or(|v6| matches!(s.net, ipnet::IpNet::V6(_)) == v6)
                && want_subnet.as_deref().is_none_or(|u| u == s.uuid)
        });
        let mut picked = None;
        'subnets: for sn in candidates {
            for _ in 0..64 {
                let Some(a) = ipam::find_free(sn, &|a| {
                    let s = a.to_string();
                    c.index.ip_owner(vn_uuid, &s).is_some()
                        || c.reserved.is_held(&keys::ip(vn_uuid, &s))
                }) else {
                    continue 'subnets;
                };
                if c.reserved.try_hold(&keys::ip(vn_uuid, &a.to_string())) {
                    picked = Some((a, sn.uuid.clone()));
                    break 'subnets;
                }
            }
        }
        let (addr, sn_uuid) = picked.ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::CONFLICT,
                format!(
                    "{}: virtual network {} has no free address left",
                    c.what, vn.fq_str
                ),
            )
        })?;
        obj.body.insert("subnet_uuid".into(), json!(sn_uuid));
        let key = keys::ip(vn_uuid, &addr.to_string());
        p.hold(key.clone());
        p.absent(key.clone(), None);
        p.put(key, obj.uuid.clone());
        addr
    };
    obj.body.insert(field.into(), json!(addr.to_string()));
    if !obj.body.contains_key(family_field) || obj.body[family_field].is_null() {
        obj.body.insert(
            family_field.into(),
            json!(if addr.is_ipv6() { "v6" } else { "v4" }),
        );
    }
    Ok(())
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
    body.insert("id_perms".into(), crate::ops::default_id_perms(&uuid));
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

/// A locally administered unicast MAC taken from the object's uuid, as Contrail does.
fn mac_from_uuid(uuid: &str) -> String {
    let hex: String = uuid.chars().filter(char::is_ascii_hexdigit).collect();
    let b = |i: usize| hex.get(i * 2..i * 2 + 2).unwrap_or("00").to_string();
    format!("02:{}:{}:{}:{}:{}", b(0), b(1), b(2), b(3), b(4))
}
