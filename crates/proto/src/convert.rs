//! Conversions both ends of the channel share: route keys and addresses between their wire
//! form (raw octets) and std types, with errors that name the field.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::v1::RouteKey;

/// Why a wire value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("{field}: an address is 4 or 16 octets, got {len}")]
    AddressLength { field: &'static str, len: usize },
    #[error("{field}: prefix length {len} is longer than the address ({max})")]
    PrefixLength {
        field: &'static str,
        len: u32,
        max: u32,
    },
    #[error("{field}: prefix {addr}/{len} has host bits set")]
    HostBits {
        field: &'static str,
        addr: IpAddr,
        len: u32,
    },
    #[error("{field}: a MAC address is 6 octets, got {len}")]
    MacLength { field: &'static str, len: usize },
}

/// Reads an address of 4 or 16 octets.
pub fn addr_from_wire(field: &'static str, b: &[u8]) -> Result<IpAddr, WireError> {
    match b.len() {
        4 => Ok(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            Ok(IpAddr::V6(Ipv6Addr::from(a)))
        }
        len => Err(WireError::AddressLength { field, len }),
    }
}

/// An address as octets.
pub fn addr_to_wire(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// Reads a MAC of 6 octets; an empty field is `None`.
pub fn mac_from_wire(field: &'static str, b: &[u8]) -> Result<Option<[u8; 6]>, WireError> {
    match b.len() {
        0 => Ok(None),
        6 => {
            let mut m = [0u8; 6];
            m.copy_from_slice(b);
            Ok(Some(m))
        }
        len => Err(WireError::MacLength { field, len }),
    }
}

/// A checked prefix: the address with no host bits set and a length that fits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    pub fn new(addr: IpAddr, len: u8) -> Result<Prefix, WireError> {
        let field = "prefix";
        let max: u32 = if addr.is_ipv4() { 32 } else { 128 };
        if u32::from(len) > max {
            return Err(WireError::PrefixLength {
                field,
                len: len.into(),
                max,
            });
        }
        let host = match addr {
            IpAddr::V4(a) => u128::from(a.to_bits()) & host_mask(len, 32),
            IpAddr::V6(a) => a.to_bits() & host_mask(len, 128),
        };
        if host != 0 {
            return Err(WireError::HostBits {
                field,
                addr,
                len: len.into(),
            });
        }
        Ok(Prefix { addr, len })
    }

    /// A host route (/32 or /128).
    pub fn host(addr: IpAddr) -> Prefix {
        let len = if addr.is_ipv4() { 32 } else { 128 };
        Prefix { addr, len }
    }

    pub fn from_wire(k: &RouteKey) -> Result<Prefix, WireError> {
        let addr = addr_from_wire("key.prefix", &k.prefix)?;
        let len = u8::try_from(k.prefix_len).unwrap_or(u8::MAX);
        Prefix::new(addr, len).map_err(|e| match e {
            WireError::PrefixLength { len, max, .. } => WireError::PrefixLength {
                field: "key.prefix_len",
                len: k.prefix_len.max(len),
                max,
            },
            WireError::HostBits { addr, len, .. } => WireError::HostBits {
                field: "key.prefix",
                addr,
                len,
            },
            other => other,
        })
    }

    pub fn to_wire(&self) -> RouteKey {
        RouteKey {
            prefix: addr_to_wire(self.addr),
            prefix_len: self.len.into(),
        }
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// The host bits of a `bits`-wide address under a prefix of `len` (`len <= bits`).
fn host_mask(len: u8, bits: u32) -> u128 {
    match bits - u32::from(len) {
        0 => 0,
        128 => u128::MAX,
        h => (1u128 << h) - 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_keys_round_trip_and_refuse_bad_ones() {
        let p = Prefix::new("10.1.2.0".parse().unwrap(), 24).unwrap();
        assert_eq!(Prefix::from_wire(&p.to_wire()).unwrap(), p);
        assert_eq!(p.to_string(), "10.1.2.0/24");
        let v6 = Prefix::host("fd00::3".parse().unwrap());
        assert_eq!(Prefix::from_wire(&v6.to_wire()).unwrap(), v6);
        assert_eq!(Prefix::new("0.0.0.0".parse().unwrap(), 0).unwrap().len, 0);

        let host_bits = RouteKey {
            prefix: vec![10, 1, 2, 3],
            prefix_len: 24,
        };
        assert!(matches!(
            Prefix::from_wire(&host_bits),
            Err(WireError::HostBits {
                field: "key.prefix",
                ..
            })
        ));
        let too_long = RouteKey {
            prefix: vec![10, 1, 2, 3],
            prefix_len: 33,
        };
        assert!(matches!(
            Prefix::from_wire(&too_long),
            Err(WireError::PrefixLength {
                field: "key.prefix_len",
                len: 33,
                max: 32
            })
        ));
        let short = RouteKey {
            prefix: vec![10, 1, 2],
            prefix_len: 24,
        };
        assert_eq!(
            Prefix::from_wire(&short),
            Err(WireError::AddressLength {
                field: "key.prefix",
                len: 3
            })
        );
        assert!(mac_from_wire("mac", &[1, 2, 3]).is_err());
        assert_eq!(mac_from_wire("mac", &[]).unwrap(), None);
    }
}
