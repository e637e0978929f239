//! Property: whatever the samples and wherever the batches were cut into files, a grouped
//! sum with a where clause equals the same sum computed directly from the samples.

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
