//! Counters by label values, for events nobody counted before (store transactions by outcome).

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::text::{Exposition, Kind};

/// A counter family: one `u64` per combination of label values, created on first use.
#[derive(Debug)]
pub struct CounterVec {
    labels: &'static [&'static str],
    by: Mutex<BTreeMap<Vec<String>, u64>>,
}

impl CounterVec {
    pub fn new(labels: &'static [&'static str]) -> CounterVec {
        CounterVec {
            labels,
            by: Mutex::new(BTreeMap::new()),
        }
    }

    /// Adds `n` to the counter of these label values (in the order of the label names).
    pub fn add(&self, values: &[&str], n: u64) {
        debug_assert_eq!(values.len(), self.labels.len());
        let key: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        *self
            .by
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default() += n;
    }

    pub fn inc(&self, values: &[&str]) {
        self.add(values, 1);
    }

    /// The counter of these label values.
    pub fn get(&self, values: &[&str]) -> u64 {
        let key: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        self.by
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .copied()
            .unwrap_or(0)
    }

    /// Starts the counter family `name` (ending in `_total`) in `e` and writes every counter.
    pub fn write(&self, e: &mut Exposition, name: &str, help: &str) {
        e.family(name, Kind::Counter, help);
        let by = self.by.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for (values, n) in by {
            let labels: Vec<(&str, &str)> = self
                .labels
                .iter()
                .copied()
                .zip(values.iter().map(String::as_str))
                .collect();
            e.sample(&labels, n as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_labels() {
        let c = CounterVec::new(&["outcome"]);
        c.inc(&["committed"]);
        c.add(&["committed"], 2);
        c.inc(&["conflict"]);
        assert_eq!(c.get(&["committed"]), 3);
        let mut e = Exposition::new();
        c.write(&mut e, "cirrus_t_total", "T.");
        assert_eq!(
            e.finish(),
            "# HELP cirrus_t_total T.\n# TYPE cirrus_t_total counter\n\
             cirrus_t_total{outcome=\"committed\"} 3\n\
             cirrus_t_total{outcome=\"conflict\"} 1\n"
        );
    }
}
