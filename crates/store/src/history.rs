//! The redb backend's watch history: an in-memory ring of the most recent revisions' events,
//! and the watch source that reads it.
//!
//! redb keeps only current values, so watch-from-revision needs its own log. It is kept in
//! memory (bounded by revision count and bytes) because a watcher that fell further behind
//! than that resyncs from a range read anyway, exactly as with a compacted etcd. After a
//! restart the ring starts empty: revisions up to the one found on disk are "compacted".
//!
//! Watchers do not get their own channel: they read the ring by revision and sleep on a
//! `tokio::sync::watch` of the latest revision. So a slow watcher costs the writer nothing;
//! it only risks finding its next revision trimmed, which it reports as `Compacted`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::types::{Event, Revision, StoreError, WatchSource};

/// Bounds of the ring. Whichever is hit first trims the oldest revisions. The defaults keep
/// 100k revisions (minutes of peak write load) within 128 MiB, so that a watcher that
/// blinks (a reconnecting controller) resumes instead of reloading everything.
#[derive(Clone, Copy, Debug)]
pub struct HistoryLimits {
    pub max_revisions: usize,
    pub max_bytes: usize,
}

impl Default for HistoryLimits {
    fn default() -> Self {
        Self {
            max_revisions: 100_000,
            max_bytes: 128 << 20,
        }
    }
}

/// The events of one committed revision.
#[derive(Debug)]
pub(crate) struct RevisionEvents {
    pub revision: Revision,
    pub events: Vec<Event>,
}

impl RevisionEvents {
    /// Approximate memory held, for the byte bound.
    fn bytes(&self) -> usize {
        self.events
            .iter()
            .map(|e| match e {
                Event::Put(kv) => kv.key.len() + kv.value.len() + 64,
                Event::Delete { key, .. } => key.len() + 48,
            })
            .sum()
    }
}

struct Ring {
    entries: VecDeque<(Arc<RevisionEvents>, usize)>,
    bytes: usize,
    /// Every revision <= this is gone (trimmed, compacted, or from before the last restart).
    compacted_through: Revision,
    /// The latest committed revision.
    current: Revision,
}

/// The shared ring. The writer appends after each commit; watchers read.
pub(crate) struct History {
    ring: Mutex<Ring>,
    limits: HistoryLimits,
}

/// At most this many revisions are scanned per lock hold, so that a watcher on a quiet
/// prefix that is far behind does not hold the lock (and so the writer) for long.
const SCAN_PER_LOCK: usize = 4096;

impl History {
    /// An empty ring at revision `current`; revisions up to `compacted_through` cannot be
    /// replayed.
    pub fn new(current: Revision, compacted_through: Revision, limits: HistoryLimits) -> Self {
        Self {
            ring: Mutex::new(Ring {
                entries: VecDeque::new(),
                bytes: 0,
                compacted_through,
                current,
            }),
            limits,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        // A panic while holding the lock cannot leave the ring inconsistent in a way that
        // matters more than losing the process, so poisoning is ignored.
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends the revisions of one committed batch (in order) and trims to the limits.
    pub fn publish(&self, revisions: Vec<RevisionEvents>, current: Revision) {
        let mut ring = self.lock();
        for r in revisions {
            let bytes = r.bytes();
            ring.bytes += bytes;
            ring.entries.push_back((Arc::new(r), bytes));
        }
        ring.current = current;
        while ring.entries.len() > self.limits.max_revisions
            || (ring.bytes > self.limits.max_bytes && ring.entries.len() > 1)
        {
            if let Some((old, bytes)) = ring.entries.pop_front() {
                ring.bytes -= bytes;
                ring.compacted_through = old.revision;
            }
        }
    }

    /// Forgets revisions older than `revision` (etcd's compact).
    pub fn compact(&self, revision: Revision) {
        let mut ring = self.lock();
        let through = (revision - 1).min(ring.current);
        while ring
            .entries
            .front()
            .is_some_and(|(e, _)| e.revision <= through)
        {
            if let Some((_, bytes)) = ring.entries.pop_front() {
                ring.bytes -= bytes;
            }
        }
        ring.compacted_through = ring.compacted_through.max(through);
    }

    /// Where a new watch starts, or `Compacted` if that history is gone.
    pub fn start(&self, from_revision: Revision) -> Result<Revision, StoreError> {
        let ring = self.lock();
        if from_revision <= 0 {
            return Ok(ring.current + 1);
        }
        check_retained(&ring, from_revision)?;
        Ok(from_revision)
    }

    /// Events on `prefix` from revision `*next` on, and advances `*next` past what was
    /// scanned. Returns whether more revisions are waiting to be scanned.
    fn collect(
        &self,
        prefix: &str,
        next: &mut Revision,
        out: &mut Vec<Event>,
    ) -> Result<bool, StoreError> {
        let ring = self.lock();
        check_retained(&ring, *next)?;
        let start = ring.entries.partition_point(|(e, _)| e.revision < *next);
        for (scanned, (entry, _)) in ring.entries.range(start..).enumerate() {
            if scanned == SCAN_PER_LOCK || out.len() >= 1024 {
                return Ok(true);
            }
            out.extend(
                entry
                    .events
                    .iter()
                    .filter(|e| e.key().starts_with(prefix))
                    .cloned(),
            );
            *next = entry.revision + 1;
        }
        Ok(false)
    }
}

fn check_retained(ring: &Ring, revision: Revision) -> Result<(), StoreError> {
    if revision <= ring.compacted_through {
        return Err(StoreError::Compacted {
            requested: revision,
            oldest: ring.compacted_through + 1,
        });
    }
    Ok(())
}

/// One watcher over the ring.
pub(crate) struct HistoryWatch {
    history: Arc<History>,
    /// Latest committed revision; closed when the writer (the store) is gone.
    latest: watch::Receiver<Revision>,
    prefix: String,
    next: Revision,
}

impl HistoryWatch {
    pub fn new(
        history: Arc<History>,
        latest: watch::Receiver<Revision>,
        prefix: String,
        next: Revision,
    ) -> Self {
        Self {
            history,
            latest,
            prefix,
            next,
        }
    }
}

#[async_trait::async_trait]
impl WatchSource for HistoryWatch {
    async fn next_events(&mut self) -> Option<Result<Vec<Event>, StoreError>> {
        loop {
            // Mark the current value seen BEFORE reading the ring: the writer appends to the
            // ring before it announces a revision, so anything appended after this read
            // wakes `changed()` below and nothing is missed.
            self.latest.borrow_and_update();
            let mut out = Vec::new();
            let more = match self.history.collect(&self.prefix, &mut self.next, &mut out) {
                Ok(more) => more,
                Err(e) => return Some(Err(e)),
            };
            if !out.is_empty() {
                return Some(Ok(out));
            }
            if more {
                tokio::task::yield_now().await;
                continue;
            }
            if self.latest.changed().await.is_err() {
                // The store is closed. Hand out anything published before it closed.
                let mut out = Vec::new();
                while let Ok(true) = self.history.collect(&self.prefix, &mut self.next, &mut out) {
                    if !out.is_empty() {
                        break;
                    }
                }
                return if out.is_empty() { None } else { Some(Ok(out)) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::KeyValue;

    fn put(key: &str, rev: Revision) -> Event {
        Event::Put(KeyValue {
            key: key.into(),
            value: vec![1; 10],
            create_revision: rev,
            mod_revision: rev,
        })
    }

    fn publish(h: &History, revs: std::ops::RangeInclusive<Revision>) {
        let last = *revs.end();
        let batch = revs
            .map(|r| RevisionEvents {
                revision: r,
                events: vec![put(&format!("/k/{r}"), r)],
            })
            .collect();
        h.publish(batch, last);
    }

    #[test]
    fn trims_to_revision_limit_and_reports_compacted() {
        let h = History::new(
            0,
            0,
            HistoryLimits {
                max_revisions: 3,
                max_bytes: usize::MAX,
            },
        );
        publish(&h, 1..=5);
        assert!(matches!(
            h.start(2),
            Err(StoreError::Compacted {
                requested: 2,
                oldest: 3
            })
        ));
        assert_eq!(h.start(3).unwrap(), 3);
        assert_eq!(h.start(0).unwrap(), 6);
        let mut next = 3;
        let mut out = Vec::new();
        assert!(!h.collect("/k/", &mut next, &mut out).unwrap());
        assert_eq!(out.len(), 3);
        assert_eq!(next, 6);
    }

    #[test]
    fn compact_drops_older_revisions() {
        let h = History::new(0, 0, HistoryLimits::default());
        publish(&h, 1..=5);
        h.compact(4);
        assert!(h.start(3).is_err());
        assert_eq!(h.start(4).unwrap(), 4);
    }
}
