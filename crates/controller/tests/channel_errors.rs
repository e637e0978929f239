//! Bad input on the channel, against a real `cirrus-controller`: malformed and out-of-order
//! messages end the stream with a gRPC status naming the message and field (and the
//! controller keeps serving everyone else); with `--channel-token-file`, a vrouter without
//! its token is refused with UNAUTHENTICATED and one with it is served.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use cirrus_control::testing::{SimOptions, SimVrouter, exchange};
use cirrus_proto::v1 as pb;
use common::Controller;
use common::channel::{instance, network, runtime};
use pb::agent_message::Msg;

fn m(x: Msg) -> pb::AgentMessage {
    pb::AgentMessage { msg: Some(x) }
}

fn hello(host: &str, addr: Vec<u8>, token: &str) -> pb::AgentMessage {
    m(Msg::Hello(pb::Hello {
        version: pb::Version::Version1 as i32,
        hostname: host.into(),
        underlay_address: addr,
        encapsulations: vec![1],
        token: token.into(),
        agent_version: "test".into(),
    }))
}

#[test]
fn malformed_and_out_of_order_messages_get_a_status_naming_them() {
    let c = Controller::start("cn1", Ipv4Addr::new(127, 0, 7, 3), None);
    let rt = runtime();
    network(&c, "red", "10.1.0.0/24", &["target:64512:8103"], &[]);
    let red = instance("red");
    let ok = [198, 18, 0, 11].to_vec();
    let cases: Vec<(Vec<pb::AgentMessage>, tonic::Code, &str)> = vec![
        (
            vec![m(Msg::Subscribe(pb::Subscribe {
                instance: red.clone(),
            }))],
            tonic::Code::FailedPrecondition,
            "Subscribe: the first message of a session must be Hello",
        ),
        (
            vec![hello("c1", vec![198, 18, 0], "")],
            tonic::Code::InvalidArgument,
            "Hello.underlay_address: an address is 4 or 16 octets, got 3",
        ),
        (
            vec![hello("c 1", ok.clone(), "")],
            tonic::Code::InvalidArgument,
            "Hello.hostname",
        ),
        (
            vec![pb::AgentMessage { msg: None }],
            tonic::Code::InvalidArgument,
            "AgentMessage.msg",
        ),
        (
            vec![hello("c1", ok.clone(), ""), hello("c1", ok.clone(), "")],
            tonic::Code::FailedPrecondition,
            "Hello: sent twice",
        ),
        (
            vec![
                hello("c1", ok.clone(), ""),
                m(Msg::Publish(pb::RoutePublish {
                    instance: red.clone(),
                    ..Default::default()
                })),
            ],
            tonic::Code::FailedPrecondition,
            "RoutePublish.instance: default-domain:default-project:red:red is not subscribed",
        ),
        (
            vec![
                hello("c1", ok.clone(), ""),
                m(Msg::Subscribe(pb::Subscribe {
                    instance: red.clone(),
                })),
                m(Msg::Publish(pb::RoutePublish {
                    instance: red.clone(),
                    add: vec![pb::Route {
                        key: Some(pb::RouteKey {
                            prefix: vec![10, 1, 0, 3],
                            prefix_len: 24,
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                })),
            ],
            tonic::Code::InvalidArgument,
            "RoutePublish.add[0].key.prefix: prefix 10.1.0.3/24 has host bits set",
        ),
    ];
    for (msgs, code, want) in cases {
        let st = rt
            .block_on(exchange(c.channel, msgs, Duration::from_secs(10)))
            .unwrap_or_else(|e| panic!("{want}: {e}\n{}", c.log()));
        assert_eq!(st.code(), code, "{want}: got {st:?}");
        assert!(
            st.message().starts_with(want),
            "wanted {want:?}, got {:?}",
            st.message()
        );
    }
    // Still serving: a good vrouter gets its HelloReply and End-of-RIB.
    let v = rt
        .block_on(SimVrouter::connect(
            c.channel,
            SimOptions::new("c2", Ipv4Addr::new(198, 18, 0, 12)),
        ))
        .unwrap();
    v.subscribe(&red);
    rt.block_on(v.wait("End-of-RIB", Duration::from_secs(10), |s| {
        s.end_of_rib.contains(&red)
    }))
    .unwrap();
}

#[test]
fn with_a_token_file_only_vrouters_with_their_token_get_in() {
    let dir = cirrus_store::testing::TempDir::new("cirrus-tokens").unwrap();
    let file = dir.path().join("tokens");
    std::fs::write(&file, "# vrouters\nc1 s3cret-1\n").unwrap();
    let c = Controller::start_with(
        "cn1",
        Ipv4Addr::new(127, 0, 7, 4),
        None,
        &["--channel-token-file", file.to_str().unwrap()],
    );
    let rt = runtime();
    let ok = [198, 18, 0, 11].to_vec();
    for (host, token, want) in [
        ("c1", "", "Hello.token: vrouter c1 sent no token"),
        ("c1", "wrong", "Hello.token: wrong token for vrouter c1"),
        ("c9", "s3cret-1", "hostname c9 has no token"),
    ] {
        let st = rt
            .block_on(exchange(
                c.channel,
                vec![hello(host, ok.clone(), token)],
                Duration::from_secs(10),
            ))
            .unwrap();
        assert_eq!(st.code(), tonic::Code::Unauthenticated, "{st:?}");
        assert!(st.message().starts_with(want), "{st:?}");
    }
    let mut opts = SimOptions::new("c1", Ipv4Addr::new(198, 18, 0, 11));
    opts.token = Some("s3cret-1".into());
    let v = rt.block_on(SimVrouter::connect(c.channel, opts)).unwrap();
    rt.block_on(v.wait("HelloReply", Duration::from_secs(10), |s| s.hello.is_some()))
        .unwrap_or_else(|e| panic!("{e}\n{}", c.log()));
    assert!(
        c.log().contains("per-node tokens (1 vrouters)"),
        "{}",
        c.log()
    );
}
