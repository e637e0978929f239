//! Differential test: etcd is the oracle for the redb backend. The same pseudo-random
//! sequence of txns (compares that hold or not, puts, deletes, deletes of absent keys) runs
//! on both; every outcome, every revision, the final range and the full watch history must
//! be identical.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use cirrus_store::testing::{EtcdServer, TempDir};
use cirrus_store::{Event, RedbOptions, RedbStore, Store, Txn};

/// splitmix64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const KEYS: u64 = 12;
const TXNS: usize = 400;

async fn random_txn(rng: &mut Rng, oracle: &dyn Store) -> Txn {
    let key = |i: u64| format!("/d/{i:02}");
    let mut txn = Txn::new();
    for _ in 0..rng.below(4) {
        let k = key(rng.below(KEYS));
        let rev = match rng.below(4) {
            // Usually the real revision, so that most txns commit.
            0 | 1 => oracle
                .get(&k)
                .await
                .unwrap()
                .map_or(0, |kv| kv.mod_revision),
            2 => 0,
            _ => rng.below(50) as i64,
        };
        txn = txn.when_revision(k, rev);
    }
    let mut used = BTreeSet::new();
    for _ in 0..1 + rng.below(4) {
        let i = rng.below(KEYS);
        if !used.insert(i) {
            continue;
        }
        if rng.below(3) == 0 {
            txn = txn.delete(key(i));
        } else {
            let len = rng.below(40) as usize;
            txn = txn.put(key(i), vec![rng.below(256) as u8; len]);
        }
    }
    txn
}

/// All events from revision 2 (the first write) through `last`, flattened in order.
async fn history(store: &dyn Store, last: i64) -> Vec<Event> {
    let mut w = store.watch("/d/", 2).await.unwrap();
    let mut events = Vec::new();
    while events.last().is_none_or(|e: &Event| e.revision() < last) {
        let group = tokio::time::timeout(Duration::from_secs(10), w.next())
            .await
            .expect("watch stalled")
            .expect("watch ended")
            .expect("watch failed");
        events.extend(group);
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_matches_etcd() {
    let server = EtcdServer::start().unwrap_or_else(|e| panic!("{e}"));
    let etcd = cirrus_store::open(&server.spec()).await.unwrap();
    let dir = TempDir::new("cirrus-store-diff").unwrap();
    let redb: Arc<dyn Store> = Arc::new(
        RedbStore::open(dir.path(), RedbOptions::default())
            .await
            .unwrap(),
    );
    assert_eq!(
        redb.revision().await.unwrap(),
        etcd.revision().await.unwrap(),
        "a new store starts where a new etcd does"
    );

    let mut rng = Rng(0x5EED_C1E2_2026);
    let (mut commits, mut conflicts) = (0, 0);
    for i in 0..TXNS {
        let txn = random_txn(&mut rng, &*etcd).await;
        let want = etcd.txn(txn.clone()).await.unwrap();
        let got = redb.txn(txn.clone()).await.unwrap();
        assert_eq!(got, want, "txn #{i} {txn:?}");
        match want {
            cirrus_store::TxnOutcome::Committed { .. } => commits += 1,
            cirrus_store::TxnOutcome::Conflict { .. } => conflicts += 1,
        }
        if i % 25 == 0 {
            let k = format!("/d/{:02}", rng.below(KEYS));
            assert_eq!(redb.get(&k).await.unwrap(), etcd.get(&k).await.unwrap());
        }
    }
    assert!(
        commits > 50 && conflicts > 50,
        "{commits} commits, {conflicts} conflicts"
    );

    let (want, got) = (
        etcd.range("/d/").await.unwrap(),
        redb.range("/d/").await.unwrap(),
    );
    assert_eq!(got.kvs, want.kvs);
    assert_eq!(got.revision, want.revision);
    assert_eq!(
        history(&*redb, got.revision).await,
        history(&*etcd, want.revision).await
    );
}
