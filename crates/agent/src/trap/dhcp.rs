//! The DHCPv4 server of a workload port (Contrail: `services/dhcp_handler.cc`). The
//! address is always the port's instance IP; there is no pool and no lease state, so a
//! RELEASE or DECLINE changes nothing and is only counted.
//!
//! DISCOVER gets an OFFER, REQUEST an ACK (or a NAK when it asks for another address),
//! INFORM an ACK without lease. Answers come from the service address (else the gateway)
//! and the vRouter MAC; they are broadcast when the client asks for it (or has no address
//! yet and cannot take unicast), unicast otherwise (RFC 2131 section 4.1).

use super::dhcp_wire::{
    CLIENT_PORT, ClasslessRoute, DhcpOp, DhcpPacket, DhcpRepr, MessageType, SERVER_PORT,
};
use super::frame::{self, Ends};
use super::{INFINITE_LEASE, Ignored, Outcome, PortView, Trapped};
use cirrus_dataplane::wire::{MacAddr, WireError};
use std::net::Ipv4Addr;

/// The text of a NAK (Contrail's).
pub const NAK_MESSAGE: &str = "cannot assign requested address";

/// RFC 2132 section 9.1: no MTU below 68.
const MIN_MTU: u16 = 68;

pub(super) fn handle(view: &PortView, frame: &[u8]) -> Trapped {
    if frame.get(12..14) == Some(&[0x86, 0xdd]) {
        return super::dhcpv6::handle(view, frame);
    }
    let req = match read_request(frame) {
        Ok(Some(r)) => r,
        Ok(None) => return Trapped::silent(Outcome::Ignored(Ignored::WrongReason)),
        Err(e) => return Trapped::silent(Outcome::Malformed(e)),
    };
    if req.op != DhcpOp::Request {
        return Trapped::silent(Outcome::Ignored(Ignored::DhcpUnexpected));
    }
    if !view.dhcp_enabled {
        return Trapped::silent(Outcome::Ignored(Ignored::DhcpDisabled));
    }
    if req.client_hw != view.mac {
        return Trapped::silent(Outcome::Ignored(Ignored::DhcpWrongClient {
            chaddr: req.client_hw,
        }));
    }
    let (Some((addr, plen)), Some(server)) = (view.ipv4, view.dhcp_server4()) else {
        return Trapped::silent(Outcome::Ignored(Ignored::DhcpNoAddress));
    };
    match req.message_type {
        MessageType::Discover => {
            let r = reply(view, &req, MessageType::Offer, addr, plen, server);
            Trapped::answer(frame_of(view, &req, &r), Outcome::DhcpOffer { addr })
        }
        MessageType::Request => {
            if let Some(s) = req.server_id
                && s != server
            {
                // The client took another server's offer.
                return Trapped::silent(Outcome::Ignored(Ignored::DhcpOtherServer { server: s }));
            }
            // SELECTING/INIT-REBOOT name the address in option 50; RENEWING/REBINDING in
            // ciaddr.
            let asked = req.requested_ip.unwrap_or(req.ciaddr);
            if !asked.is_unspecified() && asked != addr {
                let r = nak(&req, server);
                return Trapped::answer(
                    frame_of(view, &req, &r),
                    Outcome::DhcpNak { requested: asked },
                );
            }
            let r = reply(view, &req, MessageType::Ack, addr, plen, server);
            Trapped::answer(frame_of(view, &req, &r), Outcome::DhcpAck { addr })
        }
        MessageType::Inform => {
            let mut r = reply(view, &req, MessageType::Ack, addr, plen, server);
            // RFC 2131 4.3.5: no lease, no yiaddr; ciaddr is the client's.
            r.yiaddr = Ipv4Addr::UNSPECIFIED;
            r.ciaddr = req.ciaddr;
            r.lease_time = None;
            r.renewal_time = None;
            r.rebinding_time = None;
            Trapped::answer(frame_of(view, &req, &r), Outcome::DhcpInformAck)
        }
        MessageType::Release => Trapped::silent(Outcome::DhcpRelease { addr: req.ciaddr }),
        MessageType::Decline => Trapped::silent(Outcome::DhcpDecline {
            addr: req.requested_ip,
        }),
        _ => Trapped::silent(Outcome::Ignored(Ignored::DhcpUnexpected)),
    }
}

/// The DHCP message in a trapped frame: `Ok(None)` when the frame is not UDP to port 67.
fn read_request(frame: &[u8]) -> Result<Option<DhcpRepr>, WireError> {
    let Some(ip) = frame::ipv4(frame)? else {
        return Ok(None);
    };
    if ip.ip.protocol != cirrus_dataplane::wire::IpProtocol::UDP {
        return Ok(None);
    }
    let udp = frame::udp4(&ip)?;
    if udp.dst_port != SERVER_PORT {
        return Ok(None);
    }
    let p = DhcpPacket::new_checked(udp.payload)?;
    DhcpRepr::parse(&p).map(Some)
}

fn mask_of(plen: u8) -> Ipv4Addr {
    Ipv4Addr::from(if plen == 0 {
        0
    } else {
        u32::MAX << (32 - plen.min(32))
    })
}

/// An OFFER or ACK with every option the port has (Contrail sends them whether or not the
/// client listed them).
fn reply(
    view: &PortView,
    req: &DhcpRepr,
    kind: MessageType,
    addr: Ipv4Addr,
    plen: u8,
    server: Ipv4Addr,
) -> DhcpRepr {
    let mask = mask_of(plen);
    let broadcast_address = (plen <= 30).then(|| Ipv4Addr::from(addr.to_bits() | !mask.to_bits()));
    let lease = view.lease_seconds;
    let (renewal_time, rebinding_time) = if lease == INFINITE_LEASE {
        (None, None)
    } else {
        (Some(lease / 2), Some((u64::from(lease) * 7 / 8) as u32))
    };
    let classless_routes = classless_routes(view);
    // RFC 3442: a client that asked for option 121 and gets it ignores the router option;
    // Contrail leaves the router option out then.
    let takes_121 = req.parameter_request_list.contains(&121) && !classless_routes.is_empty();
    let routers = match view.gateway4 {
        Some(g) if !takes_121 => vec![g],
        _ => Vec::new(),
    };
    DhcpRepr {
        op: DhcpOp::Reply,
        message_type: kind,
        xid: req.xid,
        secs: 0,
        broadcast: req.broadcast,
        ciaddr: Ipv4Addr::UNSPECIFIED,
        yiaddr: addr,
        siaddr: server,
        giaddr: req.giaddr,
        client_hw: req.client_hw,
        server_id: Some(server),
        subnet_mask: Some(mask),
        broadcast_address,
        interface_mtu: view.mtu.filter(|&m| m >= MIN_MTU),
        lease_time: Some(lease),
        renewal_time,
        rebinding_time,
        classless_routes,
        routers,
        host_name: view.hostname.clone().filter(|h| !h.is_empty()),
        dns_servers: view.dns_servers4.clone(),
        domain_name: view.domain.clone().filter(|d| !d.is_empty()),
        ..DhcpRepr::default()
    }
}

/// Option 121 from the host routes, with a default route via the gateway added when the
/// list has none (a client taking option 121 drops the router option).
fn classless_routes(view: &PortView) -> Vec<ClasslessRoute> {
    let Some(gw) = view.gateway4 else {
        // No gateway to stand in for an empty next hop: only explicit ones go.
        return view
            .host_routes
            .iter()
            .filter_map(|h| {
                h.nexthop
                    .map(|router| route(h.prefix, h.prefix_len, router))
            })
            .collect();
    };
    let mut v: Vec<ClasslessRoute> = view
        .host_routes
        .iter()
        .map(|h| route(h.prefix, h.prefix_len, h.nexthop.unwrap_or(gw)))
        .collect();
    if !v.is_empty() && !v.iter().any(|r| r.prefix_len == 0) {
        v.push(route(Ipv4Addr::UNSPECIFIED, 0, gw));
    }
    v
}

fn route(prefix: Ipv4Addr, len: u8, router: Ipv4Addr) -> ClasslessRoute {
    let len = len.min(32);
    ClasslessRoute {
        prefix: Ipv4Addr::from(prefix.to_bits() & mask_of(len).to_bits()),
        prefix_len: len,
        router,
    }
}

fn nak(req: &DhcpRepr, server: Ipv4Addr) -> DhcpRepr {
    DhcpRepr {
        op: DhcpOp::Reply,
        message_type: MessageType::Nak,
        xid: req.xid,
        broadcast: req.broadcast,
        giaddr: req.giaddr,
        client_hw: req.client_hw,
        server_id: Some(server),
        message: Some(NAK_MESSAGE.to_string()),
        ..DhcpRepr::default()
    }
}

/// The answer's frame, addressed per RFC 2131 section 4.1: a NAK is broadcast; an answer
/// to a client that has an address (ciaddr) goes to it; otherwise broadcast when the
/// client set the broadcast flag, else unicast to its MAC and the offered address.
fn frame_of(view: &PortView, req: &DhcpRepr, r: &DhcpRepr) -> Vec<u8> {
    let server = r.server_id.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let (dst_mac, dst) = if r.message_type == MessageType::Nak {
        (MacAddr::BROADCAST, Ipv4Addr::BROADCAST)
    } else if !req.ciaddr.is_unspecified() {
        (req.client_hw, req.ciaddr)
    } else if req.broadcast {
        (MacAddr::BROADCAST, Ipv4Addr::BROADCAST)
    } else {
        (req.client_hw, r.yiaddr)
    };
    let ends = Ends {
        src_mac: view.vrouter_mac,
        dst_mac,
        src: server,
        dst,
    };
    frame::udp4_frame(ends, SERVER_PORT, CLIENT_PORT, r.buffer_len(), |b| {
        r.emit(&mut DhcpPacket::new_unchecked(b))
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{HostRoute, handle as trap};
    use super::*;
    use cirrus_dataplane::pipeline::TrapReason;

    fn answer(
        view: &PortView,
        req: &DhcpRepr,
    ) -> (Trapped, Option<(frame::Ends<Ipv4Addr>, DhcpRepr)>) {
        let t = trap(
            view,
            TrapReason::Dhcp,
            &client_frame(req),
            &Default::default(),
        );
        let parsed = t.replies.first().map(|f| parse_server_frame(f));
        (t, parsed)
    }

    #[test]
    fn discover_gets_an_offer_of_the_instance_ip_with_every_option() {
        let mut view = port();
        view.host_routes = vec![HostRoute {
            prefix: Ipv4Addr::new(192, 168, 0, 0),
            prefix_len: 16,
            nexthop: None,
        }];
        let req = discover(&[1, 3, 6, 15, 26, 28, 51, 121]);
        let (t, r) = answer(&view, &req);
        assert_eq!(t.outcome, Outcome::DhcpOffer { addr: VM_IP });
        let (ends, r) = r.unwrap();
        // Broadcast flag set in the DISCOVER: broadcast answer from the service address.
        assert_eq!(ends.dst_mac, MacAddr::BROADCAST);
        assert_eq!(ends.dst, Ipv4Addr::BROADCAST);
        assert_eq!(ends.src, SERVICE);
        assert_eq!(ends.src_mac, VROUTER_MAC);
        assert_eq!(r.message_type, MessageType::Offer);
        assert_eq!(r.xid, req.xid);
        assert_eq!(r.yiaddr, VM_IP);
        assert_eq!(r.server_id, Some(SERVICE));
        assert_eq!(r.subnet_mask, Some(Ipv4Addr::new(255, 255, 255, 0)));
        assert_eq!(r.broadcast_address, Some(Ipv4Addr::new(10, 1, 0, 255)));
        assert_eq!(r.interface_mtu, Some(1400));
        assert_eq!(r.lease_time, Some(3600));
        assert_eq!(r.renewal_time, Some(1800));
        assert_eq!(r.rebinding_time, Some(3150));
        assert_eq!(r.dns_servers, vec![SERVICE]);
        assert_eq!(r.host_name.as_deref(), Some("vm1"));
        assert_eq!(r.domain_name.as_deref(), Some("tenant.example"));
        // Option 121 asked for and sent: no router option, and a default route in 121.
        assert!(r.routers.is_empty());
        assert_eq!(
            r.classless_routes,
            vec![
                ClasslessRoute {
                    prefix: Ipv4Addr::new(192, 168, 0, 0),
                    prefix_len: 16,
                    router: GATEWAY
                },
                ClasslessRoute {
                    prefix: Ipv4Addr::UNSPECIFIED,
                    prefix_len: 0,
                    router: GATEWAY
                },
            ]
        );
        // A client that does not ask for 121 gets the router option as well.
        let (_, r) = answer(&view, &discover(&[1, 3, 6]));
        assert_eq!(r.unwrap().1.routers, vec![GATEWAY]);
    }

    #[test]
    fn request_gets_an_ack_and_a_wrong_address_a_nak() {
        let view = port();
        let mut req = discover(&[1, 3]);
        req.message_type = MessageType::Request;
        req.requested_ip = Some(VM_IP);
        req.server_id = Some(SERVICE);
        let (t, r) = answer(&view, &req);
        assert_eq!(t.outcome, Outcome::DhcpAck { addr: VM_IP });
        let (_, r) = r.unwrap();
        assert_eq!(
            (r.message_type, r.yiaddr, r.routers.clone()),
            (MessageType::Ack, VM_IP, vec![GATEWAY])
        );

        req.requested_ip = Some(Ipv4Addr::new(10, 1, 0, 99));
        let (t, r) = answer(&view, &req);
        assert_eq!(
            t.outcome,
            Outcome::DhcpNak {
                requested: Ipv4Addr::new(10, 1, 0, 99)
            }
        );
        let (ends, r) = r.unwrap();
        assert_eq!(ends.dst, Ipv4Addr::BROADCAST);
        assert_eq!(r.message_type, MessageType::Nak);
        assert_eq!(r.yiaddr, Ipv4Addr::UNSPECIFIED);
        assert_eq!(r.message.as_deref(), Some(NAK_MESSAGE));
        assert_eq!(r.lease_time, None);

        // A REQUEST that selects another server is not ours to answer.
        req.requested_ip = Some(VM_IP);
        req.server_id = Some(Ipv4Addr::new(10, 9, 9, 9));
        let (t, _) = answer(&view, &req);
        assert_eq!(
            t.outcome,
            Outcome::Ignored(Ignored::DhcpOtherServer {
                server: Ipv4Addr::new(10, 9, 9, 9)
            })
        );
        assert!(t.replies.is_empty());
    }

    #[test]
    fn renewal_is_unicast_to_the_client_and_a_foreign_ciaddr_is_naked() {
        let view = port();
        let mut req = discover(&[]);
        req.message_type = MessageType::Request;
        req.broadcast = false;
        req.ciaddr = VM_IP;
        let (t, r) = answer(&view, &req);
        assert_eq!(t.outcome, Outcome::DhcpAck { addr: VM_IP });
        let (ends, _) = r.unwrap();
        assert_eq!((ends.dst_mac, ends.dst), (VM_MAC, VM_IP));

        req.ciaddr = Ipv4Addr::new(10, 1, 0, 77);
        let (t, _) = answer(&view, &req);
        assert_eq!(
            t.outcome,
            Outcome::DhcpNak {
                requested: Ipv4Addr::new(10, 1, 0, 77)
            }
        );
    }

    #[test]
    fn unicast_offer_when_the_client_does_not_ask_for_broadcast() {
        let mut req = discover(&[]);
        req.broadcast = false;
        let (_, r) = answer(&port(), &req);
        let (ends, _) = r.unwrap();
        assert_eq!((ends.dst_mac, ends.dst), (VM_MAC, VM_IP));
    }

    #[test]
    fn inform_gets_options_without_a_lease() {
        let mut req = discover(&[]);
        req.message_type = MessageType::Inform;
        req.ciaddr = VM_IP;
        let (t, r) = answer(&port(), &req);
        assert_eq!(t.outcome, Outcome::DhcpInformAck);
        let (ends, r) = r.unwrap();
        assert_eq!(ends.dst, VM_IP);
        assert_eq!(r.message_type, MessageType::Ack);
        assert_eq!(r.yiaddr, Ipv4Addr::UNSPECIFIED);
        assert_eq!(r.ciaddr, VM_IP);
        assert_eq!(r.lease_time, None);
        assert_eq!(r.subnet_mask, Some(Ipv4Addr::new(255, 255, 255, 0)));
    }

    #[test]
    fn release_decline_and_refusals_are_not_answered() {
        let view = port();
        let mut req = discover(&[]);
        req.message_type = MessageType::Release;
        req.ciaddr = VM_IP;
        assert_eq!(
            answer(&view, &req).0,
            Trapped::silent(Outcome::DhcpRelease { addr: VM_IP })
        );
        req.message_type = MessageType::Decline;
        req.requested_ip = Some(VM_IP);
        assert_eq!(
            answer(&view, &req).0.outcome,
            Outcome::DhcpDecline { addr: Some(VM_IP) }
        );

        let req = discover(&[]);
        let mut other = req.clone();
        other.client_hw = MacAddr([2, 9, 9, 9, 9, 9]);
        assert_eq!(
            answer(&view, &other).0.outcome,
            Outcome::Ignored(Ignored::DhcpWrongClient {
                chaddr: MacAddr([2, 9, 9, 9, 9, 9])
            })
        );
        let mut off = view.clone();
        off.dhcp_enabled = false;
        assert_eq!(
            answer(&off, &req).0.outcome,
            Outcome::Ignored(Ignored::DhcpDisabled)
        );
        let mut none = view.clone();
        none.ipv4 = None;
        assert_eq!(
            answer(&none, &req).0.outcome,
            Outcome::Ignored(Ignored::DhcpNoAddress)
        );
        let mut bootp = req.clone();
        bootp.message_type = MessageType::Bootp;
        assert_eq!(
            answer(&view, &bootp).0.outcome,
            Outcome::Ignored(Ignored::DhcpUnexpected)
        );
    }

    #[test]
    fn the_gateway_serves_when_there_is_no_service_address_and_infinite_leases_have_no_t1() {
        let mut view = port();
        view.service_address4 = None;
        view.lease_seconds = INFINITE_LEASE;
        let (_, r) = answer(&view, &discover(&[]));
        let (ends, r) = r.unwrap();
        assert_eq!(ends.src, GATEWAY);
        assert_eq!(r.server_id, Some(GATEWAY));
        assert_eq!(r.lease_time, Some(u32::MAX));
        assert_eq!((r.renewal_time, r.rebinding_time), (None, None));
    }

    #[test]
    fn malformed_dhcp_is_counted_not_answered() {
        let mut f = client_frame(&discover(&[]));
        let n = f.len();
        f[n - 20] ^= 0xff; // inside the options: the UDP checksum fails
        let t = trap(&port(), TrapReason::Dhcp, &f, &Default::default());
        assert_eq!(t.outcome, Outcome::Malformed(WireError::Checksum("udp")));
        assert!(t.replies.is_empty());
        let t = trap(&port(), TrapReason::Dhcp, &f[..20], &Default::default());
        assert!(matches!(t.outcome, Outcome::Malformed(_)));
    }
}
