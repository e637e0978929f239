//! IPv6 neighbour and router discovery for a workload port (RFC 4861; Contrail:
//! `services/icmpv6_handler.cc`). A neighbour solicitation for the gateway, the service
//! address, the router's link-local address or a reachable address gets a neighbour
//! advertisement; a router solicitation gets a router advertisement from
//! [`VROUTER_LINK_LOCAL6`] with the port's prefix (on-link, not autonomous: addresses come
//! from the config, as in Contrail, which sets the managed and other flags), the MTU, and a
//! default-router lifetime when the subnet has a gateway.

use super::frame::{self, Ends, ipv6_multicast_mac};
use super::{Ignored, Outcome, PortView, TrapContext, Trapped, VROUTER_LINK_LOCAL6};
use cirrus_dataplane::wire::{
    Icmpv6Packet, Icmpv6Repr, IpProtocol, MacAddr, NdiscRepr, WireError, checksum,
};
use std::net::{IpAddr, Ipv6Addr};

/// RFC 4861: ND messages travel one link, sent and accepted with hop limit 255 only.
const ND_HOP_LIMIT: u8 = 255;
/// Router lifetime advertised with a gateway (Contrail's).
pub const ROUTER_LIFETIME: u16 = 9000;
/// Current hop limit advertised.
const CUR_HOP_LIMIT: u8 = 64;
/// Managed and other-configuration flags (DHCPv6 gives the addresses).
const RA_FLAGS: u8 = 0xc0;
const NA_ROUTER: u8 = 0x80;
const NA_SOLICITED: u8 = 0x40;
const NA_OVERRIDE: u8 = 0x20;
const OPT_PREFIX_INFO: u8 = 3;
const OPT_MTU: u8 = 5;
/// On-link flag of the prefix information option.
const PREFIX_ON_LINK: u8 = 0x80;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

pub(super) fn handle(view: &PortView, f: &[u8], ctx: &TrapContext) -> Trapped {
    match read(f) {
        Ok(Some((ip, msg))) => match msg {
            NdiscRepr::NeighborSolicit { target, lladdr } => {
                solicit(view, ctx, &ip, target, lladdr)
            }
            NdiscRepr::RouterSolicit { .. } => router_advert(view, &ip),
            _ => Trapped::silent(Outcome::Ignored(Ignored::NdUnexpected)),
        },
        Ok(None) => Trapped::silent(Outcome::Ignored(Ignored::WrongReason)),
        Err(e) => Trapped::silent(Outcome::Malformed(e)),
    }
}

/// Who sent the message.
struct Sender {
    src: Ipv6Addr,
    src_mac: MacAddr,
}

fn read(f: &[u8]) -> Result<Option<(Sender, NdiscRepr)>, WireError> {
    let Some(ip) = frame::ipv6(f)? else {
        return Ok(None);
    };
    if ip.protocol != IpProtocol::ICMPV6 || ip.fragment {
        return Ok(None);
    }
    if ip.ip.hop_limit != ND_HOP_LIMIT {
        return Err(WireError::Malformed("nd hop limit"));
    }
    let ph = checksum::pseudo_v6(&ip.ip.src, &ip.ip.dst, 58, ip.upper.len() as u32);
    let p = Icmpv6Packet::new_checked(ip.upper)?;
    if p.msg_code() != 0 {
        return Err(WireError::Malformed("nd code"));
    }
    match Icmpv6Repr::parse(&p, ph)? {
        Icmpv6Repr::Ndisc(n) => Ok(Some((
            Sender {
                src: ip.ip.src,
                src_mac: ip.src_mac,
            },
            n,
        ))),
        _ => Ok(None),
    }
}

fn solicit(
    view: &PortView,
    ctx: &TrapContext,
    s: &Sender,
    target: Ipv6Addr,
    lladdr: Option<MacAddr>,
) -> Trapped {
    if target.is_multicast() || target.is_unspecified() {
        return Trapped::silent(Outcome::Ignored(Ignored::InvalidTarget));
    }
    if view.is_own6(target) {
        return Trapped::silent(Outcome::Ignored(Ignored::OwnAddress));
    }
    let router = view.is_router6(target);
    let mac = if router {
        view.vrouter_mac
    } else {
        match ctx.neighbors.resolve(IpAddr::V6(target)) {
            Some(m) => m,
            None => {
                return Trapped::silent(Outcome::Ignored(Ignored::Unresolved {
                    addr: IpAddr::V6(target),
                }));
            }
        }
    };
    // RFC 4861 7.2.4: a solicitation from the unspecified address (duplicate address
    // detection) is answered to all nodes, unsolicited.
    let dad = s.src.is_unspecified();
    let (dst, dst_mac) = if dad {
        (ALL_NODES, ipv6_multicast_mac(ALL_NODES))
    } else {
        (s.src, lladdr.unwrap_or(s.src_mac))
    };
    let mut flags = NA_OVERRIDE;
    if router {
        flags |= NA_ROUTER;
    }
    if !dad {
        flags |= NA_SOLICITED;
    }
    let na = Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
        flags,
        target,
        lladdr: Some(mac),
    });
    let ends = Ends {
        src_mac: mac,
        dst_mac,
        src: target,
        dst,
    };
    let out = frame::ip6_frame(
        ends,
        IpProtocol::ICMPV6,
        ND_HOP_LIMIT,
        na.buffer_len(),
        |b, ph| {
            na.emit(b);
            Icmpv6Packet::new_unchecked(b).fill_checksum(ph);
        },
    );
    Trapped::answer(out, Outcome::NeighborAdvert { target })
}

fn router_advert(view: &PortView, s: &Sender) -> Trapped {
    let Some(f) = router_advertisement(view, Some((s.src, s.src_mac))) else {
        return Trapped::silent(Outcome::Ignored(Ignored::NoIpv6));
    };
    Trapped::answer(f, Outcome::RouterAdvert)
}

/// The router advertisement for `view`'s network, to `to` (address and MAC of a
/// soliciting workload) or, when `None` or unspecified, to all nodes. `None` when the port
/// has no IPv6 prefix. The agent may also send it unsolicited (RFC 4861 section 6.2.4).
pub fn router_advertisement(view: &PortView, to: Option<(Ipv6Addr, MacAddr)>) -> Option<Vec<u8>> {
    let (addr, plen) = view.ipv6?;
    let (dst, dst_mac) = match to {
        Some((a, m)) if !a.is_unspecified() => (a, m),
        _ => (ALL_NODES, ipv6_multicast_mac(ALL_NODES)),
    };
    let ra = Icmpv6Repr::Ndisc(NdiscRepr::RouterAdvert {
        hop_limit: CUR_HOP_LIMIT,
        flags: RA_FLAGS,
        router_lifetime: if view.gateway6.is_some() {
            ROUTER_LIFETIME
        } else {
            0
        },
        lladdr: Some(view.vrouter_mac),
    });
    let mut opts = Vec::with_capacity(40);
    if let Some(mtu) = view.mtu {
        opts.extend_from_slice(&[OPT_MTU, 1, 0, 0]);
        opts.extend_from_slice(&u32::from(mtu).to_be_bytes());
    }
    let plen = plen.min(128);
    let mask = if plen == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(plen))
    };
    opts.extend_from_slice(&[OPT_PREFIX_INFO, 4, plen, PREFIX_ON_LINK]);
    opts.extend_from_slice(&u32::MAX.to_be_bytes()); // valid lifetime: infinite
    opts.extend_from_slice(&u32::MAX.to_be_bytes()); // preferred lifetime: infinite
    opts.extend_from_slice(&[0; 4]);
    opts.extend_from_slice(&Ipv6Addr::from(addr.to_bits() & mask).octets());
    let n = ra.buffer_len();
    let ends = Ends {
        src_mac: view.vrouter_mac,
        dst_mac,
        src: VROUTER_LINK_LOCAL6,
        dst,
    };
    Some(frame::ip6_frame(
        ends,
        IpProtocol::ICMPV6,
        ND_HOP_LIMIT,
        n + opts.len(),
        |b, ph| {
            ra.emit(b);
            b[n..].copy_from_slice(&opts);
            Icmpv6Packet::new_unchecked(b).fill_checksum(ph);
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{TrapContext, handle as trap};
    use super::*;
    use cirrus_dataplane::pipeline::TrapReason;

    fn solicited_node(a: Ipv6Addr) -> Ipv6Addr {
        let o = a.octets();
        Ipv6Addr::new(
            0xff02,
            0,
            0,
            0,
            0,
            1,
            0xff00 | u16::from(o[13]),
            u16::from_be_bytes([o[14], o[15]]),
        )
    }

    fn ns(src: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
        let dst = solicited_node(target);
        let lladdr = (!src.is_unspecified()).then_some(VM_MAC);
        icmp6(
            src,
            dst,
            ipv6_multicast_mac(dst),
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit { target, lladdr }),
            &[],
        )
    }

    fn parse_na(f: &[u8]) -> (frame::Ip6View<'_>, Icmpv6Repr) {
        let ip = frame::ipv6(f).unwrap().unwrap();
        let ph = checksum::pseudo_v6(&ip.ip.src, &ip.ip.dst, 58, ip.upper.len() as u32);
        let r = Icmpv6Repr::parse(&Icmpv6Packet::new_checked(ip.upper).unwrap(), ph).unwrap();
        (ip, r)
    }

    #[test]
    fn solicitation_for_the_gateway_gets_a_neighbor_advert_of_the_vrouter_mac() {
        for target in [GATEWAY6, VROUTER_LINK_LOCAL6] {
            let t = trap(
                &port(),
                TrapReason::Ndisc,
                &ns(VM_LL6, target),
                &Default::default(),
            );
            assert_eq!(t.outcome, Outcome::NeighborAdvert { target });
            let (ip, r) = parse_na(&t.replies[0]);
            assert_eq!((ip.src_mac, ip.dst_mac), (VROUTER_MAC, VM_MAC));
            assert_eq!(
                (ip.ip.src, ip.ip.dst, ip.ip.hop_limit),
                (target, VM_LL6, 255)
            );
            assert_eq!(
                r,
                Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
                    flags: NA_ROUTER | NA_SOLICITED | NA_OVERRIDE,
                    target,
                    lladdr: Some(VROUTER_MAC)
                })
            );
        }
    }

    #[test]
    fn dad_for_the_own_address_is_not_answered_and_remote_addresses_follow_the_context() {
        let t = trap(
            &port(),
            TrapReason::Ndisc,
            &ns(Ipv6Addr::UNSPECIFIED, VM_IP6),
            &Default::default(),
        );
        assert_eq!(t.outcome, Outcome::Ignored(Ignored::OwnAddress));
        assert!(t.replies.is_empty());

        let remote: Ipv6Addr = "fd00:0:0:1::4".parse().unwrap();
        let t = trap(
            &port(),
            TrapReason::Ndisc,
            &ns(VM_LL6, remote),
            &Default::default(),
        );
        assert_eq!(
            t.outcome,
            Outcome::Ignored(Ignored::Unresolved {
                addr: IpAddr::V6(remote)
            })
        );
        let routed = |a: IpAddr| (a == IpAddr::V6(remote)).then_some(VROUTER_MAC);
        let ctx = TrapContext { neighbors: &routed };
        let t = trap(
            &port(),
            TrapReason::Ndisc,
            &ns(Ipv6Addr::UNSPECIFIED, remote),
            &ctx,
        );
        assert_eq!(t.outcome, Outcome::NeighborAdvert { target: remote });
        // DAD by someone else for the address: the answer goes to all nodes, unsolicited.
        let (ip, r) = parse_na(&t.replies[0]);
        assert_eq!(ip.ip.dst, ALL_NODES);
        assert_eq!(ip.dst_mac, MacAddr([0x33, 0x33, 0, 0, 0, 1]));
        assert!(matches!(
            r,
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
                flags: NA_OVERRIDE,
                ..
            })
        ));
    }

    #[test]
    fn router_solicitation_gets_an_advert_with_prefix_mtu_and_lifetime_in_fixed_bytes() {
        let rs = icmp6(
            VM_LL6,
            "ff02::2".parse().unwrap(),
            MacAddr([0x33, 0x33, 0, 0, 0, 2]),
            Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit {
                lladdr: Some(VM_MAC),
            }),
            &[],
        );
        let t = trap(&port(), TrapReason::Ndisc, &rs, &Default::default());
        assert_eq!(t.outcome, Outcome::RouterAdvert);
        let (ip, r) = parse_na(&t.replies[0]);
        assert_eq!((ip.ip.src, ip.ip.dst), (VROUTER_LINK_LOCAL6, VM_LL6));
        assert_eq!(
            r,
            Icmpv6Repr::Ndisc(NdiscRepr::RouterAdvert {
                hop_limit: 64,
                flags: 0xc0,
                router_lifetime: 9000,
                lladdr: Some(VROUTER_MAC)
            })
        );
        #[rustfmt::skip]
        let opts: &[u8] = &[
            1, 1, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x00,
            5, 1, 0, 0, 0, 0, 0x05, 0x78,
            3, 4, 64, 0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
            0xfd, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(&ip.upper[16..], opts);

        let mut v4only = port();
        v4only.ipv6 = None;
        let t = trap(&v4only, TrapReason::Ndisc, &rs, &Default::default());
        assert_eq!(t.outcome, Outcome::Ignored(Ignored::NoIpv6));
    }

    #[test]
    fn nd_with_a_forwarded_hop_limit_is_malformed() {
        let mut f = ns(VM_LL6, GATEWAY6);
        f[14 + 7] = 64;
        let t = trap(&port(), TrapReason::Ndisc, &f, &Default::default());
        assert_eq!(
            t.outcome,
            Outcome::Malformed(WireError::Malformed("nd hop limit"))
        );
    }
}
