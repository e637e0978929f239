//! Route-target constraint NLRI (RFC 4684, AFI 1 / SAFI 132), written by hand.
//!
//! Why not netgauze: its 0.13 parser reads `(len - 32) / 8` octets of target, which is one octet
//! short for a prefix that is not a multiple of 8 bits (RFC 4684 allows any length 32..=96, and
//! tcpdump's `bgp-rt-prefix` capture has a /51), and its writer cannot emit such prefixes either.
//! So MP_REACH/MP_UNREACH attributes for 1/132 are cut out of the UPDATE before netgauze sees it,
//! and spliced back in after netgauze wrote the rest.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::CodecError;
use crate::ext_community::ExtCommunity;
use crate::types::RtMembership;

const MP_REACH: u8 = 14;
const MP_UNREACH: u8 = 15;
const EXT_LEN: u8 = 0x10;

/// Route-target NLRI with their ADD-PATH path ids.
pub(crate) type RtItems = Vec<(Option<u32>, RtMembership)>;

/// The RTC parts cut out of an UPDATE body.
#[derive(Debug, Default)]
pub(crate) struct RtcParts {
    pub reach: Option<(IpAddr, RtItems)>,
    pub unreach: Option<RtItems>,
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], CodecError> {
    if b.len() < n {
        return Err(CodecError::Truncated);
    }
    let (h, t) = b.split_at(n);
    *b = t;
    Ok(h)
}

fn parse_nlri(mut b: &[u8], add_path: bool) -> Result<RtItems, CodecError> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let path_id = if add_path {
            let p = take(&mut b, 4)?;
            Some(u32::from_be_bytes([p[0], p[1], p[2], p[3]]))
        } else {
            None
        };
        let bits = take(&mut b, 1)?[0];
        if bits == 0 {
            out.push((path_id, RtMembership::default_route()));
            continue;
        }
        if !(32..=96).contains(&bits) {
            return Err(CodecError::Invalid(format!(
                "route-target membership prefix length {bits} (must be 0 or 32..=96)"
            )));
        }
        let bytes = take(&mut b, usize::from(bits).div_ceil(8))?;
        let origin_as = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let mut target = [0u8; 8];
        target[..bytes.len() - 4].copy_from_slice(&bytes[4..]);
        let target_bits = bits - 32;
        // Zero the bits past the prefix so equal prefixes compare equal.
        if target_bits == 0 {
            target = [0; 8];
        } else if target_bits < 64 {
            let v = u64::from_be_bytes(target) & !(u64::MAX >> target_bits);
            target = v.to_be_bytes();
        }
        out.push((
            path_id,
            RtMembership {
                origin_as,
                prefix_len: bits,
                target: ExtCommunity(target),
            },
        ));
    }
    Ok(out)
}

fn write_nlri(out: &mut Vec<u8>, items: &[(Option<u32>, RtMembership)]) {
    for (path_id, m) in items {
        if let Some(p) = path_id {
            out.extend_from_slice(&p.to_be_bytes());
        }
        if m.prefix_len == 0 {
            out.push(0);
            continue;
        }
        out.push(m.prefix_len.clamp(32, 96));
        out.extend_from_slice(&m.origin_as.to_be_bytes());
        let n = usize::from(m.target_bits()).div_ceil(8);
        out.extend_from_slice(&m.target.0[..n]);
    }
}

/// Cuts RTC MP_REACH/MP_UNREACH out of a full UPDATE message. Returns the message to hand to
/// netgauze (unchanged when there was nothing to cut) and the parts found.
pub(crate) fn split(msg: &[u8], add_path: bool) -> Result<(Option<Vec<u8>>, RtcParts), CodecError> {
    let mut parts = RtcParts::default();
    let mut b = &msg[19..];
    let wlen = take(&mut b, 2)?;
    let wlen = usize::from(u16::from_be_bytes([wlen[0], wlen[1]]));
    take(&mut b, wlen)?;
    let alen_at = 19 + 2 + wlen;
    let alen = take(&mut b, 2)?;
    let alen = usize::from(u16::from_be_bytes([alen[0], alen[1]]));
    let mut attrs = take(&mut b, alen)?;
    let attrs_start = alen_at + 2;
    let mut cut: Vec<(usize, usize)> = Vec::new();
    let mut offset = attrs_start;
    while !attrs.is_empty() {
        let start = offset;
        let hdr = take(&mut attrs, 2)?;
        let (flags, code) = (hdr[0], hdr[1]);
        let len = if flags & EXT_LEN != 0 {
            let l = take(&mut attrs, 2)?;
            usize::from(u16::from_be_bytes([l[0], l[1]]))
        } else {
            usize::from(take(&mut attrs, 1)?[0])
        };
        let hlen = if flags & EXT_LEN != 0 { 4 } else { 3 };
        let mut value = take(&mut attrs, len)?;
        offset += hlen + len;
        if (code == MP_REACH || code == MP_UNREACH) && value.len() >= 3 && value[..3] == [0, 1, 132]
        {
            take(&mut value, 3)?;
            if code == MP_REACH {
                let nhlen = usize::from(take(&mut value, 1)?[0]);
                let nh = take(&mut value, nhlen)?;
                let nh = match nhlen {
                    4 => IpAddr::V4(Ipv4Addr::new(nh[0], nh[1], nh[2], nh[3])),
                    16 | 32 => {
                        let mut a = [0u8; 16];
                        a.copy_from_slice(&nh[..16]);
                        IpAddr::V6(Ipv6Addr::from(a))
                    }
                    n => return Err(CodecError::Invalid(format!("RTC next hop length {n}"))),
                };
                take(&mut value, 1)?; // reserved (SNPA count)
                parts.reach = Some((nh, parse_nlri(value, add_path)?));
            } else {
                parts.unreach = Some(parse_nlri(value, add_path)?);
            }
            cut.push((start, offset));
        }
    }
    if cut.is_empty() {
        return Ok((None, parts));
    }
    let removed: usize = cut.iter().map(|(s, e)| e - s).sum();
    let mut out = Vec::with_capacity(msg.len() - removed);
    let mut pos = 0;
    for (s, e) in &cut {
        out.extend_from_slice(&msg[pos..*s]);
        pos = *e;
    }
    out.extend_from_slice(&msg[pos..]);
    fix_lengths(&mut out, alen_at, alen - removed);
    Ok((Some(out), parts))
}

fn fix_lengths(msg: &mut [u8], alen_at: usize, alen: usize) {
    let total = msg.len() as u16;
    msg[16..18].copy_from_slice(&total.to_be_bytes());
    msg[alen_at..alen_at + 2].copy_from_slice(&(alen as u16).to_be_bytes());
}

/// Builds the RTC MP_REACH (when `next_hop` is given) or MP_UNREACH attribute.
pub(crate) fn attribute(
    next_hop: Option<IpAddr>,
    items: &[(Option<u32>, RtMembership)],
) -> Vec<u8> {
    let mut v = vec![0, 1, 132];
    if let Some(nh) = next_hop {
        match nh {
            IpAddr::V4(a) => {
                v.push(4);
                v.extend_from_slice(&a.octets());
            }
            IpAddr::V6(a) => {
                v.push(16);
                v.extend_from_slice(&a.octets());
            }
        }
        v.push(0);
    }
    write_nlri(&mut v, items);
    let code = if next_hop.is_some() {
        MP_REACH
    } else {
        MP_UNREACH
    };
    let mut a = Vec::with_capacity(v.len() + 4);
    if v.len() > 255 {
        a.extend_from_slice(&[0x90, code]);
        a.extend_from_slice(&(v.len() as u16).to_be_bytes());
    } else {
        a.extend_from_slice(&[0x80, code, v.len() as u8]);
    }
    a.extend_from_slice(&v);
    a
}

/// Inserts a ready-made attribute into a full UPDATE message, keeping attributes in ascending
/// type order (what most speakers do, so captures re-encode byte for byte).
pub(crate) fn splice(msg: &mut Vec<u8>, attr: &[u8]) -> Result<(), CodecError> {
    let code = attr[1];
    let wlen = usize::from(u16::from_be_bytes([msg[19], msg[20]]));
    let alen_at = 21 + wlen;
    let alen = usize::from(u16::from_be_bytes([msg[alen_at], msg[alen_at + 1]]));
    let mut at = alen_at + 2;
    let end = at + alen;
    while at < end {
        let (flags, c) = (msg[at], msg[at + 1]);
        if c > code {
            break;
        }
        let (h, l) = if flags & EXT_LEN != 0 {
            (
                4,
                usize::from(u16::from_be_bytes([msg[at + 2], msg[at + 3]])),
            )
        } else {
            (3, usize::from(msg[at + 2]))
        };
        at += h + l;
    }
    msg.splice(at..at, attr.iter().copied());
    if msg.len() > 4096 {
        return Err(CodecError::TooLong(msg.len()));
    }
    fix_lengths(msg, alen_at, alen + attr.len());
    Ok(())
}
