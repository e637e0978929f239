//! One subnet as Contrail's address manager sees it (`vnc_addr_mgmt.py`'s `Subnet`): its prefix,
//! gateway and service (DNS) addresses, allocation pools, allocation unit and direction; and the
//! checks and defaults the server applies to `ipam_subnets` entries before it stores them.
//!
//! Defaults, as Contrail: the gateway is the last usable address (`.254` in a /24) and the service
//! address the one below it (`.253`), or the first two hosts when `addr_from_start` is set; a
//! gateway given as `"None"` (or absent) gets the default, `0.0.0.0`/`::` means "no gateway".

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};

pub fn to_u128(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v) => u32::from(v) as u128,
        IpAddr::V6(v) => u128::from(v),
    }
}

pub fn from_u128(v: u128, like: IpAddr) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4((v as u32).into()),
        IpAddr::V6(_) => IpAddr::V6(v.into()),
    }
}

/// A subnet ready to allocate from. `scope` is whose address space it is: the virtual network's
/// uuid for subnets on the network's IPAM link, the IPAM's uuid for a flat-subnet IPAM (whose
/// addresses all networks using it share).
#[derive(Debug, Clone)]
pub struct Subnet {
    pub net: IpNet,
    pub uuid: String,
    pub scope: String,
    /// `None` when the subnet has no gateway (`0.0.0.0`/`::`) or is a subnetted IPAM's.
    pub gateway: Option<IpAddr>,
    pub dns: Option<IpAddr>,
    /// Address ranges (inclusive) sorted by start; the whole subnet but its last address when
    /// none are configured.
    pub pools: Vec<(u128, u128)>,
    pub from_start: bool,
    /// Addresses are handed out in blocks of `unit` (a power of two), aligned to it.
    pub unit: u128,
    /// A flat IPAM's subnet.
    pub flat: bool,
}

impl Subnet {
    /// `prefix/len` as Contrail names a subnet in its messages.
    pub fn name(&self) -> String {
        self.net.to_string()
    }

    pub fn first(&self) -> u128 {
        to_u128(self.net.network())
    }

    pub fn last(&self) -> u128 {
        to_u128(self.net.broadcast())
    }

    pub fn addr(&self, v: u128) -> IpAddr {
        from_u128(v, self.net.network())
    }

    pub fn is_v6(&self) -> bool {
        matches!(self.net, IpNet::V6(_))
    }

    fn in_pools(&self, v: u128) -> bool {
        self.pools.iter().any(|(a, b)| *a <= v && v <= *b)
    }

    /// The allocation units (address / unit) the allocator covers, inclusive, sorted.
    pub fn unit_ranges(&self) -> Vec<(u128, u128)> {
        self.pools
            .iter()
            .map(|(a, b)| (a / self.unit, b / self.unit))
            .collect()
    }

    fn in_units(&self, u: u128) -> bool {
        self.unit_ranges().iter().any(|(a, b)| *a <= u && u <= *b)
    }

    /// Units the subnet itself keeps: the network and broadcast addresses, and the gateway and
    /// service addresses when they lie in a pool. Only those inside the allocator's range count.
    pub fn reserved_units(&self) -> Vec<u128> {
        let mut out = Vec::new();
        let mut push = |v: u128| {
            let u = v / self.unit;
            if self.in_units(u) && !out.contains(&u) {
                out.push(u);
            }
        };
        push(self.first());
        push(self.last());
        for a in [self.gateway, self.dns].into_iter().flatten() {
            let v = to_u128(a);
            if self.net.contains(&a) && self.in_pools(v) {
                push(v);
            }
        }
        out
    }

    /// Whether `a` is one of the addresses the subnet keeps for itself (network, broadcast,
    /// gateway, service address).
    pub fn is_excluded(&self, a: IpAddr) -> bool {
        let v = to_u128(a);
        v == self.first() || v == self.last() || Some(a) == self.gateway || Some(a) == self.dns
    }
}

fn addr_of(v: &Value) -> Option<IpAddr> {
    v.as_str()?.parse().ok()
}

/// A gateway or service address as stored: absent, null and `"None"` mean "not given".
fn given(s: &Map<String, Value>, field: &str) -> Option<String> {
    s.get(field)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty() && *v != "None")
        .map(str::to_string)
}

/// Reads a stored `ipam_subnets` entry; entries without a prefix (a flat IPAM's link) give None.
pub fn parse(s: &Value, scope: &str, flat: bool) -> Option<Subnet> {
    let prefix = s.pointer("/subnet/ip_prefix")?.as_str()?;
    let len = s.pointer("/subnet/ip_prefix_len")?.as_u64()?;
    let net: IpNet = format!("{prefix}/{len}").parse().ok()?;
    let net = net.trunc();
    let listed = s.get("allocation_pools").and_then(Value::as_array);
    // A flat IPAM's pools marked `vrouter_specific_pool` are for the vrouters that link to
    // them: addresses through those links take them, every other allocation skips them.
    let for_vrouters =
        |p: &Value| flat && p.get("vrouter_specific_pool") == Some(&Value::Bool(true));
    let mut pools: Vec<(u128, u128)> = listed
        .into_iter()
        .flatten()
        .filter(|p| !for_vrouters(p))
        .filter_map(|p| {
            Some((
                to_u128(addr_of(p.get("start")?)?),
                to_u128(addr_of(p.get("end")?)?),
            ))
        })
        .collect();
    if pools.is_empty() && !listed.into_iter().flatten().any(for_vrouters) {
        pools.push((
            to_u128(net.network()),
            to_u128(net.broadcast()).saturating_sub(1),
        ));
    }
    pools.sort();
    let usable = |a: Option<IpAddr>| a.filter(|a| !a.is_unspecified());
    Some(Subnet {
        net,
        uuid: s
            .get("subnet_uuid")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        scope: scope.to_string(),
        gateway: usable(s.get("default_gateway").and_then(addr_of)),
        dns: usable(s.get("dns_server_address").and_then(addr_of)),
        pools,
        from_start: s
            .get("addr_from_start")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        unit: s
            .get("alloc_unit")
            .and_then(Value::as_u64)
            .filter(|u| *u > 0)
            .unwrap_or(1) as u128,
        flat,
    })
}

/// Contrail's `Overlapping addresses: [IPNetwork('a/n'), IPNetwork('b/m')]`.
pub fn overlap_message(a: &IpNet, b: &IpNet) -> String {
    format!("Overlapping addresses: [IPNetwork('{a}'), IPNetwork('{b}')]")
}

/// Rejects any two overlapping prefixes of `nets` (400, Contrail's message).
pub fn check_overlap(what: &str, nets: &[IpNet]) -> ApiResult<()> {
    for (i, a) in nets.iter().enumerate() {
        for b in &nets[i + 1..] {
            if a.contains(&b.network()) || b.contains(&a.network()) {
                return Err(ApiError::bad_request(format!(
                    "{what}: {}",
                    overlap_message(a, b)
                )));
            }
        }
    }
    Ok(())
}

/// The prefix of an `ipam_subnets` entry with host bits cleared (Contrail stores the network
/// address), or None for an entry without one.
fn entry_prefix(what: &str, s: &mut Value) -> ApiResult<Option<IpNet>> {
    let (prefix, len) = (
        s.pointer("/subnet/ip_prefix").and_then(Value::as_str),
        s.pointer("/subnet/ip_prefix_len").and_then(Value::as_u64),
    );
    let (Some(prefix), Some(len)) = (prefix, len) else {
        if s.pointer("/subnet/ip_prefix").is_some_and(|v| !v.is_null()) {
            return Err(ApiError::bad_request(format!(
                "{what}: subnet: ip_prefix and ip_prefix_len are required"
            )));
        }
        return Ok(None);
    };
    let net: IpNet = format!("{prefix}/{len}").parse().map_err(|_| {
        ApiError::bad_request(format!("{what}: Subnet type '{prefix}/{len}' is invalid"))
    })?;
    let net = net.trunc();
    s["subnet"]["ip_prefix"] = json!(net.network().to_string());
    Ok(Some(net))
}

/// Checks one entry and fills Contrail's defaults into it: `subnet_uuid`, `default_gateway`,
/// `dns_server_address` (kept from `old` on update when not given), `enable_dhcp`.
/// `subnetting`: the entry is a subnetted flat IPAM's, which reserves neither address.
fn normalize_entry(
    what: &str,
    net: IpNet,
    s: &mut Value,
    old: Option<&Map<String, Value>>,
    subnetting: bool,
) -> ApiResult<()> {
    let name = net.to_string();
    let obj = s
        .as_object_mut()
        .ok_or_else(|| ApiError::bad_request(format!("{what}: {name}: expected an object")))?;
    match obj.get("subnet_uuid").and_then(Value::as_str) {
        Some(u) if !u.is_empty() => {
            if uuid::Uuid::parse_str(u).is_err() {
                return Err(ApiError::conflict(format!(
                    "{what}: Invalid subnet-uuid {u} in subnet:{name}"
                )));
            }
        }
        _ => {
            let keep = old.and_then(|o| o.get("subnet_uuid")).cloned();
            obj.insert(
                "subnet_uuid".into(),
                keep.unwrap_or_else(|| json!(uuid::Uuid::new_v4().to_string())),
            );
        }
    }
    let first = to_u128(net.network());
    let last = to_u128(net.broadcast());
    let at = |v: u128| from_u128(v, net.network());
    let unit = match obj.get("alloc_unit") {
        None | Some(Value::Null) => 1,
        Some(v) => v.as_u64().unwrap_or(0),
    };
    if unit == 0 || unit & (unit - 1) != 0 {
        return Err(ApiError::bad_request(format!(
            "{what}: has invalid alloc_unit({unit}) in subnet({name}) reason: Not power of 2"
        )));
    }
    let unit = unit as u128;
    // Allocation pools: valid addresses, inside the prefix, in order, not overlapping.
    let mut pools: Vec<(u128, u128)> = Vec::new();
    for p in obj
        .get("allocation_pools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (s, e) = (
            p.get("start").and_then(Value::as_str).unwrap_or(""),
            p.get("end").and_then(Value::as_str).unwrap_or(""),
        );
        let (Ok(a), Ok(b)) = (s.parse::<IpAddr>(), e.parse::<IpAddr>()) else {
            return Err(ApiError::conflict(format!(
                "{what}: Invalid allocation Pool start:{s}, end:{e} in subnet:{name}"
            )));
        };
        if !net.contains(&a) || !net.contains(&b) {
            return Err(ApiError::conflict(format!(
                "{what}: allocation pool start:{s}, end:{e} out of cidr:{name}"
            )));
        }
        let (a, b) = (to_u128(a), to_u128(b));
        if b < a {
            return Err(ApiError::bad_request(format!(
                "{what}: has invalid subnet({name}:Allocation pool end ip is less than start ip)"
            )));
        }
        if pools.iter().any(|(x, y)| a <= *y && *x <= b) {
            return Err(ApiError::bad_request(format!(
                "{what}: has invalid subnet({name}:overlapping alloc-pools)"
            )));
        }
        if unit > 1 && !a.is_multiple_of(unit) {
            return Err(ApiError::bad_request(format!(
                "{what}: has invalid alloc_unit({unit}) in subnet({name}) reason: Pool start {a} not aligned"
            )));
        }
        pools.push((a, b));
    }
    // Pools may be added, not taken away (Contrail's allocator cannot shrink).
    if let Some(o) = old {
        let was = o
            .get("allocation_pools")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| {
                let a: IpAddr = p.get("start")?.as_str()?.parse().ok()?;
                let b: IpAddr = p.get("end")?.as_str()?.parse().ok()?;
                Some((to_u128(a), to_u128(b)))
            });
        for (a, b) in was {
            if !pools.contains(&(a, b)) {
                return Err(ApiError::bad_request(format!(
                    "{what}: has invalid subnet({name}:Allocation pool delete is not allowed)"
                )));
            }
        }
    }
    let from_start = obj
        .get("addr_from_start")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let old_addr = |field: &str| old.and_then(|o| given(o, field));
    // Gateway: given, else (on update) the stored one, else the default.
    let gateway = match given(obj, "default_gateway") {
        Some(g) => {
            let a: IpAddr = g.parse().map_err(|_| {
                ApiError::conflict(format!("{what}: Invalid gateway Ip address:{g}"))
            })?;
            if !a.is_unspecified() && (to_u128(a) < first + 1 || to_u128(a) > last - 1) {
                return Err(ApiError::conflict(format!(
                    "{what}: gateway Ip {g} out of cidr: {name}"
                )));
            }
            Some(g)
        }
        None => old_addr("default_gateway"),
    };
    let default = |n: u128| {
        if subnetting {
            "None".to_string()
        } else if from_start {
            at(first + n).to_string()
        } else {
            at(last - n).to_string()
        }
    };
    let gateway = gateway.unwrap_or_else(|| default(1));
    let dns = match given(obj, "dns_server_address") {
        Some(d) => {
            d.parse::<IpAddr>().map_err(|_| {
                ApiError::conflict(format!("{what}: Invalid Dns Server Ip address:{d}"))
            })?;
            d
        }
        None => old_addr("dns_server_address").unwrap_or_else(|| default(2)),
    };
    if let Some(o) = old {
        check_gateway_change(what, o, &gateway)?;
    }
    obj.insert("default_gateway".into(), json!(gateway));
    obj.insert("dns_server_address".into(), json!(dns));
    if obj.get("enable_dhcp").is_none_or(Value::is_null) {
        obj.insert("enable_dhcp".into(), json!(true));
    }
    // Every pool must leave at least one allocatable block beside the ones the subnet keeps.
    if unit > 1 {
        let ranges = if pools.is_empty() {
            vec![(first, last)]
        } else {
            pools.clone()
        };
        for (a, b) in ranges {
            let size = b - a + 1;
            if size < unit || !size.is_multiple_of(unit) {
                return Err(ApiError::bad_request(format!(
                    "{what}: has invalid alloc_unit({unit}) in subnet({name}) reason: Pool range {size} not aligned"
                )));
            }
        }
    }
    Ok(())
}

/// Contrail refuses to move a subnet's gateway once set (400).
fn check_gateway_change(what: &str, old: &Map<String, Value>, new: &str) -> ApiResult<()> {
    let Some(was) = given(old, "default_gateway") else {
        return Ok(());
    };
    if was.eq_ignore_ascii_case(new) {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "{what}: default gateway change is not allowed orig:{was}, new: {new}"
    )))
}

/// The stored entry for the same prefix in `old` entries, if any.
fn old_entry<'a>(old: &'a [Value], net: &IpNet) -> Option<&'a Map<String, Value>> {
    old.iter().find_map(|o| {
        let p = o.pointer("/subnet/ip_prefix")?.as_str()?;
        let l = o.pointer("/subnet/ip_prefix_len")?.as_u64()?;
        let n: IpNet = format!("{p}/{l}").parse().ok()?;
        (n.trunc() == *net).then(|| o.as_object()).flatten()
    })
}

/// Normalizes a list of `ipam_subnets` entries in place; returns the prefixes it holds.
/// `old`: the stored entries (on update), whose uuid, gateway and service address carry over.
pub fn normalize_list(
    what: &str,
    list: &mut [Value],
    old: &[Value],
    subnetting: bool,
) -> ApiResult<Vec<IpNet>> {
    let mut nets = Vec::new();
    for s in list.iter_mut() {
        let Some(net) = entry_prefix(what, s)? else {
            continue;
        };
        normalize_entry(what, net, s, old_entry(old, &net), subnetting)?;
        nets.push(net);
    }
    Ok(nets)
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

    fn norm(entry: Value) -> ApiResult<Value> {
        let mut list = vec![entry];
        normalize_list("vn", &mut list, &[], false)?;
        Ok(list.remove(0))
    }

    #[test]
    fn defaults_are_contrails_top_of_range_or_from_start() {
        let s = norm(json!({"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 24}})).unwrap();
        assert_eq!(s["default_gateway"], "10.1.0.254");
        assert_eq!(s["dns_server_address"], "10.1.0.253");
        let s = norm(
            json!({"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 24},
                            "addr_from_start": true}),
        )
        .unwrap();
        assert_eq!(s["default_gateway"], "10.1.0.1");
        assert_eq!(s["dns_server_address"], "10.1.0.2");
        let s = norm(json!({"subnet": {"ip_prefix": "fd14::", "ip_prefix_len": 120}})).unwrap();
        assert_eq!(s["default_gateway"], "fd14::fe");
        assert_eq!(s["dns_server_address"], "fd14::fd");
        // Host bits are cleared, as Contrail stores the network address.
        let s = norm(json!({"subnet": {"ip_prefix": "10.1.3.248", "ip_prefix_len": 23}})).unwrap();
        assert_eq!(s["subnet"]["ip_prefix"], "10.1.2.0");
    }

    #[test]
    fn rejects_bad_pools_units_and_gateways() {
        let sub = |extra: Value| {
            let mut v = json!({"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 24}});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            norm(v).map(|_| ()).map_err(|e| e.status.as_u16())
        };
        assert_eq!(sub(json!({"alloc_unit": 3})), Err(400));
        assert_eq!(sub(json!({"default_gateway": "10.9.9.9"})), Err(409));
        assert_eq!(
            sub(json!({"allocation_pools": [{"start": "10.1.1.1", "end": "10.1.1.5"}]})),
            Err(409)
        );
        assert_eq!(
            sub(json!({"allocation_pools": [{"start": "10.1.0.9", "end": "10.1.0.5"}]})),
            Err(400)
        );
        assert_eq!(
            sub(
                json!({"allocation_pools": [{"start": "10.1.0.1", "end": "10.1.0.5"},
                                             {"start": "10.1.0.4", "end": "10.1.0.9"}]})
            ),
            Err(400)
        );
        assert_eq!(sub(json!({"subnet_uuid": "nope"})), Err(409));
        assert_eq!(sub(json!({"alloc_unit": 4})), Ok(()));
    }

    #[test]
    fn gateway_cannot_move_on_update() {
        let old = vec![
            json!({"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 24},
                   "default_gateway": "10.1.0.100", "subnet_uuid": "6f1c2b9e-0000-4000-8000-000000000001"}),
        ];
        let mut keep = vec![json!({"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 24}})];
        normalize_list("vn", &mut keep, &old, false).unwrap();
        assert_eq!(keep[0]["default_gateway"], "10.1.0.100");
        assert_eq!(keep[0]["subnet_uuid"], old[0]["subnet_uuid"]);
        let mut moved = vec![
            json!({"subnet": {"ip_prefix": "10.1.0.0", "ip_prefix_len": 24},
                                    "default_gateway": "10.1.0.50"}),
        ];
        assert_eq!(
            normalize_list("vn", &mut moved, &old, false)
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn overlap_names_both_prefixes() {
        let a: IpNet = "10.1.2.0/23".parse().unwrap();
        let b: IpNet = "10.1.3.240/28".parse().unwrap();
        let e = check_overlap("vn", &[a, b]).unwrap_err();
        assert!(e.message.contains(
            "Overlapping addresses: [IPNetwork('10.1.2.0/23'), IPNetwork('10.1.3.240/28')]"
        ));
    }
}
