//! What a rule is matched against: one direction of a flow with what the agent knows of
//! both ends (their networks, security-group ids and tags), as Contrail's `PacketHeader`.

use std::net::IpAddr;

/// Interned network name (`default-domain:p:vn`); see [`super::Names`].
pub type NameId = u32;

/// One end of a flow.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    pub addr: IpAddr,
    /// Transport port (0 unless TCP, UDP or SCTP, as Contrail matches them).
    pub port: u16,
    /// The networks the address belongs to (the route's origin network, or the local
    /// port's network).
    pub networks: &'a [NameId],
    pub security_groups: &'a [u32],
    /// Sorted tag ids.
    pub tags: &'a [u32],
}

/// One direction of a flow.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    pub proto: u8,
    pub src: Side<'a>,
    pub dst: Side<'a>,
}

impl<'a> Header<'a> {
    /// The header of the reply direction.
    pub fn reversed(&self) -> Header<'a> {
        Header {
            proto: self.proto,
            src: self.dst,
            dst: self.src,
        }
    }

    pub fn is_v6(&self) -> bool {
        self.src.addr.is_ipv6()
    }
}

/// Whether a protocol's ports take part in matching.
pub fn has_ports(proto: u8) -> bool {
    matches!(proto, 6 | 17 | 132)
}
