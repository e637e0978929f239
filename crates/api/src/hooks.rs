//! Server-side semantics that Contrail's API server adds to plain storage, per type: a virtual
//! network's id and primary routing instance, a security group's id, a VMI's MAC, the addresses of
//! instance IPs and floating IPs, and what each frees when deleted.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::alloc::addr::{self, Ask};
use crate::alloc::ids::{self, SG_IDS, SUB_CLUSTER_IDS, VN_IDS};
use crate::alloc::subnet;
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::object::{Obj, Parent};
use crate::quota::QuotaDefaults;
use crate::reservations::Reservations;
use crate::write::Planned;

pub struct Ctx<'a> {
    pub index: &'a Index,
    pub reserved: &'a Reservations,
    /// The operator's default quotas.
    pub quotas: &'a QuotaDefaults,
    pub what: &'a str,
    /// The request body as given.
    pub input: &'a serde_json::Map<String, Value>,
}

impl Ctx<'_> {
    fn rules(&self) -> crate::rules::Ctx<'_> {
        crate::rules::Ctx {
            index: self.index,
            what: self.what,
            input: self.input,
        }
    }
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
    crate::rules::check(&c.rules(), None, obj)?;
    match obj.type_name() {
        "virtual-network" => {
            server_owned(c, obj, VN_IDS.1)?;
            crate::vn_subnets::normalize(c.index, c.what, obj, None)?;
            crate::vn_subnets::check_subnet_quota(c.index, c.quotas, c.what, obj, None, p)?;
            ids::vxlan(c.index, c.reserved, c.what, None, obj, p)?;
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
        "network-ipam" => {
            crate::vn_subnets::normalize_ipam(c.index, c.what, obj, None)?;
            Ok(vec![])
        }
        "security-group" => {
            server_owned(c, obj, SG_IDS.1)?;
            crate::quota::check_security_group_rules(c.index, c.quotas, c.what, obj, None, p)?;
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
            native_instance_ref(c.index, obj);
            Ok(vec![])
        }
        "sub-cluster" => {
            sub_cluster_id(c, None, obj, p)?;
            Ok(vec![])
        }
        "instance-ip" => {
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
        "floating-ip" | "alias-ip" => {
            let (field, family) = if obj.type_name() == "floating-ip" {
                ("floating_ip_address", "floating_ip_address_family")
            } else {
                ("alias_ip_address", "alias_ip_address_family")
            };
            let vn = pool_vn(c.index, obj).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "{}: a {} lives in a pool of a virtual network",
                    c.what,
                    obj.type_name()
                ))
            })?;
            assign_address(c, obj, p, &vn, field, family)?;
            Ok(vec![])
        }
        _ => Ok(vec![]),
    }
}

pub fn on_update(c: &Ctx, old: &Obj, new: &mut Obj, p: &mut Planned) -> ApiResult<()> {
    crate::rules::check(&c.rules(), Some(old), new)?;
    for (ty, field) in [("virtual-network", VN_IDS.1), ("security-group", SG_IDS.1)] {
        if old.type_name() == ty && old.body.get(field) != new.body.get(field) {
            return Err(ApiError::server_owned(c.what, field, "changed"));
        }
    }
    for field in [
        "instance_ip_address",
        "floating_ip_address",
        "alias_ip_address",
    ] {
        if old.body.get(field) != new.body.get(field) {
            let ty = old.type_name().replace('-', " ");
            return Err(ApiError::bad_request(format!(
                "{}: {field}: {ty} address can not be changed",
                c.what
            )));
        }
    }
    match new.type_name() {
        "virtual-network" => {
            crate::vn_subnets::normalize(c.index, c.what, new, Some(old))?;
            crate::vn_subnets::check_subnet_quota(c.index, c.quotas, c.what, new, Some(old), p)?;
            // A subnet that still holds allocated addresses cannot go away.
            let subnets = addr::vn_subnets(c.index, new);
            addr::check_still_covered(c.index, &new.uuid, &subnets)
                .map_err(|e| ApiError::conflict(format!("{}: {}", c.what, e.message)))?;
            // Last: the only step that holds a key.
            ids::vxlan(c.index, c.reserved, c.what, Some(old), new, p)?;
        }
        "network-ipam" => crate::vn_subnets::normalize_ipam(c.index, c.what, new, Some(old))?,
        "security-group" => {
            crate::quota::check_security_group_rules(c.index, c.quotas, c.what, new, Some(old), p)?
        }
        "instance-ip" => check_gateway_user(c, new)?,
        "sub-cluster" => sub_cluster_id(c, Some(old), new, p)?,
        _ => {}
    }
    Ok(())
}

/// A port refers to its network's primary routing instance with `direction: both` from its
/// create on, as Contrail's api-server links it (the intent compiler keeps the link after).
fn native_instance_ref(index: &Index, vmi: &mut Obj) {
    let Some(ri) = refs_of(vmi, "virtual_network_refs")
        .next()
        .and_then(|vn| index.get_typed("virtual-network", vn))
        .and_then(|vn| {
            let name = if vn.fq_str == "default-domain:default-project:ip-fabric" {
                "__default__"
            } else {
                vn.name()
            };
            index.by_fq_name("routing-instance", &format!("{}:{name}", vn.fq_str))
        })
    else {
        return;
    };
    if refs_of(vmi, "routing_instance_refs").any(|u| u == ri.uuid) {
        return;
    }
    let link = json!({"to": ri.fq_name, "uuid": ri.uuid, "attr": {"direction": "both"}});
    match vmi.body.get_mut("routing_instance_refs") {
        Some(Value::Array(refs)) => refs.push(link),
        _ => {
            vmi.body
                .insert("routing_instance_refs".into(), Value::Array(vec![link]));
        }
    }
}

/// Refs that a cascaded delete takes away with their target instead of refusing: a port's
/// link to the primary routing instance of a network being deleted (Contrail drops it).
pub fn dropped_with_target(from: &Obj, to: &Obj) -> bool {
    from.type_name() == "virtual-machine-interface" && to.type_name() == "routing-instance"
}

/// Removes every ref of `obj` to `target`.
pub fn drop_refs_to(obj: &mut Obj, target: &str) {
    let ty = obj.ty;
    obj.body.retain(|field, list| {
        if ty.ref_by_field(field).is_none() {
            return true;
        }
        if let Value::Array(refs) = list {
            refs.retain(|r| r.get("uuid").and_then(Value::as_str) != Some(target));
            return !refs.is_empty();
        }
        true
    });
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
    ids::free(obj, p);
    if obj.type_name() == "virtual-network" {
        // Addresses reserved with ip-alloc belong to the network itself.
        for (a, owner) in index.ips_of(&obj.uuid) {
            if owner == &obj.uuid {
                p.delete(crate::keys::ip(&obj.uuid, a));
            }
        }
    }
    let vn = match obj.type_name() {
        "instance-ip" => refs_of(obj, "virtual_network_refs")
            .next()
            .and_then(|u| index.get(u)),
        "floating-ip" | "alias-ip" => pool_vn(index, obj).and_then(|u| index.get(&u)),
        _ => None,
    };
    let field = match obj.type_name() {
        "instance-ip" => "instance_ip_address",
        "floating-ip" => "floating_ip_address",
        _ => "alias_ip_address",
    };
    if let (Some(vn), Some(a)) = (vn, obj.body.get(field).and_then(Value::as_str)) {
        for key in addr::held_keys(index, vn, a, &obj.uuid) {
            p.delete(key);
        }
    } else if let Some(a) = obj.body.get(field).and_then(Value::as_str) {
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
}

/// The virtual network whose pool holds a floating-ip or alias-ip.
fn pool_vn(index: &Index, obj: &Obj) -> Option<String> {
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
        return Err(ApiError::server_owned(c.what, field, "set"));
    }
    Ok(())
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

fn allocate_id(c: &Ctx, obj: &mut Obj, p: &mut Planned, pool: ids::Pool) -> ApiResult<()> {
    ids::allocate(c.index, c.reserved, c.what, obj, p, pool)
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
    let picked = addr::allocate_from(c.index, c.reserved, first, &subnets, &ask, &obj.uuid, p)
        .map_err(|e| e.on_create(c.what))?;
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

/// A locally administered unicast MAC taken from the object's uuid, as Contrail does.
fn mac_from_uuid(uuid: &str) -> String {
    let hex: String = uuid.chars().filter(char::is_ascii_hexdigit).collect();
    let b = |i: usize| hex.get(i * 2..i * 2 + 2).unwrap_or("00").to_string();
    format!("02:{}:{}:{}:{}:{}", b(0), b(1), b(2), b(3), b(4))
}
