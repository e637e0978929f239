//! The analytics role as one call: the store in the data dir, the collector and the query
//! API, until `shutdown` resolves (then the open batches are written).

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::http::{Api, router};
use crate::parquet_io::FileError;
use crate::query::{Bounds, EvalBounds};
use crate::store::{HOUR_US, Store, StoreConfig};

/// Settings of the analytics role.
#[derive(Debug, Clone)]
pub struct AnalyticsConfig {
    /// Where the partitions live (`<data-dir>/analytics`).
    pub dir: PathBuf,
    pub retention_hours: u32,
    /// How often the open batches are written, which is also how late a record may reach
    /// a file (queries see the open batches too).
    pub flush_every: Duration,
    /// The longest time range one query reads.
    pub max_query_hours: u32,
    /// The most rows one query returns.
    pub max_rows: usize,
    /// The alarm rules' settings.
    pub alarms: crate::alarms::AlarmConfig,
    /// The UVE state, shared with whoever feeds the controller's own nodes into it
    /// ([`crate::uve::Uves::update_nodes`]).
    pub uves: Arc<crate::uve::Uves>,
}

impl AnalyticsConfig {
    pub fn new(dir: PathBuf) -> Self {
        AnalyticsConfig {
            dir,
            retention_hours: 48,
            flush_every: Duration::from_secs(10),
            max_query_hours: 48,
            max_rows: 100_000,
            alarms: crate::alarms::AlarmConfig::default(),
            uves: Arc::new(crate::uve::Uves::new()),
        }
    }
}

/// Opens the store and serves both listeners until `shutdown`.
pub async fn serve(
    cfg: AnalyticsConfig,
    api: TcpListener,
    collector: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), FileError> {
    let store = Arc::new(Store::open(StoreConfig {
        dir: cfg.dir.clone(),
        retention_us: cfg.retention_hours as i64 * HOUR_US,
        flush_rows: 1 << 20,
    })?);
    let uves = cfg.uves.clone();
    let listen = api.local_addr().map_err(|source| FileError::Io {
        path: "analytics API listener".into(),
        source,
    })?;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let state = Arc::new(Api {
        listen,
        stopping,
        store: store.clone(),
        uves: uves.clone(),
        alarms: cfg.alarms,
        bounds: Bounds {
            max_range_us: cfg.max_query_hours as i64 * HOUR_US,
            max_limit: cfg.max_rows,
        },
        eval: EvalBounds {
            max_rows: cfg.max_rows,
            max_scan_rows: 200_000_000,
        },
    });
    let coll = tokio::spawn(crate::collector::serve(
        collector,
        store.clone(),
        uves,
        cfg.flush_every,
    ));
    let shutdown = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    let served = axum::serve(api, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    coll.abort();
    if let Err(e) = served {
        tracing::warn!(error = %e, "analytics API stopped");
    }
    let s = store.clone();
    tokio::task::spawn_blocking(move || s.flush())
        .await
        .unwrap_or(Ok(()))
}
