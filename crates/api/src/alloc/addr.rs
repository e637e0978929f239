//! Address allocation for instance IPs, floating IPs, alias IPs and a network's own `ip-alloc`,
//! by Contrail's rules (`vnc_addr_mgmt.py`): one allocator per subnet, in blocks of `alloc_unit`,
//! from the top of the pools down (or from the start with `addr_from_start`), never handing out
//! the network, broadcast, gateway or service addresses. A requested gateway address is shared
//! (Contrail lets router ports use it), every other address has one owner.
//!
//! The search is pure over the index; the store settles races (one key per address, see
//! [`keys::ip`]), and [`Reservations`] keep concurrent plans in this process apart.

use std::net::IpAddr;

use serde_json::Value;

use super::subnet::{self, Subnet, to_u128};
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::keys;
use crate::object::Obj;
use crate::reservations::Reservations;
use crate::write::Planned;

/// What went wrong, before it becomes an HTTP answer: the same failure is 400 on an
/// instance-ip create and 409 on `ip-alloc`, as in Contrail.
#[derive(Debug)]
pub enum AddrError {
    /// No subnet (of the family, or the one asked for) has a free address.
    Exhausted { vn: Vec<String>, tried: Vec<String> },
    /// The `subnet_uuid` asked for is not one of the network's subnets.
    NoSuchSubnet {
        vn: Vec<String>,
        subnet_uuid: String,
    },
    /// The requested address is owned already (or kept by the subnet).
    InUse,
    /// The requested address lies in no subnet of the network.
    Outside { vn: Vec<String>, addr: IpAddr },
    /// The requested address is not aligned to the subnet's allocation unit.
    Unaligned {
        name: String,
        unit: u128,
        addr: IpAddr,
    },
}

fn py_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", quoted.join(", "))
}

impl AddrError {
    pub fn message(&self) -> String {
        match self {
            AddrError::Exhausted { vn, tried } => format!(
                "Virtual-Network({}) has exhausted subnet({})",
                py_list(vn),
                py_list(tried)
            ),
            AddrError::NoSuchSubnet { vn, subnet_uuid } => format!(
                "Virtual-Network({}) has invalid subnet({subnet_uuid})",
                py_list(vn)
            ),
            AddrError::InUse => "IP address already in use".into(),
            AddrError::Outside { vn, addr } => format!(
                "Virtual-Network({}): {addr} is in none of its subnets",
                py_list(vn)
            ),
            AddrError::Unaligned { name, unit, addr } => format!(
                "Virtual-Network({name}) has invalid alloc_unit({unit}) in subnet({}) reason: Requested IP address {addr} not aligned",
                name.rsplit(':').next().unwrap_or(name)
            ),
        }
    }

    /// As an instance-ip / floating-ip / alias-ip create answers it.
    pub fn on_create(self, what: &str) -> ApiError {
        let m = format!("{what}: {}", self.message());
        match self {
            AddrError::InUse => ApiError::conflict(m),
            _ => ApiError::bad_request(m),
        }
    }

    /// As `ip-alloc` answers it: exhaustion is 409 there.
    pub fn on_ip_alloc(self, what: &str) -> ApiError {
        let m = format!("{what}: {}", self.message());
        match self {
            AddrError::Exhausted { .. } | AddrError::InUse => ApiError::conflict(m),
            _ => ApiError::bad_request(m),
        }
    }
}

/// The subnets a virtual network allocates from, in the order its `address_allocation_mode`
/// tries them: the subnets on its IPAM links (its own address space), and the subnets of the
/// flat-subnet IPAMs it links to (shared by every network on that IPAM).
pub fn vn_subnets(index: &Index, vn: &Obj) -> Vec<Subnet> {
    let mut user = Vec::new();
    let mut flat = Vec::new();
    for r in vn
        .body
        .get("network_ipam_refs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut any = false;
        for s in r
            .pointer("/attr/ipam_subnets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(sn) = subnet::parse(s, &vn.uuid, false) {
                user.push(sn);
                any = true;
            }
        }
        if any {
            continue;
        }
        if let Some(ipam) = r
            .get("uuid")
            .and_then(Value::as_str)
            .and_then(|u| index.get(u))
        {
            flat.extend(ipam_subnets(ipam));
        }
    }
    match vn
        .body
        .get("address_allocation_mode")
        .and_then(Value::as_str)
    {
        Some("flat-subnet-only") => flat,
        Some("user-defined-subnet-only") => user,
        Some("flat-subnet-preferred") => flat.into_iter().chain(user).collect(),
        _ => user.into_iter().chain(flat).collect(),
    }
}

/// The flat subnets on an IPAM itself, an address space shared by every user of the IPAM.
pub fn ipam_subnets(ipam: &Obj) -> Vec<Subnet> {
    ipam.body
        .get("ipam_subnets")
        .and_then(|v| v.get("subnets"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|s| subnet::parse(s, &ipam.uuid, true))
        .collect()
}

/// Which subnet of `subnets` holds `addr`.
pub fn subnet_of(subnets: &[Subnet], addr: IpAddr) -> Option<&Subnet> {
    subnets.iter().find(|s| s.net.contains(&addr))
}

/// The next free block's first address, or None when the subnet is exhausted.
pub fn find_free(s: &Subnet, taken: &dyn Fn(IpAddr) -> bool) -> Option<IpAddr> {
    let reserved = s.reserved_units();
    let mut ranges = s.unit_ranges();
    if !s.from_start {
        ranges.reverse();
    }
    // Bounded: each candidate is free (we stop), reserved (a handful) or taken (one key each);
    // the cap guards against a broken predicate over a huge IPv6 range.
    let cap = 1u128 << 24;
    for (a, b) in ranges {
        let span = (b - a).min(cap);
        for i in 0..=span {
            let u = if s.from_start { a + i } else { b - i };
            if reserved.contains(&u) {
                continue;
            }
            let addr = s.addr(u * s.unit);
            if !taken(addr) {
                return Some(addr);
            }
        }
    }
    None
}

/// Addresses in use in `s`, counted as Contrail's allocator counts them: the blocks the subnet
/// keeps for itself plus every allocated one.
pub fn count(index: &Index, s: &Subnet) -> usize {
    let allocated = index
        .ips_of(&s.scope)
        .filter(|(a, _)| a.parse::<IpAddr>().is_ok_and(|a| s.net.contains(&a)))
        .count();
    s.reserved_units().len() + allocated
}

/// What a request asks of the allocator.
#[derive(Debug, Default, Clone)]
pub struct Ask {
    pub addr: Option<IpAddr>,
    pub v6: Option<bool>,
    pub subnet_uuid: Option<String>,
}

/// The outcome: the address, its subnet, and the store key that now names its owner (None for
/// a shared gateway address).
#[derive(Debug)]
pub struct Picked {
    pub addr: IpAddr,
    pub subnet_uuid: String,
    pub key: Option<String>,
    pub is_gateway: bool,
}

fn taken(index: &Index, reserved: &Reservations, s: &Subnet, a: IpAddr) -> bool {
    let k = a.to_string();
    index.ip_owner(&s.scope, &k).is_some() || reserved.is_held(&keys::ip(&s.scope, &k))
}

/// Picks (and plans the write of) one address for `owner` in `vn`. Every check that can fail
/// comes before the reservation is taken.
pub fn allocate(
    index: &Index,
    reserved: &Reservations,
    vn: &Obj,
    ask: &Ask,
    owner: &str,
    p: &mut Planned,
) -> Result<Picked, AddrError> {
    let all = vn_subnets(index, vn);
    allocate_from(index, reserved, vn, &all, ask, owner, p)
}

/// [`allocate`] over the given subnets; `space` (a network, or an IPAM for an instance IP
/// taken from its flat subnets directly) names the address space in errors.
pub fn allocate_from(
    index: &Index,
    reserved: &Reservations,
    space: &Obj,
    all: &[Subnet],
    ask: &Ask,
    owner: &str,
    p: &mut Planned,
) -> Result<Picked, AddrError> {
    let vn = space;
    let family: Vec<&Subnet> = all
        .iter()
        .filter(|s| ask.v6.is_none_or(|v6| s.is_v6() == v6))
        .collect();
    let candidates: Vec<&Subnet> = match &ask.subnet_uuid {
        Some(u) => {
            let c: Vec<&Subnet> = family.iter().copied().filter(|s| &s.uuid == u).collect();
            if c.is_empty() {
                return Err(AddrError::NoSuchSubnet {
                    vn: vn.fq_name.clone(),
                    subnet_uuid: u.clone(),
                });
            }
            c
        }
        None => family,
    };
    if let Some(addr) = ask.addr {
        let s = candidates
            .iter()
            .find(|s| s.net.contains(&addr))
            .ok_or_else(|| AddrError::Outside {
                vn: vn.fq_name.clone(),
                addr,
            })?;
        if Some(addr) == s.gateway {
            return Ok(Picked {
                addr,
                subnet_uuid: s.uuid.clone(),
                key: None,
                is_gateway: true,
            });
        }
        let v = to_u128(addr);
        if s.is_excluded(addr) || s.reserved_units().contains(&(v / s.unit)) {
            return Err(AddrError::InUse);
        }
        if !v.is_multiple_of(s.unit) {
            return Err(AddrError::Unaligned {
                name: format!("{}:{}", vn.fq_str, s.name()),
                unit: s.unit,
                addr,
            });
        }
        if taken(index, reserved, s, addr) {
            return Err(AddrError::InUse);
        }
        let key = keys::ip(&s.scope, &addr.to_string());
        p.absent(key.clone(), Some(AddrError::InUse.message()));
        p.put(key.clone(), owner.to_string());
        return Ok(Picked {
            addr,
            subnet_uuid: s.uuid.clone(),
            key: Some(key),
            is_gateway: false,
        });
    }
    let mut tried = Vec::new();
    for s in &candidates {
        tried.push(s.name());
        // A concurrent plan may hold the address we found; look again (bounded).
        for _ in 0..64 {
            let Some(a) = find_free(s, &|a| taken(index, reserved, s, a)) else {
                break;
            };
            let key = keys::ip(&s.scope, &a.to_string());
            if reserved.try_hold(&key) {
                p.hold(key.clone());
                p.absent(key.clone(), None);
                p.put(key.clone(), owner.to_string());
                return Ok(Picked {
                    addr: a,
                    subnet_uuid: s.uuid.clone(),
                    key: Some(key),
                    is_gateway: false,
                });
            }
        }
    }
    // Contrail names the subnets tried only when one was asked for.
    if ask.subnet_uuid.is_none() {
        tried.clear();
    }
    Err(AddrError::Exhausted {
        vn: vn.fq_name.clone(),
        tried,
    })
}

/// The store keys `owner` holds for `addr` in `vn`'s address spaces (its own and its flat
/// IPAMs'), to delete with the owner.
pub fn held_keys(index: &Index, vn: &Obj, addr: &str, owner: &str) -> Vec<String> {
    let mut scopes = vec![vn.uuid.clone()];
    scopes.extend(vn_subnets(index, vn).into_iter().map(|s| s.scope));
    scopes.sort();
    scopes.dedup();
    scopes
        .into_iter()
        .filter(|s| index.ip_owner(s, addr) == Some(owner))
        .map(|s| keys::ip(&s, addr))
        .collect()
}

/// `Err` naming the first address of `vn`'s own space that would fall outside `subnets`.
pub fn check_still_covered(index: &Index, vn_uuid: &str, subnets: &[Subnet]) -> ApiResult<()> {
    for (addr, _owner) in index.ips_of(vn_uuid) {
        let covered = addr
            .parse::<IpAddr>()
            .ok()
            .and_then(|a| subnet_of(subnets, a))
            .is_some();
        if !covered {
            return Err(ApiError::conflict(format!(
                "Cannot Delete IP Block, IP({addr}) is in use"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sn(entry: Value) -> Subnet {
        let mut list = vec![entry];
        subnet::normalize_list("t", &mut list, &[], false).unwrap();
        subnet::parse(&list[0], "vn", false).unwrap()
    }

    fn run(s: &Subnet, n: usize) -> Vec<String> {
        let mut got: Vec<IpAddr> = Vec::new();
        for _ in 0..n {
            match find_free(s, &|a| got.contains(&a)) {
                Some(a) => got.push(a),
                None => break,
            }
        }
        got.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn top_down_below_gateway_and_service_address() {
        let s = sn(json!({"subnet": {"ip_prefix": "11.1.1.0", "ip_prefix_len": 24}}));
        assert_eq!(run(&s, 3), ["11.1.1.252", "11.1.1.251", "11.1.1.250"]);
        // network, gateway and service address are the three the allocator keeps.
        assert_eq!(s.reserved_units().len(), 3);
        let s = sn(
            json!({"subnet": {"ip_prefix": "11.1.1.0", "ip_prefix_len": 24},
                          "addr_from_start": true}),
        );
        assert_eq!(run(&s, 2), ["11.1.1.3", "11.1.1.4"]);
        let s = sn(json!({"subnet": {"ip_prefix": "fd14::", "ip_prefix_len": 120}}));
        assert_eq!(run(&s, 1), ["fd14::fc"]);
    }

    #[test]
    fn pools_in_order_and_exhaustion() {
        let pools = json!([{"start": "11.1.1.21", "end": "11.1.1.22"},
                           {"start": "11.1.1.31", "end": "11.1.1.32"}]);
        let s = sn(
            json!({"subnet": {"ip_prefix": "11.1.1.0", "ip_prefix_len": 24},
                          "allocation_pools": pools}),
        );
        assert_eq!(
            run(&s, 5),
            ["11.1.1.32", "11.1.1.31", "11.1.1.22", "11.1.1.21"]
        );
        assert_eq!(s.reserved_units().len(), 0);
        let s = sn(
            json!({"subnet": {"ip_prefix": "11.1.1.0", "ip_prefix_len": 24},
                          "allocation_pools": pools, "addr_from_start": true}),
        );
        assert_eq!(run(&s, 2), ["11.1.1.21", "11.1.1.22"]);
    }

    #[test]
    fn alloc_unit_blocks() {
        let s = sn(
            json!({"subnet": {"ip_prefix": "11.1.1.0", "ip_prefix_len": 24},
                          "alloc_unit": 4}),
        );
        assert_eq!(run(&s, 2), ["11.1.1.248", "11.1.1.244"]);
        let s = sn(
            json!({"subnet": {"ip_prefix": "fd14::", "ip_prefix_len": 120},
                          "alloc_unit": 4}),
        );
        assert_eq!(run(&s, 2), ["fd14::f8", "fd14::f4"]);
    }
}
