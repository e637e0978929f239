//! The store and the query engine together: rows in open batches and in Parquet files,
//! aggregates, time buckets, where operators, record tables, sessions, retention.

mod common;

use cirrus_analytics::query::{self, Bounds, EvalBounds};
use cirrus_analytics::store::Store;
use common::{MIN, T0, sample, store};
use serde_json::{Value, json};

const BOUNDS: Bounds = Bounds {
    max_range_us: 24 * 3_600_000_000,
    max_limit: 10_000,
};
const EVAL: EvalBounds = EvalBounds {
    max_rows: 10_000,
    max_scan_rows: 100_000_000,
};

fn ask(s: &Store, mut body: Value) -> Vec<Value> {
    body["start_time"] = json!(T0);
    body["end_time"] = json!(T0 + 60 * MIN);
    let q = query::parse(&body, (T0 + 60 * MIN) as i64, BOUNDS).unwrap();
    let out = query::run(s, &q, EVAL).unwrap();
    out.rows.into_iter().map(Value::Object).collect()
}

#[test]
fn sums_by_bucket_and_key_across_files_and_the_open_batch() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    s.ingest(&[
        sample(T0 + 10, 1, 9, 80, 100, 7),
        sample(T0 + MIN + 5, 2, 9, 80, 40, 3),
    ])
    .unwrap();
    s.flush().unwrap();
    s.ingest(&[sample(T0 + MIN + 9, 1, 9, 443, 60, 1)]).unwrap();
    assert!(
        !s.files(cirrus_analytics::schema::Dataset::Flow, 0, i64::MAX)
            .is_empty()
    );

    let rows = ask(
        &s,
        json!({"table": "FlowSeriesTable", "select_fields": ["T=60", "sourcevn", "SUM(bytes)", "COUNT(flow)"],
               "where": [[{"name": "direction_ing", "value": "1", "op": 1}]],
               "sort_fields": ["T=", "sourcevn"], "sort": 1}),
    );
    assert_eq!(
        rows,
        vec![
            json!({"T=": T0, "sourcevn": "default-domain:demo:net-1", "SUM(bytes)": 100, "COUNT(flow)": 1}),
            json!({"T=": T0 + MIN, "sourcevn": "default-domain:demo:net-0", "SUM(bytes)": 40, "COUNT(flow)": 1}),
            json!({"T=": T0 + MIN, "sourcevn": "default-domain:demo:net-1", "SUM(bytes)": 60, "COUNT(flow)": 1}),
        ]
    );
    // Both directions count without the direction filter.
    let all = ask(
        &s,
        json!({"table": "FlowSeriesTable", "select_fields": ["SUM(bytes)", "SUM(packets)"]}),
    );
    assert_eq!(all, vec![json!({"SUM(bytes)": 211, "SUM(packets)": 6})]);
}

#[test]
fn where_operators_or_of_ands() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let recs: Vec<_> = (1..=20)
        .map(|i| sample(T0 + i as u64, i, i, 1000 + i as u16, 10, 0))
        .collect();
    s.ingest(&recs).unwrap();
    let count = |w: Value| -> i64 {
        let r = ask(
            &s,
            json!({"table": "FlowSeriesTable", "select_fields": ["COUNT(flow)"],
                               "where": w, "dir": 1}),
        );
        r.first().map_or(0, |r| r["COUNT(flow)"].as_i64().unwrap())
    };
    assert_eq!(
        count(json!([[{"name": "sourceip", "value": "10.0.0.3", "op": 1}]])),
        1
    );
    assert_eq!(
        count(json!([[{"name": "sourceip", "value": "10.0.0.3", "op": 2}]])),
        19
    );
    assert_eq!(
        count(json!([[{"name": "dport", "value": "1005", "value2": "1009", "op": 3}]])),
        5
    );
    assert_eq!(
        count(json!([[{"name": "dport", "value": 1005, "value2": 1009, "op": 4}]])),
        15
    );
    assert_eq!(
        count(json!([[{"name": "dport", "value": "1003", "op": 5}]])),
        3
    );
    assert_eq!(
        count(json!([[{"name": "dport", "value": "1018", "op": 6}]])),
        3
    );
    assert_eq!(
        count(json!([[{"name": "sourceip", "value": "10.0.0.1", "op": 7}]])),
        11
    );
    assert_eq!(
        count(json!([[{"name": "sourceip", "value": "^10\\.0\\.0\\.[2-4]$", "op": 8}]])),
        3
    );
    assert_eq!(
        count(json!([[{"name": "sourcevn", "value": "net-1", "op": 9}]])),
        10
    );
    // (net-1 AND dport <= 1005) OR sourceip == 10.0.0.20
    assert_eq!(
        count(json!([
            [{"name": "sourcevn", "value": "net-1", "op": 9}, {"name": "dport", "value": "1005", "op": 5}],
            [{"name": "sourceip", "value": "10.0.0.20", "op": 1}]
        ])),
        4
    );
}

#[test]
fn record_table_keeps_the_latest_sample_of_each_flow() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let mut a = sample(T0 + 1, 1, 2, 80, 100, 0);
    s.ingest(std::slice::from_ref(&a)).unwrap();
    s.flush().unwrap();
    a.t_us = T0 + MIN;
    a.forward.bytes = 5000;
    a.teardown_time = T0 + MIN;
    a.teardown_reason = "aged".into();
    s.ingest(&[a]).unwrap();
    let rows = ask(
        &s,
        json!({"table": "FlowRecordTable", "dir": 1,
               "select_fields": ["UuidKey", "sourceip", "agg-bytes", "action", "sg_rule_uuid", "teardown_reason", "other_vrouter_ip", "underlay_proto"]}),
    );
    assert_eq!(
        rows,
        vec![
            json!({"UuidKey": "00000000-0000-0000-0000-000000000102", "sourceip": "10.0.0.1",
                    "agg-bytes": 5000, "action": "pass",
                    "sg_rule_uuid": "11111111-2222-3333-4444-555555555555",
                    "teardown_reason": "aged", "other_vrouter_ip": "198.18.0.12", "underlay_proto": 2})
        ]
    );
}

#[test]
fn sessions_are_seen_from_each_local_end() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let mut both = sample(T0 + 1, 1, 2, 80, 100, 30);
    both.dest_local = true;
    s.ingest(&[both]).unwrap();
    let rows = ask(
        &s,
        json!({"table": "SessionSeriesTable", "session_type": "server",
               "select_fields": ["local_ip", "remote_ip", "server_port", "vn", "remote_vn",
                                 "forward_action", "forward_sg_rule_uuid", "security_policy_rule",
                                 "SUM(forward_sampled_bytes)", "SUM(reverse_sampled_bytes)"]}),
    );
    assert_eq!(
        rows,
        vec![
            json!({"local_ip": "10.0.1.2", "remote_ip": "10.0.0.1", "server_port": 80,
                    "vn": "default-domain:demo:web", "remote_vn": "default-domain:demo:net-1",
                    "forward_action": "pass",
                    "forward_sg_rule_uuid": "11111111-2222-3333-4444-555555555555",
                    "security_policy_rule": "11111111-2222-3333-4444-555555555555",
                    "SUM(forward_sampled_bytes)": 100, "SUM(reverse_sampled_bytes)": 30})
        ]
    );
    let clients = ask(
        &s,
        json!({"table": "SessionSeriesTable", "session_type": "client", "select_fields": ["local_ip"]}),
    );
    assert_eq!(clients, vec![json!({"local_ip": "10.0.0.1"})]);
}

#[test]
fn each_side_keeps_its_own_action_and_rules() {
    // Strings are looked up once per sample and mapped per column: the forward and
    // reverse sides, absent reverses and repeated values must each land in their column.
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let mut a = sample(T0 + 1, 1, 2, 80, 100, 30);
    a.reverse.as_mut().unwrap().pass = false;
    a.reverse.as_mut().unwrap().nw_ace_uuid = "rev-ace".into();
    a.reverse.as_mut().unwrap().drop_reason = "network-policy".into();
    let mut b = sample(T0 + 2, 3, 2, 22, 60, 0);
    b.forward.pass = false;
    b.forward.sg_rule_uuid.clear();
    b.forward.fw_rule_uuid = "fw-1".into();
    b.reverse = None;
    let c = sample(T0 + 3, 1, 2, 80, 7, 3);
    s.ingest(&[a, b, c]).unwrap();
    let flows = ask(
        &s,
        json!({"table": "FlowSeriesTable",
               "select_fields": ["T", "sourceip", "action", "sg_rule_uuid", "nw_ace_uuid",
                                 "security_policy_rule", "drop_reason", "sourcevn", "destvn"],
               "sort_fields": ["T", "sourceip"], "sort": 1}),
    );
    let sg = "11111111-2222-3333-4444-555555555555";
    let (n1, web) = ("default-domain:demo:net-1", "default-domain:demo:web");
    let row = |t: u64,
               ip: &str,
               act: &str,
               sgr: &str,
               ace: &str,
               fw: &str,
               drop: &str,
               svn: &str,
               dvn: &str| {
        json!({"T": T0 + t, "sourceip": ip, "action": act, "sg_rule_uuid": sgr, "nw_ace_uuid": ace,
               "security_policy_rule": fw, "drop_reason": drop, "sourcevn": svn, "destvn": dvn})
    };
    assert_eq!(
        flows,
        vec![
            row(1, "10.0.0.1", "pass", sg, "", "", "", n1, web),
            row(
                1,
                "10.0.1.2",
                "deny",
                "",
                "rev-ace",
                "",
                "network-policy",
                web,
                n1
            ),
            row(2, "10.0.0.3", "deny", "", "", "fw-1", "", n1, web),
            row(3, "10.0.0.1", "pass", sg, "", "", "", n1, web),
            row(3, "10.0.1.2", "pass", "", "", "", "", web, n1),
        ]
    );
    let sessions = ask(
        &s,
        json!({"table": "SessionSeriesTable",
               "select_fields": ["T", "forward_action", "reverse_action", "reverse_nw_ace_uuid",
                                 "reverse_drop_reason", "security_policy_rule", "vn", "remote_vn"],
               "sort_fields": ["T"], "sort": 1}),
    );
    assert_eq!(
        sessions,
        vec![
            json!({"T": T0 + 1, "forward_action": "pass", "reverse_action": "deny",
                   "reverse_nw_ace_uuid": "rev-ace", "reverse_drop_reason": "network-policy",
                   "security_policy_rule": sg, "vn": n1, "remote_vn": web}),
            json!({"T": T0 + 2, "forward_action": "deny", "reverse_action": "",
                   "reverse_nw_ace_uuid": "", "reverse_drop_reason": "",
                   "security_policy_rule": "fw-1", "vn": n1, "remote_vn": web}),
            json!({"T": T0 + 3, "forward_action": "pass", "reverse_action": "pass",
                   "reverse_nw_ace_uuid": "", "reverse_drop_reason": "",
                   "security_policy_rule": sg, "vn": n1, "remote_vn": web}),
        ]
    );
}

#[test]
fn filter_sort_and_limit_apply_to_results() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let recs: Vec<_> = (1..=5)
        .map(|i| sample(T0 + i as u64, i, 1, 80, i as u64 * 100, 0))
        .collect();
    s.ingest(&recs).unwrap();
    let rows = ask(
        &s,
        json!({"table": "FlowSeriesTable", "dir": 1, "select_fields": ["sourceip", "SUM(bytes)"],
               "filter": [[{"name": "SUM(bytes)", "value": "300", "op": 5}]],
               "sort_fields": ["SUM(bytes)"], "sort": 2, "limit": 2}),
    );
    assert_eq!(
        rows,
        vec![
            json!({"sourceip": "10.0.0.3", "SUM(bytes)": 300}),
            json!({"sourceip": "10.0.0.2", "SUM(bytes)": 200})
        ]
    );
}

#[test]
fn retention_removes_old_partitions_and_bounds_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    s.ingest(&[
        sample(T0 - 3 * 3_600_000_000, 1, 1, 80, 1, 0),
        sample(T0, 2, 1, 80, 1, 0),
    ])
    .unwrap();
    s.flush().unwrap();
    s.ingest(&[sample(T0 + 1, 3, 1, 80, 1, 0)]).unwrap();
    s.flush().unwrap();
    let ds = cirrus_analytics::schema::Dataset::Flow;
    assert_eq!(s.files(ds, 0, i64::MAX).len(), 2);
    // The first file's partition is the hour of its first row, 3 hours old: removed.
    assert_eq!(
        s.enforce_retention(T0 as i64),
        2,
        "one partition per dataset"
    );
    assert_eq!(s.files(ds, 0, i64::MAX).len(), 1);

    let body = json!({"table": "FlowSeriesTable", "start_time": 0, "end_time": T0 + 1,
                      "select_fields": ["sourceip", "T"]});
    let q = query::parse(&body, T0 as i64, BOUNDS).unwrap();
    let out = query::run(
        &s,
        &q,
        EvalBounds {
            max_rows: 1,
            max_scan_rows: 1000,
        },
    )
    .unwrap();
    assert_eq!(out.rows.len(), 1);
    assert!(
        out.bounded.iter().any(|b| b.contains("start_time moved")),
        "{:?}",
        out.bounded
    );
    assert!(
        out.bounded
            .iter()
            .any(|b| b.contains("result cut at 1 rows")),
        "{:?}",
        out.bounded
    );
}

#[test]
fn malformed_queries_name_the_field() {
    let now = T0 as i64;
    let cases = [
        (
            json!({"start_time": "now-1h", "end_time": "now", "select_fields": ["T"]}),
            "table",
        ),
        (
            json!({"table": "NoSuchTable", "start_time": "now-1h", "end_time": "now", "select_fields": ["T"]}),
            "table",
        ),
        (
            json!({"table": "FlowSeriesTable", "start_time": "yesterday", "end_time": "now", "select_fields": ["T"]}),
            "start_time",
        ),
        (
            json!({"table": "FlowSeriesTable", "start_time": "now", "end_time": "now-1h", "select_fields": ["T"]}),
            "end_time",
        ),
        (
            json!({"table": "FlowSeriesTable", "start_time": "now-1h", "end_time": "now", "select_fields": ["T", "nosuch"]}),
            "select_fields[1]",
        ),
        (
            json!({"table": "FlowSeriesTable", "start_time": "now-1h", "end_time": "now", "select_fields": ["SUM(sourcevn)"]}),
            "select_fields[0]",
        ),
        (
            json!({"table": "FlowSeriesTable", "start_time": "now-1h", "end_time": "now", "select_fields": ["T"],
                "where": [[{"name": "sport", "value": "x", "op": 1}]]}),
            "where[0][0].value",
        ),
        (
            json!({"table": "FlowSeriesTable", "start_time": "now-1h", "end_time": "now", "select_fields": ["T"],
                "where": [[{"name": "sport", "value": "1", "op": 42}]]}),
            "where[0][0].op",
        ),
        (
            json!({"table": "FlowSeriesTable", "start_time": "now-1h", "end_time": "now", "select_fields": ["T"],
                "where": [[{"name": "nosuch", "value": "1", "op": 1}]]}),
            "where[0][0].name",
        ),
        (
            json!({"table": "FlowSeriesTable", "start_time": "now-1h", "end_time": "now", "select_fields": ["T"],
                "sort_fields": ["bytes"]}),
            "sort_fields[0]",
        ),
        (
            json!({"table": "FlowSeriesTable", "start_time": "now-1h", "end_time": "now", "select_fields": ["T"],
                "limit": 0}),
            "limit",
        ),
        (
            json!({"table": "FlowRecordTable", "start_time": "now-1h", "end_time": "now", "select_fields": ["SUM(bytes)"]}),
            "select_fields",
        ),
    ];
    for (body, field) in cases {
        let e = query::parse(&body, now, BOUNDS).unwrap_err();
        assert_eq!(e.field, field, "{body}: {e}");
    }
}
