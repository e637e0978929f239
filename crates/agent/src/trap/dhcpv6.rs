//! The DHCPv6 server of a workload port (RFC 8415; Contrail: `services/dhcpv6_handler.cc`,
//! which the router advertisement's managed flag sends clients to). As for IPv4 the
//! address is always the port's IPv6 instance IP: SOLICIT gets an ADVERTISE (a REPLY with
//! rapid commit), REQUEST, RENEW and REBIND a REPLY binding it, CONFIRM a REPLY saying
//! whether the client's addresses are on this link, RELEASE and DECLINE a REPLY of
//! success, INFORMATION-REQUEST the DNS options alone. Answers come from
//! [`VROUTER_LINK_LOCAL6`] and the vRouter MAC, with a DUID-LL of that MAC as server id.

use super::dhcpv6_wire::{
    CLIENT_PORT, Dhcpv6Message, Dhcpv6Packet, Dhcpv6Repr, IaAddress, IaNa, SERVER_PORT, Status,
    duid_ll, status,
};
use super::frame::{self, Ends};
use super::{INFINITE_LEASE, Ignored, Outcome, PortView, Trapped, VROUTER_LINK_LOCAL6};
use cirrus_dataplane::wire::WireError;
use std::net::Ipv6Addr;

pub(super) fn handle(view: &PortView, f: &[u8]) -> Trapped {
    let (req, src, src_mac) = match read(f) {
        Ok(Some(r)) => r,
        Ok(None) => return Trapped::silent(Outcome::Ignored(Ignored::WrongReason)),
        Err(e) => return Trapped::silent(Outcome::Malformed(e)),
    };
    if !view.dhcp_enabled {
        return Trapped::silent(Outcome::Ignored(Ignored::DhcpDisabled));
    }
    use Dhcpv6Message as M;
    let ours = duid_ll(view.vrouter_mac);
    // RFC 8415 section 16: which messages must, may or must not name a server.
    let server_ok = match req.msg_type {
        M::Solicit | M::Rebind | M::Confirm => req.server_id.is_none(),
        M::Request | M::Renew | M::Release | M::Decline => req.server_id.as_ref() == Some(&ours),
        M::InformationRequest => req.server_id.as_ref().is_none_or(|s| *s == ours),
        _ => return Trapped::silent(Outcome::Ignored(Ignored::DhcpUnexpected)),
    };
    if !server_ok {
        return Trapped::silent(Outcome::Ignored(Ignored::Dhcp6OtherServer));
    }
    if req.client_id.is_none() && req.msg_type != M::InformationRequest {
        return Trapped::silent(Outcome::Malformed(WireError::Malformed(
            "dhcpv6 client identifier",
        )));
    }
    let mut r = Dhcpv6Repr::new(M::Reply, req.transaction_id);
    r.server_id = Some(ours);
    r.client_id = req.client_id.clone();
    r.dns_servers = view.dns_servers6.clone();
    r.domain_list = view
        .domain
        .iter()
        .filter(|d| !d.is_empty())
        .cloned()
        .collect();
    let outcome = match req.msg_type {
        M::InformationRequest => Outcome::Dhcp6InformReply,
        M::Release | M::Decline => {
            r.status = Some(Status {
                code: status::SUCCESS,
                message: "ok".into(),
            });
            if req.msg_type == M::Release {
                Outcome::Dhcp6Release
            } else {
                Outcome::Dhcp6Decline
            }
        }
        M::Confirm => {
            let on_link = view.ipv6.is_some_and(|(a, _)| {
                req.ia_na
                    .iter()
                    .flat_map(|ia| &ia.addresses)
                    .all(|x| x.addr == a)
            });
            r.status = Some(Status {
                code: if on_link {
                    status::SUCCESS
                } else {
                    status::NOT_ON_LINK
                },
                message: if on_link { "on link" } else { "not on link" }.into(),
            });
            Outcome::Dhcp6Confirm { on_link }
        }
        _ => {
            // SOLICIT, REQUEST, RENEW, REBIND: bind the port's address in each IA_NA.
            let Some((addr, _)) = view.ipv6 else {
                return Trapped::silent(Outcome::Ignored(Ignored::DhcpNoAddress));
            };
            let iaids: Vec<u32> = if req.ia_na.is_empty() {
                vec![0]
            } else {
                req.ia_na.iter().map(|ia| ia.iaid).collect()
            };
            r.ia_na = iaids.into_iter().map(|iaid| ia(view, iaid, addr)).collect();
            if req.msg_type == M::Solicit && !req.rapid_commit {
                r.msg_type = M::Advertise;
                Outcome::Dhcp6Advertise { addr }
            } else {
                r.rapid_commit = req.msg_type == M::Solicit;
                Outcome::Dhcp6Reply { addr }
            }
        }
    };
    let ends = Ends {
        src_mac: view.vrouter_mac,
        dst_mac: src_mac,
        src: VROUTER_LINK_LOCAL6,
        dst: src,
    };
    let out = frame::udp6_frame(ends, SERVER_PORT, CLIENT_PORT, r.buffer_len(), |b| {
        r.emit(&mut Dhcpv6Packet::new_unchecked(b))
    });
    Trapped::answer(out, outcome)
}

/// The IA_NA binding `addr` for the port's lease (T1 = 1/2, T2 = 4/5 of it, RFC 8415's
/// recommendation; never renewed when infinite).
fn ia(view: &PortView, iaid: u32, addr: Ipv6Addr) -> IaNa {
    let lease = view.lease_seconds;
    let (t1, t2) = if lease == INFINITE_LEASE {
        (INFINITE_LEASE, INFINITE_LEASE)
    } else {
        (lease / 2, (u64::from(lease) * 4 / 5) as u32)
    };
    IaNa {
        iaid,
        t1,
        t2,
        addresses: vec![IaAddress {
            addr,
            preferred: lease,
            valid: lease,
        }],
        status: None,
    }
}

type Request = (Dhcpv6Repr, Ipv6Addr, cirrus_dataplane::wire::MacAddr);

fn read(f: &[u8]) -> Result<Option<Request>, WireError> {
    let Some(ip) = frame::ipv6(f)? else {
        return Ok(None);
    };
    if ip.protocol != cirrus_dataplane::wire::IpProtocol::UDP {
        return Ok(None);
    }
    let udp = frame::udp6(&ip)?;
    if udp.dst_port != SERVER_PORT {
        return Ok(None);
    }
    let r = Dhcpv6Repr::parse(&Dhcpv6Packet::new_checked(udp.payload)?)?;
    Ok(Some((r, ip.ip.src, ip.src_mac)))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{CONTRAIL_VROUTER_MAC, handle as trap};
    use super::*;
    use crate::trap::dhcpv6_wire::ALL_SERVERS;
    use cirrus_dataplane::pipeline::TrapReason;
    use cirrus_dataplane::wire::MacAddr;

    fn client(m: Dhcpv6Message) -> Dhcpv6Repr {
        let mut r = Dhcpv6Repr::new(m, 0x00abcdef);
        r.client_id = Some(vec![0, 3, 0, 1, 2, 0x1a, 0xf4, 0xbe, 0xe3, 4]);
        r.elapsed_time = Some(0);
        r.oro = vec![23, 24];
        r.ia_na = vec![IaNa {
            iaid: 9,
            t1: 0,
            t2: 0,
            addresses: vec![],
            status: None,
        }];
        r
    }

    fn send(view: &PortView, r: &Dhcpv6Repr) -> (Trapped, Option<Dhcpv6Repr>) {
        let ends = Ends {
            src_mac: VM_MAC,
            dst_mac: MacAddr([0x33, 0x33, 0, 1, 0, 2]),
            src: VM_LL6,
            dst: ALL_SERVERS,
        };
        let f = frame::udp6_frame(ends, CLIENT_PORT, SERVER_PORT, r.buffer_len(), |b| {
            r.emit(&mut Dhcpv6Packet::new_unchecked(b))
        });
        let t = trap(view, TrapReason::Dhcp, &f, &Default::default());
        let back = t.replies.first().map(|f| {
            let ip = frame::ipv6(f).unwrap().unwrap();
            assert_eq!((ip.ip.src, ip.ip.dst), (VROUTER_LINK_LOCAL6, VM_LL6));
            assert_eq!((ip.src_mac, ip.dst_mac), (VROUTER_MAC, VM_MAC));
            let u = frame::udp6(&ip).unwrap();
            assert_eq!((u.src_port, u.dst_port), (547, 546));
            Dhcpv6Repr::parse(&Dhcpv6Packet::new_checked(u.payload).unwrap()).unwrap()
        });
        (t, back)
    }

    fn view6() -> PortView {
        let mut v = port();
        v.dns_servers6 = vec![GATEWAY6];
        v
    }

    #[test]
    fn solicit_request_renew_bind_the_instance_ip() {
        let v = view6();
        let (t, a) = send(&v, &client(Dhcpv6Message::Solicit));
        assert_eq!(t.outcome, Outcome::Dhcp6Advertise { addr: VM_IP6 });
        let a = a.unwrap();
        assert_eq!(a.msg_type, Dhcpv6Message::Advertise);
        assert_eq!(a.transaction_id, 0xabcdef);
        assert_eq!(a.server_id, Some(duid_ll(CONTRAIL_VROUTER_MAC)));
        assert_eq!(a.client_id, client(Dhcpv6Message::Solicit).client_id);
        assert_eq!(
            a.ia_na,
            vec![IaNa {
                iaid: 9,
                t1: 1800,
                t2: 2880,
                addresses: vec![IaAddress {
                    addr: VM_IP6,
                    preferred: 3600,
                    valid: 3600
                }],
                status: None
            }]
        );
        assert_eq!(a.dns_servers, vec![GATEWAY6]);
        assert_eq!(a.domain_list, vec!["tenant.example".to_string()]);

        for m in [Dhcpv6Message::Request, Dhcpv6Message::Renew] {
            let mut req = client(m);
            req.server_id = a.server_id.clone();
            let (t, r) = send(&v, &req);
            assert_eq!(t.outcome, Outcome::Dhcp6Reply { addr: VM_IP6 });
            assert_eq!(r.unwrap().msg_type, Dhcpv6Message::Reply);
        }
        let (t, _) = send(&v, &client(Dhcpv6Message::Rebind));
        assert_eq!(t.outcome, Outcome::Dhcp6Reply { addr: VM_IP6 });
        let mut rapid = client(Dhcpv6Message::Solicit);
        rapid.rapid_commit = true;
        let (t, r) = send(&v, &rapid);
        assert_eq!(t.outcome, Outcome::Dhcp6Reply { addr: VM_IP6 });
        assert!(r.unwrap().rapid_commit);
    }

    #[test]
    fn other_servers_confirm_release_and_information() {
        let v = view6();
        let mut req = client(Dhcpv6Message::Request);
        req.server_id = Some(duid_ll(MacAddr([2, 9, 9, 9, 9, 9])));
        assert_eq!(
            send(&v, &req).0.outcome,
            Outcome::Ignored(Ignored::Dhcp6OtherServer)
        );
        let mut sol = client(Dhcpv6Message::Solicit);
        sol.server_id = Some(duid_ll(CONTRAIL_VROUTER_MAC));
        assert_eq!(
            send(&v, &sol).0.outcome,
            Outcome::Ignored(Ignored::Dhcp6OtherServer)
        );

        let mut confirm = client(Dhcpv6Message::Confirm);
        confirm.ia_na[0].addresses.push(IaAddress {
            addr: VM_IP6,
            preferred: 0,
            valid: 0,
        });
        let (t, r) = send(&v, &confirm);
        assert_eq!(t.outcome, Outcome::Dhcp6Confirm { on_link: true });
        assert_eq!(r.unwrap().status.unwrap().code, status::SUCCESS);
        confirm.ia_na[0].addresses[0].addr = "fd99::3".parse().unwrap();
        let (t, r) = send(&v, &confirm);
        assert_eq!(t.outcome, Outcome::Dhcp6Confirm { on_link: false });
        assert_eq!(r.unwrap().status.unwrap().code, status::NOT_ON_LINK);

        let mut rel = client(Dhcpv6Message::Release);
        rel.server_id = Some(duid_ll(CONTRAIL_VROUTER_MAC));
        let (t, r) = send(&v, &rel);
        assert_eq!(t.outcome, Outcome::Dhcp6Release);
        assert_eq!(r.unwrap().status.unwrap().code, status::SUCCESS);

        let mut info = Dhcpv6Repr::new(Dhcpv6Message::InformationRequest, 5);
        info.oro = vec![23];
        let (t, r) = send(&v, &info);
        assert_eq!(t.outcome, Outcome::Dhcp6InformReply);
        let r = r.unwrap();
        assert!(r.ia_na.is_empty());
        assert_eq!(r.dns_servers, vec![GATEWAY6]);

        let mut none = v.clone();
        none.ipv6 = None;
        assert_eq!(
            send(&none, &client(Dhcpv6Message::Solicit)).0.outcome,
            Outcome::Ignored(Ignored::DhcpNoAddress)
        );
        let mut anon = client(Dhcpv6Message::Solicit);
        anon.client_id = None;
        assert!(matches!(send(&v, &anon).0.outcome, Outcome::Malformed(_)));
    }
}
