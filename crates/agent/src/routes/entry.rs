//! Routes as the agent keeps them: a prefix of a routing instance with its next hops
//! (tunnel endpoint, MPLS label, VNI, accepted encapsulations, workload MAC, origin) and
//! what policy needs of the address behind it (origin network, security-group ids, tags);
//! read from and written to the channel's `Route` with errors naming the field.

use std::net::{IpAddr, Ipv4Addr};

use cirrus_dataplane::wire::MacAddr;
use cirrus_proto::convert::{Prefix, WireError, addr_from_wire, addr_to_wire, mac_from_wire};
use cirrus_proto::v1;

use crate::config::global::Encap;

/// One next hop of a route.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct NextHop {
    /// Tunnel endpoint (IPv4 underlay).
    pub address: Ipv4Addr,
    pub label: u32,
    pub vni: u32,
    /// Accepted encapsulations, in the endpoint's order of preference.
    pub encaps: Vec<Encap>,
    #[serde(serialize_with = "crate::ser::opt_display")]
    pub mac: Option<MacAddr>,
    pub origin: String,
}

impl NextHop {
    /// Identity for de-duplication (the channel sends each (address, label, vni) once).
    pub fn key(&self) -> (Ipv4Addr, u32, u32) {
        (self.address, self.label, self.vni)
    }
}

/// A route of one instance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Route {
    #[serde(serialize_with = "crate::ser::display")]
    pub prefix: Prefix,
    pub nexthops: Vec<NextHop>,
    pub origin_network: String,
    pub security_groups: Vec<u32>,
    pub tags: Vec<u32>,
    pub local_pref: u32,
}

/// Why a route from the channel was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    #[error("route {prefix}: {source}")]
    Wire {
        prefix: String,
        #[source]
        source: WireError,
    },
    #[error("route {prefix}: nexthops[{index}].address: a tunnel endpoint is IPv4, got {addr}")]
    Ipv6Endpoint {
        prefix: String,
        index: usize,
        addr: IpAddr,
    },
    #[error("route: key is missing")]
    NoKey,
}

fn encap_from_wire(e: i32) -> Option<Encap> {
    match v1::Encapsulation::try_from(e).ok()? {
        v1::Encapsulation::MplsOverUdp => Some(Encap::MplsOverUdp),
        v1::Encapsulation::MplsOverGre => Some(Encap::MplsOverGre),
        v1::Encapsulation::Vxlan => Some(Encap::Vxlan),
        v1::Encapsulation::Unspecified => None,
    }
}

pub fn encap_to_wire(e: Encap) -> i32 {
    match e {
        Encap::MplsOverUdp => v1::Encapsulation::MplsOverUdp as i32,
        Encap::MplsOverGre => v1::Encapsulation::MplsOverGre as i32,
        Encap::Vxlan => v1::Encapsulation::Vxlan as i32,
    }
}

impl Route {
    /// Reads a route off the channel.
    pub fn from_wire(r: &v1::Route) -> Result<Route, RouteError> {
        let key = r.key.as_ref().ok_or(RouteError::NoKey)?;
        let prefix = Prefix::from_wire(key).map_err(|source| RouteError::Wire {
            prefix: format!("{:?}/{}", key.prefix, key.prefix_len),
            source,
        })?;
        let name = || prefix.to_string();
        let mut nexthops = Vec::with_capacity(r.nexthops.len());
        for (index, n) in r.nexthops.iter().enumerate() {
            let address = match addr_from_wire("nexthops.address", &n.address) {
                Ok(IpAddr::V4(a)) => a,
                Ok(addr) => {
                    return Err(RouteError::Ipv6Endpoint {
                        prefix: name(),
                        index,
                        addr,
                    });
                }
                Err(source) => {
                    return Err(RouteError::Wire {
                        prefix: name(),
                        source,
                    });
                }
            };
            let mac = mac_from_wire("nexthops.mac", &n.mac)
                .map_err(|source| RouteError::Wire {
                    prefix: name(),
                    source,
                })?
                .map(MacAddr);
            nexthops.push(NextHop {
                address,
                label: n.label,
                vni: n.vni,
                encaps: n
                    .encapsulations
                    .iter()
                    .filter_map(|e| encap_from_wire(*e))
                    .collect(),
                mac,
                origin: n.origin.clone(),
            });
        }
        nexthops.sort();
        nexthops.dedup_by(|a, b| a.key() == b.key());
        Ok(Route {
            prefix,
            nexthops,
            origin_network: r.origin_network.clone(),
            security_groups: r.security_groups.clone(),
            tags: r.tags.clone(),
            local_pref: r.local_pref,
        })
    }

    pub fn to_wire(&self) -> v1::Route {
        v1::Route {
            key: Some(self.prefix.to_wire()),
            nexthops: self
                .nexthops
                .iter()
                .map(|n| v1::Nexthop {
                    address: addr_to_wire(IpAddr::V4(n.address)),
                    label: n.label,
                    vni: n.vni,
                    encapsulations: n.encaps.iter().map(|e| encap_to_wire(*e)).collect(),
                    mac: n.mac.map(|m| m.0.to_vec()).unwrap_or_default(),
                    origin: n.origin.clone(),
                })
                .collect(),
            origin_network: self.origin_network.clone(),
            security_groups: self.security_groups.clone(),
            tags: self.tags.clone(),
            local_pref: self.local_pref,
            stale: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_it_cannot_use() {
        let r = Route {
            prefix: Prefix::host("10.1.0.3".parse().unwrap()),
            nexthops: vec![NextHop {
                address: "198.18.0.11".parse().unwrap(),
                label: 17,
                vni: 5,
                encaps: vec![Encap::MplsOverUdp, Encap::Vxlan],
                mac: Some(MacAddr([2, 0, 0, 0, 0, 1])),
                origin: "c1".into(),
            }],
            origin_network: "d:p:red".into(),
            security_groups: vec![8000001],
            tags: vec![0x10001],
            local_pref: 100,
        };
        assert_eq!(Route::from_wire(&r.to_wire()).unwrap(), r);
        let mut w = r.to_wire();
        w.nexthops[0].address = addr_to_wire("fd00::1".parse().unwrap());
        let e = Route::from_wire(&w).unwrap_err().to_string();
        assert!(
            e.contains("10.1.0.3/32") && e.contains("nexthops[0].address"),
            "{e}"
        );
        let mut w = r.to_wire();
        w.nexthops[0].mac = vec![1, 2];
        assert!(
            Route::from_wire(&w)
                .unwrap_err()
                .to_string()
                .contains("nexthops.mac")
        );
        // Duplicate next hops collapse.
        let mut w = r.to_wire();
        w.nexthops.push(w.nexthops[0].clone());
        assert_eq!(Route::from_wire(&w).unwrap().nexthops.len(), 1);
    }
}
