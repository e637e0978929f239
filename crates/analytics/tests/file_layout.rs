//! The partition files: a large batch is written in several row groups (a query
//! whose range covers a row group skips its `T`), the answer is the same after reopening
//! the store, and files written before that layout (one row group, the parquet crate's
//! own dictionaries, plain `T`: `tests/data/*-before-2026-12.parquet`) are still read.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use cirrus_analytics::query::{self, Bounds, EvalBounds};
use cirrus_analytics::schema::Dataset;
use cirrus_analytics::store::Store;
use common::{MIN, T0, sample, store};
use parquet::column::reader::get_typed_column_reader;
use parquet::data_type::ByteArrayType;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::statistics::Statistics;
use serde_json::json;

fn sums(s: &Store, table: &str, key: &str, agg: &str, from: u64, to: u64) -> BTreeMap<String, i64> {
    let mut body = json!({"table": table, "start_time": from, "end_time": to,
        "select_fields": [key, agg]});
    if table.starts_with("Flow") {
        body["dir"] = json!(1);
    }
    let q = query::parse(
        &body,
        (T0 + 60 * MIN) as i64,
        Bounds {
            max_range_us: i64::MAX,
            max_limit: 10_000,
        },
    )
    .unwrap();
    let out = query::run(
        s,
        &q,
        EvalBounds {
            max_rows: 10_000,
            max_scan_rows: u64::MAX,
        },
    )
    .unwrap();
    out.rows
        .iter()
        .map(|r| {
            (
                r[key].as_str().unwrap().to_string(),
                r[agg].as_i64().unwrap(),
            )
        })
        .collect()
}

fn expect(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn place(dir: &Path, ds: &str, fixture: &str, first: u64, last: u64, seq: u64) {
    let hour = first / 3_600_000_000 * 3_600_000_000;
    let to = dir.join(ds).join(hour.to_string());
    std::fs::create_dir_all(&to).unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(fixture);
    std::fs::copy(from, to.join(format!("{first}-{last}-{seq}.parquet"))).unwrap();
}

#[test]
fn files_of_the_earlier_layout_are_read_beside_new_ones() {
    // Twelve forward-only samples, one a minute from T0 (newest first), written by the
    // store as it was before the 2026-12 layout: source 10.0.0.(i % 3 + 1), source
    // network net-(i % 2), 100 * (i + 1) bytes.
    let dir = tempfile::tempdir().unwrap();
    place(
        dir.path(),
        "flow",
        "flow-before-2026-12.parquet",
        T0,
        T0 + 11 * MIN,
        1,
    );
    place(
        dir.path(),
        "session",
        "session-before-2026-12.parquet",
        T0,
        T0 + 11 * MIN,
        2,
    );
    let s = store(dir.path());
    let all = sums(
        &s,
        "FlowSeriesTable",
        "sourceip",
        "SUM(bytes)",
        T0,
        T0 + 60 * MIN,
    );
    assert_eq!(
        all,
        expect(&[("10.0.0.1", 2200), ("10.0.0.2", 2600), ("10.0.0.3", 3000)])
    );
    // A range that cuts the file's rows (the samples of minutes 5..11: i <= 6).
    let cut = sums(
        &s,
        "FlowSeriesTable",
        "sourceip",
        "SUM(bytes)",
        T0 + 5 * MIN,
        T0 + 60 * MIN,
    );
    assert_eq!(
        cut,
        expect(&[("10.0.0.1", 1200), ("10.0.0.2", 700), ("10.0.0.3", 900)])
    );
    let by_vn = sums(
        &s,
        "SessionSeriesTable",
        "vn",
        "SUM(forward_logged_bytes)",
        T0,
        T0 + 60 * MIN,
    );
    assert_eq!(
        by_vn,
        expect(&[
            ("default-domain:demo:net-0", 3600),
            ("default-domain:demo:net-1", 4200)
        ])
    );
    // New files beside the old ones: both counted.
    s.ingest(&[sample(T0 + 30 * MIN, 1, 9, 80, 5, 0)]).unwrap();
    s.flush().unwrap();
    drop(s);
    let s = store(dir.path());
    let all = sums(
        &s,
        "FlowSeriesTable",
        "sourceip",
        "SUM(bytes)",
        T0,
        T0 + 60 * MIN,
    );
    assert_eq!(
        all,
        expect(&[("10.0.0.1", 2205), ("10.0.0.2", 2600), ("10.0.0.3", 3000)])
    );
}

#[test]
fn large_batches_in_and_out_of_time_order_are_written_in_row_groups() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    // Two batches of 70,000 sessions (140,000 flow rows: more than one row group each)
    // over an hour, 5 sources: the first in time order (as vrouters send), the second
    // out of order.
    let n = 70_000u64;
    let step = 60 * MIN / n;
    let in_order: Vec<_> = (0..n)
        .map(|i| sample(T0 + i * step, (i % 5) as u8 + 1, 9, 80, i % 1000, 1))
        .collect();
    let shuffled: Vec<_> = (0..n)
        .map(|i| {
            sample(
                T0 + (i * 7919 % n) * step + 1,
                (i % 5) as u8 + 1,
                9,
                80,
                i % 997,
                1,
            )
        })
        .collect();
    s.ingest(&in_order).unwrap();
    s.flush().unwrap();
    s.ingest(&shuffled).unwrap();
    s.flush().unwrap();
    let samples: Vec<_> = in_order.iter().chain(&shuffled).cloned().collect();
    let model = |from: u64, to: u64| -> BTreeMap<String, i64> {
        let mut m = BTreeMap::new();
        for x in samples.iter().filter(|x| x.t_us >= from && x.t_us <= to) {
            *m.entry(x.source_ip.to_string()).or_default() += x.forward.diff_bytes as i64;
        }
        m
    };
    let mut files = s.files(Dataset::Flow, 0, i64::MAX);
    files.sort_by_key(|f| f.seq);
    assert_eq!(files.len(), 2);
    // The batch in order: row groups of successive time ranges (which a query's range
    // takes whole, without reading T).
    let r = SerializedFileReader::new(std::fs::File::open(&files[0].path).unwrap()).unwrap();
    let groups = r.num_row_groups();
    assert!(groups >= 2, "{groups} row groups");
    let mut last_hi = i64::MIN;
    for g in 0..groups {
        let Some(Statistics::Int64(st)) = r.metadata().row_group(g).column(0).statistics() else {
            panic!("T statistics");
        };
        let (lo, hi) = (*st.min_opt().unwrap(), *st.max_opt().unwrap());
        assert!(
            lo >= last_hi && lo <= hi,
            "row group {g}: [{lo}, {hi}] after {last_hi}"
        );
        last_hi = hi;
    }
    // The string pages are standard: the parquet crate's own reader decodes them too.
    let rg = r.get_row_group(0).unwrap();
    let col = Dataset::Flow.column("sourceip").unwrap();
    let mut reader = get_typed_column_reader::<ByteArrayType>(rg.get_column_reader(col).unwrap());
    let rows = rg.metadata().num_rows() as usize;
    let mut vals = Vec::new();
    while vals.len() < rows {
        let (n, _, _) = reader
            .read_records(rows - vals.len(), None, None, &mut vals)
            .unwrap();
        assert!(n > 0);
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for v in &vals {
        *seen.entry(v.as_utf8().unwrap().to_string()).or_default() += 1;
    }
    let sources: Vec<_> = seen.keys().cloned().collect();
    assert_eq!(
        sources,
        [
            "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.1.9"
        ]
    );
    let ranges = [
        (T0, T0 + 60 * MIN),
        (T0 + 10 * MIN, T0 + 50 * MIN),
        (T0 + 59 * MIN, T0 + 60 * MIN),
    ];
    for (from, to) in ranges {
        let got = sums(&s, "FlowSeriesTable", "sourceip", "SUM(bytes)", from, to);
        assert_eq!(got, model(from, to), "[{from}, {to}]");
    }
    drop(s);
    let s = store(dir.path());
    for (from, to) in ranges {
        let got = sums(&s, "FlowSeriesTable", "sourceip", "SUM(bytes)", from, to);
        assert_eq!(got, model(from, to), "[{from}, {to}] after reopening");
    }
}
