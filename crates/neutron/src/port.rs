//! Ports: a Neutron port is a virtual-machine-interface under the tenant's project (fq_name its
//! uuid, name in `display_name`), on its network by `virtual_network_refs`, with one
//! instance-ip per fixed IP (address from the api crate's allocator, `subnet_uuid` the subnet),
//! its MAC, allowed address pairs, security groups, `port_security_enabled` and
//! `virtual_machine_interface_device_owner`; `device_id` is a virtual-machine of that name
//! (uuid) the port refers to, as vnc_openstack makes it; `binding:*` are the
//! `virtual_machine_interface_bindings` pairs, and `binding:host_id` places the port on that
//! host's vrouter (the control node's placement reads it), which reports `binding:vif_type`
//! `vrouter`.

use std::net::IpAddr;

use cirrus_api::index::Index;
use cirrus_api::object::Obj;
use serde_json::{Map, Value, json};

use crate::attrs::{Attr, Op, Ty, b, create_only, parse, rw, s};
use crate::ctx::Ctx;
use crate::error::{NResult, NeutronError};
use crate::port_policy::{check_binding_policy, check_delete_policy, for_caller};
use crate::{network, security_group, subnet, vnc};

pub const TYPE: &str = "virtual-machine-interface";
pub const RESOURCE: &str = "Port";
const BINDINGS: &str = "virtual_machine_interface_bindings";

const ATTRS: &[Attr] = &[
    create_only("network_id", Ty::Str).required(),
    rw("admin_state_up", Ty::Bool),
    create_only("mac_address", Ty::Str),
    rw("fixed_ips", Ty::List),
    rw("device_id", Ty::Str),
    rw("device_owner", Ty::Str),
    rw("security_groups", Ty::List).nullable(),
    rw("allowed_address_pairs", Ty::List).nullable(),
    rw("port_security_enabled", Ty::Bool),
    rw("binding:host_id", Ty::Str).nullable(),
    rw("binding:profile", Ty::Dict).nullable(),
    rw("binding:vnic_type", Ty::Str),
];

const VNIC_TYPES: [&str; 3] = ["normal", "direct", "macvtap"];

fn mac_of(o: &Obj) -> String {
    o.body
        .get("virtual_machine_interface_mac_addresses")
        .and_then(|m| m.pointer("/mac_address/0"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

pub fn fixed_ips(idx: &Index, o: &Obj) -> Vec<Value> {
    let mut ips: Vec<&std::sync::Arc<Obj>> = idx
        .back_refs(&o.uuid)
        .filter(|r| r.type_name() == "instance-ip")
        .collect();
    ips.sort_by_key(|i| {
        i.body
            .get("id_perms")
            .and_then(|p| p.get("created"))
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    ips.iter()
        .map(|i| {
            json!({
                "subnet_id": i.body.get("subnet_uuid"),
                "ip_address": i.body.get("instance_ip_address"),
            })
        })
        .collect()
}

pub fn device_id(idx: &Index, o: &Obj) -> String {
    if let Some(lr) = idx
        .back_refs(&o.uuid)
        .find(|r| r.type_name() == "logical-router")
    {
        return lr.uuid.clone();
    }
    vnc::ref_uuids(o, "virtual_machine_refs")
        .first()
        .and_then(|u| idx.get(u))
        .map(|vm| vm.name().to_string())
        .unwrap_or_default()
}

pub fn render(idx: &Index, o: &Obj) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(o.uuid));
    m.insert(
        "name".into(),
        json!(
            o.body
                .get("display_name")
                .and_then(Value::as_str)
                .unwrap_or("")
        ),
    );
    let net = vnc::ref_uuids(o, "virtual_network_refs")
        .into_iter()
        .next()
        .unwrap_or_default();
    m.insert("network_id".into(), json!(net));
    let mac = mac_of(o);
    m.insert("mac_address".into(), json!(mac));
    let up = vnc::enabled(o);
    m.insert("admin_state_up".into(), json!(up));
    let host = vnc::kv(o, BINDINGS, "host_id").unwrap_or_default();
    // as vnc_openstack: a port with a device (a VM, a router) is ACTIVE
    let device = device_id(idx, o);
    m.insert(
        "status".into(),
        json!(if up && (!host.is_empty() || !device.is_empty()) {
            "ACTIVE"
        } else {
            "DOWN"
        }),
    );
    m.insert("fixed_ips".into(), Value::Array(fixed_ips(idx, o)));
    m.insert("device_id".into(), json!(device));
    m.insert(
        "device_owner".into(),
        json!(
            o.body
                .get("virtual_machine_interface_device_owner")
                .and_then(Value::as_str)
                .unwrap_or("")
        ),
    );
    m.insert(
        "security_groups".into(),
        json!(vnc::ref_uuids(o, "security_group_refs")),
    );
    let pairs: Vec<Value> = o
        .body
        .get("virtual_machine_interface_allowed_address_pairs")
        .and_then(|a| a.get("allowed_address_pair"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            let pfx = p
                .pointer("/ip/ip_prefix")
                .and_then(Value::as_str)
                .unwrap_or("");
            let len = p
                .pointer("/ip/ip_prefix_len")
                .and_then(Value::as_u64)
                .unwrap_or(32);
            let host_len = if pfx.contains(':') { 128 } else { 32 };
            let ip = if len == host_len {
                pfx.to_string()
            } else {
                format!("{pfx}/{len}")
            };
            json!({"ip_address": ip, "mac_address": p.get("mac").cloned().unwrap_or(json!(mac))})
        })
        .collect();
    m.insert("allowed_address_pairs".into(), Value::Array(pairs));
    m.insert(
        "port_security_enabled".into(),
        json!(
            o.body
                .get("port_security_enabled")
                .and_then(Value::as_bool)
                .unwrap_or(true)
        ),
    );
    m.insert("binding:host_id".into(), json!(host));
    m.insert(
        "binding:vif_type".into(),
        json!(if host.is_empty() {
            "unbound"
        } else {
            "vrouter"
        }),
    );
    m.insert(
        "binding:vif_details".into(),
        if host.is_empty() {
            json!({})
        } else {
            json!({"port_filter": true})
        },
    );
    m.insert(
        "binding:vnic_type".into(),
        json!(vnc::kv(o, BINDINGS, "vnic_type").unwrap_or_else(|| "normal".into())),
    );
    let profile = vnc::kv(o, BINDINGS, "profile")
        .and_then(|p| serde_json::from_str(&p).ok())
        .unwrap_or(json!({}));
    m.insert("binding:profile".into(), profile);
    vnc::common(o, &mut m);
    m.insert(
        "name".into(),
        json!(
            o.body
                .get("display_name")
                .and_then(Value::as_str)
                .unwrap_or("")
        ),
    );
    Value::Object(m)
}

pub fn show(ctx: &Ctx, id: &str) -> NResult<Value> {
    let o = vnc::get(ctx, TYPE, RESOURCE, id)?;
    Ok(for_caller(ctx, render(&ctx.state.index(), &o)))
}

pub fn list(ctx: &Ctx) -> Vec<Value> {
    let objs = vnc::list(ctx, TYPE);
    let idx = ctx.state.index();
    objs.iter()
        .filter(|o| o.body.get("virtual_network_refs").is_some())
        .map(|o| for_caller(ctx, render(&idx, o)))
        .collect()
}

fn check_mac(mac: &str) -> NResult<String> {
    let parts: Vec<&str> = mac.split(':').collect();
    let ok = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && u8::from_str_radix(p, 16).is_ok());
    let first = parts
        .first()
        .and_then(|p| u8::from_str_radix(p, 16).ok())
        .unwrap_or(1);
    if !ok || first & 1 == 1 || mac == "00:00:00:00:00:00" {
        return Err(NeutronError::invalid(
            "mac_address",
            format!("'{mac}' is not a valid MAC address"),
        ));
    }
    Ok(mac.to_lowercase())
}

fn pairs(body: &Map<String, Value>) -> NResult<Option<Value>> {
    let Some(v) = body.get("allowed_address_pairs") else {
        return Ok(None);
    };
    let mut out = vec![];
    for p in v.as_array().into_iter().flatten() {
        let ip = p
            .get("ip_address")
            .and_then(Value::as_str)
            .ok_or_else(|| NeutronError::Bad {
                kind: "AllowedAddressPairsMissingIP",
                message: "AllowedAddressPair must contain ip_address".into(),
            })?;
        let (addr, len) = match ip.split_once('/') {
            Some((a, l)) => (a, l.parse::<u8>().ok()),
            None => (ip, None),
        };
        let a: IpAddr = addr.parse().map_err(|_| {
            NeutronError::invalid(
                "allowed_address_pairs",
                format!("'{ip}' is not a valid IP address"),
            )
        })?;
        let len = len.unwrap_or(if a.is_ipv4() { 32 } else { 128 });
        let mut e = json!({"ip": {"ip_prefix": a.to_string(), "ip_prefix_len": len}, "address_mode": "active-standby"});
        if let Some(mac) = p.get("mac_address").and_then(Value::as_str) {
            e["mac"] = json!(check_mac(mac)?);
        }
        out.push(e);
    }
    Ok(Some(json!({"allowed_address_pair": out})))
}

/// The VMI properties a Neutron body sets (not fixed IPs, not device_id).
async fn vmi_props(
    ctx: &Ctx,
    old: Option<&Obj>,
    project: &str,
    body: &Map<String, Value>,
    input: &mut Map<String, Value>,
) -> NResult<()> {
    if let Some(n) = s(body, "name") {
        input.insert("display_name".into(), json!(n));
    }
    if let Some(p) = vnc::id_perms(body, Some("admin_state_up")) {
        input.insert("id_perms".into(), p);
    }
    if let Some(o) = s(body, "device_owner") {
        input.insert("virtual_machine_interface_device_owner".into(), json!(o));
    }
    if let Some(p) = pairs(body)? {
        input.insert("virtual_machine_interface_allowed_address_pairs".into(), p);
    }
    if let Some(v) = b(body, "port_security_enabled") {
        input.insert("port_security_enabled".into(), json!(v));
    }
    let mut bindings = old.and_then(|o| o.body.get(BINDINGS)).cloned();
    let mut touched = false;
    if let Some(h) = body.get("binding:host_id") {
        let h = h.as_str().filter(|h| !h.is_empty());
        bindings = Some(vnc::kv_set(bindings.as_ref(), "host_id", h));
        bindings = Some(vnc::kv_set(
            bindings.as_ref(),
            "vif_type",
            h.map(|_| "vrouter"),
        ));
        touched = true;
    }
    if let Some(v) = s(body, "binding:vnic_type") {
        if !VNIC_TYPES.contains(&v) {
            return Err(NeutronError::invalid(
                "binding:vnic_type",
                format!("'{v}' is not in {VNIC_TYPES:?}"),
            ));
        }
        bindings = Some(vnc::kv_set(bindings.as_ref(), "vnic_type", Some(v)));
        touched = true;
    }
    if let Some(p) = body.get("binding:profile") {
        let text = (!p.is_null()).then(|| p.to_string());
        bindings = Some(vnc::kv_set(bindings.as_ref(), "profile", text.as_deref()));
        touched = true;
    }
    if touched && let Some(bd) = bindings {
        input.insert(BINDINGS.into(), bd);
    }
    // Security groups: given, else (on create, with port security on) the tenant's default.
    let security_on = b(body, "port_security_enabled")
        .or_else(|| {
            old.and_then(|o| o.body.get("port_security_enabled"))
                .and_then(Value::as_bool)
        })
        .unwrap_or(true);
    let sgs: Option<Vec<String>> = match body.get("security_groups") {
        Some(Value::Null) => Some(vec![]),
        Some(Value::Array(l)) => Some(
            l.iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        NeutronError::invalid("security_groups", format!("{v} is not a valid UUID"))
                    })
                })
                .collect::<NResult<_>>()?,
        ),
        _ if old.is_none() && security_on => {
            Some(vec![security_group::ensure_default(ctx, project).await?])
        }
        _ => None,
    };
    if let Some(sgs) = sgs {
        for sg in &sgs {
            vnc::get(ctx, security_group::TYPE, security_group::RESOURCE, sg)?;
        }
        if !security_on && !sgs.is_empty() && body.contains_key("security_groups") {
            return Err(NeutronError::Bad {
                kind: "PortSecurityAndIPRequiredForSecurityGroups",
                message: "Port security must be enabled and port must have an IP address in order to use security groups.".into(),
            });
        }
        input.insert(
            "security_group_refs".into(),
            Value::Array(sgs.iter().map(|u| vnc::ref_to(u)).collect()),
        );
    } else if !security_on
        && old.is_some_and(|o| !vnc::ref_uuids(o, "security_group_refs").is_empty())
    {
        return Err(NeutronError::Conflict {
            kind: "PortSecurityPortHasSecurityGroup",
            message: "Port has security group associated. Cannot disable port security or ip address until security group is removed".into(),
        });
    }
    Ok(())
}

/// One fixed IP asked for: the subnet, and the address when given.
type FixedIp = (String, Option<IpAddr>);

/// The (subnet, address) pairs of `fixed_ips`, checked against the network.
fn wanted_ips(net: &Obj, body: &Map<String, Value>) -> NResult<Option<Vec<FixedIp>>> {
    let subnets = subnet::of_network(net);
    let cidr = |s: &Map<String, Value>| -> Option<ipnet::IpNet> {
        let p = s.get("subnet")?;
        format!(
            "{}/{}",
            p.get("ip_prefix")?.as_str()?,
            p.get("ip_prefix_len")?.as_u64()?
        )
        .parse()
        .ok()
    };
    let Some(list) = body.get("fixed_ips").and_then(Value::as_array) else {
        return Ok(None);
    };
    let mut out = vec![];
    for f in list {
        let Some(f) = f.as_object() else {
            return Err(NeutronError::invalid(
                "fixed_ips",
                format!("{f} is not a dictionary"),
            ));
        };
        if let Some(k) = f.keys().find(|k| *k != "subnet_id" && *k != "ip_address") {
            return Err(NeutronError::invalid(
                "fixed_ips",
                format!("Unrecognized attribute '{k}'"),
            ));
        }
        let addr = match f.get("ip_address") {
            Some(v) => Some(
                v.as_str()
                    .and_then(|s| s.parse::<IpAddr>().ok())
                    .ok_or_else(|| {
                        NeutronError::invalid(
                            "fixed_ips",
                            format!("'{v}' is not a valid IP address"),
                        )
                    })?,
            ),
            None => None,
        };
        let sid = match (f.get("subnet_id").and_then(Value::as_str), addr) {
            (Some(id), _) => {
                let s = subnets
                    .iter()
                    .find(|s| s.get("subnet_uuid").and_then(Value::as_str) == Some(id))
                    .ok_or_else(|| NeutronError::InvalidInput(format!(
                        "Failed to create port on network {}, because fixed_ips included invalid subnet {id}",
                        net.uuid
                    )))?;
                if let (Some(a), Some(c)) = (addr, cidr(s))
                    && !c.contains(&a)
                {
                    return Err(NeutronError::Bad {
                        kind: "InvalidIpForSubnet",
                        message: format!(
                            "IP address {a} is not a valid IP for the specified subnet."
                        ),
                    });
                }
                id.to_string()
            }
            (None, Some(a)) => subnets
                .iter()
                .find(|s| cidr(s).is_some_and(|c| c.contains(&a)))
                .and_then(|s| s.get("subnet_uuid").and_then(Value::as_str))
                .map(str::to_string)
                .ok_or_else(|| NeutronError::Bad {
                    kind: "InvalidIpForNetwork",
                    message: format!(
                        "IP address {a} is not a valid IP for any of the subnets on the specified network."
                    ),
                })?,
            (None, None) => {
                return Err(NeutronError::invalid(
                    "fixed_ips",
                    "a fixed IP needs subnet_id or ip_address",
                ));
            }
        };
        out.push((sid, addr));
    }
    Ok(Some(out))
}

/// One instance IP of the port: from the allocator, or the asked address.
async fn add_ip(
    ctx: &Ctx,
    project: &str,
    net: &Obj,
    vmi: &str,
    subnet: &str,
    addr: Option<IpAddr>,
) -> NResult<()> {
    let uuid = uuid::Uuid::new_v4().to_string();
    let mut input = Map::new();
    input.insert("fq_name".into(), json!([uuid]));
    input.insert("uuid".into(), json!(uuid));
    input.insert(
        "virtual_network_refs".into(),
        json!([vnc::ref_to(&net.uuid)]),
    );
    input.insert(
        "virtual_machine_interface_refs".into(),
        json!([vnc::ref_to(vmi)]),
    );
    input.insert("subnet_uuid".into(), json!(subnet));
    input.insert("perms2".into(), ctx.perms2_for(project));
    let addr = addr.or_else(|| {
        let mac = ctx.state.index().get(vmi).map(|o| mac_of(o))?;
        subnet::of_network(net)
            .iter()
            .find(|s| s.get("subnet_uuid").and_then(Value::as_str) == Some(subnet))
            .and_then(|s| crate::slaac::address(net, s, &mac))
    });
    if let Some(a) = addr {
        input.insert("instance_ip_address".into(), json!(a.to_string()));
    }
    vnc::create_companion(ctx, "instance-ip", input)
        .await
        .map_err(|e| match (e, addr) {
            (NeutronError::Conflict { .. }, Some(a)) => NeutronError::Conflict {
                kind: "IpAddressAlreadyAllocated",
                message: format!("IP address {a} already allocated in subnet {subnet}"),
            },
            (NeutronError::Conflict { message, .. } | NeutronError::OverQuota(message), None) => {
                NeutronError::Conflict {
                    kind: "IpAddressGenerationFailure",
                    message: format!(
                        "No more IP addresses available on network {}. ({message})",
                        net.uuid
                    ),
                }
            }
            (e, _) => e,
        })?;
    Ok(())
}

/// The virtual-machine named `device_id` (created when missing), as vnc_openstack keeps it.
async fn ensure_vm(ctx: &Ctx, project: &str, device_id: &str) -> NResult<String> {
    if let Some(u) = ctx.state.index().uuid_of("virtual-machine", device_id) {
        return Ok(u.to_string());
    }
    let uuid = crate::ctx::dashed(device_id)
        .filter(|u| ctx.state.index().get(u).is_none())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut input = Map::new();
    input.insert("fq_name".into(), json!([device_id]));
    input.insert("uuid".into(), json!(uuid));
    input.insert("perms2".into(), ctx.perms2_for(project));
    Ok(vnc::create_companion(ctx, "virtual-machine", input)
        .await?
        .uuid
        .clone())
}

async fn set_device(
    ctx: &Ctx,
    project: &str,
    body: &Map<String, Value>,
    input: &mut Map<String, Value>,
) -> NResult<()> {
    let Some(d) = s(body, "device_id") else {
        return Ok(());
    };
    let owner = s(body, "device_owner").unwrap_or("");
    let refs =
        if d.is_empty() || owner == "network:router_interface" || owner == "network:router_gateway"
        {
            vec![]
        } else {
            vec![vnc::ref_to(&ensure_vm(ctx, project, d).await?)]
        };
    input.insert("virtual_machine_refs".into(), Value::Array(refs));
    Ok(())
}

async fn drop_orphan_vms(ctx: &Ctx, vms: &[String]) {
    for vm in vms {
        let orphan = ctx.state.index().back_refs(vm).next().is_none();
        if orphan {
            let _ = vnc::delete_companion(ctx, "virtual-machine", vm).await;
        }
    }
}

pub async fn create(ctx: &Ctx, bytes: &[u8]) -> NResult<Value> {
    let body = parse(bytes, "port", ATTRS, Op::Create)?;
    check_binding_policy(ctx, &body, "create")?;
    let net_id = s(&body, "network_id").unwrap_or_default().to_string();
    let net = vnc::get(ctx, network::TYPE, network::RESOURCE, &net_id)?;
    let project = ctx.project_for(&body).await?;
    let pfq = vnc::project_fq(ctx, &project)?;
    let ips = wanted_ips(&net, &body)?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let mut input = Map::new();
    let mut fq: Vec<&str> = pfq.split(':').collect();
    fq.push(&uuid);
    input.insert("fq_name".into(), json!(fq));
    input.insert("parent_type".into(), json!("project"));
    input.insert("uuid".into(), json!(uuid));
    input.insert("display_name".into(), json!(s(&body, "name").unwrap_or("")));
    input.insert("perms2".into(), ctx.perms2_for(&project));
    input.insert(
        "virtual_network_refs".into(),
        json!([vnc::ref_to(&net.uuid)]),
    );
    if let Some(mac) = s(&body, "mac_address") {
        let mac = check_mac(mac)?;
        let taken = ctx.state.index().of_type(TYPE).any(|o| mac_of(o) == mac);
        if taken {
            return Err(NeutronError::Conflict {
                kind: "MacAddressInUse",
                message: format!(
                    "Unable to complete operation for network {}. The mac address {mac} is in use.",
                    net.uuid
                ),
            });
        }
        input.insert(
            "virtual_machine_interface_mac_addresses".into(),
            json!({"mac_address": [mac]}),
        );
    }
    if b(&body, "port_security_enabled").is_none()
        && let Some(v) = net
            .body
            .get("port_security_enabled")
            .and_then(Value::as_bool)
    {
        input.insert("port_security_enabled".into(), json!(v));
    }
    let mut eff = body.clone();
    if !eff.contains_key("port_security_enabled")
        && let Some(v) = input.get("port_security_enabled")
    {
        eff.insert("port_security_enabled".into(), v.clone());
    }
    vmi_props(ctx, None, &project, &eff, &mut input).await?;
    set_device(ctx, &project, &body, &mut input).await?;
    let vmi = vnc::create(ctx, TYPE, input).await?;
    let ips = match ips {
        Some(l) => l,
        None => {
            // Neutron's default: one address from the first subnet of each family, and one
            // on every IPv6 auto-address subnet.
            let mut l: Vec<FixedIp> = vec![];
            let mut seen_v4 = false;
            let mut seen_v6 = false;
            for sn in subnet::of_network(&net) {
                if let Some(id) = sn.get("subnet_uuid").and_then(Value::as_str)
                    && crate::slaac::auto_address(&net, id)
                {
                    l.push((id.to_string(), None));
                    continue;
                }
                let v6 = sn
                    .get("subnet")
                    .and_then(|x| x.get("ip_prefix"))
                    .and_then(Value::as_str)
                    .is_some_and(|p| p.contains(':'));
                let seen = if v6 { &mut seen_v6 } else { &mut seen_v4 };
                if !*seen && let Some(id) = sn.get("subnet_uuid").and_then(Value::as_str) {
                    *seen = true;
                    l.push((id.to_string(), None));
                }
            }
            l
        }
    };
    for (sid, addr) in ips {
        if let Err(e) = add_ip(ctx, &project, &net, &vmi.uuid, &sid, addr).await {
            let _ = delete(ctx, &vmi.uuid).await;
            return Err(e);
        }
    }
    show(ctx, &vmi.uuid)
}

pub async fn update(ctx: &Ctx, id: &str, bytes: &[u8]) -> NResult<Value> {
    let body = parse(bytes, "port", ATTRS, Op::Update)?;
    check_binding_policy(ctx, &body, "update")?;
    let o = vnc::get(ctx, TYPE, RESOURCE, id)?;
    let project = o
        .parent
        .as_ref()
        .map(|p| p.uuid.clone())
        .unwrap_or_default();
    let net_id = vnc::ref_uuids(&o, "virtual_network_refs")
        .into_iter()
        .next()
        .unwrap_or_default();
    let net = vnc::get(ctx, network::TYPE, network::RESOURCE, &net_id)?;
    let ips = wanted_ips(&net, &body)?;
    let mut input = Map::new();
    vmi_props(ctx, Some(&o), &project, &body, &mut input).await?;
    let mut dev = body.clone();
    if !dev.contains_key("device_owner")
        && let Some(ow) = o.body.get("virtual_machine_interface_device_owner")
    {
        dev.insert("device_owner".into(), ow.clone());
    }
    set_device(ctx, &project, &dev, &mut input).await?;
    let old_vms = vnc::ref_uuids(&o, "virtual_machine_refs");
    if !input.is_empty() {
        vnc::update(ctx, TYPE, id, input).await?;
    }
    if let Some(wanted) = ips {
        let current: Vec<(String, String, String)> = {
            let idx = ctx.state.index();
            idx.back_refs(id)
                .filter(|r| r.type_name() == "instance-ip")
                .map(|i| {
                    let g = |k: &str| {
                        i.body
                            .get(k)
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string()
                    };
                    (i.uuid.clone(), g("subnet_uuid"), g("instance_ip_address"))
                })
                .collect()
        };
        let keeps = |(_, sn, ad): &(String, String, String)| {
            wanted
                .iter()
                .any(|(ws, wa)| ws == sn && wa.is_none_or(|a| a.to_string() == *ad))
        };
        for c in current.iter().filter(|c| !keeps(c)) {
            vnc::delete_companion(ctx, "instance-ip", &c.0).await?;
        }
        let kept: Vec<&(String, String, String)> = current.iter().filter(|c| keeps(c)).collect();
        let mut used = vec![false; kept.len()];
        for (ws, wa) in &wanted {
            let have = kept.iter().enumerate().position(|(i, (_, sn, ad))| {
                !used[i] && sn == ws && wa.is_none_or(|a| a.to_string() == *ad)
            });
            match have {
                Some(i) => used[i] = true,
                None => add_ip(ctx, &project, &net, id, ws, *wa).await?,
            }
        }
    }
    drop_orphan_vms(ctx, &old_vms).await;
    show(ctx, id)
}

pub async fn delete(ctx: &Ctx, id: &str) -> NResult<()> {
    let o = vnc::get(ctx, TYPE, RESOURCE, id)?;
    check_delete_policy(
        ctx,
        o.body
            .get("virtual_machine_interface_device_owner")
            .and_then(Value::as_str)
            .unwrap_or(""),
    )?;
    let ips: Vec<String> = ctx
        .state
        .index()
        .back_refs(id)
        .filter(|r| r.type_name() == "instance-ip")
        .map(|r| r.uuid.clone())
        .collect();
    crate::floatingip::disassociate_port(ctx, id).await?;
    for i in ips {
        vnc::delete_companion(ctx, "instance-ip", &i).await?;
    }
    let vms = vnc::ref_uuids(&o, "virtual_machine_refs");
    vnc::delete(ctx, TYPE, id).await?;
    drop_orphan_vms(ctx, &vms).await;
    Ok(())
}
