//! Subnets: an entry of a virtual-network's `network_ipam_refs` to the default IPAM
//! (`IpamSubnetType`), as vnc_openstack stores it: `subnet_uuid` is the Neutron id, the name
//! `subnet_name`, DNS servers DHCP option 6, host routes, allocation pools, `enable_dhcp`,
//! `addr_from_start`; gateway the first host unless given (`0.0.0.0`/`::`: none). Addresses
//! come from the api crate's allocator over these pools, so Neutron ports and `vnc_api`
//! instance IPs share one address space. Neutron's default pools (every host but the
//! gateway) are stored explicitly, and no service address is kept, so what the allocator hands
//! out is what Neutron shows. The IPv6 modes (not in the VNC schema) are the network's
//! annotations `neutron:<subnet id>:ipv6_ra_mode` and `..._address_mode`.

use std::net::IpAddr;

use cirrus_api::object::Obj;
use ipnet::IpNet;
use serde_json::{Map, Value, json};

use crate::attrs::{Attr, Op, Ty, create_only, parse, rw, s};
use crate::ctx::Ctx;
use crate::error::{NResult, NeutronError};
use crate::{network, vnc};

pub const RESOURCE: &str = "Subnet";
pub const DEFAULT_IPAM: &str = "default-domain:default-project:default-network-ipam";
const IPV6_MODES: [&str; 3] = ["slaac", "dhcpv6-stateful", "dhcpv6-stateless"];

const ATTRS: &[Attr] = &[
    create_only("network_id", Ty::Str).required(),
    // not required: Neutron's message for a missing one is about subnet pools (`create`)
    create_only("cidr", Ty::Str),
    create_only("ip_version", Ty::Int).required(),
    rw("gateway_ip", Ty::Str).nullable(),
    rw("allocation_pools", Ty::List),
    rw("dns_nameservers", Ty::List),
    rw("host_routes", Ty::List),
    rw("enable_dhcp", Ty::Bool),
    create_only("ipv6_ra_mode", Ty::Str).nullable(),
    create_only("ipv6_address_mode", Ty::Str).nullable(),
];

/// Every `ipam_subnets` entry of a network, in order.
pub fn of_network(o: &Obj) -> Vec<Map<String, Value>> {
    o.body
        .get("network_ipam_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("attr")?.get("ipam_subnets")?.as_array())
        .flatten()
        .filter_map(|s| s.as_object().cloned())
        .collect()
}

fn cidr_of(s: &Map<String, Value>) -> Option<IpNet> {
    let p = s.get("subnet")?;
    format!(
        "{}/{}",
        p.get("ip_prefix")?.as_str()?,
        p.get("ip_prefix_len")?.as_u64()?
    )
    .parse()
    .ok()
}

fn annotation_key(id: &str, what: &str) -> String {
    format!("neutron:{id}:{what}")
}

pub fn render(net: &Obj, s: &Map<String, Value>) -> Value {
    let id = s.get("subnet_uuid").and_then(Value::as_str).unwrap_or("");
    let cidr = cidr_of(s);
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    m.insert(
        "name".into(),
        json!(s.get("subnet_name").and_then(Value::as_str).unwrap_or("")),
    );
    m.insert("network_id".into(), json!(net.uuid));
    let t = vnc::tenant(net);
    m.insert("tenant_id".into(), json!(t));
    m.insert("project_id".into(), json!(t));
    m.insert("cidr".into(), json!(cidr.map(|c| c.to_string())));
    m.insert(
        "ip_version".into(),
        json!(if matches!(cidr, Some(IpNet::V6(_))) {
            6
        } else {
            4
        }),
    );
    let gw = s
        .get("default_gateway")
        .and_then(Value::as_str)
        .and_then(|g| g.parse::<IpAddr>().ok())
        .filter(|g| !g.is_unspecified());
    m.insert("gateway_ip".into(), json!(gw.map(|g| g.to_string())));
    let pools: Vec<Value> = s
        .get("allocation_pools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| json!({"start": p.get("start"), "end": p.get("end")}))
        .collect();
    m.insert("allocation_pools".into(), Value::Array(pools));
    let dns: Vec<Value> = s
        .get("dhcp_option_list")
        .and_then(|d| d.get("dhcp_option"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|o| o.get("dhcp_option_name").and_then(Value::as_str) == Some("6"))
        .filter_map(|o| o.get("dhcp_option_value").and_then(Value::as_str))
        .flat_map(|v| v.split_whitespace().map(|x| json!(x)).collect::<Vec<_>>())
        .collect();
    m.insert("dns_nameservers".into(), Value::Array(dns));
    let routes: Vec<Value> = s
        .get("host_routes")
        .and_then(|r| r.get("route"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| json!({"destination": r.get("prefix"), "nexthop": r.get("next_hop")}))
        .collect();
    m.insert("host_routes".into(), Value::Array(routes));
    m.insert(
        "enable_dhcp".into(),
        json!(
            s.get("enable_dhcp")
                .and_then(Value::as_bool)
                .unwrap_or(true)
        ),
    );
    for k in ["ipv6_ra_mode", "ipv6_address_mode"] {
        m.insert(
            k.into(),
            json!(vnc::kv(net, "annotations", &annotation_key(id, k))),
        );
    }
    m.insert("subnetpool_id".into(), Value::Null);
    m.insert("service_types".into(), json!([]));
    m.insert(
        "description".into(),
        json!(vnc::kv(net, "annotations", &annotation_key(id, "description")).unwrap_or_default()),
    );
    // the subnet-external-network extension: the network's router:external
    m.insert(
        "router:external".into(),
        json!(
            net.body
                .get("router_external")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        ),
    );
    m.insert("tags".into(), json!([]));
    m.insert("revision_number".into(), json!(net.revision.max(0)));
    let created = s.get("created").and_then(Value::as_str);
    let modified = s.get("last_modified").and_then(Value::as_str).or(created);
    m.insert("created_at".into(), vnc::stamp(created));
    m.insert("updated_at".into(), vnc::stamp(modified));
    Value::Object(m)
}

/// The network and entry of subnet `id`, if the caller may read it.
pub fn find(ctx: &Ctx, id: &str) -> NResult<(std::sync::Arc<Obj>, Map<String, Value>)> {
    let idx = ctx.state.index();
    for net in idx.of_type(network::TYPE) {
        if let Some(s) = of_network(net)
            .into_iter()
            .find(|s| s.get("subnet_uuid").and_then(Value::as_str) == Some(id))
        {
            if ctx.caller.can_read(net) {
                return Ok((net.clone(), s));
            }
            break;
        }
    }
    Err(NeutronError::not_found(RESOURCE, id))
}

pub fn show(ctx: &Ctx, id: &str) -> NResult<Value> {
    let (net, s) = find(ctx, id)?;
    Ok(render(&net, &s))
}

pub fn list(ctx: &Ctx) -> Vec<Value> {
    vnc::list(ctx, network::TYPE)
        .iter()
        .flat_map(|n| {
            of_network(n)
                .iter()
                .map(|s| render(n, s))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn ip(attr: &str, v: &Value) -> NResult<IpAddr> {
    v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
        NeutronError::invalid(
            attr,
            format!(
                "'{}' is not a valid IP address",
                v.as_str().unwrap_or(&v.to_string())
            ),
        )
    })
}

fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}

/// Applies a Neutron body's settable attributes to an `ipam_subnets` entry.
fn apply(cidr: &IpNet, body: &Map<String, Value>, e: &mut Map<String, Value>) -> NResult<()> {
    let unspecified = if cidr.addr().is_ipv4() {
        "0.0.0.0"
    } else {
        "::"
    };
    let in_cidr = |a: &IpAddr| cidr.contains(a) && *a != cidr.network();
    if let Some(name) = s(body, "name") {
        e.insert("subnet_name".into(), json!(name));
    }
    if let Some(g) = body.get("gateway_ip") {
        let g = if g.is_null() {
            unspecified.to_string()
        } else {
            let a = ip("gateway_ip", g)?;
            if a.is_ipv4() != cidr.addr().is_ipv4() {
                return Err(NeutronError::InvalidInput(format!(
                    "Gateway IP version inconsistent with allocation pool version: {a}"
                )));
            }
            a.to_string()
        };
        e.insert("default_gateway".into(), json!(g));
    }
    if let Some(pools) = body.get("allocation_pools").and_then(Value::as_array) {
        let mut out = vec![];
        for p in pools {
            let (Some(st), Some(en)) = (p.get("start"), p.get("end")) else {
                return Err(NeutronError::invalid(
                    "allocation_pools",
                    format!("{p} is not a valid pool: start and end are required"),
                ));
            };
            let (a, z) = (ip("allocation_pools", st)?, ip("allocation_pools", en)?);
            if a > z {
                return Err(NeutronError::Bad {
                    kind: "InvalidAllocationPool",
                    message: format!("The allocation pool {a}-{z} is not valid."),
                });
            }
            if !in_cidr(&a) || !in_cidr(&z) {
                return Err(NeutronError::Bad {
                    kind: "OutOfBoundsAllocationPool",
                    message: format!(
                        "The allocation pool {a}-{z} spans beyond the subnet cidr {cidr}."
                    ),
                });
            }
            out.push(json!({"start": a.to_string(), "end": z.to_string()}));
        }
        e.insert("allocation_pools".into(), Value::Array(out));
    }
    if let Some(dns) = body.get("dns_nameservers").and_then(Value::as_array) {
        let mut servers = vec![];
        for d in dns {
            let a = ip("dns_nameservers", d)?;
            if servers.contains(&a.to_string()) {
                return Err(NeutronError::invalid(
                    "dns_nameservers",
                    format!("Duplicate nameserver '{a}'"),
                ));
            }
            servers.push(a.to_string());
        }
        let list = if servers.is_empty() {
            json!({"dhcp_option": []})
        } else {
            json!({"dhcp_option": [{"dhcp_option_name": "6", "dhcp_option_value": servers.join(" ")}]})
        };
        e.insert("dhcp_option_list".into(), list);
    }
    if let Some(routes) = body.get("host_routes").and_then(Value::as_array) {
        let mut out = vec![];
        for r in routes {
            let dest = r
                .get("destination")
                .and_then(Value::as_str)
                .and_then(|d| d.parse::<IpNet>().ok())
                .ok_or_else(|| {
                    NeutronError::invalid("host_routes", format!("{r} has no valid destination"))
                })?;
            let hop = ip("host_routes", r.get("nexthop").unwrap_or(&Value::Null))?;
            out.push(json!({"prefix": dest.to_string(), "next_hop": hop.to_string()}));
        }
        e.insert("host_routes".into(), json!({"route": out}));
    }
    if let Some(d) = body.get("enable_dhcp").and_then(Value::as_bool) {
        e.insert("enable_dhcp".into(), json!(d));
    }
    // Neutron's rule: the gateway is in no pool.
    let gw = e
        .get("default_gateway")
        .and_then(Value::as_str)
        .and_then(|g| g.parse::<IpAddr>().ok())
        .filter(|g| !g.is_unspecified());
    if let Some(g) = gw {
        for p in e
            .get("allocation_pools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let a: Option<IpAddr> = p
                .get("start")
                .and_then(Value::as_str)
                .and_then(|x| x.parse().ok());
            let z: Option<IpAddr> = p
                .get("end")
                .and_then(Value::as_str)
                .and_then(|x| x.parse().ok());
            if let (Some(a), Some(z)) = (a, z)
                && a <= g
                && g <= z
            {
                return Err(NeutronError::Conflict {
                    kind: "GatewayConflictWithAllocationPools",
                    message: format!("Gateway ip {g} conflicts with allocation pool {a}-{z}"),
                });
            }
        }
    }
    e.insert("last_modified".into(), json!(now()));
    Ok(())
}

/// Neutron's default pools: every host of `cidr` but the gateway.
fn default_pools(cidr: &IpNet, gw: Option<IpAddr>) -> Vec<Value> {
    let to = |a: IpAddr| cirrus_api::alloc::subnet::to_u128(a);
    let from = |v: u128| cirrus_api::alloc::subnet::from_u128(v, cidr.network());
    let first = to(cidr.network()) + 1;
    let last = if cidr.addr().is_ipv4() {
        to(cidr.broadcast()).saturating_sub(1)
    } else {
        to(cidr.broadcast())
    };
    if first > last {
        return vec![];
    }
    let mut ranges = vec![(first, last)];
    if let Some(g) = gw.map(to) {
        ranges = ranges
            .into_iter()
            .flat_map(|(a, z)| {
                if g < a || g > z {
                    vec![(a, z)]
                } else {
                    [(a, g.wrapping_sub(1)), (g + 1, z)]
                        .into_iter()
                        .filter(|(x, y)| x <= y && *y != u128::MAX)
                        .collect()
                }
            })
            .collect();
    }
    ranges
        .into_iter()
        .map(|(a, z)| json!({"start": from(a).to_string(), "end": from(z).to_string()}))
        .collect()
}

/// Rewrites the network's ipam refs with `f` applied to the default IPAM's subnet list.
async fn write_subnets(
    ctx: &Ctx,
    net: &Obj,
    annotations: Option<Value>,
    f: impl FnOnce(&mut Vec<Value>) -> NResult<()>,
) -> NResult<()> {
    let ipam = ctx
        .state
        .index()
        .uuid_of("network-ipam", DEFAULT_IPAM)
        .map(str::to_string)
        .ok_or_else(|| NeutronError::Internal("no default-network-ipam".into()))?;
    let mut refs: Vec<Value> = net
        .body
        .get("network_ipam_refs")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let pos = match refs
        .iter()
        .position(|r| r.get("uuid").and_then(Value::as_str) == Some(&ipam))
    {
        Some(p) => p,
        None => {
            refs.push(json!({"uuid": ipam, "attr": {"ipam_subnets": []}}));
            refs.len() - 1
        }
    };
    let mut list: Vec<Value> = refs[pos]
        .get("attr")
        .and_then(|a| a.get("ipam_subnets"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    f(&mut list)?;
    let mut attr = refs[pos].get("attr").cloned().unwrap_or(json!({}));
    attr["ipam_subnets"] = Value::Array(list);
    refs[pos] = json!({"uuid": ipam, "attr": attr});
    let mut input = Map::new();
    input.insert("network_ipam_refs".into(), Value::Array(refs));
    if let Some(a) = annotations {
        input.insert("annotations".into(), a);
    }
    vnc::update(ctx, network::TYPE, &net.uuid, input)
        .await
        .map_err(|e| match e {
            NeutronError::Conflict { message, .. } => NeutronError::InUse {
                kind: "SubnetInUse",
                message,
            },
            e => e,
        })?;
    Ok(())
}

pub async fn create(ctx: &Ctx, bytes: &[u8]) -> NResult<Value> {
    let body = parse(bytes, "subnet", ATTRS, Op::Create)?;
    let net_id = s(&body, "network_id").unwrap_or_default().to_string();
    let net = vnc::get(ctx, network::TYPE, network::RESOURCE, &net_id)?;
    if !ctx.caller.admin && ctx.caller.access(&net) & cirrus_api::auth::WRITE == 0 {
        return Err(NeutronError::Forbidden(
            "(rule:create_subnet) is disallowed by policy".into(),
        ));
    }
    let version = body.get("ip_version").and_then(Value::as_i64).unwrap_or(0);
    if version != 4 && version != 6 {
        return Err(NeutronError::invalid(
            "ip_version",
            format!("{version} is not in valid_values"),
        ));
    }
    let Some(raw) = s(&body, "cidr") else {
        return Err(NeutronError::BadRequest {
            resource: "subnets",
            msg: "a subnetpool must be specified in the absence of a cidr".into(),
        });
    };
    let cidr: IpNet = raw.parse().map_err(|_| {
        // an address with a prefix length out of range is Neutron's InvalidInput
        match raw.split_once('/') {
            Some((a, _)) if a.parse::<IpAddr>().is_ok() => {
                NeutronError::InvalidInput(format!("{raw} is not in a CIDR format"))
            }
            _ => NeutronError::invalid("cidr", format!("'{raw}' is not a valid IP subnet")),
        }
    })?;
    if cidr.network() != cidr.addr() {
        return Err(NeutronError::invalid(
            "cidr",
            format!(
                "'{raw}' isn't a recognized IP subnet cidr, '{}' is recommended",
                cidr.trunc()
            ),
        ));
    }
    if (version == 4) != cidr.addr().is_ipv4() {
        return Err(NeutronError::InvalidInput(format!(
            "Cidr {raw} does not match the ip_version {version}"
        )));
    }
    let mut annotations = None;
    let id = uuid::Uuid::new_v4().to_string();
    for k in ["ipv6_ra_mode", "ipv6_address_mode"] {
        if let Some(mode) = s(&body, k) {
            if version != 6 {
                return Err(NeutronError::InvalidInput(format!(
                    "{k} is not valid when ip_version is 4"
                )));
            }
            if !IPV6_MODES.contains(&mode) {
                return Err(NeutronError::invalid(
                    k,
                    format!("'{mode}' is not in {IPV6_MODES:?}"),
                ));
            }
            let current = annotations.as_ref().or(net.body.get("annotations"));
            annotations = Some(vnc::kv_set(current, &annotation_key(&id, k), Some(mode)));
        }
    }
    if let (Some(ra), Some(am)) = (s(&body, "ipv6_ra_mode"), s(&body, "ipv6_address_mode"))
        && ra != am
    {
        return Err(NeutronError::InvalidInput(format!(
            "ipv6_ra_mode set to '{ra}' with ipv6_address_mode set to '{am}' is not valid. If both attributes are set, they must be the same value"
        )));
    }
    if let Some(d) = s(&body, "description").filter(|d| !d.is_empty()) {
        let current = annotations.as_ref().or(net.body.get("annotations"));
        annotations = Some(vnc::kv_set(
            current,
            &annotation_key(&id, "description"),
            Some(d),
        ));
    }
    let gw: Option<IpAddr> = match body.get("gateway_ip") {
        Some(Value::Null) => None,
        Some(g) => Some(ip("gateway_ip", g)?),
        None => cirrus_api::alloc::subnet::from_u128(
            cirrus_api::alloc::subnet::to_u128(cidr.network()) + 1,
            cidr.network(),
        )
        .into(),
    };
    let unspecified = if cidr.addr().is_ipv4() {
        "0.0.0.0"
    } else {
        "::"
    };
    let ts = now();
    let mut e = Map::new();
    e.insert(
        "subnet".into(),
        json!({"ip_prefix": cidr.network().to_string(), "ip_prefix_len": cidr.prefix_len()}),
    );
    e.insert("subnet_uuid".into(), json!(id));
    e.insert("subnet_name".into(), json!(s(&body, "name").unwrap_or("")));
    e.insert(
        "default_gateway".into(),
        json!(gw.map(|g| g.to_string()).unwrap_or(unspecified.into())),
    );
    e.insert("dns_server_address".into(), json!(unspecified));
    e.insert("addr_from_start".into(), json!(true));
    e.insert("enable_dhcp".into(), json!(true));
    e.insert("created".into(), json!(ts));
    if !body.contains_key("allocation_pools") {
        e.insert(
            "allocation_pools".into(),
            Value::Array(default_pools(&cidr, gw)),
        );
    }
    let mut given = body.clone();
    given.remove("gateway_ip");
    apply(&cidr, &given, &mut e)?;
    if let Some(g) = gw {
        // the gateway's own checks, with the pools in place
        let mut g_only = Map::new();
        g_only.insert("gateway_ip".into(), json!(g.to_string()));
        apply(&cidr, &g_only, &mut e)?;
    }
    for other in of_network(&net) {
        if let Some(c) = cidr_of(&other)
            && (c.contains(&cidr.network()) || cidr.contains(&c.network()))
        {
            return Err(NeutronError::InvalidInput(format!(
                "Requested subnet with cidr: {cidr} for network: {} overlaps with another subnet",
                net.uuid
            )));
        }
    }
    let entry = Value::Object(e);
    write_subnets(ctx, &net, annotations, |l| {
        l.push(entry);
        Ok(())
    })
    .await?;
    show(ctx, &id)
}

pub async fn update(ctx: &Ctx, id: &str, bytes: &[u8]) -> NResult<Value> {
    let body = parse(bytes, "subnet", ATTRS, Op::Update)?;
    let (net, cur) = find(ctx, id)?;
    let cidr = cidr_of(&cur).ok_or_else(|| NeutronError::Internal("subnet without cidr".into()))?;
    let mut e = cur.clone();
    apply(&cidr, &body, &mut e)?;
    let annotations = s(&body, "description").map(|d| {
        let key = annotation_key(id, "description");
        vnc::kv_set(
            net.body.get("annotations"),
            &key,
            Some(d).filter(|d| !d.is_empty()),
        )
    });
    write_subnets(ctx, &net, annotations, |l| {
        for s in l.iter_mut() {
            if s.get("subnet_uuid").and_then(Value::as_str) == Some(id) {
                *s = Value::Object(e.clone());
            }
        }
        Ok(())
    })
    .await?;
    show(ctx, id)
}

pub async fn delete(ctx: &Ctx, id: &str) -> NResult<()> {
    let (net, _) = find(ctx, id)?;
    if crate::slaac::auto_address(&net, id) {
        // Neutron takes a deleted auto-address subnet's addresses from the ports
        let ips: Vec<String> = ctx
            .state
            .index()
            .back_refs(&net.uuid)
            .filter(|o| {
                o.type_name() == "instance-ip"
                    && o.body.get("subnet_uuid").and_then(Value::as_str) == Some(id)
            })
            .map(|o| o.uuid.clone())
            .collect();
        for i in ips {
            vnc::delete_companion(ctx, "instance-ip", &i).await?;
        }
    }
    let used = {
        let idx = ctx.state.index();
        idx.back_refs(&net.uuid).any(|o| {
            o.type_name() == "instance-ip"
                && o.body.get("subnet_uuid").and_then(Value::as_str) == Some(id)
        })
    };
    if used {
        return Err(NeutronError::InUse {
            kind: "SubnetInUse",
            message: format!(
                "Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet."
            ),
        });
    }
    let mut ann = net.body.get("annotations").cloned();
    for k in ["ipv6_ra_mode", "ipv6_address_mode", "description"] {
        ann = Some(vnc::kv_set(ann.as_ref(), &annotation_key(id, k), None));
    }
    write_subnets(ctx, &net, ann, |l| {
        l.retain(|s| s.get("subnet_uuid").and_then(Value::as_str) != Some(id));
        Ok(())
    })
    .await
}
