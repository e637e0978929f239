//! Tests of the flow table (its own file to keep `table.rs` to the table itself).
use super::*;
use crate::wire::IpProtocol;

fn key(i: u32) -> FlowKey {
    FlowKey::new(
        1,
        IpProtocol::UDP,
        [10, 0, 0, 1].into(),
        std::net::Ipv4Addr::from_bits(i).into(),
        1000,
        53,
    )
}

#[test]
fn entry_is_one_cache_line() {
    assert_eq!(std::mem::size_of::<FlowEntry>(), 64);
    assert_eq!(std::mem::align_of::<FlowEntry>(), 64);
}

#[test]
fn counters_carry_past_32_bits() {
    let mut t = FlowTable::new(FlowConfig::default());
    let i = t.insert(key(1), 1, FlowSpec::forward(1), 0, 0).unwrap();
    for _ in 0..3 {
        t.touch(i, 2_000_000_000, None, 1);
    }
    assert_eq!(t.counters(i), (3, 6_000_000_000));
}

#[test]
fn insert_lookup_remove_under_churn() {
    let mut t = FlowTable::new(FlowConfig {
        max_entries: 512,
        ..Default::default()
    });
    let mut live = std::collections::HashMap::new();
    for round in 0..20u32 {
        for i in 0..200u32 {
            let k = key(round * 1000 + i);
            let idx = t.insert(k, 1, FlowSpec::forward(1), 0, 0).unwrap();
            live.insert(k, idx);
        }
        let remove: Vec<_> = live.keys().copied().take(200).collect();
        for k in remove {
            let idx = live.remove(&k).unwrap();
            assert_eq!(t.remove(idx).unwrap().key, k);
        }
        for (k, &idx) in &live {
            assert_eq!(t.lookup(k, k.hash()), Some(idx));
        }
    }
    assert_eq!(t.len(), live.len());
    assert_eq!(t.count_for(1), live.len() as u32);
}

#[test]
fn limits_pairs_and_ageing() {
    let mut t = FlowTable::new(FlowConfig {
        max_entries: 8,
        ..Default::default()
    });
    let (f, r) = t
        .install_pair(
            key(1),
            FlowSpec::forward(1),
            key(1).reversed(1),
            FlowSpec::forward(1),
            3,
            2,
            100,
        )
        .unwrap();
    assert_eq!((t.get(f).unwrap().rev, t.get(r).unwrap().rev), (r, f));
    // A pair counts two entries against the interface's limit.
    t.insert(key(2), 3, FlowSpec::forward(1), 3, 100).unwrap();
    assert_eq!(
        t.insert(key(3), 3, FlowSpec::forward(1), 3, 100),
        Err(FlowError::Limit(3))
    );
    assert!(matches!(
        t.insert(key(1), 4, FlowSpec::forward(1), 0, 100),
        Err(FlowError::Exists(_))
    ));
    t.touch(r, 64, None, 250);
    assert!(t.age(279, 100).iter().all(|(i, _)| *i != f && *i != r));
    let gone = t.age(100 + 180 + 250, 100);
    assert!(gone.iter().any(|(i, _)| *i == f) && gone.iter().any(|(i, _)| *i == r));
    assert!(t.is_empty());
}

#[test]
fn a_changed_idle_timeout_applies_to_live_flows() {
    let mut t = FlowTable::new(FlowConfig::default());
    let i = t.insert(key(1), 1, FlowSpec::forward(1), 0, 100).unwrap();
    // Idle for 60 s: within the default 180 s.
    assert!(t.age(160, 10).is_empty());
    t.set_idle_timeouts(30, &[]);
    assert_eq!(t.config().idle_timeout, 30);
    let gone = t.age(160, 10);
    assert_eq!(gone, vec![(i, key(1))]);
}

#[test]
fn idle_timeouts_by_protocol_and_port() {
    let mut t = FlowTable::new(FlowConfig::default());
    // key(i): UDP 10.0.0.1:1000 -> i:53.
    let dns = t.insert(key(1), 1, FlowSpec::forward(1), 0, 100).unwrap();
    let tcp_key = FlowKey::new(
        1,
        IpProtocol::TCP,
        [10, 0, 0, 1].into(),
        [10, 0, 0, 2].into(),
        40000,
        80,
    );
    let web = t.insert(tcp_key, 1, FlowSpec::forward(1), 0, 100).unwrap();
    t.set_idle_timeouts(
        300,
        &[
            ProtoTimeout {
                proto: 17,
                port: 0,
                secs: 200,
            },
            ProtoTimeout {
                proto: 17,
                port: 53,
                secs: 10,
            },
            ProtoTimeout {
                proto: 6,
                port: 443,
                secs: 5,
            },
        ],
    );
    // UDP port 53 has its own 10 s over UDP's 200 s; TCP 80 falls back to the 300 s for all.
    assert_eq!(t.age(115, 10), vec![(dns, key(1))]);
    assert!(t.age(395, 10).is_empty());
    assert_eq!(t.age(401, 10), vec![(web, tcp_key)]);
}

#[test]
fn reset_ages_at_once_and_hold_resolves() {
    let mut t = FlowTable::new(FlowConfig::default());
    let h = t
        .insert(
            key(9),
            1,
            FlowSpec {
                verdict: FlowVerdict::Hold,
                ..FlowSpec::forward(1)
            },
            0,
            10,
        )
        .unwrap();
    assert_eq!(
        t.resolve(h, &key(8), FlowSpec::forward(1), None, 10),
        Err(FlowError::Stale(h))
    );
    t.resolve(
        h,
        &key(9),
        FlowSpec::forward(1),
        Some((key(9).reversed(1), FlowSpec::forward(1))),
        10,
    )
    .unwrap();
    let r = t.get(h).unwrap().rev;
    t.touch(r, 60, Some(TcpFlags(TcpFlags::RST)), 11);
    assert_eq!(t.age(11, 10).len(), 2);
}

#[test]
fn clear_leaves_a_table_as_new() {
    let mut t = FlowTable::new(FlowConfig {
        max_entries: 256,
        ..Default::default()
    });
    let fresh: Vec<u32> = (0..100)
        .map(|i| t.insert(key(i), 1, FlowSpec::forward(1), 0, 0).unwrap())
        .collect();
    // Some holes in the slab and some index runs broken by removals.
    for i in (0..100).step_by(7) {
        t.remove(fresh[i as usize]);
    }
    t.clear();
    assert!(t.is_empty());
    assert_eq!(t.count_for(1), 0);
    assert!(t.index.iter().all(|&w| w == 0));
    assert!((0..100).all(|i| t.lookup(&key(i), key(i).hash()).is_none()));
    // Indices start from 0 again, as in a new table.
    let again: Vec<u32> = (0..100)
        .map(|i| t.insert(key(i), 1, FlowSpec::forward(1), 0, 0).unwrap())
        .collect();
    assert_eq!(again, fresh);
    assert!((0..100).all(|i| t.lookup(&key(i), key(i).hash()) == Some(i)));
}
