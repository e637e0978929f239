//! The analytics role over real sockets: records sent in the export wire format to the
//! collector come back from the query API in opserver's shapes; bad queries are 400s
//! naming the field; bounds are said.

mod common;
mod running;

use std::io::Write;
use std::time::{Duration, Instant};

use cirrus_analytics::wire;
use running::Running;
use serde_json::json;

fn now_us() -> u64 {
    cirrus_analytics::now_us() as u64
}

#[test]
fn exported_records_are_queried_in_opserver_shapes() {
    let r = Running::start(|c| c.max_rows = 100_000);
    let (s, tables) = r.get("/analytics/tables");
    assert_eq!(s, 200);
    let names: Vec<&str> = tables
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "FlowSeriesTable",
            "FlowRecordTable",
            "SessionSeriesTable",
            "SessionRecordTable",
            "StatTable.VMIStats.raw_if_stats",
            "StatTable.VMIStats.raw_drop_stats"
        ]
    );
    assert_eq!(tables[0]["type"], "FLOW");
    assert_eq!(
        tables[0]["href"],
        format!("http://{}/analytics/table/FlowSeriesTable", r.api)
    );
    let (_, links) = r.get("/analytics/table/SessionSeriesTable");
    assert_eq!(
        links,
        json!([{"name": "schema", "href": format!("http://{}/analytics/table/SessionSeriesTable/schema", r.api)}])
    );
    let (_, schema) = r.get("/analytics/table/FlowSeriesTable/schema");
    assert_eq!(schema["type"], "FLOW");
    let cols = schema["columns"].as_array().unwrap();
    assert!(
        cols.iter()
            .any(|c| c["name"] == "sourcevn" && c["datatype"] == "string" && c["index"] == true)
    );
    assert!(cols.iter().any(|c| c["name"] == "SUM(bytes)"));
    let (s, _) = r.get("/analytics/table/Nope/schema");
    assert_eq!(s, 404);

    // Two vrouters' worth of records over the wire format, in two frames on one stream.
    let t = now_us();
    let mut buf = Vec::new();
    wire::encode_frame(&[common::sample(t - 1000, 1, 2, 80, 100, 10)], &mut buf);
    let mut deny = common::sample(t - 500, 3, 2, 22, 60, 0);
    deny.forward.pass = false;
    deny.forward.nw_ace_uuid = "99999999-0000-0000-0000-000000000001".into();
    deny.forward.sg_rule_uuid.clear();
    deny.forward.drop_reason = "network-policy".into();
    deny.reverse = None;
    wire::encode_frame(&[deny], &mut buf);
    let mut sock = std::net::TcpStream::connect(r.collector).unwrap();
    sock.write_all(&buf).unwrap();

    let q = json!({"table": "FlowSeriesTable", "start_time": "now-10m", "end_time": "now",
                   "select_fields": ["sourceip", "destip", "dport", "action", "sg_rule_uuid", "nw_ace_uuid", "SUM(bytes)"],
                   "where": [[{"name": "direction_ing", "value": "1", "op": 1, "suffix": null, "value2": null}]],
                   "sort_fields": ["sourceip"], "sort": 1});
    let deadline = Instant::now() + Duration::from_secs(10);
    let rows = loop {
        let (s, v) = r.query(&q);
        assert_eq!(s, 200, "{v}");
        if v["value"].as_array().unwrap().len() == 2 || Instant::now() > deadline {
            break v;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        rows,
        json!({"value": [
            {"sourceip": "10.0.0.1", "destip": "10.0.1.2", "dport": 80, "action": "pass",
             "sg_rule_uuid": "11111111-2222-3333-4444-555555555555", "nw_ace_uuid": "", "SUM(bytes)": 100},
            {"sourceip": "10.0.0.3", "destip": "10.0.1.2", "dport": 22, "action": "deny",
             "sg_rule_uuid": "", "nw_ace_uuid": "99999999-0000-0000-0000-000000000001", "SUM(bytes)": 60},
        ]})
    );
    // The same rows once the collector has written them to a file (flush every second).
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(r.query(&q).1, rows);
}

#[test]
fn bad_queries_are_400s_naming_the_field_and_bounds_are_said() {
    let r = Running::start(|c| c.max_rows = 1);
    let (s, v) = r.query(&json!({"table": "FlowSeriesTable", "start_time": "now-1h", "end_time": "now",
                                 "select_fields": ["T"], "where": [[{"name": "dport", "value": "80", "op": 77}]]}));
    assert_eq!(s, 400);
    assert_eq!(v["field"], "where[0][0].op");
    assert!(
        v["error"].as_str().unwrap().contains("unknown operator 77"),
        "{v}"
    );
    let (s, v) =
        r.query(&json!({"table": "FlowSeriesTable", "end_time": "now", "select_fields": ["T"]}));
    assert_eq!((s, v["field"].as_str()), (400, Some("start_time")));
    let (s, v) = r.query(
        &json!({"table": "FlowSeriesTable", "start_time": "now-1h", "end_time": "now",
                                 "select_fields": ["T"], "limit": 5}),
    );
    assert_eq!((s, v["field"].as_str()), (400, Some("limit")), "{v}");

    let t = now_us();
    let mut buf = Vec::new();
    wire::encode_frame(
        &[
            common::sample(t - 2000, 1, 2, 80, 1, 1),
            common::sample(t - 1000, 3, 2, 80, 1, 1),
        ],
        &mut buf,
    );
    std::net::TcpStream::connect(r.collector)
        .unwrap()
        .write_all(&buf)
        .unwrap();
    let q = json!({"table": "FlowSeriesTable", "start_time": "now-100d", "end_time": "now", "select_fields": ["T", "sourceip"]});
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (s, v) = r.query(&q);
        assert_eq!(s, 200);
        let bounded: Vec<String> = serde_json::from_value(v["bounded"].clone()).unwrap_or_default();
        if bounded.iter().any(|b| b.contains("result cut at 1 rows")) {
            assert_eq!(v["value"].as_array().unwrap().len(), 1);
            assert!(
                bounded.iter().any(|b| b.contains("start_time moved")),
                "{bounded:?}"
            );
            break;
        }
        assert!(Instant::now() < deadline, "never bounded: {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
