//! DHCPv6 messages (RFC 8415) between a client and a server (no relay messages): a
//! [`Dhcpv6Packet`] view with named fields and an owned [`Dhcpv6Repr`] with `parse` and
//! `emit`, for the options a server on a link needs: client and server identifiers,
//! IA_NA with its addresses and status, option request, elapsed time, rapid commit,
//! status code, DNS servers and the domain search list (RFC 3646). Malformed input is a
//! [`WireError`], never a panic.

use cirrus_dataplane::wire::{MacAddr, WireError};
use std::net::Ipv6Addr;

type Result<T> = core::result::Result<T, WireError>;

/// UDP port of the server.
pub const SERVER_PORT: u16 = 547;
/// UDP port of the client.
pub const CLIENT_PORT: u16 = 546;
/// All_DHCP_Relay_Agents_and_Servers (where clients send).
pub const ALL_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

mod field {
    use core::ops::Range;
    pub const MSG_TYPE: usize = 0;
    pub const TRANSACTION_ID: Range<usize> = 1..4;
    pub const OPTIONS: usize = 4;
}

/// Option codes.
pub mod opt {
    pub const CLIENTID: u16 = 1;
    pub const SERVERID: u16 = 2;
    pub const IA_NA: u16 = 3;
    pub const IAADDR: u16 = 5;
    pub const ORO: u16 = 6;
    pub const PREFERENCE: u16 = 7;
    pub const ELAPSED_TIME: u16 = 8;
    pub const STATUS_CODE: u16 = 13;
    pub const RAPID_COMMIT: u16 = 14;
    pub const DNS_SERVERS: u16 = 23;
    pub const DOMAIN_LIST: u16 = 24;
}

/// Status codes (RFC 8415 section 21.13).
pub mod status {
    pub const SUCCESS: u16 = 0;
    pub const NO_ADDRS_AVAIL: u16 = 2;
    pub const NOT_ON_LINK: u16 = 4;
}

/// Message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dhcpv6Message {
    Solicit,
    Advertise,
    Request,
    Confirm,
    Renew,
    Rebind,
    Reply,
    Release,
    Decline,
    InformationRequest,
    Other(u8),
}

impl From<u8> for Dhcpv6Message {
    fn from(v: u8) -> Self {
        match v {
            1 => Self::Solicit,
            2 => Self::Advertise,
            3 => Self::Request,
            4 => Self::Confirm,
            5 => Self::Renew,
            6 => Self::Rebind,
            7 => Self::Reply,
            8 => Self::Release,
            9 => Self::Decline,
            11 => Self::InformationRequest,
            o => Self::Other(o),
        }
    }
}

impl From<Dhcpv6Message> for u8 {
    fn from(m: Dhcpv6Message) -> u8 {
        match m {
            Dhcpv6Message::Solicit => 1,
            Dhcpv6Message::Advertise => 2,
            Dhcpv6Message::Request => 3,
            Dhcpv6Message::Confirm => 4,
            Dhcpv6Message::Renew => 5,
            Dhcpv6Message::Rebind => 6,
            Dhcpv6Message::Reply => 7,
            Dhcpv6Message::Release => 8,
            Dhcpv6Message::Decline => 9,
            Dhcpv6Message::InformationRequest => 11,
            Dhcpv6Message::Other(o) => o,
        }
    }
}

/// A view of a DHCPv6 client/server message (the UDP payload).
#[derive(Debug, Clone)]
pub struct Dhcpv6Packet<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Dhcpv6Packet<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        if p.buffer.as_ref().len() < field::OPTIONS {
            return Err(WireError::Truncated("dhcpv6"));
        }
        Ok(p)
    }
    pub fn msg_type(&self) -> Dhcpv6Message {
        self.buffer.as_ref()[field::MSG_TYPE].into()
    }
    pub fn transaction_id(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::TRANSACTION_ID];
        u32::from_be_bytes([0, b[0], b[1], b[2]])
    }
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[field::OPTIONS..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Dhcpv6Packet<T> {
    pub fn set_msg_type(&mut self, m: Dhcpv6Message) {
        self.buffer.as_mut()[field::MSG_TYPE] = m.into();
    }
    pub fn set_transaction_id(&mut self, id: u32) {
        self.buffer.as_mut()[field::TRANSACTION_ID].copy_from_slice(&id.to_be_bytes()[1..]);
    }
    pub fn options_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::OPTIONS..]
    }
}

/// Iterates over `(code, data)` of an options area; a length past the end is an error.
pub fn options(mut area: &[u8]) -> impl Iterator<Item = Result<(u16, &[u8])>> {
    std::iter::from_fn(move || {
        if area.is_empty() {
            return None;
        }
        let Some(h) = area.get(..4) else {
            area = &[];
            return Some(Err(WireError::Truncated("dhcpv6 option")));
        };
        let code = u16::from_be_bytes([h[0], h[1]]);
        let len = u16::from_be_bytes([h[2], h[3]]) as usize;
        let Some(data) = area.get(4..4 + len) else {
            area = &[];
            return Some(Err(WireError::Truncated("dhcpv6 option")));
        };
        area = &area[4 + len..];
        Some(Ok((code, data)))
    })
}

/// An address in an IA_NA (option 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IaAddress {
    pub addr: Ipv6Addr,
    pub preferred: u32,
    pub valid: u32,
}

/// A status code option: code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub code: u16,
    pub message: String,
}

/// An identity association for non-temporary addresses (option 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaNa {
    pub iaid: u32,
    pub t1: u32,
    pub t2: u32,
    pub addresses: Vec<IaAddress>,
    pub status: Option<Status>,
}

/// An owned DHCPv6 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dhcpv6Repr {
    pub msg_type: Dhcpv6Message,
    /// 24 bits.
    pub transaction_id: u32,
    pub client_id: Option<Vec<u8>>,
    pub server_id: Option<Vec<u8>>,
    pub ia_na: Vec<IaNa>,
    pub oro: Vec<u16>,
    pub preference: Option<u8>,
    pub elapsed_time: Option<u16>,
    pub rapid_commit: bool,
    pub status: Option<Status>,
    pub dns_servers: Vec<Ipv6Addr>,
    pub domain_list: Vec<String>,
}

impl Dhcpv6Repr {
    pub fn new(msg_type: Dhcpv6Message, transaction_id: u32) -> Self {
        Self {
            msg_type,
            transaction_id: transaction_id & 0x00ff_ffff,
            client_id: None,
            server_id: None,
            ia_na: Vec::new(),
            oro: Vec::new(),
            preference: None,
            elapsed_time: None,
            rapid_commit: false,
            status: None,
            dns_servers: Vec::new(),
            domain_list: Vec::new(),
        }
    }
}

/// A server DUID: DUID-LL (type 3) over Ethernet (RFC 8415 section 11.4).
pub fn duid_ll(mac: MacAddr) -> Vec<u8> {
    let mut d = vec![0, 3, 0, 1];
    d.extend_from_slice(&mac.0);
    d
}

fn be16(d: &[u8]) -> u16 {
    u16::from_be_bytes([d[0], d[1]])
}

fn be32(d: &[u8]) -> u32 {
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn addr_of(d: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&d[..16]);
    Ipv6Addr::from(a)
}

fn status_of(d: &[u8]) -> Result<Status> {
    if d.len() < 2 {
        return Err(WireError::Malformed("dhcpv6 status code"));
    }
    Ok(Status {
        code: be16(d),
        message: String::from_utf8_lossy(&d[2..]).into_owned(),
    })
}

/// Uncompressed DNS names, one after the other (RFC 8415 section 10).
fn names_of(mut d: &[u8]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    while !d.is_empty() {
        let mut labels: Vec<String> = Vec::new();
        loop {
            let Some(&n) = d.first() else {
                return Err(WireError::Truncated("dhcpv6 domain name"));
            };
            if n == 0 {
                d = &d[1..];
                break;
            }
            if n > 63 {
                return Err(WireError::Malformed("dhcpv6 domain label"));
            }
            let Some(l) = d.get(1..1 + n as usize) else {
                return Err(WireError::Truncated("dhcpv6 domain name"));
            };
            // Host names are ASCII (IDNs travel as punycode); a '.' inside a label could
            // not be told from a label boundary.
            if !l.is_ascii() || l.contains(&b'.') {
                return Err(WireError::Malformed("dhcpv6 domain label"));
            }
            labels.push(String::from_utf8_lossy(l).into_owned());
            d = &d[1 + n as usize..];
        }
        out.push(labels.join("."));
    }
    Ok(out)
}

fn ia_na_of(d: &[u8]) -> Result<IaNa> {
    if d.len() < 12 {
        return Err(WireError::Malformed("dhcpv6 ia_na"));
    }
    let mut ia = IaNa {
        iaid: be32(d),
        t1: be32(&d[4..]),
        t2: be32(&d[8..]),
        addresses: Vec::new(),
        status: None,
    };
    for o in options(&d[12..]) {
        let (code, data) = o?;
        match code {
            opt::IAADDR => {
                if data.len() < 24 {
                    return Err(WireError::Malformed("dhcpv6 iaaddr"));
                }
                // Options inside IAADDR (a status) are length-checked and skipped.
                for o in options(&data[24..]) {
                    o?;
                }
                ia.addresses.push(IaAddress {
                    addr: addr_of(data),
                    preferred: be32(&data[16..]),
                    valid: be32(&data[20..]),
                });
            }
            opt::STATUS_CODE => ia.status = Some(status_of(data)?),
            _ => {}
        }
    }
    Ok(ia)
}

fn put(out: &mut Vec<u8>, code: u16, data: &[u8]) {
    let data = &data[..data.len().min(u16::MAX as usize)];
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

fn status_bytes(s: &Status) -> Vec<u8> {
    let mut d = s.code.to_be_bytes().to_vec();
    d.extend_from_slice(s.message.as_bytes());
    d
}

impl Dhcpv6Repr {
    pub fn parse<T: AsRef<[u8]>>(p: &Dhcpv6Packet<T>) -> Result<Self> {
        let mut r = Self::new(p.msg_type(), p.transaction_id());
        for o in options(p.options()) {
            let (code, d) = o?;
            match code {
                opt::CLIENTID => r.client_id = Some(d.to_vec()),
                opt::SERVERID => r.server_id = Some(d.to_vec()),
                opt::IA_NA => r.ia_na.push(ia_na_of(d)?),
                opt::ORO => {
                    if d.len() % 2 != 0 {
                        return Err(WireError::Malformed("dhcpv6 oro"));
                    }
                    r.oro = d.chunks_exact(2).map(be16).collect();
                }
                opt::PREFERENCE => match d {
                    [p] => r.preference = Some(*p),
                    _ => return Err(WireError::Malformed("dhcpv6 preference")),
                },
                opt::ELAPSED_TIME => match d {
                    [a, b] => r.elapsed_time = Some(u16::from_be_bytes([*a, *b])),
                    _ => return Err(WireError::Malformed("dhcpv6 elapsed time")),
                },
                opt::RAPID_COMMIT => r.rapid_commit = true,
                opt::STATUS_CODE => r.status = Some(status_of(d)?),
                opt::DNS_SERVERS => {
                    if d.len() % 16 != 0 {
                        return Err(WireError::Malformed("dhcpv6 dns servers"));
                    }
                    r.dns_servers = d.chunks_exact(16).map(addr_of).collect();
                }
                opt::DOMAIN_LIST => r.domain_list = names_of(d)?,
                _ => {}
            }
        }
        Ok(r)
    }

    fn options_bytes(&self) -> Vec<u8> {
        let mut o = Vec::with_capacity(128);
        if let Some(c) = &self.client_id {
            put(&mut o, opt::CLIENTID, c);
        }
        if let Some(s) = &self.server_id {
            put(&mut o, opt::SERVERID, s);
        }
        for ia in &self.ia_na {
            let mut d = Vec::with_capacity(12 + 28 * ia.addresses.len());
            d.extend_from_slice(&ia.iaid.to_be_bytes());
            d.extend_from_slice(&ia.t1.to_be_bytes());
            d.extend_from_slice(&ia.t2.to_be_bytes());
            for a in &ia.addresses {
                let mut ad = a.addr.octets().to_vec();
                ad.extend_from_slice(&a.preferred.to_be_bytes());
                ad.extend_from_slice(&a.valid.to_be_bytes());
                put(&mut d, opt::IAADDR, &ad);
            }
            if let Some(s) = &ia.status {
                put(&mut d, opt::STATUS_CODE, &status_bytes(s));
            }
            put(&mut o, opt::IA_NA, &d);
        }
        if !self.oro.is_empty() {
            let d: Vec<u8> = self.oro.iter().flat_map(|c| c.to_be_bytes()).collect();
            put(&mut o, opt::ORO, &d);
        }
        if let Some(p) = self.preference {
            put(&mut o, opt::PREFERENCE, &[p]);
        }
        if let Some(t) = self.elapsed_time {
            put(&mut o, opt::ELAPSED_TIME, &t.to_be_bytes());
        }
        if self.rapid_commit {
            put(&mut o, opt::RAPID_COMMIT, &[]);
        }
        if let Some(s) = &self.status {
            put(&mut o, opt::STATUS_CODE, &status_bytes(s));
        }
        if !self.dns_servers.is_empty() {
            let d: Vec<u8> = self.dns_servers.iter().flat_map(|a| a.octets()).collect();
            put(&mut o, opt::DNS_SERVERS, &d);
        }
        if !self.domain_list.is_empty() {
            let mut d = Vec::new();
            for name in &self.domain_list {
                for l in name.split('.').filter(|l| !l.is_empty()) {
                    let l = &l.as_bytes()[..l.len().min(63)];
                    d.push(l.len() as u8);
                    d.extend_from_slice(l);
                }
                d.push(0);
            }
            put(&mut o, opt::DOMAIN_LIST, &d);
        }
        o
    }

    pub fn buffer_len(&self) -> usize {
        field::OPTIONS + self.options_bytes().len()
    }

    /// Writes the message; `p` must hold [`Self::buffer_len`] bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut Dhcpv6Packet<T>) {
        p.set_msg_type(self.msg_type);
        p.set_transaction_id(self.transaction_id);
        let o = self.options_bytes();
        p.options_mut()[..o.len()].copy_from_slice(&o);
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; self.buffer_len()];
        self.emit(&mut Dhcpv6Packet::new_unchecked(&mut b[..]));
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SOLICIT as ISC dhclient 4.4 sends it: client id (DUID-LLT), ORO (DNS, domain
    /// list), elapsed time, IA_NA with IAID and zero times. Bytes written out by hand.
    #[rustfmt::skip]
    const SOLICIT: &[u8] = &[
        1, 0xab, 0xcd, 0xef,
        0, 1, 0, 14, 0, 1, 0, 1, 0x2e, 0x5f, 0x3a, 0x10, 2, 0, 0, 0, 0, 3,
        0, 6, 0, 4, 0, 23, 0, 24,
        0, 8, 0, 2, 0, 0,
        0, 3, 0, 12, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    #[test]
    fn parses_a_solicit_from_fixed_bytes() {
        let r = Dhcpv6Repr::parse(&Dhcpv6Packet::new_checked(SOLICIT).unwrap()).unwrap();
        assert_eq!(r.msg_type, Dhcpv6Message::Solicit);
        assert_eq!(r.transaction_id, 0xabcdef);
        assert_eq!(r.client_id.as_ref().unwrap().len(), 14);
        assert_eq!(r.oro, vec![23, 24]);
        assert_eq!(r.elapsed_time, Some(0));
        assert_eq!(
            r.ia_na,
            vec![IaNa {
                iaid: 9,
                t1: 0,
                t2: 0,
                addresses: vec![],
                status: None
            }]
        );
        // Emitted again (options in this module's order, IA_NA before ORO): the same
        // message.
        let b = r.to_bytes();
        assert_eq!(b.len(), SOLICIT.len());
        assert_eq!(
            Dhcpv6Repr::parse(&Dhcpv6Packet::new_checked(&b[..]).unwrap()).unwrap(),
            r
        );
    }

    #[test]
    fn emits_a_reply_with_fixed_bytes() {
        let mut r = Dhcpv6Repr::new(Dhcpv6Message::Reply, 0x010203);
        r.server_id = Some(duid_ll(MacAddr([0, 0, 0x5e, 0, 1, 0])));
        r.ia_na.push(IaNa {
            iaid: 9,
            t1: 1800,
            t2: 2880,
            addresses: vec![IaAddress {
                addr: "fd00::3".parse().unwrap(),
                preferred: 3600,
                valid: 3600,
            }],
            status: None,
        });
        r.domain_list = vec!["tenant.example".into()];
        #[rustfmt::skip]
        let want: &[u8] = &[
            7, 1, 2, 3,
            0, 2, 0, 10, 0, 3, 0, 1, 0, 0, 0x5e, 0, 1, 0,
            0, 3, 0, 40, 0, 0, 0, 9, 0, 0, 0x07, 0x08, 0, 0, 0x0b, 0x40,
              0, 5, 0, 24, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3,
              0, 0, 0x0e, 0x10, 0, 0, 0x0e, 0x10,
            0, 24, 0, 16, 6, b't', b'e', b'n', b'a', b'n', b't', 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0,
        ];
        assert_eq!(r.to_bytes(), want);
        assert_eq!(
            Dhcpv6Repr::parse(&Dhcpv6Packet::new_checked(want).unwrap()).unwrap(),
            r
        );
    }

    #[test]
    fn malformed_messages_are_errors() {
        assert!(Dhcpv6Packet::new_checked(&SOLICIT[..3]).is_err());
        let parse = |b: &[u8]| Dhcpv6Repr::parse(&Dhcpv6Packet::new_checked(b).unwrap());
        assert_eq!(
            parse(&SOLICIT[..SOLICIT.len() - 1]),
            Err(WireError::Truncated("dhcpv6 option"))
        );
        let mut b = SOLICIT.to_vec();
        b.extend_from_slice(&[0, 3, 0, 4, 0, 0, 0, 1]);
        assert_eq!(parse(&b), Err(WireError::Malformed("dhcpv6 ia_na")));
        let mut b = SOLICIT.to_vec();
        b.extend_from_slice(&[0, 24, 0, 3, 5, b'a', b'b']);
        assert_eq!(parse(&b), Err(WireError::Truncated("dhcpv6 domain name")));
        // Found by the dhcp fuzz target: a label holding a '.' (or a non-ASCII byte) could
        // not be written back as the same name.
        let found: &[u8] = &[
            0, 0, 7, 0x32, 0, 24, 0, 8, 0, 4, 0, 0, 0xff, 0x2e, 0, 0, 0, 1, 0, 0,
        ];
        assert_eq!(
            parse(found),
            Err(WireError::Malformed("dhcpv6 domain label"))
        );
    }
}
