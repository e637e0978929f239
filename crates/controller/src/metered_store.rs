//! The config store as the controller uses it, with each transaction counted by outcome and
//! timed, and the time from each commit until the API's index applied it through the watch
//! (the watch lag). Reads, watches and leases pass through untouched.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cirrus_metrics::{CounterVec, Exposition, Histogram, LATENCY_BUCKETS};
use cirrus_store::{Lease, Range, Revision, Store, StoreError, Txn, TxnOutcome, Watch};

/// Commits remembered until the index applies them; older ones are forgotten (and not timed).
const PENDING: usize = 4096;

/// What the wrapper measured.
#[derive(Debug)]
pub struct StoreMetrics {
    txns: CounterVec,
    txn_seconds: Histogram,
    watch_lag_seconds: Histogram,
    /// Revisions this process committed, and when, oldest first.
    pending: Mutex<VecDeque<(Revision, Instant)>>,
}

impl StoreMetrics {
    fn new() -> StoreMetrics {
        StoreMetrics {
            txns: CounterVec::new(&["outcome"]),
            txn_seconds: Histogram::new(LATENCY_BUCKETS),
            watch_lag_seconds: Histogram::new(LATENCY_BUCKETS),
            pending: Mutex::new(VecDeque::new()),
        }
    }

    /// The index has applied every revision up to `revision`: times the commits it covers.
    pub fn applied(&self, revision: Revision) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        while p.front().is_some_and(|(r, _)| *r <= revision) {
            if let Some((_, at)) = p.pop_front() {
                self.watch_lag_seconds.observe(at.elapsed().as_secs_f64());
            }
        }
    }

    fn committed(&self, revision: Revision, at: Instant) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if p.back().is_some_and(|(r, _)| *r >= revision) {
            return; // an empty txn answers the current revision: nothing new to wait for
        }
        if p.len() == PENDING {
            p.pop_front();
        }
        p.push_back((revision, at));
    }

    /// Transactions so far with `outcome` (committed, conflict, error).
    pub fn txns(&self, outcome: &str) -> u64 {
        self.txns.get(&[outcome])
    }

    pub fn write(&self, e: &mut Exposition) {
        self.txns.write(
            e,
            "cirrus_store_transactions_total",
            "Config store transactions by outcome (committed, conflict: a compare failed, error).",
        );
        self.txn_seconds.write(
            e,
            "cirrus_store_transaction_duration_seconds",
            "Time a config store transaction took, queueing and fsync included.",
        );
        self.watch_lag_seconds.write(
            e,
            "cirrus_store_watch_lag_seconds",
            "Time from a commit of this process until the API index applied it from the store's watch.",
        );
    }
}

/// A store that measures its transactions.
pub struct MeteredStore {
    inner: Arc<dyn Store>,
    pub metrics: Arc<StoreMetrics>,
}

impl MeteredStore {
    pub fn wrap(inner: Arc<dyn Store>) -> (Arc<dyn Store>, Arc<StoreMetrics>) {
        let metrics = Arc::new(StoreMetrics::new());
        let s = MeteredStore {
            inner,
            metrics: metrics.clone(),
        };
        (Arc::new(s), metrics)
    }
}

#[async_trait::async_trait]
impl Store for MeteredStore {
    async fn get(&self, key: &str) -> Result<Option<cirrus_store::KeyValue>, StoreError> {
        self.inner.get(key).await
    }

    async fn range(&self, prefix: &str) -> Result<Range, StoreError> {
        self.inner.range(prefix).await
    }

    async fn txn(&self, txn: Txn) -> Result<TxnOutcome, StoreError> {
        let started = Instant::now();
        let r = self.inner.txn(txn).await;
        let m = &self.metrics;
        m.txn_seconds.observe(started.elapsed().as_secs_f64());
        match &r {
            Ok(TxnOutcome::Committed { revision }) => {
                m.txns.inc(&["committed"]);
                m.committed(*revision, Instant::now());
            }
            Ok(TxnOutcome::Conflict { .. }) => m.txns.inc(&["conflict"]),
            Err(_) => m.txns.inc(&["error"]),
        }
        r
    }

    async fn watch(&self, prefix: &str, from_revision: Revision) -> Result<Watch, StoreError> {
        self.inner.watch(prefix, from_revision).await
    }

    async fn revision(&self) -> Result<Revision, StoreError> {
        self.inner.revision().await
    }

    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        self.inner.compact(revision).await
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Lease, StoreError> {
        self.inner.acquire_lease(name, holder, ttl).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_timed_once_per_commit_when_applied() {
        let m = StoreMetrics::new();
        let t = Instant::now();
        m.committed(5, t);
        m.committed(5, t); // an empty txn answering the same revision
        m.committed(7, t);
        m.applied(4);
        assert_eq!(m.watch_lag_seconds.count(), 0);
        m.applied(6);
        assert_eq!(m.watch_lag_seconds.count(), 1);
        m.applied(9);
        assert_eq!(m.watch_lag_seconds.count(), 2);
    }
}
