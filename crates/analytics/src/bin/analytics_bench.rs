//! Analytics figures: collector ingest (decode + store, files written) on one core,
//! "top 10 talkers by bytes over the last hour" over 10M flow records, disk bytes per
//! record. `cargo run --release -p cirrus-analytics --bin analytics-bench [samples]`.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use cirrus_analytics::query::{self, Bounds, EvalBounds};
use cirrus_analytics::record::{Encap, Event, FlowSide, SessionSample};
use cirrus_analytics::store::{Store, StoreConfig};
use cirrus_analytics::wire;

/// A deterministic spread of sessions: 2,000 sources, 500 destinations, 20 networks,
/// 16 vrouters, times over the last hour.
fn sample(i: u64, now: u64) -> SessionSample {
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let src = (h % 2000) as u32;
    let dst = ((h >> 16) % 500) as u32;
    let ip = |n: u32| IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n));
    let side = |u: u64, bytes: u64| FlowSide {
        uuid: u as u128 | (h as u128) << 64,
        pass: true,
        sg_rule_uuid: format!("00000000-0000-0000-0000-{:012x}", h % 64),
        bytes: bytes * 10,
        packets: 10,
        diff_bytes: bytes,
        diff_packets: 1 + bytes / 1000,
        underlay_source_port: 49152 + (h % 1000) as u16,
        ..FlowSide::default()
    };
    SessionSample {
        t_us: now - (h % 3_600_000_000),
        event: Event::Interval,
        vrouter: format!("compute-{}", h % 16),
        vrouter_ip: ip(0x0100_0000 + (h % 16) as u32),
        other_vrouter_ip: ip(0x0100_0000 + ((h >> 8) % 16) as u32),
        encap: Encap::MplsOverUdp,
        source_vn: format!("default-domain:demo:net-{}", src % 20),
        source_ip: ip(src),
        sport: 1024 + (h % 50000) as u16,
        dest_vn: format!("default-domain:demo:net-{}", dst % 20),
        dest_ip: ip(0x0010_0000 + dst),
        dport: [80, 443, 22, 53][(h % 4) as usize],
        protocol: 6,
        source_local: true,
        dest_local: false,
        vmi: format!("vmi-{src}"),
        setup_time: now - 3_600_000_000,
        teardown_time: 0,
        teardown_reason: String::new(),
        forward: side(i * 2, 100 + h % 1500),
        reverse: Some(side(i * 2 + 1, 60 + h % 900)),
    }
}

fn main() {
    let samples: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5_000_000);
    let dir = std::env::temp_dir().join(format!("cirrus-analytics-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(
        Store::open(StoreConfig {
            dir: dir.clone(),
            retention_us: 48 * 3_600_000_000,
            flush_rows: 1 << 20,
        })
        .expect("store"),
    );
    let now = cirrus_analytics::now_us() as u64;
    // Frames as vrouters send them, 1,000 records each (encoding is not timed).
    let mut frames = Vec::new();
    let mut batch = Vec::with_capacity(1000);
    for i in 0..samples {
        batch.push(sample(i, now));
        if batch.len() == 1000 {
            let mut f = Vec::new();
            wire::encode_frame(&batch, &mut f);
            frames.push(f);
            batch.clear();
        }
    }
    let wire_bytes: usize = frames.iter().map(Vec::len).sum();
    let start = Instant::now();
    let mut recs = Vec::with_capacity(1000);
    for f in &frames {
        recs.clear();
        wire::decode_body(&f[8..], |r| recs.push(r)).expect("decode");
        store.ingest(&recs).expect("ingest");
    }
    store.flush().expect("flush");
    let took = start.elapsed().as_secs_f64();
    let st = store.stats();
    println!(
        "ingest: {samples} session samples ({} flow records, {} session records) in {took:.2} s: \
         {:.0} samples/s, {:.0} flow records/s (decode + store + Parquet files, one thread)",
        st.flow_rows,
        st.session_rows,
        samples as f64 / took,
        st.flow_rows as f64 / took
    );
    println!(
        "wire: {:.1} bytes per sample",
        wire_bytes as f64 / samples as f64
    );
    let disk = store.disk_bytes();
    println!(
        "disk: {disk} bytes, {:.1} bytes per flow record ({:.1} per sample, flow + session rows)",
        disk as f64 / st.flow_rows as f64,
        disk as f64 / samples as f64,
    );
    let body = serde_json::json!({
        "table": "FlowSeriesTable",
        "start_time": "now-1h",
        "end_time": "now",
        "select_fields": ["sourceip", "SUM(bytes)"],
        "sort_fields": ["SUM(bytes)"],
        "sort": 2,
        "limit": 10,
    });
    let bounds = Bounds {
        max_range_us: 48 * 3_600_000_000,
        max_limit: 100_000,
    };
    let eval = EvalBounds {
        max_rows: 1_000_000,
        max_scan_rows: 1_000_000_000,
    };
    for run in 0..3 {
        let start = Instant::now();
        let q = query::parse(&body, cirrus_analytics::now_us(), bounds).expect("query");
        let out = query::run(&store, &q, eval).expect("run");
        let took = start.elapsed().as_secs_f64();
        println!(
            "top 10 talkers by bytes over the last hour (run {run}): {:.3} s over {} flow records; first {}",
            took,
            out.scanned_rows,
            serde_json::Value::Object(out.rows[0].clone())
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
