//! A router's external gateway (`external_gateway_info`, the `ext-gw-mode` extension): the
//! logical-router's `virtual_network_refs` to a `router:external` network, as vnc_openstack
//! maps it, plus the gateway port Neutron shows: a port (virtual-machine-interface) on that
//! network with device_owner `network:router_gateway`, an address from its subnets (or the
//! `external_fixed_ips` asked for), and a virtual-machine named by the router's uuid as its
//! device, so that its `device_id` is the router (the role Contrail's SNAT service instance
//! plays). The port is kept out of the router's `virtual_machine_interface_refs`, which are its
//! interfaces to the networks it joins. `enable_snat` is kept in the router's `annotations`
//! (`neutron:enable_snat`, absent meaning true). The data plane does no NAT for a router
//! gateway either way: this is configuration as the API serves it.

use std::sync::Arc;

use cirrus_api::auth::Caller;
use cirrus_api::index::Index;
use cirrus_api::object::Obj;
use serde_json::{Map, Value, json};

use crate::ctx::{Ctx, dashless};
use crate::error::{NResult, NeutronError};
use crate::{network, port, vnc};

pub const OWNER: &str = "network:router_gateway";
const SNAT_KEY: &str = "neutron:enable_snat";

/// An `external_gateway_info` asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Gateway {
    pub network: String,
    pub enable_snat: bool,
    /// `external_fixed_ips` as given (None: not given).
    pub fixed_ips: Option<Vec<Value>>,
}

/// `external_gateway_info` of a body: None not given, Some(None) cleared (null or `{}`).
pub fn parse(ctx: &Ctx, body: &Map<String, Value>) -> NResult<Option<Option<Gateway>>> {
    let Some(info) = body.get("external_gateway_info") else {
        return Ok(None);
    };
    let Some(info) = info.as_object().filter(|i| !i.is_empty()) else {
        return Ok(Some(None));
    };
    const KNOWN: [&str; 3] = ["network_id", "enable_snat", "external_fixed_ips"];
    if let Some(k) = info.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(NeutronError::invalid(
            "external_gateway_info",
            format!("Unrecognized attribute '{k}'"),
        ));
    }
    let enable_snat = match info.get("enable_snat") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(v) => {
            return Err(NeutronError::invalid(
                "external_gateway_info",
                format!("'{v}' is not a valid boolean value"),
            ));
        }
    };
    let fixed_ips = match info.get("external_fixed_ips") {
        None | Some(Value::Null) => None,
        Some(Value::Array(l)) => {
            for ip in l {
                let ok = ip.as_object().is_some_and(|m| {
                    m.keys().all(|k| k == "subnet_id" || k == "ip_address")
                        && m.values().all(Value::is_string)
                });
                if !ok {
                    return Err(NeutronError::invalid(
                        "external_gateway_info",
                        format!("Invalid data format for fixed IP: '{ip}'"),
                    ));
                }
            }
            Some(l.clone())
        }
        Some(v) => {
            return Err(NeutronError::invalid(
                "external_gateway_info",
                format!("Invalid data format for fixed IP: '{v}'"),
            ));
        }
    };
    let Some(net_id) = info.get("network_id").and_then(Value::as_str) else {
        return Err(NeutronError::invalid(
            "external_gateway_info",
            "network_id is required",
        ));
    };
    let external = ctx.state.index().get_typed(network::TYPE, net_id).map(|n| {
        n.body
            .get("router_external")
            .and_then(Value::as_bool)
            .unwrap_or(false)
    });
    match external {
        None => Err(NeutronError::not_found(network::RESOURCE, net_id)),
        Some(false) => Err(NeutronError::invalid(
            "external_gateway_info",
            format!("Network {net_id} is not a valid external network"),
        )),
        Some(true) => Ok(Some(Some(Gateway {
            network: net_id.to_string(),
            enable_snat,
            fixed_ips,
        }))),
    }
}

/// The router's gateway port, if it has one.
pub fn port(idx: &Index, router: &str) -> Option<Arc<Obj>> {
    let vm = idx.uuid_of("virtual-machine", router)?;
    idx.back_refs(vm)
        .find(|p| {
            p.type_name() == port::TYPE
                && p.body
                    .get("virtual_machine_interface_device_owner")
                    .and_then(Value::as_str)
                    == Some(OWNER)
        })
        .cloned()
}

pub fn enable_snat(o: &Obj) -> bool {
    vnc::kv(o, "annotations", SNAT_KEY).as_deref() != Some("false")
}

/// The router's `annotations` with `enable_snat` recorded.
pub fn annotations(o: Option<&Obj>, enable_snat: bool) -> Value {
    let cur = o.and_then(|o| o.body.get("annotations"));
    vnc::kv_set(cur, SNAT_KEY, (!enable_snat).then_some("false"))
}

/// `external_gateway_info` of a router (null without a gateway).
pub fn render(idx: &Index, router: &Obj) -> Value {
    let Some(net) = vnc::ref_uuids(router, "virtual_network_refs")
        .into_iter()
        .next()
    else {
        return Value::Null;
    };
    let ips = port(idx, &router.uuid)
        .map(|p| port::fixed_ips(idx, &p))
        .unwrap_or_default();
    json!({"network_id": net, "enable_snat": enable_snat(router), "external_fixed_ips": ips})
}

/// The server's own context, for the gateway port (on a network the tenant may not own).
fn admin(ctx: &Ctx) -> Ctx {
    Ctx {
        state: ctx.state.clone(),
        caller: Caller::admin(),
        base: ctx.base.clone(),
    }
}

/// Creates the router's gateway port on `gw.network` for the router's `project`.
pub async fn attach(ctx: &Ctx, router: &str, project: &str, gw: &Gateway) -> NResult<()> {
    let admin = admin(ctx);
    let have = ctx
        .state
        .index()
        .uuid_of("virtual-machine", router)
        .map(str::to_string);
    let vm = match have {
        Some(u) => u,
        None => {
            let mut input = Map::new();
            input.insert("fq_name".into(), json!([router]));
            input.insert(
                "perms2".into(),
                json!({"owner": dashless(project), "owner_access": 7}),
            );
            vnc::create_companion(ctx, "virtual-machine", input)
                .await?
                .uuid
                .clone()
        }
    };
    let mut req = json!({
        "tenant_id": dashless(project),
        "network_id": gw.network,
        "device_owner": OWNER,
        "name": "",
        "admin_state_up": true,
        "port_security_enabled": false,
    });
    if let Some(ips) = &gw.fixed_ips {
        req["fixed_ips"] = json!(ips);
    }
    let made = port::create(&admin, json!({ "port": req }).to_string().as_bytes()).await;
    let p = match made {
        Ok(p) => p,
        Err(e) => {
            let orphan = ctx.state.index().back_refs(&vm).next().is_none();
            if orphan {
                let _ = vnc::delete_companion(ctx, "virtual-machine", &vm).await;
            }
            return Err(match e {
                NeutronError::InvalidAttribute { reason, .. } => {
                    NeutronError::invalid("external_gateway_info", reason)
                }
                e => e,
            });
        }
    };
    let pid = p
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut input = Map::new();
    input.insert("virtual_machine_refs".into(), json!([vnc::ref_to(&vm)]));
    if let Err(e) = vnc::update(&admin, port::TYPE, &pid, input).await {
        let _ = port::delete(&admin, &pid).await;
        return Err(e);
    }
    Ok(())
}

/// Deletes the router's gateway port (and its virtual-machine), if it has one.
pub async fn detach(ctx: &Ctx, router: &str) -> NResult<()> {
    let Some(p) = port(&ctx.state.index(), router) else {
        return Ok(());
    };
    port::delete(&admin(ctx), &p.uuid).await
}

/// Whether the router's current gateway port differs from what `gw` asks for.
pub fn port_changes(idx: &Index, router: &Obj, gw: &Gateway) -> bool {
    let cur = vnc::ref_uuids(router, "virtual_network_refs")
        .into_iter()
        .next();
    if cur.as_deref() != Some(gw.network.as_str()) {
        return true;
    }
    let Some(p) = port(idx, &router.uuid) else {
        return true;
    };
    let Some(want) = &gw.fixed_ips else {
        return false;
    };
    let have = port::fixed_ips(idx, &p);
    // every asked address (by subnet and/or address) must be one the port has
    want.len() != have.len()
        || !want.iter().all(|w| {
            have.iter().any(|h| {
                ["subnet_id", "ip_address"]
                    .iter()
                    .all(|k| w.get(*k).is_none() || w.get(*k) == h.get(*k))
            })
        })
}
