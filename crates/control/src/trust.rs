//! What a vrouter may publish: the addresses the config places on it (instance IPs, floating
//! IPs, alias IPs of its placed VMIs, and anything inside their allowed-address-pair
//! prefixes), each in the routing instance it belongs to, with the facts the controller
//! attaches to the route itself rather than trusting the agent: origin network,
//! security-group ids, tag ids.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use cirrus_api::index::Index;
use cirrus_api::object::Obj;
use cirrus_proto::convert::Prefix;
use serde_json::Value;

use crate::route_server::RouteMeta;

/// A vrouter's allowed routes.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// instance -> address -> metadata.
    exact: HashMap<Arc<str>, HashMap<IpAddr, Arc<RouteMeta>>>,
    /// Allowed-address-pair prefixes per instance.
    pairs: Vec<(Arc<str>, Prefix, Arc<RouteMeta>)>,
}

/// The primary routing instance of a virtual network: `<vn fq_name>:<vn name>`.
pub fn primary_instance(vn: &Obj) -> String {
    format!("{}:{}", vn.fq_str, vn.name())
}

fn parse_u32(v: &Value) -> Option<u32> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => match s.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        },
        _ => None,
    }
}

impl Trust {
    /// Why `prefix` may not be published into `instance`, or the metadata it gets.
    pub fn check(&self, instance: &str, prefix: Prefix) -> Result<Arc<RouteMeta>, String> {
        let host = prefix.len == if prefix.addr.is_ipv4() { 32 } else { 128 };
        if host && let Some(m) = self.exact.get(instance).and_then(|m| m.get(&prefix.addr)) {
            return Ok(m.clone());
        }
        for (inst, p, m) in &self.pairs {
            if &**inst == instance && contains(*p, prefix) {
                return Ok(m.clone());
            }
        }
        Err(format!(
            "the config places no port with {prefix} in {instance} on this vrouter (instance IP, floating IP, alias IP or allowed address pair of a port bound to it)"
        ))
    }

    pub fn len(&self) -> usize {
        self.exact.values().map(HashMap::len).sum::<usize>() + self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The trust of the VMIs `vmis` (uuids).
    pub fn compute<'a>(index: &Index, vmis: impl Iterator<Item = &'a String>) -> Trust {
        let mut t = Trust::default();
        for u in vmis {
            let Some(vmi) = index.get_typed("virtual-machine-interface", u) else {
                continue;
            };
            let Some(vn) = vmi
                .refs()
                .find(|r| r.to_type == "virtual-network")
                .and_then(|r| index.get_typed("virtual-network", r.uuid))
            else {
                continue;
            };
            let meta = |vn: &Obj| {
                Arc::new(RouteMeta {
                    origin_network: vn.fq_str.as_str().into(),
                    security_groups: vmi
                        .refs()
                        .filter(|r| r.to_type == "security-group")
                        .filter_map(|r| index.get(r.uuid))
                        .filter_map(|sg| sg.body.get("security_group_id").and_then(parse_u32))
                        .collect(),
                    tags: vmi
                        .refs()
                        .filter(|r| r.to_type == "tag")
                        .filter_map(|r| index.get(r.uuid))
                        .filter_map(|tag| tag.body.get("tag_id").and_then(parse_u32))
                        .collect(),
                })
            };
            let own = meta(vn);
            let inst: Arc<str> = primary_instance(vn).into();
            for b in index.back_refs(&vmi.uuid) {
                let (field, in_vn) = match b.type_name() {
                    "instance-ip" => ("instance_ip_address", None),
                    // Floating and alias IPs live in their pool's network.
                    "floating-ip" => ("floating_ip_address", pool_network(index, b)),
                    "alias-ip" => ("alias_ip_address", pool_network(index, b)),
                    _ => continue,
                };
                let Some(addr) = b
                    .body
                    .get(field)
                    .and_then(Value::as_str)
                    .and_then(|a| a.parse().ok())
                else {
                    continue;
                };
                match in_vn {
                    None => {
                        t.exact
                            .entry(inst.clone())
                            .or_default()
                            .insert(addr, own.clone());
                    }
                    Some(fvn) => {
                        t.exact
                            .entry(primary_instance(fvn).into())
                            .or_default()
                            .insert(addr, meta(fvn));
                    }
                }
            }
            for pair in vmi
                .body
                .get("virtual_machine_interface_allowed_address_pairs")
                .and_then(|a| a.get("allowed_address_pair"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let ip = pair.get("ip");
                let addr = ip
                    .and_then(|i| i.get("ip_prefix"))
                    .and_then(Value::as_str)
                    .and_then(|a| a.parse::<IpAddr>().ok());
                let len = ip
                    .and_then(|i| i.get("ip_prefix_len"))
                    .and_then(Value::as_u64);
                if let Some(addr) = addr {
                    let max = if addr.is_ipv4() { 32 } else { 128 };
                    let len = len.map_or(max, |l| l.min(u64::from(max)) as u8);
                    if let Ok(p) = Prefix::new(mask(addr, len), len) {
                        t.pairs.push((inst.clone(), p, own.clone()));
                    }
                }
            }
        }
        t
    }
}

/// A floating or alias IP's network: its pool's parent.
fn pool_network<'a>(index: &'a Index, ip: &Obj) -> Option<&'a Arc<Obj>> {
    let pool = index.get(&ip.parent.as_ref()?.uuid)?;
    index.get_typed("virtual-network", &pool.parent.as_ref()?.uuid)
}

fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len))
            };
            IpAddr::from((a.to_bits() & m).to_be_bytes())
        }
        IpAddr::V6(a) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len))
            };
            IpAddr::from((a.to_bits() & m).to_be_bytes())
        }
    }
}

/// Whether `inner` lies inside `outer`.
pub fn contains(outer: Prefix, inner: Prefix) -> bool {
    outer.addr.is_ipv4() == inner.addr.is_ipv4()
        && inner.len >= outer.len
        && mask(inner.addr, outer.len) == outer.addr
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Prefix {
        let (a, l) = s.split_once('/').unwrap();
        Prefix::new(a.parse().unwrap(), l.parse().unwrap()).unwrap()
    }

    #[test]
    fn prefix_containment() {
        assert!(contains(p("10.1.0.0/22"), p("10.1.3.7/32")));
        assert!(!contains(p("10.1.0.0/22"), p("10.1.4.0/32")));
        assert!(!contains(p("10.1.0.0/22"), p("10.0.0.0/16")));
        assert!(contains(p("0.0.0.0/0"), p("1.2.3.4/32")));
        assert!(!contains(p("10.1.0.0/22"), p("fd00::/128")));
        assert!(contains(p("fd00::/64"), p("fd00::5/128")));
        assert_eq!(parse_u32(&Value::from("0x00ff0002")), Some(0x00ff_0002));
        assert_eq!(parse_u32(&Value::from(8000001)), Some(8_000_001));
    }
}
