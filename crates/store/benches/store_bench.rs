//! Store throughput and load figures, one line per figure:
//! - txns/s of API-shaped object creates (3 compares, 4 puts) with N concurrent writers;
//! - time to range-read 100k objects (the API's startup load) and to reopen the file.
//!
//! Runs redb always and etcd when its binary is installed. Run with
//! `cargo bench -p cirrus-store --bench store_bench` (add `-- --quick` for a short run,
//! `-- --only redb` or `-- --only etcd` for one backend).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cirrus_store::testing::{EtcdServer, TempDir, etcd_binary};
use cirrus_store::{RedbOptions, RedbStore, Store, Txn, TxnOutcome};

struct Config {
    writers: Vec<usize>,
    secs: f64,
    objects: usize,
    value_bytes: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    // `cargo bench` passes `--bench`; `cargo test --benches` (or --all-targets) does not,
    // and then a short smoke run checks that the bench still works without taking minutes.
    let smoke = !args.iter().any(|a| a == "--bench");
    // `--only redb` / `--only etcd` runs one backend.
    let only = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1).cloned());
    let run = |backend: &str| only.as_deref().is_none_or(|o| o == backend);
    let cfg = if smoke {
        Config {
            writers: vec![4],
            secs: 0.2,
            objects: 1_000,
            value_bytes: 600,
        }
    } else if quick {
        Config {
            writers: vec![1, 16, 64],
            secs: 1.0,
            objects: 20_000,
            value_bytes: 600,
        }
    } else {
        Config {
            writers: vec![1, 4, 16, 64, 256],
            secs: 3.0,
            objects: 100_000,
            value_bytes: 600,
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if run("redb") {
            redb(&cfg).await;
        }
        if run("etcd") {
            match etcd_binary() {
                Ok(_) => {
                    let server = EtcdServer::start().unwrap();
                    let store = cirrus_store::open(&server.spec()).await.unwrap();
                    creates(&cfg, "etcd", &store).await;
                    load_and_range(&cfg, "etcd", &store).await;
                }
                Err(e) => println!("etcd: skipped ({e})"),
            }
        }
    });
}

async fn redb(cfg: &Config) {
    let dir = TempDir::new("cirrus-store-bench").unwrap();
    {
        let store: Arc<dyn Store> = Arc::new(
            RedbStore::open(dir.path(), RedbOptions::default())
                .await
                .unwrap(),
        );
        creates(cfg, "redb", &store).await;
        load_and_range(cfg, "redb", &store).await;
    }
    let t = Instant::now();
    let store = RedbStore::open(dir.path(), RedbOptions::default())
        .await
        .unwrap();
    let open = t.elapsed();
    let t = Instant::now();
    let n = store.range("/cirrus/obj/").await.unwrap().kvs.len();
    println!(
        "redb reopen: {:.1} ms, then range {n} keys: {:.1} ms",
        ms(open),
        ms(t.elapsed())
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// One API object create: the object, its fq-name index, its type index and its parent's
/// child link, guarded by three absence compares.
fn create_txn(id: u64, value: &[u8]) -> Txn {
    let uuid = format!("{id:08x}-0000-4000-8000-{:012x}", id * 7919);
    Txn::new()
        .when_absent(format!("/cirrus/obj/{uuid}"))
        .when_absent(format!("/cirrus/fqn/virtual-network/default:proj:vn-{id}"))
        .when_absent(format!("/cirrus/children/proj/{uuid}"))
        .put(format!("/cirrus/obj/{uuid}"), value.to_vec())
        .put(
            format!("/cirrus/fqn/virtual-network/default:proj:vn-{id}"),
            uuid.clone(),
        )
        .put(format!("/cirrus/type/virtual-network/{uuid}"), "")
        .put(format!("/cirrus/children/proj/{uuid}"), "")
}

async fn creates(cfg: &Config, backend: &str, store: &Arc<dyn Store>) {
    let next_id = Arc::new(AtomicU64::new(1_000_000_000));
    let value = Arc::new(vec![b'v'; cfg.value_bytes]);
    for &writers in &cfg.writers {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        let start = Instant::now();
        for _ in 0..writers {
            let (store, stop, next_id, value) =
                (store.clone(), stop.clone(), next_id.clone(), value.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let id = next_id.fetch_add(1, Ordering::Relaxed);
                    let t = Instant::now();
                    let out = store.txn(create_txn(id, &value)).await.unwrap();
                    assert!(matches!(out, TxnOutcome::Committed { .. }), "{out:?}");
                    latencies.push(t.elapsed());
                }
                latencies
            }));
        }
        tokio::time::sleep(Duration::from_secs_f64(cfg.secs)).await;
        stop.store(true, Ordering::Relaxed);
        let mut latencies = Vec::new();
        for t in tasks {
            latencies.extend(t.await.unwrap());
        }
        let elapsed = start.elapsed().as_secs_f64();
        latencies.sort();
        let pct = |p: f64| ms(latencies[((latencies.len() - 1) as f64 * p) as usize]);
        println!(
            "{backend} create txns (3 compares, 4 puts, {} B), {writers:>3} writers: {:>8.0} txns/s  p50 {:.2} ms  p99 {:.2} ms",
            cfg.value_bytes,
            latencies.len() as f64 / elapsed,
            pct(0.5),
            pct(0.99)
        );
    }
}

/// Loads `cfg.objects` objects under `/cirrus/obj/` (beside what `creates` wrote) and times
/// a range read of all of them.
async fn load_and_range(cfg: &Config, backend: &str, store: &Arc<dyn Store>) {
    let value = vec![b'o'; cfg.value_bytes];
    let existing = store.range("/cirrus/obj/").await.unwrap().kvs.len();
    let t = Instant::now();
    // 100 puts per txn stays under etcd's default limit of 128 ops per txn.
    let mut tasks = Vec::new();
    for chunk in 0..cfg.objects.div_ceil(100) {
        let store = store.clone();
        let value = value.clone();
        let objects = cfg.objects;
        tasks.push(tokio::spawn(async move {
            let mut txn = Txn::new();
            for i in chunk * 100..((chunk + 1) * 100).min(objects) {
                txn = txn.put(format!("/cirrus/obj/load-{i:08}"), value.clone());
            }
            store.txn(txn).await.unwrap();
        }));
        if tasks.len() >= 16 {
            for t in tasks.drain(..) {
                t.await.unwrap();
            }
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    println!(
        "{backend} load {} objects in 100-put txns: {:.0} ms",
        cfg.objects,
        ms(t.elapsed())
    );
    // Three reads: the first may pay for cold caches; the best shows the steady cost.
    let mut times = Vec::new();
    let mut keys = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let range = store.range("/cirrus/obj/").await.unwrap();
        times.push(ms(t.elapsed()));
        keys = range.kvs.len();
    }
    assert_eq!(keys, existing + cfg.objects);
    println!(
        "{backend} range {keys} keys ({} B values): first {:.1} ms, best {:.1} ms",
        cfg.value_bytes,
        times[0],
        times.iter().copied().fold(f64::MAX, f64::min)
    );
}
