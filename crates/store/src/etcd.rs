//! The etcd v3 backend, over the `etcd-client` crate.
//!
//! The trait was shaped after etcd, so the mapping is direct: a [`Txn`] is one etcd Txn
//! (compares on mod_revision; revision 0 matches an absent key, because etcd compares an
//! absent key as a zero-valued one), ranges are prefix reads paginated at one pinned
//! revision, and watches are etcd watches with `start_revision` and a prefix.
//!
//! etcd does not say which compare failed, so the failure branch of every txn reads the
//! compared keys (atomically with the evaluation) and the first failing compare is found
//! from those reads.

use std::future::Future;
use std::time::Duration;

use etcd_client::{
    Client, CompactionOptions, CompareOp, ConnectOptions, EventType, GetOptions, KvClient,
    LeaseClient, PutOptions, TxnOp, TxnOpResponse, WatchClient, WatchOptions, WatchStream,
};

use crate::Store;
use crate::lease::{Lease, Release};
use crate::types::{
    Compare, Event, KeyValue, Op, Range, Revision, StoreError, Txn, TxnOutcome, Watch, WatchSource,
};

/// Keys per range page. etcd 3.4 walks its index over the whole rest of the range for
/// every page (the limit is applied after), so small pages make big ranges quadratic:
/// measured on 135k keys of 600 B, 1000-key pages take 2.2 s, 5000 take 0.8 s, 20000 take
/// 0.7 s. 10000 keys of typical objects stays near 10 MiB per response.
const PAGE: i64 = 10_000;
/// Responses may be large (a page of big objects); tonic's default 4 MiB is too tight.
const MAX_MESSAGE: usize = 256 << 20;
/// Every unary call gets this long; a cluster that does not answer is `Unavailable`.
const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// A store on an etcd cluster. Cheap to share: the clients multiplex one gRPC channel.
pub struct EtcdStore {
    client: Client,
    kv: KvClient,
    watch: WatchClient,
}

impl EtcdStore {
    /// Connects and checks that the cluster answers. Endpoints are `host:port` or URLs.
    pub async fn connect(endpoints: &[String]) -> Result<Self, StoreError> {
        if endpoints.is_empty() {
            return Err(StoreError::InvalidSpec("no etcd endpoints given".into()));
        }
        let endpoints: Vec<String> = endpoints
            .iter()
            .map(|e| {
                if e.contains("://") {
                    e.clone()
                } else {
                    format!("http://{e}")
                }
            })
            .collect();
        let options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            // HTTP/2 pings notice a dead peer on an idle watch stream, so that the watcher
            // gets an error (and resyncs) instead of waiting forever.
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5))
            .with_keep_alive_while_idle(true);
        let client = Client::connect(&endpoints, Some(options))
            .await
            .map_err(|e| {
                StoreError::Unavailable(format!("cannot connect to etcd {endpoints:?}: {e}"))
            })?;
        let kv = client.kv_client().max_decoding_message_size(MAX_MESSAGE);
        let watch = client.watch_client().max_decoding_message_size(MAX_MESSAGE);
        let store = Self { client, kv, watch };
        // The channel connects lazily; ask once so that a wrong address fails here.
        store.revision().await.map_err(|e| {
            StoreError::Unavailable(format!("etcd {endpoints:?} does not answer: {e}"))
        })?;
        tracing::info!(?endpoints, "connected to etcd");
        Ok(store)
    }
}

#[async_trait::async_trait]
impl Store for EtcdStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        let mut kv = self.kv.clone();
        let resp = call(kv.get(key, None)).await?;
        resp.kvs().first().map(convert_kv).transpose()
    }

    async fn range(&self, prefix: &str) -> Result<Range, StoreError> {
        let mut client = self.kv.clone();
        let (mut start, end) = prefix_range(prefix);
        let mut kvs = Vec::new();
        // 0 until the first page answers; later pages read at that same revision so the
        // result is one consistent snapshot.
        let mut revision = 0;
        loop {
            let mut opts = GetOptions::new().with_range(end.clone()).with_limit(PAGE);
            if revision > 0 {
                opts = opts.with_revision(revision);
            }
            let resp = call(client.get(start.clone(), Some(opts))).await?;
            if revision == 0 {
                revision = header_revision(resp.header())?;
            }
            for kv in resp.kvs() {
                kvs.push(convert_kv(kv)?);
            }
            match resp.kvs().last() {
                Some(last) if resp.more() => {
                    // The next page starts just after the last key seen.
                    start = last.key().to_vec();
                    start.push(0);
                }
                _ => break,
            }
        }
        Ok(Range { kvs, revision })
    }

    async fn txn(&self, txn: Txn) -> Result<TxnOutcome, StoreError> {
        txn.validate()?;
        let compares: Vec<etcd_client::Compare> = txn
            .compares
            .iter()
            .map(|c| match c {
                Compare::ModRevision { key, revision } => {
                    etcd_client::Compare::mod_revision(key.as_str(), CompareOp::Equal, *revision)
                }
            })
            .collect();
        let ops: Vec<TxnOp> = txn
            .ops
            .iter()
            .map(|op| match op {
                Op::Put { key, value } => TxnOp::put(key.as_str(), value.clone(), None),
                Op::Delete { key } => TxnOp::delete(key.as_str(), None),
            })
            .collect();
        let reads: Vec<TxnOp> = txn
            .compares
            .iter()
            .map(|c| TxnOp::get(c.key(), Some(GetOptions::new().with_keys_only())))
            .collect();
        let request = etcd_client::Txn::new()
            .when(compares)
            .and_then(ops)
            .or_else(reads);
        let mut kv = self.kv.clone();
        let resp = call(kv.txn(request)).await.map_err(|e| match e {
            // A timeout or broken connection leaves the outcome unknown; say so.
            StoreError::Unavailable(m) => {
                StoreError::Unavailable(format!("txn outcome unknown: {m}"))
            }
            other => other,
        })?;
        if resp.succeeded() {
            return Ok(TxnOutcome::Committed {
                revision: header_revision(resp.header())?,
            });
        }
        for (i, (cmp, read)) in txn.compares.iter().zip(resp.op_responses()).enumerate() {
            let current = match read {
                TxnOpResponse::Get(get) => get.kvs().first().map_or(0, |kv| kv.mod_revision()),
                _ => {
                    return Err(StoreError::Backend(
                        "etcd answered a txn read with a non-read response".into(),
                    ));
                }
            };
            if !cmp.holds(current) {
                return Ok(TxnOutcome::Conflict { failed: i });
            }
        }
        // etcd said a compare failed but the reads say none did: both come from the same
        // atomic evaluation, so this means the two disagree about what a compare means.
        Err(StoreError::Backend(
            "etcd reported a failed compare that the txn's own reads do not show".into(),
        ))
    }

    async fn watch(&self, prefix: &str, from_revision: Revision) -> Result<Watch, StoreError> {
        let mut opts = WatchOptions::new().with_prefix();
        if from_revision > 0 {
            opts = opts.with_start_revision(from_revision);
        }
        let mut client = self.watch.clone();
        let mut stream = call(client.watch(prefix, Some(opts))).await?;
        // Wait until etcd has registered the watch, so that a "from now" watch sees every
        // write made after this returns.
        let first = call(stream.message()).await?;
        let mut source = EtcdWatch {
            stream,
            next: from_revision,
            first: None,
        };
        match first {
            Some(resp) if resp.created() && !resp.canceled() => {
                if source.next <= 0 {
                    source.next = resp.header().map_or(0, |h| h.revision()) + 1;
                }
                if !resp.events().is_empty() {
                    source.first = Some(resp);
                }
            }
            Some(resp) => source.first = Some(resp),
            None => {
                return Err(StoreError::Unavailable(
                    "etcd closed the watch stream before creating the watch".into(),
                ));
            }
        }
        Ok(Watch::new(Box::new(source)))
    }

    async fn revision(&self) -> Result<Revision, StoreError> {
        let mut kv = self.kv.clone();
        let resp = call(kv.get(vec![0u8], Some(GetOptions::new().with_count_only()))).await?;
        header_revision(resp.header())
    }

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<Lease, StoreError> {
        let key = format!("{LEASE_PREFIX}{name}");
        let ttl_s = ttl.as_secs().max(1) as i64;
        let mut leases = self.client.lease_client();
        let grant = call(leases.grant(ttl_s, None)).await?;
        let id = grant.id();
        let (lost_tx, lost_rx) = tokio::sync::watch::channel(false);
        let keeper = tokio::spawn(keep_alive(leases.clone(), id, ttl, lost_tx));
        let release = EtcdRelease { leases, id, keeper };
        // Take the key if nobody holds it; else wait for it to go (released or expired).
        let mut kv = self.kv.clone();
        loop {
            let take = etcd_client::Txn::new()
                .when(vec![etcd_client::Compare::create_revision(
                    key.as_str(),
                    CompareOp::Equal,
                    0,
                )])
                .and_then(vec![TxnOp::put(
                    key.as_str(),
                    holder,
                    Some(PutOptions::new().with_lease(id)),
                )]);
            match call(kv.txn(take)).await {
                Ok(resp) if resp.succeeded() => break,
                Ok(_) => {}
                Err(e) => {
                    Box::new(release).release();
                    return Err(e);
                }
            }
            if *lost_rx.borrow() {
                Box::new(release).release();
                return Err(StoreError::Unavailable(format!(
                    "etcd lease for {name} could not be kept alive while waiting for it"
                )));
            }
            tokio::time::sleep((ttl / 4).max(Duration::from_millis(100))).await;
        }
        tracing::info!(lease = name, holder, ttl_s, "etcd lease acquired");
        Ok(Lease::new(holder, lost_rx, Box::new(release)))
    }

    async fn compact(&self, revision: Revision) -> Result<(), StoreError> {
        let mut client = self.client.clone();
        match call(client.compact(revision, Some(CompactionOptions::new().with_physical()))).await {
            Ok(_) => Ok(()),
            // Compacting to where etcd already is (or before) is not an error for us.
            Err(StoreError::Compacted { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Lease keys live outside `/cirrus/` so the config watch never sees them.
pub const LEASE_PREFIX: &str = "/cirrus-lease/";

/// Renews lease `id` three times per TTL; says `lost` once a TTL passes without renewal.
async fn keep_alive(
    mut leases: LeaseClient,
    id: i64,
    ttl: Duration,
    lost: tokio::sync::watch::Sender<bool>,
) {
    let period = (ttl / 3).max(Duration::from_millis(100));
    let mut renewed = tokio::time::Instant::now();
    'session: loop {
        let Ok(Ok((mut keeper, mut stream))) =
            tokio::time::timeout(period, leases.keep_alive(id)).await
        else {
            if renewed.elapsed() >= ttl {
                break 'session;
            }
            tokio::time::sleep(period).await;
            continue;
        };
        loop {
            match tokio::time::timeout(period, stream.message()).await {
                // A TTL of 0 means etcd no longer knows the lease: it expired.
                Ok(Ok(Some(r))) if r.ttl() > 0 => renewed = tokio::time::Instant::now(),
                Ok(Ok(Some(_))) => break 'session,
                _ => {}
            }
            if renewed.elapsed() >= ttl {
                break 'session;
            }
            tokio::time::sleep(period).await;
            if keeper.keep_alive().await.is_err() {
                continue 'session;
            }
        }
    }
    tracing::warn!(lease = id, "etcd lease lost: not renewed within its TTL");
    let _ = lost.send(true);
}

struct EtcdRelease {
    leases: LeaseClient,
    id: i64,
    keeper: tokio::task::JoinHandle<()>,
}

impl Release for EtcdRelease {
    fn release(self: Box<Self>) {
        self.keeper.abort();
        let (mut leases, id) = (self.leases.clone(), self.id);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let _ = call(leases.revoke(id)).await;
            });
        }
    }

    fn abandon(self: Box<Self>) {
        self.keeper.abort();
    }
}

/// One etcd watch.
struct EtcdWatch {
    stream: WatchStream,
    /// The revision the caller expects next (for the `Compacted` error).
    next: Revision,
    /// A response read while creating the watch that still has to be handed out.
    first: Option<etcd_client::WatchResponse>,
}

#[async_trait::async_trait]
impl WatchSource for EtcdWatch {
    async fn next_events(&mut self) -> Option<Result<Vec<Event>, StoreError>> {
        loop {
            let resp = match self.first.take() {
                Some(resp) => resp,
                None => match self.stream.message().await {
                    Ok(Some(resp)) => resp,
                    Ok(None) => {
                        return Some(Err(StoreError::Unavailable(
                            "etcd closed the watch stream".into(),
                        )));
                    }
                    Err(e) => return Some(Err(map_etcd(e))),
                },
            };
            if resp.compact_revision() > 0 {
                return Some(Err(StoreError::Compacted {
                    requested: self.next,
                    oldest: resp.compact_revision(),
                }));
            }
            if resp.canceled() {
                return Some(Err(StoreError::Unavailable(format!(
                    "etcd canceled the watch: {}",
                    resp.cancel_reason()
                ))));
            }
            if resp.events().is_empty() {
                // Created or progress notifications carry no events.
                continue;
            }
            let mut events = Vec::with_capacity(resp.events().len());
            for e in resp.events() {
                match convert_event(e) {
                    Ok(ev) => events.push(ev),
                    Err(err) => return Some(Err(err)),
                }
            }
            if let Some(last) = events.last() {
                self.next = last.revision() + 1;
            }
            return Some(Ok(events));
        }
    }
}

/// Runs one etcd call with the call timeout, mapping its errors.
async fn call<T>(
    fut: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, StoreError> {
    match tokio::time::timeout(CALL_TIMEOUT, fut).await {
        Ok(result) => result.map_err(map_etcd),
        Err(_) => Err(StoreError::Unavailable(format!(
            "etcd did not answer within {} s",
            CALL_TIMEOUT.as_secs()
        ))),
    }
}

/// Sorts etcd's errors into the store's: unreachable -> `Unavailable`, compacted ->
/// `Compacted`, rejected request -> `InvalidTxn`, the rest -> `Backend`.
fn map_etcd(e: etcd_client::Error) -> StoreError {
    use tonic::Code;
    match e {
        etcd_client::Error::GRpcStatus(status) => {
            let msg = status.message().to_string();
            match status.code() {
                Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Aborted => {
                    StoreError::Unavailable(format!("etcd: {msg}"))
                }
                Code::Unknown if msg.contains("transport") || msg.contains("connect") => {
                    StoreError::Unavailable(format!("etcd: {msg}"))
                }
                Code::OutOfRange if msg.contains("compacted") => StoreError::Compacted {
                    requested: 0,
                    oldest: 0,
                },
                Code::InvalidArgument => StoreError::InvalidTxn(format!("etcd refused: {msg}")),
                code => StoreError::Backend(format!("etcd: {code:?}: {msg}")),
            }
        }
        etcd_client::Error::TransportError(e) => {
            StoreError::Unavailable(format!("etcd transport: {e}"))
        }
        etcd_client::Error::IoError(e) => StoreError::Unavailable(format!("etcd I/O: {e}")),
        other => StoreError::Backend(format!("etcd: {other}")),
    }
}

fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> Result<Revision, StoreError> {
    header
        .map(|h| h.revision())
        .ok_or_else(|| StoreError::Backend("etcd response without a header".into()))
}

fn convert_kv(kv: &etcd_client::KeyValue) -> Result<KeyValue, StoreError> {
    Ok(KeyValue {
        key: utf8_key(kv.key())?,
        value: kv.value().to_vec(),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
    })
}

fn convert_event(e: &etcd_client::Event) -> Result<Event, StoreError> {
    let kv = e
        .kv()
        .ok_or_else(|| StoreError::Backend("etcd watch event without a key-value".into()))?;
    Ok(match e.event_type() {
        EventType::Put => Event::Put(convert_kv(kv)?),
        EventType::Delete => Event::Delete {
            key: utf8_key(kv.key())?,
            mod_revision: kv.mod_revision(),
        },
    })
}

/// Keys are UTF-8 paths; anything else in etcd was not written by Cirrus.
fn utf8_key(key: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(key.to_vec()).map_err(|_| {
        StoreError::Corrupt(format!(
            "etcd key {:?} is not UTF-8",
            String::from_utf8_lossy(key)
        ))
    })
}

/// The `[start, end)` byte range of keys starting with `prefix`, as etcd wants it: the end
/// is the prefix with its last byte incremented; `"\0"` means "to the end" (empty prefix).
fn prefix_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    if prefix.is_empty() {
        return (vec![0], vec![0]);
    }
    let start = prefix.as_bytes().to_vec();
    let mut end = start.clone();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return (start, end);
        }
    }
    (start, vec![0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_range_increments_last_byte() {
        assert_eq!(prefix_range("/a/"), (b"/a/".to_vec(), b"/a0".to_vec()));
        assert_eq!(prefix_range(""), (vec![0], vec![0]));
    }
}
