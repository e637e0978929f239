//! IPFIX on the wire (RFC 7011), in the smoltcp style: a message header and a set header
//! read through named field ranges, and representations that `emit` into a buffer the
//! caller sized with `buffer_len`. Only what an exporter sends: template sets and data
//! sets of fixed and variable-length fields (RFC 7011 section 7).

use std::net::IpAddr;

/// IPFIX's version number (RFC 7011 section 3.1).
pub const VERSION: u16 = 10;
/// The set id of a template set.
pub const TEMPLATE_SET_ID: u16 = 2;
/// A field length meaning "variable length" (RFC 7011 section 7).
pub const VARLEN: u16 = 65535;
/// The enterprise bit of an information element id.
pub const ENTERPRISE_BIT: u16 = 0x8000;

/// Big-endian reads and writes (network order), as smoltcp's `NetworkEndian` does them.
struct NetworkEndian;

impl NetworkEndian {
    fn read_u16(b: &[u8]) -> u16 {
        u16::from_be_bytes([b[0], b[1]])
    }
    fn read_u32(b: &[u8]) -> u32 {
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    fn write_u16(b: &mut [u8], v: u16) {
        b[..2].copy_from_slice(&v.to_be_bytes())
    }
    fn write_u32(b: &mut [u8], v: u32) {
        b[..4].copy_from_slice(&v.to_be_bytes())
    }
    fn write_u64(b: &mut [u8], v: u64) {
        b[..8].copy_from_slice(&v.to_be_bytes())
    }
}

mod field {
    pub type Field = core::ops::Range<usize>;
    // Message header (section 3.1).
    pub const VERSION: Field = 0..2;
    pub const LENGTH: Field = 2..4;
    pub const EXPORT_TIME: Field = 4..8;
    pub const SEQUENCE: Field = 8..12;
    pub const DOMAIN: Field = 12..16;
    pub const MESSAGE_HEADER_LEN: usize = 16;
    // Set header (section 3.3.2).
    pub const SET_ID: Field = 0..2;
    pub const SET_LENGTH: Field = 2..4;
    pub const SET_HEADER_LEN: usize = 4;
}

pub use field::{MESSAGE_HEADER_LEN, SET_HEADER_LEN};

/// A read/write view of a message header.
#[derive(Debug)]
pub struct Message<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Message<T> {
    pub fn new_unchecked(buffer: T) -> Self {
        Message { buffer }
    }

    /// A view after checking that the header fits and the length field is within the buffer.
    pub fn new_checked(buffer: T) -> Option<Self> {
        let m = Message { buffer };
        let len = m.buffer.as_ref().len();
        (len >= MESSAGE_HEADER_LEN && (MESSAGE_HEADER_LEN..=len).contains(&(m.length() as usize)))
            .then_some(m)
    }

    pub fn version(&self) -> u16 {
        NetworkEndian::read_u16(&self.buffer.as_ref()[field::VERSION])
    }
    pub fn length(&self) -> u16 {
        NetworkEndian::read_u16(&self.buffer.as_ref()[field::LENGTH])
    }
    pub fn export_time(&self) -> u32 {
        NetworkEndian::read_u32(&self.buffer.as_ref()[field::EXPORT_TIME])
    }
    pub fn sequence(&self) -> u32 {
        NetworkEndian::read_u32(&self.buffer.as_ref()[field::SEQUENCE])
    }
    pub fn domain(&self) -> u32 {
        NetworkEndian::read_u32(&self.buffer.as_ref()[field::DOMAIN])
    }
    /// The sets after the header, as far as the length field says.
    pub fn sets(&self) -> &[u8] {
        &self.buffer.as_ref()[MESSAGE_HEADER_LEN..self.length() as usize]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Message<T> {
    pub fn set_version(&mut self, v: u16) {
        NetworkEndian::write_u16(&mut self.buffer.as_mut()[field::VERSION], v)
    }
    pub fn set_length(&mut self, v: u16) {
        NetworkEndian::write_u16(&mut self.buffer.as_mut()[field::LENGTH], v)
    }
    pub fn set_export_time(&mut self, v: u32) {
        NetworkEndian::write_u32(&mut self.buffer.as_mut()[field::EXPORT_TIME], v)
    }
    pub fn set_sequence(&mut self, v: u32) {
        NetworkEndian::write_u32(&mut self.buffer.as_mut()[field::SEQUENCE], v)
    }
    pub fn set_domain(&mut self, v: u32) {
        NetworkEndian::write_u32(&mut self.buffer.as_mut()[field::DOMAIN], v)
    }
}

/// A message header's contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageRepr {
    /// The whole message's length, header included.
    pub length: u16,
    /// Seconds since the epoch.
    pub export_time: u32,
    /// Data records sent in this transport session before this message (mod 2^32).
    pub sequence: u32,
    pub domain: u32,
}

impl MessageRepr {
    pub fn parse<T: AsRef<[u8]>>(m: &Message<T>) -> Option<Self> {
        (m.version() == VERSION).then(|| MessageRepr {
            length: m.length(),
            export_time: m.export_time(),
            sequence: m.sequence(),
            domain: m.domain(),
        })
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, m: &mut Message<T>) {
        m.set_version(VERSION);
        m.set_length(self.length);
        m.set_export_time(self.export_time);
        m.set_sequence(self.sequence);
        m.set_domain(self.domain);
    }
}

/// A set header: its id (2 for templates, the template id for data) and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetRepr {
    pub id: u16,
    /// The set's length, its header included.
    pub length: u16,
}

impl SetRepr {
    pub fn parse(b: &[u8]) -> Option<Self> {
        (b.len() >= SET_HEADER_LEN).then(|| SetRepr {
            id: NetworkEndian::read_u16(&b[field::SET_ID]),
            length: NetworkEndian::read_u16(&b[field::SET_LENGTH]),
        })
    }

    pub fn emit(&self, b: &mut [u8]) {
        NetworkEndian::write_u16(&mut b[field::SET_ID], self.id);
        NetworkEndian::write_u16(&mut b[field::SET_LENGTH], self.length);
    }
}

/// One field specifier of a template (RFC 7011 section 3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// Information element id (without the enterprise bit).
    pub id: u16,
    /// Its length on the wire, or [`VARLEN`].
    pub length: u16,
    /// The private enterprise number for an enterprise-specific element.
    pub enterprise: Option<u32>,
}

impl FieldSpec {
    pub const fn iana(id: u16, length: u16) -> Self {
        FieldSpec {
            id,
            length,
            enterprise: None,
        }
    }

    pub const fn enterprise(id: u16, length: u16, pen: u32) -> Self {
        FieldSpec {
            id,
            length,
            enterprise: Some(pen),
        }
    }

    fn wire_len(&self) -> usize {
        if self.enterprise.is_some() { 8 } else { 4 }
    }
}

/// A template record: its id and field specifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateRepr<'a> {
    pub id: u16,
    pub fields: &'a [FieldSpec],
}

impl TemplateRepr<'_> {
    pub fn buffer_len(&self) -> usize {
        4 + self.fields.iter().map(FieldSpec::wire_len).sum::<usize>()
    }

    pub fn emit(&self, b: &mut [u8]) {
        NetworkEndian::write_u16(&mut b[0..2], self.id);
        NetworkEndian::write_u16(&mut b[2..4], self.fields.len() as u16);
        let mut at = 4;
        for f in self.fields {
            let id = f.id
                | if f.enterprise.is_some() {
                    ENTERPRISE_BIT
                } else {
                    0
                };
            NetworkEndian::write_u16(&mut b[at..at + 2], id);
            NetworkEndian::write_u16(&mut b[at + 2..at + 4], f.length);
            if let Some(pen) = f.enterprise {
                NetworkEndian::write_u32(&mut b[at + 4..at + 8], pen);
            }
            at += f.wire_len();
        }
    }
}

/// A value of one field of a data record, in template order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    Ip(IpAddr),
    /// A variable-length string (one length octet below 255, else 255 and two).
    Str(&'a str),
}

impl Value<'_> {
    /// Strings are cut at this many bytes (a record must fit one UDP message).
    pub const MAX_STR: usize = 512;

    fn str_bytes(s: &str) -> &[u8] {
        let mut n = s.len().min(Self::MAX_STR);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        &s.as_bytes()[..n]
    }

    pub fn buffer_len(&self) -> usize {
        match self {
            Value::U8(_) => 1,
            Value::U16(_) => 2,
            Value::U32(_) => 4,
            Value::U64(_) => 8,
            Value::Ip(IpAddr::V4(_)) => 4,
            Value::Ip(IpAddr::V6(_)) => 16,
            Value::Str(s) => {
                let n = Self::str_bytes(s).len();
                n + if n < 255 { 1 } else { 3 }
            }
        }
    }

    /// Writes the value at the start of `b`; returns its length.
    pub fn emit(&self, b: &mut [u8]) -> usize {
        match self {
            Value::U8(v) => b[0] = *v,
            Value::U16(v) => NetworkEndian::write_u16(&mut b[..2], *v),
            Value::U32(v) => NetworkEndian::write_u32(&mut b[..4], *v),
            Value::U64(v) => NetworkEndian::write_u64(&mut b[..8], *v),
            Value::Ip(IpAddr::V4(a)) => b[..4].copy_from_slice(&a.octets()),
            Value::Ip(IpAddr::V6(a)) => b[..16].copy_from_slice(&a.octets()),
            Value::Str(s) => {
                let bytes = Self::str_bytes(s);
                let at = if bytes.len() < 255 {
                    b[0] = bytes.len() as u8;
                    1
                } else {
                    b[0] = 255;
                    NetworkEndian::write_u16(&mut b[1..3], bytes.len() as u16);
                    3
                };
                b[at..at + bytes.len()].copy_from_slice(bytes);
            }
        }
        self.buffer_len()
    }
}

/// A data record: its values in its template's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataRecordRepr<'a> {
    pub values: Vec<Value<'a>>,
}

impl DataRecordRepr<'_> {
    pub fn buffer_len(&self) -> usize {
        self.values.iter().map(Value::buffer_len).sum()
    }

    pub fn emit(&self, b: &mut [u8]) {
        let mut at = 0;
        for v in &self.values {
            at += v.emit(&mut b[at..]);
        }
    }

    /// Whether the values have the types and lengths `fields` give them.
    pub fn fits(&self, fields: &[FieldSpec]) -> bool {
        self.values.len() == fields.len()
            && self.values.iter().zip(fields).all(|(v, f)| match v {
                Value::Str(_) => f.length == VARLEN,
                v => v.buffer_len() == f.length as usize,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn a_message_header_emits_and_parses_byte_for_byte() {
        let bytes = [
            0x00, 0x0a, 0x00, 0x30, // version 10, length 48
            0x65, 0x00, 0x00, 0x01, // export time
            0x00, 0x00, 0x00, 0x07, // sequence 7
            0xc6, 0x12, 0x00, 0x0b, // domain
        ];
        let repr = MessageRepr {
            length: 48,
            export_time: 0x6500_0001,
            sequence: 7,
            domain: 0xc612_000b,
        };
        let mut buf = [0u8; 16];
        repr.emit(&mut Message::new_unchecked(&mut buf[..]));
        assert_eq!(buf, bytes);
        // The length names 48 bytes, more than these 16: refused.
        assert!(Message::new_checked(&bytes[..]).is_none());
        let mut whole = bytes.to_vec();
        whole.resize(48, 0);
        let m = Message::new_checked(&whole[..]).unwrap();
        assert_eq!(MessageRepr::parse(&m), Some(repr));
        assert_eq!(m.sets().len(), 32);
    }

    #[test]
    fn a_template_with_an_enterprise_field_emits_byte_for_byte() {
        let fields = [
            FieldSpec::iana(8, 4),
            FieldSpec::iana(1, 8),
            FieldSpec::enterprise(1, VARLEN, 32473),
        ];
        let t = TemplateRepr {
            id: 256,
            fields: &fields,
        };
        assert_eq!(t.buffer_len(), 20);
        let mut buf = [0u8; 20];
        t.emit(&mut buf);
        assert_eq!(
            buf,
            [
                0x01, 0x00, 0x00, 0x03, // template 256, 3 fields
                0x00, 0x08, 0x00, 0x04, // sourceIPv4Address, 4
                0x00, 0x01, 0x00, 0x08, // octetDeltaCount, 8
                0x80, 0x01, 0xff, 0xff, // enterprise element 1, variable length
                0x00, 0x00, 0x7e, 0xd9, // PEN 32473
            ]
        );
    }

    #[test]
    fn a_data_record_writes_fixed_and_variable_length_values() {
        let r = DataRecordRepr {
            values: vec![
                Value::Ip(Ipv4Addr::new(10, 0, 0, 1).into()),
                Value::U16(80),
                Value::U8(6),
                Value::U64(1500),
                Value::Str("net-a"),
            ],
        };
        let fields = [
            FieldSpec::iana(8, 4),
            FieldSpec::iana(11, 2),
            FieldSpec::iana(4, 1),
            FieldSpec::iana(1, 8),
            FieldSpec::enterprise(1, VARLEN, 32473),
        ];
        assert!(r.fits(&fields));
        assert!(!r.fits(&fields[..4]));
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut buf);
        assert_eq!(
            buf,
            [
                10, 0, 0, 1, 0, 80, 6, 0, 0, 0, 0, 0, 0, 0x05, 0xdc, 5, b'n', b'e', b't', b'-',
                b'a'
            ]
        );
    }

    #[test]
    fn a_long_string_takes_the_three_octet_length() {
        let s = "x".repeat(300);
        let v = Value::Str(&s);
        assert_eq!(v.buffer_len(), 303);
        let mut buf = vec![0u8; 303];
        v.emit(&mut buf);
        assert_eq!(&buf[..3], &[255, 0x01, 0x2c]);
        // Cut at the limit, on a character boundary.
        let long = "é".repeat(400);
        assert_eq!(Value::Str(&long).buffer_len(), 3 + Value::MAX_STR);
    }

    #[test]
    fn a_set_header_round_trips() {
        let mut b = [0u8; 4];
        SetRepr { id: 2, length: 28 }.emit(&mut b);
        assert_eq!(b, [0, 2, 0, 28]);
        assert_eq!(SetRepr::parse(&b), Some(SetRepr { id: 2, length: 28 }));
        assert_eq!(SetRepr::parse(&b[..3]), None);
    }
}
