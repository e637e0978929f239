//! The writer thread: batches sealed while ingest goes on are counted exactly once by a
//! query, whether they are still in memory, being written or already files; frames are
//! taken whole or not at all; strings read back page by page (dictionary and plain pages)
//! equal what was stored.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use cirrus_analytics::query::{self, Bounds, EvalBounds};
use cirrus_analytics::schema::Dataset;
use cirrus_analytics::store::{Store, StoreConfig};
use cirrus_analytics::wire;
use common::{MIN, T0, sample};
use serde_json::{Value, json};

const BOUNDS: Bounds = Bounds {
    max_range_us: 24 * 3_600_000_000,
    max_limit: 10_000,
};
const EVAL: EvalBounds = EvalBounds {
    max_rows: 10_000,
    max_scan_rows: 100_000_000,
};

fn small_store(dir: &std::path::Path, flush_rows: usize) -> Store {
    Store::open(StoreConfig {
        dir: dir.to_path_buf(),
        retention_us: 2 * 3_600_000_000,
        flush_rows,
    })
    .unwrap()
}

fn sums_by_source(s: &Store) -> BTreeMap<String, i64> {
    let body = json!({"table": "FlowSeriesTable", "start_time": T0, "end_time": T0 + 60 * MIN,
                      "select_fields": ["sourceip", "SUM(bytes)"]});
    let q = query::parse(&body, (T0 + 60 * MIN) as i64, BOUNDS).unwrap();
    query::run(s, &q, EVAL)
        .unwrap()
        .rows
        .into_iter()
        .map(|r| {
            (
                r["sourceip"].as_str().unwrap().to_string(),
                r["SUM(bytes)"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn batches_sealed_during_ingest_are_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = Arc::new(small_store(dir.path(), 10));
    let samples: Vec<_> = (0..600u64)
        .map(|i| sample(T0 + i * 1000, (i % 7) as u8 + 1, 9, 80, 10 + i, 1))
        .collect();
    let mut model: BTreeMap<String, i64> = BTreeMap::new();
    for x in &samples {
        *model.entry(x.source_ip.to_string()).or_default() += x.forward.diff_bytes as i64;
        *model.entry(x.dest_ip.to_string()).or_default() +=
            x.reverse.as_ref().unwrap().diff_bytes as i64;
    }
    // A reader queries all along while frames arrive and the writer turns them into files:
    // every answer is a prefix of the ingest, never a row counted twice.
    let reader = {
        let s = s.clone();
        std::thread::spawn(move || {
            let mut seen = 0;
            for _ in 0..40 {
                let total: i64 = sums_by_source(&s).values().sum();
                assert!(total >= seen, "a query saw fewer rows than the one before");
                seen = total;
            }
            seen
        })
    };
    for chunk in samples.chunks(37) {
        let mut f = Vec::new();
        wire::encode_frame(chunk, &mut f);
        assert_eq!(s.ingest_frame(&f[8..]).unwrap() as usize, chunk.len());
    }
    let total: i64 = model.values().sum();
    assert!(reader.join().unwrap() <= total);
    assert_eq!(sums_by_source(&s), model, "before the last flush");
    s.flush().unwrap();
    assert!(s.files(Dataset::Flow, 0, i64::MAX).len() > 10);
    assert_eq!(sums_by_source(&s), model, "all in files");
    let st = s.stats();
    assert_eq!(st.samples, 600);
    assert_eq!(st.write_errors, 0);

    // Reopened, the files alone give the same answer, and new files get new names.
    drop(s);
    let s = small_store(dir.path(), 10);
    assert_eq!(sums_by_source(&s), model, "after reopening");
    let before = s.files(Dataset::Flow, 0, i64::MAX).len();
    s.ingest(&samples[..3]).unwrap();
    s.flush().unwrap();
    assert_eq!(s.files(Dataset::Flow, 0, i64::MAX).len(), before + 1);
}

#[test]
fn a_frame_that_does_not_decode_is_not_taken_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let s = small_store(dir.path(), 1 << 20);
    let mut f = Vec::new();
    wire::encode_frame(
        &[sample(T0, 1, 2, 80, 5, 5), sample(T0, 3, 4, 80, 5, 5)],
        &mut f,
    );
    let cut = &f[8..f.len() - 3];
    let e = s.ingest_frame(cut).unwrap_err();
    assert_eq!(
        e,
        wire::WireError::Truncated {
            record: 1,
            field: "diff_packets"
        }
    );
    assert_eq!(s.stats().samples, 0);
    assert!(sums_by_source(&s).is_empty());
}

#[test]
fn strings_read_back_from_dictionary_and_plain_pages() {
    let dir = tempfile::tempdir().unwrap();
    let s = small_store(dir.path(), 1 << 20);
    // 40k distinct virtual-machine-interface names of 60 bytes: more than Parquet's 1 MB
    // dictionary page holds, so the column falls back to plain pages part way.
    let samples: Vec<_> = (0..40_000u64)
        .map(|i| {
            let mut x = sample(T0 + i, (i % 200) as u8 + 1, 9, 80, 1, 1);
            x.vmi = format!("vmi-{i:056}");
            x
        })
        .collect();
    s.ingest(&samples).unwrap();
    s.flush().unwrap();
    let body = json!({"table": "FlowSeriesTable", "start_time": T0, "end_time": T0 + 60 * MIN,
                      "select_fields": ["vmi", "sourceip", "COUNT(flow)"],
                      "where": [[{"name": "direction_ing", "value": "1", "op": 1}]]});
    let q = query::parse(&body, (T0 + 60 * MIN) as i64, BOUNDS).unwrap();
    let rows: Vec<Value> = query::run(
        &s,
        &q,
        EvalBounds {
            max_rows: 100_000,
            ..EVAL
        },
    )
    .unwrap()
    .rows
    .into_iter()
    .map(Value::Object)
    .collect();
    assert_eq!(rows.len(), 40_000);
    let mut got: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["vmi"].as_str().unwrap().to_string(),
                r["sourceip"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want: Vec<(String, String)> = samples
        .iter()
        .map(|x| (x.vmi.clone(), x.source_ip.to_string()))
        .collect();
    want.sort();
    assert_eq!(got, want);
}
