//! Histograms with fixed upper bounds, updated lock-free, and a family of them by labels.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::text::{Exposition, Kind};

/// Bounds for latencies in seconds: 100 µs to 10 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// One histogram: a count per bucket (not cumulative; the exposition sums them), the sum of
/// every observation.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// `bounds.len() + 1` counts, the last for values above every bound.
    counts: Box<[AtomicU64]>,
    sum_bits: AtomicU64,
}

impl Histogram {
    /// A histogram over `bounds`, which must be sorted and finite.
    pub fn new(bounds: &'static [f64]) -> Histogram {
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]));
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_bits: AtomicU64::new(0f64.to_bits()),
        }
    }

    /// Counts `v` in the first bucket whose bound is >= `v`.
    pub fn observe(&self, v: f64) {
        let i = self.bounds.partition_point(|b| *b < v);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        let mut cur = self.sum_bits.load(Ordering::Relaxed);
        loop {
            let next = (f64::from_bits(cur) + v).to_bits();
            match self.sum_bits.compare_exchange_weak(
                cur,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break,
                Err(seen) => cur = seen,
            }
        }
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// The sum of the observations.
    pub fn sum(&self) -> f64 {
        f64::from_bits(self.sum_bits.load(Ordering::Relaxed))
    }

    /// Writes the `_bucket`, `_sum` and `_count` samples of this histogram into the current
    /// family of `e`.
    pub fn encode(&self, e: &mut Exposition, labels: &[(&str, &str)]) {
        let family = e.current().to_string();
        let mut cumulative = 0u64;
        for (i, b) in self.bounds.iter().enumerate() {
            cumulative += self.counts[i].load(Ordering::Relaxed);
            e.line(&family, "_bucket", labels, Some(*b), cumulative as f64);
        }
        cumulative += self.counts[self.bounds.len()].load(Ordering::Relaxed);
        e.line(
            &family,
            "_bucket",
            labels,
            Some(f64::INFINITY),
            cumulative as f64,
        );
        e.line(&family, "_sum", labels, None, self.sum());
        e.line(&family, "_count", labels, None, cumulative as f64);
    }

    /// Starts the family `name` in `e` and writes this one histogram.
    pub fn write(&self, e: &mut Exposition, name: &str, help: &str) {
        e.family(name, Kind::Histogram, help);
        self.encode(e, &[]);
    }
}

/// Histograms by label values (`method`, `type`, `status`, ...), created on first use.
#[derive(Debug)]
pub struct HistogramVec {
    labels: &'static [&'static str],
    bounds: &'static [f64],
    by: Mutex<BTreeMap<Vec<String>, Arc<Histogram>>>,
}

impl HistogramVec {
    pub fn new(labels: &'static [&'static str], bounds: &'static [f64]) -> HistogramVec {
        HistogramVec {
            labels,
            bounds,
            by: Mutex::new(BTreeMap::new()),
        }
    }

    /// The histogram of these label values (in the order of the label names).
    pub fn with(&self, values: &[&str]) -> Arc<Histogram> {
        debug_assert_eq!(values.len(), self.labels.len());
        let key: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        let mut by = self.by.lock().unwrap_or_else(|p| p.into_inner());
        by.entry(key)
            .or_insert_with(|| Arc::new(Histogram::new(self.bounds)))
            .clone()
    }

    pub fn observe(&self, values: &[&str], v: f64) {
        self.with(values).observe(v);
    }

    /// Starts the family `name` in `e` and writes every histogram of it.
    pub fn write(&self, e: &mut Exposition, name: &str, help: &str) {
        e.family(name, Kind::Histogram, help);
        let by: Vec<(Vec<String>, Arc<Histogram>)> = self
            .by
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (values, h) in by {
            let labels: Vec<(&str, &str)> = self
                .labels
                .iter()
                .copied()
                .zip(values.iter().map(String::as_str))
                .collect();
            h.encode(e, &labels);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_with_sum_and_count() {
        static B: &[f64] = &[0.1, 1.0];
        let h = Histogram::new(B);
        for v in [0.05, 0.1, 0.5, 3.0] {
            h.observe(v);
        }
        let mut e = Exposition::new();
        h.write(&mut e, "cirrus_x_seconds", "X.");
        assert_eq!(
            e.finish(),
            "# HELP cirrus_x_seconds X.\n# TYPE cirrus_x_seconds histogram\n\
             cirrus_x_seconds_bucket{le=\"0.1\"} 2\n\
             cirrus_x_seconds_bucket{le=\"1\"} 3\n\
             cirrus_x_seconds_bucket{le=\"+Inf\"} 4\n\
             cirrus_x_seconds_sum 3.65\n\
             cirrus_x_seconds_count 4\n"
        );
    }

    #[test]
    fn by_labels() {
        static B: &[f64] = &[1.0];
        let v = HistogramVec::new(&["method", "status"], B);
        v.observe(&["GET", "200"], 0.5);
        v.observe(&["GET", "200"], 2.0);
        v.observe(&["POST", "409"], 0.5);
        assert_eq!(v.with(&["GET", "200"]).count(), 2);
        let mut e = Exposition::new();
        v.write(&mut e, "cirrus_y_seconds", "Y.");
        let text = e.finish();
        assert!(
            text.contains("cirrus_y_seconds_bucket{method=\"GET\",status=\"200\",le=\"1\"} 1\n")
        );
        assert!(text.contains("cirrus_y_seconds_count{method=\"POST\",status=\"409\"} 1\n"));
    }
}
