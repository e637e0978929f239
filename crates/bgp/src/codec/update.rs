//! UPDATE conversion between netgauze's `BgpUpdateMessage` and our [`Update`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netgauze_bgp_pkt::BgpMessage;
use netgauze_bgp_pkt::community::{Community, ExtendedCommunity};
use netgauze_bgp_pkt::nlri::{
    LabeledIpv4NextHop, LabeledIpv6NextHop, LabeledNextHop, RouteDistinguisher,
};
use netgauze_bgp_pkt::path_attribute::{
    As2Aggregator, As2PathSegment, As4Aggregator, As4Path, As4PathSegment, AsPath,
    AsPathSegmentType, AtomicAggregate, ClusterId, ClusterList, Communities, ExtendedCommunities,
    LocalPreference, MpReach, MpUnreach, MultiExitDiscriminator, NextHop, Origin as NgOrigin,
    Originator, PathAttribute, PathAttributeValue,
};
use netgauze_bgp_pkt::update::BgpUpdateMessage;
use netgauze_parse_utils::WritablePdu;
use netgauze_parse_utils::reader::SliceReader;
use netgauze_parse_utils::traits::ParseFrom;

use super::{CodecError, nlri as n};
use crate::attrs::{AsSegment, Origin};
use crate::ext_community::ExtCommunity;
use crate::message::Update;
use crate::types::{Family, Labeled};

const AS_TRANS: u16 = 23456;

fn ext_from(c: &ExtendedCommunity) -> Result<ExtCommunity, CodecError> {
    let mut b = Vec::with_capacity(8);
    c.write(&mut b)
        .map_err(|e| CodecError::Invalid(format!("extended community: {e}")))?;
    let arr: [u8; 8] = b
        .try_into()
        .map_err(|_| CodecError::Invalid("extended community is not 8 octets".into()))?;
    Ok(ExtCommunity(arr))
}

fn ext_to(c: &ExtCommunity) -> Result<ExtendedCommunity, CodecError> {
    ExtendedCommunity::parse(&mut SliceReader::new(&c.0))
        .map_err(|e| CodecError::Invalid(format!("extended community {c}: {e:?}")))
}

fn segs4(segs: impl Iterator<Item = (AsPathSegmentType, Vec<u32>)>) -> Vec<AsSegment> {
    segs.map(|(t, asns)| AsSegment {
        set: t == AsPathSegmentType::AsSet,
        asns,
    })
    .collect()
}

/// RFC 6793 section 4.2.3: rebuild the 4-octet path from AS_PATH (with AS_TRANS) and AS4_PATH.
fn merge_as4(as2: Vec<AsSegment>, as4: Vec<AsSegment>) -> Vec<AsSegment> {
    let len = |p: &[AsSegment]| {
        p.iter()
            .map(|s| if s.set { 1 } else { s.asns.len() })
            .sum::<usize>()
    };
    let (l2, l4) = (len(&as2), len(&as4));
    if l4 > l2 {
        return as2;
    }
    let mut keep = l2 - l4;
    let mut out = Vec::new();
    for seg in as2 {
        if keep == 0 {
            break;
        }
        if seg.set {
            keep -= 1;
            out.push(seg);
        } else {
            let take = keep.min(seg.asns.len());
            keep -= take;
            out.push(AsSegment {
                set: false,
                asns: seg.asns[..take].to_vec(),
            });
        }
    }
    out.extend(as4);
    out
}

/// Converts a decoded netgauze UPDATE; `errors` are the RFC 7606 attribute errors netgauze
/// collected instead of failing.
pub(crate) fn from_netgauze(
    u: &BgpUpdateMessage,
    errors: Vec<String>,
) -> Result<Update, CodecError> {
    let mut out = Update {
        attribute_errors: errors,
        ..Default::default()
    };
    out.withdraw
        .extend(u.withdraw_routes().iter().map(n::inet_from));
    out.announce.extend(u.nlri().iter().map(n::inet_from));
    let mut next_hop_attr: Option<Ipv4Addr> = None;
    let mut mp_nh: Option<IpAddr> = None;
    let mut as2_path: Option<Vec<AsSegment>> = None;
    let mut as4_path: Option<Vec<AsSegment>> = None;
    let a = &mut out.attrs;
    let mut seen = [false; 256];
    for attr in u.path_attributes() {
        let code = match attr.path_attribute_type() {
            Ok(t) => t as u8,
            Err(c) => c,
        };
        // RFC 7606 3(g): MP_REACH/MP_UNREACH twice is a Malformed Attribute List; any other
        // attribute after its first occurrence is discarded.
        if std::mem::replace(&mut seen[usize::from(code)], true) {
            if code == 14 || code == 15 {
                return Err(CodecError::Invalid(format!(
                    "path attribute {code} appears more than once"
                )));
            }
            continue;
        }
        out.attr_order.push((code, attr.extended_length()));
        match attr.value() {
            PathAttributeValue::Origin(o) => {
                a.origin = match o {
                    NgOrigin::IGP => Origin::Igp,
                    NgOrigin::EGP => Origin::Egp,
                    NgOrigin::Incomplete => Origin::Incomplete,
                }
            }
            PathAttributeValue::AsPath(AsPath::As2PathSegments(s)) => {
                as2_path = Some(segs4(s.iter().map(|s| {
                    (
                        s.segment_type(),
                        s.as_numbers().iter().map(|&x| u32::from(x)).collect(),
                    )
                })));
            }
            PathAttributeValue::AsPath(AsPath::As4PathSegments(s)) => {
                a.as_path = segs4(
                    s.iter()
                        .map(|s| (s.segment_type(), s.as_numbers().to_vec())),
                );
            }
            PathAttributeValue::As4Path(p) => {
                as4_path = Some(segs4(
                    p.segments()
                        .iter()
                        .map(|s| (s.segment_type(), s.as_numbers().to_vec())),
                ));
            }
            PathAttributeValue::NextHop(nh) => next_hop_attr = Some(nh.next_hop()),
            PathAttributeValue::MultiExitDiscriminator(m) => a.med = Some(m.metric()),
            PathAttributeValue::LocalPreference(l) => a.local_pref = Some(l.metric()),
            PathAttributeValue::AtomicAggregate(_) => a.atomic_aggregate = true,
            PathAttributeValue::Aggregator(
                netgauze_bgp_pkt::path_attribute::Aggregator::As2Aggregator(g),
            ) => a.aggregator = Some((u32::from(*g.asn()), g.origin())),
            PathAttributeValue::Aggregator(
                netgauze_bgp_pkt::path_attribute::Aggregator::As4Aggregator(g),
            ) => a.aggregator = Some((*g.asn(), g.origin())),
            PathAttributeValue::Communities(c) => {
                a.communities = c.communities().iter().map(|c| c.value()).collect()
            }
            PathAttributeValue::ExtendedCommunities(c) => {
                a.ext_communities = c
                    .communities()
                    .iter()
                    .map(ext_from)
                    .collect::<Result<_, _>>()?
            }
            PathAttributeValue::Originator(o) => a.originator_id = Some(o.id()),
            PathAttributeValue::ClusterList(c) => {
                a.cluster_list = c.cluster_list().iter().map(|c| c.id()).collect()
            }
            PathAttributeValue::MpReach(r) => {
                out.inet_via_mp |= matches!(r, MpReach::Ipv4Unicast { .. });
                let (nh, local) = mp_reach_from(r, &mut out.announce)?;
                match nh {
                    Some(nh) => {
                        mp_nh = Some(nh);
                        out.next_hop_local = local;
                    }
                    None => out.unsupported.push(attr.clone()),
                }
            }
            PathAttributeValue::MpUnreach(r) => {
                out.inet_via_mp |=
                    matches!(r, MpUnreach::Ipv4Unicast { .. }) && u.end_of_rib().is_none();
                if !mp_unreach_from(r, &mut out.withdraw)? {
                    out.unsupported.push(attr.clone());
                }
            }
            _ => a.other.push(attr.clone()),
        }
    }
    if let Some(p2) = as2_path {
        a.as_path = match as4_path {
            Some(p4) => merge_as4(p2, p4),
            None => p2,
        };
    } else if let Some(p4) = as4_path {
        // AS4_PATH without AS_PATH is malformed; keep it visible rather than drop it.
        a.as_path = p4;
    }
    match (mp_nh, next_hop_attr) {
        (Some(mp), Some(v4)) => {
            a.next_hop = Some(mp);
            out.inet_next_hop = Some(v4);
        }
        (Some(mp), None) => a.next_hop = Some(mp),
        (None, v4) => a.next_hop = v4.map(IpAddr::V4),
    }
    out.eor = u.end_of_rib().and_then(super::family_of);
    if out.attr_order.is_empty() && !out.announce.is_empty() {
        // Routes without a single attribute lack every mandatory one (RFC 7606 3(d)); and an
        // empty `attr_order` would otherwise read as "built here" and re-encode with defaults.
        out.attribute_errors
            .push("routes announced without any path attribute".into());
    }
    if !out.attribute_errors.is_empty() {
        // RFC 7606 treat-as-withdraw: the announced routes are withdrawn instead.
        let ann = std::mem::take(&mut out.announce);
        out.withdraw.extend(ann);
    }
    Ok(out)
}

/// Our next hop for a VPN family: RFC 4659 maps an IPv4 next hop into IPv6 for VPNv6.
fn unmap(ip: Ipv6Addr) -> IpAddr {
    match ip.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None => IpAddr::V6(ip),
    }
}

fn mp_reach_from(
    r: &MpReach,
    out: &mut Vec<Labeled>,
) -> Result<(Option<IpAddr>, Option<Ipv6Addr>), CodecError> {
    Ok(match r {
        MpReach::Ipv4Unicast {
            next_hop,
            next_hop_local,
            nlri,
        } => {
            out.extend(nlri.iter().map(n::inet_from));
            (Some(*next_hop), *next_hop_local)
        }
        MpReach::Ipv6Unicast {
            next_hop_global,
            next_hop_local,
            nlri,
        } => {
            out.extend(nlri.iter().map(n::inet6_from));
            (Some(IpAddr::V6(*next_hop_global)), *next_hop_local)
        }
        MpReach::Ipv4MplsVpnUnicast { next_hop, nlri } => {
            for a in nlri.iter() {
                out.push(n::vpn4_from(a)?);
            }
            (Some(next_hop.next_hop()), vpn_local(next_hop))
        }
        MpReach::Ipv6MplsVpnUnicast { next_hop, nlri } => {
            for a in nlri.iter() {
                out.push(n::vpn6_from(a)?);
            }
            let nh = match next_hop.next_hop() {
                IpAddr::V6(v6) => unmap(v6),
                v4 => v4,
            };
            (Some(nh), vpn_local(next_hop))
        }
        MpReach::L2Evpn { next_hop, nlri } => {
            for a in nlri.iter() {
                out.push(n::evpn_from(a)?);
            }
            (Some(*next_hop), None)
        }
        _ => (None, None),
    })
}

fn vpn_local(nh: &LabeledNextHop) -> Option<Ipv6Addr> {
    match nh {
        LabeledNextHop::Ipv6(v6) => v6.next_hop_local(),
        LabeledNextHop::Ipv4(_) => None,
    }
}

fn mp_unreach_from(r: &MpUnreach, out: &mut Vec<Labeled>) -> Result<bool, CodecError> {
    match r {
        MpUnreach::Ipv4Unicast { nlri } => out.extend(nlri.iter().map(n::inet_from)),
        MpUnreach::Ipv6Unicast { nlri } => out.extend(nlri.iter().map(n::inet6_from)),
        MpUnreach::Ipv4MplsVpnUnicast { nlri } => {
            for a in nlri.iter() {
                out.push(n::vpn4_from(a)?);
            }
        }
        MpUnreach::Ipv6MplsVpnUnicast { nlri } => {
            for a in nlri.iter() {
                out.push(n::vpn6_from(a)?);
            }
        }
        MpUnreach::L2Evpn { nlri } => {
            for a in nlri.iter() {
                out.push(n::evpn_from(a)?);
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Builds one attribute, setting the extended-length flag only when the value needs it.
fn attr(
    optional: bool,
    transitive: bool,
    value: PathAttributeValue,
) -> Result<PathAttribute, CodecError> {
    let mk = |ext: bool, v: PathAttributeValue| {
        PathAttribute::from(optional, transitive, false, ext, v)
            .map_err(|(_, e)| CodecError::Invalid(format!("attribute flags: {e}")))
    };
    let short = mk(false, value.clone())?;
    if short.len() > 3 + 255 {
        mk(true, value)
    } else {
        Ok(short)
    }
}

/// netgauze 0.13 writes an MP_REACH of an unknown family with a length one octet too long;
/// re-wrap its body as an opaque attribute so it goes out exactly as it came in.
fn unknown_mp_workaround(a: &PathAttribute) -> PathAttribute {
    let PathAttributeValue::MpReach(MpReach::Unknown { afi, safi, value }) = a.value() else {
        return a.clone();
    };
    let mut v = Vec::with_capacity(3 + value.len());
    v.extend_from_slice(&u16::from(*afi).to_be_bytes());
    v.push(u8::from(*safi));
    v.extend_from_slice(value);
    let ua = netgauze_bgp_pkt::path_attribute::UnknownAttribute::new(14, v);
    PathAttribute::from(
        true,
        false,
        false,
        a.extended_length(),
        PathAttributeValue::UnknownAttribute(ua),
    )
    .unwrap_or_else(|_| a.clone())
}

fn with_ext_len(a: PathAttribute) -> PathAttribute {
    let (o, t, p) = (a.optional(), a.transitive(), a.partial());
    PathAttribute::from(o, t, p, true, a.value().clone()).unwrap_or(a)
}

fn single_family(list: &[Labeled]) -> Result<Option<Family>, CodecError> {
    let mut fam = None;
    for l in list {
        let f = l.nlri.family();
        if f == Family::Inet || f == Family::RouteTarget {
            continue;
        }
        match fam {
            None => fam = Some(f),
            Some(g) if g == f => {}
            Some(_) => return Err(CodecError::MixedFamilies(f)),
        }
    }
    Ok(fam)
}

fn labeled_nh(nh: IpAddr, local: Option<Ipv6Addr>, v6_family: bool) -> LabeledNextHop {
    let rd0 = RouteDistinguisher::As2Administrator { asn2: 0, number: 0 };
    match (nh, v6_family) {
        (IpAddr::V4(v4), false) => LabeledNextHop::Ipv4(LabeledIpv4NextHop::new(rd0, v4)),
        (IpAddr::V4(v4), true) => {
            LabeledNextHop::Ipv6(LabeledIpv6NextHop::new(rd0, v4.to_ipv6_mapped(), local))
        }
        (IpAddr::V6(v6), _) => LabeledNextHop::Ipv6(LabeledIpv6NextHop::new(rd0, v6, local)),
    }
}

/// Converts our UPDATE (without its route-target NLRI, which [`super::rtc`] writes) to netgauze's.
pub(crate) fn to_netgauze(u: &Update, asn4: bool) -> Result<BgpMessage, CodecError> {
    let a = &u.attrs;
    let mut attrs: Vec<(u8, PathAttribute)> = Vec::new();
    let classic = |l: &&Labeled| l.nlri.family() == Family::Inet && !u.inet_via_mp;
    let inet_ann: Vec<_> = u
        .announce
        .iter()
        .filter(classic)
        .map(n::inet_to)
        .collect::<Result<_, _>>()?;
    let inet_wd: Vec<_> = u
        .withdraw
        .iter()
        .filter(classic)
        .map(n::inet_to)
        .collect::<Result<_, _>>()?;
    let inet_mp = |list: &[Labeled]| {
        (u.inet_via_mp && list.iter().any(|l| l.nlri.family() == Family::Inet))
            .then_some(Family::Inet)
    };
    let mp_ann = single_family(&u.announce)?.or(inet_mp(&u.announce));
    let mp_wd = single_family(&u.withdraw)?.or(inet_mp(&u.withdraw));
    let has_reach = !inet_ann.is_empty()
        || mp_ann.is_some()
        || u.announce
            .iter()
            .any(|l| l.nlri.family() == Family::RouteTarget);
    // Which attributes to write: as received when we know, else what the RFC requires.
    let present = |code: u8, default: bool| {
        if u.attr_order.is_empty() {
            default
        } else {
            u.attr_order.iter().any(|(c, _)| *c == code)
        }
    };
    if present(1, has_reach) {
        let origin = match a.origin {
            Origin::Igp => NgOrigin::IGP,
            Origin::Egp => NgOrigin::EGP,
            Origin::Incomplete => NgOrigin::Incomplete,
        };
        attrs.push((1, attr(false, true, PathAttributeValue::Origin(origin))?));
    }
    // AS_PATH on its own test: a received message that lacked ORIGIN still had its AS_PATH.
    if present(2, has_reach) {
        let seg_type = |set: bool| {
            if set {
                AsPathSegmentType::AsSet
            } else {
                AsPathSegmentType::AsSequence
            }
        };
        let path = if asn4 {
            AsPath::As4PathSegments(
                a.as_path
                    .iter()
                    .map(|s| As4PathSegment::new(seg_type(s.set), s.asns.clone()))
                    .collect(),
            )
        } else {
            AsPath::As2PathSegments(
                a.as_path
                    .iter()
                    .map(|s| {
                        let v: Vec<u16> = s
                            .asns
                            .iter()
                            .map(|&x| u16::try_from(x).unwrap_or(AS_TRANS))
                            .collect();
                        As2PathSegment::new(seg_type(s.set), v)
                    })
                    .collect(),
            )
        };
        attrs.push((2, attr(false, true, PathAttributeValue::AsPath(path))?));
        if !asn4 && a.as_path.iter().any(|s| s.asns.iter().any(|&x| x > 0xffff)) {
            let p = As4Path::new(
                a.as_path
                    .iter()
                    .map(|s| As4PathSegment::new(seg_type(s.set), s.asns.clone()))
                    .collect::<Vec<_>>(),
            );
            attrs.push((17, attr(true, true, PathAttributeValue::As4Path(p))?));
        }
    }
    let v4_nh = u.inet_next_hop.or(match a.next_hop {
        Some(IpAddr::V4(v4)) if !inet_ann.is_empty() || (mp_ann.is_none() && present(3, false)) => {
            Some(v4)
        }
        _ => None,
    });
    if let Some(v4) = v4_nh {
        attrs.push((
            3,
            attr(false, true, PathAttributeValue::NextHop(NextHop::new(v4)))?,
        ));
    }
    if let Some(m) = a.med {
        attrs.push((
            4,
            attr(
                true,
                false,
                PathAttributeValue::MultiExitDiscriminator(MultiExitDiscriminator::new(m)),
            )?,
        ));
    }
    if let Some(l) = a.local_pref {
        attrs.push((
            5,
            attr(
                false,
                true,
                PathAttributeValue::LocalPreference(LocalPreference::new(l)),
            )?,
        ));
    }
    if a.atomic_aggregate {
        attrs.push((
            6,
            attr(
                false,
                true,
                PathAttributeValue::AtomicAggregate(AtomicAggregate),
            )?,
        ));
    }
    if let Some((asn, ip)) = a.aggregator {
        let g = if asn4 {
            netgauze_bgp_pkt::path_attribute::Aggregator::As4Aggregator(As4Aggregator::new(asn, ip))
        } else {
            netgauze_bgp_pkt::path_attribute::Aggregator::As2Aggregator(As2Aggregator::new(
                u16::try_from(asn).unwrap_or(AS_TRANS),
                ip,
            ))
        };
        attrs.push((7, attr(true, true, PathAttributeValue::Aggregator(g))?));
    }
    if !a.communities.is_empty() {
        let c: Vec<Community> = a.communities.iter().map(|&c| Community::new(c)).collect();
        attrs.push((
            8,
            attr(
                true,
                true,
                PathAttributeValue::Communities(Communities::new(c)),
            )?,
        ));
    }
    if let Some(o) = a.originator_id {
        attrs.push((
            9,
            attr(
                true,
                false,
                PathAttributeValue::Originator(Originator::new(o)),
            )?,
        ));
    }
    if !a.cluster_list.is_empty() {
        let c: Vec<ClusterId> = a.cluster_list.iter().map(|&c| ClusterId::new(c)).collect();
        attrs.push((
            10,
            attr(
                true,
                false,
                PathAttributeValue::ClusterList(ClusterList::new(c)),
            )?,
        ));
    }
    if let Some(f) = mp_ann {
        let nh = a
            .next_hop
            .ok_or_else(|| CodecError::Invalid(format!("{f} announcement without a next hop")))?;
        let list = u.announce.iter().filter(|l| l.nlri.family() == f);
        let reach = match f {
            Family::Inet => MpReach::Ipv4Unicast {
                next_hop: nh,
                next_hop_local: u.next_hop_local,
                nlri: list.map(n::inet_to).collect::<Result<Vec<_>, _>>()?.into(),
            },
            Family::Inet6 => MpReach::Ipv6Unicast {
                next_hop_global: match nh {
                    IpAddr::V6(v6) => v6,
                    IpAddr::V4(v4) => v4.to_ipv6_mapped(),
                },
                next_hop_local: u.next_hop_local,
                nlri: list.map(n::inet6_to).collect::<Result<Vec<_>, _>>()?.into(),
            },
            Family::InetVpn => MpReach::Ipv4MplsVpnUnicast {
                next_hop: labeled_nh(nh, u.next_hop_local, false),
                nlri: list
                    .map(|l| n::vpn4_to(l, false))
                    .collect::<Result<Vec<_>, _>>()?
                    .into(),
            },
            Family::Inet6Vpn => MpReach::Ipv6MplsVpnUnicast {
                next_hop: labeled_nh(nh, u.next_hop_local, true),
                nlri: list
                    .map(|l| n::vpn6_to(l, false))
                    .collect::<Result<Vec<_>, _>>()?
                    .into(),
            },
            Family::Evpn => MpReach::L2Evpn {
                next_hop: nh,
                nlri: list.map(n::evpn_to).collect::<Result<Vec<_>, _>>()?.into(),
            },
            Family::RouteTarget => unreachable!("filtered by single_family"),
        };
        attrs.push((14, attr(true, false, PathAttributeValue::MpReach(reach))?));
    }
    let eor_unreach = match u.eor {
        Some(Family::Inet) | None => None,
        Some(Family::RouteTarget) => None, // written by rtc
        Some(f) => Some(f),
    };
    if let Some(f) = mp_wd.or(eor_unreach) {
        let list = u.withdraw.iter().filter(|l| l.nlri.family() == f);
        let unreach = match f {
            Family::Inet => MpUnreach::Ipv4Unicast {
                nlri: list.map(n::inet_to).collect::<Result<Vec<_>, _>>()?.into(),
            },
            Family::Inet6 => MpUnreach::Ipv6Unicast {
                nlri: list.map(n::inet6_to).collect::<Result<Vec<_>, _>>()?.into(),
            },
            Family::InetVpn => MpUnreach::Ipv4MplsVpnUnicast {
                nlri: list
                    .map(|l| n::vpn4_to(l, true))
                    .collect::<Result<Vec<_>, _>>()?
                    .into(),
            },
            Family::Inet6Vpn => MpUnreach::Ipv6MplsVpnUnicast {
                nlri: list
                    .map(|l| n::vpn6_to(l, true))
                    .collect::<Result<Vec<_>, _>>()?
                    .into(),
            },
            Family::Evpn => MpUnreach::L2Evpn {
                nlri: list.map(n::evpn_to).collect::<Result<Vec<_>, _>>()?.into(),
            },
            Family::RouteTarget => unreachable!("filtered by single_family"),
        };
        attrs.push((
            15,
            attr(true, false, PathAttributeValue::MpUnreach(unreach))?,
        ));
    }
    if !a.ext_communities.is_empty() {
        let c = a
            .ext_communities
            .iter()
            .map(ext_to)
            .collect::<Result<Vec<_>, _>>()?;
        attrs.push((
            16,
            attr(
                true,
                true,
                PathAttributeValue::ExtendedCommunities(ExtendedCommunities::new(c)),
            )?,
        ));
    }
    for o in a.other.iter().chain(u.unsupported.iter()) {
        let code = match o.path_attribute_type() {
            Ok(t) => t as u8,
            Err(c) => c,
        };
        attrs.push((code, unknown_mp_workaround(o)));
    }
    // Received order when known (byte-exact re-encoding), else ascending type order as
    // RFC 4271 section 5 suggests and most speakers do.
    attrs.sort_by_key(|(c, _)| {
        let pos = u
            .attr_order
            .iter()
            .position(|(x, _)| x == c)
            .unwrap_or(usize::MAX);
        (pos, *c)
    });
    let attrs: Vec<PathAttribute> = attrs
        .into_iter()
        .map(|(c, a)| match u.attr_order.iter().find(|(x, _)| *x == c) {
            Some((_, true)) if !a.extended_length() => with_ext_len(a),
            _ => a,
        })
        .collect();
    Ok(BgpMessage::Update(BgpUpdateMessage::new(
        inet_wd, attrs, inet_ann,
    )))
}
