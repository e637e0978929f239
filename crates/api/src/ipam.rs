//! IP address management: the subnets of a virtual network (from its network-ipam refs, or from a
//! flat-subnet IPAM), Contrail's defaults for gateway and DNS addresses, and the search for a
//! free address. The search is pure; races are settled by the store (one key per address).

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::object::Obj;

#[derive(Debug, Clone)]
pub struct Subnet {
    pub net: IpNet,
    pub uuid: String,
    pub gateway: Option<IpAddr>,
    pub dns: Option<IpAddr>,
    pub pools: Vec<(IpAddr, IpAddr)>,
    pub from_start: bool,
}

fn to_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u32::from(v) as u128,
        IpAddr::V6(v) => u128::from(v),
    }
}

fn from_u128(v: u128, like: IpAddr) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4((v as u32).into()),
        IpAddr::V6(_) => IpAddr::V6(v.into()),
    }
}

fn parse_addr(v: &Value) -> Option<IpAddr> {
    v.as_str()?.parse().ok()
}

fn parse_subnet(s: &Value) -> Option<Subnet> {
    let prefix = s.pointer("/subnet/ip_prefix")?.as_str()?;
    let len = s.pointer("/subnet/ip_prefix_len")?.as_u64()?;
    let net: IpNet = format!("{prefix}/{len}").parse().ok()?;
    let pools = s
        .get("allocation_pools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| Some((parse_addr(p.get("start")?)?, parse_addr(p.get("end")?)?)))
        .collect();
    Some(Subnet {
        net: net.trunc(),
        uuid: s
            .get("subnet_uuid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        gateway: s
            .get("default_gateway")
            .and_then(parse_addr)
            .filter(|a| !a.is_unspecified()),
        dns: s
            .get("dns_server_address")
            .and_then(parse_addr)
            .filter(|a| !a.is_unspecified()),
        pools,
        from_start: s
            .get("addr_from_start")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

/// The subnets a virtual network allocates from.
pub fn vn_subnets(index: &Index, vn: &Obj) -> Vec<Subnet> {
    let mut out = Vec::new();
    for r in vn
        .body
        .get("network_ipam_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let from_ref = r.pointer("/attr/ipam_subnets").and_then(Value::as_array);
        let mut any = false;
        for s in from_ref.into_iter().flatten() {
            if let Some(sn) = parse_subnet(s) {
                out.push(sn);
                any = true;
            }
        }
        // Flat-subnet IPAMs hold the subnets themselves.
        if !any
            && let Some(ipam) = r
                .get("uuid")
                .and_then(Value::as_str)
                .and_then(|u| index.get(u))
        {
            let subnets = ipam
                .body
                .get("ipam_subnets")
                .and_then(|v| v.get("subnets"))
                .and_then(Value::as_array);
            out.extend(subnets.into_iter().flatten().filter_map(parse_subnet));
        }
    }
    out
}

/// Fills Contrail's defaults into every `ipam_subnets` entry of a VN's network-ipam refs
/// (subnet_uuid, default_gateway = first host, dns_server_address = second host) and rejects
/// prefixes that are malformed, overlap, or gateways outside their subnet.
pub fn normalize_vn_subnets(what: &str, refs: &mut Value) -> ApiResult<()> {
    let mut seen: Vec<IpNet> = Vec::new();
    let Some(list) = refs.as_array_mut() else {
        return Ok(());
    };
    for (ri, r) in list.iter_mut().enumerate() {
        let Some(subnets) = r
            .pointer_mut("/attr/ipam_subnets")
            .and_then(Value::as_array_mut)
        else {
            continue;
        };
        for (si, s) in subnets.iter_mut().enumerate() {
            let at = format!("network_ipam_refs[{ri}].attr.ipam_subnets[{si}]");
            let bad = |m: String| ApiError::bad_request(format!("{what}: {at}.{m}"));
            let (Some(prefix), Some(len)) = (
                s.pointer("/subnet/ip_prefix").and_then(Value::as_str),
                s.pointer("/subnet/ip_prefix_len").and_then(Value::as_u64),
            ) else {
                if s.get("subnet").is_some_and(|v| !v.is_null()) {
                    return Err(bad(
                        "subnet: ip_prefix and ip_prefix_len are required".into()
                    ));
                }
                continue;
            };
            let net: IpNet = format!("{prefix}/{len}")
                .parse()
                .map_err(|_| bad(format!("subnet: {prefix}/{len} is not a valid prefix")))?;
            if net.trunc() != net {
                return Err(bad(format!("subnet: {prefix}/{len} has host bits set")));
            }
            if let Some(o) = seen
                .iter()
                .find(|o| o.contains(&net.network()) || net.contains(&o.network()))
            {
                return Err(bad(format!("subnet: {net} overlaps {o}")));
            }
            seen.push(net);
            let hosts = |n: u128| from_u128(to_u128(net.network()) + n, net.network());
            let obj = s
                .as_object_mut()
                .ok_or_else(|| bad("expected an object".into()))?;
            if obj.get("subnet_uuid").is_none_or(Value::is_null) {
                obj.insert(
                    "subnet_uuid".into(),
                    json!(uuid::Uuid::new_v4().to_string()),
                );
            }
            for (field, default) in [
                ("default_gateway", hosts(1)),
                ("dns_server_address", hosts(2)),
            ] {
                match obj.get(field).and_then(Value::as_str) {
                    None => {
                        obj.insert(field.into(), json!(default.to_string()));
                    }
                    Some(a) => {
                        let addr: IpAddr = a
                            .parse()
                            .map_err(|_| bad(format!("{field}: {a:?} is not an IP address")))?;
                        if !addr.is_unspecified() && !net.contains(&addr) {
                            return Err(bad(format!("{field}: {addr} is not in {net}")));
                        }
                    }
                }
            }
            if obj.get("enable_dhcp").is_none_or(Value::is_null) {
                obj.insert("enable_dhcp".into(), json!(true));
            }
        }
    }
    Ok(())
}

/// Which subnet of `subnets` holds `addr`.
pub fn subnet_of(subnets: &[Subnet], addr: IpAddr) -> Option<&Subnet> {
    subnets.iter().find(|s| s.net.contains(&addr))
}

/// The next free address: from the allocation pools if any, else the subnet's hosts; skipping
/// the network and broadcast addresses, the gateway, the DNS address and everything taken.
/// Contrail allocates from the top of the range unless `addr_from_start` is set.
pub fn find_free(s: &Subnet, taken: &dyn Fn(IpAddr) -> bool) -> Option<IpAddr> {
    let net = s.net;
    let lo = to_u128(net.network()) + 1;
    let hi = match net {
        IpNet::V4(_) => to_u128(net.broadcast()).saturating_sub(1),
        IpNet::V6(_) => to_u128(net.broadcast()),
    };
    let ranges: Vec<(u128, u128)> = if s.pools.is_empty() {
        vec![(lo, hi)]
    } else {
        s.pools
            .iter()
            .map(|(a, b)| (to_u128(*a).max(lo), to_u128(*b).min(hi)))
            .collect()
    };
    let usable = |v: u128| {
        let a = from_u128(v, net.network());
        Some(a) != s.gateway && Some(a) != s.dns && !taken(a)
    };
    // Bounded: each candidate is either free (we stop) or taken/reserved, and at most
    // `taken + 2` candidates are not free; the cap guards against a broken predicate.
    let cap = 1u128 << 24;
    for (a, b) in ranges {
        if a > b {
            continue;
        }
        let span = (b - a).min(cap);
        for i in 0..=span {
            let v = if s.from_start { a + i } else { b - i };
            if usable(v) {
                return Some(from_u128(v, net.network()));
            }
        }
    }
    None
}

pub fn is_v6(family: Option<&str>) -> Option<bool> {
    match family {
        Some("v6") => Some(true),
        Some("v4") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sn(prefix: &str, from_start: bool) -> Subnet {
        let net: IpNet = prefix.parse().unwrap();
        let first = from_u128(to_u128(net.network()) + 1, net.network());
        Subnet {
            net,
            uuid: "u".into(),
            gateway: Some(first),
            dns: Some(from_u128(to_u128(net.network()) + 2, net.network())),
            pools: vec![],
            from_start,
        }
    }

    #[test]
    fn allocates_from_the_top_by_default_and_skips_reserved() {
        let s = sn("10.0.0.0/29", false);
        assert_eq!(find_free(&s, &|_| false), Some("10.0.0.6".parse().unwrap()));
        let s = sn("10.0.0.0/29", true);
        assert_eq!(find_free(&s, &|_| false), Some("10.0.0.3".parse().unwrap()));
        // 10.0.0.3..6 taken: the /29 is full.
        assert_eq!(
            find_free(&s, &|a| a != "10.0.0.1".parse::<IpAddr>().unwrap()),
            None
        );
    }

    #[test]
    fn honours_allocation_pools() {
        let mut s = sn("10.0.0.0/24", true);
        s.pools = vec![("10.0.0.100".parse().unwrap(), "10.0.0.101".parse().unwrap())];
        assert_eq!(
            find_free(&s, &|_| false),
            Some("10.0.0.100".parse().unwrap())
        );
        let t: IpAddr = "10.0.0.100".parse().unwrap();
        assert_eq!(
            find_free(&s, &|a| a == t),
            Some("10.0.0.101".parse().unwrap())
        );
    }

    #[test]
    fn normalizes_defaults_and_rejects_overlap() {
        let mut refs = json!([{"to": ["a"], "attr": {"ipam_subnets": [
            {"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 24}}]}}]);
        normalize_vn_subnets("vn", &mut refs).unwrap();
        let s = &refs[0]["attr"]["ipam_subnets"][0];
        assert_eq!(s["default_gateway"], "10.1.0.1");
        assert_eq!(s["dns_server_address"], "10.1.0.2");
        let mut bad = json!([{"attr": {"ipam_subnets": [
            {"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 16}},
            {"subnet": {"ip_prefix": "10.1.2.0", "ip_prefix_len": 24}}]}}]);
        assert_eq!(
            normalize_vn_subnets("vn", &mut bad).unwrap_err().status,
            400
        );
    }
}
