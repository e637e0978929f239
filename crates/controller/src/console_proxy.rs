//! The web console's window on what other listeners hold, on the API's listener (the page can
//! only call its own origin), behind the same admin check as `/ui/control/` (`main.rs`):
//!
//! - `GET /ui/vrouter/{hostname}/{view}`: a connected vrouter's introspect (Contrail's agent
//!   port, 8085), reached at the address its channel session comes from, the way Contrail's
//!   web UI reaches `virtual_router_ip_address:8085`. Only the read-only views the console
//!   shows are forwarded (`VIEWS`), with their query string; nothing else of the vrouter, and
//!   no other host, can be named by the caller.
//! - `GET /ui/analytics/{*path}` and `POST /ui/analytics/query`: the analytics role's query
//!   API (`--analytics-listen`), forwarded as they are.
//!
//! Both are plain HTTP/1.0 requests on loopback or the underlay, answered with the far end's
//! status and JSON; a far end that does not answer is a 502 naming it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cirrus_control::channel::HubHandle;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The agent's introspect port (Contrail's).
pub const VROUTER_INTROSPECT_PORT: u16 = 8085;

/// The vrouter introspect views the console reads.
pub const VIEWS: &[&str] = &[
    "status",
    "controllers",
    "ports",
    "vrfs",
    "routes",
    "flows",
    "drops",
    "counters",
];

/// The largest answer forwarded.
const MAX_ANSWER: usize = 32 << 20;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);

/// Why a forwarded request was not answered by the far end.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error(
        "the vrouter channel is not running on this controller (--roles control, --channel-listen)"
    )]
    NoChannel,
    #[error("the analytics role is not running on this controller (--roles analytics)")]
    NoAnalytics,
    #[error("no vrouter {0:?} is connected to this control node")]
    NotConnected(String),
    #[error("vrouter introspect view {0:?} is not shown by the console: one of {views}", views = VIEWS.join(", "))]
    UnknownView(String),
    #[error("{what} at {url} did not answer: {why}")]
    Unreachable {
        what: String,
        url: String,
        why: String,
    },
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let status = match self {
            ProxyError::NoChannel | ProxyError::NoAnalytics | ProxyError::NotConnected(_) => {
                StatusCode::NOT_FOUND
            }
            ProxyError::UnknownView(_) => StatusCode::BAD_REQUEST,
            ProxyError::Unreachable { .. } => StatusCode::BAD_GATEWAY,
        };
        (status, axum::Json(json!({"error": self.to_string()}))).into_response()
    }
}

#[derive(Clone)]
struct Sources {
    hub: Option<Arc<HubHandle>>,
    analytics: Option<SocketAddr>,
}

/// The console's forwarding routes (to be put behind the admin check).
pub fn router(hub: Option<Arc<HubHandle>>, analytics: Option<SocketAddr>) -> Router {
    Router::new()
        .route("/ui/vrouter/{hostname}/{view}", get(vrouter))
        .route("/ui/analytics/query", axum::routing::post(analytics_query))
        .route("/ui/analytics/{*path}", get(analytics_get))
        .with_state(Sources { hub, analytics })
}

/// Where the hub's `/vrouters` answer says `hostname`'s session comes from (its TCP peer, else
/// the underlay address it announced), when it is connected.
pub fn vrouter_address(vrouters: &Value, hostname: &str) -> Option<IpAddr> {
    let v = vrouters["vrouters"]
        .as_array()?
        .iter()
        .find(|v| v["hostname"] == hostname && v["state"] == "established")?;
    let peer = v["peer"]
        .as_str()
        .and_then(|p| p.parse::<SocketAddr>().ok())
        .map(|p| p.ip());
    peer.or_else(|| v["address"].as_str().and_then(|a| a.parse().ok()))
}

async fn vrouter(
    State(src): State<Sources>,
    Path((hostname, view)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ProxyError> {
    if !VIEWS.contains(&view.as_str()) {
        return Err(ProxyError::UnknownView(view));
    }
    let hub = src.hub.ok_or(ProxyError::NoChannel)?;
    let known = hub.vrouters().await.ok_or(ProxyError::NoChannel)?;
    let ip =
        vrouter_address(&known, &hostname).ok_or(ProxyError::NotConnected(hostname.clone()))?;
    let addr = SocketAddr::new(ip, VROUTER_INTROSPECT_PORT);
    let path = match query {
        Some(q) => format!("/{view}?{q}"),
        None => format!("/{view}"),
    };
    forward(
        &format!("vrouter {hostname}'s introspect"),
        addr,
        "GET",
        &path,
        None,
    )
    .await
}

async fn analytics_get(
    State(src): State<Sources>,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ProxyError> {
    let addr = src.analytics.ok_or(ProxyError::NoAnalytics)?;
    let path = match query {
        Some(q) => format!("/analytics/{path}?{q}"),
        None => format!("/analytics/{path}"),
    };
    forward("the analytics query API", addr, "GET", &path, None).await
}

async fn analytics_query(State(src): State<Sources>, body: Bytes) -> Result<Response, ProxyError> {
    let addr = src.analytics.ok_or(ProxyError::NoAnalytics)?;
    forward(
        "the analytics query API",
        addr,
        "POST",
        "/analytics/query",
        Some(&body),
    )
    .await
}

/// One HTTP/1.0 request (so the answer is delimited by the connection's end, never chunked);
/// the far end's status, content type and body.
async fn forward(
    what: &str,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> Result<Response, ProxyError> {
    let url = format!("http://{addr}{path}");
    let unreachable = |why: String| ProxyError::Unreachable {
        what: what.to_string(),
        url: url.clone(),
        why,
    };
    let mut stream = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| unreachable(format!("no connection within {CONNECT_TIMEOUT:?}")))?
        .map_err(|e| unreachable(e.to_string()))?;
    let mut request =
        format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\nAccept: application/json\r\n");
    if let Some(b) = body {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    request.push_str("\r\n");
    let exchange = async {
        stream.write_all(request.as_bytes()).await?;
        if let Some(b) = body {
            stream.write_all(b).await?;
        }
        let mut answer = Vec::new();
        (&mut stream)
            .take(MAX_ANSWER as u64 + 1)
            .read_to_end(&mut answer)
            .await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, exchange)
        .await
        .map_err(|_| unreachable(format!("no answer within {ANSWER_TIMEOUT:?}")))?
        .map_err(|e| unreachable(e.to_string()))?;
    if answer.len() > MAX_ANSWER {
        return Err(unreachable(format!(
            "its answer is larger than {} MiB",
            MAX_ANSWER >> 20
        )));
    }
    let (status, body) =
        parse_answer(&answer).ok_or_else(|| unreachable("a malformed HTTP answer".into()))?;
    Ok((
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_vec(),
    )
        .into_response())
}

/// The status and body of an HTTP/1.x answer.
fn parse_answer(raw: &[u8]) -> Option<(StatusCode, &[u8])> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let status = head
        .lines()
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((StatusCode::from_u16(status).ok()?, &raw[end + 4..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connected_vrouter_is_reached_where_its_session_comes_from() {
        let known = json!({"vrouters": [
            {"hostname": "c1", "state": "established", "address": "198.18.0.11", "peer": "198.18.0.11:40000"},
            {"hostname": "c2", "state": "established", "address": "198.18.0.12"},
            {"hostname": "c3", "state": "down", "address": "198.18.0.13"},
        ]});
        assert_eq!(
            vrouter_address(&known, "c1"),
            Some("198.18.0.11".parse().unwrap())
        );
        assert_eq!(
            vrouter_address(&known, "c2"),
            Some("198.18.0.12".parse().unwrap())
        );
        assert_eq!(vrouter_address(&known, "c3"), None, "not connected");
        assert_eq!(vrouter_address(&known, "c4"), None);
    }

    #[test]
    fn answers_are_split_at_the_blank_line() {
        let (s, b) =
            parse_answer(b"HTTP/1.1 404 Not Found\r\ncontent-type: x\r\n\r\n{\"a\":1}").unwrap();
        assert_eq!((s, b), (StatusCode::NOT_FOUND, &b"{\"a\":1}"[..]));
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\n").is_none());
        assert!(parse_answer(b"garbage\r\n\r\n").is_none());
    }

    #[test]
    fn errors_say_what_and_map_to_statuses() {
        let e = ProxyError::UnknownView("metrics".into());
        assert!(e.to_string().contains("metrics") && e.to_string().contains("flows"));
        assert_eq!(e.into_response().status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            ProxyError::NotConnected("c9".into())
                .into_response()
                .status(),
            StatusCode::NOT_FOUND
        );
    }
}
