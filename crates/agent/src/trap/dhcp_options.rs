//! DHCPv4 options (RFC 2132): their codes, the iterator over an options area, the joining
//! of repeated codes (RFC 3396), classless static routes (RFC 3442) and the readers of
//! option values. Used by [`super::dhcp_wire`].

use cirrus_dataplane::wire::WireError;
use std::net::Ipv4Addr;

type Result<T> = core::result::Result<T, WireError>;

/// Option codes this implementation reads or writes.
pub mod opt {
    pub const PAD: u8 = 0;
    pub const SUBNET_MASK: u8 = 1;
    pub const ROUTER: u8 = 3;
    pub const DNS: u8 = 6;
    pub const HOST_NAME: u8 = 12;
    pub const DOMAIN_NAME: u8 = 15;
    pub const INTERFACE_MTU: u8 = 26;
    pub const BROADCAST: u8 = 28;
    pub const REQUESTED_IP: u8 = 50;
    pub const LEASE_TIME: u8 = 51;
    pub const OVERLOAD: u8 = 52;
    pub const MESSAGE_TYPE: u8 = 53;
    pub const SERVER_ID: u8 = 54;
    pub const PARAMETER_REQUEST_LIST: u8 = 55;
    pub const MESSAGE: u8 = 56;
    pub const MAX_MESSAGE_SIZE: u8 = 57;
    pub const RENEWAL_TIME: u8 = 58;
    pub const REBINDING_TIME: u8 = 59;
    pub const CLIENT_ID: u8 = 61;
    pub const CLASSLESS_ROUTES: u8 = 121;
    pub const END: u8 = 255;
}

/// Iterates over `(code, data)` in an options area: pads skipped, stops at END (or at the
/// end of the area). A length running past the area is an error.
pub fn options(mut area: &[u8]) -> impl Iterator<Item = Result<(u8, &[u8])>> {
    std::iter::from_fn(move || {
        loop {
            match *area.first()? {
                opt::PAD => area = &area[1..],
                opt::END => {
                    area = &[];
                    return None;
                }
                code => {
                    let Some(&len) = area.get(1) else {
                        area = &[];
                        return Some(Err(WireError::Truncated("dhcp option")));
                    };
                    let end = 2 + len as usize;
                    let Some(data) = area.get(2..end) else {
                        area = &[];
                        return Some(Err(WireError::Truncated("dhcp option")));
                    };
                    area = &area[end..];
                    return Some(Ok((code, data)));
                }
            }
        }
    })
}

/// A classless static route (option 121): destination prefix and router.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClasslessRoute {
    pub prefix: Ipv4Addr,
    pub prefix_len: u8,
    pub router: Ipv4Addr,
}

impl ClasslessRoute {
    pub(super) fn wire_len(&self) -> usize {
        1 + (self.prefix_len as usize).div_ceil(8) + 4
    }
    pub(super) fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.prefix_len);
        let n = (self.prefix_len as usize).div_ceil(8);
        out.extend_from_slice(&self.prefix.octets()[..n]);
        out.extend_from_slice(&self.router.octets());
    }
    /// Reads the routes of one option; host bits past the length are cleared (RFC 3442).
    pub(super) fn parse_all(mut d: &[u8]) -> Result<Vec<Self>> {
        let mut v = Vec::new();
        while let Some(&len) = d.first() {
            if len > 32 {
                return Err(WireError::Malformed("dhcp classless route length"));
            }
            let n = (len as usize).div_ceil(8);
            let Some(body) = d.get(1..1 + n + 4) else {
                return Err(WireError::Truncated("dhcp classless route"));
            };
            let mut p = [0u8; 4];
            p[..n].copy_from_slice(&body[..n]);
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            v.push(Self {
                prefix: Ipv4Addr::from(u32::from_be_bytes(p) & mask),
                prefix_len: len,
                router: Ipv4Addr::new(body[n], body[n + 1], body[n + 2], body[n + 3]),
            });
            d = &d[1 + n + 4..];
        }
        Ok(v)
    }
}

/// Adds the options of `area` to `joined`, appending the data of a repeated code to its
/// first occurrence (RFC 3396).
pub(super) fn gather(joined: &mut Vec<(u8, Vec<u8>)>, area: &[u8]) -> Result<()> {
    for o in options(area) {
        let (code, data) = o?;
        match joined.iter_mut().find(|(c, _)| *c == code) {
            Some((_, v)) => v.extend_from_slice(data),
            None => joined.push((code, data.to_vec())),
        }
    }
    Ok(())
}

pub(super) fn ip4(d: &[u8], what: &'static str) -> Result<Ipv4Addr> {
    match d {
        [a, b, c, e] => Ok(Ipv4Addr::new(*a, *b, *c, *e)),
        _ => Err(WireError::Malformed(what)),
    }
}

pub(super) fn ip4_list(d: &[u8], what: &'static str) -> Result<Vec<Ipv4Addr>> {
    if d.is_empty() || !d.len().is_multiple_of(4) {
        return Err(WireError::Malformed(what));
    }
    Ok(d.chunks_exact(4)
        .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
        .collect())
}

pub(super) fn u32_of(d: &[u8], what: &'static str) -> Result<u32> {
    let b: [u8; 4] = d.try_into().map_err(|_| WireError::Malformed(what))?;
    Ok(u32::from_be_bytes(b))
}

pub(super) fn u16_of(d: &[u8], what: &'static str) -> Result<u16> {
    let b: [u8; 2] = d.try_into().map_err(|_| WireError::Malformed(what))?;
    Ok(u16::from_be_bytes(b))
}
