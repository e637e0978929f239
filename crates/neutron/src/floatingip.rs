//! Floating IPs, as vnc_openstack maps them: Contrail keeps a floating-ip-pool under every
//! external network (`router:external`); a Neutron floating IP is a floating-ip in that pool
//! (fq_name the pool's and its uuid, address from the api crate's allocator), owned by the
//! tenant through `project_refs`, associated with a port by `virtual_machine_interface_refs`
//! and `floating_ip_fixed_ip_address`; `router_id` is the router with a gateway to the
//! floating network and an interface on the port's network; `ACTIVE` while associated.

use std::net::IpAddr;
use std::sync::Arc;

use cirrus_api::index::Index;
use cirrus_api::object::Obj;
use serde_json::{Map, Value, json};

use crate::attrs::{Attr, Op, Ty, create_only, parse, rw, s};
use crate::ctx::{Ctx, dashless};
use crate::error::{NResult, NeutronError};
use crate::{network, port, router, subnet, vnc};

pub const POOL: &str = "floating-ip-pool";

/// Creates the network's floating-ip-pool unless it has one.
pub async fn ensure_pool(ctx: &Ctx, net: &Obj) -> NResult<()> {
    let has = ctx
        .state
        .index()
        .children(&net.uuid)
        .any(|c| c.type_name() == POOL);
    if has {
        return Ok(());
    }
    let mut fq = net.fq_name.clone();
    fq.push("floating-ip-pool".into());
    let mut input = Map::new();
    input.insert("fq_name".into(), json!(fq));
    input.insert("parent_type".into(), json!("virtual-network"));
    input.insert(
        "perms2".into(),
        json!({"owner": vnc::tenant(net), "owner_access": 7, "global_access": 5}),
    );
    vnc::create_companion(ctx, POOL, input).await?;
    Ok(())
}

pub const TYPE: &str = "floating-ip";
pub const RESOURCE: &str = "FloatingIP";

const ATTRS: &[Attr] = &[
    create_only("floating_network_id", Ty::Str).required(),
    create_only("floating_ip_address", Ty::Str),
    create_only("subnet_id", Ty::Str).nullable(),
    rw("port_id", Ty::Str).nullable(),
    rw("fixed_ip_address", Ty::Str).nullable(),
];

/// The external network above a floating IP's pool.
fn network_of(idx: &Index, o: &Obj) -> Option<String> {
    let pool = idx.get(&o.parent.as_ref()?.uuid)?;
    Some(pool.parent.as_ref()?.uuid.clone())
}

pub fn render(idx: &Index, o: &Obj) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(o.uuid));
    let net = network_of(idx, o).unwrap_or_default();
    m.insert("floating_network_id".into(), json!(net));
    m.insert(
        "floating_ip_address".into(),
        o.body
            .get("floating_ip_address")
            .cloned()
            .unwrap_or(Value::Null),
    );
    let port = vnc::ref_uuids(o, "virtual_machine_interface_refs")
        .into_iter()
        .find(|p| idx.get(p).is_some());
    let router = port.as_ref().and_then(|p| {
        let pnet = vnc::ref_uuids(idx.get(p)?, "virtual_network_refs")
            .into_iter()
            .next()?;
        router::serving(idx, &pnet, &net).map(|r| r.uuid.clone())
    });
    m.insert(
        "status".into(),
        json!(if port.is_some() { "ACTIVE" } else { "DOWN" }),
    );
    m.insert("port_id".into(), json!(port));
    m.insert("router_id".into(), json!(router));
    m.insert(
        "fixed_ip_address".into(),
        o.body
            .get("floating_ip_fixed_ip_address")
            .cloned()
            .unwrap_or(Value::Null),
    );
    vnc::common(o, &mut m);
    let tenant = vnc::ref_uuids(o, "project_refs")
        .first()
        .map(|p| dashless(p))
        .unwrap_or_else(|| vnc::tenant(o));
    m.insert("tenant_id".into(), json!(tenant));
    m.insert("project_id".into(), json!(tenant));
    m.insert("port_details".into(), Value::Null);
    Value::Object(m)
}

/// The floating IPs the caller may see: its project's (by `project_refs`), every one for an
/// admin.
fn visible(ctx: &Ctx, o: &Obj) -> bool {
    if ctx.caller.admin {
        return true;
    }
    let own = ctx.caller.project_uuid.as_deref().unwrap_or("");
    vnc::ref_uuids(o, "project_refs").iter().any(|p| p == own) || vnc::tenant(o) == dashless(own)
}

fn get(ctx: &Ctx, id: &str) -> NResult<Arc<Obj>> {
    match ctx.state.index().get_typed(TYPE, id) {
        Some(o) if visible(ctx, o) => Ok(o.clone()),
        _ => Err(NeutronError::not_found(RESOURCE, id)),
    }
}

pub fn show(ctx: &Ctx, id: &str) -> NResult<Value> {
    let o = get(ctx, id)?;
    Ok(render(&ctx.state.index(), &o))
}

pub async fn list(ctx: &Ctx) -> NResult<Vec<Value>> {
    let idx = ctx.state.index();
    Ok(idx
        .of_type(TYPE)
        .filter(|o| visible(ctx, o))
        .map(|o| render(&idx, o))
        .collect())
}

/// The VNC refs and fixed address for `port_id` / `fixed_ip_address` of the body (None: the
/// body changes neither).
fn association(
    ctx: &Ctx,
    ext_net: &str,
    fip: Option<&str>,
    body: &Map<String, Value>,
) -> NResult<Option<(Value, Value)>> {
    let port_id = match body.get("port_id") {
        None => {
            if body.get("fixed_ip_address").is_some_and(|v| !v.is_null()) {
                return Err(NeutronError::invalid(
                    "fixed_ip_address",
                    "fixed_ip_address cannot be specified without a port_id",
                ));
            }
            return Ok(None);
        }
        Some(Value::Null) => return Ok(Some((json!([]), Value::Null))),
        Some(p) => p.as_str().unwrap_or_default().to_string(),
    };
    let p = port::show(ctx, &port_id)?;
    let ips: Vec<String> = p
        .get("fixed_ips")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|i| {
            i.get("ip_address")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let fixed = match s(body, "fixed_ip_address") {
        Some(a) => {
            if a.parse::<IpAddr>().is_err() {
                return Err(NeutronError::invalid(
                    "fixed_ip_address",
                    format!("'{a}' is not a valid IP address"),
                ));
            }
            if !ips.iter().any(|i| i == a) {
                return Err(NeutronError::invalid(
                    "fixed_ip_address",
                    format!("Port {port_id} does not have fixed ip {a}"),
                ));
            }
            a.to_string()
        }
        None => match ips.as_slice() {
            [] => {
                return Err(NeutronError::invalid(
                    "port_id",
                    format!("Port {port_id} has no fixed IP address"),
                ));
            }
            [one] => one.clone(),
            _ => {
                return Err(NeutronError::invalid(
                    "fixed_ip_address",
                    format!(
                        "Port {port_id} has multiple fixed IP addresses. Must provide a specific IP address when assigning a floating IP"
                    ),
                ));
            }
        },
    };
    // Neutron's FloatingIPPortAlreadyAssociated: one floating IP per fixed address
    let taken = ctx
        .state
        .index()
        .back_refs(&port_id)
        .filter(|f| f.type_name() == TYPE && Some(f.uuid.as_str()) != fip)
        .find(|f| {
            f.body
                .get("floating_ip_fixed_ip_address")
                .and_then(Value::as_str)
                == Some(fixed.as_str())
        })
        .map(|f| f.uuid.clone());
    if let Some(other) = taken {
        return Err(NeutronError::Conflict {
            kind: "FloatingIPPortAlreadyAssociated",
            message: format!(
                "Cannot associate floating IP with port {port_id} using fixed IP {fixed}, as that fixed IP already has a floating IP on external network {ext_net} (floating IP {other})."
            ),
        });
    }
    // Neutron's ExternalGatewayForFloatingIPNotFound: a router with a gateway to the
    // floating network and an interface on the port's network must join the two
    let port_net = p.get("network_id").and_then(Value::as_str).unwrap_or("");
    if router::serving(&ctx.state.index(), port_net, ext_net).is_none() {
        return Err(NeutronError::NotFound {
            resource: "ExternalGatewayForFloatingIP",
            id: format!(
                "(external network {ext_net} is not reachable from port {port_id}'s network {port_net})"
            ),
        });
    }
    Ok(Some((json!([vnc::ref_to(&port_id)]), json!(fixed))))
}

pub async fn create(ctx: &Ctx, bytes: &[u8]) -> NResult<Value> {
    let body = parse(bytes, "floatingip", ATTRS, Op::Create)?;
    let net_id = s(&body, "floating_network_id").unwrap_or_default();
    let pool = {
        let idx = ctx.state.index();
        let net = idx
            .get_typed(network::TYPE, net_id)
            .filter(|n| {
                ctx.caller.admin
                    || ctx.caller.can_read(n)
                    || n.body.get("router_external").and_then(Value::as_bool) == Some(true)
            })
            .ok_or_else(|| NeutronError::not_found(network::RESOURCE, net_id))?;
        let pool = idx
            .children(&net.uuid)
            .find(|c| c.type_name() == POOL)
            .cloned();
        pool.ok_or_else(|| NeutronError::BadRequest {
            resource: "floatingip",
            msg: format!("Network {net_id} is not a valid external network"),
        })?
    };
    if let Some(a) = s(&body, "floating_ip_address")
        && a.parse::<IpAddr>().is_err()
    {
        return Err(NeutronError::invalid(
            "floating_ip_address",
            format!("'{a}' is not a valid IP address"),
        ));
    }
    let project = ctx.project_for(&body).await?;
    let assoc = association(ctx, net_id, None, &body)?;
    let uuid = uuid::Uuid::new_v4().to_string();
    let mut fq = pool.fq_name.clone();
    fq.push(uuid.clone());
    let mut input = Map::new();
    input.insert("fq_name".into(), json!(fq));
    input.insert("parent_type".into(), json!(POOL));
    input.insert("uuid".into(), json!(uuid));
    input.insert("perms2".into(), ctx.perms2_for(&project));
    input.insert("project_refs".into(), json!([vnc::ref_to(&project)]));
    if let Some(a) = s(&body, "floating_ip_address") {
        input.insert("floating_ip_address".into(), json!(a));
    }
    if let Some(sn) = s(&body, "subnet_id") {
        let (net, _) = subnet::find(ctx, sn)?;
        if net.uuid != net_id {
            return Err(NeutronError::invalid(
                "subnet_id",
                format!("Subnet {sn} is not on network {net_id}"),
            ));
        }
        input.insert("subnet_uuid".into(), json!(sn));
    }
    if let Some(p) = vnc::id_perms(&body, None) {
        input.insert("id_perms".into(), p);
    }
    if let Some((refs, fixed)) = assoc {
        input.insert("virtual_machine_interface_refs".into(), refs);
        input.insert("floating_ip_fixed_ip_address".into(), fixed);
    }
    let o = vnc::create_companion(ctx, TYPE, input).await?;
    show(ctx, &o.uuid)
}

pub async fn update(ctx: &Ctx, id: &str, bytes: &[u8]) -> NResult<Value> {
    let body = parse(bytes, "floatingip", ATTRS, Op::Update)?;
    let o = get(ctx, id)?;
    let ext_net = network_of(&ctx.state.index(), &o).unwrap_or_default();
    let mut input = Map::new();
    if body.is_empty() {
        // Neutron: an empty update clears the association (once a floating IP's only
        // attribute)
        input.insert("virtual_machine_interface_refs".into(), json!([]));
        input.insert("floating_ip_fixed_ip_address".into(), Value::Null);
    }
    if let Some((refs, fixed)) = association(ctx, &ext_net, Some(id), &body)? {
        input.insert("virtual_machine_interface_refs".into(), refs);
        input.insert("floating_ip_fixed_ip_address".into(), fixed);
    }
    if let Some(Value::Object(p)) = vnc::id_perms(&body, None) {
        let mut cur = o.body.get("id_perms").cloned().unwrap_or(json!({}));
        for (k, v) in p {
            cur[k] = v;
        }
        input.insert("id_perms".into(), cur);
    }
    if !input.is_empty() {
        let admin = cirrus_api::auth::Caller::admin();
        cirrus_api::ops::update(&ctx.state, &admin, TYPE, id, &input).await?;
    }
    show(ctx, id)
}

pub async fn delete(ctx: &Ctx, id: &str) -> NResult<()> {
    get(ctx, id)?;
    vnc::delete_companion(ctx, TYPE, id).await
}

/// Disassociates every floating IP from port `port_id` (being deleted): no port, no fixed
/// address, as Neutron's `disassociate_floatingips` leaves them. Written as the server, since
/// a floating IP may be another tenant's (an admin's port delete) or its pool the admin's.
pub async fn disassociate_port(ctx: &Ctx, port_id: &str) -> NResult<()> {
    let fips: Vec<String> = ctx
        .state
        .index()
        .back_refs(port_id)
        .filter(|r| r.type_name() == TYPE)
        .map(|r| r.uuid.clone())
        .collect();
    let admin = cirrus_api::auth::Caller::admin();
    for f in fips {
        let mut input = Map::new();
        input.insert("virtual_machine_interface_refs".into(), json!([]));
        input.insert("floating_ip_fixed_ip_address".into(), Value::Null);
        cirrus_api::ops::update(&ctx.state, &admin, TYPE, &f, &input).await?;
    }
    Ok(())
}

/// Deletes the floating IPs of an external network being deleted (Neutron deletes them with
/// the network, their ports being auto-deleted ones), so that its floating-ip-pool can go.
pub async fn delete_on_network(ctx: &Ctx, network: &str) -> NResult<()> {
    let fips: Vec<String> = {
        let idx = ctx.state.index();
        idx.children(network)
            .filter(|c| c.type_name() == POOL)
            .flat_map(|p| idx.children(&p.uuid))
            .filter(|f| f.type_name() == TYPE)
            .map(|f| f.uuid.clone())
            .collect()
    };
    for f in fips {
        vnc::delete_companion(ctx, TYPE, &f).await?;
    }
    Ok(())
}
