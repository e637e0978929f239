use std::str::FromStr;

use super::*;

const RED: &str = "d:p:red:red";
const BLUE: &str = "d:p:blue:blue";

fn pfx(s: &str) -> Prefix {
    Prefix::host(s.parse().unwrap())
}

fn route(p: &str, label: u32) -> AgentRoute {
    AgentRoute {
        prefix: pfx(p),
        label,
        vni: 5,
        encaps: Encaps::DEFAULT,
        mac: None,
        meta: Arc::new(RouteMeta {
            origin_network: "d:p:red".into(),
            ..Default::default()
        }),
    }
}

fn rt(s: &str) -> ExtCommunity {
    ExtCommunity::from_str(s).unwrap()
}

fn cfg(import: &[&str], export: &[&str]) -> InstanceCfg {
    InstanceCfg {
        import: import.iter().map(|s| rt(s)).collect(),
        export: export.iter().map(|s| rt(s)).collect(),
        index: Some(5),
        l2: false,
    }
}

fn up(rs: &mut RouteServer, s: SessionId, host: &str, last: u8) -> Vec<Action> {
    let mut a = rs.handle(Event::SessionUp {
        session: s,
        hostname: host.into(),
        address: IpAddr::from([198, 18, 0, last]),
    });
    a.extend(rs.handle(Event::Subscribe {
        session: s,
        instance: RED.into(),
    }));
    a
}

fn publish(
    rs: &mut RouteServer,
    s: SessionId,
    inst: &str,
    add: Vec<AgentRoute>,
    eor: bool,
) -> Vec<Action> {
    rs.handle(Event::Publish {
        session: s,
        instance: inst.into(),
        add,
        withdraw: vec![],
        end_of_rib: eor,
    })
}

/// (session, instance, reach prefixes with next-hop count, unreach prefixes, eor) of each
/// Routes action.
type Sent = (SessionId, String, Vec<(String, usize)>, Vec<String>, bool);

fn sent(acts: &[Action]) -> Vec<Sent> {
    let mut out = Vec::new();
    for a in acts {
        if let Action::Routes { sessions, update } = a {
            for s in sessions {
                let mut reach: Vec<(String, usize)> = update
                    .reach
                    .iter()
                    .map(|r| {
                        (
                            Prefix::from_wire(r.key.as_ref().unwrap())
                                .unwrap()
                                .to_string(),
                            r.nexthops.len(),
                        )
                    })
                    .collect();
                reach.sort();
                let unreach = update
                    .unreach
                    .iter()
                    .map(|k| Prefix::from_wire(k).unwrap().to_string())
                    .collect();
                out.push((
                    *s,
                    update.instance.clone(),
                    reach,
                    unreach,
                    update.end_of_rib,
                ));
            }
        }
    }
    out.sort_by_key(|x| x.0);
    out
}

#[test]
fn two_vrouters_in_one_instance_see_each_other_and_ecmp() {
    let mut rs = RouteServer::new();
    rs.handle(Event::Instances(
        [(
            RED.to_string(),
            cfg(&["target:64512:1"], &["target:64512:1"]),
        )]
        .into(),
    ));
    let a = up(&mut rs, 1, "c1", 11);
    // An empty instance: just End-of-RIB.
    assert_eq!(sent(&a), vec![(1, RED.into(), vec![], vec![], true)]);
    up(&mut rs, 2, "c2", 12);
    publish(
        &mut rs,
        1,
        RED,
        vec![route("10.0.0.3", 20), route("10.0.0.100", 21)],
        true,
    );
    publish(
        &mut rs,
        2,
        RED,
        vec![route("10.0.0.4", 30), route("10.0.0.100", 31)],
        true,
    );
    let a = rs.handle(Event::Flush);
    let want = vec![
        ("10.0.0.100/32".into(), 2),
        ("10.0.0.3/32".into(), 1),
        ("10.0.0.4/32".into(), 1),
    ];
    assert_eq!(
        sent(&a),
        vec![
            (1, RED.into(), want.clone(), vec![], false),
            (2, RED.into(), want, vec![], false)
        ]
    );
    // One update for both sessions: built once.
    assert_eq!(
        a.iter()
            .filter(|a| matches!(a, Action::Routes { .. }))
            .count(),
        1
    );
    // A late subscriber gets the whole table then End-of-RIB.
    let a = up(&mut rs, 3, "c3", 13);
    assert_eq!(sent(&a)[0].2.len(), 3);
    assert!(sent(&a)[0].4);

    // c2's session ends without graceful restart: its paths go.
    let a = rs.handle(Event::SessionDown {
        session: 2,
        keep: false,
    });
    assert!(
        a.iter()
            .any(|a| matches!(a, Action::Bgp(ops) if ops.len() == 2))
    );
    let a = rs.handle(Event::Flush);
    let s = sent(&a);
    assert_eq!(s[0].2, vec![("10.0.0.100/32".into(), 1)]);
    assert_eq!(s[0].3, vec!["10.0.0.4/32".to_string()]);
    assert_eq!(rs.counters().routes_withdrawn, 2);
}

#[test]
fn targets_leak_routes_between_instances_and_unleak_them() {
    let mut rs = RouteServer::new();
    let apart = [
        (
            RED.to_string(),
            cfg(&["target:64512:1"], &["target:64512:1"]),
        ),
        (
            BLUE.to_string(),
            cfg(&["target:64512:2"], &["target:64512:2"]),
        ),
    ];
    rs.handle(Event::Instances(apart.clone().into()));
    up(&mut rs, 1, "c1", 11);
    rs.handle(Event::SessionUp {
        session: 2,
        hostname: "c2".into(),
        address: IpAddr::from([198, 18, 0, 12]),
    });
    rs.handle(Event::Subscribe {
        session: 2,
        instance: BLUE.into(),
    });
    publish(&mut rs, 1, RED, vec![route("10.0.0.3", 20)], true);
    publish(&mut rs, 2, BLUE, vec![route("10.1.0.3", 30)], true);
    let s = sent(&rs.handle(Event::Flush));
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].2, vec![("10.0.0.3/32".into(), 1)]);
    assert_eq!(s[1].2, vec![("10.1.0.3/32".into(), 1)]);

    // Both import each other's target: each sees the other's route.
    let joined = [
        (
            RED.to_string(),
            cfg(&["target:64512:1", "target:64512:2"], &["target:64512:1"]),
        ),
        (
            BLUE.to_string(),
            cfg(&["target:64512:2", "target:64512:1"], &["target:64512:2"]),
        ),
    ];
    rs.handle(Event::Instances(joined.into()));
    let s = sent(&rs.handle(Event::Flush));
    assert_eq!(s[0].2, vec![("10.1.0.3/32".into(), 1)]);
    assert_eq!(s[1].2, vec![("10.0.0.3/32".into(), 1)]);

    // Apart again: the leaked routes are unreachable.
    rs.handle(Event::Instances(apart.into()));
    let s = sent(&rs.handle(Event::Flush));
    assert_eq!(s[0].3, vec!["10.1.0.3/32".to_string()]);
    assert_eq!(s[1].3, vec!["10.0.0.3/32".to_string()]);
}

#[test]
fn graceful_restart_keeps_routes_until_end_of_rib_sweeps_the_rest() {
    let mut rs = RouteServer::new();
    up(&mut rs, 1, "c1", 11);
    up(&mut rs, 2, "c2", 12);
    publish(
        &mut rs,
        2,
        RED,
        vec![route("10.0.0.4", 30), route("10.0.0.5", 31)],
        true,
    );
    rs.handle(Event::Flush);
    let a = rs.handle(Event::SessionDown {
        session: 2,
        keep: true,
    });
    let gen_ = match &a[..] {
        [Action::StartStaleTimer { generation, .. }] => *generation,
        other => panic!("{other:?}"),
    };
    assert!(
        sent(&rs.handle(Event::Flush)).is_empty(),
        "nothing withdrawn during the grace time"
    );
    // c2 comes back and republishes only one of the two.
    up(&mut rs, 3, "c2", 12);
    publish(&mut rs, 3, RED, vec![route("10.0.0.4", 30)], false);
    assert!(
        sent(&rs.handle(Event::Flush))
            .iter()
            .all(|s| s.3.is_empty())
    );
    publish(&mut rs, 3, RED, vec![], true);
    let s = sent(&rs.handle(Event::Flush));
    assert_eq!(s[0].3, vec!["10.0.0.5/32".to_string()]);
    assert_eq!(rs.counters().routes_swept, 1);
    // The old timer no longer applies.
    rs.handle(Event::StaleTimer {
        hostname: "c2".into(),
        generation: gen_,
    });
    assert!(sent(&rs.handle(Event::Flush)).is_empty());

    // Down again, and the timer fires: everything goes.
    let a = rs.handle(Event::SessionDown {
        session: 3,
        keep: true,
    });
    let Some(Action::StartStaleTimer { generation, .. }) = a.first() else {
        panic!("{a:?}")
    };
    rs.handle(Event::StaleTimer {
        hostname: "c2".into(),
        generation: *generation,
    });
    let s = sent(&rs.handle(Event::Flush));
    assert_eq!(s[0].3, vec!["10.0.0.4/32".to_string()]);
}

#[test]
fn bgp_paths_join_agent_paths_without_duplicates() {
    let mut rs = RouteServer::new();
    up(&mut rs, 1, "c1", 11);
    publish(&mut rs, 1, RED, vec![route("10.0.0.3", 20)], true);
    rs.handle(Event::Flush);
    let bgp = |nh: [u8; 4], label| BgpPath {
        next_hop: IpAddr::from(nh),
        label,
        vni: 0,
        encaps: Encaps::GRE,
        origin: "bgp:127.0.0.9".into(),
    };
    rs.handle(Event::Bgp(vec![
        // c1's own route back over iBGP, and a gateway's route.
        BgpChange {
            instance: RED.into(),
            prefix: pfx("10.0.0.3"),
            paths: vec![bgp([198, 18, 0, 11], 20)],
        },
        BgpChange {
            instance: RED.into(),
            prefix: Prefix::new("0.0.0.0".parse().unwrap(), 0).unwrap(),
            paths: vec![bgp([192, 0, 2, 1], 100)],
        },
    ]));
    let s = sent(&rs.handle(Event::Flush));
    assert_eq!(
        s[0].2,
        vec![("0.0.0.0/0".into(), 1), ("10.0.0.3/32".into(), 1)]
    );
    rs.handle(Event::Bgp(vec![BgpChange {
        instance: RED.into(),
        prefix: Prefix::new("0.0.0.0".parse().unwrap(), 0).unwrap(),
        paths: vec![],
    }]));
    let s = sent(&rs.handle(Event::Flush));
    assert_eq!(s[0].3, vec!["0.0.0.0/0".to_string()]);
}
