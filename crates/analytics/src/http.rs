//! The query API on :8081, the way Contrail's opserver answers it: `/analytics`,
//! `/analytics/tables`, `/analytics/table/<t>`, `/analytics/table/<t>/schema` and
//! `POST /analytics/query` (answered synchronously: `{"value": [rows]}`, plus `"bounded"`
//! with one sentence per limit the query met). A malformed query is a 400 whose body names
//! the field: `{"error": ..., "field": ...}`. UVEs and alarms: [`crate::uve_http`].

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::query::{self, Bounds, EvalBounds};
use crate::schema::{TABLES, schema_json, table};
use crate::store::Store;

/// What the handlers share.
pub struct Api {
    pub store: Arc<Store>,
    pub bounds: Bounds,
    pub eval: EvalBounds,
    pub uves: Arc<crate::uve::Uves>,
    pub alarms: crate::alarms::AlarmConfig,
    /// Where this API listens (alarm tokens name it).
    pub listen: std::net::SocketAddr,
    /// Turns true when the server stops: the UVE streams end then (else the graceful
    /// shutdown would wait for their clients).
    pub stopping: tokio::sync::watch::Receiver<bool>,
}

pub(crate) fn base(h: &HeaderMap) -> String {
    let host = h
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

pub(crate) fn error(status: StatusCode, field: &str, msg: &str) -> Response {
    (
        status,
        Json(json!({ "error": format!("{field}: {msg}"), "field": field })),
    )
        .into_response()
}

async fn root(h: HeaderMap) -> Json<Value> {
    let b = base(&h);
    Json(json!([
        { "name": "tables", "href": format!("{b}/analytics/tables") },
        { "name": "queries", "href": format!("{b}/analytics/query") },
        { "name": "uves", "href": format!("{b}/analytics/uves") },
        { "name": "alarms", "href": format!("{b}/analytics/alarms") },
        { "name": "alarm-types", "href": format!("{b}/analytics/alarm-types") },
        { "name": "uve-stream", "href": format!("{b}/analytics/uve-stream") },
        { "name": "alarm-stream", "href": format!("{b}/analytics/alarm-stream") },
    ]))
}

async fn tables(h: HeaderMap) -> Json<Value> {
    let b = base(&h);
    Json(Value::Array(
        TABLES
            .iter()
            .map(|t| {
                json!({
                    "name": t.name,
                    "href": format!("{b}/analytics/table/{}", t.name),
                    "type": t.dataset.table_type(),
                    "display_name": t.display_name,
                })
            })
            .collect(),
    ))
}

async fn table_links(h: HeaderMap, Path(t): Path<String>) -> Response {
    match table(&t) {
        Some(t) => Json(json!([{
            "name": "schema",
            "href": format!("{}/analytics/table/{}/schema", base(&h), t.name),
        }]))
        .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "table",
            &format!("unknown table {t:?}"),
        ),
    }
}

async fn schema(Path(t): Path<String>) -> Response {
    match table(&t) {
        Some(t) => Json(schema_json(t)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "table",
            &format!("unknown table {t:?}"),
        ),
    }
}

async fn run_query(State(api): State<Arc<Api>>, body: axum::body::Bytes) -> Response {
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, "body", &format!("not JSON: {e}")),
    };
    let q = match query::parse(&body, crate::now_us(), api.bounds) {
        Ok(q) => q,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.field, &e.msg),
    };
    let a = api.clone();
    let out = tokio::task::spawn_blocking(move || query::run(&a.store, &q, a.eval)).await;
    match out {
        Ok(Ok(o)) => {
            let mut v = json!({ "value": o.rows });
            if !o.bounded.is_empty() {
                v["bounded"] = json!(o.bounded);
            }
            Json(v).into_response()
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, "store", &e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "query", &e.to_string()),
    }
}

/// The router of the query API.
pub fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route("/analytics", get(root))
        .route("/analytics/tables", get(tables))
        .route("/analytics/table/{t}", get(table_links))
        .route("/analytics/table/{t}/schema", get(schema))
        .route("/analytics/query", post(run_query))
        .route("/analytics/uves", get(crate::uve_http::uve_types))
        .route(
            "/analytics/uves/{types}",
            get(crate::uve_http::uve_list).post(crate::uve_http::uve_post),
        )
        .route("/analytics/uves/{t}/{name}", get(crate::uve_http::uve_get))
        .route("/analytics/alarms", get(crate::uve_http::alarms))
        .route(
            "/analytics/alarms/acknowledge",
            post(crate::uve_http::acknowledge_alarm),
        )
        .route("/analytics/uve-stream", get(crate::uve_stream::uve_stream))
        .route(
            "/analytics/alarm-stream",
            get(crate::uve_stream::alarm_stream),
        )
        .route(
            "/analytics/alarm-types",
            get(crate::uve_http::types_of_alarms),
        )
        .with_state(api)
}
