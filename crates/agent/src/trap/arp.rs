//! Proxy ARP for a workload port (Contrail: `services/arp_handler.cc` and the vRouter's
//! `vr_arp.c`). Requests for the gateway and the service address are answered with the
//! vRouter MAC; requests for other addresses with what [`Neighbors`] says (the vRouter MAC
//! for routed addresses); the workload's own address is never answered, so its duplicate
//! address probes stay unanswered. Gratuitous ARP (sender = target, or sender 0.0.0.0) and
//! ARP replies are counted, not answered.

use super::{Ignored, Outcome, PortView, TrapContext, Trapped};
use cirrus_dataplane::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame, EthernetRepr,
};
use std::net::IpAddr;

pub(super) fn handle(view: &PortView, frame: &[u8], ctx: &TrapContext) -> Trapped {
    let eth = match EthernetFrame::new_checked(frame) {
        Ok(e) => e,
        Err(e) => return Trapped::silent(Outcome::Malformed(e)),
    };
    if eth.ethertype() != EtherType::ARP {
        return Trapped::silent(Outcome::Ignored(Ignored::WrongReason));
    }
    let req = match ArpPacket::new_checked(eth.payload()).and_then(|p| ArpRepr::parse(&p)) {
        Ok(r) => r,
        Err(e) => return Trapped::silent(Outcome::Malformed(e)),
    };
    let (spa, tpa) = (req.source_ip, req.target_ip);
    if spa == tpa || spa.is_unspecified() {
        return Trapped::silent(Outcome::ArpGratuitous {
            addr: if spa.is_unspecified() { tpa } else { spa },
            mac: req.source_hw,
        });
    }
    match req.operation {
        ArpOperation::Request => {}
        ArpOperation::Reply => {
            return Trapped::silent(Outcome::ArpReplySeen {
                addr: spa,
                mac: req.source_hw,
            });
        }
        ArpOperation::Other(_) => return Trapped::silent(Outcome::Ignored(Ignored::WrongReason)),
    }
    if tpa.is_broadcast() || tpa.is_multicast() || tpa.is_unspecified() {
        return Trapped::silent(Outcome::Ignored(Ignored::InvalidTarget));
    }
    if view.ipv4.map(|(a, _)| a) == Some(tpa) {
        return Trapped::silent(Outcome::Ignored(Ignored::OwnAddress));
    }
    let mac = if view.is_router4(tpa) {
        view.vrouter_mac
    } else {
        match ctx.neighbors.resolve(IpAddr::V4(tpa)) {
            Some(m) => m,
            None => {
                return Trapped::silent(Outcome::Ignored(Ignored::Unresolved {
                    addr: IpAddr::V4(tpa),
                }));
            }
        }
    };
    let mut f = vec![0u8; 14 + 28];
    EthernetRepr {
        src: mac,
        dst: req.source_hw,
        ethertype: EtherType::ARP,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
    ArpRepr {
        operation: ArpOperation::Reply,
        source_hw: mac,
        source_ip: tpa,
        target_hw: req.source_hw,
        target_ip: spa,
    }
    .emit(&mut f[14..]);
    Trapped::answer(f, Outcome::ArpReply { target: tpa, mac })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{TrapContext, handle as trap};
    use super::*;
    use cirrus_dataplane::pipeline::TrapReason;
    use cirrus_dataplane::wire::{MacAddr, WireError};
    use std::net::Ipv4Addr;

    const REMOTE: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 4);
    const REMOTE_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0, 4]);

    fn ask(tpa: Ipv4Addr) -> Trapped {
        let routed = |a: IpAddr| (a == IpAddr::V4(REMOTE)).then_some(REMOTE_MAC);
        let ctx = TrapContext { neighbors: &routed };
        let f = arp_frame(ArpOperation::Request, VM_MAC, VM_IP, tpa);
        trap(&port(), TrapReason::Arp, &f, &ctx)
    }

    #[test]
    fn gateway_is_answered_with_the_vrouter_mac_in_fixed_bytes() {
        let t = ask(GATEWAY);
        assert_eq!(
            t.outcome,
            Outcome::ArpReply {
                target: GATEWAY,
                mac: VROUTER_MAC
            }
        );
        #[rustfmt::skip]
        let want: &[u8] = &[
            0x02, 0x1a, 0xf4, 0xbe, 0xe3, 0x04, 0x00, 0x00, 0x5e, 0x00, 0x01, 0x00, 0x08, 0x06,
            0, 1, 0x08, 0, 6, 4, 0, 2,
            0x00, 0x00, 0x5e, 0x00, 0x01, 0x00, 10, 1, 0, 1,
            0x02, 0x1a, 0xf4, 0xbe, 0xe3, 0x04, 10, 1, 0, 3,
        ];
        assert_eq!(t.replies, vec![want.to_vec()]);
    }

    #[test]
    fn service_address_and_reachable_addresses_are_answered() {
        assert_eq!(
            ask(SERVICE).outcome,
            Outcome::ArpReply {
                target: SERVICE,
                mac: VROUTER_MAC
            }
        );
        assert_eq!(
            ask(REMOTE).outcome,
            Outcome::ArpReply {
                target: REMOTE,
                mac: REMOTE_MAC
            }
        );
        let t = ask(Ipv4Addr::new(10, 1, 0, 99));
        assert_eq!(
            t.outcome,
            Outcome::Ignored(Ignored::Unresolved {
                addr: IpAddr::V4(Ipv4Addr::new(10, 1, 0, 99))
            })
        );
        assert!(t.replies.is_empty());
    }

    #[test]
    fn own_address_probes_and_gratuitous_arp_are_never_answered() {
        // A request from another address of the workload for its instance IP.
        let f = arp_frame(
            ArpOperation::Request,
            VM_MAC,
            Ipv4Addr::new(10, 1, 0, 50),
            VM_IP,
        );
        let t = trap(&port(), TrapReason::Arp, &f, &Default::default());
        assert_eq!(t.outcome, Outcome::Ignored(Ignored::OwnAddress));
        // RFC 5227 probe: sender 0.0.0.0.
        let f = arp_frame(
            ArpOperation::Request,
            VM_MAC,
            Ipv4Addr::UNSPECIFIED,
            GATEWAY,
        );
        let t = trap(&port(), TrapReason::Arp, &f, &Default::default());
        assert_eq!(
            t.outcome,
            Outcome::ArpGratuitous {
                addr: GATEWAY,
                mac: VM_MAC
            }
        );
        assert!(t.replies.is_empty());
        // Announcement: sender = target.
        let f = arp_frame(ArpOperation::Request, VM_MAC, VM_IP, VM_IP);
        let t = trap(&port(), TrapReason::Arp, &f, &Default::default());
        assert_eq!(
            t.outcome,
            Outcome::ArpGratuitous {
                addr: VM_IP,
                mac: VM_MAC
            }
        );
        let f = arp_frame(ArpOperation::Reply, VM_MAC, VM_IP, GATEWAY);
        let t = trap(&port(), TrapReason::Arp, &f, &Default::default());
        assert_eq!(
            t.outcome,
            Outcome::ArpReplySeen {
                addr: VM_IP,
                mac: VM_MAC
            }
        );
        assert_eq!(
            ask(Ipv4Addr::BROADCAST).outcome,
            Outcome::Ignored(Ignored::InvalidTarget)
        );
    }

    #[test]
    fn malformed_arp_is_counted() {
        let f = arp_frame(ArpOperation::Request, VM_MAC, VM_IP, GATEWAY);
        let t = trap(&port(), TrapReason::Arp, &f[..30], &Default::default());
        assert_eq!(t.outcome, Outcome::Malformed(WireError::Truncated("arp")));
        let t = trap(
            &port(),
            TrapReason::Arp,
            &ping4(GATEWAY, b"x"),
            &Default::default(),
        );
        assert_eq!(t.outcome, Outcome::Ignored(Ignored::WrongReason));
    }
}
