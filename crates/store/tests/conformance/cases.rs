//! The conformance cases: each takes a [`Harness`] and checks one promise of the `Store`
//! trait. They assume an empty store and nothing about absolute revision numbers.

use std::sync::Arc;
use std::time::Duration;

use cirrus_store::{Event, KeyValue, Store, StoreError, Txn, TxnOutcome, Watch};

/// What a backend's test harness provides.
#[async_trait::async_trait]
pub trait Harness: Send {
    fn store(&self) -> Arc<dyn Store>;
    /// Closes the store and opens it again on the same data (redb: the same file; etcd: a
    /// new client on the same server).
    async fn reopen(&mut self);
}

fn committed(outcome: TxnOutcome) -> i64 {
    match outcome {
        TxnOutcome::Committed { revision } => revision,
        other => panic!("expected a commit, got {other:?}"),
    }
}

async fn put(store: &dyn Store, key: &str, value: &str) -> i64 {
    committed(store.txn(Txn::new().put(key, value)).await.unwrap())
}

async fn next(w: &mut Watch) -> Vec<Event> {
    match tokio::time::timeout(Duration::from_secs(10), w.next()).await {
        Ok(Some(Ok(events))) => events,
        Ok(other) => panic!("watch ended: {other:?}"),
        Err(_) => panic!("no watch event within 10 s"),
    }
}

/// Asserts that the watch yields nothing for a short while.
async fn quiet(w: &mut Watch) {
    if let Ok(item) = tokio::time::timeout(Duration::from_millis(300), w.next()).await {
        panic!("unexpected watch item {item:?}");
    }
}

fn keys(events: &[Event]) -> Vec<&str> {
    events.iter().map(Event::key).collect()
}

pub async fn put_get(h: &mut dyn Harness) {
    let s = h.store();
    assert_eq!(s.get("/t/a").await.unwrap(), None);
    let r1 = put(&*s, "/t/a", "one").await;
    let kv = s.get("/t/a").await.unwrap().unwrap();
    assert_eq!(
        kv,
        KeyValue {
            key: "/t/a".into(),
            value: b"one".to_vec(),
            create_revision: r1,
            mod_revision: r1
        }
    );
    let r2 = put(&*s, "/t/a", "two").await;
    assert!(r2 > r1);
    let kv = s.get("/t/a").await.unwrap().unwrap();
    assert_eq!(
        (kv.value.as_slice(), kv.create_revision, kv.mod_revision),
        (&b"two"[..], r1, r2)
    );
    // Values are opaque bytes, not text.
    let bin: Vec<u8> = (0..=255u8).collect();
    committed(s.txn(Txn::new().put("/t/bin", bin.clone())).await.unwrap());
    assert_eq!(s.get("/t/bin").await.unwrap().unwrap().value, bin);
    assert_eq!(s.get("/t").await.unwrap(), None, "get is exact, not prefix");
}

pub async fn range_by_prefix(h: &mut dyn Harness) {
    let s = h.store();
    for k in ["/r/a/3", "/r/a/1", "/r/ab", "/r/a/2", "/r/b/1", "/q/a/1"] {
        put(&*s, k, k).await;
    }
    let r = s.range("/r/a/").await.unwrap();
    let got: Vec<&str> = r.kvs.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(got, ["/r/a/1", "/r/a/2", "/r/a/3"]);
    assert_eq!(r.revision, s.revision().await.unwrap());
    assert_eq!(r.kvs[0].value, b"/r/a/1");
    let r = s.range("/r/a").await.unwrap();
    assert_eq!(
        r.kvs.len(),
        4,
        "a prefix is a string prefix, not a path prefix"
    );
    let all = s.range("").await.unwrap();
    let got: Vec<&str> = all.kvs.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        got,
        ["/q/a/1", "/r/a/1", "/r/a/2", "/r/a/3", "/r/ab", "/r/b/1"]
    );
    assert!(s.range("/none/").await.unwrap().kvs.is_empty());
}

pub async fn txn_compare_conflict(h: &mut dyn Harness) {
    let s = h.store();
    let ra = put(&*s, "/c/a", "a").await;
    let rb = put(&*s, "/c/b", "b").await;
    let before = s.revision().await.unwrap();

    // The third compare fails: nothing of the txn may be applied.
    let out = s
        .txn(
            Txn::new()
                .when_revision("/c/a", ra)
                .when_revision("/c/b", rb)
                .when_absent("/c/a")
                .put("/c/a", "changed")
                .put("/c/new", "x")
                .delete("/c/b"),
        )
        .await
        .unwrap();
    assert_eq!(out, TxnOutcome::Conflict { failed: 2 });
    assert_eq!(s.revision().await.unwrap(), before);
    assert_eq!(s.get("/c/a").await.unwrap().unwrap().value, b"a");
    assert!(s.get("/c/b").await.unwrap().is_some());
    assert!(s.get("/c/new").await.unwrap().is_none());

    let out = s
        .txn(Txn::new().when_revision("/c/a", ra + 1000).put("/c/a", "x"))
        .await
        .unwrap();
    assert_eq!(out, TxnOutcome::Conflict { failed: 0 });
    let out = s
        .txn(Txn::new().when_revision("/c/missing", 5).put("/c/a", "x"))
        .await
        .unwrap();
    assert_eq!(out, TxnOutcome::Conflict { failed: 0 });

    // All compares hold: applied.
    let r = committed(
        s.txn(
            Txn::new()
                .when_revision("/c/a", ra)
                .when_absent("/c/new")
                .put("/c/a", "changed"),
        )
        .await
        .unwrap(),
    );
    assert_eq!(s.get("/c/a").await.unwrap().unwrap().mod_revision, r);
}

pub async fn multi_key_atomicity(h: &mut dyn Harness) {
    let s = h.store();
    put(&*s, "/m/old", "x").await;
    let before = s.revision().await.unwrap();
    let r = committed(
        s.txn(
            Txn::new()
                .when_absent("/m/1")
                .put("/m/1", "1")
                .put("/m/2", "2")
                .put("/m/3", "3")
                .delete("/m/old"),
        )
        .await
        .unwrap(),
    );
    assert_eq!(r, before + 1, "one txn, one revision");
    let range = s.range("/m/").await.unwrap();
    assert_eq!(range.kvs.len(), 3);
    assert!(range.kvs.iter().all(|kv| kv.mod_revision == r));
    assert!(s.get("/m/old").await.unwrap().is_none());
}

pub async fn revisions_monotonic(h: &mut dyn Harness) {
    let s = h.store();
    let mut last = s.revision().await.unwrap();
    for i in 0..20 {
        let r = put(&*s, &format!("/v/{}", i % 3), "x").await;
        assert!(r > last, "revision {r} after {last}");
        last = r;
    }
    assert_eq!(s.revision().await.unwrap(), last);
    // A txn that changes nothing does not make a revision (as etcd).
    let r = committed(s.txn(Txn::new().delete("/v/absent")).await.unwrap());
    assert_eq!(r, last);
    let r = committed(s.txn(Txn::new().when_absent("/v/absent")).await.unwrap());
    assert_eq!(r, last);
    assert_eq!(s.revision().await.unwrap(), last);
}

pub async fn invalid_txn_is_refused(h: &mut dyn Harness) {
    let s = h.store();
    let err = s
        .txn(Txn::new().put("/i/a", "1").delete("/i/a"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InvalidTxn(_)), "{err:?}");
    assert!(s.get("/i/a").await.unwrap().is_none());
}

pub async fn watch_replays_then_goes_live(h: &mut dyn Harness) {
    let s = h.store();
    let r1 = put(&*s, "/w/a", "1").await;
    let r2 = committed(
        s.txn(Txn::new().put("/w/b", "2").put("/w/c", "3"))
            .await
            .unwrap(),
    );
    let r3 = put(&*s, "/w/a", "4").await;
    let mut w = s.watch("/w/", r1).await.unwrap();
    let g1 = next(&mut w).await;
    assert_eq!(keys(&g1), ["/w/a"]);
    assert_eq!(g1[0].revision(), r1);
    let g2 = next(&mut w).await;
    let mut k2 = keys(&g2);
    k2.sort();
    assert_eq!(k2, ["/w/b", "/w/c"], "one group per revision");
    assert!(g2.iter().all(|e| e.revision() == r2));
    let g3 = next(&mut w).await;
    match &g3[..] {
        [Event::Put(kv)] => {
            assert_eq!((kv.key.as_str(), kv.value.as_slice()), ("/w/a", &b"4"[..]));
            assert_eq!((kv.create_revision, kv.mod_revision), (r1, r3));
        }
        other => panic!("unexpected {other:?}"),
    }
    let r4 = put(&*s, "/w/d", "5").await;
    let g4 = next(&mut w).await;
    assert_eq!(keys(&g4), ["/w/d"]);
    assert_eq!(g4[0].revision(), r4);

    // From a middle revision: starts exactly there.
    let mut w = s.watch("/w/", r3).await.unwrap();
    assert_eq!(next(&mut w).await[0].revision(), r3);
    assert_eq!(next(&mut w).await[0].revision(), r4);
}

pub async fn watch_filters_by_prefix(h: &mut dyn Harness) {
    let s = h.store();
    let mut w = s.watch("/p/a/", 0).await.unwrap();
    put(&*s, "/p/b/1", "x").await;
    put(&*s, "/p/ab", "x").await;
    let r = committed(
        s.txn(Txn::new().put("/p/a/1", "x").put("/p/b/2", "y"))
            .await
            .unwrap(),
    );
    let g = next(&mut w).await;
    assert_eq!(keys(&g), ["/p/a/1"], "other prefixes filtered out");
    assert_eq!(g[0].revision(), r);
    quiet(&mut w).await;
}

pub async fn watch_from_now(h: &mut dyn Harness) {
    let s = h.store();
    put(&*s, "/n/old", "x").await;
    let mut w = s.watch("/n/", 0).await.unwrap();
    quiet(&mut w).await;
    let r = put(&*s, "/n/new", "y").await;
    let g = next(&mut w).await;
    assert_eq!(keys(&g), ["/n/new"]);
    assert_eq!(g[0].revision(), r);
}

pub async fn delete_events(h: &mut dyn Harness) {
    let s = h.store();
    let r1 = put(&*s, "/d/a", "x").await;
    let r2 = committed(s.txn(Txn::new().delete("/d/a")).await.unwrap());
    assert!(r2 > r1);
    assert!(s.get("/d/a").await.unwrap().is_none());
    let mut w = s.watch("/d/", r1).await.unwrap();
    assert!(matches!(&next(&mut w).await[..], [Event::Put(_)]));
    assert_eq!(
        next(&mut w).await,
        vec![Event::Delete {
            key: "/d/a".into(),
            mod_revision: r2
        }]
    );
    // Re-creating a deleted key starts a new life: create_revision is new.
    let r3 = put(&*s, "/d/a", "y").await;
    assert_eq!(s.get("/d/a").await.unwrap().unwrap().create_revision, r3);
}

pub async fn concurrent_cas_one_winner(h: &mut dyn Harness) {
    let s = h.store();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.txn(
                Txn::new()
                    .when_absent("/x/lock")
                    .put("/x/lock", format!("{i}"))
                    .put(format!("/x/by/{i}"), "won"),
            )
            .await
            .unwrap()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        if let TxnOutcome::Committed { .. } = t.await.unwrap() {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    assert_eq!(s.range("/x/by/").await.unwrap().kvs.len(), 1);

    // Read-modify-write with CAS and retry: no increment is lost.
    let (writers, each) = (8, 10);
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..each {
                loop {
                    let (n, rev) = match s.get("/x/counter").await.unwrap() {
                        Some(kv) => (
                            String::from_utf8(kv.value).unwrap().parse::<u64>().unwrap(),
                            kv.mod_revision,
                        ),
                        None => (0, 0),
                    };
                    let txn = Txn::new()
                        .when_revision("/x/counter", rev)
                        .put("/x/counter", (n + 1).to_string());
                    if let TxnOutcome::Committed { .. } = s.txn(txn).await.unwrap() {
                        break;
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let v = s.get("/x/counter").await.unwrap().unwrap().value;
    assert_eq!(String::from_utf8(v).unwrap(), (writers * each).to_string());
}

pub async fn reopen_keeps_data_and_revision(h: &mut dyn Harness) {
    let s = h.store();
    for i in 0..10 {
        put(&*s, &format!("/o/{i}"), &format!("v{i}")).await;
    }
    committed(s.txn(Txn::new().delete("/o/3")).await.unwrap());
    let before = s.range("/o/").await.unwrap();
    drop(s);
    h.reopen().await;
    let s = h.store();
    let after = s.range("/o/").await.unwrap();
    assert_eq!(after.kvs, before.kvs);
    assert_eq!(after.revision, before.revision);
    assert_eq!(s.revision().await.unwrap(), before.revision);
    let r = put(&*s, "/o/new", "x").await;
    assert!(r > before.revision, "revisions continue after reopen");
    // Watching from the next revision works after a reopen.
    let mut w = s.watch("/o/", before.revision + 1).await.unwrap();
    assert_eq!(keys(&next(&mut w).await), ["/o/new"]);
}

pub async fn compacted_revision_errors(h: &mut dyn Harness) {
    let s = h.store();
    let first = put(&*s, "/k/a", "1").await;
    for i in 0..5 {
        put(&*s, "/k/a", &format!("{i}")).await;
    }
    let last = put(&*s, "/k/b", "x").await;
    s.compact(last).await.unwrap();
    let err = match s.watch("/k/", first).await {
        Err(e) => e,
        Ok(mut w) => match tokio::time::timeout(Duration::from_secs(10), w.next()).await {
            Ok(Some(Err(e))) => e,
            other => panic!("expected a compaction error, got {other:?}"),
        },
    };
    assert!(
        matches!(err, StoreError::Compacted { requested, .. } if requested == first),
        "{err:?}"
    );
    // Current values are untouched, and a watch from after the compaction works.
    assert_eq!(s.get("/k/b").await.unwrap().unwrap().mod_revision, last);
    let mut w = s.watch("/k/", last + 1).await.unwrap();
    put(&*s, "/k/c", "y").await;
    assert_eq!(keys(&next(&mut w).await), ["/k/c"]);
}

pub async fn watch_many_revisions_in_order(h: &mut dyn Harness) {
    let s = h.store();
    let start = s.revision().await.unwrap() + 1;
    let mut w = s.watch("/s/", start).await.unwrap();
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            let mut revs = Vec::new();
            for i in 0..300 {
                revs.push(put(&*s, &format!("/s/{}", i % 7), &i.to_string()).await);
            }
            revs
        })
    };
    let mut seen = Vec::new();
    while seen.len() < 300 {
        let g = next(&mut w).await;
        assert_eq!(g.len(), 1);
        seen.push(g[0].revision());
    }
    assert_eq!(seen, writer.await.unwrap());
}

pub async fn range_large_is_complete_and_sorted(h: &mut dyn Harness) {
    let s = h.store();
    // More than one etcd page (10,000 keys), written by concurrent txns of 100 puts.
    let total = 25_000;
    let mut tasks = Vec::new();
    for chunk in 0..total / 100 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut txn = Txn::new();
            for i in chunk * 100..(chunk + 1) * 100 {
                txn = txn.put(format!("/big/{i:06}"), vec![b'v'; 100]);
            }
            committed(s.txn(txn).await.unwrap());
        }));
        if tasks.len() == 8 {
            for t in tasks.drain(..) {
                t.await.unwrap();
            }
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    put(&*s, "/bigger", "outside the prefix").await;
    let r = s.range("/big/").await.unwrap();
    assert_eq!(r.kvs.len(), total);
    assert!(
        r.kvs
            .iter()
            .enumerate()
            .all(|(i, kv)| kv.key == format!("/big/{i:06}"))
    );
    assert!(r.kvs.iter().all(|kv| kv.mod_revision <= r.revision));
}

/// One holder at a time: a second acquirer waits until the first releases; a holder that
/// stops renewing (a crash) loses the lease to the waiter once the TTL runs out.
pub async fn lease_one_holder_at_a_time(h: &mut dyn Harness) {
    let s = h.store();
    let ttl = Duration::from_secs(2);
    let first = s.acquire_lease("compiler", "a", ttl).await.unwrap();
    assert_eq!(first.holder(), "a");
    assert!(!first.is_lost());
    let s2 = s.clone();
    let mut second = tokio::spawn(async move { s2.acquire_lease("compiler", "b", ttl).await });
    // Another name is independent.
    let other = tokio::time::timeout(Duration::from_secs(5), s.acquire_lease("other", "c", ttl))
        .await
        .expect("another lease name is free")
        .unwrap();
    drop(other);
    assert!(
        tokio::time::timeout(Duration::from_millis(700), &mut second)
            .await
            .is_err(),
        "the second holder got the lease while the first held it"
    );
    drop(first);
    let second = tokio::time::timeout(Duration::from_secs(5), second)
        .await
        .expect("released lease taken over")
        .unwrap()
        .unwrap();
    assert_eq!(second.holder(), "b");
    // A crash: the lease is neither renewed nor released.
    let s3 = s.clone();
    let mut third = tokio::spawn(async move { s3.acquire_lease("compiler", "c", ttl).await });
    assert!(
        tokio::time::timeout(Duration::from_millis(300), &mut third)
            .await
            .is_err()
    );
    second.abandon();
    let third = tokio::time::timeout(Duration::from_secs(10), third)
        .await
        .expect("abandoned lease taken over after its TTL")
        .unwrap()
        .unwrap();
    assert_eq!(third.holder(), "c");
}
