//! Crash test for the redb backend: a child process (this test binary, re-executed with
//! `CIRRUS_STORE_CRASH_CHILD` set) writes txns from several concurrent writers and prints
//! each acknowledged one; the parent kill -9's it at a random moment, reopens the file and
//! checks that every acknowledged txn is there and that no txn is half-applied (each writes
//! two keys, which must both exist or neither). Several rounds on the same file also check
//! that revisions keep increasing across crashes.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cirrus_store::testing::TempDir;
use cirrus_store::{RedbOptions, RedbStore, Store, Txn, TxnOutcome};

const CHILD_ENV: &str = "CIRRUS_STORE_CRASH_CHILD";
const ROUND_ENV: &str = "CIRRUS_STORE_CRASH_ROUND";
const WRITERS: usize = 8;

/// The child's body. A no-op in a normal test run.
#[test]
fn crash_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let round = std::env::var(ROUND_ENV).unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let store = std::sync::Arc::new(
            RedbStore::open(Path::new(&dir), RedbOptions::default())
                .await
                .unwrap(),
        );
        let mut tasks = Vec::new();
        for w in 0..WRITERS {
            let store = store.clone();
            let round = round.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0.. {
                    let id = format!("{round}-{w}-{i}");
                    // Values big enough that a txn spans several pages now and then.
                    let value = vec![b'x'; 100 + (i % 7) * 700];
                    let txn = Txn::new()
                        .when_absent(format!("/crash/a/{id}"))
                        .when_absent(format!("/crash/b/{id}"))
                        .put(format!("/crash/a/{id}"), value.clone())
                        .put(format!("/crash/b/{id}"), value);
                    match store.txn(txn).await.unwrap() {
                        TxnOutcome::Committed { revision } => {
                            // Written straight to the fd (not print!), one line per write,
                            // after the txn was acknowledged.
                            let mut out = std::io::stdout().lock();
                            writeln!(out, "ACK {id} {revision}").unwrap();
                            out.flush().unwrap();
                        }
                        other => panic!("unexpected {other:?}"),
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

/// A small pseudo-random number from the clock: good enough to vary the kill moment.
fn random_below(n: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // splitmix64 step
    let mut z = nanos.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) % n
}

/// Runs one child until `kill_after` acks (or a deadline), kill -9's it, returns the acks
/// (id -> revision).
fn run_child_and_kill(dir: &Path, round: usize, kill_after: usize) -> BTreeMap<String, i64> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .env(ROUND_ENV, round.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("ACK ") {
                let mut parts = rest.split(' ');
                let (Some(id), Some(rev)) = (parts.next(), parts.next()) else {
                    continue;
                };
                let _ = tx.send((id.to_string(), rev.parse::<i64>().unwrap()));
            }
        }
    });
    let mut acks = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while acks.len() < kill_after && Instant::now() < deadline {
        if let Ok((id, rev)) = rx.recv_timeout(Duration::from_millis(100)) {
            acks.insert(id, rev);
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("crash child exited by itself: {status}");
        }
    }
    std::thread::sleep(Duration::from_micros(random_below(20_000)));
    // SIGKILL by PID: no chance to flush or clean up.
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    // Lines read after the kill were acknowledged before it: they count too.
    acks.extend(rx.try_iter());
    acks
}

#[test]
fn kill9_keeps_acknowledged_txns_whole() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let dir = TempDir::new("cirrus-store-crash").unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut all_acked: BTreeMap<String, i64> = BTreeMap::new();
    let mut last_revision = 0;
    for round in 0..4 {
        let kill_after = 20 + random_below(600) as usize;
        let acks = run_child_and_kill(dir.path(), round, kill_after);
        assert!(
            !acks.is_empty(),
            "round {round}: the child acknowledged nothing"
        );
        all_acked.extend(acks);

        rt.block_on(async {
            let store = RedbStore::open(dir.path(), RedbOptions::default())
                .await
                .unwrap();
            let a = store.range("/crash/a/").await.unwrap();
            let b = store.range("/crash/b/").await.unwrap();
            let a: BTreeMap<&str, i64> = a
                .kvs
                .iter()
                .map(|kv| (&kv.key["/crash/a/".len()..], kv.mod_revision))
                .collect();
            let b: BTreeMap<&str, i64> = b
                .kvs
                .iter()
                .map(|kv| (&kv.key["/crash/b/".len()..], kv.mod_revision))
                .collect();
            // No half-applied txn: both keys of each txn, written at one revision.
            assert_eq!(a, b, "round {round}: a txn is half-applied");
            // Every acknowledged txn survived, at the revision it was acknowledged with.
            for (id, rev) in &all_acked {
                assert_eq!(
                    a.get(id.as_str()),
                    Some(rev),
                    "round {round}: acknowledged txn {id} lost"
                );
            }
            // Revisions persisted and keep increasing across crashes.
            let revision = store.revision().await.unwrap();
            let max_acked = all_acked.values().copied().max().unwrap_or(0);
            assert!(revision >= max_acked, "round {round}: revision went back");
            assert!(revision > last_revision, "round {round}: no progress");
            last_revision = revision;
            eprintln!(
                "round {round}: {} txns acknowledged in total, {} on disk, revision {revision}",
                all_acked.len(),
                a.len()
            );
        });
    }
}
