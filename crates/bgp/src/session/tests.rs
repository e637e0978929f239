//! FSM unit tests: one per transition and per error answer.

use std::net::Ipv4Addr;

use super::*;
use crate::attrs::PathAttrs;
use crate::codec;
use crate::ext_community::ExtCommunity;
use crate::types::{Label, Labeled, Nlri, Rd};

fn cfg(asn: u32, id: u8, peer_asn: u32) -> SessionConfig {
    SessionConfig {
        local_asn: asn,
        router_id: Ipv4Addr::new(10, 0, 0, id),
        peer_asn,
        hold_time: 90,
        families: vec![Family::InetVpn, Family::Evpn, Family::RouteTarget],
        graceful_restart: Some(120),
        llgr_stale_time: None,
        passive: false,
        connect_retry: 5,
    }
}

fn sent(actions: &[Action]) -> Vec<Vec<u8>> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(b) => Some(b.clone()),
            _ => None,
        })
        .collect()
}

fn sent_notification(actions: &[Action]) -> Option<Notification> {
    sent(actions)
        .into_iter()
        .find_map(|b| match codec::decode(&b, &CodecContext::asn4()) {
            Ok(Message::Notification(n)) => Some(n),
            _ => None,
        })
}

/// Delivers everything `from` sent into `to`, returning `to`'s actions.
fn deliver(actions: &[Action], to: &mut Session) -> Vec<Action> {
    let mut out = Vec::new();
    for b in sent(actions) {
        out.extend(to.handle(Event::Data(b)));
    }
    out
}

/// Two sessions driven to Established; returns them with b's Established actions.
fn established(a_cfg: SessionConfig, b_cfg: SessionConfig) -> (Session, Session) {
    let mut a = Session::new(a_cfg);
    let mut b = Session::new(b_cfg);
    a.handle(Event::ManualStart);
    b.handle(Event::ManualStart);
    let a1 = a.handle(Event::TcpCrAcked);
    let b1 = b.handle(Event::TcpConnectionConfirmed);
    assert_eq!((a.state(), b.state()), (State::OpenSent, State::OpenSent));
    let b2 = deliver(&a1, &mut b); // OPEN -> b sends KEEPALIVE
    let a2 = deliver(&b1, &mut a); // OPEN -> a sends KEEPALIVE
    assert_eq!(
        (a.state(), b.state()),
        (State::OpenConfirm, State::OpenConfirm)
    );
    let a3 = deliver(&b2, &mut a);
    let b3 = deliver(&a2, &mut b);
    assert!(a3.iter().any(|x| matches!(x, Action::Established(_))));
    assert!(b3.iter().any(|x| matches!(x, Action::Established(_))));
    (a, b)
}

fn pair() -> (Session, Session) {
    established(cfg(64512, 1, 64512), cfg(64512, 2, 64512))
}

#[test]
fn manual_start_connects_or_listens() {
    let mut s = Session::new(cfg(1, 1, 2));
    let a = s.handle(Event::ManualStart);
    assert_eq!(
        a,
        vec![Action::StartTimer(Timer::ConnectRetry, 5), Action::Connect]
    );
    assert_eq!(s.state(), State::Connect);
    let mut p = Session::new(SessionConfig {
        passive: true,
        ..cfg(1, 1, 2)
    });
    p.handle(Event::ManualStart);
    assert_eq!(p.state(), State::Active);
}

#[test]
fn connect_failure_goes_active_then_retries() {
    let mut s = Session::new(cfg(1, 1, 2));
    s.handle(Event::ManualStart);
    s.handle(Event::TcpConnectionFails);
    assert_eq!(s.state(), State::Active);
    let a = s.handle(Event::ConnectRetryTimerExpires);
    assert!(a.contains(&Action::Connect));
    assert_eq!(s.state(), State::Connect);
}

#[test]
fn handshake_negotiates_families_hold_and_asn4() {
    let mut b_cfg = cfg(64512, 2, 64512);
    b_cfg.families = vec![Family::InetVpn, Family::Inet];
    b_cfg.hold_time = 30;
    let (a, b) = established(cfg(64512, 1, 64512), b_cfg);
    let n = a.negotiated().unwrap();
    assert_eq!(n.families, vec![Family::InetVpn]);
    assert_eq!((n.hold_time, n.keepalive), (30, 10));
    assert!(n.asn4 && n.route_refresh);
    assert!(n.peer_graceful_restart.is_some());
    assert_eq!(b.state(), State::Established);
}

#[test]
fn four_octet_asn_uses_as_trans_in_open() {
    let (a, _) = established(cfg(4_200_000_000, 1, 65001), cfg(65001, 2, 4_200_000_000));
    assert_eq!(a.negotiated().unwrap().peer_asn, 65001);
}

fn open_failure(b_cfg: SessionConfig, a_cfg: SessionConfig) -> (Notification, Vec<Action>) {
    let mut a = Session::new(a_cfg);
    let mut b = Session::new(b_cfg);
    a.handle(Event::ManualStart);
    b.handle(Event::ManualStart);
    let a1 = a.handle(Event::TcpCrAcked);
    b.handle(Event::TcpConnectionConfirmed);
    let out = deliver(&a1, &mut b);
    assert_eq!(b.state(), State::Idle);
    (sent_notification(&out).expect("a NOTIFICATION"), out)
}

#[test]
fn bad_peer_as_is_open_error_2_2() {
    let (n, out) = open_failure(cfg(64512, 2, 65000), cfg(64512, 1, 64512));
    assert_eq!((n.code, n.subcode), (2, 2));
    assert!(out.contains(&Action::CloseConnection));
}

#[test]
fn unacceptable_hold_time_is_2_6() {
    let mut a = cfg(64512, 1, 64512);
    a.hold_time = 2;
    let (n, _) = open_failure(cfg(64512, 2, 64512), a);
    assert_eq!((n.code, n.subcode), (2, 6));
}

#[test]
fn duplicate_router_id_is_2_3() {
    let (n, _) = open_failure(cfg(64512, 1, 64512), cfg(64512, 1, 64512));
    assert_eq!((n.code, n.subcode), (2, 3));
}

#[test]
fn no_common_family_is_2_7() {
    let mut a = cfg(64512, 1, 64512);
    a.families = vec![Family::Inet6];
    let (n, _) = open_failure(cfg(64512, 2, 64512), a);
    assert_eq!((n.code, n.subcode), (2, 7));
}

#[test]
fn keepalive_in_open_sent_is_fsm_error_5_1() {
    let mut s = Session::new(cfg(1, 1, 1));
    s.handle(Event::ManualStart);
    s.handle(Event::TcpCrAcked);
    let out = s.handle(Event::Data(
        codec::encode(&Message::Keepalive, true).unwrap(),
    ));
    let n = sent_notification(&out).unwrap();
    assert_eq!((n.code, n.subcode), (5, 1));
    assert_eq!(s.state(), State::Idle);
}

#[test]
fn update_in_open_confirm_is_fsm_error_5_2() {
    let mut a = Session::new(cfg(1, 1, 1));
    let mut b = Session::new(cfg(1, 2, 1));
    a.handle(Event::ManualStart);
    b.handle(Event::ManualStart);
    let a1 = a.handle(Event::TcpCrAcked);
    b.handle(Event::TcpConnectionConfirmed);
    deliver(&a1, &mut b);
    assert_eq!(b.state(), State::OpenConfirm);
    let eor = codec::encode(&Message::Update(Update::end_of_rib(Family::Inet)), true).unwrap();
    let n = sent_notification(&b.handle(Event::Data(eor))).unwrap();
    assert_eq!((n.code, n.subcode), (5, 2));
}

#[test]
fn header_errors_get_1_1_1_2_1_3() {
    for (bytes, sub) in [
        (
            {
                let mut m = codec::encode(&Message::Keepalive, true).unwrap();
                m[0] = 0;
                m
            },
            1,
        ),
        (
            {
                let mut m = codec::encode(&Message::Keepalive, true).unwrap();
                m[17] = 20;
                m.push(0);
                m
            },
            2,
        ),
        (
            {
                let mut m = codec::encode(&Message::Keepalive, true).unwrap();
                m[18] = 9;
                m
            },
            3,
        ),
    ] {
        let (mut a, _) = pair();
        let out = a.handle(Event::Data(bytes));
        let n = sent_notification(&out).unwrap();
        assert_eq!((n.code, n.subcode), (1, sub));
        assert!(
            out.iter()
                .any(|x| matches!(x, Action::Down(d) if !d.graceful))
        );
    }
}

fn vpn_update() -> Update {
    Update {
        announce: vec![Labeled::with_label(
            Nlri::InetVpn {
                rd: Rd::As2(64512, 1),
                prefix: "10.1.0.0/24".parse().unwrap(),
            },
            Label::mpls(100),
        )],
        attrs: PathAttrs {
            next_hop: Some("192.0.2.1".parse().unwrap()),
            local_pref: Some(100),
            ext_communities: vec![ExtCommunity::route_target_as2(64512, 1)],
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn update_is_received_in_established() {
    let (mut a, mut b) = pair();
    let out = a.send_update(&vpn_update());
    let got = deliver(&out, &mut b);
    let u = got
        .iter()
        .find_map(|x| match x {
            Action::Received(u) => Some(u),
            _ => None,
        })
        .unwrap();
    assert_eq!(u.announce, vpn_update().announce);
    assert!(got.contains(&Action::StartTimer(Timer::Hold, 90)));
}

#[test]
fn missing_mandatory_attribute_is_treat_as_withdraw() {
    let (_, mut b) = pair();
    let mut msg = codec::encode(&Message::Update(vpn_update()), true).unwrap();
    // Drop the AS_PATH attribute (40 02 00) by rewriting it as an unknown optional one.
    let pos = msg
        .windows(3)
        .position(|w| w == [0x40, 0x02, 0x00])
        .unwrap();
    msg[pos] = 0xc0;
    msg[pos + 1] = 0xfe;
    let out = b.handle(Event::Data(msg));
    let u = out
        .iter()
        .find_map(|x| match x {
            Action::Received(u) => Some(u),
            _ => None,
        })
        .unwrap();
    assert!(u.announce.is_empty());
    assert_eq!(u.withdraw.len(), 1);
    assert_eq!(
        b.state(),
        State::Established,
        "no session reset for treat-as-withdraw"
    );
}

#[test]
fn malformed_attribute_is_treat_as_withdraw() {
    let (_, mut b) = pair();
    let mut msg = codec::encode(&Message::Update(vpn_update()), true).unwrap();
    // ORIGIN value 7 is undefined: RFC 7606 section 7.1 says treat-as-withdraw.
    let pos = msg
        .windows(3)
        .position(|w| w == [0x40, 0x01, 0x01])
        .unwrap();
    msg[pos + 3] = 7;
    let out = b.handle(Event::Data(msg));
    assert_eq!(b.state(), State::Established);
    assert!(out.iter().any(
        |x| matches!(x, Action::Received(u) if u.announce.is_empty() && u.withdraw.len() == 1)
    ));
}

#[test]
fn truncated_mp_reach_resets_with_update_error() {
    let (_, mut b) = pair();
    let mut msg = codec::encode(&Message::Update(vpn_update()), true).unwrap();
    // Claim one more NLRI octet in the MP_REACH than there is: the attribute list is malformed.
    let pos = msg.windows(2).position(|w| w == [0x80, 0x0e]).unwrap();
    msg[pos + 2] += 1;
    let out = b.handle(Event::Data(msg));
    let n = sent_notification(&out).unwrap();
    assert_eq!(n.code, 3);
    assert_eq!(b.state(), State::Idle);
}

#[test]
fn route_refresh_request_is_reported() {
    let (mut a, mut b) = pair();
    let out = a.request_refresh(Family::InetVpn);
    let got = deliver(&out, &mut b);
    assert!(got.contains(&Action::RouteRefreshRequested(Family::InetVpn)));
}

#[test]
fn bad_route_refresh_length_is_7_1() {
    let (_, mut b) = pair();
    let mut m = codec::encode(
        &Message::RouteRefresh(RouteRefresh::request(Family::InetVpn)),
        true,
    )
    .unwrap();
    m.push(0);
    m[17] += 1;
    let n = sent_notification(&b.handle(Event::Data(m))).unwrap();
    assert_eq!((n.code, n.subcode), (7, 1));
}

#[test]
fn keepalive_timer_sends_keepalive() {
    let (mut a, _) = pair();
    let out = a.handle(Event::KeepaliveTimerExpires);
    assert_eq!(
        sent(&out),
        vec![codec::encode(&Message::Keepalive, true).unwrap()]
    );
    assert!(out.contains(&Action::StartTimer(Timer::Keepalive, 30)));
}

#[test]
fn hold_timer_expiry_is_4_0_and_graceful() {
    let (mut a, _) = pair();
    let out = a.handle(Event::HoldTimerExpires);
    let n = sent_notification(&out).unwrap();
    assert_eq!((n.code, n.subcode), (4, 0));
    // Both sides set the N bit, so GR applies even with a NOTIFICATION (RFC 8538).
    assert!(
        out.iter()
            .any(|x| matches!(x, Action::Down(d) if d.graceful))
    );
    assert_eq!(a.state(), State::Idle);
    assert!(
        out.contains(&Action::StartTimer(Timer::ConnectRetry, 5)),
        "restarts after idle hold"
    );
}

#[test]
fn tcp_loss_in_established_is_graceful() {
    let (mut a, _) = pair();
    let out = a.handle(Event::TcpConnectionFails);
    assert!(
        out.iter()
            .any(|x| matches!(x, Action::Down(d) if d.graceful && d.sent.is_none()))
    );
}

#[test]
fn manual_stop_sends_cease_and_stays_idle() {
    let (mut a, mut b) = pair();
    let out = a.handle(Event::ManualStop);
    let n = sent_notification(&out).unwrap();
    assert_eq!((n.code, n.subcode), (6, 2));
    assert!(!out.contains(&Action::StartTimer(Timer::ConnectRetry, 5)));
    assert!(a.handle(Event::ConnectRetryTimerExpires).is_empty());
    let got = deliver(&out, &mut b);
    assert!(
        got.iter().any(
            |x| matches!(x, Action::Down(d) if d.received.as_ref().is_some_and(|n| n.code == 6))
        )
    );
}

#[test]
fn unnegotiated_family_is_ignored() {
    let (mut a, mut b) = {
        let mut b_cfg = cfg(1, 2, 1);
        b_cfg.families = vec![Family::Evpn];
        let mut a_cfg = cfg(1, 1, 1);
        a_cfg.families = vec![Family::Evpn, Family::InetVpn];
        established(a_cfg, b_cfg)
    };
    // a thinks InetVpn is not negotiated either, so send raw bytes.
    let _ = &mut a;
    let msg = codec::encode(&Message::Update(vpn_update()), true).unwrap();
    let out = b.handle(Event::Data(msg));
    assert!(!out.iter().any(|x| matches!(x, Action::Received(_))));
    assert_eq!(b.state(), State::Established);
}
