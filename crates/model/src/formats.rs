//! Checks for the string formats the schema names: IP and MAC addresses,
//! BGP communities, service interface types, and subnets.

use std::net::IpAddr;

/// True for an IPv4 or IPv6 address (no prefix length).
pub fn is_valid_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

/// True for six hex octets separated by `:` or `-` (`02:aa:bb:cc:dd:ee`).
pub fn is_valid_mac(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 17 {
        return false;
    }
    let sep = b[2];
    if sep != b':' && sep != b'-' {
        return false;
    }
    b.iter().enumerate().all(|(i, &c)| {
        if i % 3 == 2 {
            c == sep
        } else {
            c.is_ascii_hexdigit()
        }
    })
}

/// Well-known BGP community names Contrail accepts.
pub const WELL_KNOWN_COMMUNITIES: [&str; 5] = [
    "no-export",
    "accept-own",
    "no-advertise",
    "no-export-subconfed",
    "no-reoriginate",
];

/// Checks a BGP community: a well-known name or `ASN:value` with ASN at most
/// 65535. Returns what is wrong.
pub fn check_community(s: &str) -> Result<(), String> {
    if WELL_KNOWN_COMMUNITIES.contains(&s) {
        return Ok(());
    }
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit());
    match s.split_once(':') {
        Some((asn, val)) if digits(asn) && digits(val) => match asn.parse::<u64>() {
            Ok(n) if n <= 65535 => Ok(()),
            _ => Err(format!("community `{s}`: ASN must not exceed 65535")),
        },
        _ => Err(format!(
            "invalid community `{s}`: expected number:number or one of {}",
            WELL_KNOWN_COMMUNITIES.join(", ")
        )),
    }
}

/// Checks a service interface type: `management`, `left`, `right` or
/// `other...` (as Contrail, which matches the `other` prefix).
pub fn check_service_interface(s: &str) -> Result<(), String> {
    if matches!(s, "management" | "left" | "right") || s.starts_with("other") {
        Ok(())
    } else {
        Err(format!(
            "invalid service interface type `{s}`: expected management, left, right or other[0-9]*"
        ))
    }
}

/// Checks an address and prefix length pair (SubnetType): the address must be
/// IPv4 or IPv6 and the length fit its family.
pub fn check_subnet(prefix: &str, len: i64) -> Result<(), String> {
    let max = match prefix.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => 32,
        Ok(IpAddr::V6(_)) => 128,
        Err(_) => return Err(format!("`{prefix}` is not an IP address")),
    };
    if (0..=max).contains(&len) {
        Ok(())
    } else {
        Err(format!(
            "prefix length {len} is out of range 0..{max} for `{prefix}`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips() {
        assert!(is_valid_ip("10.0.0.1"));
        assert!(is_valid_ip("fd00::1"));
        assert!(!is_valid_ip("10.0.0.1/24"));
        assert!(!is_valid_ip(""));
    }

    #[test]
    fn macs() {
        assert!(is_valid_mac("02:aa:BB:cc:dd:ee"));
        assert!(is_valid_mac("02-aa-bb-cc-dd-ee"));
        assert!(!is_valid_mac("02:aa-bb:cc:dd:ee"));
        assert!(!is_valid_mac("02:aa:bb:cc:dd"));
        assert!(!is_valid_mac("02:aa:bb:cc:dd:eg"));
    }

    #[test]
    fn communities() {
        assert!(check_community("no-export").is_ok());
        assert!(check_community("64512:100").is_ok());
        assert!(check_community("65536:1").is_err());
        assert!(check_community("a:b").is_err());
        assert!(check_community("64512").is_err());
    }

    #[test]
    fn service_interfaces() {
        assert!(check_service_interface("left").is_ok());
        assert!(check_service_interface("other2").is_ok());
        assert!(check_service_interface("middle").is_err());
    }

    #[test]
    fn subnets() {
        assert!(check_subnet("10.0.0.0", 24).is_ok());
        assert!(check_subnet("fd00::", 64).is_ok());
        assert!(check_subnet("10.0.0.0", 33).is_err());
        assert!(check_subnet("10.0.0.0", -1).is_err());
        assert!(check_subnet("ten", 8).is_err());
    }
}
