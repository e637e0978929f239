//! DHCPv4 messages (RFC 2131 over the BOOTP layout of RFC 951, options of RFC 2132, long
//! options of RFC 3396, classless static routes of RFC 3442), the smoltcp way: a
//! [`DhcpPacket`] view with named field ranges and setters, and an owned [`DhcpRepr`] with
//! `parse` and `emit`. Malformed input is a [`WireError`], never a panic.

pub use super::dhcp_options::{ClasslessRoute, opt, options};
use super::dhcp_options::{gather, ip4, ip4_list, u16_of, u32_of};
use cirrus_dataplane::wire::{MacAddr, WireError};
use std::net::Ipv4Addr;

type Result<T> = core::result::Result<T, WireError>;

/// UDP port of the server.
pub const SERVER_PORT: u16 = 67;
/// UDP port of the client.
pub const CLIENT_PORT: u16 = 68;
/// The magic cookie that starts the options (RFC 2131 section 3).
pub const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];
/// The smallest BOOTP message relays and old clients accept (RFC 951: 300 octets); shorter
/// answers are padded to it.
pub const MIN_MESSAGE_LEN: usize = 300;

mod field {
    use core::ops::Range;
    pub const OP: usize = 0;
    pub const HTYPE: usize = 1;
    pub const HLEN: usize = 2;
    pub const HOPS: usize = 3;
    pub const XID: Range<usize> = 4..8;
    pub const SECS: Range<usize> = 8..10;
    pub const FLAGS: Range<usize> = 10..12;
    pub const CIADDR: Range<usize> = 12..16;
    pub const YIADDR: Range<usize> = 16..20;
    pub const SIADDR: Range<usize> = 20..24;
    pub const GIADDR: Range<usize> = 24..28;
    pub const CHADDR: Range<usize> = 28..44;
    pub const SNAME: Range<usize> = 44..108;
    pub const FILE: Range<usize> = 108..236;
    pub const MAGIC: Range<usize> = 236..240;
    pub const OPTIONS: usize = 240;
}

/// BOOTP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DhcpOp {
    #[default]
    Request,
    Reply,
}

/// DHCP message type (option 53).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageType {
    Discover,
    Offer,
    Request,
    Decline,
    Ack,
    Nak,
    Release,
    Inform,
    Other(u8),
    /// No option 53: a plain BOOTP message.
    #[default]
    Bootp,
}

impl From<u8> for MessageType {
    fn from(v: u8) -> Self {
        match v {
            1 => Self::Discover,
            2 => Self::Offer,
            3 => Self::Request,
            4 => Self::Decline,
            5 => Self::Ack,
            6 => Self::Nak,
            7 => Self::Release,
            8 => Self::Inform,
            o => Self::Other(o),
        }
    }
}

impl MessageType {
    fn code(self) -> Option<u8> {
        Some(match self {
            Self::Discover => 1,
            Self::Offer => 2,
            Self::Request => 3,
            Self::Decline => 4,
            Self::Ack => 5,
            Self::Nak => 6,
            Self::Release => 7,
            Self::Inform => 8,
            Self::Other(o) => o,
            Self::Bootp => return None,
        })
    }
}

/// A read/write view of a BOOTP/DHCP message (the UDP payload).
#[derive(Debug, Clone)]
pub struct DhcpPacket<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> DhcpPacket<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    /// Checks that the fixed part and the magic cookie's room are there.
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < field::OPTIONS {
            return Err(WireError::Truncated("dhcp"));
        }
        Ok(())
    }
    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }
    fn ip_at(&self, r: core::ops::Range<usize>) -> Ipv4Addr {
        let b = &self.b()[r];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
    pub fn op(&self) -> u8 {
        self.b()[field::OP]
    }
    pub fn htype(&self) -> u8 {
        self.b()[field::HTYPE]
    }
    pub fn hlen(&self) -> u8 {
        self.b()[field::HLEN]
    }
    pub fn hops(&self) -> u8 {
        self.b()[field::HOPS]
    }
    pub fn xid(&self) -> u32 {
        let b = &self.b()[field::XID];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    pub fn secs(&self) -> u16 {
        let b = &self.b()[field::SECS];
        u16::from_be_bytes([b[0], b[1]])
    }
    pub fn flags(&self) -> u16 {
        let b = &self.b()[field::FLAGS];
        u16::from_be_bytes([b[0], b[1]])
    }
    pub fn ciaddr(&self) -> Ipv4Addr {
        self.ip_at(field::CIADDR)
    }
    pub fn yiaddr(&self) -> Ipv4Addr {
        self.ip_at(field::YIADDR)
    }
    pub fn siaddr(&self) -> Ipv4Addr {
        self.ip_at(field::SIADDR)
    }
    pub fn giaddr(&self) -> Ipv4Addr {
        self.ip_at(field::GIADDR)
    }
    /// The first six bytes of `chaddr` (the Ethernet address when htype/hlen say so).
    pub fn client_hw(&self) -> MacAddr {
        let mut m = [0u8; 6];
        m.copy_from_slice(&self.b()[field::CHADDR][..6]);
        MacAddr(m)
    }
    pub fn sname(&self) -> &[u8] {
        &self.b()[field::SNAME]
    }
    pub fn file(&self) -> &[u8] {
        &self.b()[field::FILE]
    }
    pub fn magic(&self) -> &[u8] {
        &self.b()[field::MAGIC]
    }
    /// The options area after the cookie.
    pub fn options(&self) -> &[u8] {
        &self.b()[field::OPTIONS..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> DhcpPacket<T> {
    fn m(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }
    pub fn set_op(&mut self, v: u8) {
        self.m()[field::OP] = v;
    }
    pub fn set_htype(&mut self, v: u8) {
        self.m()[field::HTYPE] = v;
    }
    pub fn set_hlen(&mut self, v: u8) {
        self.m()[field::HLEN] = v;
    }
    pub fn set_hops(&mut self, v: u8) {
        self.m()[field::HOPS] = v;
    }
    pub fn set_xid(&mut self, v: u32) {
        self.m()[field::XID].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_secs(&mut self, v: u16) {
        self.m()[field::SECS].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_flags(&mut self, v: u16) {
        self.m()[field::FLAGS].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_ciaddr(&mut self, a: Ipv4Addr) {
        self.m()[field::CIADDR].copy_from_slice(&a.octets());
    }
    pub fn set_yiaddr(&mut self, a: Ipv4Addr) {
        self.m()[field::YIADDR].copy_from_slice(&a.octets());
    }
    pub fn set_siaddr(&mut self, a: Ipv4Addr) {
        self.m()[field::SIADDR].copy_from_slice(&a.octets());
    }
    pub fn set_giaddr(&mut self, a: Ipv4Addr) {
        self.m()[field::GIADDR].copy_from_slice(&a.octets());
    }
    /// Writes the Ethernet address and zeroes the rest of `chaddr`.
    pub fn set_client_hw(&mut self, m: MacAddr) {
        let c = &mut self.m()[field::CHADDR];
        c.fill(0);
        c[..6].copy_from_slice(&m.0);
    }
    pub fn clear_sname_file(&mut self) {
        self.m()[field::SNAME.start..field::FILE.end].fill(0);
    }
    pub fn set_magic(&mut self) {
        self.m()[field::MAGIC].copy_from_slice(&MAGIC_COOKIE);
    }
    pub fn options_mut(&mut self) -> &mut [u8] {
        &mut self.m()[field::OPTIONS..]
    }
}

/// An owned DHCP message: the BOOTP fields and the options this server reads or writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpRepr {
    pub op: DhcpOp,
    pub message_type: MessageType,
    pub xid: u32,
    pub secs: u16,
    /// The broadcast flag (RFC 2131 figure 2).
    pub broadcast: bool,
    pub ciaddr: Ipv4Addr,
    pub yiaddr: Ipv4Addr,
    pub siaddr: Ipv4Addr,
    pub giaddr: Ipv4Addr,
    pub client_hw: MacAddr,
    pub requested_ip: Option<Ipv4Addr>,
    pub server_id: Option<Ipv4Addr>,
    pub parameter_request_list: Vec<u8>,
    pub max_message_size: Option<u16>,
    pub client_id: Option<Vec<u8>>,
    pub subnet_mask: Option<Ipv4Addr>,
    pub routers: Vec<Ipv4Addr>,
    pub dns_servers: Vec<Ipv4Addr>,
    pub host_name: Option<String>,
    pub domain_name: Option<String>,
    pub interface_mtu: Option<u16>,
    pub broadcast_address: Option<Ipv4Addr>,
    pub lease_time: Option<u32>,
    pub renewal_time: Option<u32>,
    pub rebinding_time: Option<u32>,
    pub classless_routes: Vec<ClasslessRoute>,
    /// Option 56: the reason a NAK gives.
    pub message: Option<String>,
}

impl Default for DhcpRepr {
    /// An empty BOOTREQUEST: every address 0.0.0.0, no options.
    fn default() -> Self {
        let z = Ipv4Addr::UNSPECIFIED;
        Self {
            op: DhcpOp::Request,
            message_type: MessageType::Bootp,
            xid: 0,
            secs: 0,
            broadcast: false,
            ciaddr: z,
            yiaddr: z,
            siaddr: z,
            giaddr: z,
            client_hw: MacAddr::ZERO,
            requested_ip: None,
            server_id: None,
            parameter_request_list: Vec::new(),
            max_message_size: None,
            client_id: None,
            subnet_mask: None,
            routers: Vec::new(),
            dns_servers: Vec::new(),
            host_name: None,
            domain_name: None,
            interface_mtu: None,
            broadcast_address: None,
            lease_time: None,
            renewal_time: None,
            rebinding_time: None,
            classless_routes: Vec::new(),
            message: None,
        }
    }
}

const BROADCAST_FLAG: u16 = 0x8000;

impl DhcpRepr {
    /// Reads a message. Options repeated under one code are joined (RFC 3396); options in
    /// `file`/`sname` are read when option 52 says so.
    pub fn parse<T: AsRef<[u8]>>(p: &DhcpPacket<T>) -> Result<Self> {
        p.check_len()?;
        let op = match p.op() {
            1 => DhcpOp::Request,
            2 => DhcpOp::Reply,
            _ => return Err(WireError::Malformed("dhcp op")),
        };
        if p.htype() != 1 || p.hlen() != 6 {
            return Err(WireError::Unsupported("dhcp hardware type"));
        }
        if p.magic() != MAGIC_COOKIE {
            return Err(WireError::Malformed("dhcp magic cookie"));
        }
        // Gather every option, joining repeats, in the order first seen.
        let mut joined: Vec<(u8, Vec<u8>)> = Vec::new();
        gather(&mut joined, p.options())?;
        let overload = joined
            .iter()
            .find(|(c, _)| *c == opt::OVERLOAD)
            .map(|(_, d)| d.clone());
        if let Some(o) = overload {
            match o.as_slice() {
                [1] => gather(&mut joined, p.file())?,
                [2] => gather(&mut joined, p.sname())?,
                [3] => {
                    gather(&mut joined, p.file())?;
                    gather(&mut joined, p.sname())?;
                }
                _ => return Err(WireError::Malformed("dhcp option overload")),
            }
        }
        let mut r = Self {
            op,
            xid: p.xid(),
            secs: p.secs(),
            broadcast: p.flags() & BROADCAST_FLAG != 0,
            ciaddr: p.ciaddr(),
            yiaddr: p.yiaddr(),
            siaddr: p.siaddr(),
            giaddr: p.giaddr(),
            client_hw: p.client_hw(),
            ..Self::default()
        };
        for (code, d) in &joined {
            let d = d.as_slice();
            let text = || String::from_utf8_lossy(d).into_owned();
            match *code {
                opt::MESSAGE_TYPE => match d {
                    [t] => r.message_type = (*t).into(),
                    _ => return Err(WireError::Malformed("dhcp message type")),
                },
                opt::REQUESTED_IP => r.requested_ip = Some(ip4(d, "dhcp requested address")?),
                opt::SERVER_ID => r.server_id = Some(ip4(d, "dhcp server identifier")?),
                opt::PARAMETER_REQUEST_LIST => r.parameter_request_list = d.to_vec(),
                opt::MAX_MESSAGE_SIZE => {
                    r.max_message_size = Some(u16_of(d, "dhcp max message size")?)
                }
                opt::CLIENT_ID => r.client_id = Some(d.to_vec()),
                opt::SUBNET_MASK => r.subnet_mask = Some(ip4(d, "dhcp subnet mask")?),
                opt::ROUTER => r.routers = ip4_list(d, "dhcp router")?,
                opt::DNS => r.dns_servers = ip4_list(d, "dhcp dns servers")?,
                opt::HOST_NAME => r.host_name = Some(text()),
                opt::DOMAIN_NAME => r.domain_name = Some(text()),
                opt::INTERFACE_MTU => r.interface_mtu = Some(u16_of(d, "dhcp interface mtu")?),
                opt::BROADCAST => r.broadcast_address = Some(ip4(d, "dhcp broadcast")?),
                opt::LEASE_TIME => r.lease_time = Some(u32_of(d, "dhcp lease time")?),
                opt::RENEWAL_TIME => r.renewal_time = Some(u32_of(d, "dhcp renewal time")?),
                opt::REBINDING_TIME => r.rebinding_time = Some(u32_of(d, "dhcp rebinding time")?),
                opt::CLASSLESS_ROUTES => r.classless_routes = ClasslessRoute::parse_all(d)?,
                opt::MESSAGE => r.message = Some(text()),
                _ => {}
            }
        }
        Ok(r)
    }

    /// The options area as bytes (cookie excluded, END included), in the order clients
    /// read most easily: type and server id first.
    fn options_bytes(&self) -> Vec<u8> {
        let mut o = Vec::with_capacity(64);
        let put = |o: &mut Vec<u8>, code: u8, data: &[u8]| {
            // RFC 3396: a value longer than 255 bytes goes in several options of one code.
            if data.is_empty() {
                o.extend_from_slice(&[code, 0]);
            }
            for chunk in data.chunks(255) {
                o.push(code);
                o.push(chunk.len() as u8);
                o.extend_from_slice(chunk);
            }
        };
        let ips = |v: &[Ipv4Addr]| v.iter().flat_map(|a| a.octets()).collect::<Vec<u8>>();
        if let Some(t) = self.message_type.code() {
            put(&mut o, opt::MESSAGE_TYPE, &[t]);
        }
        if let Some(a) = self.server_id {
            put(&mut o, opt::SERVER_ID, &a.octets());
        }
        if let Some(m) = &self.message {
            put(&mut o, opt::MESSAGE, m.as_bytes());
        }
        if let Some(a) = self.requested_ip {
            put(&mut o, opt::REQUESTED_IP, &a.octets());
        }
        if !self.parameter_request_list.is_empty() {
            put(
                &mut o,
                opt::PARAMETER_REQUEST_LIST,
                &self.parameter_request_list,
            );
        }
        if let Some(s) = self.max_message_size {
            put(&mut o, opt::MAX_MESSAGE_SIZE, &s.to_be_bytes());
        }
        if let Some(c) = &self.client_id {
            put(&mut o, opt::CLIENT_ID, c);
        }
        if let Some(a) = self.subnet_mask {
            put(&mut o, opt::SUBNET_MASK, &a.octets());
        }
        if let Some(a) = self.broadcast_address {
            put(&mut o, opt::BROADCAST, &a.octets());
        }
        if let Some(m) = self.interface_mtu {
            put(&mut o, opt::INTERFACE_MTU, &m.to_be_bytes());
        }
        for (code, v) in [
            (opt::LEASE_TIME, self.lease_time),
            (opt::RENEWAL_TIME, self.renewal_time),
            (opt::REBINDING_TIME, self.rebinding_time),
        ] {
            if let Some(v) = v {
                put(&mut o, code, &v.to_be_bytes());
            }
        }
        if !self.classless_routes.is_empty() {
            let mut d =
                Vec::with_capacity(self.classless_routes.iter().map(|r| r.wire_len()).sum());
            for r in &self.classless_routes {
                r.emit(&mut d);
            }
            put(&mut o, opt::CLASSLESS_ROUTES, &d);
        }
        if !self.routers.is_empty() {
            put(&mut o, opt::ROUTER, &ips(&self.routers));
        }
        if let Some(h) = &self.host_name {
            put(&mut o, opt::HOST_NAME, h.as_bytes());
        }
        if !self.dns_servers.is_empty() {
            put(&mut o, opt::DNS, &ips(&self.dns_servers));
        }
        if let Some(d) = &self.domain_name {
            put(&mut o, opt::DOMAIN_NAME, d.as_bytes());
        }
        o.push(opt::END);
        o
    }

    /// The message length `emit` writes (at least [`MIN_MESSAGE_LEN`]).
    pub fn buffer_len(&self) -> usize {
        (field::OPTIONS + self.options_bytes().len()).max(MIN_MESSAGE_LEN)
    }

    /// Writes the message into `buf`, which must hold [`Self::buffer_len`] bytes; the
    /// bytes after END are zero padding.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, p: &mut DhcpPacket<T>) {
        p.set_op(match self.op {
            DhcpOp::Request => 1,
            DhcpOp::Reply => 2,
        });
        p.set_htype(1);
        p.set_hlen(6);
        p.set_hops(0);
        p.set_xid(self.xid);
        p.set_secs(self.secs);
        p.set_flags(if self.broadcast { BROADCAST_FLAG } else { 0 });
        p.set_ciaddr(self.ciaddr);
        p.set_yiaddr(self.yiaddr);
        p.set_siaddr(self.siaddr);
        p.set_giaddr(self.giaddr);
        p.set_client_hw(self.client_hw);
        p.clear_sname_file();
        p.set_magic();
        let o = self.options_bytes();
        let area = p.options_mut();
        area[..o.len()].copy_from_slice(&o);
        area[o.len()..].fill(0);
    }

    /// The message as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; self.buffer_len()];
        self.emit(&mut DhcpPacket::new_unchecked(&mut b[..]));
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DISCOVER as busybox udhcpc 1.35 sends it (options: type, client id, max size,
    /// parameter request list), bytes written out by hand.
    fn discover_bytes() -> Vec<u8> {
        let mut b = vec![0u8; 240];
        b[0] = 1; // BOOTREQUEST
        b[1] = 1; // Ethernet
        b[2] = 6;
        b[4..8].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        b[10] = 0x80; // broadcast flag
        b[28..34].copy_from_slice(&[2, 0, 0, 0, 0, 7]);
        b[236..240].copy_from_slice(&MAGIC_COOKIE);
        b.extend_from_slice(&[53, 1, 1]);
        b.extend_from_slice(&[61, 7, 1, 2, 0, 0, 0, 0, 7]);
        b.extend_from_slice(&[57, 2, 0x02, 0x40]);
        b.extend_from_slice(&[55, 4, 1, 3, 6, 121]);
        b.push(0); // a pad, skipped
        b.push(255);
        b
    }

    #[test]
    fn parses_a_discover_from_fixed_bytes() {
        let b = discover_bytes();
        let r = DhcpRepr::parse(&DhcpPacket::new_checked(&b[..]).unwrap()).unwrap();
        assert_eq!(r.op, DhcpOp::Request);
        assert_eq!(r.message_type, MessageType::Discover);
        assert_eq!(r.xid, 0xdead_beef);
        assert!(r.broadcast);
        assert_eq!(r.client_hw, MacAddr([2, 0, 0, 0, 0, 7]));
        assert_eq!(r.client_id.as_deref(), Some(&[1, 2, 0, 0, 0, 0, 7][..]));
        assert_eq!(r.max_message_size, Some(576));
        assert_eq!(r.parameter_request_list, vec![1, 3, 6, 121]);
        assert_eq!(r.requested_ip, None);
    }

    #[test]
    fn emits_an_ack_with_fixed_option_bytes() {
        let r = DhcpRepr {
            op: DhcpOp::Reply,
            message_type: MessageType::Ack,
            xid: 0x0102_0304,
            yiaddr: Ipv4Addr::new(10, 1, 0, 3),
            siaddr: Ipv4Addr::new(10, 1, 0, 2),
            client_hw: MacAddr([2, 0, 0, 0, 0, 7]),
            server_id: Some(Ipv4Addr::new(10, 1, 0, 2)),
            subnet_mask: Some(Ipv4Addr::new(255, 255, 255, 0)),
            interface_mtu: Some(1400),
            lease_time: Some(3600),
            classless_routes: vec![ClasslessRoute {
                prefix: Ipv4Addr::new(192, 168, 0, 0),
                prefix_len: 16,
                router: Ipv4Addr::new(10, 1, 0, 1),
            }],
            routers: vec![Ipv4Addr::new(10, 1, 0, 1)],
            ..DhcpRepr::default()
        };
        let b = r.to_bytes();
        assert_eq!(b.len(), MIN_MESSAGE_LEN);
        assert_eq!(&b[..12], &[2, 1, 6, 0, 1, 2, 3, 4, 0, 0, 0, 0]);
        assert_eq!(&b[16..24], &[10, 1, 0, 3, 10, 1, 0, 2]);
        assert_eq!(&b[236..240], &MAGIC_COOKIE);
        #[rustfmt::skip]
        let want: &[u8] = &[
            53, 1, 5,
            54, 4, 10, 1, 0, 2,
            1, 4, 255, 255, 255, 0,
            26, 2, 0x05, 0x78,
            51, 4, 0, 0, 0x0e, 0x10,
            121, 7, 16, 192, 168, 10, 1, 0, 1,
            3, 4, 10, 1, 0, 1,
            255,
        ];
        assert_eq!(&b[240..240 + want.len()], want);
        assert!(b[240 + want.len()..].iter().all(|&x| x == 0));
        let back = DhcpRepr::parse(&DhcpPacket::new_checked(&b[..]).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn long_values_split_and_join_per_rfc3396() {
        let long = "a".repeat(300);
        let r = DhcpRepr {
            op: DhcpOp::Reply,
            message_type: MessageType::Offer,
            domain_name: Some(long.clone()),
            ..DhcpRepr::default()
        };
        let b = r.to_bytes();
        let codes: Vec<(u8, usize)> = options(&b[240..])
            .map(|o| o.map(|(c, d)| (c, d.len())).unwrap())
            .collect();
        assert_eq!(codes, vec![(53, 1), (15, 255), (15, 45)]);
        let back = DhcpRepr::parse(&DhcpPacket::new_checked(&b[..]).unwrap()).unwrap();
        assert_eq!(back.domain_name, Some(long));
    }

    #[test]
    fn overloaded_file_field_is_read() {
        let mut b = discover_bytes();
        // Replace END by option 52 = 1 (file holds options) and put a requested address there.
        b.pop();
        b.extend_from_slice(&[52, 1, 1, 255]);
        b[108..115].copy_from_slice(&[50, 4, 10, 1, 0, 9, 255]);
        let r = DhcpRepr::parse(&DhcpPacket::new_checked(&b[..]).unwrap()).unwrap();
        assert_eq!(r.requested_ip, Some(Ipv4Addr::new(10, 1, 0, 9)));
    }

    #[test]
    fn malformed_messages_are_errors() {
        let b = discover_bytes();
        assert_eq!(
            DhcpPacket::new_checked(&b[..239]).unwrap_err(),
            WireError::Truncated("dhcp")
        );
        let parse = |b: &[u8]| DhcpRepr::parse(&DhcpPacket::new_checked(b).unwrap());
        let mut c = b.clone();
        c[236] = 0;
        assert_eq!(parse(&c), Err(WireError::Malformed("dhcp magic cookie")));
        let mut c = b.clone();
        c[0] = 3;
        assert_eq!(parse(&c), Err(WireError::Malformed("dhcp op")));
        let mut c = b.clone();
        c[2] = 16;
        assert_eq!(parse(&c), Err(WireError::Unsupported("dhcp hardware type")));
        // An option whose length runs past the end.
        let mut c = b[..b.len() - 2].to_vec();
        c.extend_from_slice(&[50, 4, 10, 1]);
        assert_eq!(parse(&c), Err(WireError::Truncated("dhcp option")));
        // A requested address of 3 bytes.
        let mut c = b[..b.len() - 1].to_vec();
        c.extend_from_slice(&[50, 3, 10, 1, 0, 255]);
        assert_eq!(
            parse(&c),
            Err(WireError::Malformed("dhcp requested address"))
        );
        // A classless route of length 33.
        let mut c = b[..b.len() - 1].to_vec();
        c.extend_from_slice(&[121, 5, 33, 0, 0, 0, 0, 255]);
        assert_eq!(
            parse(&c),
            Err(WireError::Malformed("dhcp classless route length"))
        );
    }

    #[test]
    fn classless_routes_clear_host_bits() {
        // 10.1.2.0/23 written with a stray host bit in the last significant octet.
        let r = ClasslessRoute::parse_all(&[23, 10, 1, 3, 10, 0, 0, 1]).unwrap();
        assert_eq!(r[0].prefix, Ipv4Addr::new(10, 1, 2, 0));
        let d = ClasslessRoute::parse_all(&[0, 10, 0, 0, 1]).unwrap();
        assert_eq!(
            d,
            vec![ClasslessRoute {
                prefix: Ipv4Addr::UNSPECIFIED,
                prefix_len: 0,
                router: Ipv4Addr::new(10, 0, 0, 1)
            }]
        );
    }
}
