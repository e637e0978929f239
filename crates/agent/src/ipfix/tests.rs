use super::*;
use cirrus_analytics::record::Encap;
use std::net::Ipv6Addr;
use std::time::Duration;

fn sample(sport: u16) -> SessionSample {
    SessionSample {
        t_us: 2_000_000_000_123_000,
        event: Event::Interval,
        vrouter: "c1".into(),
        vrouter_ip: Ipv4Addr::new(198, 18, 0, 11).into(),
        other_vrouter_ip: Ipv4Addr::new(198, 18, 0, 12).into(),
        encap: Encap::MplsOverUdp,
        source_vn: "default-domain:p:left".into(),
        source_ip: Ipv4Addr::new(10, 0, 1, 3).into(),
        sport,
        dest_vn: "default-domain:p:right".into(),
        dest_ip: Ipv4Addr::new(10, 0, 2, 3).into(),
        dport: 80,
        protocol: 6,
        setup_time: 2_000_000_000_000_000,
        forward: FlowSide {
            pass: true,
            nw_ace_uuid: "rule-a".into(),
            diff_bytes: 1500,
            diff_packets: 3,
            ..FlowSide::default()
        },
        reverse: Some(FlowSide {
            pass: true,
            diff_bytes: 700,
            diff_packets: 2,
            ..FlowSide::default()
        }),
        ..SessionSample::default()
    }
}

/// The data sets of a message: (set id, body).
fn data_sets(msg: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let m = Message::new_checked(msg).expect("a whole message");
    let mut sets = m.sets();
    let mut out = Vec::new();
    while let Some(s) = SetRepr::parse(sets) {
        let len = s.length as usize;
        assert!(
            len >= SET_HEADER_LEN && len <= sets.len(),
            "set length {len}"
        );
        out.push((s.id, sets[SET_HEADER_LEN..len].to_vec()));
        sets = &sets[len..];
    }
    assert!(sets.is_empty(), "bytes after the last set");
    out
}

#[test]
fn one_sample_is_templates_then_a_forward_and_a_reverse_record() {
    let msgs = Encoder::new(7).encode(&[sample(4000)], 1_700_000_000);
    assert_eq!(msgs.len(), 1);
    let m = Message::new_checked(&msgs[0][..]).unwrap();
    let h = MessageRepr::parse(&m).unwrap();
    assert_eq!(
        (h.length as usize, h.export_time, h.sequence, h.domain),
        (msgs[0].len(), 1_700_000_000, 0, 7)
    );
    let sets = data_sets(&msgs[0]);
    assert_eq!(
        sets.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        [TEMPLATE_SET_ID, TEMPLATE_V4]
    );
    // Template set: both templates, 21 fields each.
    assert_eq!(&sets[0].1[..4], &[0x01, 0x00, 0x00, 21]);
    let body = &sets[1].1;
    assert_eq!(count_records(body, &FIELDS_V4), 2);
    // The forward record: 10.0.1.3:4000 -> 10.0.2.3:80 TCP, 1500 bytes, 3 packets, started
    // at 2e12 ms, ended at the sample's time, activeTimeout, forwarded.
    let mut want = vec![10, 0, 1, 3, 10, 0, 2, 3, 0x0f, 0xa0, 0, 80, 6];
    want.extend(1500u64.to_be_bytes());
    want.extend(3u64.to_be_bytes());
    want.extend(2_000_000_000_000u64.to_be_bytes());
    want.extend(2_000_000_000_123u64.to_be_bytes());
    want.extend([2, 64]);
    assert_eq!(&body[..want.len()], &want[..]);
    let rest = &body[want.len()..];
    assert_eq!(rest[0] as usize, "default-domain:p:left".len());
    // The reverse record starts after the forward one, its ends swapped.
    let fwd_len = records(&sample(4000)).next().unwrap().1.buffer_len();
    assert_eq!(
        &body[fwd_len..fwd_len + 12],
        &[10, 0, 2, 3, 10, 0, 1, 3, 0, 80, 0x0f, 0xa0]
    );
    // Its underlay: MPLSoUDP to 198.18.0.12 (the last, fixed-size element).
    assert_eq!(&body[body.len() - 4..], &[198, 18, 0, 12]);
}

#[test]
fn many_samples_split_into_messages_with_running_sequence_numbers() {
    let samples: Vec<SessionSample> = (0..100).map(|i| sample(1000 + i)).collect();
    let mut enc = Encoder::new(1);
    let msgs = enc.encode(&samples, 1);
    assert!(msgs.len() > 1);
    let mut seq = 0;
    for (i, msg) in msgs.iter().enumerate() {
        assert!(msg.len() <= MAX_MESSAGE, "message {i}: {} bytes", msg.len());
        let h = MessageRepr::parse(&Message::new_checked(&msg[..]).unwrap()).unwrap();
        assert_eq!(h.sequence, seq, "message {i}");
        let sets = data_sets(msg);
        assert_eq!(
            sets[0].0 == TEMPLATE_SET_ID,
            i == 0,
            "templates lead the batch only"
        );
        seq += records_in(msg) as u32;
    }
    assert_eq!(seq, 200);
    assert_eq!(enc.sequence, 200);
    // The next batch carries the templates again and goes on counting.
    let next = enc.encode(&samples[..1], 2);
    let h = MessageRepr::parse(&Message::new_checked(&next[0][..]).unwrap()).unwrap();
    assert_eq!(h.sequence, 200);
    assert_eq!(data_sets(&next[0])[0].0, TEMPLATE_SET_ID);
}

#[test]
fn ipv6_flows_use_their_own_template_and_end_reasons_follow_the_teardown() {
    let mut s = sample(5000);
    s.source_ip = Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 3).into();
    s.dest_ip = Ipv6Addr::new(0xfd00, 0, 0, 1, 0, 0, 0, 3).into();
    s.reverse = None;
    s.event = Event::Teardown;
    s.teardown_reason = crate::flow_export::teardown::TCP_FIN.into();
    let msgs = Encoder::new(1).encode(&[s.clone()], 1);
    let sets = data_sets(&msgs[0]);
    assert_eq!(sets[1].0, TEMPLATE_V6);
    assert_eq!(count_records(&sets[1].1, &FIELDS_V6), 1);
    assert_eq!(&sets[1].1[..2], &[0xfd, 0x00]);
    let (_, r) = records(&s).next().unwrap();
    assert!(r.fits(&FIELDS_V6));
    assert_eq!(flow_end_reason(&s), 3);
    s.teardown_reason = crate::flow_export::teardown::AGED.into();
    assert_eq!(flow_end_reason(&s), 1);
    s.teardown_reason = crate::flow_export::teardown::POLICY_CHANGE.into();
    assert_eq!(flow_end_reason(&s), 4);
    // A flow denied by a rule is "dropped: ACL deny" (RFC 7270).
    s.forward.pass = false;
    assert_eq!(forwarding_status(&s.forward), 129);
    s.forward.nw_ace_uuid.clear();
    assert_eq!(forwarding_status(&s.forward), 128);
}

#[test]
fn the_sender_delivers_over_udp_and_counts() {
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let sink = start(IpfixConfig {
        collectors: vec![rx.local_addr().unwrap()],
        domain: 9,
        queue: 4,
    })
    .unwrap();
    sink.offer(Arc::new(vec![sample(4000)]));
    let mut buf = [0u8; 2048];
    let n = rx.recv(&mut buf).expect("an IPFIX message");
    let h = MessageRepr::parse(&Message::new_checked(&buf[..n]).unwrap()).unwrap();
    assert_eq!((h.domain, h.length as usize), (9, n));
    assert_eq!(records_in(&buf[..n]), 2);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while sink.stats.records.load(Ordering::Relaxed) < 2 {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(sink.stats.messages.load(Ordering::Relaxed), 1);
}

#[test]
fn a_full_queue_drops_and_counts_instead_of_waiting() {
    let (tx, _rx) = sync_channel(1);
    let sink = IpfixSink {
        tx,
        stats: Arc::new(IpfixStats::default()),
    };
    sink.offer(Arc::new(vec![sample(1)]));
    sink.offer(Arc::new(vec![sample(2), sample(3)]));
    assert_eq!(sink.stats.dropped.load(Ordering::Relaxed), 2);
}
