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

/// CPU seconds this thread has used.
fn thread_cpu_s() -> f64 {
    // /proc/thread-self/stat: utime and stime are fields 14 and 15, in clock ticks (100/s).
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
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
    let cpu0 = thread_cpu_s();
    let start = Instant::now();
    for f in &frames {
        store.ingest_frame(&f[8..]).expect("ingest");
    }
    let ingest_s = start.elapsed().as_secs_f64();
    let ingest_cpu = thread_cpu_s() - cpu0;
    store.flush().expect("flush");
    let durable_s = start.elapsed().as_secs_f64();
    let st = store.stats();
    let rate = st.flow_rows as f64 / ingest_s;
    let cpu_rate = st.flow_rows as f64 / ingest_cpu.max(0.01);
    println!(
        "ingest: {samples} session samples ({} flow records, {} session records) decoded and \
         stored by one thread in {ingest_s:.2} s ({ingest_cpu:.2} s of its CPU): {:.0} samples/s, \
         {rate:.0} flow records/s by the clock, {cpu_rate:.0} per CPU second of that thread \
         (target >= 1000000 flow records/s on one core: {}); ingest waited for the writer {} times",
        st.flow_rows,
        st.session_rows,
        samples as f64 / ingest_s,
        if cpu_rate >= 1e6 { "met" } else { "NOT met" },
        st.ingest_waits,
    );
    println!(
        "durable: every record in Parquet files {durable_s:.2} s after the first frame \
         ({:.0} flow records/s end to end, the writer thread on another core)",
        st.flow_rows as f64 / durable_s
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
        let cpu0 = thread_cpu_s();
        let start = Instant::now();
        let q = query::parse(&body, cirrus_analytics::now_us(), bounds).expect("query");
        let out = query::run(&store, &q, eval).expect("run");
        let took = start.elapsed().as_secs_f64();
        let cpu = thread_cpu_s() - cpu0;
        println!(
            "top 10 talkers by bytes over the last hour (run {run}): {:.3} s ({cpu:.2} s of CPU) \
             over {} flow records (target <= 1 s: {}); first {}",
            took,
            out.scanned_rows,
            if took <= 1.0 { "met" } else { "NOT met" },
            serde_json::Value::Object(out.rows[0].clone())
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
