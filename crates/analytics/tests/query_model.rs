//! Properties: whatever the samples and wherever the batches were cut into files, grouped
//! aggregates (with a where clause, over a time range) equal the same computed directly
//! from the samples.

mod common;

use std::collections::BTreeMap;

use cirrus_analytics::query::{self, Bounds, EvalBounds};
use common::{MIN, T0, sample, store};
use proptest::prelude::*;
use serde_json::json;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn grouped_sums_match_the_model(
        recs in proptest::collection::vec((0u64..120, 1u8..6, 1u8..4, 75u16..90, 0u64..10_000), 1..60),
        cuts in proptest::collection::vec(0usize..60, 0..4),
        lo in 75i64..90, span in 0i64..10,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let samples: Vec<_> = recs.iter()
            .map(|&(m, src, dst, dport, b)| sample(T0 + m * MIN / 2, src, dst, dport, b, b / 2))
            .collect();
        let mut at = 0;
        let mut cuts = cuts.clone();
        cuts.sort();
        for c in cuts.into_iter().chain([samples.len()]) {
            let c = c.min(samples.len());
            if c > at {
                s.ingest(&samples[at..c]).unwrap();
                s.flush().unwrap();
                at = c;
            }
        }
        let hi = lo + span;
        let mut model: BTreeMap<(i64, String), i64> = BTreeMap::new();
        for x in &samples {
            if (x.dport as i64) < lo || x.dport as i64 > hi {
                continue;
            }
            let bucket = (x.t_us as i64).div_euclid(600_000_000) * 600_000_000;
            *model.entry((bucket, x.dest_ip.to_string())).or_default() += x.forward.diff_bytes as i64;
        }
        let body = json!({"table": "FlowSeriesTable", "start_time": T0, "end_time": T0 + 120 * MIN,
            "select_fields": ["T=600", "destip", "SUM(bytes)"], "dir": 1,
            "where": [[{"name": "dport", "value": lo.to_string(), "value2": hi.to_string(), "op": 3}]]});
        let q = query::parse(&body, T0 as i64, Bounds { max_range_us: i64::MAX, max_limit: 1000 }).unwrap();
        let out = query::run(&s, &q, EvalBounds { max_rows: 10_000, max_scan_rows: u64::MAX }).unwrap();
        let got: BTreeMap<(i64, String), i64> = out.rows.iter()
            .map(|r| ((r["T="].as_i64().unwrap(), r["destip"].as_str().unwrap().to_string()), r["SUM(bytes)"].as_i64().unwrap()))
            .collect();
        prop_assert_eq!(got.len(), out.rows.len());
        prop_assert_eq!(got, model);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// The one-string-key path (partials per dictionary id): every aggregate per source,
    /// over a time range that cuts files, some rows still in memory, with and without a
    /// where clause.
    #[test]
    fn one_key_aggregates_match_the_model(
        recs in proptest::collection::vec((0u64..120, 1u8..6, 1u8..4, 75u16..90, 0u64..10_000), 1..60),
        cuts in proptest::collection::vec(0usize..60, 0..4),
        from_min in 0u64..60, len_min in 0u64..80, narrow in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let samples: Vec<_> = recs.iter()
            .map(|&(m, src, dst, dport, b)| sample(T0 + m * MIN / 2, src, dst, dport, b, b / 2))
            .collect();
        let mut at = 0;
        let mut cuts = cuts.clone();
        cuts.sort();
        for c in cuts.into_iter().chain([samples.len()]) {
            let c = c.min(samples.len());
            if c > at {
                s.ingest(&samples[at..c]).unwrap();
                // The last part stays in the open batch.
                if c < samples.len() {
                    s.flush().unwrap();
                }
                at = c;
            }
        }
        let (from, to) = (T0 + from_min * MIN, T0 + (from_min + len_min) * MIN);
        // source -> (sum, count, min, max)
        let mut model: BTreeMap<String, (i64, i64, i64, i64)> = BTreeMap::new();
        for x in &samples {
            if x.t_us < from || x.t_us > to || (narrow && x.dport >= 82) {
                continue;
            }
            let b = x.forward.diff_bytes as i64;
            let e = model.entry(x.source_ip.to_string()).or_insert((0, 0, i64::MAX, i64::MIN));
            *e = (e.0 + b, e.1 + 1, e.2.min(b), e.3.max(b));
        }
        let mut body = json!({"table": "FlowSeriesTable", "start_time": from, "end_time": to,
            "select_fields": ["sourceip", "SUM(bytes)", "COUNT(bytes)", "MIN(bytes)", "MAX(bytes)", "AVG(bytes)"],
            "dir": 1});
        if narrow {
            body["where"] = json!([[{"name": "dport", "value": "0", "value2": "81", "op": 3}]]);
        }
        let q = query::parse(&body, T0 as i64, Bounds { max_range_us: i64::MAX, max_limit: 1000 }).unwrap();
        let out = query::run(&s, &q, EvalBounds { max_rows: 10_000, max_scan_rows: u64::MAX }).unwrap();
        let got: BTreeMap<String, (i64, i64, i64, i64)> = out.rows.iter()
            .map(|r| {
                let n = r["COUNT(bytes)"].as_i64().unwrap();
                let sum = r["SUM(bytes)"].as_i64().unwrap();
                assert!((r["AVG(bytes)"].as_f64().unwrap() - sum as f64 / n as f64).abs() < 1e-6);
                (r["sourceip"].as_str().unwrap().to_string(),
                 (sum, n, r["MIN(bytes)"].as_i64().unwrap(), r["MAX(bytes)"].as_i64().unwrap()))
            })
            .collect();
        prop_assert_eq!(got.len(), out.rows.len());
        prop_assert_eq!(got, model);
    }
}
