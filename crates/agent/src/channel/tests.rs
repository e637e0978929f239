//! The session state machine on its own: Hello, subscriptions and publications as diffs
//! with one end-of-RIB per instance per connection, nothing published before the config
//! is complete, protocol violations refused by name.

use std::collections::{BTreeMap, BTreeSet};

use cirrus_proto::v1::{
    self, ConfigUpdate, ControllerMessage, HelloReply, RouteUpdate, agent_message::Msg as Out,
    controller_message::Msg as In,
};

use super::*;
use crate::config::global::DEFAULT_ENCAPS;
use crate::config::parse_prefix;
use crate::routes::{NextHop, Route};

fn session() -> Session {
    Session::new(
        0,
        "127.0.0.1:5269".into(),
        HelloParams {
            hostname: "c1".into(),
            underlay: "198.18.0.11".parse().unwrap(),
            token: Some("s3cret".into()),
            agent_version: "test".into(),
        },
    )
}

fn reply() -> ControllerMessage {
    ControllerMessage {
        msg: Some(In::Hello(HelloReply {
            version: v1::Version::Version1 as i32,
            controller: "cn1".into(),
            virtual_router_uuid: "vr".into(),
            session_id: 7,
            graceful_restart_seconds: 30,
        })),
    }
}

fn route(p: &str, label: u32) -> Route {
    Route {
        prefix: parse_prefix(p).unwrap(),
        nexthops: vec![NextHop {
            address: "198.18.0.11".parse().unwrap(),
            label,
            vni: 5,
            encaps: DEFAULT_ENCAPS.to_vec(),
            mac: None,
            origin: "c1".into(),
        }],
        origin_network: "d:p:red".into(),
        security_groups: vec![],
        tags: vec![],
        local_pref: 100,
    }
}

fn sent(actions: &[Action]) -> Vec<Out> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(m) => m.msg.clone(),
            _ => None,
        })
        .collect()
}

fn want(ready: bool, routes: &[(&str, &str, u32)]) -> Want {
    let mut publish: BTreeMap<String, BTreeMap<_, _>> = BTreeMap::new();
    for (i, p, l) in routes {
        let r = route(p, *l);
        publish
            .entry(i.to_string())
            .or_default()
            .insert(r.prefix, r);
    }
    Want {
        instances: BTreeSet::from(["d:p:red:red".to_string(), "d:p:blue:blue".to_string()]),
        publish,
        config_vmis: BTreeSet::from(["vmi1".to_string()]),
        ready,
    }
}

#[test]
fn hello_then_subscriptions_then_publications_with_one_end_of_rib_each() {
    let mut s = session();
    let a = s.handle(Event::Connected);
    let out = sent(&a);
    let [Out::Hello(h)] = out.as_slice() else {
        panic!("{a:?}")
    };
    assert_eq!(
        (
            h.hostname.as_str(),
            h.underlay_address.as_slice(),
            h.token.as_str()
        ),
        ("c1", &[198, 18, 0, 11][..], "s3cret")
    );
    // Nothing is sent before the reply.
    assert!(s.handle(Event::Sync(&want(true, &[]))).is_empty());
    assert_eq!(s.handle(Event::Received(reply())), vec![Action::Up]);

    // Config not complete yet: subscribe, publish nothing.
    let a = sent(&s.handle(Event::Sync(&want(
        false,
        &[("d:p:red:red", "10.1.0.3/32", 17)],
    ))));
    assert!(matches!(&a[0], Out::ConfigSubscribe(c) if c.vmi_uuids == vec!["vmi1"]));
    assert_eq!(
        a.iter().filter(|m| matches!(m, Out::Subscribe(_))).count(),
        2
    );
    assert!(!a.iter().any(|m| matches!(m, Out::Publish(_))));

    // Ready: each instance gets its routes and end-of-RIB (blue has none).
    let w = want(
        true,
        &[
            ("d:p:red:red", "10.1.0.3/32", 17),
            ("d:p:red:red", "10.1.0.100/32", 17),
        ],
    );
    let a = sent(&s.handle(Event::Sync(&w)));
    let pubs: Vec<_> = a
        .iter()
        .filter_map(|m| match m {
            Out::Publish(p) => Some((
                p.instance.as_str(),
                p.add.len(),
                p.withdraw.len(),
                p.end_of_rib,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        pubs,
        vec![("d:p:blue:blue", 0, 0, true), ("d:p:red:red", 2, 0, true)]
    );
    // The same wants again: nothing.
    assert!(s.handle(Event::Sync(&w)).is_empty());
    // One route changes label, one goes: one message, no end-of-RIB.
    let w2 = want(true, &[("d:p:red:red", "10.1.0.3/32", 18)]);
    let a = sent(&s.handle(Event::Sync(&w2)));
    let [Out::Publish(p)] = a.as_slice() else {
        panic!("{a:?}")
    };
    assert_eq!(
        (
            p.add.len(),
            p.add[0].nexthops[0].label,
            p.withdraw.len(),
            p.end_of_rib
        ),
        (1, 18, 1, false)
    );
    // Blue is no longer needed: unsubscribed.
    let mut w3 = w2.clone();
    w3.instances.remove("d:p:blue:blue");
    let a = sent(&s.handle(Event::Sync(&w3)));
    assert!(matches!(a.as_slice(), [Out::Unsubscribe(u)] if u.instance == "d:p:blue:blue"));

    // Lost and back: everything again, with end-of-RIB.
    assert!(matches!(
        s.handle(Event::Closed("reset".into())).as_slice(),
        [Action::Down(_)]
    ));
    s.handle(Event::Connected);
    s.handle(Event::Received(reply()));
    let a = sent(&s.handle(Event::Sync(&w3)));
    assert!(
        a.iter()
            .any(|m| matches!(m, Out::Publish(p) if p.end_of_rib && p.add.len() == 1))
    );
    assert_eq!(s.counters.connects, 2);
}

#[test]
fn config_and_routes_are_delivered_and_violations_refused() {
    let mut s = session();
    s.handle(Event::Connected);
    // Config before the reply is out of order.
    let cfg = ControllerMessage {
        msg: Some(In::Config(ConfigUpdate::default())),
    };
    assert!(
        matches!(s.handle(Event::Received(cfg.clone())).as_slice(), [Action::Fail(w)] if w.contains("ConfigUpdate"))
    );
    let mut s = session();
    s.handle(Event::Connected);
    let mut bad = reply();
    if let Some(In::Hello(h)) = &mut bad.msg {
        h.version = 2;
    }
    assert!(
        matches!(s.handle(Event::Received(bad)).as_slice(), [Action::Fail(w)] if w.contains("version"))
    );
    let mut s = session();
    s.handle(Event::Connected);
    s.handle(Event::Received(reply()));
    assert!(matches!(
        s.handle(Event::Received(cfg)).as_slice(),
        [Action::Config(_)]
    ));
    let r = ControllerMessage {
        msg: Some(In::Routes(RouteUpdate {
            instance: "i".into(),
            ..Default::default()
        })),
    };
    assert!(matches!(
        s.handle(Event::Received(r)).as_slice(),
        [Action::Routes(_)]
    ));
    assert!(
        matches!(s.handle(Event::Received(reply())).as_slice(), [Action::Fail(w)] if w.contains("second"))
    );
    assert!(matches!(
        s.handle(Event::Received(ControllerMessage { msg: None }))
            .as_slice(),
        [Action::Fail(_)]
    ));
    assert_eq!(s.counters.protocol_errors, 2);
}
