//! The Cirrus config store: a revisioned key-value store with multi-key transactions
//! (compare-and-swap on revision), prefix range reads and watch-from-revision.
//!
//! One trait, [`Store`], and two backends behind it:
//! - embedded redb (a single file `cirrus.redb` in `--data-dir`), the default, with group
//!   commit so that many concurrent writers share one fsync, and a file grown by writing
//!   zeros so that each fsync stays cheap;
//! - etcd v3 (`etcd://host:port,...`), so that stateless API replicas and controllers can
//!   share one cluster.
//!
//! The semantics follow etcd's, so that code written against one backend behaves the same on
//! the other: one cluster-wide revision that a committed txn which changes something
//! increments by exactly one, events grouped per revision, `Compacted` when a watch asks for
//! history that is gone.
//!
//! The usual pattern: create with absence compares, update with revision compares, load with
//! a range and follow with a watch from the range's revision + 1.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), cirrus_store::StoreError> {
//! use cirrus_store::{Txn, TxnOutcome};
//! let dir = cirrus_store::testing::TempDir::new("doc")?;
//! let store = cirrus_store::open(&dir.path().display().to_string()).await?;
//!
//! let create = Txn::new()
//!     .when_absent("/cirrus/obj/42")
//!     .put("/cirrus/obj/42", b"{...}".to_vec())
//!     .put("/cirrus/fqn/vn/default:p:vn1", "42");
//! let TxnOutcome::Committed { revision } = store.txn(create.clone()).await? else {
//!     unreachable!()
//! };
//! // The same create again conflicts on its first compare and changes nothing.
//! assert_eq!(store.txn(create).await?, TxnOutcome::Conflict { failed: 0 });
//!
//! let loaded = store.range("/cirrus/obj/").await?;
//! assert_eq!(loaded.revision, revision);
//! let mut watch = store.watch("/cirrus/", loaded.revision + 1).await?;
//! store.txn(Txn::new().when_revision("/cirrus/obj/42", revision).delete("/cirrus/obj/42")).await?;
//! let events = watch.next().await.unwrap()?;
//! assert_eq!(events[0].key(), "/cirrus/obj/42");
//! # Ok(())
//! # }
//! ```

mod etcd;
mod history;
mod lease;
mod redb;
mod redb_file;
mod redb_writer;
pub mod testing;
mod types;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use crate::etcd::EtcdStore;
pub use crate::history::HistoryLimits;
pub use crate::lease::Lease;
pub use crate::redb::{RedbOptions, RedbStore};
pub use crate::types::{
    Compare, Event, KeyValue, Op, Range, Revision, StoreError, Txn, TxnOutcome, Watch,
};

/// A revisioned key-value store. All methods are cancel-safe in the sense that dropping the
/// future never leaves a txn half-applied (a txn already handed to the backend still commits
/// or fails as a whole).
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// The current value of `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError>;

    /// All keys starting with `prefix`, sorted by key (byte order), read at one revision,
    /// which is returned with them. An empty prefix reads everything.
    async fn range(&self, prefix: &str) -> Result<Range, StoreError>;

    /// Atomic: if every compare holds, all ops are applied at ONE new revision; otherwise
    /// nothing is applied and the index of the first failed compare is returned. A txn that
    /// passes but changes nothing (no ops, or only deletes of absent keys) does not create a
    /// revision and returns the current one, as etcd does.
    async fn txn(&self, txn: Txn) -> Result<TxnOutcome, StoreError>;

    /// Events on keys starting with `prefix` whose revision is >= `from_revision`, replayed
    /// from history first and then live, grouped per revision in revision order.
    /// `from_revision <= 0` means "from now on" (the next revision).
    /// History older than what the backend retains yields [`StoreError::Compacted`], either
    /// from this call or as the first item of the watch.
    async fn watch(&self, prefix: &str, from_revision: Revision) -> Result<Watch, StoreError>;

    /// The current (latest committed) revision.
    async fn revision(&self) -> Result<Revision, StoreError>;

    /// Discards watch history strictly older than `revision`: a later watch from a revision
    /// below it fails with [`StoreError::Compacted`]. Current values are never affected.
    /// etcd needs this to bound its disk use; the redb backend bounds its in-memory history
    /// by itself and only honours explicit requests.
    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        let _ = revision;
        Ok(())
    }

    /// Waits until this caller holds the lease `name` (one holder at a time across every
    /// client of the store) and returns it; `holder` says who holds it (logs, the etcd key's
    /// value). The holder keeps it while it is renewed; a holder that stops renewing
    /// (crashed, cut off) loses it after `ttl` and another waiter gets it. The default, for a
    /// store only one process opens, is a lock in this process.
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Lease, StoreError> {
        Ok(lease::local(self as *const Self as *const () as usize, name, holder, ttl).await)
    }
}

/// Opens a store from a spec, as given on the command line (`--store`):
/// - `etcd://h:p,h:p` -> etcd cluster;
/// - `redb:PATH` or a plain directory path -> the redb file `PATH/cirrus.redb`.
pub async fn open(spec: &str) -> Result<Arc<dyn Store>, StoreError> {
    if let Some(rest) = spec.strip_prefix("etcd://") {
        let endpoints = parse_etcd_endpoints(rest)?;
        open_etcd(&endpoints).await
    } else if let Some(path) = spec.strip_prefix("redb:") {
        open_redb(Path::new(path)).await
    } else if spec.contains("://") {
        Err(StoreError::InvalidSpec(format!(
            "store spec {spec:?}: unknown scheme (expected etcd://host:port[,host:port...], redb:PATH or a directory path)"
        )))
    } else {
        open_redb(Path::new(spec)).await
    }
}

/// Opens (creating if needed) the redb store in `data_dir/cirrus.redb`.
pub async fn open_redb(data_dir: &Path) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(
        RedbStore::open(data_dir, RedbOptions::default()).await?,
    ))
}

/// Connects to an etcd cluster. Endpoints are `host:port` or `http://host:port`.
pub async fn open_etcd(endpoints: &[String]) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(EtcdStore::connect(endpoints).await?))
}

/// etcd's client port, used when an endpoint names only a host.
pub const ETCD_DEFAULT_PORT: u16 = 2379;

/// Splits `h:p,h:p` into endpoints, refusing empty items so that a typo is reported instead
/// of silently dropped. A bare host gets etcd's default client port.
fn parse_etcd_endpoints(list: &str) -> Result<Vec<String>, StoreError> {
    let mut endpoints = Vec::new();
    for item in list.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(StoreError::InvalidSpec(format!(
                "etcd endpoint list {list:?} has an empty entry"
            )));
        }
        // A port is present if the part after the last ':' is outside any IPv6 brackets.
        let has_port = item
            .rsplit_once(':')
            .is_some_and(|(host, port)| !port.contains(']') && !host.is_empty());
        if has_port {
            endpoints.push(item.to_string());
        } else {
            endpoints.push(format!("{item}:{ETCD_DEFAULT_PORT}"));
        }
    }
    Ok(endpoints)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_endpoint_lists() {
        assert_eq!(
            parse_etcd_endpoints("a:1,b:2").unwrap(),
            vec!["a:1".to_string(), "b:2".to_string()]
        );
        assert!(parse_etcd_endpoints("a:1,,b:2").is_err());
        assert_eq!(
            parse_etcd_endpoints("etcd1,[::1],[::1]:3").unwrap(),
            vec![
                "etcd1:2379".to_string(),
                "[::1]:2379".to_string(),
                "[::1]:3".to_string()
            ]
        );
    }

    #[tokio::test]
    async fn unknown_scheme_is_refused() {
        assert!(matches!(
            open("zk://x:1").await,
            Err(StoreError::InvalidSpec(_))
        ));
    }
}
