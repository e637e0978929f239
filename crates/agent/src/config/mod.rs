//! The config slice the controller sends ([`store::ConfigStore`]: objects by uuid with their
//! children and back refs derived) and typed views of what the agent programs and
//! evaluates: ports, networks and their subnets, security groups, ACLs, floating IPs,
//! firewall policies, the global vrouter settings.

pub mod firewall;
pub mod global;
pub mod network;
pub mod object;
pub mod port;
pub mod schema;
pub mod security;
pub mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use object::Object;
pub use store::ConfigStore;

use std::net::IpAddr;

use cirrus_dataplane::wire::MacAddr;
use cirrus_proto::convert::Prefix;

/// Why a config object could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{object}: {why}")]
    Object { object: String, why: String },
    #[error("{object}: property {property}: {why}")]
    Property {
        object: String,
        property: String,
        why: String,
    },
    #[error("{kind} {uuid} is not in the config slice")]
    Missing { kind: String, uuid: String },
}

/// `02:00:00:00:00:01` (or with `-`) as a MAC.
pub fn parse_mac(s: &str) -> Option<MacAddr> {
    let mut m = [0u8; 6];
    let mut parts = s.trim().split([':', '-']);
    for b in m.iter_mut() {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(MacAddr(m))
}

/// A `SubnetType` as a prefix, host bits cleared (as Contrail's agent does).
pub fn subnet_prefix(s: &schema::SubnetType) -> Option<Prefix> {
    let addr: IpAddr = s.ip_prefix.as_deref()?.trim().parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = u8::try_from(s.ip_prefix_len.unwrap_or(max)).ok()?;
    prefix_masked(addr, len)
}

/// `addr/len` with host bits cleared; `None` when `len` is too long.
pub fn prefix_masked(addr: IpAddr, len: u8) -> Option<Prefix> {
    let masked = match addr {
        IpAddr::V4(a) => {
            if len > 32 {
                return None;
            }
            let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            IpAddr::V4((a.to_bits() & m).into())
        }
        IpAddr::V6(a) => {
            if len > 128 {
                return None;
            }
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            IpAddr::V6((a.to_bits() & m).into())
        }
    };
    Prefix::new(masked, len).ok()
}

/// Whether `addr` lies in `p`.
pub fn prefix_contains(p: &Prefix, addr: IpAddr) -> bool {
    prefix_masked(addr, p.len)
        .is_some_and(|m| m.addr == p.addr && addr.is_ipv4() == p.addr.is_ipv4())
}

/// `"10.0.0.0/24"` as a prefix (host bits cleared).
pub fn parse_prefix(s: &str) -> Option<Prefix> {
    let (a, l) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let addr: IpAddr = a.trim().parse().ok()?;
    let len = match l {
        Some(l) => l.trim().parse().ok()?,
        None => {
            if addr.is_ipv4() {
                32
            } else {
                128
            }
        }
    };
    prefix_masked(addr, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_and_prefixes_parse_leniently_and_check_strictly() {
        assert_eq!(
            parse_mac("02:00:0a:0B:00:ff"),
            Some(MacAddr([2, 0, 10, 11, 0, 255]))
        );
        assert_eq!(
            parse_mac("02-00-0a-0b-00-ff"),
            Some(MacAddr([2, 0, 10, 11, 0, 255]))
        );
        assert_eq!(parse_mac("02:00:0a:0b:00"), None);
        assert_eq!(parse_mac("02:00:0a:0b:00:ff:01"), None);
        let p = subnet_prefix(&schema::SubnetType {
            ip_prefix: Some("10.1.2.3".into()),
            ip_prefix_len: Some(24),
        })
        .unwrap();
        assert_eq!(p.to_string(), "10.1.2.0/24");
        assert!(prefix_contains(&p, "10.1.2.200".parse().unwrap()));
        assert!(!prefix_contains(&p, "10.1.3.1".parse().unwrap()));
        assert!(!prefix_contains(&p, "::1".parse().unwrap()));
        assert_eq!(parse_prefix("fd00::1/64").unwrap().to_string(), "fd00::/64");
        assert_eq!(parse_prefix("10.0.0.1").unwrap().len, 32);
        assert!(parse_prefix("10.0.0.1/33").is_none());
        let any = parse_prefix("0.0.0.0/0").unwrap();
        assert!(prefix_contains(&any, "192.0.2.1".parse().unwrap()));
    }
}
