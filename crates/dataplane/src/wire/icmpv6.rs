//! ICMPv6 (RFC 4443) and the neighbour-discovery messages (RFC 4861) the vRouter answers
//! for its workloads: router/neighbour solicitation and advertisement, with the
//! link-layer-address options. Other options are skipped but still length-checked.

use super::{MacAddr, Result, WireError, be16, be32, checksum, put16, put32};
use std::net::Ipv6Addr;

pub const ROUTER_SOLICIT: u8 = 133;
pub const ROUTER_ADVERT: u8 = 134;
pub const NEIGHBOR_SOLICIT: u8 = 135;
pub const NEIGHBOR_ADVERT: u8 = 136;
const OPT_SOURCE_LLADDR: u8 = 1;
const OPT_TARGET_LLADDR: u8 = 2;

/// A view of an ICMPv6 message.
#[derive(Debug, Clone)]
pub struct Icmpv6Packet<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    pub const HEADER_LEN: usize = 4;

    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }
    /// Checks the fixed part that each known message type needs.
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < Self::HEADER_LEN {
            return Err(WireError::Truncated("icmpv6"));
        }
        if b.len() < Self::fixed_len(b[0]) {
            return Err(WireError::Truncated("icmpv6"));
        }
        Ok(())
    }
    fn fixed_len(msg_type: u8) -> usize {
        match msg_type {
            ROUTER_SOLICIT => 8,
            ROUTER_ADVERT => 16,
            NEIGHBOR_SOLICIT | NEIGHBOR_ADVERT => 24,
            128 | 129 => 8,
            _ => 4,
        }
    }
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[0]
    }
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[1]
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), 2)
    }
    /// The body after type/code/checksum.
    pub fn body(&self) -> &[u8] {
        &self.buffer.as_ref()[4..]
    }
    /// ND target address (NS/NA); `None` for other types.
    pub fn target_addr(&self) -> Option<Ipv6Addr> {
        matches!(self.msg_type(), NEIGHBOR_SOLICIT | NEIGHBOR_ADVERT).then(|| {
            let mut a = [0u8; 16];
            a.copy_from_slice(&self.buffer.as_ref()[8..24]);
            Ipv6Addr::from(a)
        })
    }
    /// ND options, after the fixed part of the message.
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::fixed_len(self.msg_type())..]
    }
    pub fn verify_checksum(&self, pseudo: u32) -> bool {
        let s = checksum::sum(self.buffer.as_ref());
        checksum::fold(checksum::combine(&[pseudo, s])) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    pub fn fill_checksum(&mut self, pseudo: u32) {
        put16(self.buffer.as_mut(), 2, 0);
        let s = checksum::sum(self.buffer.as_ref());
        let c = !checksum::fold(checksum::combine(&[pseudo, s]));
        put16(self.buffer.as_mut(), 2, c);
    }
}

/// Iterates over ND options as (type, data without type/length). A zero length option
/// is an error (RFC 4861 section 4.6), as is one running past the end.
pub fn ndisc_options(mut opts: &[u8]) -> impl Iterator<Item = Result<(u8, &[u8])>> {
    std::iter::from_fn(move || {
        if opts.is_empty() {
            return None;
        }
        if opts.len() < 2 {
            opts = &[];
            return Some(Err(WireError::Truncated("nd option")));
        }
        let len = opts[1] as usize * 8;
        if len == 0 || len > opts.len() {
            opts = &[];
            return Some(Err(WireError::Malformed("nd option length")));
        }
        let item = (opts[0], &opts[2..len]);
        opts = &opts[len..];
        Some(Ok(item))
    })
}

/// Neighbour-discovery messages the pipeline recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdiscRepr {
    RouterSolicit {
        lladdr: Option<MacAddr>,
    },
    RouterAdvert {
        hop_limit: u8,
        flags: u8,
        router_lifetime: u16,
        lladdr: Option<MacAddr>,
    },
    NeighborSolicit {
        target: Ipv6Addr,
        lladdr: Option<MacAddr>,
    },
    NeighborAdvert {
        flags: u8,
        target: Ipv6Addr,
        lladdr: Option<MacAddr>,
    },
}

/// Owned ICMPv6 message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmpv6Repr {
    EchoRequest { ident: u16, seq: u16 },
    EchoReply { ident: u16, seq: u16 },
    Ndisc(NdiscRepr),
    Other { msg_type: u8, code: u8 },
}

fn lladdr_option(opts: &[u8], want: u8) -> Result<Option<MacAddr>> {
    let mut found = None;
    for o in ndisc_options(opts) {
        let (t, d) = o?;
        if t == want && d.len() >= 6 {
            let mut m = [0u8; 6];
            m.copy_from_slice(&d[..6]);
            found = Some(MacAddr(m));
        }
    }
    Ok(found)
}

impl Icmpv6Repr {
    /// Parses and verifies the checksum against the IPv6 pseudo-header sum.
    pub fn parse<T: AsRef<[u8]>>(p: &Icmpv6Packet<T>, pseudo: u32) -> Result<Self> {
        p.check_len()?;
        if !p.verify_checksum(pseudo) {
            return Err(WireError::Checksum("icmpv6"));
        }
        let b = p.buffer.as_ref();
        let opts = p.options();
        Ok(match p.msg_type() {
            128 => Self::EchoRequest {
                ident: be16(b, 4),
                seq: be16(b, 6),
            },
            129 => Self::EchoReply {
                ident: be16(b, 4),
                seq: be16(b, 6),
            },
            ROUTER_SOLICIT => Self::Ndisc(NdiscRepr::RouterSolicit {
                lladdr: lladdr_option(opts, OPT_SOURCE_LLADDR)?,
            }),
            ROUTER_ADVERT => Self::Ndisc(NdiscRepr::RouterAdvert {
                hop_limit: b[4],
                flags: b[5],
                router_lifetime: be16(b, 6),
                lladdr: lladdr_option(opts, OPT_SOURCE_LLADDR)?,
            }),
            NEIGHBOR_SOLICIT => Self::Ndisc(NdiscRepr::NeighborSolicit {
                target: p.target_addr().unwrap_or(Ipv6Addr::UNSPECIFIED),
                lladdr: lladdr_option(opts, OPT_SOURCE_LLADDR)?,
            }),
            NEIGHBOR_ADVERT => Self::Ndisc(NdiscRepr::NeighborAdvert {
                flags: (be32(b, 4) >> 24) as u8,
                target: p.target_addr().unwrap_or(Ipv6Addr::UNSPECIFIED),
                lladdr: lladdr_option(opts, OPT_TARGET_LLADDR)?,
            }),
            t => Self::Other {
                msg_type: t,
                code: p.msg_code(),
            },
        })
    }

    pub fn buffer_len(&self) -> usize {
        let ll = |l: &Option<MacAddr>| if l.is_some() { 8 } else { 0 };
        match self {
            Self::EchoRequest { .. } | Self::EchoReply { .. } => 8,
            Self::Ndisc(NdiscRepr::RouterSolicit { lladdr }) => 8 + ll(lladdr),
            Self::Ndisc(NdiscRepr::RouterAdvert { lladdr, .. }) => 16 + ll(lladdr),
            Self::Ndisc(NdiscRepr::NeighborSolicit { lladdr, .. })
            | Self::Ndisc(NdiscRepr::NeighborAdvert { lladdr, .. }) => 24 + ll(lladdr),
            Self::Other { .. } => 4,
        }
    }

    /// Writes the message (zero checksum); call [`Icmpv6Packet::fill_checksum`] after.
    pub fn emit(&self, buf: &mut [u8]) {
        let len = self.buffer_len();
        buf[..len].fill(0);
        let opt = |buf: &mut [u8], at: usize, t: u8, m: &Option<MacAddr>| {
            if let Some(m) = m {
                buf[at] = t;
                buf[at + 1] = 1;
                buf[at + 2..at + 8].copy_from_slice(&m.0);
            }
        };
        match *self {
            Self::EchoRequest { ident, seq } | Self::EchoReply { ident, seq } => {
                buf[0] = if matches!(self, Self::EchoRequest { .. }) {
                    128
                } else {
                    129
                };
                put16(buf, 4, ident);
                put16(buf, 6, seq);
            }
            Self::Ndisc(NdiscRepr::RouterSolicit { lladdr }) => {
                buf[0] = ROUTER_SOLICIT;
                opt(buf, 8, OPT_SOURCE_LLADDR, &lladdr);
            }
            Self::Ndisc(NdiscRepr::RouterAdvert {
                hop_limit,
                flags,
                router_lifetime,
                lladdr,
            }) => {
                buf[0] = ROUTER_ADVERT;
                buf[4] = hop_limit;
                buf[5] = flags;
                put16(buf, 6, router_lifetime);
                opt(buf, 16, OPT_SOURCE_LLADDR, &lladdr);
            }
            Self::Ndisc(NdiscRepr::NeighborSolicit { target, lladdr }) => {
                buf[0] = NEIGHBOR_SOLICIT;
                buf[8..24].copy_from_slice(&target.octets());
                opt(buf, 24, OPT_SOURCE_LLADDR, &lladdr);
            }
            Self::Ndisc(NdiscRepr::NeighborAdvert {
                flags,
                target,
                lladdr,
            }) => {
                buf[0] = NEIGHBOR_ADVERT;
                put32(buf, 4, (flags as u32) << 24);
                buf[8..24].copy_from_slice(&target.octets());
                opt(buf, 24, OPT_TARGET_LLADDR, &lladdr);
            }
            Self::Other { msg_type, code } => {
                buf[0] = msg_type;
                buf[1] = code;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nd_roundtrip_with_checksum() {
        let src: Ipv6Addr = "fe80::1".parse().unwrap();
        let dst: Ipv6Addr = "ff02::1:ff00:2".parse().unwrap();
        for r in [
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
                target: "2001:db8::2".parse().unwrap(),
                lladdr: Some(MacAddr([2, 0, 0, 0, 0, 1])),
            }),
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
                flags: 0x60,
                target: "2001:db8::2".parse().unwrap(),
                lladdr: Some(MacAddr([2, 0, 0, 0, 0, 2])),
            }),
            Icmpv6Repr::EchoRequest { ident: 1, seq: 2 },
        ] {
            let mut b = vec![0u8; r.buffer_len()];
            r.emit(&mut b);
            let ph = checksum::pseudo_v6(&src, &dst, 58, b.len() as u32);
            let mut p = Icmpv6Packet::new_checked(&mut b[..]).unwrap();
            p.fill_checksum(ph);
            assert_eq!(Icmpv6Repr::parse(&p, ph).unwrap(), r);
        }
    }

    #[test]
    fn zero_length_option_is_error() {
        let mut b = [0u8; 32];
        b[0] = NEIGHBOR_SOLICIT;
        b[24] = 1; // option type 1 with length 0
        let p = Icmpv6Packet::new_checked(&b[..]).unwrap();
        assert!(lladdr_option(p.options(), 1).is_err());
        assert!(Icmpv6Packet::new_checked(&b[..20]).is_err());
    }
}
