//! IPv6 auto-address subnets (`ipv6_address_mode` `slaac` or `dhcpv6-stateless`), as Neutron
//! treats them: a port's address on such a subnet is the subnet's prefix with the modified
//! EUI-64 interface id of the port's MAC (RFC 4291 appendix A), every port gets one on each
//! such subnet of its network, and deleting the subnet takes those addresses from the ports.

use std::net::{IpAddr, Ipv6Addr};

use cirrus_api::object::Obj;
use ipnet::IpNet;
use serde_json::{Map, Value};

use crate::vnc;

/// Whether subnet `id` of `net` is an auto-address subnet (its mode in the network's
/// annotations, where `subnet.rs` keeps it).
pub fn auto_address(net: &Obj, id: &str) -> bool {
    matches!(
        vnc::kv(
            net,
            "annotations",
            &format!("neutron:{id}:ipv6_address_mode")
        )
        .as_deref(),
        Some("slaac" | "dhcpv6-stateless")
    )
}

/// The address of MAC `mac` on `cidr` (an IPv6 prefix of at most 64 bits), None otherwise.
pub fn eui64(cidr: IpNet, mac: &str) -> Option<IpAddr> {
    let IpNet::V6(net) = cidr else { return None };
    if net.prefix_len() > 64 {
        return None;
    }
    let b: Vec<u8> = mac
        .split(':')
        .map(|p| u8::from_str_radix(p, 16))
        .collect::<Result<_, _>>()
        .ok()?;
    let [m0, m1, m2, m3, m4, m5] = b[..] else {
        return None;
    };
    let iid = u64::from_be_bytes([m0 ^ 0x02, m1, m2, 0xff, 0xfe, m3, m4, m5]);
    let prefix = u128::from(net.network()) & !(u64::MAX as u128);
    Some(IpAddr::V6(Ipv6Addr::from(prefix | iid as u128)))
}

/// The address a port with MAC `mac` gets on subnet entry `sn` (an `ipam_subnets` entry) of
/// `net`, if that is an auto-address subnet.
pub fn address(net: &Obj, sn: &Map<String, Value>, mac: &str) -> Option<IpAddr> {
    let id = sn.get("subnet_uuid")?.as_str()?;
    if !auto_address(net, id) {
        return None;
    }
    let p = sn.get("subnet")?;
    let cidr: IpNet = format!(
        "{}/{}",
        p.get("ip_prefix")?.as_str()?,
        p.get("ip_prefix_len")?.as_u64()?
    )
    .parse()
    .ok()?;
    eui64(cidr, mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eui64_is_netaddrs() {
        // netaddr/oslo's get_ipv6_addr_by_EUI64('2001:db8::/64', 'fa:16:3e:59:0e:28')
        let a = eui64("2001:db8::/64".parse().unwrap(), "fa:16:3e:59:0e:28").unwrap();
        assert_eq!(a.to_string(), "2001:db8::f816:3eff:fe59:e28");
        let a = eui64("2001:db8:0:1::/64".parse().unwrap(), "00:16:3e:25:81:7a").unwrap();
        assert_eq!(a.to_string(), "2001:db8:0:1:216:3eff:fe25:817a");
        assert!(eui64("10.0.0.0/24".parse().unwrap(), "fa:16:3e:59:0e:28").is_none());
        assert!(eui64("2001:db8::/120".parse().unwrap(), "fa:16:3e:59:0e:28").is_none());
    }
}
