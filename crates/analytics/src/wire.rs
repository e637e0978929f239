//! The export wire format from vrouter to collector: a stream of frames over TCP, each
//! `b"CFL1"`, a little-endian u32 byte length of the body and the body: a u32 record
//! count, then the records ([`SessionSample`]) field by field (integers little-endian,
//! strings as a u16 length and UTF-8 bytes, addresses as 4 or 16 bytes after a 4/6 tag).
//! No acknowledgement: the exporter never waits on the collector.
//!
//! A second frame kind, `b"CVS1"`, carries per-interface counters ([`VmiStatsSample`]) in
//! the same framing: [`frame_head`] tells the two apart, [`VmiStatsRepr`] is one record.

use std::net::IpAddr;

use crate::record::{Encap, Event, FlowSide, FlowSideRef, SessionSample, SessionSampleRef};
use crate::vmi_stats::{VmiStatsRef, VmiStatsSample};

pub const MAGIC: &[u8; 4] = b"CFL1";
/// The largest body a collector accepts (a bigger length means a broken stream).
pub const MAX_FRAME: usize = 16 << 20;

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("bad frame magic")]
    Magic,
    #[error("frame of {0} bytes is over the {MAX_FRAME} limit")]
    TooLarge(usize),
    #[error("record {record}: truncated at {field}")]
    Truncated { record: u32, field: &'static str },
    #[error("record {record}: bad {field}")]
    Invalid { record: u32, field: &'static str },
}

/// Appends one frame holding `records` to `out`.
pub fn encode_frame(records: &[SessionSample], out: &mut Vec<u8>) {
    out.extend_from_slice(MAGIC);
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let body = out.len();
    out.extend_from_slice(&(records.len() as u32).to_le_bytes());
    for r in records {
        encode(r, out);
    }
    let len = (out.len() - body) as u32;
    out[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
}

/// The body length of the frame whose 8-byte header is `head`.
pub fn frame_len(head: &[u8; 8]) -> Result<usize, WireError> {
    if &head[..4] != MAGIC {
        return Err(WireError::Magic);
    }
    let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
    if len > MAX_FRAME {
        return Err(WireError::TooLarge(len));
    }
    Ok(len)
}

fn put_str(s: &str, out: &mut Vec<u8>) {
    let b = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(b.len() as u16).to_le_bytes());
    out.extend_from_slice(b);
}

fn put_ip(ip: IpAddr, out: &mut Vec<u8>) {
    match ip {
        IpAddr::V4(a) => {
            out.push(4);
            out.extend_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            out.push(6);
            out.extend_from_slice(&a.octets());
        }
    }
}

fn put_side(s: &FlowSide, out: &mut Vec<u8>) {
    out.extend_from_slice(&s.uuid.to_le_bytes());
    out.push(s.pass as u8);
    put_str(&s.sg_rule_uuid, out);
    put_str(&s.nw_ace_uuid, out);
    put_str(&s.fw_rule_uuid, out);
    put_str(&s.drop_reason, out);
    out.extend_from_slice(&s.underlay_source_port.to_le_bytes());
    for v in [s.bytes, s.packets, s.diff_bytes, s.diff_packets] {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn encode(r: &SessionSample, out: &mut Vec<u8>) {
    out.extend_from_slice(&r.t_us.to_le_bytes());
    out.push(r.event as u8);
    put_str(&r.vrouter, out);
    put_ip(r.vrouter_ip, out);
    put_ip(r.other_vrouter_ip, out);
    out.push(r.encap as u8);
    put_str(&r.source_vn, out);
    put_ip(r.source_ip, out);
    out.extend_from_slice(&r.sport.to_le_bytes());
    put_str(&r.dest_vn, out);
    put_ip(r.dest_ip, out);
    out.extend_from_slice(&r.dport.to_le_bytes());
    out.push(r.protocol);
    out.push(r.source_local as u8 | (r.dest_local as u8) << 1 | (r.reverse.is_some() as u8) << 2);
    put_str(&r.vmi, out);
    out.extend_from_slice(&r.setup_time.to_le_bytes());
    out.extend_from_slice(&r.teardown_time.to_le_bytes());
    put_str(&r.teardown_reason, out);
    put_side(&r.forward, out);
    if let Some(rev) = &r.reverse {
        put_side(rev, out);
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    record: u32,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], WireError> {
        if self.buf.len() < n {
            return Err(WireError::Truncated {
                record: self.record,
                field,
            });
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Ok(a)
    }
    fn u8(&mut self, f: &'static str) -> Result<u8, WireError> {
        Ok(self.take(1, f)?[0])
    }
    fn u16(&mut self, f: &'static str) -> Result<u16, WireError> {
        let b = self.take(2, f)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u64(&mut self, f: &'static str) -> Result<u64, WireError> {
        let b = self.take(8, f)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }
    fn u128(&mut self, f: &'static str) -> Result<u128, WireError> {
        let b = self.take(16, f)?;
        Ok(u128::from_le_bytes(b.try_into().expect("16 bytes")))
    }
    fn str(&mut self, f: &'static str) -> Result<&'a str, WireError> {
        let n = self.u16(f)? as usize;
        let b = self.take(n, f)?;
        std::str::from_utf8(b).map_err(|_| WireError::Invalid {
            record: self.record,
            field: f,
        })
    }
    fn ip(&mut self, f: &'static str) -> Result<IpAddr, WireError> {
        match self.u8(f)? {
            4 => {
                let b: [u8; 4] = self.take(4, f)?.try_into().expect("4 bytes");
                Ok(IpAddr::from(b))
            }
            6 => {
                let b: [u8; 16] = self.take(16, f)?.try_into().expect("16 bytes");
                Ok(IpAddr::from(b))
            }
            _ => Err(WireError::Invalid {
                record: self.record,
                field: f,
            }),
        }
    }
    fn side(&mut self) -> Result<FlowSideRef<'a>, WireError> {
        Ok(FlowSideRef {
            uuid: self.u128("flowuuid")?,
            pass: self.u8("action")? != 0,
            sg_rule_uuid: self.str("sg_rule_uuid")?,
            nw_ace_uuid: self.str("nw_ace_uuid")?,
            fw_rule_uuid: self.str("security_policy_rule")?,
            drop_reason: self.str("drop_reason")?,
            underlay_source_port: self.u16("underlay_source_port")?,
            bytes: self.u64("bytes")?,
            packets: self.u64("packets")?,
            diff_bytes: self.u64("diff_bytes")?,
            diff_packets: self.u64("diff_packets")?,
        })
    }
    fn record(&mut self) -> Result<SessionSampleRef<'a>, WireError> {
        let t_us = self.u64("T")?;
        let event = self.u8("event")?;
        let event = Event::from_u8(event).ok_or(WireError::Invalid {
            record: self.record,
            field: "event",
        })?;
        let vrouter = self.str("vrouter")?;
        let vrouter_ip = self.ip("vrouter_ip")?;
        let other_vrouter_ip = self.ip("other_vrouter_ip")?;
        let encap = Encap::from_u8(self.u8("underlay_proto")?).ok_or(WireError::Invalid {
            record: self.record,
            field: "underlay_proto",
        })?;
        let source_vn = self.str("sourcevn")?;
        let source_ip = self.ip("sourceip")?;
        let sport = self.u16("sport")?;
        let dest_vn = self.str("destvn")?;
        let dest_ip = self.ip("destip")?;
        let dport = self.u16("dport")?;
        let protocol = self.u8("protocol")?;
        let flags = self.u8("flags")?;
        let vmi = self.str("vmi")?;
        let setup_time = self.u64("setup_time")?;
        let teardown_time = self.u64("teardown_time")?;
        let teardown_reason = self.str("teardown_reason")?;
        let forward = self.side()?;
        let reverse = if flags & 4 != 0 {
            Some(self.side()?)
        } else {
            None
        };
        Ok(SessionSampleRef {
            t_us,
            event,
            vrouter,
            vrouter_ip,
            other_vrouter_ip,
            encap,
            source_vn,
            source_ip,
            sport,
            dest_vn,
            dest_ip,
            dport,
            protocol,
            source_local: flags & 1 != 0,
            dest_local: flags & 2 != 0,
            vmi,
            setup_time,
            teardown_time,
            teardown_reason,
            forward,
            reverse,
        })
    }
}

/// Decodes a frame body (after the 8-byte header), calling `each` per record.
pub fn decode_body(body: &[u8], mut each: impl FnMut(SessionSample)) -> Result<u32, WireError> {
    decode_body_ref(body, |r| each(r.to_owned_sample()))
}

/// Decodes a frame body, calling `each` per record borrowed from `body` (no allocation).
/// A record that fails to decode stops the walk: records before it were already handed
/// over, so a caller that must take a frame whole undoes them on error.
pub fn decode_body_ref<'a>(
    body: &'a [u8],
    mut each: impl FnMut(SessionSampleRef<'a>),
) -> Result<u32, WireError> {
    let mut r = Reader {
        buf: body,
        record: 0,
    };
    let b = r.take(4, "count")?;
    let count = u32::from_le_bytes(b.try_into().expect("4 bytes"));
    for i in 0..count {
        r.record = i;
        each(r.record()?);
    }
    Ok(count)
}

// Per-interface counters (`CVS1` frames).

/// The magic of a frame of per-interface counters.
pub const VMI_STATS_MAGIC: &[u8; 4] = b"CVS1";

/// What a frame holds, from its magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// [`SessionSample`]s (`CFL1`).
    Sessions,
    /// [`VmiStatsSample`]s (`CVS1`).
    VmiStats,
}

/// The kind and body length of the frame whose 8-byte header is `head`.
pub fn frame_head(head: &[u8; 8]) -> Result<(FrameKind, usize), WireError> {
    let kind = match &head[..4] {
        m if m == MAGIC => FrameKind::Sessions,
        m if m == VMI_STATS_MAGIC => FrameKind::VmiStats,
        _ => return Err(WireError::Magic),
    };
    let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
    if len > MAX_FRAME {
        return Err(WireError::TooLarge(len));
    }
    Ok((kind, len))
}

/// One per-interface record on the wire: `T` (u64), the vrouter, name, vmi uuid and
/// virtual network (each a u16 length and UTF-8), then in/out packets and bytes and
/// dropped packets (u64 each), all little-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VmiStatsRepr<'a>(pub VmiStatsRef<'a>);

impl<'a> VmiStatsRepr<'a> {
    /// The bytes [`Self::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        let r = &self.0;
        8 + [r.vrouter, r.name, r.vmi_uuid, r.virtual_network]
            .iter()
            .map(|s| 2 + s.len().min(u16::MAX as usize))
            .sum::<usize>()
            + 5 * 8
    }

    pub fn emit(&self, out: &mut Vec<u8>) {
        let r = &self.0;
        out.extend_from_slice(&r.t_us.to_le_bytes());
        for s in [r.vrouter, r.name, r.vmi_uuid, r.virtual_network] {
            put_str(s, out);
        }
        for v in [r.in_pkts, r.in_bytes, r.out_pkts, r.out_bytes, r.drop_pkts] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }

    /// Reads one record from the front of `buf`, returning it and what follows; `record`
    /// numbers it in errors.
    pub fn parse(buf: &'a [u8], record: u32) -> Result<(Self, &'a [u8]), WireError> {
        let mut r = Reader { buf, record };
        let v = VmiStatsRef {
            t_us: r.u64("T")?,
            vrouter: r.str("Source")?,
            name: r.str("name")?,
            vmi_uuid: r.str("vmi_uuid")?,
            virtual_network: r.str("virtual_network")?,
            in_pkts: r.u64("in_pkts")?,
            in_bytes: r.u64("in_bytes")?,
            out_pkts: r.u64("out_pkts")?,
            out_bytes: r.u64("out_bytes")?,
            drop_pkts: r.u64("drop_pkts")?,
        };
        Ok((VmiStatsRepr(v), r.buf))
    }
}

/// Appends one `CVS1` frame holding `records` to `out`.
pub fn encode_vmi_stats_frame(records: &[VmiStatsSample], out: &mut Vec<u8>) {
    out.extend_from_slice(VMI_STATS_MAGIC);
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let body = out.len();
    out.extend_from_slice(&(records.len() as u32).to_le_bytes());
    for r in records {
        VmiStatsRepr(r.as_ref()).emit(out);
    }
    let len = (out.len() - body) as u32;
    out[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
}

/// Decodes a `CVS1` frame body, calling `each` per record borrowed from `body`. As with
/// [`decode_body_ref`], a record that fails stops the walk after the ones before it.
pub fn decode_vmi_stats_body_ref<'a>(
    body: &'a [u8],
    mut each: impl FnMut(VmiStatsRef<'a>),
) -> Result<u32, WireError> {
    let mut r = Reader {
        buf: body,
        record: 0,
    };
    let count = u32::from_le_bytes(r.take(4, "count")?.try_into().expect("4 bytes"));
    let mut rest = r.buf;
    for i in 0..count {
        let (rec, next) = VmiStatsRepr::parse(rest, i)?;
        each(rec.0);
        rest = next;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::any;

    pub(crate) fn sample(i: u64) -> SessionSample {
        SessionSample {
            t_us: 1_700_000_000_000_000 + i,
            event: Event::Interval,
            vrouter: "c1".into(),
            vrouter_ip: "198.18.0.11".parse().unwrap(),
            other_vrouter_ip: "198.18.0.12".parse().unwrap(),
            encap: Encap::MplsOverUdp,
            source_vn: "default-domain:p:red".into(),
            source_ip: "10.0.0.3".parse().unwrap(),
            sport: 40000,
            dest_vn: "default-domain:p:blue".into(),
            dest_ip: "2001:db8::4".parse().unwrap(),
            dport: 80,
            protocol: 6,
            source_local: true,
            dest_local: false,
            vmi: "vmi-1".into(),
            setup_time: 5,
            teardown_time: 0,
            teardown_reason: String::new(),
            forward: FlowSide {
                uuid: 77,
                pass: true,
                sg_rule_uuid: "sg-rule".into(),
                bytes: 1000,
                packets: 10,
                diff_bytes: 100,
                diff_packets: 1,
                underlay_source_port: 51000,
                ..FlowSide::default()
            },
            reverse: i.is_multiple_of(2).then(|| FlowSide {
                uuid: 78,
                pass: false,
                drop_reason: "security-group".into(),
                ..FlowSide::default()
            }),
        }
    }

    #[test]
    fn frames_round_trip() {
        let recs: Vec<_> = (0..5).map(sample).collect();
        let mut buf = Vec::new();
        encode_frame(&recs, &mut buf);
        let len = frame_len(buf[..8].try_into().unwrap()).unwrap();
        assert_eq!(len, buf.len() - 8);
        let mut got = Vec::new();
        assert_eq!(decode_body(&buf[8..], |r| got.push(r)).unwrap(), 5);
        assert_eq!(got, recs);
    }

    #[test]
    fn truncation_names_the_record_and_field() {
        let mut buf = Vec::new();
        encode_frame(&[sample(0), sample(1)], &mut buf);
        let cut = &buf[8..buf.len() - 3];
        let e = decode_body(cut, |_| {}).unwrap_err();
        assert_eq!(
            e,
            WireError::Truncated {
                record: 1,
                field: "diff_packets"
            }
        );
        assert_eq!(frame_len(b"XXXX\0\0\0\0"), Err(WireError::Magic));
    }

    // Per-interface records.

    fn vmi(i: u64) -> VmiStatsSample {
        VmiStatsSample {
            t_us: 0x0102_0304_0506_0708 + i,
            vrouter: "c1".into(),
            name: "d:p:v".into(),
            vmi_uuid: "u".into(),
            virtual_network: "d:p:n".into(),
            in_pkts: 1,
            in_bytes: 0x0100,
            out_pkts: 2,
            out_bytes: 0x0200,
            drop_pkts: 3,
        }
    }

    /// The bytes of one record, field by field.
    #[rustfmt::skip]
    const VMI_BYTES: &[u8] = &[
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, // T
        2, 0, b'c', b'1',                               // Source
        5, 0, b'd', b':', b'p', b':', b'v',             // name
        1, 0, b'u',                                     // vmi_uuid
        5, 0, b'd', b':', b'p', b':', b'n',             // virtual_network
        1, 0, 0, 0, 0, 0, 0, 0,                         // in_pkts
        0, 1, 0, 0, 0, 0, 0, 0,                         // in_bytes
        2, 0, 0, 0, 0, 0, 0, 0,                         // out_pkts
        0, 2, 0, 0, 0, 0, 0, 0,                         // out_bytes
        3, 0, 0, 0, 0, 0, 0, 0,                         // drop_pkts
    ];

    #[test]
    fn vmi_stats_record_has_its_fixed_bytes() {
        let s = vmi(0);
        let repr = VmiStatsRepr(s.as_ref());
        let mut out = Vec::new();
        repr.emit(&mut out);
        assert_eq!(out, VMI_BYTES);
        assert_eq!(repr.buffer_len(), VMI_BYTES.len());
        let (back, rest) = VmiStatsRepr::parse(VMI_BYTES, 0).unwrap();
        assert_eq!(back, repr);
        assert!(rest.is_empty());

        let mut frame = Vec::new();
        encode_vmi_stats_frame(&[s], &mut frame);
        assert_eq!(&frame[..4], b"CVS1");
        assert_eq!(&frame[4..8], &((4 + VMI_BYTES.len()) as u32).to_le_bytes());
        assert_eq!(&frame[8..12], &[1, 0, 0, 0]);
        assert_eq!(&frame[12..], VMI_BYTES);
        let head: [u8; 8] = frame[..8].try_into().unwrap();
        assert_eq!(
            frame_head(&head),
            Ok((FrameKind::VmiStats, 4 + VMI_BYTES.len()))
        );
        // The flow frames' reader refuses a stats frame rather than misreading it.
        assert_eq!(frame_len(&head), Err(WireError::Magic));
    }

    #[test]
    fn vmi_stats_truncation_and_bad_text_name_the_record_and_field() {
        let mut frame = Vec::new();
        encode_vmi_stats_frame(&[vmi(0), vmi(1)], &mut frame);
        let body = &frame[8..];
        let e = decode_vmi_stats_body_ref(&body[..body.len() - 1], |_| {}).unwrap_err();
        assert_eq!(
            e,
            WireError::Truncated {
                record: 1,
                field: "drop_pkts"
            }
        );
        // Offsets in VMI_BYTES: the name's first byte follows T (8) and Source (4) and
        // its length (2).
        let mut bad = VMI_BYTES.to_vec();
        bad[14] = 0xff;
        assert_eq!(
            VmiStatsRepr::parse(&bad, 7).unwrap_err(),
            WireError::Invalid {
                record: 7,
                field: "name"
            }
        );
    }

    fn text() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::string::string_regex("[a-z0-9:\\-]{0,40}").unwrap()
    }

    proptest::proptest! {
        #[test]
        fn vmi_stats_frames_round_trip(
            recs in proptest::collection::vec(
                (any::<u64>(), text(), text(), text(), text(), proptest::array::uniform5(any::<u64>())),
                0..20,
            )
        ) {
            let recs: Vec<VmiStatsSample> = recs
                .into_iter()
                .map(|(t_us, vrouter, name, vmi_uuid, virtual_network, c)| VmiStatsSample {
                    t_us, vrouter, name, vmi_uuid, virtual_network,
                    in_pkts: c[0], in_bytes: c[1], out_pkts: c[2], out_bytes: c[3], drop_pkts: c[4],
                })
                .collect();
            let mut buf = Vec::new();
            encode_vmi_stats_frame(&recs, &mut buf);
            let (kind, len) = frame_head(buf[..8].try_into().unwrap()).unwrap();
            proptest::prop_assert_eq!(kind, FrameKind::VmiStats);
            proptest::prop_assert_eq!(len, buf.len() - 8);
            let want: usize = recs.iter().map(|r| VmiStatsRepr(r.as_ref()).buffer_len()).sum();
            proptest::prop_assert_eq!(len, 4 + want);
            let mut got = Vec::new();
            let n = decode_vmi_stats_body_ref(&buf[8..], |r| got.push(r.to_owned_sample())).unwrap();
            proptest::prop_assert_eq!(n as usize, recs.len());
            proptest::prop_assert_eq!(got, recs);
        }

        #[test]
        fn vmi_stats_decoding_never_panics(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_vmi_stats_body_ref(&body, |_| {});
        }
    }
}
