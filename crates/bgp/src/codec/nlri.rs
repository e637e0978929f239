//! Conversion between netgauze's NLRI types and ours ([`Labeled`]), family by family.

use std::net::IpAddr;

use ipnet::IpNet;
use netgauze_bgp_pkt::nlri::{
    EthernetSegmentIdentifier, EthernetTag, InclusiveMulticastEthernetTagRoute,
    Ipv4MplsVpnUnicastAddress, Ipv4Unicast, Ipv4UnicastAddress, Ipv6MplsVpnUnicastAddress,
    Ipv6Unicast, Ipv6UnicastAddress, L2EvpnAddress, L2EvpnIpPrefixRoute, L2EvpnIpv4PrefixRoute,
    L2EvpnIpv6PrefixRoute, L2EvpnRoute, MacAddress, MacIpAdvertisement, MplsLabel,
    RouteDistinguisher,
};
use netgauze_parse_utils::WritablePdu;

use super::CodecError;
use crate::types::{EvpnRoute, Label, Labeled, Labels, Nlri, Rd};

pub(crate) fn rd_from(rd: RouteDistinguisher) -> Result<Rd, CodecError> {
    Ok(match rd {
        RouteDistinguisher::As2Administrator { asn2, number } => Rd::As2(asn2, number),
        RouteDistinguisher::Ipv4Administrator { ip, number } => Rd::Ip(ip, number),
        RouteDistinguisher::As4Administrator { asn4, number } => Rd::As4(asn4, number),
        RouteDistinguisher::LeafAdRoutes => {
            return Err(CodecError::Unsupported(
                "leaf A-D route distinguisher".into(),
            ));
        }
    })
}

pub(crate) fn rd_to(rd: Rd) -> RouteDistinguisher {
    match rd {
        Rd::As2(asn2, number) => RouteDistinguisher::As2Administrator { asn2, number },
        Rd::Ip(ip, number) => RouteDistinguisher::Ipv4Administrator { ip, number },
        Rd::As4(asn4, number) => RouteDistinguisher::As4Administrator { asn4, number },
    }
}

fn label_from(l: &MplsLabel) -> Label {
    Label::from_bytes(*l.value())
}

fn label_to(l: Label) -> MplsLabel {
    MplsLabel::new(l.to_bytes())
}

/// Our labels as a stack; a VPN route always carries at least one label field.
fn stack_to(labels: &Labels, withdraw: bool) -> Vec<MplsLabel> {
    let mut v = Vec::with_capacity(2);
    match labels.first {
        Some(l) => v.push(label_to(l)),
        None if withdraw => v.push(label_to(Label::WITHDRAW)),
        None => v.push(label_to(Label(0))),
    }
    if let Some(l) = labels.second {
        v.push(label_to(l));
    }
    v
}

fn stack_from(stack: &[MplsLabel]) -> Labels {
    Labels {
        first: stack.first().map(label_from),
        second: stack.get(1).map(label_from),
    }
}

// Received prefixes are truncated to their length: RFC 4271 4.3 makes the trailing bits of the
// last octet irrelevant, and a route kept with them set (10.0.0.7/24) would never match the
// canonical withdrawal (10.0.0.0/24) nor re-encode to what was received.

pub(crate) fn inet_from(a: &Ipv4UnicastAddress) -> Labeled {
    Labeled {
        nlri: Nlri::Inet(a.network().address().trunc()),
        labels: Labels::default(),
        path_id: a.path_id(),
    }
}

pub(crate) fn inet_to(l: &Labeled) -> Result<Ipv4UnicastAddress, CodecError> {
    match &l.nlri {
        Nlri::Inet(p) => Ok(Ipv4UnicastAddress::new(
            l.path_id,
            Ipv4Unicast::from_net(*p)
                .map_err(|_| CodecError::Invalid(format!("{p} is not unicast")))?,
        )),
        other => Err(CodecError::MixedFamilies(other.family())),
    }
}

pub(crate) fn inet6_from(a: &Ipv6UnicastAddress) -> Labeled {
    Labeled {
        nlri: Nlri::Inet6(a.network().address().trunc()),
        labels: Labels::default(),
        path_id: a.path_id(),
    }
}

pub(crate) fn inet6_to(l: &Labeled) -> Result<Ipv6UnicastAddress, CodecError> {
    match &l.nlri {
        Nlri::Inet6(p) => Ok(Ipv6UnicastAddress::new(
            l.path_id,
            Ipv6Unicast::from_net(*p)
                .map_err(|_| CodecError::Invalid(format!("{p} is not unicast")))?,
        )),
        other => Err(CodecError::MixedFamilies(other.family())),
    }
}

pub(crate) fn vpn4_from(a: &Ipv4MplsVpnUnicastAddress) -> Result<Labeled, CodecError> {
    Ok(Labeled {
        nlri: Nlri::InetVpn {
            rd: rd_from(a.rd())?,
            prefix: a.network().address().trunc(),
        },
        labels: stack_from(a.label_stack()),
        path_id: a.path_id(),
    })
}

pub(crate) fn vpn4_to(
    l: &Labeled,
    withdraw: bool,
) -> Result<Ipv4MplsVpnUnicastAddress, CodecError> {
    match &l.nlri {
        Nlri::InetVpn { rd, prefix } => Ok(Ipv4MplsVpnUnicastAddress::new(
            l.path_id,
            rd_to(*rd),
            stack_to(&l.labels, withdraw),
            Ipv4Unicast::from_net(*prefix)
                .map_err(|_| CodecError::Invalid(format!("{prefix} is not unicast")))?,
        )),
        other => Err(CodecError::MixedFamilies(other.family())),
    }
}

pub(crate) fn vpn6_from(a: &Ipv6MplsVpnUnicastAddress) -> Result<Labeled, CodecError> {
    Ok(Labeled {
        nlri: Nlri::Inet6Vpn {
            rd: rd_from(a.rd())?,
            prefix: a.network().address().trunc(),
        },
        labels: stack_from(a.label_stack()),
        path_id: a.path_id(),
    })
}

pub(crate) fn vpn6_to(
    l: &Labeled,
    withdraw: bool,
) -> Result<Ipv6MplsVpnUnicastAddress, CodecError> {
    match &l.nlri {
        Nlri::Inet6Vpn { rd, prefix } => Ok(Ipv6MplsVpnUnicastAddress::new(
            l.path_id,
            rd_to(*rd),
            stack_to(&l.labels, withdraw),
            Ipv6Unicast::from_net(*prefix)
                .map_err(|_| CodecError::Invalid(format!("{prefix} is not unicast")))?,
        )),
        other => Err(CodecError::MixedFamilies(other.family())),
    }
}

pub(crate) fn evpn_from(a: &L2EvpnAddress) -> Result<Labeled, CodecError> {
    let (route, labels) = match a.route() {
        L2EvpnRoute::MacIpAdvertisement(m) => (
            EvpnRoute::MacIp {
                rd: rd_from(m.rd())?,
                esi: *m.segment_id().value(),
                tag: m.tag().value(),
                mac: *m.mac().value(),
                ip: m.ip(),
            },
            Labels {
                first: Some(label_from(m.mpls_label1())),
                second: m.mpls_label2().map(label_from),
            },
        ),
        L2EvpnRoute::InclusiveMulticastEthernetTagRoute(r) => (
            EvpnRoute::Imet {
                rd: rd_from(r.rd())?,
                tag: r.tag().value(),
                originator: r.ip(),
            },
            Labels::default(),
        ),
        L2EvpnRoute::IpPrefixRoute(p) => match p {
            L2EvpnIpPrefixRoute::V4(p) => (
                EvpnRoute::IpPrefix {
                    rd: rd_from(p.rd())?,
                    esi: *p.segment_id().value(),
                    tag: p.tag().value(),
                    prefix: IpNet::V4(p.prefix()),
                    gateway: IpAddr::V4(p.gateway()),
                },
                Labels::one(label_from(p.label())),
            ),
            L2EvpnIpPrefixRoute::V6(p) => (
                EvpnRoute::IpPrefix {
                    rd: rd_from(p.rd())?,
                    esi: *p.segment_id().value(),
                    tag: p.tag().value(),
                    prefix: IpNet::V6(p.prefix()),
                    gateway: IpAddr::V6(p.gateway()),
                },
                Labels::one(label_from(p.label())),
            ),
        },
        other => {
            // Types 1 and 4 (and unknown ones) are carried, not interpreted: keep their body.
            let mut buf = Vec::with_capacity(other.len());
            other
                .write(&mut buf)
                .map_err(|e| CodecError::Invalid(format!("EVPN route re-encode: {e}")))?;
            let rd = match other {
                L2EvpnRoute::EthernetAutoDiscovery(r) => rd_from(r.rd()).ok(),
                L2EvpnRoute::EthernetSegmentRoute(r) => rd_from(r.rd()).ok(),
                _ => None,
            };
            (
                EvpnRoute::Other {
                    route_type: buf[0],
                    rd,
                    raw: buf[2..].to_vec(),
                },
                Labels::default(),
            )
        }
    };
    Ok(Labeled {
        nlri: Nlri::evpn(route),
        labels,
        path_id: a.path_id(),
    })
}

pub(crate) fn evpn_to(l: &Labeled) -> Result<L2EvpnAddress, CodecError> {
    let Nlri::Evpn(route) = &l.nlri else {
        return Err(CodecError::MixedFamilies(l.nlri.family()));
    };
    let first = label_to(l.labels.first.unwrap_or(Label(0)));
    let route = match route.as_ref() {
        EvpnRoute::MacIp {
            rd,
            esi,
            tag,
            mac,
            ip,
        } => L2EvpnRoute::MacIpAdvertisement(MacIpAdvertisement::new(
            rd_to(*rd),
            EthernetSegmentIdentifier::new(*esi),
            EthernetTag::new(*tag),
            MacAddress::new(*mac),
            *ip,
            first,
            l.labels.second.map(label_to),
        )),
        EvpnRoute::Imet {
            rd,
            tag,
            originator,
        } => L2EvpnRoute::InclusiveMulticastEthernetTagRoute(
            InclusiveMulticastEthernetTagRoute::new(
                rd_to(*rd),
                EthernetTag::new(*tag),
                *originator,
            ),
        ),
        EvpnRoute::IpPrefix {
            rd,
            esi,
            tag,
            prefix,
            gateway,
        } => match (prefix, gateway) {
            (IpNet::V4(p), IpAddr::V4(g)) => {
                L2EvpnRoute::IpPrefixRoute(L2EvpnIpPrefixRoute::V4(L2EvpnIpv4PrefixRoute::new(
                    rd_to(*rd),
                    EthernetSegmentIdentifier::new(*esi),
                    EthernetTag::new(*tag),
                    *p,
                    *g,
                    first,
                )))
            }
            (IpNet::V6(p), IpAddr::V6(g)) => {
                L2EvpnRoute::IpPrefixRoute(L2EvpnIpPrefixRoute::V6(L2EvpnIpv6PrefixRoute::new(
                    rd_to(*rd),
                    EthernetSegmentIdentifier::new(*esi),
                    EthernetTag::new(*tag),
                    *p,
                    *g,
                    first,
                )))
            }
            _ => {
                return Err(CodecError::Invalid(
                    "EVPN type-5 prefix and gateway differ in address family".into(),
                ));
            }
        },
        EvpnRoute::Other {
            route_type, raw, ..
        } => L2EvpnRoute::Unknown {
            code: *route_type,
            value: raw.clone().into_boxed_slice(),
        },
    };
    Ok(L2EvpnAddress::new(l.path_id, route))
}
