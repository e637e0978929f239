//! The controller's `/metrics` (Prometheus text format), served on the introspect listener
//! (Contrail's control-node port, 8083) and on the API listener, so a config-only replica
//! is scraped too. Both answer the same whole-process exposition.
//!
//! Measured here: API latency by method, type and status ([`track`], a layer on the API
//! router). Read at scrape time from what the process already keeps: the store's
//! transactions and watch lag ([`crate::metered_store`]), the config index, the BGP
//! speaker's neighbours and prefixes per family, the vrouter channel's sessions and routes,
//! the intent compiler's compile times.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cirrus_api::ApiState;
use cirrus_bgp::speaker::Speaker;
use cirrus_control::channel::HubHandle;
use cirrus_metrics::{Exposition, HistogramVec, Kind, LATENCY_BUCKETS};
use serde_json::Value;

use crate::metered_store::StoreMetrics;

/// Everything `/metrics` reads.
pub struct Metrics {
    api: HistogramVec,
    store: Arc<StoreMetrics>,
    state: Arc<ApiState>,
    control: OnceLock<(Speaker, Option<Arc<HubHandle>>)>,
    /// API requests answered, those answered 4xx, and 5xx (for the config-node UVE).
    counts: [AtomicU64; 3],
}

impl Metrics {
    /// Also follows the index's applied revision, to time the watch lag.
    pub fn new(state: Arc<ApiState>, store: Arc<StoreMetrics>) -> Arc<Metrics> {
        let mut rx = state.subscribe();
        let lag = store.clone();
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let r = *rx.borrow_and_update();
                lag.applied(r);
            }
        });
        Arc::new(Metrics {
            api: HistogramVec::new(&["method", "type", "status"], LATENCY_BUCKETS),
            store,
            state,
            control: OnceLock::new(),
            counts: Default::default(),
        })
    }

    /// API requests answered, 4xx answers and 5xx answers so far.
    pub fn api_counts(&self) -> [u64; 3] {
        self.counts.each_ref().map(|c| c.load(Ordering::Relaxed))
    }

    /// The control node, once it runs.
    pub fn set_control(&self, speaker: Speaker, hub: Option<Arc<HubHandle>>) {
        let _ = self.control.set((speaker, hub));
    }

    /// `GET /metrics` on any listener.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        axum::Router::new()
            .route("/metrics", get(serve))
            .with_state(self.clone())
    }

    async fn render(&self) -> String {
        let mut e = Exposition::new();
        self.api.write(
            &mut e,
            "cirrus_api_request_duration_seconds",
            "VNC REST API requests: time to answer, by method, resource type (or action) and status.",
        );
        self.store.write(&mut e);
        let (index_rev, objects) = {
            let i = self.state.index();
            (i.revision, i.len())
        };
        e.family(
            "cirrus_config_objects",
            Kind::Gauge,
            "Config objects in the API index.",
        )
        .sample(&[], objects as f64);
        e.family(
            "cirrus_config_index_revision",
            Kind::Gauge,
            "Store revision the API index has applied.",
        )
        .sample(&[], index_rev as f64);
        if let Ok(head) = self.state.store.revision().await {
            e.family(
                "cirrus_store_revision",
                Kind::Gauge,
                "Latest committed revision of the config store.",
            )
            .sample(&[], head as f64);
            e.family(
                "cirrus_store_watch_lag_revisions",
                Kind::Gauge,
                "Revisions committed to the store that the API index has not applied yet.",
            )
            .sample(&[], (head - index_rev).max(0) as f64);
        }
        cirrus_control::intent_sync::COMPILE_SECONDS.write(
            &mut e,
            "cirrus_intent_compile_seconds",
            "Intent compiler runs (full, or only what changed): time to compile, writes excluded.",
        );
        if let Some((speaker, hub)) = self.control.get() {
            if let Ok(n) = speaker.neighbors().await {
                crate::metrics_control::bgp(&mut e, &n);
            }
            if let Some(v) = match hub {
                Some(h) => h.vrouters().await,
                None => None,
            } {
                crate::metrics_control::channel(&mut e, &v);
            }
        }
        e.finish()
    }
}

async fn serve(State(m): State<Arc<Metrics>>) -> Response {
    let text = m.render().await;
    ([(CONTENT_TYPE, cirrus_metrics::CONTENT_TYPE)], text).into_response()
}

/// The API latency layer: `router.layer(from_fn_with_state(metrics, track))`.
pub async fn track(State(m): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let method: &'static str = match req.method().as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    let kind = type_label(
        req.extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
        req.uri().path(),
    );
    let started = Instant::now();
    let resp = next.run(req).await;
    m.counts[0].fetch_add(1, Ordering::Relaxed);
    if resp.status().is_client_error() {
        m.counts[1].fetch_add(1, Ordering::Relaxed);
    } else if resp.status().is_server_error() {
        m.counts[2].fetch_add(1, Ordering::Relaxed);
    }
    m.api.observe(
        &[method, &kind, resp.status().as_str()],
        started.elapsed().as_secs_f64(),
    );
    resp
}

/// The `type` label of a request: the resource type its first path segment names (singular or
/// collection), else the action a fixed route names (`fqname-to-id`), `homepage` for `/`, and
/// `unknown` for paths no route matched (so a scan of random paths cannot grow the series).
fn type_label(matched: Option<&str>, path: &str) -> String {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    if first.is_empty() {
        return "homepage".into();
    }
    let schema = cirrus_model::schema();
    if let Some(t) = schema
        .resource(first)
        .or_else(|| schema.resource_by_collection(first))
    {
        return t.name.to_string();
    }
    match matched {
        Some(m) if !m.starts_with("/{") => m
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("")
            .to_string(),
        _ => "unknown".into(),
    }
}

/// A JSON number as f64 (0 when absent).
pub(crate) fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::type_label;

    #[test]
    fn type_labels_are_types_actions_or_unknown() {
        let m = Some("/{collection}");
        assert_eq!(type_label(m, "/virtual-networks"), "virtual-network");
        assert_eq!(
            type_label(Some("/{type}/{uuid}"), "/virtual-network/abc"),
            "virtual-network"
        );
        assert_eq!(
            type_label(Some("/fqname-to-id"), "/fqname-to-id"),
            "fqname-to-id"
        );
        assert_eq!(type_label(m, "/no-such-things"), "unknown");
        assert_eq!(type_label(None, "/x/y/z"), "unknown");
        assert_eq!(type_label(Some("/"), "/"), "homepage");
    }
}
