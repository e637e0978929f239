//! The agent's oper pages (Contrail's `agent.sandesh`): `ItfReq` (ports as
//! `ItfSandeshData`), `VrfListReq` (`VrfSandeshData`) and `Inet4UcRouteReq` (a VRF's IPv4
//! routes as `RouteUcSandeshData`, each with its path and next hop), built from the status
//! snapshot and the flow context (what networks and groups a route leads to).

use std::collections::HashMap;
use std::net::IpAddr;

use crate::config::parse_prefix;
use crate::flow_context::FlowContext;
use crate::node::Status;
use crate::node::status::RouteStatus;
use crate::trace::nexthop_parts;

use super::xml::{Fields, response};

type Params = HashMap<String, String>;

/// A request parameter, `None` when absent or empty (Sandesh sends every one, empty).
fn param<'a>(q: &'a Params, k: &str) -> Option<&'a str> {
    q.get(k).map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn enable(b: bool) -> &'static str {
    if b { "Enable" } else { "Disable" }
}

/// The network of a routing instance (`d:p:vn:vn` -> `d:p:vn`).
fn network_of(instance: &str) -> &str {
    instance.rsplit_once(':').map_or(instance, |(n, _)| n)
}

pub fn itf(st: &Status, ctx: &FlowContext, q: &Params) -> String {
    let ports = st.ports.iter().filter(|p| {
        param(q, "name").is_none_or(|n| p.device.contains(n))
            && param(q, "uuid").is_none_or(|u| p.uuid == u)
            && param(q, "vn").is_none_or(|v| p.network.as_deref().is_some_and(|n| n.contains(v)))
            && param(q, "mac").is_none_or(|m| p.mac.as_deref() == Some(m))
            && param(q, "ipv4_address").is_none_or(|a| p.addresses.iter().any(|x| x == a))
    });
    response("ItfResp", |r| {
        r.structs("itf_list", "ItfSandeshData", ports, |s, p| {
            let active = p.attached && p.enabled && p.waiting.is_none() && p.vrf.is_some();
            let state = if active {
                "Active".to_string()
            } else {
                let why = p
                    .waiting
                    .clone()
                    .or(p.device_error.clone())
                    .unwrap_or_else(|| {
                        if p.enabled {
                            "not attached".into()
                        } else {
                            "admin down".into()
                        }
                    });
                format!("Inactive < {why} >")
            };
            let v4 = p
                .addresses
                .iter()
                .find(|a| a.parse::<IpAddr>().is_ok_and(|a| a.is_ipv4()))
                .cloned()
                .unwrap_or_else(|| "0.0.0.0".into());
            let v6 = p
                .addresses
                .iter()
                .find(|a| a.parse::<IpAddr>().is_ok_and(|a| a.is_ipv6()))
                .cloned()
                .unwrap_or_else(|| "::".into());
            let vm_name = ctx
                .rule_names
                .objects
                .get(&p.uuid)
                .map(|(_, n)| n.clone())
                .unwrap_or_default();
            let act = if active { "Active" } else { "Inactive" };
            s.i32("index", p.ifindex)
                .string("name", &p.device)
                .string("uuid", &p.uuid)
                .string("vrf_name", p.instance.as_deref().unwrap_or("--ERROR--"))
                .string("active", state)
                .string("ipv4_active", act)
                .string("l2_active", act)
                .string("ip6_active", act)
                .string("dhcp_service", enable(true))
                .string("dhcp_service_v6", enable(true))
                .string("dns_service", enable(true))
                .string("type", "vport")
                .i32("label", p.label)
                .i32("l2_label", p.label)
                .i32("vxlan_id", 0)
                .string("vn_name", p.network.as_deref().unwrap_or(""))
                .string("vm_uuid", "")
                .string("vm_name", vm_name)
                .string("ip_addr", v4)
                .string("ip6_addr", v6)
                .string("mac_addr", p.mac.as_deref().unwrap_or(""))
                .string("policy", enable(p.policy))
                .structs(
                    "fip_list",
                    "FloatingIpSandeshList",
                    &p.floating_ips,
                    |f, a| {
                        f.string("ip_addr", a);
                    },
                )
                .string("mdata_ip_addr", "0.0.0.0")
                .i32("os_ifindex", p.ifindex)
                .elements("sg_uuid_list", "string", &p.security_groups)
                .elements("tag_list", "u32", &p.tags);
        });
    })
}

pub fn vrfs(st: &Status, q: &Params) -> String {
    let list = st
        .vrfs
        .iter()
        .filter(|v| param(q, "name").is_none_or(|n| v.instance.contains(n)));
    response("VrfListResp", |r| {
        r.structs("vrf_list", "VrfSandeshData", list, |s, v| {
            s.string("name", &v.instance)
                .i32("ucindex", v.id)
                .i32("mcindex", v.id)
                .i32("l2index", v.id)
                .string("source", "Config;")
                .i32("uc6index", v.id)
                .string("vn", network_of(&v.instance))
                .i32("table_label", -1)
                .i32("vxlan_id", 0)
                .i32("evpnindex", v.id)
                .i32("brindex", v.id)
                .i32("mplsindex", v.id)
                .string("RD", format!("{}:{}", st.underlay, v.id))
                .i32("mac_aging_time", 300)
                .field("layer2_control_word", "bool", false)
                .string("forwarding_vrf", "")
                .i32("hbf_rintf", -1)
                .i32("hbf_lintf", -1);
        });
    })
}

/// One route's next hop (`NhSandeshData`).
fn nexthop(s: &mut Fields, st: &Status, r: &RouteStatus, policy: bool) {
    let parts = nexthop_parts(&r.nexthop);
    let encap = parts["encap"].as_str().unwrap_or("");
    let nh_type = match encap {
        "MPLSoUDP" | "MPLSoGRE" | "VXLAN" => "tunnel",
        "none (local port)" => "interface",
        "ecmp" => "Composite",
        "none (discard)" => "discard",
        "none (to the agent)" => "receive",
        "none (another VRF)" => "vrf",
        _ => "invalid",
    };
    s.string("type", nh_type)
        .i32("ref_count", 1)
        .string("valid", "true")
        .string("policy", if policy { "enabled" } else { "disabled" });
    match nh_type {
        "tunnel" => {
            s.string("sip", &st.underlay)
                .string("dip", parts["tunnel_dst"].as_str().unwrap_or(""))
                .string(
                    "vrf",
                    "default-domain:default-project:ip-fabric:__default__",
                )
                .string("tunnel_type", encap);
        }
        "interface" => {
            // `interface N (device)`.
            let dev = r
                .nexthop
                .split_once('(')
                .map(|(_, d)| d.trim_end_matches(')'))
                .unwrap_or("");
            let mac = st
                .ports
                .iter()
                .find(|p| p.device == dev)
                .and_then(|p| p.mac.clone())
                .unwrap_or_else(|| "00:00:00:00:00:00".into());
            s.string("itf", dev).string("mac", mac);
        }
        "receive" => {
            s.string("itf", "pkt0");
        }
        "Composite" => {
            s.string("itf", &r.nexthop);
        }
        _ => {}
    }
    s.i32("nh_index", r.nexthop_id.unwrap_or(0));
}

pub fn inet4_routes(st: &Status, ctx: &FlowContext, q: &Params) -> String {
    let vrf: u16 = param(q, "vrf_index")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let want = param(q, "src_ip").and_then(|a| a.parse::<IpAddr>().ok());
    let want_len: Option<u8> = param(q, "prefix_len").and_then(|l| l.parse().ok());
    let v = st.vrfs.iter().find(|v| v.id == vrf);
    let routes: Vec<((IpAddr, u8), &RouteStatus)> = v
        .into_iter()
        .flat_map(|v| v.routes.iter())
        .filter_map(|r| {
            let p = parse_prefix(&r.prefix)?;
            (p.addr.is_ipv4()
                && want.is_none_or(|a| a == p.addr)
                && want_len.is_none_or(|l| l == p.len))
            .then_some(((p.addr, p.len), r))
        })
        .collect();
    let info = ctx.vrfs.get(&vrf);
    let instance = v.map(|v| v.instance.clone()).unwrap_or_default();
    response("Inet4UcRouteResp", |resp| {
        resp.structs(
            "route_list",
            "RouteUcSandeshData",
            routes,
            |s, ((addr, len), r)| {
                let ai = info.and_then(|i| i.lookup(addr));
                let vns: Vec<String> = ai
                    .map(|a| {
                        a.networks
                            .iter()
                            .filter_map(|n| ctx.names.name(*n).map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                let sgs: Vec<u32> = ai.map(|a| a.security_groups.clone()).unwrap_or_default();
                let parts = nexthop_parts(&r.nexthop);
                let label = parts["label"]
                    .as_u64()
                    .or(parts["vni"].as_u64())
                    .unwrap_or(0);
                let vni = parts["vni"].as_u64().unwrap_or(0);
                let local = parts["encap"] == "none (local port)";
                let policy = local
                    && st
                        .ports
                        .iter()
                        .any(|p| r.nexthop.contains(&format!("({})", p.device)) && p.policy);
                s.string("src_ip", addr)
                    .i32("src_plen", len)
                    .string("src_vrf", &instance)
                    .structs("path_list", "PathSandeshData", [()], |p, ()| {
                        p.structure("nh", "NhSandeshData", |n| nexthop(n, st, r, policy))
                            .i32("label", label)
                            .i32("vxlan_id", vni)
                            .string("peer", if local { "LocalVmPort" } else { "Controller" })
                            .elements("dest_vn_list", "string", &vns)
                            .string("unresolved", "false")
                            .elements("sg_list", "i32", &sgs)
                            .string("supported_tunnel_type", "MPLSoGRE MPLSoUDP VxLAN")
                            .string(
                                "active_tunnel_type",
                                parts["encap"]
                                    .as_str()
                                    .filter(|_| !local)
                                    .unwrap_or("MPLSoGRE"),
                            )
                            .structure("path_preference_data", "PathPreferenceSandeshData", |x| {
                                x.i32("sequence", 0).i32("preference", 100).field(
                                    "ecmp",
                                    "bool",
                                    parts["encap"] == "ecmp",
                                );
                            })
                            .i32("active_label", label)
                            .elements("communities", "string", Vec::<String>::new())
                            .field("etree_leaf", "bool", false)
                            .field("layer2_control_word", "bool", false)
                            .field("inactive", "bool", false)
                            .string("origin_vn", vns.first().map(String::as_str).unwrap_or(""));
                    })
                    .field("multicast", "bool", false)
                    .string("intf_route_type", "");
            },
        );
    })
}
