//! Samples and a store in a temporary directory, shared by the tests.

#![allow(dead_code)]

use cirrus_analytics::record::{Encap, Event, FlowSide, SessionSample};
use cirrus_analytics::store::{Store, StoreConfig};

pub const MIN: u64 = 60_000_000;
/// A fixed "now": 2026-01-01T00:00:00Z in microseconds.
pub const T0: u64 = 1_767_225_600_000_000;

pub fn store(dir: &std::path::Path) -> Store {
    Store::open(StoreConfig {
        dir: dir.to_path_buf(),
        retention_us: 2 * 3_600_000_000,
        flush_rows: 1 << 20,
    })
    .unwrap()
}

/// A session from `src` to `dst` (both /24 hosts of 10.0.0.0) sampled at `t`.
pub fn sample(
    t: u64,
    src: u8,
    dst: u8,
    dport: u16,
    fwd_bytes: u64,
    rev_bytes: u64,
) -> SessionSample {
    SessionSample {
        t_us: t,
        event: Event::Interval,
        vrouter: "compute-1".into(),
        vrouter_ip: "198.18.0.11".parse().unwrap(),
        other_vrouter_ip: "198.18.0.12".parse().unwrap(),
        encap: Encap::MplsOverUdp,
        source_vn: format!("default-domain:demo:net-{}", src % 2),
        source_ip: format!("10.0.0.{src}").parse().unwrap(),
        sport: 40000 + src as u16,
        dest_vn: "default-domain:demo:web".into(),
        dest_ip: format!("10.0.1.{dst}").parse().unwrap(),
        dport,
        protocol: 6,
        source_local: true,
        dest_local: false,
        vmi: format!("vmi-{src}"),
        setup_time: T0,
        teardown_time: 0,
        teardown_reason: String::new(),
        forward: FlowSide {
            uuid: (src as u128) << 8 | dst as u128,
            pass: true,
            sg_rule_uuid: "11111111-2222-3333-4444-555555555555".into(),
            bytes: fwd_bytes * 10,
            packets: 10,
            diff_bytes: fwd_bytes,
            diff_packets: 1,
            ..FlowSide::default()
        },
        reverse: Some(FlowSide {
            uuid: 1 << 64 | (src as u128) << 8 | dst as u128,
            pass: true,
            diff_bytes: rev_bytes,
            diff_packets: 1,
            ..FlowSide::default()
        }),
    }
}
