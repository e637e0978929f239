//! Named leases: a lock that one holder at a time has on a store, kept while its holder is
//! alive. On etcd it is a key attached to an etcd lease that a task keeps alive, so that
//! several processes on one cluster (controllers) take turns and a crashed holder loses it
//! after the TTL; on the embedded store, which only one process can open, it is a lock in
//! this process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

/// A held lease. Dropping it releases it (on etcd, revokes it at once).
pub struct Lease {
    lost: watch::Receiver<bool>,
    holder: String,
    release: Option<Box<dyn Release>>,
}

/// What releasing a lease does, backend by backend.
pub(crate) trait Release: Send + Sync {
    /// Gives the lease up now.
    fn release(self: Box<Self>);
    /// Stops renewing it but leaves it to expire (what a crash does).
    fn abandon(self: Box<Self>);
}

impl Lease {
    pub(crate) fn new(
        holder: &str,
        lost: watch::Receiver<bool>,
        release: Box<dyn Release>,
    ) -> Self {
        Lease {
            lost,
            holder: holder.to_string(),
            release: Some(release),
        }
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// Whether the lease could not be renewed in time: another holder may have it now.
    pub fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// Resolves when the lease is lost (never, while it is renewed).
    pub async fn lost(&mut self) {
        let _ = self.lost.wait_for(|l| *l).await;
        if !*self.lost.borrow() {
            // The renewing side went away without saying: treat as lost.
            std::future::pending::<()>().await;
        }
    }

    /// Stops renewing the lease without releasing it, as a crash would: others get it once
    /// its TTL runs out.
    pub fn abandon(mut self) {
        if let Some(r) = self.release.take() {
            r.abandon();
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(r) = self.release.take() {
            r.release();
        }
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("holder", &self.holder)
            .field("lost", &self.is_lost())
            .finish()
    }
}

type Locks = Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>;

fn locks() -> &'static Locks {
    static LOCKS: std::sync::OnceLock<Locks> = std::sync::OnceLock::new();
    LOCKS.get_or_init(Default::default)
}

struct LocalRelease {
    _guard: tokio::sync::OwnedMutexGuard<()>,
    _lost: watch::Sender<bool>,
}

impl Release for LocalRelease {
    fn release(self: Box<Self>) {}
    fn abandon(self: Box<Self>) {}
}

/// The single-process lease: one lock per (store, name) in this process. `store` tells
/// stores apart (their address); the TTL does not apply, since a crash ends the process.
pub(crate) async fn local(store: usize, name: &str, holder: &str, _ttl: Duration) -> Lease {
    let lock = locks()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(format!("{store:x}/{name}"))
        .or_default()
        .clone();
    let guard = lock.lock_owned().await;
    let (tx, rx) = watch::channel(false);
    Lease::new(
        holder,
        rx,
        Box::new(LocalRelease {
            _guard: guard,
            _lost: tx,
        }),
    )
}
