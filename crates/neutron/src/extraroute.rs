//! A router's extra routes (`routes`, the `extraroute` extension): a route-table under the
//! router's project (`extraroute-<router uuid>`, `routes` of next-hop type `ip-address`) in
//! the logical-router's `route_table_refs`, Contrail's way of giving a router static routes.
//! Neutron's checks: each route a `destination` CIDR and a `nexthop` address on one of the
//! router's interface subnets but not one of its own addresses; an interface whose subnet a
//! next hop needs is not removed. The route table is configuration only: the data plane does
//! not install it.

use std::net::IpAddr;
use std::sync::Arc;

use cirrus_api::index::Index;
use cirrus_api::object::Obj;
use ipnet::IpNet;
use serde_json::{Map, Value, json};

use crate::ctx::Ctx;
use crate::error::{NResult, NeutronError};
use crate::{port, subnet, vnc};

pub const TYPE: &str = "route-table";

/// One extra route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub destination: IpNet,
    pub nexthop: IpAddr,
}

fn table(idx: &Index, router: &Obj) -> Option<Arc<Obj>> {
    vnc::ref_uuids(router, "route_table_refs")
        .iter()
        .filter_map(|u| idx.get_typed(TYPE, u))
        .find(|t| t.name() == table_name(&router.uuid))
        .cloned()
}

fn table_name(router: &str) -> String {
    format!("extraroute-{router}")
}

/// `routes` of a router, as Neutron shows them.
pub fn render(idx: &Index, router: &Obj) -> Value {
    let routes = table(idx, router)
        .and_then(|t| t.body.get("routes")?.get("route").cloned())
        .and_then(|r| r.as_array().cloned())
        .unwrap_or_default();
    Value::Array(
        routes
            .iter()
            .map(|r| json!({"destination": r.get("prefix"), "nexthop": r.get("next_hop")}))
            .collect(),
    )
}

/// `routes` of a body: a list of `{"destination": CIDR, "nexthop": IP}` (null: none).
pub fn parse(v: &Value) -> NResult<Vec<Route>> {
    let items = match v {
        Value::Null => return Ok(vec![]),
        Value::Array(l) => l,
        v => {
            return Err(NeutronError::invalid(
                "routes",
                format!("'{v}' is not a list"),
            ));
        }
    };
    let mut out: Vec<Route> = Vec::new();
    for it in items {
        let Some(m) = it.as_object() else {
            return Err(NeutronError::invalid(
                "routes",
                format!("'{it}' is not a dictionary"),
            ));
        };
        if let Some(k) = m.keys().find(|k| *k != "destination" && *k != "nexthop") {
            return Err(NeutronError::invalid(
                "routes",
                format!("Unexpected keys supplied: {k}"),
            ));
        }
        let get = |k: &str| -> NResult<&str> {
            m.get(k).and_then(Value::as_str).ok_or_else(|| {
                NeutronError::invalid("routes", format!("Validation of dictionary's keys failed. Expected keys: {{'destination', 'nexthop'}} Provided keys: {:?}", m.keys().collect::<Vec<_>>()))
            })
        };
        let (d, n) = (get("destination")?, get("nexthop")?);
        let destination: IpNet = d.parse().map_err(|_| {
            NeutronError::invalid("routes", format!("'{d}' is not a valid IP subnet"))
        })?;
        if destination.trunc() != destination {
            return Err(NeutronError::invalid(
                "routes",
                format!(
                    "'{d}' isn't a recognized IP subnet cidr, '{}' is recommended",
                    destination.trunc()
                ),
            ));
        }
        let nexthop: IpAddr = n.parse().map_err(|_| {
            NeutronError::invalid("routes", format!("'{n}' is not a valid IP address"))
        })?;
        let r = Route {
            destination,
            nexthop,
        };
        if out.contains(&r) {
            return Err(NeutronError::invalid(
                "routes",
                format!("Duplicate items in the list: '{it}'"),
            ));
        }
        out.push(r);
    }
    Ok(out)
}

/// The CIDRs and addresses of the router's interfaces.
fn interfaces(ctx: &Ctx, router: &Obj) -> (Vec<IpNet>, Vec<IpAddr>) {
    let idx = ctx.state.index();
    let mut cidrs = vec![];
    let mut addrs = vec![];
    for p in vnc::ref_uuids(router, "virtual_machine_interface_refs")
        .iter()
        .filter_map(|p| idx.get(p))
    {
        for ip in port::fixed_ips(&idx, p) {
            if let Some(a) = ip
                .get("ip_address")
                .and_then(Value::as_str)
                .and_then(|a| a.parse().ok())
            {
                addrs.push(a);
            }
            let cidr = ip
                .get("subnet_id")
                .and_then(Value::as_str)
                .and_then(|s| subnet::find(ctx, s).ok())
                .and_then(|(n, s)| {
                    subnet::render(&n, &s)
                        .get("cidr")
                        .and_then(Value::as_str)
                        .and_then(|c| c.parse::<IpNet>().ok())
                });
            cidrs.extend(cidr);
        }
    }
    (cidrs, addrs)
}

fn shown(routes: &[Route]) -> String {
    let l: Vec<String> = routes
        .iter()
        .map(|r| {
            format!(
                "{{'destination': '{}', 'nexthop': '{}'}}",
                r.destination, r.nexthop
            )
        })
        .collect();
    format!("[{}]", l.join(", "))
}

/// Neutron's `_validate_routes`: every next hop on an interface subnet, none the router's own.
pub fn validate(ctx: &Ctx, router: &Obj, routes: &[Route]) -> NResult<()> {
    let (cidrs, addrs) = interfaces(ctx, router);
    for r in routes {
        let reason = if !cidrs.iter().any(|c| c.contains(&r.nexthop)) {
            "the nexthop is not connected with router"
        } else if addrs.contains(&r.nexthop) {
            "the nexthop is used by router"
        } else {
            continue;
        };
        return Err(NeutronError::Bad {
            kind: "InvalidRoutes",
            message: format!("Invalid format for routes: {}, {reason}.", shown(routes)),
        });
    }
    Ok(())
}

/// Neutron's `RouterInterfaceInUseByRoute`: 409 when a route's next hop is on `cidr`.
pub fn check_interface_removal(
    idx: &Index,
    router: &Obj,
    subnet_id: &str,
    cidr: Option<IpNet>,
) -> NResult<()> {
    let Some(cidr) = cidr else { return Ok(()) };
    let used = render(idx, router)
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("nexthop")?.as_str()?.parse::<IpAddr>().ok())
        .any(|n| cidr.contains(&n));
    if used {
        return Err(NeutronError::InUse {
            kind: "RouterInterfaceInUseByRoute",
            message: format!(
                "Router interface for subnet {subnet_id} on router {} cannot be deleted, as it is required by one or more routes.",
                router.uuid
            ),
        });
    }
    Ok(())
}

/// Makes the router's route table hold `routes` (created, updated, or removed when empty).
pub async fn set(ctx: &Ctx, router: &Obj, routes: &[Route]) -> NResult<()> {
    let have = table(&ctx.state.index(), router);
    let entries: Vec<Value> = routes
        .iter()
        .map(|r| {
            json!({"prefix": r.destination.to_string(), "next_hop": r.nexthop.to_string(),
                   "next_hop_type": "ip-address"})
        })
        .collect();
    match (have, routes.is_empty()) {
        (None, true) => Ok(()),
        (Some(t), true) => {
            let refs: Vec<Value> = vnc::ref_uuids(router, "route_table_refs")
                .iter()
                .filter(|u| **u != t.uuid)
                .map(|u| vnc::ref_to(u))
                .collect();
            let mut input = Map::new();
            input.insert("route_table_refs".into(), Value::Array(refs));
            vnc::update(ctx, crate::router::TYPE, &router.uuid, input).await?;
            vnc::delete(ctx, TYPE, &t.uuid).await
        }
        (Some(t), false) => {
            let mut input = Map::new();
            input.insert("routes".into(), json!({ "route": entries }));
            vnc::update(ctx, TYPE, &t.uuid, input).await?;
            Ok(())
        }
        (None, false) => {
            let mut fq = router.fq_name.clone();
            fq.pop();
            fq.push(table_name(&router.uuid));
            let mut input = Map::new();
            input.insert("fq_name".into(), json!(fq));
            input.insert("parent_type".into(), json!("project"));
            input.insert("routes".into(), json!({ "route": entries }));
            if let Some(p) = router.body.get("perms2") {
                input.insert("perms2".into(), p.clone());
            }
            let t = vnc::create(ctx, TYPE, input).await?;
            let mut refs: Vec<Value> = vnc::ref_uuids(router, "route_table_refs")
                .iter()
                .map(|u| vnc::ref_to(u))
                .collect();
            refs.push(vnc::ref_to(&t.uuid));
            let mut input = Map::new();
            input.insert("route_table_refs".into(), Value::Array(refs));
            if let Err(e) = vnc::update(ctx, crate::router::TYPE, &router.uuid, input).await {
                let _ = vnc::delete(ctx, TYPE, &t.uuid).await;
                return Err(e);
            }
            Ok(())
        }
    }
}

/// The router's route table, to delete after the router.
pub fn table_of(idx: &Index, router: &Obj) -> Option<String> {
    table(idx, router).map(|t| t.uuid.clone())
}
