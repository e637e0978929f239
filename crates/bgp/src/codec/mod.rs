//! Wire codec: message framing, and conversion between the wire (through `netgauze-bgp-pkt`) and
//! Cirrus's [`Message`]. Every decode error carries the NOTIFICATION RFC 4271 / RFC 7606 says to
//! send, so the session never has to guess.
//!
//! Written by hand rather than through netgauze: the 19-octet header (to pick the right
//! NOTIFICATION for each header fault), KEEPALIVE, NOTIFICATION and ROUTE-REFRESH (three fixed
//! fields each; netgauze's typed NOTIFICATION rejects unknown subcodes that RFC 4271 still wants
//! reported), and route-target constraint NLRI (see [`rtc`]).

mod nlri;
mod open;
mod rtc;
mod update;

use std::collections::HashSet;

use netgauze_bgp_pkt::BgpMessage;
use netgauze_bgp_pkt::wire::deserializer::{BgpMessageParsingError, BgpParsingContext};
use netgauze_iana::address_family::AddressType;
use netgauze_parse_utils::WritablePdu;
use netgauze_parse_utils::reader::SliceReader;
use netgauze_parse_utils::traits::ParseFromWithOneInput;

use crate::message::{Message, Notification, RouteRefresh, Update, codes};
use crate::types::{Family, Labeled, Nlri};

/// Largest message without the extended-message capability (RFC 4271 section 4.1).
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Header length.
pub const HEADER_LEN: usize = 19;

/// Encoding errors (our own data could not be put on the wire).
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum CodecError {
    #[error("message truncated")]
    Truncated,
    #[error("invalid value: {0}")]
    Invalid(String),
    #[error("not supported: {0}")]
    Unsupported(String),
    #[error("one UPDATE can carry one multiprotocol family; found {0} next to another")]
    MixedFamilies(Family),
    #[error("encoded message is {0} octets, more than 4096")]
    TooLong(usize),
}

/// A received message that must be answered with a NOTIFICATION (and the session closed).
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[error("{reason} -> {notification}")]
pub struct DecodeError {
    pub notification: Notification,
    pub reason: String,
}

impl DecodeError {
    fn new(code: u8, subcode: u8, data: impl Into<Vec<u8>>, reason: impl Into<String>) -> Self {
        DecodeError {
            notification: Notification::new(code, subcode, data),
            reason: reason.into(),
        }
    }
}

/// What decoding depends on, as negotiated in OPEN.
#[derive(Debug, Clone, Default)]
pub struct CodecContext {
    /// Both sides sent the 4-octet AS capability.
    pub asn4: bool,
    /// Families for which we receive ADD-PATH path identifiers.
    pub add_path_rx: HashSet<Family>,
}

impl CodecContext {
    /// The context for a session that negotiated 4-octet ASNs and nothing else.
    pub fn asn4() -> CodecContext {
        CodecContext {
            asn4: true,
            ..Default::default()
        }
    }

    fn netgauze(&self) -> BgpParsingContext {
        let mut ctx = BgpParsingContext::new(
            self.asn4,
            Default::default(),
            Default::default(),
            true,
            true,
            true,
            // RFC 7606: collect attribute errors and carry on, so we can treat-as-withdraw.
            false,
        );
        for f in &self.add_path_rx {
            ctx.add_path_mut().insert(address_type(*f), true);
        }
        ctx
    }
}

pub(crate) fn address_type(f: Family) -> AddressType {
    match f {
        Family::Inet => AddressType::Ipv4Unicast,
        Family::Inet6 => AddressType::Ipv6Unicast,
        Family::InetVpn => AddressType::Ipv4MplsLabeledVpn,
        Family::Inet6Vpn => AddressType::Ipv6MplsLabeledVpn,
        Family::Evpn => AddressType::L2VpnBgpEvpn,
        Family::RouteTarget => AddressType::RouteTargetConstrains,
    }
}

pub(crate) fn family_of(t: AddressType) -> Option<Family> {
    Some(match t {
        AddressType::Ipv4Unicast => Family::Inet,
        AddressType::Ipv6Unicast => Family::Inet6,
        AddressType::Ipv4MplsLabeledVpn => Family::InetVpn,
        AddressType::Ipv6MplsLabeledVpn => Family::Inet6Vpn,
        AddressType::L2VpnBgpEvpn => Family::Evpn,
        AddressType::RouteTargetConstrains => Family::RouteTarget,
        _ => return None,
    })
}

/// Checks the header at the start of `buf`. Returns the message length when a whole message is
/// buffered, `Ok(None)` when more bytes are needed.
pub fn frame(buf: &[u8]) -> Result<Option<usize>, DecodeError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    if buf[..16].iter().any(|&b| b != 0xff) {
        return Err(DecodeError::new(
            codes::HEADER,
            codes::HEADER_NOT_SYNC,
            [],
            "marker is not all ones",
        ));
    }
    let len = usize::from(u16::from_be_bytes([buf[16], buf[17]]));
    let ty = buf[18];
    let bad_len = || {
        DecodeError::new(
            codes::HEADER,
            codes::HEADER_BAD_LENGTH,
            (len as u16).to_be_bytes(),
            format!("bad length {len} for message type {ty}"),
        )
    };
    if !(HEADER_LEN..=MAX_MESSAGE_LEN).contains(&len) {
        return Err(bad_len());
    }
    let ok = match ty {
        1 => len >= 29,
        2 => len >= 23,
        3 => len >= 21,
        4 => len == 19,
        5 => len >= 23,
        _ => {
            return Err(DecodeError::new(
                codes::HEADER,
                codes::HEADER_BAD_TYPE,
                [ty],
                format!("unknown message type {ty}"),
            ));
        }
    };
    if !ok {
        return Err(bad_len());
    }
    Ok((buf.len() >= len).then_some(len))
}

/// Decodes one complete message (as delimited by [`frame`]).
pub fn decode(msg: &[u8], ctx: &CodecContext) -> Result<Message, DecodeError> {
    let Some(len) = frame(msg)? else {
        return Err(DecodeError::new(
            codes::HEADER,
            codes::HEADER_BAD_LENGTH,
            [],
            "truncated message",
        ));
    };
    let msg = &msg[..len];
    let body = &msg[HEADER_LEN..];
    match msg[18] {
        4 => Ok(Message::Keepalive),
        3 => Ok(Message::Notification(Notification::new(
            body[0],
            body[1],
            &body[2..],
        ))),
        5 => {
            if body.len() != 4 {
                return Err(DecodeError::new(
                    codes::ROUTE_REFRESH,
                    codes::ROUTE_REFRESH_BAD_LENGTH,
                    body.to_vec(),
                    "ROUTE-REFRESH length is not 23",
                ));
            }
            Ok(Message::RouteRefresh(RouteRefresh {
                afi: u16::from_be_bytes([body[0], body[1]]),
                subtype: body[2],
                safi: body[3],
            }))
        }
        1 => {
            if body[0] != 4 {
                return Err(DecodeError::new(
                    codes::OPEN,
                    codes::OPEN_BAD_VERSION,
                    4u16.to_be_bytes(),
                    format!("BGP version {}", body[0]),
                ));
            }
            match parse_netgauze(msg, ctx)? {
                (BgpMessage::Open(o), _) => Ok(Message::Open(open::from_netgauze(&o))),
                _ => unreachable!("type checked by frame"),
            }
        }
        2 => decode_update(msg, ctx),
        _ => unreachable!("type checked by frame"),
    }
}

fn decode_update(msg: &[u8], ctx: &CodecContext) -> Result<Message, DecodeError> {
    let malformed = |e: CodecError| {
        DecodeError::new(
            codes::UPDATE,
            codes::UPDATE_MALFORMED_ATTR_LIST,
            [],
            e.to_string(),
        )
    };
    // An attribute overrunning the list is a Malformed Attribute List (RFC 4271 6.3); a bad
    // RTC NLRI inside MP_REACH/MP_UNREACH resets the session (RFC 7606 7.3) as an Optional
    // Attribute Error.
    let rtc_add_path = ctx.add_path_rx.contains(&Family::RouteTarget);
    let (stripped, rtc_parts) = rtc::split(msg, rtc_add_path).map_err(|e| {
        let sub = if e == CodecError::Truncated {
            codes::UPDATE_MALFORMED_ATTR_LIST
        } else {
            codes::UPDATE_OPTIONAL_ATTR
        };
        DecodeError::new(codes::UPDATE, sub, [], e.to_string())
    })?;
    let msg = stripped.as_deref().unwrap_or(msg);
    let (ng, errors) = parse_netgauze(msg, ctx)?;
    let BgpMessage::Update(u) = ng else {
        unreachable!("type checked by frame")
    };
    let mut up = update::from_netgauze(&u, errors).map_err(malformed)?;
    if let Some((nh, items)) = rtc_parts.reach {
        // The RTC MP_REACH next hop is the route's; a NEXT_HOP beside it is for inet only.
        if let Some(std::net::IpAddr::V4(v4)) = up.attrs.next_hop
            && up.inet_next_hop.is_none()
            && up.attr_order.iter().any(|(c, _)| *c == 3)
        {
            up.inet_next_hop = Some(v4);
        }
        up.attrs.next_hop = Some(nh);
        let list = items.into_iter().map(|(path_id, m)| Labeled {
            nlri: Nlri::RouteTarget(m),
            labels: Default::default(),
            path_id,
        });
        if up.attribute_errors.is_empty() {
            up.announce.extend(list);
        } else {
            up.withdraw.extend(list);
        }
        up.eor = None;
    }
    if let Some(items) = rtc_parts.unreach {
        if items.is_empty() && up.announce.is_empty() && up.withdraw.is_empty() {
            up.eor = Some(Family::RouteTarget);
        } else {
            up.eor = None;
        }
        up.withdraw
            .extend(items.into_iter().map(|(path_id, m)| Labeled {
                nlri: Nlri::RouteTarget(m),
                labels: Default::default(),
                path_id,
            }));
    }
    Ok(Message::Update(up))
}

fn parse_netgauze(
    msg: &[u8],
    ctx: &CodecContext,
) -> Result<(BgpMessage, Vec<String>), DecodeError> {
    let mut ng = ctx.netgauze();
    match BgpMessage::parse(&mut SliceReader::new(msg), &mut ng) {
        Ok(m) => {
            let errs = ng
                .reset_parsing_errors()
                .path_attr_errors()
                .iter()
                .map(|e| e.to_string())
                .collect();
            Ok((m, errs))
        }
        Err(e) => Err(notification_for(e)),
    }
}

/// Maps a netgauze parse error to the NOTIFICATION to send, keeping its reason text.
fn notification_for(e: BgpMessageParsingError) -> DecodeError {
    let reason = e.to_string();
    // MP_REACH/MP_UNREACH faults reset the session (RFC 7606 section 7.3); netgauze reports
    // them through its generic update-error mapping, which picks the right subcode for the rest.
    let ng: netgauze_bgp_pkt::notification::BgpNotificationMessage = e.into();
    let mut bytes = Vec::new();
    let _ = BgpMessage::Notification(ng).write(&mut bytes);
    if bytes.len() >= HEADER_LEN + 2 {
        DecodeError::new(bytes[19], bytes[20], &bytes[21..], reason)
    } else {
        DecodeError::new(codes::UPDATE, codes::UPDATE_MALFORMED_ATTR_LIST, [], reason)
    }
}

fn header(ty: u8, body_len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(HEADER_LEN + body_len);
    v.extend_from_slice(&[0xff; 16]);
    v.extend_from_slice(&((HEADER_LEN + body_len) as u16).to_be_bytes());
    v.push(ty);
    v
}

/// Encodes one message. `asn4` says whether the peer takes 4-octet AS paths.
pub fn encode(m: &Message, asn4: bool) -> Result<Vec<u8>, CodecError> {
    match m {
        Message::Keepalive => Ok(header(4, 0)),
        Message::Notification(n) => {
            let mut v = header(3, 2 + n.data.len());
            v.push(n.code);
            v.push(n.subcode);
            v.extend_from_slice(&n.data);
            Ok(v)
        }
        Message::RouteRefresh(r) => {
            let mut v = header(5, 4);
            v.extend_from_slice(&r.afi.to_be_bytes());
            v.push(r.subtype);
            v.push(r.safi);
            Ok(v)
        }
        Message::Open(o) => write_netgauze(&open::to_netgauze(o)),
        Message::Update(u) => encode_update(u, asn4),
    }
}

fn write_netgauze(m: &BgpMessage) -> Result<Vec<u8>, CodecError> {
    let mut v = Vec::with_capacity(m.len());
    m.write(&mut v)
        .map_err(|e| CodecError::Invalid(e.to_string()))?;
    if v.len() > MAX_MESSAGE_LEN {
        return Err(CodecError::TooLong(v.len()));
    }
    Ok(v)
}

fn encode_update(u: &Update, asn4: bool) -> Result<Vec<u8>, CodecError> {
    let rt = |l: &Labeled| match &l.nlri {
        Nlri::RouteTarget(m) => Some((l.path_id, *m)),
        _ => None,
    };
    let rt_ann: Vec<_> = u.announce.iter().filter_map(rt).collect();
    let rt_wd: Vec<_> = u.withdraw.iter().filter_map(rt).collect();
    let mut v = write_netgauze(&update::to_netgauze(u, asn4)?)?;
    if !rt_ann.is_empty() {
        let nh = u.attrs.next_hop.ok_or_else(|| {
            CodecError::Invalid("route-target announcement without a next hop".into())
        })?;
        rtc::splice(&mut v, &rtc::attribute(Some(nh), &rt_ann))?;
    }
    if !rt_wd.is_empty() || u.eor == Some(Family::RouteTarget) {
        rtc::splice(&mut v, &rtc::attribute(None, &rt_wd))?;
    }
    Ok(v)
}

/// Splits announcements into UPDATEs that each fit in 4096 octets: the RIB hands the session
/// routes grouped by attributes, and this packs as many per message as fit.
pub fn encode_update_packed(u: &Update, asn4: bool) -> Result<Vec<Vec<u8>>, CodecError> {
    match encode_update(u, asn4) {
        Ok(v) => Ok(vec![v]),
        // A big group (thousands of routes sharing attributes): the failed encoding gave its
        // length, so cut it straight into pieces that should fit at the average NLRI size with
        // 10% to spare, rather than halving (each halving level re-encodes everything).
        Err(CodecError::TooLong(total)) if total > 2 * MAX_MESSAGE_LEN => {
            let pieces = total.div_ceil(MAX_MESSAGE_LEN * 9 / 10);
            let (ka, kw) = (
                u.announce.len().div_ceil(pieces).max(1),
                u.withdraw.len().div_ceil(pieces).max(1),
            );
            let mut out = Vec::new();
            let mut ann = u.announce.chunks(ka);
            let mut wd = u.withdraw.chunks(kw);
            loop {
                let (a, w) = (ann.next(), wd.next());
                if a.is_none() && w.is_none() {
                    break;
                }
                let part = Update {
                    announce: a.map(<[_]>::to_vec).unwrap_or_default(),
                    withdraw: w.map(<[_]>::to_vec).unwrap_or_default(),
                    attrs: u.attrs.clone(),
                    next_hop_local: u.next_hop_local,
                    inet_next_hop: u.inet_next_hop,
                    inet_via_mp: u.inet_via_mp,
                    eor: u.eor,
                    unsupported: u.unsupported.clone(),
                    attribute_errors: u.attribute_errors.clone(),
                    attr_order: u.attr_order.clone(),
                };
                // A piece of unluckily long NLRI still gets halved below.
                out.extend(encode_update_packed(&part, asn4)?);
            }
            Ok(out)
        }
        Err(CodecError::TooLong(_)) if u.announce.len() + u.withdraw.len() > 1 => {
            let (a_half, w_half) = (u.announce.len() / 2, u.withdraw.len() / 2);
            let mut first = u.clone();
            let mut second = u.clone();
            first.announce.truncate(a_half);
            first.withdraw.truncate(w_half);
            second.announce.drain(..a_half);
            second.withdraw.drain(..w_half);
            let mut out = Vec::new();
            for part in [first, second] {
                if !part.announce.is_empty() || !part.withdraw.is_empty() {
                    out.extend(encode_update_packed(&part, asn4)?);
                }
            }
            Ok(out)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Label, Rd};

    /// A big group is cut into few, nearly full messages that together carry every route.
    #[test]
    fn big_update_packs_into_full_messages() {
        let n = 20_000;
        let u = Update {
            announce: (0..n)
                .map(|j: u32| {
                    let p = format!("10.{}.{}.0/24", j >> 8, j & 0xff);
                    Labeled::with_label(
                        Nlri::InetVpn {
                            rd: Rd::As2(65000, 1),
                            prefix: p.parse().unwrap(),
                        },
                        Label::mpls(16),
                    )
                })
                .collect(),
            attrs: crate::attrs::PathAttrs {
                next_hop: Some("198.18.0.1".parse().unwrap()),
                ..Default::default()
            },
            ..Default::default()
        };
        let msgs = encode_update_packed(&u, true).unwrap();
        assert!(msgs.iter().all(|m| m.len() <= MAX_MESSAGE_LEN));
        let total: usize = msgs.iter().map(Vec::len).sum();
        // At least ~75% full on average (halving alone would be as low as 50%).
        assert!(
            msgs.len() <= total.div_ceil(MAX_MESSAGE_LEN * 3 / 4),
            "{} messages for {total} octets",
            msgs.len()
        );
        let mut seen = Vec::new();
        for m in &msgs {
            let Message::Update(d) = decode(m, &CodecContext::asn4()).unwrap() else {
                panic!("not an UPDATE");
            };
            seen.extend(d.announce.into_iter().map(|l| l.nlri));
        }
        assert_eq!(
            seen,
            u.announce
                .iter()
                .map(|l| l.nlri.clone())
                .collect::<Vec<_>>()
        );
    }

    /// An UPDATE message from its three parts (RFC 4271 4.3).
    fn update_bytes(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
        let mut body = (withdrawn.len() as u16).to_be_bytes().to_vec();
        body.extend_from_slice(withdrawn);
        body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        body.extend_from_slice(attrs);
        body.extend_from_slice(nlri);
        let mut m = header(2, body.len());
        m.extend_from_slice(&body);
        m
    }

    fn decode_update_bytes(m: &[u8]) -> Update {
        match decode(m, &CodecContext::asn4()).unwrap() {
            Message::Update(u) => u,
            other => panic!("not an UPDATE: {other:?}"),
        }
    }

    const ORIGIN_IGP: [u8; 4] = [0x40, 1, 1, 0];
    const AS_PATH_EMPTY: [u8; 3] = [0x40, 2, 0];
    const NEXT_HOP_10_0_0_4: [u8; 7] = [0x40, 3, 4, 10, 0, 0, 4];

    /// The bits after the prefix length are irrelevant (RFC 4271 4.3): `/1 0xfe` is 128.0.0.0/1,
    /// so it matches the canonical withdrawal and re-encodes as `/1 0x80`.
    #[test]
    fn trailing_prefix_bits_are_dropped() {
        let m = update_bytes(&[1, 0xfe, 24, 10, 1, 2], &[], &[]);
        let u = decode_update_bytes(&m);
        let got: Vec<_> = u.withdraw.iter().map(|l| l.nlri.clone()).collect();
        assert_eq!(
            got,
            [
                Nlri::Inet("128.0.0.0/1".parse().unwrap()),
                Nlri::Inet("10.1.2.0/24".parse().unwrap())
            ]
        );
        assert_eq!(
            encode(&Message::Update(u), true).unwrap(),
            update_bytes(&[1, 0x80, 24, 10, 1, 2], &[], &[])
        );
    }

    /// RFC 7606 3(g): a repeated attribute is discarded after its first occurrence (the
    /// routes stay announced); a repeated MP_REACH_NLRI is a Malformed Attribute List.
    #[test]
    fn repeated_attributes() {
        let lp = |v: u8| [0x40, 5, 4, 0, 0, 0, v];
        let attrs = [
            &ORIGIN_IGP[..],
            &AS_PATH_EMPTY,
            &NEXT_HOP_10_0_0_4,
            &lp(100),
            &lp(200),
        ]
        .concat();
        let m = update_bytes(&[], &attrs, &[32, 192, 168, 0, 4]);
        let u = decode_update_bytes(&m);
        assert_eq!(
            (u.attrs.local_pref, u.announce.len(), &u.attribute_errors),
            (Some(100), 1, &Vec::<String>::new())
        );
        let without_repeat = update_bytes(&[], &attrs[..attrs.len() - 7], &[32, 192, 168, 0, 4]);
        assert_eq!(encode(&Message::Update(u), true).unwrap(), without_repeat);

        // MP_REACH_NLRI (VPNv4, RD 0:0 next hop 10.0.0.4, label 16, RD 1:1, 10.0.0.0/24) twice.
        let reach: Vec<u8> = [
            &[0x80, 14, 33, 0, 1, 128, 12][..],
            &[0; 8],
            &[10, 0, 0, 4, 0],
            &[112, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1, 10, 0, 0],
        ]
        .concat();
        let attrs = [&ORIGIN_IGP[..], &AS_PATH_EMPTY, &reach, &reach].concat();
        let e = decode(&update_bytes(&[], &attrs, &[]), &CodecContext::asn4()).unwrap_err();
        assert_eq!(
            (e.notification.code, e.notification.subcode),
            (codes::UPDATE, codes::UPDATE_MALFORMED_ATTR_LIST),
            "{e}"
        );
    }

    /// A received UPDATE without ORIGIN re-encodes with its AS_PATH, as received.
    #[test]
    fn as_path_without_origin_is_kept() {
        let attrs = [&AS_PATH_EMPTY[..], &NEXT_HOP_10_0_0_4].concat();
        let m = update_bytes(&[], &attrs, &[32, 192, 168, 0, 4]);
        let u = decode_update_bytes(&m);
        assert_eq!(encode(&Message::Update(u), true).unwrap(), m);
    }

    /// Routes announced without any attribute are withdrawn (RFC 7606 3(d)), not given default
    /// attributes that the peer never sent.
    #[test]
    fn routes_without_attributes_are_withdrawn() {
        let u = decode_update_bytes(&update_bytes(&[], &[], &[24, 10, 1, 2]));
        assert!(u.announce.is_empty());
        assert_eq!(
            u.withdraw
                .iter()
                .map(|l| l.nlri.clone())
                .collect::<Vec<_>>(),
            [Nlri::Inet("10.1.2.0/24".parse().unwrap())]
        );
        assert_eq!(u.attribute_errors.len(), 1, "{:?}", u.attribute_errors);
    }
}
