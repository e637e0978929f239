use proptest::prelude::*;
use prost::Message;

use super::*;

fn msg(m: Msg) -> pb::AgentMessage {
    pb::AgentMessage { msg: Some(m) }
}

fn hello_msg() -> pb::AgentMessage {
    msg(Msg::Hello(pb::Hello {
        version: pb::Version::Version1 as i32,
        hostname: "c1".into(),
        underlay_address: vec![198, 18, 0, 11],
        encapsulations: vec![1, 2, 3],
        token: String::new(),
        agent_version: "t".into(),
    }))
}

fn route(prefix: Vec<u8>, len: u32, label: u32) -> pb::Route {
    pb::Route {
        key: Some(pb::RouteKey {
            prefix,
            prefix_len: len,
        }),
        nexthops: vec![pb::Nexthop {
            address: vec![198, 18, 0, 11],
            label,
            vni: 7,
            encapsulations: vec![1],
            mac: vec![2, 0, 0, 0, 0, 1],
            origin: "c1".into(),
        }],
        ..Default::default()
    }
}

fn open() -> Session {
    let mut s = Session::new(1);
    assert!(matches!(s.handle(hello_msg()), Ok(Step::Hello(_))));
    assert!(matches!(
        s.handle(msg(Msg::Subscribe(pb::Subscribe {
            instance: "d:p:vn:vn".into()
        }))),
        Ok(Step::Subscribe(_))
    ));
    s
}

fn err(s: &mut Session, m: pb::AgentMessage) -> Status {
    let e = s.handle(m).unwrap_err();
    assert_eq!(s.state(), State::Closed);
    e
}

#[test]
fn out_of_order_messages_are_failed_preconditions_naming_the_message() {
    let mut s = Session::new(1);
    let e = err(
        &mut s,
        msg(Msg::Subscribe(pb::Subscribe {
            instance: "a:b".into(),
        })),
    );
    assert_eq!(e.code(), tonic::Code::FailedPrecondition);
    assert!(
        e.message().starts_with("Subscribe: the first message"),
        "{}",
        e.message()
    );

    let mut s = open();
    let e = err(&mut s, hello_msg());
    assert_eq!(e.code(), tonic::Code::FailedPrecondition);
    assert!(e.message().contains("Hello: sent twice"));

    let mut s = open();
    let e = err(
        &mut s,
        msg(Msg::Publish(pb::RoutePublish {
            instance: "d:p:other:other".into(),
            ..Default::default()
        })),
    );
    assert_eq!(e.code(), tonic::Code::FailedPrecondition);
    assert!(
        e.message().contains("RoutePublish.instance") && e.message().contains("not subscribed")
    );
}

#[test]
fn malformed_fields_are_invalid_arguments_naming_the_field() {
    let cases: Vec<(pb::Route, &str)> = vec![
        (
            route(vec![10, 0, 0], 32, 20),
            "RoutePublish.add[0].key.prefix: an address is 4 or 16 octets, got 3",
        ),
        (
            route(vec![10, 0, 0, 1], 24, 20),
            "RoutePublish.add[0].key.prefix: prefix 10.0.0.1/24 has host bits set",
        ),
        (
            route(vec![10, 0, 0, 1], 40, 20),
            "RoutePublish.add[0].key.prefix_len",
        ),
        (
            route(vec![10, 0, 0, 1], 32, 1 << 20),
            "RoutePublish.add[0].nexthops[0].label",
        ),
        (
            pb::Route {
                key: None,
                ..route(vec![10, 0, 0, 1], 32, 20)
            },
            "RoutePublish.add[0].key: missing",
        ),
        (
            pb::Route {
                nexthops: vec![],
                ..route(vec![10, 0, 0, 1], 32, 20)
            },
            "RoutePublish.add[0].nexthops: a published route has exactly one next hop",
        ),
    ];
    for (r, want) in cases {
        let mut s = open();
        let e = err(
            &mut s,
            msg(Msg::Publish(pb::RoutePublish {
                instance: "d:p:vn:vn".into(),
                add: vec![r],
                ..Default::default()
            })),
        );
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(
            e.message().starts_with(want),
            "{} (wanted {want})",
            e.message()
        );
    }
    let mut s = Session::new(2);
    let e = err(&mut s, pb::AgentMessage { msg: None });
    assert!(e.message().starts_with("AgentMessage.msg"));
    let mut bad = hello_msg();
    if let Some(Msg::Hello(h)) = &mut bad.msg {
        h.underlay_address = vec![0; 16];
    }
    let e = err(&mut Session::new(3), bad);
    assert!(
        e.message().starts_with("Hello.underlay_address"),
        "{}",
        e.message()
    );
    let mut v2 = hello_msg();
    if let Some(Msg::Hello(h)) = &mut v2.msg {
        h.version = 2;
    }
    let e = err(&mut Session::new(4), v2);
    assert_eq!(e.code(), tonic::Code::FailedPrecondition);
    assert!(e.message().starts_with("Hello.version: 2"));
}

#[test]
fn a_good_publish_reads_back() {
    let mut s = open();
    let step = s
        .handle(msg(Msg::Publish(pb::RoutePublish {
            instance: "d:p:vn:vn".into(),
            add: vec![route(vec![10, 0, 0, 3], 32, 20)],
            withdraw: vec![pb::RouteKey {
                prefix: vec![10, 0, 0, 4],
                prefix_len: 32,
            }],
            end_of_rib: true,
        })))
        .unwrap();
    let Step::Publish {
        add,
        withdraw,
        end_of_rib,
        ..
    } = step
    else {
        panic!("{step:?}")
    };
    assert_eq!(add[0].label, 20);
    assert_eq!(add[0].prefix.to_string(), "10.0.0.3/32");
    assert_eq!(withdraw[0].to_string(), "10.0.0.4/32");
    assert!(end_of_rib);
    assert_eq!(s.counters.routes_received, 1);
}

proptest! {
    // Whatever octets arrive, decoding and handling them never panics: either prost refuses
    // them or the session answers with a step or a status.
    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), open_first in any::<bool>()) {
        let mut s = if open_first { open() } else { Session::new(9) };
        if let Ok(m) = pb::AgentMessage::decode(&bytes[..]) {
            let _ = s.handle(m);
        }
    }

    // Structured but arbitrary publishes: never a panic, and an accepted route always has a
    // valid prefix and exactly the label it was sent with.
    #[test]
    fn arbitrary_routes_never_panic(
        prefix in proptest::collection::vec(any::<u8>(), 0..20),
        len in 0u32..200,
        label in any::<u32>(),
        vni in any::<u32>(),
        mac in proptest::collection::vec(any::<u8>(), 0..8),
        encaps in proptest::collection::vec(-2i32..6, 0..5),
        hops in 0usize..3,
    ) {
        let mut s = open();
        let nh = pb::Nexthop { address: vec![198, 18, 0, 11], label, vni, encapsulations: encaps, mac, origin: String::new() };
        let r = pb::Route { key: Some(pb::RouteKey { prefix, prefix_len: len }), nexthops: vec![nh; hops], ..Default::default() };
        if let Ok(Step::Publish { add, .. }) = s.handle(msg(Msg::Publish(pb::RoutePublish { instance: "d:p:vn:vn".into(), add: vec![r], ..Default::default() }))) {
            prop_assert_eq!(add.len(), 1);
            prop_assert_eq!(add[0].label, label);
            prop_assert!(Prefix::new(add[0].prefix.addr, add[0].prefix.len).is_ok());
        }
    }
}
