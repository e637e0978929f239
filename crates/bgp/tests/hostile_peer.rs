//! A hostile peer on a raw TCP socket: crafted malformed messages get the RFC's NOTIFICATION
//! (or RFC 7606 treat-as-withdraw), and the speaker never crashes or wedges: after every
//! abuse a well-behaved session still comes up.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use cirrus_bgp::codec::{self, CodecContext};
use cirrus_bgp::message::{Capabilities, Message, Notification, Open, Update};
use cirrus_bgp::session::State;
use cirrus_bgp::speaker::{PeerConfig, Speaker, SpeakerConfig};
use cirrus_bgp::types::{Family, Label, Labeled, Nlri, Rd};

const SPEAKER: Ipv4Addr = Ipv4Addr::new(127, 0, 7, 1);
const HOSTILE: Ipv4Addr = Ipv4Addr::new(127, 0, 7, 2);
const PORT: u16 = 17941;

async fn connect(from: Ipv4Addr) -> TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(SocketAddr::new(IpAddr::V4(from), 0)).unwrap();
    s.connect(SocketAddr::new(IpAddr::V4(SPEAKER), PORT))
        .await
        .unwrap()
}

/// Reads messages until a NOTIFICATION arrives or the connection closes (bounded by 5 s).
async fn read_until_notification(s: &mut TcpStream) -> Option<Notification> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        while let Ok(Some(len)) = codec::frame(&buf) {
            let msg: Vec<u8> = buf.drain(..len).collect();
            if let Ok(Message::Notification(n)) = codec::decode(&msg, &CodecContext::asn4()) {
                return Some(n);
            }
        }
        match tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return None,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn open(asn: u32, hold: u16, id: Ipv4Addr) -> Vec<u8> {
    let o = Open {
        my_as: u16::try_from(asn).unwrap_or(23456),
        hold_time: hold,
        router_id: id,
        caps: Capabilities {
            families: vec![Family::InetVpn],
            asn4: Some(asn),
            route_refresh: true,
            ..Default::default()
        },
        one_param_per_cap: true,
    };
    codec::encode(&Message::Open(o), true).unwrap()
}

fn keepalive() -> Vec<u8> {
    codec::encode(&Message::Keepalive, true).unwrap()
}

fn vpn_update() -> Vec<u8> {
    let mut u = Update {
        announce: vec![Labeled::with_label(
            Nlri::InetVpn {
                rd: Rd::As2(65066, 1),
                prefix: "10.66.0.0/16".parse().unwrap(),
            },
            Label::mpls(66),
        )],
        ..Default::default()
    };
    u.attrs.next_hop = Some("198.18.0.66".parse().unwrap());
    u.attrs.as_path = vec![cirrus_bgp::attrs::AsSegment {
        set: false,
        asns: vec![65066],
    }];
    codec::encode(&Message::Update(u), true).unwrap()
}

/// Opens a proper session from the hostile address; returns the stream once Established.
async fn good_session(s: &Speaker) -> TcpStream {
    // A few attempts: a connection that races the speaker's teardown of the previous, abused
    // one may be refused or reset (a collision with a session it has not yet seen close);
    // a wedged speaker fails every attempt.
    for _ in 0..5 {
        let mut c = connect(HOSTILE).await;
        let mut hello = open(65066, 30, HOSTILE);
        hello.extend_from_slice(&keepalive());
        if c.write_all(&hello).await.is_err() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        for _ in 0..20 {
            if s.neighbors().await.unwrap()[0].state == State::Established {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    panic!(
        "speaker wedged: no session after abuse: {:?}",
        s.neighbors().await.unwrap()
    );
}

async fn expect(s: &Speaker, payload: &[u8], after_open: bool, code: u8, subcode: u8, what: &str) {
    let mut c = connect(HOSTILE).await;
    if after_open {
        c.write_all(&open(65066, 30, HOSTILE)).await.unwrap();
        c.write_all(&keepalive()).await.unwrap();
    }
    c.write_all(payload).await.unwrap();
    let n = read_until_notification(&mut c)
        .await
        .unwrap_or_else(|| panic!("{what}: no NOTIFICATION"));
    assert_eq!((n.code, n.subcode), (code, subcode), "{what}: got {n}");
    drop(c);
    // The speaker still takes a good session afterwards.
    let g = good_session(s).await;
    drop(g);
    for _ in 0..100 {
        if s.neighbors().await.unwrap()[0].state != State::Established {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_get_the_rfc_answer_and_never_wedge_the_speaker() {
    let mut cfg = SpeakerConfig::new(SPEAKER, 64512, SocketAddr::new(IpAddr::V4(SPEAKER), PORT));
    cfg.connect_retry = 1;
    let mut p = PeerConfig::new(IpAddr::V4(HOSTILE), 65066);
    p.passive = true;
    p.families = vec![Family::InetVpn];
    cfg.peers.push(p);
    let s = Speaker::start(cfg).await.unwrap();

    let mut bad_marker = keepalive();
    bad_marker[3] = 0;
    expect(&s, &bad_marker, false, 1, 1, "marker not all ones").await;
    let mut too_long = keepalive();
    too_long[16..18].copy_from_slice(&5000u16.to_be_bytes());
    expect(&s, &too_long, false, 1, 2, "length 5000").await;
    let mut bad_type = keepalive();
    bad_type[18] = 42;
    expect(&s, &bad_type, false, 1, 3, "message type 42").await;
    let mut v3 = open(65066, 30, HOSTILE);
    v3[19] = 3;
    expect(&s, &v3, false, 2, 1, "BGP version 3").await;
    expect(&s, &open(65000, 30, HOSTILE), false, 2, 2, "wrong peer AS").await;
    expect(&s, &open(65066, 1, HOSTILE), false, 2, 6, "hold time 1").await;
    expect(
        &s,
        &open(65066, 30, Ipv4Addr::UNSPECIFIED),
        false,
        2,
        3,
        "BGP identifier 0.0.0.0",
    )
    .await;
    expect(&s, &keepalive(), false, 5, 1, "KEEPALIVE before OPEN").await;
    let mut rr_bad = codec::encode(
        &Message::RouteRefresh(cirrus_bgp::message::RouteRefresh::request(Family::InetVpn)),
        true,
    )
    .unwrap();
    rr_bad.extend_from_slice(&[0, 0]);
    rr_bad[17] += 2;
    expect(&s, &rr_bad, true, 7, 1, "ROUTE-REFRESH of length 25").await;
    let mut mp_bad = vpn_update();
    let pos = mp_bad.windows(2).position(|w| w == [0x80, 0x0e]).unwrap();
    mp_bad[pos + 2] += 3;
    expect(
        &s,
        &mp_bad,
        true,
        3,
        1,
        "MP_REACH longer than the attribute list",
    )
    .await;

    // RFC 7606: an undefined ORIGIN is treat-as-withdraw, the session stays up.
    let mut c = good_session(&s).await;
    c.write_all(&vpn_update()).await.unwrap();
    for _ in 0..100 {
        if s.neighbors().await.unwrap()[0].prefixes_received == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(s.neighbors().await.unwrap()[0].prefixes_received, 1);
    let mut bad_origin = vpn_update();
    let pos = bad_origin
        .windows(3)
        .position(|w| w == [0x40, 0x01, 0x01])
        .unwrap();
    bad_origin[pos + 3] = 9;
    c.write_all(&bad_origin).await.unwrap();
    c.write_all(&keepalive()).await.unwrap();
    for _ in 0..100 {
        if s.neighbors().await.unwrap()[0].prefixes_received == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let n = &s.neighbors().await.unwrap()[0];
    assert_eq!(
        (n.state, n.prefixes_received),
        (State::Established, 0),
        "withdrawn, session kept"
    );
    drop(c);

    // Garbage, half messages and abrupt closes: no answer needed, no wedge.
    for junk in [
        vec![0u8; 10],
        vec![0xff; 18],
        (0..255u8).collect::<Vec<u8>>(),
        open(65066, 30, HOSTILE)[..25].to_vec(),
    ] {
        let mut c = connect(HOSTILE).await;
        let _ = c.write_all(&junk).await;
        drop(c);
    }
    drop(good_session(&s).await);

    // A stranger gets Cease / Connection Rejected (RFC 4486).
    let mut c = connect(Ipv4Addr::new(127, 0, 7, 3)).await;
    let n = read_until_notification(&mut c)
        .await
        .expect("NOTIFICATION to a stranger");
    assert_eq!((n.code, n.subcode), (6, 5));
    s.shutdown().await;
}
