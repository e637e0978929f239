//! Group commit for the redb backend: one dedicated writer thread owns all writes.
//!
//! Why: a redb commit with `Durability::Immediate` costs an fsync (milliseconds here), so one
//! commit per txn caps the store at a few hundred txns/s. The writer instead drains every
//! txn queued while the previous commit was in flight, applies them in order inside ONE
//! redb write transaction, commits (one fsync) and only then answers each caller. Each txn
//! still gets its own revision, and each txn's compares are evaluated against the state as
//! left by the txns before it in the same batch (redb's write transaction reads its own
//! uncommitted writes, so that comes for free).
//!
//! A failure anywhere in a batch aborts the whole redb transaction and fails every txn of
//! the batch: none of them was acknowledged, so none of them may be visible.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use redb::{Database, ReadableTable, Table};
use tokio::sync::{oneshot, watch};

use crate::history::{History, RevisionEvents};
use crate::redb::{KV, META, REVISION_KEY, decode_header, encode_value, map_redb};
use crate::types::{Event, KeyValue, Op, Revision, StoreError, Txn, TxnOutcome};

/// Upper bound on txns per commit, so that one batch's latency stays bounded under load.
const MAX_BATCH: usize = 4096;

struct Request {
    txn: Txn,
    reply: oneshot::Sender<Result<TxnOutcome, StoreError>>,
}

/// The handle the store keeps; dropping it stops the thread after the queued txns.
pub(crate) struct Writer {
    queue: Option<mpsc::Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread at revision `current`. `latest` announces each committed
    /// revision to watchers after it was appended to `history`.
    pub fn spawn(
        db: Arc<Database>,
        history: Arc<History>,
        latest: watch::Sender<Revision>,
        current: Revision,
    ) -> Result<Self, StoreError> {
        let (queue, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("cirrus-store-writer".into())
            .spawn(move || run(db, rx, history, latest, current))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Queues a (validated) txn and waits for its outcome.
    pub async fn submit(&self, txn: Txn) -> Result<TxnOutcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        let closed = || StoreError::Unavailable("the redb writer has stopped".into());
        self.queue
            .as_ref()
            .ok_or_else(closed)?
            .send(Request { txn, reply })
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has committed what it holds; joining
        // means the database file is released when the store is dropped (reopen works).
        self.queue.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the redb writer thread panicked");
        }
    }
}

fn run(
    db: Arc<Database>,
    rx: mpsc::Receiver<Request>,
    history: Arc<History>,
    latest: watch::Sender<Revision>,
    mut current: Revision,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(req) => batch.push(req),
                Err(_) => break,
            }
        }
        let (txns, replies): (Vec<Txn>, Vec<_>) =
            batch.into_iter().map(|r| (r.txn, r.reply)).unzip();
        let started = std::time::Instant::now();
        match commit_batch(&db, txns, current) {
            Ok(Committed {
                outcomes,
                revisions,
                current: new_current,
            }) => {
                tracing::debug!(
                    txns = replies.len(),
                    revisions = revisions.len(),
                    revision = new_current,
                    micros = started.elapsed().as_micros() as u64,
                    "redb batch committed"
                );
                current = new_current;
                // Publish before answering: a caller that saw `Committed { revision }` and
                // then watches from `revision` must find it in the history.
                history.publish(revisions, current);
                latest.send_replace(current);
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    // The caller may have given up waiting; its txn is committed anyway.
                    let _ = reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, txns = replies.len(), "redb batch commit failed");
                let msg = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(match &e {
                        StoreError::Corrupt(_) => StoreError::Corrupt(msg.clone()),
                        StoreError::Io(io) => {
                            StoreError::Io(std::io::Error::new(io.kind(), msg.clone()))
                        }
                        _ => StoreError::Backend(msg.clone()),
                    }));
                }
            }
        }
    }
}

struct Committed {
    outcomes: Vec<TxnOutcome>,
    revisions: Vec<RevisionEvents>,
    current: Revision,
}

/// Applies `txns` in order in one redb write transaction and commits it durably.
fn commit_batch(
    db: &Database,
    txns: Vec<Txn>,
    mut current: Revision,
) -> Result<Committed, StoreError> {
    let wtx = db.begin_write().map_err(map_redb)?;
    let mut outcomes = Vec::with_capacity(txns.len());
    let mut revisions = Vec::new();
    {
        let mut kv = wtx.open_table(KV).map_err(map_redb)?;
        for txn in txns {
            let outcome = apply_txn(&mut kv, txn, &mut current, &mut revisions)?;
            outcomes.push(outcome);
        }
        // The revision lives in the same transaction as the data it numbers, so a crash
        // can never leave one without the other, and revisions continue after a restart.
        let mut meta = wtx.open_table(META).map_err(map_redb)?;
        meta.insert(REVISION_KEY, current).map_err(map_redb)?;
    }
    wtx.commit().map_err(map_redb)?;
    Ok(Committed {
        outcomes,
        revisions,
        current,
    })
}

/// Evaluates one txn's compares against the batch's state so far and applies its ops at
/// `*current + 1` if they all hold. A txn that changes nothing keeps the revision.
fn apply_txn(
    kv: &mut Table<&str, &[u8]>,
    txn: Txn,
    current: &mut Revision,
    revisions: &mut Vec<RevisionEvents>,
) -> Result<TxnOutcome, StoreError> {
    for (i, cmp) in txn.compares.iter().enumerate() {
        let mod_revision = match kv.get(cmp.key()).map_err(map_redb)? {
            Some(v) => decode_header(cmp.key(), v.value())?.1,
            None => 0,
        };
        if !cmp.holds(mod_revision) {
            return Ok(TxnOutcome::Conflict { failed: i });
        }
    }
    let revision = *current + 1;
    let mut events = Vec::with_capacity(txn.ops.len());
    for op in txn.ops {
        match op {
            Op::Put { key, value } => {
                let create_revision = match kv.get(key.as_str()).map_err(map_redb)? {
                    Some(v) => decode_header(&key, v.value())?.0,
                    None => revision,
                };
                let stored = encode_value(create_revision, revision, &value);
                kv.insert(key.as_str(), stored.as_slice())
                    .map_err(map_redb)?;
                events.push(Event::Put(KeyValue {
                    key,
                    value,
                    create_revision,
                    mod_revision: revision,
                }));
            }
            Op::Delete { key } => {
                // Deleting an absent key changes nothing and makes no event (as etcd).
                if kv.remove(key.as_str()).map_err(map_redb)?.is_some() {
                    events.push(Event::Delete {
                        key,
                        mod_revision: revision,
                    });
                }
            }
        }
    }
    if !events.is_empty() {
        *current = revision;
        revisions.push(RevisionEvents { revision, events });
    }
    Ok(TxnOutcome::Committed { revision: *current })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TempDir;

    fn db(dir: &TempDir) -> Database {
        let db = Database::create(dir.path().join("t.redb")).unwrap();
        let wtx = db.begin_write().unwrap();
        wtx.open_table(KV).unwrap();
        wtx.open_table(META).unwrap();
        wtx.commit().unwrap();
        db
    }

    #[test]
    fn one_batch_sees_its_own_earlier_txns() {
        let dir = TempDir::new("cirrus-writer").unwrap();
        let db = db(&dir);
        let batch = vec![
            Txn::new().when_absent("/a").put("/a", "1"),
            // Sees the first txn's write: conflicts although /a was absent at batch start.
            Txn::new().when_absent("/a").put("/a", "2"),
            // Sees it too, at the revision the first one got.
            Txn::new()
                .when_revision("/a", 11)
                .put("/b", "3")
                .delete("/a"),
            // Changes nothing: keeps the revision.
            Txn::new().delete("/never"),
        ];
        let done = match commit_batch(&db, batch, 10) {
            Ok(done) => done,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            done.outcomes,
            vec![
                TxnOutcome::Committed { revision: 11 },
                TxnOutcome::Conflict { failed: 0 },
                TxnOutcome::Committed { revision: 12 },
                TxnOutcome::Committed { revision: 12 },
            ]
        );
        assert_eq!(done.current, 12);
        let revs: Vec<Revision> = done.revisions.iter().map(|r| r.revision).collect();
        assert_eq!(revs, vec![11, 12]);
        assert_eq!(done.revisions[1].events.len(), 2);
    }
}
