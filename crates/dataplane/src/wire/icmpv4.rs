//! ICMP for IPv4 (RFC 792): the 8-byte header plus data. Only echo and the error
//! messages a router emits get names; everything else keeps its raw type/code.

use super::{Result, WireError, be16, checksum, put16};

/// ICMPv4 message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Icmpv4Message {
    EchoReply,
    DstUnreachable,
    EchoRequest,
    TimeExceeded,
    Other(u8),
}

impl From<u8> for Icmpv4Message {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::EchoReply,
            3 => Self::DstUnreachable,
            8 => Self::EchoRequest,
            11 => Self::TimeExceeded,
            o => Self::Other(o),
        }
    }
}
impl From<Icmpv4Message> for u8 {
    fn from(v: Icmpv4Message) -> u8 {
        match v {
            Icmpv4Message::EchoReply => 0,
            Icmpv4Message::DstUnreachable => 3,
            Icmpv4Message::EchoRequest => 8,
            Icmpv4Message::TimeExceeded => 11,
            Icmpv4Message::Other(o) => o,
        }
    }
}

/// A view of an ICMPv4 message.
#[derive(Debug, Clone)]
pub struct Icmpv4Packet<T> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    pub const HEADER_LEN: usize = 8;

    pub fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < Self::HEADER_LEN {
            return Err(WireError::Truncated("icmpv4"));
        }
        Ok(())
    }
    pub fn msg_type(&self) -> Icmpv4Message {
        self.buffer.as_ref()[0].into()
    }
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[1]
    }
    pub fn checksum(&self) -> u16 {
        be16(self.buffer.as_ref(), 2)
    }
    /// Echo identifier (the first half of the rest-of-header word).
    pub fn echo_ident(&self) -> u16 {
        be16(self.buffer.as_ref(), 4)
    }
    pub fn echo_seq_no(&self) -> u16 {
        be16(self.buffer.as_ref(), 6)
    }
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..]
    }
    pub fn verify_checksum(&self) -> bool {
        checksum::fold(checksum::sum(self.buffer.as_ref())) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    pub fn set_checksum(&mut self, v: u16) {
        put16(self.buffer.as_mut(), 2, v);
    }
    /// Rewrites the echo identifier (ICMP "port" under NAT) with an incremental update.
    pub fn set_echo_ident(&mut self, v: u16) {
        let old = self.echo_ident();
        put16(self.buffer.as_mut(), 4, v);
        let c = checksum::update16(self.checksum(), old, v);
        self.set_checksum(c);
    }
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(c);
    }
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[Self::HEADER_LEN..]
    }
}

/// Owned ICMPv4 header; the data is left to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Icmpv4Repr {
    pub msg_type: Icmpv4Message,
    pub code: u8,
    /// The 4-byte rest-of-header (ident/seq for echo, unused or MTU for errors).
    pub rest: [u8; 4],
    pub data_len: usize,
}

impl Icmpv4Repr {
    /// Parses and verifies the checksum over the whole message.
    pub fn parse<T: AsRef<[u8]>>(p: &Icmpv4Packet<T>) -> Result<Self> {
        p.check_len()?;
        if !p.verify_checksum() {
            return Err(WireError::Checksum("icmpv4"));
        }
        let b = p.buffer.as_ref();
        Ok(Self {
            msg_type: p.msg_type(),
            code: p.msg_code(),
            rest: [b[4], b[5], b[6], b[7]],
            data_len: b.len() - 8,
        })
    }
    pub fn echo(request: bool, ident: u16, seq: u16, data_len: usize) -> Self {
        let (i, s) = (ident.to_be_bytes(), seq.to_be_bytes());
        Self {
            msg_type: if request {
                Icmpv4Message::EchoRequest
            } else {
                Icmpv4Message::EchoReply
            },
            code: 0,
            rest: [i[0], i[1], s[0], s[1]],
            data_len,
        }
    }
    pub const fn buffer_len(&self) -> usize {
        8 + self.data_len
    }
    /// Writes the header; call [`Icmpv4Packet::fill_checksum`] once the data is in place.
    pub fn emit(&self, buf: &mut [u8]) {
        buf[0] = self.msg_type.into();
        buf[1] = self.code;
        put16(buf, 2, 0);
        buf[4..8].copy_from_slice(&self.rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_roundtrip() {
        let r = Icmpv4Repr::echo(true, 0x1234, 7, 4);
        let mut b = [0u8; 12];
        r.emit(&mut b);
        b[8..].copy_from_slice(b"ping");
        let mut p = Icmpv4Packet::new_checked(&mut b[..]).unwrap();
        p.fill_checksum();
        assert_eq!(Icmpv4Repr::parse(&p).unwrap(), r);
        p.set_echo_ident(0x9999);
        assert!(p.verify_checksum());
        assert!(Icmpv4Packet::new_checked(&b[..7]).is_err());
    }
}
