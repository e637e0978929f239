//! The data types every backend shares: key-values, transactions, events, watches, errors.

use std::collections::{HashSet, VecDeque};

/// A store revision. Cluster-wide, strictly increasing per committed txn that changes
/// something (as etcd's). A new store is at revision 1, so the first write is 2 (as
/// etcd); 0 means "never written" in a compare.
pub type Revision = i64;

/// A key with its value and the revisions that created and last modified it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
    pub create_revision: Revision,
    pub mod_revision: Revision,
}

/// A condition of a [`Txn`].
#[derive(Clone, Debug)]
pub enum Compare {
    /// The key's mod_revision equals `revision`; revision 0 means "the key does not exist".
    ModRevision { key: String, revision: Revision },
}

impl Compare {
    pub fn key(&self) -> &str {
        match self {
            Compare::ModRevision { key, .. } => key,
        }
    }

    /// Whether the compare holds for a key whose current mod_revision is `current`
    /// (0 when absent). Shared by both backends so they agree on the meaning.
    pub fn holds(&self, current: Revision) -> bool {
        match self {
            Compare::ModRevision { revision, .. } => current == *revision,
        }
    }
}

/// A write of a [`Txn`].
#[derive(Clone, Debug)]
pub enum Op {
    Put { key: String, value: Vec<u8> },
    Delete { key: String },
}

impl Op {
    pub fn key(&self) -> &str {
        match self {
            Op::Put { key, .. } | Op::Delete { key } => key,
        }
    }
}

/// A multi-key transaction: if all compares hold, all ops apply at one new revision.
#[derive(Clone, Debug, Default)]
pub struct Txn {
    pub compares: Vec<Compare>,
    pub ops: Vec<Op>,
}

impl Txn {
    pub fn new() -> Self {
        Self::default()
    }

    /// Require that `key` does not exist.
    pub fn when_absent(self, key: impl Into<String>) -> Self {
        self.when_revision(key, 0)
    }

    /// Require that `key` was last modified at `rev` (0: does not exist).
    pub fn when_revision(mut self, key: impl Into<String>, rev: Revision) -> Self {
        self.compares.push(Compare::ModRevision {
            key: key.into(),
            revision: rev,
        });
        self
    }

    pub fn put(mut self, key: impl Into<String>, value: impl Into<Vec<u8>>) -> Self {
        self.ops.push(Op::Put {
            key: key.into(),
            value: value.into(),
        });
        self
    }

    pub fn delete(mut self, key: impl Into<String>) -> Self {
        self.ops.push(Op::Delete { key: key.into() });
        self
    }

    /// Rejects what etcd rejects, so that both backends refuse the same txns: empty keys and
    /// a key written twice in one txn (which would make its single revision ambiguous).
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.compares.iter().any(|c| c.key().is_empty()) {
            return Err(StoreError::InvalidTxn("a compare has an empty key".into()));
        }
        let mut seen = HashSet::with_capacity(self.ops.len());
        for op in &self.ops {
            if op.key().is_empty() {
                return Err(StoreError::InvalidTxn("an op has an empty key".into()));
            }
            if !seen.insert(op.key()) {
                return Err(StoreError::InvalidTxn(format!(
                    "key {:?} is written more than once in one txn",
                    op.key()
                )));
            }
        }
        Ok(())
    }
}

/// What became of a [`Txn`].
#[derive(Clone, Debug, PartialEq)]
pub enum TxnOutcome {
    /// All compares held; the ops are applied at `revision`.
    Committed { revision: Revision },
    /// Index into compares of the first one that failed; nothing was applied.
    Conflict { failed: usize },
}

/// One change seen by a watch.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Put(KeyValue),
    Delete { key: String, mod_revision: Revision },
}

impl Event {
    pub fn key(&self) -> &str {
        match self {
            Event::Put(kv) => &kv.key,
            Event::Delete { key, .. } => key,
        }
    }

    pub fn revision(&self) -> Revision {
        match self {
            Event::Put(kv) => kv.mod_revision,
            Event::Delete { mod_revision, .. } => *mod_revision,
        }
    }
}

/// The result of a prefix read: the key-values sorted by key, and the revision they were
/// read at (watch from `revision + 1` to follow on without a gap).
#[derive(Clone, Debug)]
pub struct Range {
    pub kvs: Vec<KeyValue>,
    pub revision: Revision,
}

/// Errors of the store. Each says which key or revision it is about where there is one.
#[derive(thiserror::Error, Debug)]
pub enum StoreError {
    /// The requested revision's history is no longer kept.
    #[error("revision {requested} is compacted: the oldest revision still watchable is {oldest}")]
    Compacted {
        requested: Revision,
        oldest: Revision,
    },
    /// The backend cannot be reached or has shut down; retrying later may work.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Stored data cannot be decoded.
    #[error("store data corrupt: {0}")]
    Corrupt(String),
    #[error("store I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The txn itself is malformed (empty key, same key written twice, too many ops).
    #[error("invalid txn: {0}")]
    InvalidTxn(String),
    /// The `--store` spec cannot be understood.
    #[error("invalid store spec: {0}")]
    InvalidSpec(String),
    /// Any other backend failure.
    #[error("store backend error: {0}")]
    Backend(String),
}

/// The backend side of a [`Watch`]: yields batches of events, one revision per batch.
#[async_trait::async_trait]
pub(crate) trait WatchSource: Send + 'static {
    /// Some events (possibly of several revisions, in order), `None` when the watch ended.
    async fn next_events(&mut self) -> Option<Result<Vec<Event>, StoreError>>;
}

/// A stream of events on a prefix, grouped per revision, in revision order.
/// After an `Err` the watch is over (the next call returns `None`).
pub struct Watch {
    source: Box<dyn WatchSource>,
    /// Events already received but not yet handed out, in revision order.
    pending: VecDeque<Event>,
    done: bool,
}

impl Watch {
    pub(crate) fn new(source: Box<dyn WatchSource>) -> Self {
        Self {
            source,
            pending: VecDeque::new(),
            done: false,
        }
    }

    /// The events of the next revision (never empty), or the error that ended the watch,
    /// or `None` once the watch is over (store closed, or after an error).
    pub async fn next(&mut self) -> Option<Result<Vec<Event>, StoreError>> {
        if self.done {
            return None;
        }
        while self.pending.is_empty() {
            match self.source.next_events().await {
                Some(Ok(events)) => self.pending.extend(events),
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                None => {
                    self.done = true;
                    return None;
                }
            }
        }
        // A backend batch may span several revisions; hand out one at a time. A revision's
        // events are never split across batches by either backend.
        let rev = self.pending.front().map(Event::revision)?;
        let mut group = Vec::new();
        while self.pending.front().is_some_and(|e| e.revision() == rev) {
            group.extend(self.pending.pop_front());
        }
        Some(Ok(group))
    }
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("pending", &self.pending.len())
            .field("done", &self.done)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validate_rejects_duplicate_and_empty_keys() {
        assert!(Txn::new().put("/a", "1").delete("/b").validate().is_ok());
        assert!(Txn::new().put("/a", "1").delete("/a").validate().is_err());
        assert!(Txn::new().put("", "1").validate().is_err());
        assert!(Txn::new().when_absent("").validate().is_err());
    }

    #[test]
    fn builders_fill_compares_and_ops() {
        let t = Txn::new()
            .when_absent("/a")
            .when_revision("/b", 7)
            .put("/a", b"x".to_vec())
            .delete("/b");
        assert_eq!(t.compares.len(), 2);
        assert!(t.compares[0].holds(0));
        assert!(t.compares[1].holds(7));
        assert_eq!(t.ops.len(), 2);
    }
}
