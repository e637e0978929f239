//! What the compute node's fabric interface is: its MAC (`/sys/class/net`), its IPv4
//! address and prefix (`ip -j addr`: the node's underlay address, this vrouter's tunnel
//! endpoint), its default gateway (`/proc/net/route`), and the neighbours the kernel
//! already resolved on it (`/proc/net/arp`) to start from.

use std::net::Ipv4Addr;
use std::process::Command;

use cirrus_dataplane::wire::MacAddr;

use super::neighbours::FabricAddr;
use crate::config::parse_mac;

/// Why the fabric interface could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("fabric interface {0}: no such interface (check --fabric-interface)")]
    NoInterface(String),
    #[error("fabric interface {0}: no IPv4 address (give it the node's underlay address)")]
    NoAddress(String),
    #[error("fabric interface {name}: {why}")]
    Other { name: String, why: String },
}

/// The interface's MAC.
pub fn mac(name: &str) -> Result<MacAddr, LinkError> {
    let s = std::fs::read_to_string(format!("/sys/class/net/{name}/address"))
        .map_err(|_| LinkError::NoInterface(name.into()))?;
    parse_mac(&s).ok_or_else(|| LinkError::Other {
        name: name.into(),
        why: format!("unreadable MAC {s:?}"),
    })
}

/// The interface's MTU.
pub fn mtu(name: &str) -> Result<usize, LinkError> {
    std::fs::read_to_string(format!("/sys/class/net/{name}/mtu"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| LinkError::NoInterface(name.into()))
}

/// The interface's first global IPv4 address and prefix length.
pub fn ipv4(name: &str) -> Result<(Ipv4Addr, u8), LinkError> {
    let out = Command::new("ip")
        .args(["-j", "-4", "addr", "show", "dev", name])
        .output()
        .map_err(|e| LinkError::Other {
            name: name.into(),
            why: format!("running ip: {e}"),
        })?;
    if !out.status.success() {
        return Err(LinkError::NoInterface(name.into()));
    }
    parse_ip_json(&out.stdout).ok_or_else(|| LinkError::NoAddress(name.into()))
}

fn parse_ip_json(b: &[u8]) -> Option<(Ipv4Addr, u8)> {
    let v: serde_json::Value = serde_json::from_slice(b).ok()?;
    v.as_array()?
        .iter()
        .flat_map(|l| {
            l.get("addr_info")
                .and_then(|a| a.as_array())
                .into_iter()
                .flatten()
        })
        .filter(|a| a.get("family").and_then(|f| f.as_str()) == Some("inet"))
        .filter(|a| a.get("scope").and_then(|s| s.as_str()) != Some("host"))
        .find_map(|a| {
            let ip = a.get("local")?.as_str()?.parse().ok()?;
            let len = u8::try_from(a.get("prefixlen")?.as_u64()?).ok()?;
            Some((ip, len))
        })
}

/// The default gateway through `name`, from `/proc/net/route` (hex, host byte order).
pub fn gateway(name: &str) -> Option<Ipv4Addr> {
    parse_route(&std::fs::read_to_string("/proc/net/route").ok()?, name)
}

fn parse_route(table: &str, name: &str) -> Option<Ipv4Addr> {
    table.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 3 || f[0] != name || f[1] != "00000000" {
            return None;
        }
        let g = u32::from_str_radix(f[2], 16).ok()?;
        (g != 0).then(|| Ipv4Addr::from(g.swap_bytes()))
    })
}

/// Neighbours the kernel resolved on `name` (`/proc/net/arp`, complete entries).
pub fn kernel_neighbours(name: &str) -> Vec<(Ipv4Addr, MacAddr)> {
    std::fs::read_to_string("/proc/net/arp")
        .map(|t| parse_arp(&t, name))
        .unwrap_or_default()
}

fn parse_arp(table: &str, name: &str) -> Vec<(Ipv4Addr, MacAddr)> {
    table
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // IP, HW type, Flags (0x2 complete), HW address, Mask, Device.
            if f.len() < 6 || f[5] != name || f[2] != "0x2" {
                return None;
            }
            Some((f[0].parse().ok()?, parse_mac(f[3])?))
        })
        .collect()
}

/// Everything at once.
pub fn fabric_addr(name: &str) -> Result<FabricAddr, LinkError> {
    let mac = mac(name)?;
    let (ip, prefix_len) = ipv4(name)?;
    Ok(FabricAddr {
        ip,
        prefix_len,
        mac,
        gateway: gateway(name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_kernel_s_tables() {
        let j = br#"[{"ifindex":2,"ifname":"eth0","addr_info":[{"family":"inet","local":"198.18.0.11","prefixlen":24,"scope":"global"}]}]"#;
        assert_eq!(parse_ip_json(j), Some((Ipv4Addr::new(198, 18, 0, 11), 24)));
        assert_eq!(parse_ip_json(b"[]"), None);
        let route = "Iface\tDestination\tGateway \tFlags\n\
                     eth0\t0012C6\t00000000\t0001\n\
                     eth0\t00000000\t0100C6C6\t0003\n";
        assert_eq!(
            parse_route(route, "eth0"),
            Some(Ipv4Addr::new(198, 198, 0, 1))
        );
        assert_eq!(parse_route(route, "eth1"), None);
        let arp = "IP address       HW type     Flags       HW address            Mask     Device\n\
                   198.18.0.12      0x1         0x2         02:fa:00:00:00:0c     *        eth0\n\
                   198.18.0.13      0x1         0x0         00:00:00:00:00:00     *        eth0\n\
                   10.0.0.1         0x1         0x2         02:aa:00:00:00:01     *        eth1\n";
        assert_eq!(
            parse_arp(arp, "eth0"),
            vec![(
                Ipv4Addr::new(198, 18, 0, 12),
                MacAddr([2, 0xfa, 0, 0, 0, 12])
            )]
        );
    }
}
