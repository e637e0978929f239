//! BGP messages in Cirrus's own terms: what the session FSM consumes and produces.
//! The wire conversion lives in [`crate::codec`].

use std::net::{Ipv4Addr, Ipv6Addr};

use netgauze_bgp_pkt::capabilities::BgpCapability;
use netgauze_bgp_pkt::path_attribute::PathAttribute;
use serde::{Deserialize, Serialize};

use crate::attrs::PathAttrs;
use crate::types::{Family, Labeled};

/// One BGP message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Open(Open),
    Update(Update),
    Notification(Notification),
    Keepalive,
    RouteRefresh(RouteRefresh),
}

/// Graceful restart capability contents (RFC 4724 section 3).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GracefulRestart {
    /// R bit: the sender has restarted.
    pub restarting: bool,
    /// N bit: graceful NOTIFICATION (RFC 8538).
    pub notification: bool,
    pub restart_time: u16,
    /// Families with the F bit (forwarding state preserved).
    pub families: Vec<(Family, bool)>,
}

/// Long-lived graceful restart (RFC 9494) per-family stale times.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LongLivedGr {
    pub families: Vec<(Family, bool, u32)>,
}

/// Capabilities as Cirrus reads them from an OPEN.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Capabilities {
    pub families: Vec<Family>,
    /// The 4-octet AS capability, when present.
    pub asn4: Option<u32>,
    pub route_refresh: bool,
    pub enhanced_route_refresh: bool,
    pub graceful_restart: Option<GracefulRestart>,
    pub llgr: Option<LongLivedGr>,
    /// Every other capability, kept so it can be re-encoded unchanged.
    pub other: Vec<BgpCapability>,
}

/// An OPEN message.
#[derive(Debug, Clone, PartialEq)]
pub struct Open {
    /// The 2-octet "My Autonomous System" field (AS_TRANS when the ASN does not fit).
    pub my_as: u16,
    pub hold_time: u16,
    pub router_id: Ipv4Addr,
    pub caps: Capabilities,
    /// How the capabilities were grouped in optional parameters: one parameter per capability
    /// (`true`, what most speakers send) or all in one.
    pub one_param_per_cap: bool,
}

impl Open {
    /// The speaker's ASN: the 4-octet capability if present, else the 2-octet field.
    pub fn asn(&self) -> u32 {
        self.caps.asn4.unwrap_or(u32::from(self.my_as))
    }
}

/// An UPDATE: at most one MP family for announcements and one for withdrawals (RFC 7606 3.g).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Update {
    pub withdraw: Vec<Labeled>,
    pub announce: Vec<Labeled>,
    /// Attributes of the announced routes; `attrs.next_hop` is the next hop of the MP_REACH if
    /// present, otherwise of NEXT_HOP.
    pub attrs: PathAttrs,
    /// The link-local part of a 32-octet IPv6 next hop.
    pub next_hop_local: Option<Ipv6Addr>,
    /// NEXT_HOP when it came next to an MP_REACH (it then applies only to inet NLRI).
    pub inet_next_hop: Option<Ipv4Addr>,
    /// Inet routes travel in MP_REACH/MP_UNREACH rather than the classic fields (RFC 8950 IPv6
    /// next hop, or a speaker that always uses MP).
    pub inet_via_mp: bool,
    /// End-of-RIB marker for this family (RFC 4724 section 2).
    pub eor: Option<Family>,
    /// MP_REACH/MP_UNREACH of families Cirrus does not speak, kept for re-encoding.
    pub unsupported: Vec<PathAttribute>,
    /// RFC 7606 attribute errors; when non-empty the announcements were turned into withdrawals.
    pub attribute_errors: Vec<String>,
    /// Attribute type codes and extended-length flags in the order they were received. Empty
    /// for updates Cirrus builds; when set, the encoder emits exactly these attributes in this
    /// order and with these flags, so a received message re-encodes byte for byte.
    pub attr_order: Vec<(u8, bool)>,
}

impl Update {
    /// The family of the announced (or else withdrawn) routes.
    pub fn family(&self) -> Option<Family> {
        self.announce
            .first()
            .or(self.withdraw.first())
            .map(|l| l.nlri.family())
            .or(self.eor)
    }

    /// An End-of-RIB marker.
    pub fn end_of_rib(family: Family) -> Update {
        Update {
            eor: Some(family),
            ..Default::default()
        }
    }
}

/// A NOTIFICATION (RFC 4271 section 4.5). Kept as numbers: unknown codes must still be reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub code: u8,
    pub subcode: u8,
    pub data: Vec<u8>,
}

impl Notification {
    pub fn new(code: u8, subcode: u8, data: impl Into<Vec<u8>>) -> Notification {
        Notification {
            code,
            subcode,
            data: data.into(),
        }
    }
}

impl std::fmt::Display for Notification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self.code {
            1 => "message header error",
            2 => "OPEN message error",
            3 => "UPDATE message error",
            4 => "hold timer expired",
            5 => "finite state machine error",
            6 => "cease",
            7 => "ROUTE-REFRESH message error",
            _ => "unknown error",
        };
        write!(f, "{name} ({}/{})", self.code, self.subcode)
    }
}

/// NOTIFICATION codes and subcodes Cirrus sends (RFC 4271 section 4.5, RFC 4486, RFC 7313).
pub mod codes {
    pub const HEADER: u8 = 1;
    pub const HEADER_NOT_SYNC: u8 = 1;
    pub const HEADER_BAD_LENGTH: u8 = 2;
    pub const HEADER_BAD_TYPE: u8 = 3;
    pub const OPEN: u8 = 2;
    pub const OPEN_BAD_VERSION: u8 = 1;
    pub const OPEN_BAD_PEER_AS: u8 = 2;
    pub const OPEN_BAD_BGP_ID: u8 = 3;
    pub const OPEN_UNACCEPTABLE_HOLD: u8 = 6;
    pub const OPEN_UNSUPPORTED_CAPABILITY: u8 = 7;
    pub const UPDATE: u8 = 3;
    pub const UPDATE_MALFORMED_ATTR_LIST: u8 = 1;
    pub const UPDATE_OPTIONAL_ATTR: u8 = 9;
    pub const UPDATE_INVALID_NETWORK: u8 = 10;
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    pub const FSM: u8 = 5;
    pub const FSM_OPEN_SENT: u8 = 1;
    pub const FSM_OPEN_CONFIRM: u8 = 2;
    pub const FSM_ESTABLISHED: u8 = 3;
    pub const CEASE: u8 = 6;
    pub const CEASE_ADMIN_SHUTDOWN: u8 = 2;
    pub const CEASE_PEER_DECONFIGURED: u8 = 3;
    pub const CEASE_ADMIN_RESET: u8 = 4;
    pub const CEASE_CONNECTION_REJECTED: u8 = 5;
    pub const CEASE_OTHER_CONFIG_CHANGE: u8 = 6;
    pub const CEASE_COLLISION: u8 = 7;
    pub const ROUTE_REFRESH: u8 = 7;
    pub const ROUTE_REFRESH_BAD_LENGTH: u8 = 1;
}

/// A ROUTE-REFRESH (RFC 2918; subtypes 1/2 are RFC 7313's BoRR/EoRR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRefresh {
    pub afi: u16,
    pub safi: u8,
    pub subtype: u8,
}

impl RouteRefresh {
    /// A plain refresh request for a family.
    pub fn request(f: Family) -> RouteRefresh {
        let (afi, safi) = f.afi_safi();
        RouteRefresh {
            afi,
            safi,
            subtype: 0,
        }
    }
    /// The family, if Cirrus speaks it.
    pub fn family(&self) -> Option<Family> {
        Family::from_afi_safi(self.afi, self.safi)
    }
}
