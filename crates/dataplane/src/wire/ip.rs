//! IP protocol numbers shared by IPv4 and IPv6.

/// The IPv4 "protocol" / IPv6 "next header" field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IpProtocol(pub u8);

impl IpProtocol {
    pub const HOPOPT: Self = Self(0);
    pub const ICMP: Self = Self(1);
    pub const TCP: Self = Self(6);
    pub const UDP: Self = Self(17);
    pub const IPV6_ROUTE: Self = Self(43);
    pub const IPV6_FRAG: Self = Self(44);
    pub const GRE: Self = Self(47);
    pub const AH: Self = Self(51);
    pub const ICMPV6: Self = Self(58);
    pub const IPV6_NONXT: Self = Self(59);
    pub const IPV6_OPTS: Self = Self(60);

    /// Whether this number is an IPv6 extension header that [`crate::wire::Ipv6Packet`] skips.
    pub fn is_ipv6_extension(self) -> bool {
        matches!(self.0, 0 | 43 | 44 | 51 | 60)
    }
}
