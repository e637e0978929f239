//! Wire formats the smoltcp way: a zero-copy `XxxPacket<T: AsRef<[u8]>>` view whose
//! accessors never panic once `new_checked` passed, and an owned `XxxRepr` with
//! `parse`/`emit`. Malformed input is a [`WireError`], never a panic.
//!
//! One file per protocol; `checksum` holds the one's-complement arithmetic shared by all.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod gre;
pub mod icmpv4;
pub mod icmpv6;
pub mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod mpls;
pub mod tcp;
pub mod udp;
pub mod vlan;
pub mod vxlan;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use ethernet::{EtherType, EthernetFrame, EthernetRepr, MacAddr};
pub use gre::{GrePacket, GreRepr};
pub use icmpv4::{Icmpv4Message, Icmpv4Packet, Icmpv4Repr};
pub use icmpv6::{Icmpv6Packet, Icmpv6Repr, NdiscRepr};
pub use ip::IpProtocol;
pub use ipv4::{Ipv4Packet, Ipv4Repr};
pub use ipv6::{Ipv6Packet, Ipv6Repr};
pub use mpls::{MplsPacket, MplsRepr};
pub use tcp::{TcpFlags, TcpPacket, TcpRepr};
pub use udp::{UdpPacket, UdpRepr};
pub use vlan::{VlanPacket, VlanRepr};
pub use vxlan::{VxlanPacket, VxlanRepr};

/// Why a buffer could not be read as a protocol header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The buffer is shorter than the header (or the length the header claims).
    #[error("{0}: buffer truncated")]
    Truncated(&'static str),
    /// A field holds a value the protocol forbids.
    #[error("{0}: malformed header")]
    Malformed(&'static str),
    /// A valid header this implementation does not handle (e.g. ARP over non-Ethernet).
    #[error("{0}: unsupported")]
    Unsupported(&'static str),
    /// The checksum does not match the data.
    #[error("{0}: bad checksum")]
    Checksum(&'static str),
}

/// Result of wire parsing.
pub type Result<T> = core::result::Result<T, WireError>;

// Field helpers. Callers index only within lengths that `check_len` established, so the
// slicing here cannot panic on a checked view.
#[inline]
pub(crate) fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
#[inline]
pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
#[inline]
pub(crate) fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}
#[inline]
pub(crate) fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}
