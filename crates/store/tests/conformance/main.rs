//! One conformance suite, run against every backend: each case in `cases` becomes one test
//! per backend (`redb::<case>`, `etcd::<case>`).
//!
//! The etcd tests start a real etcd (Debian's `etcd-server`) on random loopback ports and
//! FAIL, saying how to install it, when the binary is missing.

mod cases;

use std::sync::Arc;

use cirrus_store::testing::{EtcdServer, TempDir};
use cirrus_store::{RedbOptions, RedbStore, Store};

use cases::Harness;

/// A redb store in a temp dir.
struct RedbHarness {
    dir: TempDir,
    store: Option<Arc<dyn Store>>,
}

impl RedbHarness {
    async fn new() -> Self {
        let dir = TempDir::new("cirrus-store-conf").unwrap();
        let store = open_redb(&dir).await;
        Self {
            dir,
            store: Some(store),
        }
    }
}

async fn open_redb(dir: &TempDir) -> Arc<dyn Store> {
    Arc::new(
        RedbStore::open(dir.path(), RedbOptions::default())
            .await
            .unwrap(),
    )
}

#[async_trait::async_trait]
impl Harness for RedbHarness {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone().unwrap()
    }

    async fn reopen(&mut self) {
        // Dropping the last handle joins the writer and releases the file lock.
        let store = self.store.take().unwrap();
        assert_eq!(
            Arc::strong_count(&store),
            1,
            "the case must drop its handles before reopen"
        );
        drop(store);
        self.store = Some(open_redb(&self.dir).await);
    }
}

/// A fresh etcd server and a client on it.
struct EtcdHarness {
    server: EtcdServer,
    store: Arc<dyn Store>,
}

impl EtcdHarness {
    async fn new() -> Self {
        let server = EtcdServer::start().unwrap_or_else(|e| panic!("{e}"));
        let store = cirrus_store::open(&server.spec()).await.unwrap();
        Self { server, store }
    }
}

#[async_trait::async_trait]
impl Harness for EtcdHarness {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    async fn reopen(&mut self) {
        self.store = cirrus_store::open_etcd(&[self.server.endpoint().to_string()])
            .await
            .unwrap();
    }
}

macro_rules! conformance {
    ($($case:ident),* $(,)?) => {
        mod redb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let mut h = super::RedbHarness::new().await;
                    super::cases::$case(&mut h).await;
                }
            )*
        }
        mod etcd {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let mut h = super::EtcdHarness::new().await;
                    super::cases::$case(&mut h).await;
                }
            )*
        }
    };
}

conformance!(
    put_get,
    range_by_prefix,
    txn_compare_conflict,
    multi_key_atomicity,
    revisions_monotonic,
    invalid_txn_is_refused,
    watch_replays_then_goes_live,
    watch_filters_by_prefix,
    watch_from_now,
    delete_events,
    concurrent_cas_one_winner,
    reopen_keeps_data_and_revision,
    compacted_revision_errors,
    watch_many_revisions_in_order,
    range_large_is_complete_and_sorted,
    lease_one_holder_at_a_time,
);

/// redb only: the in-memory history is bounded; asking for what fell out is `Compacted`.
#[tokio::test]
async fn redb_history_limit_reports_compacted() {
    let dir = TempDir::new("cirrus-store-conf").unwrap();
    let store = RedbStore::open(
        dir.path(),
        RedbOptions::default().with_history_revisions(10),
    )
    .await
    .unwrap();
    let mut first = 0;
    for i in 0..30 {
        let r = match store
            .txn(cirrus_store::Txn::new().put("/h/a", format!("{i}")))
            .await
            .unwrap()
        {
            cirrus_store::TxnOutcome::Committed { revision } => revision,
            other => panic!("{other:?}"),
        };
        if i == 0 {
            first = r;
        }
    }
    let err = store.watch("/h/", first).await.unwrap_err();
    assert!(
        matches!(err, cirrus_store::StoreError::Compacted { .. }),
        "{err:?}"
    );
    let current = store.revision().await.unwrap();
    let mut w = store.watch("/h/", current - 5).await.unwrap();
    assert_eq!(w.next().await.unwrap().unwrap()[0].revision(), current - 5);
}

/// redb only: after a restart the history is empty, so only revisions after the one on disk
/// can be watched.
#[tokio::test]
async fn redb_history_starts_after_reopen_revision() {
    let mut h = RedbHarness::new().await;
    let s = h.store();
    s.txn(cirrus_store::Txn::new().put("/a", "1"))
        .await
        .unwrap();
    let rev = s.revision().await.unwrap();
    drop(s);
    h.reopen().await;
    let s = h.store();
    assert!(matches!(
        s.watch("", rev).await,
        Err(cirrus_store::StoreError::Compacted { .. })
    ));
    assert!(s.watch("", rev + 1).await.is_ok());
}

/// redb only: a watcher that does not read falls out of the bounded history and is told
/// `Compacted` (so it resyncs); the writer never waits for it.
#[tokio::test]
async fn redb_slow_watcher_gets_compacted_not_blocking() {
    let dir = TempDir::new("cirrus-store-conf").unwrap();
    let store = RedbStore::open(
        dir.path(),
        RedbOptions::default().with_history_revisions(10),
    )
    .await
    .unwrap();
    let mut w = store.watch("/slow/", 0).await.unwrap();
    for i in 0..50 {
        store
            .txn(cirrus_store::Txn::new().put(format!("/slow/{i}"), "x"))
            .await
            .unwrap();
    }
    match w.next().await {
        Some(Err(cirrus_store::StoreError::Compacted { .. })) => {}
        other => panic!("expected Compacted, got {other:?}"),
    }
    assert!(w.next().await.is_none(), "a watch is over after its error");
}

/// redb only: watches end (None) once the store is closed, after what was committed.
#[tokio::test]
async fn redb_watch_ends_when_store_closes() {
    let dir = TempDir::new("cirrus-store-conf").unwrap();
    let store = RedbStore::open(dir.path(), RedbOptions::default())
        .await
        .unwrap();
    let mut w = store.watch("", 0).await.unwrap();
    store
        .txn(cirrus_store::Txn::new().put("/z", "1"))
        .await
        .unwrap();
    drop(store);
    assert_eq!(w.next().await.unwrap().unwrap().len(), 1);
    assert!(w.next().await.is_none());
}

/// The handles the API moves across tasks are Send (and the store Sync).
#[test]
fn handles_are_send() {
    fn send<T: Send + 'static>() {}
    fn sync<T: Send + Sync + 'static>() {}
    send::<cirrus_store::Watch>();
    sync::<Arc<dyn Store>>();
    send::<cirrus_store::StoreError>();
}

/// etcd only: when the cluster goes away, calls and watches fail with `Unavailable`
/// (not hang, not panic), so the API can answer 503 and the watchers resync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_gone_is_unavailable() {
    use std::time::Duration;
    let h = EtcdHarness::new().await;
    let store = h.store();
    let mut w = store.watch("/", 0).await.unwrap();
    drop(h); // kills etcd
    let err = tokio::time::timeout(Duration::from_secs(30), store.get("/a"))
        .await
        .expect("get did not give up")
        .unwrap_err();
    assert!(
        matches!(err, cirrus_store::StoreError::Unavailable(_)),
        "{err:?}"
    );
    match tokio::time::timeout(Duration::from_secs(30), w.next()).await {
        Ok(Some(Err(cirrus_store::StoreError::Unavailable(_)))) => {}
        other => panic!("expected the watch to fail as Unavailable, got {other:?}"),
    }
    let err = cirrus_store::open_etcd(&["127.0.0.1:1".to_string()])
        .await
        .err()
        .expect("connecting to a closed port must fail");
    assert!(
        matches!(err, cirrus_store::StoreError::Unavailable(_)),
        "{err:?}"
    );
}
