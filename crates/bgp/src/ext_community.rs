//! Extended communities (RFC 4360) as 8 raw octets with typed views for the ones Cirrus acts on:
//! route targets, tunnel encapsulation (RFC 9012), Contrail's origin-VN, security-group, tag and
//! load-balance, EVPN MAC mobility and router MAC. Keeping the raw octets makes the type small,
//! hashable and lossless for communities we do not interpret.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Tunnel types of the encapsulation community (IANA "BGP Tunnel Encapsulation Attribute Tunnel Types").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TunnelType {
    /// 2: GRE; Contrail uses it to mean MPLS over GRE.
    Gre,
    /// 8: VXLAN.
    Vxlan,
    /// 11: MPLS in GRE.
    MplsInGre,
    /// 13: MPLS in UDP.
    MplsInUdp,
    /// 37001: Contrail's pre-standard MPLS in UDP code point.
    ContrailUdp,
    Other(u16),
}

impl TunnelType {
    pub const fn code(self) -> u16 {
        match self {
            TunnelType::Gre => 2,
            TunnelType::Vxlan => 8,
            TunnelType::MplsInGre => 11,
            TunnelType::MplsInUdp => 13,
            TunnelType::ContrailUdp => 37001,
            TunnelType::Other(c) => c,
        }
    }
    pub const fn from_code(c: u16) -> TunnelType {
        match c {
            2 => TunnelType::Gre,
            8 => TunnelType::Vxlan,
            11 => TunnelType::MplsInGre,
            13 => TunnelType::MplsInUdp,
            37001 => TunnelType::ContrailUdp,
            c => TunnelType::Other(c),
        }
    }
}

/// The typed meaning of an extended community, for display and policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExtCommunityKind {
    RouteTargetAs2 {
        asn: u16,
        value: u32,
    },
    RouteTargetIp {
        ip: Ipv4Addr,
        value: u16,
    },
    RouteTargetAs4 {
        asn: u32,
        value: u16,
    },
    Encapsulation(TunnelType),
    /// Contrail origin VN (0x8071): ASN and VN index.
    OriginVn {
        asn: u16,
        vn_index: u32,
    },
    /// Contrail security group (0x8004).
    SecurityGroup {
        asn: u16,
        id: u32,
    },
    /// Contrail tag (0x8084).
    Tag {
        asn: u16,
        tag: u32,
    },
    /// Contrail load-balance field selection (0x03aa), six opaque octets.
    LoadBalance([u8; 6]),
    /// EVPN MAC mobility (0x0600).
    MacMobility {
        sticky: bool,
        seq: u32,
    },
    /// EVPN router's MAC (0x0603).
    RouterMac([u8; 6]),
    Other,
}

/// One extended community, 8 octets in wire order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ExtCommunity(pub [u8; 8]);

impl ExtCommunity {
    fn with(t: u8, st: u8, v: [u8; 6]) -> ExtCommunity {
        let mut b = [0u8; 8];
        b[0] = t;
        b[1] = st;
        b[2..].copy_from_slice(&v);
        ExtCommunity(b)
    }
    fn as2_u32(asn: u16, n: u32) -> [u8; 6] {
        let mut v = [0u8; 6];
        v[..2].copy_from_slice(&asn.to_be_bytes());
        v[2..].copy_from_slice(&n.to_be_bytes());
        v
    }

    /// Route target `asn:value` in the 2-octet AS form.
    pub fn route_target_as2(asn: u16, value: u32) -> ExtCommunity {
        Self::with(0x00, 0x02, Self::as2_u32(asn, value))
    }
    /// Route target `ip:value`.
    pub fn route_target_ip(ip: Ipv4Addr, value: u16) -> ExtCommunity {
        let mut v = [0u8; 6];
        v[..4].copy_from_slice(&ip.octets());
        v[4..].copy_from_slice(&value.to_be_bytes());
        Self::with(0x01, 0x02, v)
    }
    /// Route target `asn:value` in the 4-octet AS form.
    pub fn route_target_as4(asn: u32, value: u16) -> ExtCommunity {
        let mut v = [0u8; 6];
        v[..4].copy_from_slice(&asn.to_be_bytes());
        v[4..].copy_from_slice(&value.to_be_bytes());
        Self::with(0x02, 0x02, v)
    }
    /// Tunnel encapsulation (RFC 9012 section 4.1).
    pub fn encapsulation(t: TunnelType) -> ExtCommunity {
        let c = t.code().to_be_bytes();
        Self::with(0x03, 0x0c, [0, 0, 0, 0, c[0], c[1]])
    }
    /// Contrail origin VN.
    pub fn origin_vn(asn: u16, vn_index: u32) -> ExtCommunity {
        Self::with(0x80, 0x71, Self::as2_u32(asn, vn_index))
    }
    /// Contrail security group.
    pub fn security_group(asn: u16, id: u32) -> ExtCommunity {
        Self::with(0x80, 0x04, Self::as2_u32(asn, id))
    }
    /// Contrail tag.
    pub fn tag(asn: u16, tag: u32) -> ExtCommunity {
        Self::with(0x80, 0x84, Self::as2_u32(asn, tag))
    }
    /// Contrail load balance with its six opaque octets.
    pub fn load_balance(v: [u8; 6]) -> ExtCommunity {
        Self::with(0x03, 0xaa, v)
    }
    /// EVPN MAC mobility.
    pub fn mac_mobility(sticky: bool, seq: u32) -> ExtCommunity {
        let s = seq.to_be_bytes();
        Self::with(0x06, 0x00, [u8::from(sticky), 0, s[0], s[1], s[2], s[3]])
    }
    /// EVPN router's MAC.
    pub fn router_mac(mac: [u8; 6]) -> ExtCommunity {
        Self::with(0x06, 0x03, mac)
    }

    /// Whether this is a route target in any of its three forms.
    pub fn is_route_target(&self) -> bool {
        self.0[1] == 0x02 && matches!(self.0[0], 0x00..=0x02)
    }

    /// The typed reading.
    pub fn kind(&self) -> ExtCommunityKind {
        let b = &self.0;
        let u16_at = |i: usize| u16::from_be_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let six = || {
            let mut v = [0u8; 6];
            v.copy_from_slice(&b[2..]);
            v
        };
        match (b[0], b[1]) {
            (0x00, 0x02) => ExtCommunityKind::RouteTargetAs2 {
                asn: u16_at(2),
                value: u32_at(4),
            },
            (0x01, 0x02) => ExtCommunityKind::RouteTargetIp {
                ip: Ipv4Addr::new(b[2], b[3], b[4], b[5]),
                value: u16_at(6),
            },
            (0x02, 0x02) => ExtCommunityKind::RouteTargetAs4 {
                asn: u32_at(2),
                value: u16_at(6),
            },
            (0x03, 0x0c) => ExtCommunityKind::Encapsulation(TunnelType::from_code(u16_at(6))),
            (0x80, 0x71) => ExtCommunityKind::OriginVn {
                asn: u16_at(2),
                vn_index: u32_at(4),
            },
            (0x80, 0x04) => ExtCommunityKind::SecurityGroup {
                asn: u16_at(2),
                id: u32_at(4),
            },
            (0x80, 0x84) => ExtCommunityKind::Tag {
                asn: u16_at(2),
                tag: u32_at(4),
            },
            (0x03, 0xaa) => ExtCommunityKind::LoadBalance(six()),
            (0x06, 0x00) => ExtCommunityKind::MacMobility {
                sticky: b[2] & 1 == 1,
                seq: u32_at(4),
            },
            (0x06, 0x03) => ExtCommunityKind::RouterMac(six()),
            _ => ExtCommunityKind::Other,
        }
    }
}

impl fmt::Display for ExtCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            ExtCommunityKind::RouteTargetAs2 { asn, value } => write!(f, "target:{asn}:{value}"),
            ExtCommunityKind::RouteTargetIp { ip, value } => write!(f, "target:{ip}:{value}"),
            ExtCommunityKind::RouteTargetAs4 { asn, value } => write!(f, "target:{asn}L:{value}"),
            ExtCommunityKind::Encapsulation(t) => match t {
                TunnelType::Gre | TunnelType::MplsInGre => f.write_str("encapsulation:gre"),
                TunnelType::Vxlan => f.write_str("encapsulation:vxlan"),
                TunnelType::MplsInUdp | TunnelType::ContrailUdp => f.write_str("encapsulation:udp"),
                TunnelType::Other(c) => write!(f, "encapsulation:{c}"),
            },
            ExtCommunityKind::OriginVn { asn, vn_index } => write!(f, "origin-vn:{asn}:{vn_index}"),
            ExtCommunityKind::SecurityGroup { asn, id } => write!(f, "secgroup:{asn}:{id}"),
            ExtCommunityKind::Tag { asn, tag } => write!(f, "tag:{asn}:{tag}"),
            ExtCommunityKind::LoadBalance(v) => write!(f, "load-balance:{}", hex6(&v)),
            ExtCommunityKind::MacMobility { sticky, seq } => {
                write!(
                    f,
                    "mobility:{}:{seq}",
                    if sticky { "sticky" } else { "non-sticky" }
                )
            }
            ExtCommunityKind::RouterMac(m) => write!(
                f,
                "router-mac:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                m[0], m[1], m[2], m[3], m[4], m[5]
            ),
            ExtCommunityKind::Other => write!(f, "0x{}", hex8(&self.0)),
        }
    }
}

impl fmt::Debug for ExtCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

fn hex6(v: &[u8; 6]) -> String {
    v.iter().map(|b| format!("{b:02x}")).collect()
}
fn hex8(v: &[u8; 8]) -> String {
    v.iter().map(|b| format!("{b:02x}")).collect()
}

impl FromStr for ExtCommunity {
    type Err = String;
    /// Parses `target:ASN:N`, `target:IP:N`, `target:ASNL:N` (also without the `target:` prefix).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let body = s.strip_prefix("target:").unwrap_or(s);
        let (a, n) = body
            .rsplit_once(':')
            .ok_or_else(|| format!("route target {s:?} has no ':'"))?;
        let bad = || format!("bad route target {s:?}");
        if let Ok(ip) = a.parse::<Ipv4Addr>() {
            return Ok(Self::route_target_ip(ip, n.parse().map_err(|_| bad())?));
        }
        let (a, forced4) = a.strip_suffix('L').map_or((a, false), |x| (x, true));
        let asn: u32 = a.parse().map_err(|_| bad())?;
        if forced4 || asn > u32::from(u16::MAX) {
            Ok(Self::route_target_as4(asn, n.parse().map_err(|_| bad())?))
        } else {
            Ok(Self::route_target_as2(
                asn as u16,
                n.parse().map_err(|_| bad())?,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrail_communities_roundtrip_kind() {
        let c = ExtCommunity::origin_vn(64512, 5);
        assert_eq!(c.0, [0x80, 0x71, 0xfc, 0x00, 0, 0, 0, 5]);
        assert_eq!(
            c.kind(),
            ExtCommunityKind::OriginVn {
                asn: 64512,
                vn_index: 5
            }
        );
        assert_eq!(
            ExtCommunity::encapsulation(TunnelType::Vxlan).0,
            [0x03, 0x0c, 0, 0, 0, 0, 0, 8]
        );
        assert_eq!(
            ExtCommunity::mac_mobility(true, 7).kind(),
            ExtCommunityKind::MacMobility {
                sticky: true,
                seq: 7
            }
        );
        assert_eq!(
            ExtCommunity::security_group(1, 8_000_001).to_string(),
            "secgroup:1:8000001"
        );
        assert_eq!(ExtCommunity::tag(1, 2).to_string(), "tag:1:2");
        assert!(matches!(
            ExtCommunity::load_balance([0xf8, 0, 0, 0, 0, 0]).kind(),
            ExtCommunityKind::LoadBalance(_)
        ));
        assert_eq!(
            ExtCommunity::router_mac([2, 0, 0, 0, 0, 1]).to_string(),
            "router-mac:02:00:00:00:00:01"
        );
    }

    #[test]
    fn route_target_text() {
        for s in [
            "target:64512:8000001",
            "target:10.1.1.1:5",
            "target:4200000000L:3",
        ] {
            let c: ExtCommunity = s.parse().unwrap();
            assert!(c.is_route_target());
            assert_eq!(c.to_string(), s);
        }
    }
}
