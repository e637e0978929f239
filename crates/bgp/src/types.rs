//! Route keys and small value types shared by the codec, the RIB and the API:
//! address families, route distinguishers, MPLS labels / VNIs and the NLRI of
//! every family Cirrus speaks (inet, inet6, inet-vpn, inet6-vpn, e-vpn, route-target).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use crate::ext_community::ExtCommunity;

/// The address families (AFI/SAFI pairs) the speaker negotiates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// IPv4 unicast (1/1).
    Inet,
    /// IPv6 unicast (2/1).
    Inet6,
    /// VPNv4, RFC 4364 (1/128).
    InetVpn,
    /// VPNv6, RFC 4659 (2/128).
    Inet6Vpn,
    /// EVPN, RFC 7432 (25/70).
    Evpn,
    /// Route-target constraint, RFC 4684 (1/132).
    RouteTarget,
}

impl Family {
    /// Every family, in the order OPEN advertises them.
    pub const ALL: [Family; 6] = [
        Family::Inet,
        Family::Inet6,
        Family::InetVpn,
        Family::Inet6Vpn,
        Family::Evpn,
        Family::RouteTarget,
    ];

    /// (AFI, SAFI) numbers as IANA assigns them.
    pub const fn afi_safi(self) -> (u16, u8) {
        match self {
            Family::Inet => (1, 1),
            Family::Inet6 => (2, 1),
            Family::InetVpn => (1, 128),
            Family::Inet6Vpn => (2, 128),
            Family::Evpn => (25, 70),
            Family::RouteTarget => (1, 132),
        }
    }

    /// Reverse of [`Family::afi_safi`].
    pub fn from_afi_safi(afi: u16, safi: u8) -> Option<Family> {
        Family::ALL
            .into_iter()
            .find(|f| f.afi_safi() == (afi, safi))
    }

    /// Contrail's name for the family (`inet-vpn`, `e-vpn`, ...).
    pub const fn contrail_name(self) -> &'static str {
        match self {
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
            Family::InetVpn => "inet-vpn",
            Family::Inet6Vpn => "inet6-vpn",
            Family::Evpn => "e-vpn",
            Family::RouteTarget => "route-target",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.contrail_name())
    }
}

impl FromStr for Family {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "inet" => Family::Inet,
            "inet6" => Family::Inet6,
            "inet-vpn" => Family::InetVpn,
            "inet6-vpn" => Family::Inet6Vpn,
            "e-vpn" | "evpn" => Family::Evpn,
            "route-target" | "rtarget" => Family::RouteTarget,
            other => return Err(format!("unknown address family {other:?}")),
        })
    }
}

/// Route distinguisher, RFC 4364 section 4.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Rd {
    /// Type 0: 2-octet ASN : 4-octet number.
    As2(u16, u32),
    /// Type 1: IPv4 address : 2-octet number.
    Ip(Ipv4Addr, u16),
    /// Type 2: 4-octet ASN : 2-octet number.
    As4(u32, u16),
}

impl Rd {
    /// The 8 wire octets.
    pub fn to_bytes(self) -> [u8; 8] {
        let mut b = [0u8; 8];
        match self {
            Rd::As2(asn, n) => {
                b[2..4].copy_from_slice(&asn.to_be_bytes());
                b[4..8].copy_from_slice(&n.to_be_bytes());
            }
            Rd::Ip(ip, n) => {
                b[1] = 1;
                b[2..6].copy_from_slice(&ip.octets());
                b[6..8].copy_from_slice(&n.to_be_bytes());
            }
            Rd::As4(asn, n) => {
                b[1] = 2;
                b[2..6].copy_from_slice(&asn.to_be_bytes());
                b[6..8].copy_from_slice(&n.to_be_bytes());
            }
        }
        b
    }
}

impl fmt::Display for Rd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rd::As2(a, n) => write!(f, "{a}:{n}"),
            Rd::Ip(ip, n) => write!(f, "{ip}:{n}"),
            Rd::As4(a, n) => write!(f, "{a}L:{n}"),
        }
    }
}

impl FromStr for Rd {
    type Err = String;
    /// Parses `65000:1`, `10.0.0.1:2` and `4200000000L:3` (or a 4-octet ASN that does not fit 16 bits).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, n) = s
            .rsplit_once(':')
            .ok_or_else(|| format!("route distinguisher {s:?} has no ':'"))?;
        let bad = || format!("bad route distinguisher {s:?}");
        if let Ok(ip) = a.parse::<Ipv4Addr>() {
            return Ok(Rd::Ip(ip, n.parse().map_err(|_| bad())?));
        }
        let (a, forced4) = a.strip_suffix('L').map_or((a, false), |x| (x, true));
        let asn: u32 = a.parse().map_err(|_| bad())?;
        if forced4 || asn > u32::from(u16::MAX) {
            Ok(Rd::As4(asn, n.parse().map_err(|_| bad())?))
        } else {
            Ok(Rd::As2(asn as u16, n.parse().map_err(|_| bad())?))
        }
    }
}

/// A 3-octet label field as carried in NLRI: for MPLS it is label(20) | TC(3) | S(1);
/// EVPN over VXLAN puts the 24-bit VNI there unshifted (RFC 8365), so the raw field is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Label(pub u32);

impl Label {
    /// The "withdrawn" label RFC 8277 recommends in MP_UNREACH.
    pub const WITHDRAW: Label = Label(0x80_0000);

    /// An MPLS label with the bottom-of-stack bit set.
    pub const fn mpls(label: u32) -> Label {
        Label(((label & 0xf_ffff) << 4) | 1)
    }
    /// A VXLAN VNI in the 24-bit field.
    pub const fn vni(vni: u32) -> Label {
        Label(vni & 0xff_ffff)
    }
    /// The 20-bit MPLS label value.
    pub const fn mpls_value(self) -> u32 {
        self.0 >> 4
    }
    /// The field read as a VNI.
    pub const fn vni_value(self) -> u32 {
        self.0
    }
    /// The 3 wire octets.
    pub const fn to_bytes(self) -> [u8; 3] {
        [(self.0 >> 16) as u8, (self.0 >> 8) as u8, self.0 as u8]
    }
    /// From the 3 wire octets.
    pub const fn from_bytes(b: [u8; 3]) -> Label {
        Label(((b[0] as u32) << 16) | ((b[1] as u32) << 8) | b[2] as u32)
    }
}

/// EVPN route types 2, 3 and 5 (RFC 7432, RFC 9136); other types are carried opaquely.
/// Labels are not part of the key: they travel next to it in [`Labeled`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EvpnRoute {
    /// Type 2, MAC/IP advertisement.
    MacIp {
        rd: Rd,
        esi: [u8; 10],
        tag: u32,
        mac: [u8; 6],
        ip: Option<IpAddr>,
    },
    /// Type 3, inclusive multicast Ethernet tag.
    Imet {
        rd: Rd,
        tag: u32,
        originator: IpAddr,
    },
    /// Type 5, IP prefix.
    IpPrefix {
        rd: Rd,
        esi: [u8; 10],
        tag: u32,
        prefix: IpNet,
        gateway: IpAddr,
    },
    /// Any other type (1, 4, ...), kept as its wire body so it can be re-sent unchanged.
    Other {
        route_type: u8,
        rd: Option<Rd>,
        raw: Vec<u8>,
    },
}

impl EvpnRoute {
    /// The route distinguisher, when the type has one.
    pub fn rd(&self) -> Option<Rd> {
        match self {
            EvpnRoute::MacIp { rd, .. }
            | EvpnRoute::Imet { rd, .. }
            | EvpnRoute::IpPrefix { rd, .. } => Some(*rd),
            EvpnRoute::Other { rd, .. } => *rd,
        }
    }
}

/// An RFC 4684 route-target membership NLRI. `prefix_len == 0` is the default route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RtMembership {
    pub origin_as: u32,
    /// NLRI prefix length in bits: 0 (default) or 32..=96 (origin AS plus 0..=64 bits of target).
    pub prefix_len: u8,
    /// The target, zero-filled past the prefix.
    pub target: ExtCommunity,
}

impl RtMembership {
    /// Membership for one exact route target.
    pub fn exact(origin_as: u32, target: ExtCommunity) -> RtMembership {
        RtMembership {
            origin_as,
            prefix_len: 96,
            target,
        }
    }
    /// The default membership (prefix length 0): "send me every VPN route".
    pub fn default_route() -> RtMembership {
        RtMembership {
            origin_as: 0,
            prefix_len: 0,
            target: ExtCommunity([0; 8]),
        }
    }
    /// Bits of route target covered by the prefix (0..=64).
    pub fn target_bits(&self) -> u8 {
        self.prefix_len.saturating_sub(32).min(64)
    }
    /// Whether a route carrying `rt` matches this membership (prefix match over the RT bits).
    pub fn matches(&self, rt: &ExtCommunity) -> bool {
        let bits = u32::from(self.target_bits());
        if bits == 0 {
            return true;
        }
        let a = u64::from_be_bytes(self.target.0);
        let b = u64::from_be_bytes(rt.0);
        let mask = if bits == 64 {
            u64::MAX
        } else {
            !(u64::MAX >> bits)
        };
        (a & mask) == (b & mask)
    }
}

/// A route key (the NLRI without labels or path id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Nlri {
    Inet(Ipv4Net),
    Inet6(Ipv6Net),
    InetVpn {
        rd: Rd,
        prefix: Ipv4Net,
    },
    Inet6Vpn {
        rd: Rd,
        prefix: Ipv6Net,
    },
    /// Boxed: EVPN keys are large and rare next to VPN ones; this keeps every key 32 octets.
    Evpn(Box<EvpnRoute>),
    RouteTarget(RtMembership),
}

impl Nlri {
    /// The family this key belongs to.
    pub fn family(&self) -> Family {
        match self {
            Nlri::Inet(_) => Family::Inet,
            Nlri::Inet6(_) => Family::Inet6,
            Nlri::InetVpn { .. } => Family::InetVpn,
            Nlri::Inet6Vpn { .. } => Family::Inet6Vpn,
            Nlri::Evpn(_) => Family::Evpn,
            Nlri::RouteTarget(_) => Family::RouteTarget,
        }
    }
    /// An EVPN key.
    pub fn evpn(route: EvpnRoute) -> Nlri {
        Nlri::Evpn(Box::new(route))
    }

    /// The EVPN route, for EVPN keys.
    pub fn as_evpn(&self) -> Option<&EvpnRoute> {
        match self {
            Nlri::Evpn(e) => Some(e),
            _ => None,
        }
    }

    /// The route distinguisher for VPN and EVPN keys.
    pub fn rd(&self) -> Option<Rd> {
        match self {
            Nlri::InetVpn { rd, .. } | Nlri::Inet6Vpn { rd, .. } => Some(*rd),
            Nlri::Evpn(e) => e.rd(),
            _ => None,
        }
    }
}

impl fmt::Display for Nlri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Nlri::Inet(p) => write!(f, "{p}"),
            Nlri::Inet6(p) => write!(f, "{p}"),
            Nlri::InetVpn { rd, prefix } => write!(f, "{rd}:{prefix}"),
            Nlri::Inet6Vpn { rd, prefix } => write!(f, "{rd}:{prefix}"),
            Nlri::Evpn(e) => fmt_evpn(e, f),
            Nlri::RouteTarget(m) => {
                write!(f, "{}:{}/{}", m.origin_as, m.target, m.prefix_len)
            }
        }
    }
}

/// EVPN keys as `type-rd-tag-...`, the way Contrail's introspect prints them.
fn fmt_evpn(e: &EvpnRoute, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match e {
        EvpnRoute::MacIp {
            rd, tag, mac, ip, ..
        } => {
            let m = mac.map(|b| format!("{b:02x}")).join(":");
            match ip {
                Some(ip) => write!(f, "2-{rd}-{tag}-{m},{ip}"),
                None => write!(f, "2-{rd}-{tag}-{m}"),
            }
        }
        EvpnRoute::Imet {
            rd,
            tag,
            originator,
        } => {
            write!(f, "3-{rd}-{tag}-{originator}")
        }
        EvpnRoute::IpPrefix {
            rd, tag, prefix, ..
        } => {
            write!(f, "5-{rd}-{tag}-{prefix}")
        }
        EvpnRoute::Other { route_type, rd, .. } => match rd {
            Some(rd) => write!(f, "{route_type}-{rd}"),
            None => write!(f, "{route_type}-?"),
        },
    }
}

/// Labels that travel with a key: one for VPN routes and EVPN types 3/5, two for a type-2 route
/// that carries an L3 label as well.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Labels {
    pub first: Option<Label>,
    pub second: Option<Label>,
}

impl Labels {
    /// A single label.
    pub const fn one(l: Label) -> Labels {
        Labels {
            first: Some(l),
            second: None,
        }
    }
}

/// A key with its labels, as carried in one NLRI entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Labeled {
    pub nlri: Nlri,
    pub labels: Labels,
    /// ADD-PATH path identifier (RFC 7911), when the session negotiated it.
    pub path_id: Option<u32>,
}

impl Labeled {
    /// A key without labels.
    pub fn bare(nlri: Nlri) -> Labeled {
        Labeled {
            nlri,
            labels: Labels::default(),
            path_id: None,
        }
    }

    /// A key with one label.
    pub fn with_label(nlri: Nlri, label: Label) -> Labeled {
        Labeled {
            nlri,
            labels: Labels::one(label),
            path_id: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rd_text_roundtrip() {
        for s in ["65000:1", "10.0.0.1:7", "4200000000:3"] {
            let rd: Rd = s.parse().unwrap();
            assert_eq!(rd.to_string().trim_end_matches('L').replace("L:", ":"), s);
        }
        assert_eq!("7L:3".parse::<Rd>().unwrap(), Rd::As4(7, 3));
        assert!("nope".parse::<Rd>().is_err());
    }

    #[test]
    fn label_fields() {
        let l = Label::mpls(1000);
        assert_eq!(l.to_bytes(), [0x00, 0x3e, 0x81]);
        assert_eq!(Label::from_bytes(l.to_bytes()).mpls_value(), 1000);
        assert_eq!(Label::vni(101).to_bytes(), [0, 0, 0x65]);
    }

    #[test]
    fn rt_membership_prefix_match() {
        let rt = ExtCommunity::route_target_as2(64512, 8_000_001);
        assert!(RtMembership::default_route().matches(&rt));
        assert!(RtMembership::exact(1, rt).matches(&rt));
        let other = ExtCommunity::route_target_as2(64512, 8_000_002);
        assert!(!RtMembership::exact(1, rt).matches(&other));
        let partial = RtMembership {
            origin_as: 1,
            prefix_len: 64,
            target: rt,
        };
        assert!(partial.matches(&other));
    }
}
