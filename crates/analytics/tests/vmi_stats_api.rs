//! Per-interface counters end to end in the analytics role: `CVS1` frames sent to the
//! collector (on the same stream as flow frames) come back from Contrail's StatTables
//! `StatTable.VMIStats.raw_if_stats` and `StatTable.VMIStats.raw_drop_stats` with sums,
//! time buckets and where clauses; each table shows only its attribute's columns; bad
//! queries are 400s naming the field; rows survive a restart of the store.

mod common;
mod running;

use std::io::Write;
use std::time::{Duration, Instant};

use cirrus_analytics::vmi_stats::VmiStatsSample;
use cirrus_analytics::wire;
use running::Running;
use serde_json::{Value, json};

const IF_STATS: &str = "StatTable.VMIStats.raw_if_stats";
const DROP_STATS: &str = "StatTable.VMIStats.raw_drop_stats";
const RED: &str = "default-domain:p:red";
const BLUE: &str = "default-domain:p:blue";

impl Running {
    /// The query's rows once `n` are there (the collector stores frames as they come).
    fn rows(&self, q: &Value, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (s, v) = self.query(q);
            assert_eq!(s, 200, "{v}");
            let rows = v["value"].as_array().unwrap().clone();
            if rows.len() == n || Instant::now() > deadline {
                return rows;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Port `port` of vrouter `vrouter` in `vn`, sampled at `t` with `k` times a base delta.
fn port(t: u64, vrouter: &str, port: u8, vn: &str, k: u64) -> VmiStatsSample {
    VmiStatsSample {
        t_us: t,
        vrouter: vrouter.into(),
        name: format!("default-domain:p:port-{port}"),
        vmi_uuid: format!("00000000-0000-0000-0000-0000000000{port:02}"),
        virtual_network: vn.into(),
        in_pkts: k,
        in_bytes: 1000 * k,
        out_pkts: 2 * k,
        out_bytes: 3000 * k,
        drop_pkts: k % 2,
    }
}

fn names(cols: &Value) -> Vec<String> {
    cols.as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn interface_counters_are_served_as_vmi_stats_stat_tables() {
    let r = Running::start(|_| {});
    let (_, tables) = r.get("/analytics/tables");
    for (name, display) in [
        (IF_STATS, "Virtual Machine Interface Statistics"),
        (DROP_STATS, "Interface drop statistics"),
    ] {
        let t = tables
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in {tables}"));
        assert_eq!(t["type"], "STAT", "{t}");
        assert_eq!(t["display_name"], display, "{t}");
    }
    let (s, schema) = r.get(&format!("/analytics/table/{IF_STATS}/schema"));
    assert_eq!(s, 200);
    assert_eq!(schema["type"], "STAT");
    let cols = names(&schema["columns"]);
    for c in [
        "T",
        "Source",
        "name",
        "virtual_network",
        "raw_if_stats.in_pkts",
        "raw_if_stats.in_bytes",
        "raw_if_stats.out_pkts",
        "raw_if_stats.out_bytes",
        "T=",
        "COUNT(raw_if_stats)",
        "SUM(raw_if_stats.in_bytes)",
        "AVG(raw_if_stats.out_bytes)",
        "COUNT_DISTINCT(name)",
    ] {
        assert!(cols.contains(&c.to_string()), "{c} not in {cols:?}");
    }
    assert!(
        !cols.iter().any(|c| c.contains("raw_drop_stats")),
        "{cols:?}"
    );
    let name_col = &schema["columns"].as_array().unwrap()[2];
    assert_eq!(
        (&name_col["name"], &name_col["datatype"], &name_col["index"]),
        (&json!("name"), &json!("string"), &json!(true))
    );
    let (_, drops) = r.get(&format!("/analytics/table/{DROP_STATS}/schema"));
    let cols = names(&drops["columns"]);
    assert!(cols.contains(&"raw_drop_stats.ds_drop_pkts".to_string()));
    assert!(!cols.iter().any(|c| c.contains("raw_if_stats")), "{cols:?}");

    // Two minutes of samples: ports 1 and 2 on c1 (red), port 3 on c2 (blue); a flow
    // frame between them on the same stream.
    let minute = 60_000_000;
    let t0 = (cirrus_analytics::now_us() as u64 / minute - 3) * minute;
    let mut buf = Vec::new();
    wire::encode_vmi_stats_frame(
        &[port(t0 + 1, "c1", 1, RED, 1), port(t0 + 2, "c1", 2, RED, 2)],
        &mut buf,
    );
    wire::encode_frame(&[common::sample(t0 + 3, 1, 2, 80, 100, 10)], &mut buf);
    wire::encode_vmi_stats_frame(
        &[
            port(t0 + minute, "c1", 1, RED, 3),
            port(t0 + minute + 5, "c2", 3, BLUE, 5),
        ],
        &mut buf,
    );
    std::net::TcpStream::connect(r.collector)
        .unwrap()
        .write_all(&buf)
        .unwrap();

    let per_port = json!({
        "table": IF_STATS, "start_time": "now-10m", "end_time": "now",
        "select_fields": ["Source", "name", "SUM(raw_if_stats.in_bytes)", "SUM(raw_if_stats.out_pkts)",
                          "COUNT(raw_if_stats)"],
        "where": [[{"name": "name", "value": "default-domain:p:port-", "op": 7}]],
        "sort_fields": ["name"], "sort": 1,
    });
    assert_eq!(
        r.rows(&per_port, 3),
        [
            json!({"Source": "c1", "name": "default-domain:p:port-1", "SUM(raw_if_stats.in_bytes)": 4000,
                   "SUM(raw_if_stats.out_pkts)": 8, "COUNT(raw_if_stats)": 2}),
            json!({"Source": "c1", "name": "default-domain:p:port-2", "SUM(raw_if_stats.in_bytes)": 2000,
                   "SUM(raw_if_stats.out_pkts)": 4, "COUNT(raw_if_stats)": 1}),
            json!({"Source": "c2", "name": "default-domain:p:port-3", "SUM(raw_if_stats.in_bytes)": 5000,
                   "SUM(raw_if_stats.out_pkts)": 10, "COUNT(raw_if_stats)": 1}),
        ]
    );
    // The flow frame on the same stream was stored as a flow.
    let flows = json!({"table": "FlowSeriesTable", "start_time": "now-10m", "end_time": "now",
                       "select_fields": ["SUM(bytes)"]});
    assert_eq!(r.rows(&flows, 1), [json!({"SUM(bytes)": 110})]);

    // Time buckets of a minute, one vrouter, by uuid.
    let buckets = json!({
        "table": IF_STATS, "start_time": "now-10m", "end_time": "now",
        "select_fields": ["T=60", "SUM(raw_if_stats.out_bytes)"],
        "where": [[{"name": "Source", "value": "c1", "op": 1}],
                  [{"name": "vmi_uuid", "value": "00000000-0000-0000-0000-000000000003", "op": 1}]],
        "sort_fields": ["T="], "sort": 1,
    });
    assert_eq!(
        r.rows(&buckets, 2),
        [
            json!({"T=": t0, "SUM(raw_if_stats.out_bytes)": 9000}),
            json!({"T=": t0 + minute, "SUM(raw_if_stats.out_bytes)": 24000}),
        ]
    );

    // Drops per network, from the other table over the same rows.
    let drops = json!({
        "table": DROP_STATS, "start_time": "now-10m", "end_time": "now",
        "select_fields": ["virtual_network", "SUM(raw_drop_stats.ds_drop_pkts)"],
        "sort_fields": ["virtual_network"], "sort": 1,
    });
    assert_eq!(
        r.rows(&drops, 2),
        [
            json!({"virtual_network": BLUE, "SUM(raw_drop_stats.ds_drop_pkts)": 1}),
            json!({"virtual_network": RED, "SUM(raw_drop_stats.ds_drop_pkts)": 2}),
        ]
    );
    // The same answer once the collector has written the rows to a file.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(r.rows(&per_port, 3).len(), 3);
    assert_eq!(r.query(&drops).1["value"].as_array().unwrap().len(), 2);
}

#[test]
fn bad_queries_on_vmi_stats_tables_are_400s_naming_the_field() {
    let r = Running::start(|_| {});
    let q = |table: &str, select: Value, where_: Value| {
        r.query(
            &json!({"table": table, "start_time": "now-10m", "end_time": "now",
                        "select_fields": select, "where": where_}),
        )
    };
    // A column of the other StatTable.
    let (s, v) = q(
        IF_STATS,
        json!(["name", "SUM(raw_drop_stats.ds_drop_pkts)"]),
        Value::Null,
    );
    assert_eq!(
        (s, v["field"].as_str()),
        (400, Some("select_fields[1]")),
        "{v}"
    );
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("unknown column \"raw_drop_stats.ds_drop_pkts\""),
        "{v}"
    );
    let (s, v) = q(DROP_STATS, json!(["raw_if_stats.in_bytes"]), Value::Null);
    assert_eq!(
        (s, v["field"].as_str()),
        (400, Some("select_fields[0]")),
        "{v}"
    );
    // A where on a column no StatTable has, and a sum of a string.
    let (s, v) = q(
        IF_STATS,
        json!(["name"]),
        json!([[{"name": "vm_nickname", "value": "x", "op": 1}]]),
    );
    assert_eq!(
        (s, v["field"].as_str()),
        (400, Some("where[0][0].name")),
        "{v}"
    );
    let (s, v) = q(IF_STATS, json!(["SUM(virtual_network)"]), Value::Null);
    assert_eq!(
        (s, v["field"].as_str()),
        (400, Some("select_fields[0]")),
        "{v}"
    );
    assert!(v["error"].as_str().unwrap().contains("not numeric"), "{v}");
    let (s, v) = q(
        IF_STATS,
        json!(["name"]),
        json!([[{"name": "raw_if_stats.in_bytes", "value": "lots", "op": 6}]]),
    );
    assert_eq!(
        (s, v["field"].as_str()),
        (400, Some("where[0][0].value")),
        "{v}"
    );
}

#[test]
fn interface_counters_survive_a_restart_of_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let t = common::T0;
    {
        let s = common::store(dir.path());
        s.ingest_vmi_stats(&[port(t, "c1", 1, RED, 2), port(t + 1, "c1", 2, RED, 4)]);
        s.flush().unwrap();
        assert_eq!(s.stats().vmi_stats_rows, 2);
    }
    let s = common::store(dir.path());
    let ds = cirrus_analytics::schema::Dataset::VmiStats;
    let files = s.files(ds, 0, i64::MAX);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].path.starts_with(dir.path().join("vmi_stats")));
    let q = cirrus_analytics::query::parse(
        &json!({"table": IF_STATS, "start_time": t - 1, "end_time": t + 10,
                "select_fields": ["SUM(raw_if_stats.in_bytes)", "SUM(raw_if_stats.in_pkts)"]}),
        t as i64,
        cirrus_analytics::query::Bounds {
            max_range_us: i64::MAX,
            max_limit: 10,
        },
    )
    .unwrap();
    let out = cirrus_analytics::query::run(
        &s,
        &q,
        cirrus_analytics::query::EvalBounds {
            max_rows: 10,
            max_scan_rows: 1000,
        },
    )
    .unwrap();
    assert_eq!(
        Value::Array(out.rows.into_iter().map(Value::Object).collect()),
        json!([{"SUM(raw_if_stats.in_bytes)": 6000, "SUM(raw_if_stats.in_pkts)": 6}])
    );
}
