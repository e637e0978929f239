//! Shared server state: the store, the in-memory index derived from it, and the task that keeps
//! the index current from the store's watch stream (so several API replicas on one etcd agree).

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use cirrus_store::{Store, Txn, TxnOutcome};
use tokio::sync::watch;

use axum::http::HeaderMap;

use crate::auth::{AccessControl, Auth, Caller};
use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::keys;
use crate::quota::QuotaDefaults;
use crate::reservations::Reservations;

/// What the operator configures for the API besides its store.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub auth: Auth,
    /// `aaa_mode` and the cloud-admin and global read-only roles.
    pub access: AccessControl,
    /// Contrail's `[QUOTA]` defaults.
    pub quota_defaults: QuotaDefaults,
}

pub struct ApiState {
    pub store: Arc<dyn Store>,
    index: RwLock<Index>,
    applied: watch::Sender<i64>,
    pub auth: Auth,
    /// `aaa_mode` and the special roles; the mode changes at run time with `PUT /aaa-mode`.
    pub access: AccessControl,
    /// The operator's default quotas for projects that set none.
    pub quota_defaults: QuotaDefaults,
    pub reservations: Reservations,
}

impl ApiState {
    /// Loads the whole config from the store and starts following its changes.
    pub async fn open(store: Arc<dyn Store>, auth: Auth) -> ApiResult<Arc<Self>> {
        Self::open_with(
            store,
            Settings {
                auth,
                ..Settings::default()
            },
        )
        .await
    }

    /// [`ApiState::open`] with everything the operator configures.
    pub async fn open_with(store: Arc<dyn Store>, settings: Settings) -> ApiResult<Arc<Self>> {
        let started = std::time::Instant::now();
        let range = store.range(keys::ROOT).await?;
        let mut index = Index::default();
        let n = range.kvs.len();
        index.load(range.kvs, range.revision);
        let revision = index.revision;
        tracing::info!(
            keys = n,
            objects = index.len(),
            revision,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "config loaded from store"
        );
        let (applied, _) = watch::channel(revision);
        let state = Arc::new(ApiState {
            store,
            index: RwLock::new(index),
            applied,
            auth: settings.auth,
            access: settings.access,
            quota_defaults: settings.quota_defaults,
            reservations: Reservations::default(),
        });
        tokio::spawn(follow(Arc::downgrade(&state), revision + 1));
        Ok(state)
    }

    /// The caller of one request (see [`Auth::identify`]).
    pub fn identify(&self, headers: &HeaderMap) -> ApiResult<Caller> {
        self.auth.identify(headers, &self.index(), &self.access)
    }

    /// The revision the index has applied, updated after each change: followers of the config
    /// (the control node) wake on it and re-read the index.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.applied.subscribe()
    }

    pub fn index(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn index_mut(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Commits a transaction and, when it succeeded, waits until the index shows it, so that a
    /// client reads its own writes.
    pub async fn commit(&self, txn: Txn) -> ApiResult<TxnOutcome> {
        let outcome = self.store.txn(txn).await?;
        if let TxnOutcome::Committed { revision } = outcome {
            self.wait_for(revision).await?;
        }
        Ok(outcome)
    }

    /// Waits until the index has applied everything the store has committed so far. The watch
    /// only reports revisions that touch `/cirrus/`, so when the newest revision is someone
    /// else's (another component sharing etcd) this gives up after a second instead of failing:
    /// the caller re-plans and the store's compares keep it correct either way.
    pub async fn catch_up(&self) -> ApiResult<()> {
        let rev = self.store.revision().await?;
        let mut rx = self.applied.subscribe();
        let _ = tokio::time::timeout(Duration::from_secs(1), rx.wait_for(|r| *r >= rev)).await;
        Ok(())
    }

    pub async fn wait_for(&self, revision: i64) -> ApiResult<()> {
        let mut rx = self.applied.subscribe();
        match tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|r| *r >= revision)).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ApiError::unavailable(format!(
                "config index did not reach revision {revision} in time"
            ))),
        }
    }
}

/// Applies the store's events to the index; on a gap (compaction, lost watch) reloads it whole.
async fn follow(state: std::sync::Weak<ApiState>, mut from: i64) {
    loop {
        let Some(s) = state.upgrade() else { return };
        let mut w = match s.store.watch(keys::ROOT, from).await {
            Ok(w) => w,
            Err(e) => {
                tracing::warn!(error = %e, "config watch failed; retrying");
                drop(s);
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        drop(s);
        loop {
            let next = w.next().await;
            let Some(s) = state.upgrade() else { return };
            match next {
                Some(Ok(events)) => {
                    let rev = {
                        let mut idx = s.index_mut();
                        idx.apply(&events);
                        idx.revision
                    };
                    from = rev + 1;
                    s.applied.send_replace(rev);
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "config watch broke; reloading the index");
                    match s.store.range(keys::ROOT).await {
                        Ok(range) => {
                            let mut idx = Index::default();
                            idx.load(range.kvs, range.revision);
                            from = idx.revision + 1;
                            let rev = idx.revision;
                            *s.index_mut() = idx;
                            s.applied.send_replace(rev);
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "reload failed");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    }
                    break;
                }
                None => break,
            }
        }
    }
}
