//! Routers: a Neutron router is a logical-router under the tenant's project (fq_name the name
//! or `<name>-<uuid>` on a clash, name in `display_name`, `admin_state_up` in
//! `id_perms.enable`), as vnc_openstack maps it. Its gateway (`external_gateway_info`) is in
//! `router_gateway.rs`, its extra routes (`routes`) in `extraroute.rs`; an interface is a port
//! (virtual-machine-interface, device_owner `network:router_interface`, the subnet's gateway
//! address) in the router's `virtual_machine_interface_refs`.

use std::sync::Arc;

use cirrus_api::index::Index;
use cirrus_api::object::Obj;
use serde_json::{Map, Value, json};

use crate::attrs::{Attr, Op, Ty, parse, rw};
use crate::ctx::Ctx;
use crate::error::{NResult, NeutronError};
use crate::{extraroute, port, router_gateway, subnet, vnc};

pub const TYPE: &str = "logical-router";
pub const RESOURCE: &str = "Router";
pub const INTERFACE_OWNER: &str = "network:router_interface";

const ATTRS: &[Attr] = &[
    rw("admin_state_up", Ty::Bool),
    rw("external_gateway_info", Ty::Dict).nullable(),
    rw("routes", Ty::List).nullable(),
];

pub fn render(idx: &Index, o: &Obj) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(o.uuid));
    m.insert("name".into(), json!(vnc::name(o)));
    let up = vnc::enabled(o);
    m.insert("admin_state_up".into(), json!(up));
    m.insert("status".into(), json!("ACTIVE"));
    m.insert(
        "external_gateway_info".into(),
        router_gateway::render(idx, o),
    );
    m.insert("routes".into(), extraroute::render(idx, o));
    m.insert("availability_zone_hints".into(), json!([]));
    m.insert("availability_zones".into(), json!([]));
    vnc::common(o, &mut m);
    Value::Object(m)
}

pub fn show(ctx: &Ctx, id: &str) -> NResult<Value> {
    let o = vnc::get(ctx, TYPE, RESOURCE, id)?;
    Ok(render(&ctx.state.index(), &o))
}

pub async fn list(ctx: &Ctx) -> NResult<Vec<Value>> {
    let objs = vnc::list(ctx, TYPE);
    let idx = ctx.state.index();
    Ok(objs.iter().map(|o| render(&idx, o)).collect())
}

pub async fn create(ctx: &Ctx, bytes: &[u8]) -> NResult<Value> {
    let body = parse(bytes, "router", ATTRS, Op::Create)?;
    let gw = router_gateway::parse(ctx, &body)?.flatten();
    let routes = match body.get("routes") {
        Some(r) => extraroute::parse(r)?,
        None => vec![],
    };
    if !routes.is_empty() {
        // a new router has no interface a next hop could be on
        return Err(NeutronError::Bad {
            kind: "InvalidRoutes",
            message: "Invalid format for routes: the nexthop is not connected with router.".into(),
        });
    }
    let project = ctx.project_for(&body).await?;
    let pfq = vnc::project_fq(ctx, &project)?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let name = crate::attrs::s(&body, "name").unwrap_or("");
    let last = vnc::free_name(ctx, TYPE, &pfq, name, &uuid);
    let mut fq: Vec<&str> = pfq.split(':').collect();
    fq.push(&last);
    let mut input = Map::new();
    input.insert("fq_name".into(), json!(fq));
    input.insert("parent_type".into(), json!("project"));
    input.insert("uuid".into(), json!(uuid));
    input.insert("display_name".into(), json!(name));
    input.insert("perms2".into(), ctx.perms2_for(&project));
    let mut perms = vnc::id_perms(&body, Some("admin_state_up")).unwrap_or(json!({}));
    if perms.get("enable").is_none() {
        perms["enable"] = json!(true);
    }
    input.insert("id_perms".into(), perms);
    if let Some(g) = &gw {
        input.insert(
            "virtual_network_refs".into(),
            json!([vnc::ref_to(&g.network)]),
        );
        if !g.enable_snat {
            input.insert(
                "annotations".into(),
                router_gateway::annotations(None, false),
            );
        }
    }
    let o = vnc::create(ctx, TYPE, input).await?;
    if let Some(g) = &gw
        && let Err(e) = router_gateway::attach(ctx, &o.uuid, &project, g).await
    {
        let _ = vnc::delete(ctx, TYPE, &o.uuid).await;
        return Err(e);
    }
    show(ctx, &o.uuid)
}

pub async fn update(ctx: &Ctx, id: &str, bytes: &[u8]) -> NResult<Value> {
    let body = parse(bytes, "router", ATTRS, Op::Update)?;
    let o = vnc::get(ctx, TYPE, RESOURCE, id)?;
    let gw = router_gateway::parse(ctx, &body)?;
    let routes = match body.get("routes") {
        Some(r) => {
            let routes = extraroute::parse(r)?;
            extraroute::validate(ctx, &o, &routes)?;
            Some(routes)
        }
        None => None,
    };
    let mut input = Map::new();
    // (detach the old gateway port, attach a new one)
    let mut port_change: Option<Option<router_gateway::Gateway>> = None;
    match &gw {
        None => {}
        Some(None) => {
            input.insert("virtual_network_refs".into(), json!([]));
            input.insert(
                "annotations".into(),
                router_gateway::annotations(Some(&o), true),
            );
            port_change = Some(None);
        }
        Some(Some(g)) => {
            input.insert(
                "virtual_network_refs".into(),
                json!([vnc::ref_to(&g.network)]),
            );
            input.insert(
                "annotations".into(),
                router_gateway::annotations(Some(&o), g.enable_snat),
            );
            if router_gateway::port_changes(&ctx.state.index(), &o, g) {
                port_change = Some(Some(g.clone()));
            }
        }
    }
    if let Some(n) = crate::attrs::s(&body, "name") {
        input.insert("display_name".into(), json!(n));
    }
    if let Some(Value::Object(p)) = vnc::id_perms(&body, Some("admin_state_up")) {
        let mut cur = o.body.get("id_perms").cloned().unwrap_or(json!({}));
        for (k, v) in p {
            cur[k] = v;
        }
        input.insert("id_perms".into(), cur);
    }
    if let Some(change) = port_change {
        router_gateway::detach(ctx, id).await?;
        if let Some(g) = change {
            let project = o
                .parent
                .as_ref()
                .map(|p| p.uuid.clone())
                .unwrap_or_default();
            router_gateway::attach(ctx, id, &project, &g).await?;
        }
    }
    let o = if input.is_empty() {
        o
    } else {
        vnc::update(ctx, TYPE, id, input).await?
    };
    if let Some(routes) = routes {
        extraroute::set(ctx, &o, &routes).await?;
    }
    show(ctx, id)
}

pub async fn delete(ctx: &Ctx, id: &str) -> NResult<()> {
    let o = vnc::get(ctx, TYPE, RESOURCE, id)?;
    let ports = vnc::ref_uuids(&o, "virtual_machine_interface_refs");
    if !ports.is_empty() {
        return Err(NeutronError::InUse {
            kind: "RouterInUse",
            message: format!("Router {id} has ports still attached: {}", ports.join(", ")),
        });
    }
    let table = extraroute::table_of(&ctx.state.index(), &o);
    router_gateway::detach(ctx, id).await?;
    vnc::delete(ctx, TYPE, id).await?;
    if let Some(t) = table {
        vnc::delete(ctx, extraroute::TYPE, &t).await?;
    }
    Ok(())
}

/// The body of add/remove_router_interface: `subnet_id` or `port_id`.
fn interface_body(bytes: &[u8]) -> NResult<(Option<String>, Option<String>)> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| NeutronError::Malformed(format!("Malformed request body: {e}")))?;
    let Value::Object(m) = v else {
        return Err(NeutronError::Malformed(
            "Malformed request body: not a JSON object".into(),
        ));
    };
    if let Some(k) = m.keys().find(|k| *k != "subnet_id" && *k != "port_id") {
        return Err(NeutronError::UnknownAttributes(k.clone()));
    }
    let get = |k: &str| -> NResult<Option<String>> {
        match m.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(NeutronError::invalid(k, format!("'{v}' is not a string"))),
        }
    };
    let (sn, p) = (get("subnet_id")?, get("port_id")?);
    // l3_db's _validate_interface_info, in its order, each Neutron's BadRequest for the router
    let bad = |msg: String| NeutronError::BadRequest {
        resource: "router",
        msg,
    };
    if sn.is_none() && p.is_none() {
        return Err(bad("Either subnet_id or port_id must be specified".into()));
    }
    for v in [&p, &sn].into_iter().flatten() {
        if uuid::Uuid::parse_str(v).is_err() {
            return Err(bad(format!("'{v}' is not a valid UUID")));
        }
    }
    if sn.is_some() && p.is_some() {
        return Err(bad("Cannot specify both subnet-id and port-id".into()));
    }
    Ok((sn, p))
}

fn info(router: &Obj, port: &Value, subnet_id: &str) -> Value {
    json!({
        "id": router.uuid,
        "project_id": port.get("tenant_id"),
        "port_id": port.get("id"),
        "network_id": port.get("network_id"),
        "subnet_id": subnet_id,
        "subnet_ids": [subnet_id],
    })
}

/// Neutron's 400 when the router has an interface on subnet `sid` or on one whose CIDR
/// overlaps it (vnc_openstack's `_check_for_dup_router_subnet`).
fn check_dup_subnet(ctx: &Ctx, router: &Obj, sid: &str) -> NResult<()> {
    let cidr_of = |id: &str| -> Option<ipnet::IpNet> {
        let (net, sn) = subnet::find(ctx, id).ok()?;
        subnet::render(&net, &sn)
            .get("cidr")?
            .as_str()?
            .parse()
            .ok()
    };
    let new = cidr_of(sid);
    for have in router_subnets(&ctx.state.index(), router) {
        let clash = have == sid
            || match (new, cidr_of(&have)) {
                (Some(a), Some(b)) => a.contains(&b.network()) || b.contains(&a.network()),
                _ => false,
            };
        if clash {
            // l3_db's _check_for_dup_router_subnets: Neutron's BadRequest for the router
            let msg = if have == sid {
                format!("Router already has a port on subnet {sid}")
            } else {
                let show = |c: Option<ipnet::IpNet>| c.map(|c| c.to_string()).unwrap_or_default();
                format!(
                    "Cidr {} of subnet {sid} overlaps with cidr {} of subnet {have}",
                    show(new),
                    show(cidr_of(&have))
                )
            };
            return Err(NeutronError::BadRequest {
                resource: "router",
                msg,
            });
        }
    }
    Ok(())
}

/// The subnets the router already has an interface on.
fn router_subnets(idx: &Index, router: &Obj) -> Vec<String> {
    vnc::ref_uuids(router, "virtual_machine_interface_refs")
        .iter()
        .filter_map(|p| idx.get(p))
        .flat_map(|p| port::fixed_ips(idx, p))
        .filter_map(|ip| {
            ip.get("subnet_id")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

pub async fn add_interface(ctx: &Ctx, id: &str, bytes: &[u8]) -> NResult<Value> {
    let router = vnc::get(ctx, TYPE, RESOURCE, id)?;
    let (subnet_id, port_id) = interface_body(bytes)?;
    let (port_val, subnet_id, created) = match (subnet_id, port_id) {
        (Some(sid), _) => {
            let (net, sn) = subnet::find(ctx, &sid)?;
            let rendered = subnet::render(&net, &sn);
            let gw = rendered
                .get("gateway_ip")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    NeutronError::invalid(
                        "subnet_id",
                        "Subnet for router interface must have a gateway IP",
                    )
                })?
                .to_string();
            check_dup_subnet(ctx, &router, &sid)?;
            let req = json!({"port": {
                "tenant_id": rendered.get("tenant_id"),
                "network_id": net.uuid,
                "fixed_ips": [{"subnet_id": sid, "ip_address": gw}],
                "admin_state_up": true,
                "device_id": id,
                "device_owner": INTERFACE_OWNER,
                "name": "",
                "port_security_enabled": false,
            }});
            let p = port::create(ctx, req.to_string().as_bytes()).await?;
            (p, sid, true)
        }
        (None, Some(pid)) => {
            let p = port::show(ctx, &pid)?;
            let owner = p.get("device_owner").and_then(Value::as_str).unwrap_or("");
            let dev = p.get("device_id").and_then(Value::as_str).unwrap_or("");
            if !dev.is_empty() {
                return Err(NeutronError::InUse {
                    kind: "PortInUse",
                    message: format!(
                        "Unable to complete operation on port {pid} for network {}. Port already has an attached device {dev}.",
                        p.get("network_id").and_then(Value::as_str).unwrap_or("")
                    ),
                });
            }
            let _ = owner;
            let ips = p
                .get("fixed_ips")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if ips.len() != 1 {
                return Err(NeutronError::invalid(
                    "port_id",
                    "Router port must have exactly one fixed IP",
                ));
            }
            let sid = ips[0]
                .get("subnet_id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            check_dup_subnet(ctx, &router, &sid)?;
            let mut input = Map::new();
            input.insert(
                "virtual_machine_interface_device_owner".into(),
                json!(INTERFACE_OWNER),
            );
            vnc::update(ctx, port::TYPE, &pid, input).await?;
            (p, sid, false)
        }
        (None, None) => unreachable!("interface_body requires one"),
    };
    let pid = port_val
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut refs: Vec<Value> = vnc::ref_uuids(&router, "virtual_machine_interface_refs")
        .iter()
        .map(|u| vnc::ref_to(u))
        .collect();
    refs.push(vnc::ref_to(&pid));
    let mut input = Map::new();
    input.insert("virtual_machine_interface_refs".into(), Value::Array(refs));
    if let Err(e) = vnc::update(ctx, TYPE, id, input).await {
        if created {
            let _ = port::delete(ctx, &pid).await;
        }
        return Err(e);
    }
    Ok(info(&router, &port_val, &subnet_id))
}

pub async fn remove_interface(ctx: &Ctx, id: &str, bytes: &[u8]) -> NResult<Value> {
    let router = vnc::get(ctx, TYPE, RESOURCE, id)?;
    let (subnet_id, port_id) = interface_body(bytes)?;
    let attached = vnc::ref_uuids(&router, "virtual_machine_interface_refs");
    let subnet_of = |p: &Value| -> String {
        p.pointer("/fixed_ips/0/subnet_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let port_val = match (&subnet_id, &port_id) {
        (_, Some(pid)) => {
            let p = port::show(ctx, pid)?;
            if !attached.contains(pid) {
                return Err(NeutronError::NotFound {
                    resource: "RouterInterface",
                    id: format!("{pid} of router {id}"),
                });
            }
            p
        }
        (Some(sid), None) => {
            subnet::find(ctx, sid)?;
            attached
                .iter()
                .filter_map(|p| port::show(ctx, p).ok())
                .find(|p| subnet_of(p) == *sid)
                .ok_or_else(|| NeutronError::NotFound {
                    resource: "RouterInterface",
                    id: format!("for router {id} on subnet {sid}"),
                })?
        }
        (None, None) => unreachable!("interface_body requires one"),
    };
    let pid = port_val
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let sid = subnet_of(&port_val);
    let cidr = subnet::find(ctx, &sid)
        .ok()
        .and_then(|(n, sn)| subnet::render(&n, &sn).get("cidr")?.as_str()?.parse().ok());
    extraroute::check_interface_removal(&ctx.state.index(), &router, &sid, cidr)?;
    let refs: Vec<Value> = attached
        .iter()
        .filter(|u| **u != pid)
        .map(|u| vnc::ref_to(u))
        .collect();
    let mut input = Map::new();
    input.insert("virtual_machine_interface_refs".into(), Value::Array(refs));
    vnc::update(ctx, TYPE, id, input).await?;
    port::delete(ctx, &pid).await?;
    Ok(info(&router, &port_val, &sid))
}

/// The router of a port's network that has a gateway to `ext_net` (for a floating IP).
pub fn serving(idx: &Index, port_net: &str, ext_net: &str) -> Option<Arc<Obj>> {
    idx.of_type(TYPE)
        .find(|r| {
            vnc::ref_uuids(r, "virtual_network_refs")
                .iter()
                .any(|n| n == ext_net)
                && vnc::ref_uuids(r, "virtual_machine_interface_refs")
                    .iter()
                    .filter_map(|p| idx.get(p))
                    .any(|p| {
                        vnc::ref_uuids(p, "virtual_network_refs")
                            .iter()
                            .any(|n| n == port_net)
                    })
        })
        .cloned()
}

/// Neutron's `ServicePortInUse`: a router's interface or gateway port is not deleted through
/// the port API (409), only by removing the interface or the gateway.
pub fn check_port_delete(ctx: &Ctx, id: &str) -> NResult<()> {
    let idx = ctx.state.index();
    let Some(p) = idx.get_typed(port::TYPE, id) else {
        return Ok(());
    };
    let owner = p
        .body
        .get("virtual_machine_interface_device_owner")
        .and_then(Value::as_str)
        .unwrap_or("");
    let interface = idx.back_refs(id).any(|r| r.type_name() == TYPE);
    let gateway = owner == router_gateway::OWNER
        && vnc::ref_uuids(p, "virtual_machine_refs")
            .iter()
            .filter_map(|vm| idx.get(vm))
            .any(|vm| idx.get_typed(TYPE, vm.name()).is_some());
    if interface || gateway {
        return Err(NeutronError::InUse {
            kind: "ServicePortInUse",
            message: format!(
                "Port {id} cannot be deleted directly via the port API: has device owner {owner}."
            ),
        });
    }
    Ok(())
}
