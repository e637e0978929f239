//! Tests of `flow_export.rs`: samples from dumps, underlay, teardown and drop reasons.

use super::*;
use cirrus_dataplane::flow::{FlowDecision, FlowSpec};
use cirrus_dataplane::wire::IpProtocol;

fn rec(index: u32, key: FlowKey, rev: FlowKey, verdict: FlowVerdict, bytes: u64) -> FlowRecord {
    FlowRecord {
        index,
        key,
        verdict,
        nat_src: false,
        nat_dst: false,
        rev: 0,
        rev_key: Some(rev),
        interface: 3,
        out_interface: None,
        nexthop: 0,
        dst_vrf: 1,
        mirror: 0,
        packets: bytes / 100,
        bytes,
        last_seen: 0,
        tcp_flags: 0,
    }
}

/// A flow from 10.0.0.1:`sport` to 10.0.0.2:`dport` in VRF 1.
fn key(proto: IpProtocol, sport: u16, dport: u16) -> FlowKey {
    FlowKey::new(
        1,
        proto,
        [10, 0, 0, 1].into(),
        [10, 0, 0, 2].into(),
        sport,
        dport,
    )
}

/// The agent's decision on `key` (slab `index`), as the decision log is told of it.
fn decided(
    index: u32,
    key: FlowKey,
    forward: FlowSpec,
    refused: Option<Refusal>,
    allowed_by: Vec<(Layer, Arc<str>)>,
) -> Decided {
    Decided {
        decision: FlowDecision {
            index,
            key,
            forward,
            reverse: None,
        },
        refused,
        reverse_refused: None,
        nat: None,
        allowed_by,
    }
}

fn sampler() -> Sampler {
    Sampler {
        hostname: "c1".into(),
        underlay: Ipv4Addr::new(198, 18, 0, 11),
        tables: None,
        live: HashMap::new(),
        next_uuid: 0,
        seed: 1,
    }
}

#[test]
fn setup_interval_deltas_and_teardown_of_a_pair() {
    let f = key(IpProtocol::TCP, 4000, 80);
    let r = f.reversed(1);
    let log = DecisionLog::new(8, Arc::new(ExportStats::default()));
    let ctx = FlowContext::default();
    let mut s = sampler();
    // The reverse entry has the lower slab index: the decision log says which is forward.
    log.note(
        f,
        &decided(
            9,
            f,
            FlowSpec::forward(1),
            None,
            vec![(Layer::SecurityGroup, Arc::from("sg-allow-1"))],
        ),
    );
    let one = s.sample(
        &[
            rec(2, r, f, FlowVerdict::Forward, 300),
            rec(9, f, r, FlowVerdict::Forward, 1000),
        ],
        &ctx,
        &log,
        10,
        Instant::now(),
    );
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].event, Event::Setup);
    assert_eq!((one[0].source_ip, one[0].dport), (f.src(), 80));
    // IP bytes: the frames' Ethernet headers off (10 and 3 packets; both ends remote
    // in an empty context, so from the fabric, encapsulation not known).
    assert_eq!(one[0].forward.diff_bytes, 1000 - 10 * 14);
    assert_eq!(one[0].reverse.as_ref().unwrap().diff_bytes, 300 - 3 * 14);
    assert!(one[0].forward.pass);
    assert_eq!(one[0].forward.sg_rule_uuid, "sg-allow-1");
    // Unchanged counters: nothing; moved: the deltas.
    assert!(
        s.sample(
            &[
                rec(2, r, f, FlowVerdict::Forward, 300),
                rec(9, f, r, FlowVerdict::Forward, 1000)
            ],
            &ctx,
            &log,
            20,
            Instant::now()
        )
        .is_empty()
    );
    let two = s.sample(
        &[
            rec(2, r, f, FlowVerdict::Forward, 350),
            rec(9, f, r, FlowVerdict::Forward, 1600),
        ],
        &ctx,
        &log,
        30,
        Instant::now(),
    );
    assert_eq!(two.len(), 1);
    assert_eq!(two[0].event, Event::Interval);
    assert_eq!(
        (two[0].forward.diff_bytes, two[0].forward.bytes),
        (600 - 6 * 14, 1600 - 16 * 14)
    );
    assert_eq!(two[0].reverse.as_ref().unwrap().diff_bytes, 50);
    assert_eq!(two[0].forward.uuid, one[0].forward.uuid);
    let three = s.sample(&[], &ctx, &log, 40, Instant::now());
    assert_eq!(three.len(), 1);
    assert_eq!(
        (
            three[0].event,
            three[0].teardown_time,
            three[0].forward.diff_bytes
        ),
        (Event::Teardown, 40, 0)
    );
}

#[test]
fn a_flow_over_the_fabric_names_its_underlay_and_closes_with_tcp_reasons() {
    use cirrus_dataplane::control::Controller;
    use cirrus_dataplane::wire::MacAddr;
    let (mut ctl, dp) = Controller::new(8, MacAddr([2, 0, 0, 0, 0, 1]));
    ctl.set_nexthop(
        7,
        Nexthop::Tunnel {
            encap: TunnelEncap::MplsOverUdp { label: 20 },
            src_ip: Ipv4Addr::new(198, 18, 0, 11),
            dst_ip: Ipv4Addr::new(198, 18, 0, 12),
            fabric_if: 1,
            dmac: MacAddr([2, 0, 0, 0, 0, 2]),
            smac: MacAddr([2, 0, 0, 0, 0, 1]),
        },
    )
    .unwrap();
    ctl.commit();
    let f = key(IpProtocol::TCP, 4000, 80);
    let r = f.reversed(1);
    let log = DecisionLog::new(8, Arc::new(ExportStats::default()));
    let ctx = FlowContext::default();
    let mut s = sampler();
    s.tables = Some(dp);
    let mut fwd = rec(1, f, r, FlowVerdict::Forward, 1000);
    let rev = rec(2, r, f, FlowVerdict::Forward, 300);
    // Not yet pinned: no underlay known.
    let one = s.sample(&[fwd.clone(), rev.clone()], &ctx, &log, 10, Instant::now());
    assert_eq!(one[0].encap, Encap::None);
    // The forward direction leaves by the tunnel: named at the next sample.
    fwd.nexthop = 7;
    fwd.bytes = 2000;
    fwd.tcp_flags = TcpFlags::FIN as u8;
    let two = s.sample(&[fwd.clone(), rev.clone()], &ctx, &log, 20, Instant::now());
    assert_eq!(
        (two[0].encap, two[0].other_vrouter_ip),
        (
            Encap::MplsOverUdp,
            IpAddr::V4(Ipv4Addr::new(198, 18, 0, 12))
        )
    );
    assert_eq!(two[0].forward.underlay_source_port, entropy_port(f.hash()));
    assert!(two[0].forward.underlay_source_port >= 0xc000);
    assert_eq!(two[0].reverse.as_ref().unwrap().underlay_source_port, 0);
    let gone = s.sample(&[], &ctx, &log, 30, Instant::now());
    assert_eq!(gone[0].teardown_reason, teardown::TCP_FIN);

    // Another pair, reset: tcp-rst; one whose port is gone: port-deleted (the empty
    // context has no ports); one the agent deleted: what it noted.
    let g = key(IpProtocol::TCP, 4001, 80);
    let mut a = rec(3, g, g.reversed(1), FlowVerdict::Forward, 10);
    a.rev_key = None;
    a.tcp_flags = TcpFlags::RST as u8;
    s.sample(&[a], &ctx, &log, 40, Instant::now());
    assert_eq!(
        s.sample(&[], &ctx, &log, 50, Instant::now())[0].teardown_reason,
        teardown::TCP_RST
    );
    let h = key(IpProtocol::UDP, 4002, 53);
    let mut b = rec(4, h, h.reversed(1), FlowVerdict::Forward, 10);
    b.rev_key = None;
    s.sample(&[b.clone()], &ctx, &log, 60, Instant::now());
    assert_eq!(
        s.sample(&[], &ctx, &log, 70, Instant::now())[0].teardown_reason,
        teardown::PORT_DELETED
    );
    RULES_WANTED.store(true, Ordering::Relaxed);
    s.sample(&[b], &ctx, &log, 80, Instant::now());
    note_deleted([&h], teardown::POLICY_CHANGE);
    assert_eq!(
        s.sample(&[], &ctx, &log, 90, Instant::now())[0].teardown_reason,
        teardown::POLICY_CHANGE
    );
}

#[test]
fn counts_are_ip_bytes_whichever_way_a_packet_came() {
    // l1 (local) -> r1 (remote) over MPLSoUDP: 5 frames out of l1 (70 bytes of
    // Ethernet headers), 3 back from the fabric (46 bytes of outer headers each).
    let mut s = SessionSample {
        source_local: true,
        encap: Encap::MplsOverUdp,
        forward: FlowSide {
            bytes: 338,
            packets: 5,
            diff_bytes: 338,
            diff_packets: 5,
            ..FlowSide::default()
        },
        reverse: Some(FlowSide {
            bytes: 308,
            packets: 3,
            diff_bytes: 308,
            diff_packets: 3,
            ..FlowSide::default()
        }),
        ..SessionSample::default()
    };
    to_ip_bytes(&mut s);
    assert_eq!((s.forward.bytes, s.forward.diff_bytes), (268, 268));
    let r = s.reverse.unwrap();
    assert_eq!((r.bytes, r.diff_bytes), (170, 170));
    assert_eq!(framing(true, Encap::MplsOverGre), 42);
    assert_eq!(framing(true, Encap::Vxlan), 64);
}

#[test]
fn a_denied_flow_names_its_rule_and_reason() {
    let f = key(IpProtocol::TCP, 4000, 22);
    let log = DecisionLog::new(8, Arc::new(ExportStats::default()));
    log.note(
        f,
        &decided(
            1,
            f,
            FlowSpec::drop(),
            Some(Refusal::Policy(
                Layer::SecurityGroup,
                Arc::from("sg-rule-1"),
            )),
            Vec::new(),
        ),
    );
    let mut d = rec(1, f, f.reversed(1), FlowVerdict::Drop, 60);
    d.rev_key = None;
    let out = sampler().sample(&[d], &FlowContext::default(), &log, 5, Instant::now());
    assert_eq!(out.len(), 1);
    let fw = &out[0].forward;
    assert!(!fw.pass);
    assert_eq!(
        (fw.sg_rule_uuid.as_str(), fw.drop_reason.as_str()),
        ("sg-rule-1", "Flow drop SG")
    );
    assert!(out[0].reverse.is_none());
    // No route to either end in an empty context: Contrail's unknown network.
    assert_eq!(
        (out[0].source_vn.as_str(), out[0].dest_vn.as_str()),
        (UNKNOWN_VN, UNKNOWN_VN)
    );
}

#[test]
fn a_full_decision_log_counts_what_it_drops() {
    let stats = Arc::new(ExportStats::default());
    let log = DecisionLog::new(1, stats.clone());
    let d = |p| {
        let k = key(IpProtocol::UDP, p, 53);
        (k, decided(1, k, FlowSpec::forward(1), None, Vec::new()))
    };
    for p in [1, 2, 3] {
        let (k, x) = d(p);
        log.note(k, &x);
    }
    assert_eq!(stats.decisions_dropped.load(Ordering::Relaxed), 2);
}

#[test]
fn a_flow_gone_before_any_dump_still_has_its_setup_and_teardown() {
    let f = key(IpProtocol::TCP, 4000, 80);
    let log = DecisionLog::new(8, Arc::new(ExportStats::default()));
    log.note(
        f,
        &decided(
            1,
            f,
            FlowSpec::forward(1),
            None,
            vec![(Layer::NetworkPolicy, Arc::from("nw-rule-a"))],
        ),
    );
    let mut s = sampler();
    let before = Instant::now() - Duration::from_secs(1);
    assert!(
        s.sample(&[], &FlowContext::default(), &log, 5, before)
            .is_empty(),
        "decided after that dump began"
    );
    let out = s.sample(&[], &FlowContext::default(), &log, 6, Instant::now());
    let events: Vec<Event> = out.iter().map(|x| x.event).collect();
    assert_eq!(events, [Event::Setup, Event::Teardown]);
    assert_eq!(out[0].forward.nw_ace_uuid, "nw-rule-a");
    assert!(out[0].forward.pass && out[0].reverse.is_some());
    assert!(
        s.sample(&[], &FlowContext::default(), &log, 7, Instant::now())
            .is_empty()
    );
}
