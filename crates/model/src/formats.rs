//! Checks for the string formats the schema names: IP and MAC addresses,
//! BGP communities, service interface types, and subnets.

use std::borrow::Cow;
use std::net::IpAddr;

/// A user string as quoted in an error: at most 64 characters.
pub(crate) fn shown(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(64) {
        Some((cut, _)) => Cow::Owned(format!("{}...", &s[..cut])),
        None => Cow::Borrowed(s),
    }
}

/// True for an IPv4 or IPv6 address (no prefix length).
pub fn is_valid_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

/// The six octets of a MAC address in any of the spellings Contrail
/// (netaddr) accepts: `02:aa:bb:cc:dd:ee`, `02-AA-BB-CC-DD-EE`, one-digit
/// octets (`2:a:b:c:d:e`), `02aa.bbcc.ddee`, `02aa:bbcc:ddee`, `02aabbccddee`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let hex_groups = |parts: &[&str], width: usize| -> Option<Vec<u8>> {
        let mut bytes = Vec::with_capacity(6);
        for p in parts {
            if p.is_empty() || p.len() > width || !p.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            let v = u16::from_str_radix(p, 16).ok()?;
            if width == 2 {
                bytes.push(u8::try_from(v).ok()?);
            } else {
                bytes.extend_from_slice(&v.to_be_bytes());
            }
        }
        Some(bytes)
    };
    let bytes = if s.len() == 12 && s.bytes().all(|c| c.is_ascii_hexdigit()) {
        let mut b = Vec::with_capacity(6);
        for i in 0..6 {
            b.push(u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?);
        }
        b
    } else {
        let parts: Vec<&str> = s.split([':', '-', '.']).collect();
        let sep_count = |c: char| s.matches(c).count();
        match parts.len() {
            // One separator kind only.
            6 if sep_count('.') == 0 && (sep_count(':') == 5 || sep_count('-') == 5) => {
                hex_groups(&parts, 2)?
            }
            3 if (sep_count('.') == 2 || sep_count(':') == 2)
                && parts.iter().all(|p| p.len() == 4) =>
            {
                hex_groups(&parts, 4)?
            }
            _ => return None,
        }
    };
    bytes.try_into().ok()
}

/// True for a MAC address in a spelling [`parse_mac`] accepts.
pub fn is_valid_mac(s: &str) -> bool {
    parse_mac(s).is_some()
}

/// The canonical spelling Contrail stores: lowercase, colon-separated,
/// two digits an octet.
pub fn canonical_mac(s: &str) -> Option<String> {
    let b = parse_mac(s)?;
    Some(format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[0], b[1], b[2], b[3], b[4], b[5]
    ))
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
    // Contrail's `_validate_communityattribute_type`: `number:number`, either side possibly a
    // wildcard (`*`, `.*`) for matching, as its pattern `(\.?\*?|[0-9]+):(\.?\*?|[0-9]+)` allows.
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit());
    let part = |p: &str| digits(p) || matches!(p, "*" | ".*");
    match s.split_once(':') {
        Some((asn, val)) if part(asn) && part(val) => match asn.parse::<u64>() {
            Err(_) => Ok(()),
            Ok(n) if n <= 65535 => Ok(()),
            _ => Err(format!(
                "community `{}`: ASN must not exceed 65535",
                shown(s)
            )),
        },
        _ => Err(format!(
            "invalid community `{}`: expected number:number or one of {}",
            shown(s),
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
            "invalid service interface type `{}`: expected management, left, right or other[0-9]*",
            shown(s)
        ))
    }
}

/// Checks an address and prefix length pair (SubnetType): the address must be
/// IPv4 or IPv6 and the length fit its family.
pub fn check_subnet(prefix: &str, len: i64) -> Result<(), String> {
    let max = match prefix.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => 32,
        Ok(IpAddr::V6(_)) => 128,
        Err(_) => return Err(format!("`{}` is not an IP address", shown(prefix))),
    };
    if (0..=max).contains(&len) {
        Ok(())
    } else {
        Err(format!(
            "prefix length {len} is out of range 0..{max} for `{}`",
            shown(prefix)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_strings_are_cut_in_messages() {
        let long = "é".repeat(100);
        assert_eq!(shown(&long).chars().count(), 67);
        assert_eq!(shown("short"), "short");
        assert!(check_community(&long).unwrap_err().chars().count() < 200);
    }

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
        assert!(is_valid_mac("2:a:b:c:d:e"));
        assert!(is_valid_mac("02aa.bbcc.ddee"));
        assert!(is_valid_mac("02aa:bbcc:ddee"));
        assert!(is_valid_mac("02AABBCCDDEE"));
        assert!(!is_valid_mac("02:aa-bb:cc:dd:ee"));
        assert!(!is_valid_mac("02:aa:bb:cc:dd"));
        assert!(!is_valid_mac("02:aa:bb:cc:dd:eg"));
        assert!(!is_valid_mac("02:aa:bb:cc:dd:eee"));
        assert!(!is_valid_mac("02aa.bbcc:ddee"));
        assert!(!is_valid_mac(""));
        assert!(!is_valid_mac("é2aabbccddee"));
        assert_eq!(
            canonical_mac("2-A-b-C-d-E").as_deref(),
            Some("02:0a:0b:0c:0d:0e")
        );
        assert_eq!(
            canonical_mac("02AA.BBCC.DDEE").as_deref(),
            Some("02:aa:bb:cc:dd:ee")
        );
    }

    #[test]
    fn communities() {
        assert!(check_community("no-export").is_ok());
        assert!(check_community("64512:100").is_ok());
        assert!(check_community("65536:1").is_err());
        assert!(check_community("a:b").is_err());
        assert!(check_community("64512").is_err());
        for wildcard in [
            "*:*", "*:.*", ".*:*", "123:*", "123:.*", "*:123", ".*:123", ".*:.*",
        ] {
            assert!(check_community(wildcard).is_ok(), "{wildcard}");
        }
        assert!(check_community("**:1").is_err());
        assert!(check_community("65536:*").is_err());
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
