//! The vrouter's JSON introspect (Contrail's agent introspect port, 8085): ports, VRFs and
//! their routes as programmed, flows, drop counters by reason (the pipeline's and flow
//! setup's, with the rule that denied), controller sessions, underlay neighbours. Read-only;
//! every answer is built from the control task's last status snapshot and the runner's
//! counters at the time of the request.
//!
//! | path | answer |
//! |---|---|
//! | `/` | this list (HTML, with the Sandesh XML pages of `sandesh/`) |
//! | `/status` | everything of the control side |
//! | `/controllers` | sessions, subscriptions, counters |
//! | `/ports` | ports with addresses, label, VRF, device state |
//! | `/vrfs` | VRFs (id, instance, route count) |
//! | `/routes?vrf=ID` or `?instance=NAME` | routes of a VRF with their nexthops |
//! | `/flows?limit=N&vrf=ID&port=IFINDEX` | flow entries |
//! | `/drops` | pipeline drops by reason, flow refusals by reason and by rule |
//! | `/counters` | packet counters per worker and interface |
//! | `/neighbours` | underlay neighbours |
//! | `/services` | DHCP, ARP, ping and ND answers, counted |
//! | `/nexthops` | programmed nexthops (id, what, table content) |
//! | `/trace?port=P&dst=A&proto=tcp&dport=N` | what happens to that packet, and why (`trace.rs`) |
//! | `/metrics` | the same counters for Prometheus (`introspect_metrics.rs`) |

use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cirrus_dataplane::flow::FlowRecord;
use cirrus_packet_io::handle::RunnerHandle;
use cirrus_packet_io::report::FlowFilter;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::flow_stats::FlowStats;
use crate::node::Status;
use crate::traps::Traps;

/// What introspect reads.
#[derive(Clone)]
pub struct Introspect {
    pub status: Arc<ArcSwap<Status>>,
    pub handle: RunnerHandle,
    pub stats: Arc<FlowStats>,
    pub traps: Arc<Traps>,
    pub ctx: Arc<ArcSwap<crate::flow_context::FlowContext>>,
}

impl Introspect {
    /// What a running vrouter shows.
    pub fn of(r: &crate::node::Running) -> Introspect {
        Introspect {
            status: r.status.clone(),
            handle: r.handle.clone(),
            stats: r.stats.clone(),
            traps: r.traps.clone(),
            ctx: r.ctx.clone(),
        }
    }
}

fn err(code: StatusCode, msg: impl Into<String>) -> Response {
    (code, Json(json!({"error": msg.into()}))).into_response()
}

fn flow_json(worker: usize, r: &FlowRecord) -> Value {
    let k = &r.key;
    json!({
        "worker": worker,
        "index": r.index,
        "vrf": k.vrf(),
        "proto": k.proto().0,
        "src": k.src().to_string(),
        "sport": k.sport(),
        "dst": k.dst().to_string(),
        "dport": k.dport(),
        "action": format!("{:?}", r.verdict).to_lowercase(),
        "nat_src": r.nat_src,
        "nat_dst": r.nat_dst,
        "dst_vrf": r.dst_vrf,
        "reverse": r.rev_key.map(|k| format!("{k:?}")),
        "interface": r.interface,
        "out_interface": r.out_interface,
        "nexthop": r.nexthop,
        "packets": r.packets,
        "bytes": r.bytes,
        "last_seen": r.last_seen,
        "tcp_flags": r.tcp_flags,
    })
}

#[derive(Deserialize)]
struct RoutesQuery {
    vrf: Option<u16>,
    instance: Option<String>,
}

#[derive(Deserialize)]
struct FlowsQuery {
    limit: Option<usize>,
    vrf: Option<u16>,
    port: Option<u32>,
}

/// The JSON pages, listed on the index beside the Sandesh module pages.
const JSON_PAGES: &[&str] = &[
    "/status",
    "/controllers",
    "/ports",
    "/vrfs",
    "/routes?vrf=ID|instance=NAME",
    "/flows?limit=N&vrf=ID&port=IFINDEX",
    "/drops",
    "/counters",
    "/neighbours",
    "/services",
    "/nexthops",
    "/trace?port=P&dst=A&proto=P&dport=N",
    "/metrics",
];

async fn index() -> axum::response::Html<String> {
    axum::response::Html(crate::sandesh::index_html(JSON_PAGES))
}

async fn status(State(s): State<Introspect>) -> Json<Value> {
    Json(serde_json::to_value(&**s.status.load()).unwrap_or(Value::Null))
}

async fn controllers(State(s): State<Introspect>) -> Json<Value> {
    let st = s.status.load();
    Json(
        json!({"active_config": st.active_config, "controllers": st.controllers, "subscriptions": st.subscriptions}),
    )
}

async fn ports(State(s): State<Introspect>) -> Json<Value> {
    Json(json!({"ports": s.status.load().ports}))
}

async fn vrfs(State(s): State<Introspect>) -> Json<Value> {
    let st = s.status.load();
    let v: Vec<Value> = st
        .vrfs
        .iter()
        .map(|v| json!({"id": v.id, "instance": v.instance, "routes": v.routes.len()}))
        .collect();
    Json(json!({ "vrfs": v }))
}

async fn routes(State(s): State<Introspect>, Query(q): Query<RoutesQuery>) -> Response {
    let st = s.status.load();
    let v = st
        .vrfs
        .iter()
        .find(|v| Some(v.id) == q.vrf || Some(&v.instance) == q.instance.as_ref());
    match (v, &q.vrf, &q.instance) {
        (Some(v), _, _) => {
            Json(json!({"vrf": v.id, "instance": v.instance, "routes": v.routes})).into_response()
        }
        (None, None, None) => err(StatusCode::BAD_REQUEST, "give vrf=ID or instance=NAME"),
        (None, _, _) => err(StatusCode::NOT_FOUND, "no such VRF"),
    }
}

async fn flows(State(s): State<Introspect>, Query(q): Query<FlowsQuery>) -> Response {
    let filter = match (q.vrf, q.port) {
        (Some(v), _) => FlowFilter::Vrf(v),
        (None, Some(p)) => FlowFilter::Interface(p),
        (None, None) => FlowFilter::All,
    };
    let limit = q.limit.unwrap_or(1000).min(100_000);
    let h = s.handle.clone();
    match tokio::task::spawn_blocking(move || h.flows(filter, limit)).await {
        Ok(Ok(w)) => {
            let matched: usize = w.iter().map(|x| x.matched).sum();
            let list: Vec<Value> = w
                .iter()
                .flat_map(|x| x.flows.iter().map(move |r| flow_json(x.worker, r)))
                .collect();
            Json(json!({"matched": matched, "flows": list})).into_response()
        }
        Ok(Err(e)) => err(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn drops(State(s): State<Introspect>) -> Response {
    let h = s.handle.clone();
    let report = match tokio::task::spawn_blocking(move || h.report()).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return err(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => return err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let pipeline: serde_json::Map<String, Value> = report
        .drops()
        .nonzero()
        .into_iter()
        .map(|(r, n)| (format!("{r:?}"), json!(n)))
        .collect();
    let f = s.stats.snapshot();
    let rules: serde_json::Map<String, Value> = f
        .by_rule
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                serde_json::to_value(v).unwrap_or(Value::Null),
            )
        })
        .collect();
    Json(json!({
        "pipeline": pipeline,
        "handoff_lost": report.handoff_lost,
        "flow_setup": {
            "decided": f.decided, "allowed": f.allowed, "translated": f.translated,
            "refused": f.refused, "by_reason": f.by_reason, "by_rule": rules,
            "reevaluated_deleted": f.reevaluated_deleted,
        }
    }))
    .into_response()
}

async fn counters(State(s): State<Introspect>) -> Response {
    let h = s.handle.clone();
    match tokio::task::spawn_blocking(move || h.report()).await {
        Ok(Ok(r)) => {
            let t = r.totals();
            let ifs: Vec<Value> = r
                .interface_counters()
                .iter()
                .map(|(i, c)| {
                    json!({"ifindex": i, "rx_packets": c.rx_packets, "rx_bytes": c.rx_bytes,
                    "tx_packets": c.tx_packets, "tx_bytes": c.tx_bytes, "drops": c.drops})
                })
                .collect();
            let workers: Vec<Value> = r
                .workers
                .iter()
                .map(|w| json!({"worker": w.worker, "flows": w.flows, "flow_capacity": w.flow_capacity,
                    "parked": w.parked, "injected": w.injected, "unrouted": w.unrouted,
                    "ports": w.ports.iter().map(|p| json!({"ifindex": p.ifindex, "device": p.device, "error": p.error,
                        "rx_frames": p.counters.rx_frames, "tx_frames": p.counters.tx_frames})).collect::<Vec<_>>()}))
                .collect();
            Json(json!({
                "totals": {"rx": t.rx, "tx": t.tx, "trapped": t.trapped, "held": t.held,
                    "flow_hits": t.flow_hits, "flow_misses": t.flow_misses},
                "interfaces": ifs, "workers": workers, "handoff_lost": r.handoff_lost,
            }))
            .into_response()
        }
        Ok(Err(e)) => err(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => err(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn nexthops(State(s): State<Introspect>) -> Json<Value> {
    Json(json!({"nexthops": s.status.load().nexthops}))
}

async fn services(State(s): State<Introspect>) -> Json<Value> {
    Json(json!({"traps": s.traps.stats()}))
}

async fn neighbours(State(s): State<Introspect>) -> Json<Value> {
    Json(json!({"neighbours": s.status.load().neighbours}))
}

/// The routes.
pub fn router(s: Introspect) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/status", get(status))
        .route("/controllers", get(controllers))
        .route("/ports", get(ports))
        .route("/vrfs", get(vrfs))
        .route("/routes", get(routes))
        .route("/flows", get(flows))
        .route("/drops", get(drops))
        .route("/counters", get(counters))
        .route("/neighbours", get(neighbours))
        .route("/services", get(services))
        .route("/nexthops", get(nexthops))
        .route("/trace", get(crate::trace::trace))
        .route("/metrics", get(crate::introspect_metrics::serve))
        .with_state(s.clone())
        .merge(crate::sandesh::router(s))
}

/// Serves on `listener` until `shutdown` completes.
pub async fn serve(
    s: Introspect,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    if let Ok(a) = listener.local_addr() {
        tracing::info!(listen = %a, "introspect serving");
    }
    axum::serve(listener, router(s))
        .with_graceful_shutdown(shutdown)
        .await
}
