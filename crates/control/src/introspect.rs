//! The control node's introspect: JSON over HTTP (Contrail serves XML on :8083; the data is the
//! same, the encoding is what today's tools read).
//!
//! - `GET /bgp/neighbors`: every configured neighbor: address, port, ASN, router type, state,
//!   negotiated families, prefixes received / accepted / advertised, uptime, flaps, last error.
//! - `GET /routes?instance=<name>&family=<f>`: the routes of one table, each path with prefix,
//!   RD, label (VNI for e-vpn), next hop, targets and other communities, AS path, source, best.
//!   `instance` is a routing instance's fq_name, a virtual network's fq_name (its primary
//!   instance), a Contrail table name (`<instance>.inet.0`, `.inet6.0`, `.evpn.0`;
//!   `bgp.l3vpn.0`, `bgp.l3vpn-inet6.0`, `bgp.evpn.0`, `bgp.rtarget.0` for the global tables),
//!   or absent for the global tables. `family` is inet, inet6, inet-vpn, inet6-vpn, evpn
//!   (e-vpn) or rtarget (route-target). For an instance the answer also has `vrouter_routes`:
//!   the route server's table as the vrouters subscribed to it receive it (every prefix with
//!   its full next-hop set, from vrouters and BGP).
//! - `GET /vrouters`: connected (and remembered) vrouters: session, state, address, subscribed
//!   instances, routes published per instance, routes received / refused / sent, config
//!   objects in their slice; the route server's counters.
//! - `GET /vrouters/routes[?instance=]`: the route server's tables (all agent-fed instances,
//!   or one).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use cirrus_bgp::speaker::Speaker;
use cirrus_bgp::types::Family;
use serde_json::json;

use crate::bgp_config::FABRIC_INSTANCE;
use crate::channel::HubHandle;

/// An introspect failure, answered as `{"error": "..."}` with its status.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("the BGP speaker has stopped")]
    Stopped,
    #[error("the vrouter channel is not running on this control node (--channel-listen)")]
    NoChannel,
}

impl IntoResponse for IntrospectError {
    fn into_response(self) -> Response {
        let status = match self {
            IntrospectError::BadRequest(_) => StatusCode::BAD_REQUEST,
            IntrospectError::NotFound(_) => StatusCode::NOT_FOUND,
            IntrospectError::Stopped | IntrospectError::NoChannel => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        (status, Json(json!({"error": self.to_string()}))).into_response()
    }
}

/// The table a `/routes` query names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Table {
    /// The global VPN tables (Contrail's `bgp.*.0`).
    Global,
    /// A routing instance by fq_name.
    Instance(String),
}

/// The family names `/routes` accepts, for error messages.
const FAMILIES: &str = "inet, inet6, inet-vpn, inet6-vpn, evpn, rtarget";

fn parse_family(s: &str) -> Result<Family, IntrospectError> {
    s.parse().map_err(|_| {
        IntrospectError::BadRequest(format!("unknown family {s:?}: expected one of {FAMILIES}"))
    })
}

/// Reads `/routes`'s query: which table and which family (`None`: all).
pub fn parse_routes_query(
    q: &HashMap<String, String>,
) -> Result<(Table, Option<Family>), IntrospectError> {
    if let Some(k) = q.keys().find(|k| *k != "instance" && *k != "family") {
        return Err(IntrospectError::BadRequest(format!(
            "unknown parameter {k:?}: /routes takes instance and family"
        )));
    }
    let family = q
        .get("family")
        .filter(|f| !f.is_empty())
        .map(|f| parse_family(f))
        .transpose()?;
    let instance = q.get("instance").map(String::as_str).unwrap_or("");
    let (table, implied) = match instance {
        "" | FABRIC_INSTANCE => (Table::Global, None),
        "bgp.l3vpn.0" => (Table::Global, Some(Family::InetVpn)),
        "bgp.l3vpn-inet6.0" => (Table::Global, Some(Family::Inet6Vpn)),
        "bgp.evpn.0" => (Table::Global, Some(Family::Evpn)),
        "bgp.rtarget.0" => (Table::Global, Some(Family::RouteTarget)),
        name => {
            let suffixed = [
                (".inet.0", Family::Inet),
                (".inet6.0", Family::Inet6),
                (".evpn.0", Family::Evpn),
            ]
            .into_iter()
            .find_map(|(sfx, f)| name.strip_suffix(sfx).map(|n| (n, f)));
            match suffixed {
                Some((n, f)) if !n.is_empty() => (Table::Instance(n.to_string()), Some(f)),
                _ => (Table::Instance(name.to_string()), None),
            }
        }
    };
    let family = match (implied, family) {
        (Some(t), Some(f)) if t != f => {
            return Err(IntrospectError::BadRequest(format!(
                "table {instance} holds {t} routes, not {f}"
            )));
        }
        (t, f) => f.or(t),
    };
    Ok((table, family))
}

/// What the handlers read.
#[derive(Clone)]
pub struct Sources {
    pub speaker: Speaker,
    pub hub: Option<Arc<HubHandle>>,
}

/// The introspect router over a running speaker (and the channel's hub, when it runs).
pub fn router(speaker: Speaker, hub: Option<Arc<HubHandle>>) -> Router {
    let src = Sources { speaker, hub };
    Router::new()
        .route("/", get(index))
        .route("/bgp/neighbors", get(neighbors))
        .route("/routes", get(routes))
        .route("/vrouters", get(vrouters))
        .route("/vrouters/routes", get(vrouter_routes))
        .with_state(src.clone())
        .merge(crate::sandesh::router(src))
}

/// The index: the Sandesh module page (what Contrail's crawlers read) and the JSON pages.
async fn index() -> axum::response::Html<String> {
    let links: String = [
        "bgp_peer.xml",
        "/bgp/neighbors",
        "/routes?instance=&amp;family=",
        "/vrouters",
        "/vrouters/routes?instance=",
    ]
    .iter()
    .map(|l| format!("<a href=\"{l}\">{l}</a><br/>"))
    .collect();
    axum::response::Html(format!("<html><body>{links}</body></html>"))
}

async fn vrouters(State(src): State<Sources>) -> Result<Response, IntrospectError> {
    let hub = src.hub.ok_or(IntrospectError::NoChannel)?;
    let v = hub.vrouters().await.ok_or(IntrospectError::Stopped)?;
    Ok(Json(v).into_response())
}

async fn vrouter_routes(
    State(src): State<Sources>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, IntrospectError> {
    if let Some(k) = q.keys().find(|k| *k != "instance") {
        return Err(IntrospectError::BadRequest(format!(
            "unknown parameter {k:?}: /vrouters/routes takes instance"
        )));
    }
    let hub = src.hub.ok_or(IntrospectError::NoChannel)?;
    let inst = q.get("instance").filter(|i| !i.is_empty()).cloned();
    let v = hub
        .routes(inst.clone())
        .await
        .ok_or(IntrospectError::Stopped)?;
    if let Some(i) = inst
        && v.get(&i).is_none()
    {
        return Err(IntrospectError::NotFound(format!(
            "no agent-fed routing instance {i}"
        )));
    }
    Ok(Json(json!({"instances": v})).into_response())
}

async fn neighbors(State(src): State<Sources>) -> Result<Response, IntrospectError> {
    let s = src.speaker;
    let n = s.neighbors().await.map_err(|_| IntrospectError::Stopped)?;
    Ok(Json(json!({"neighbors": n})).into_response())
}

async fn routes(
    State(src): State<Sources>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, IntrospectError> {
    let s = src.speaker;
    let (table, family) = parse_routes_query(&q)?;
    let stopped = |_| IntrospectError::Stopped;
    let (name, found) = match &table {
        Table::Global => (None, s.routes(None, family).await.map_err(stopped)?),
        Table::Instance(name) => {
            let mut found = s.routes(Some(name), family).await.map_err(stopped)?;
            let mut used = name.clone();
            // A virtual network's fq_name names its primary instance (same last name).
            if found.is_none()
                && let Some(last) = name.rsplit(':').next()
            {
                let primary = format!("{name}:{last}");
                found = s.routes(Some(&primary), family).await.map_err(stopped)?;
                used = primary;
            }
            (Some(used), found)
        }
    };
    // The route server's table of the instance, as its vrouters receive it.
    let mut agent = None;
    if let (Table::Instance(asked), Some(hub)) = (&table, &src.hub) {
        for n in [Some(asked), name.as_ref()].into_iter().flatten() {
            if agent.is_none() {
                agent = hub
                    .routes(Some(n.clone()))
                    .await
                    .and_then(|v| v.get(n).cloned());
            }
        }
    }
    let routes = match (found, &agent) {
        (Some(r), _) => r,
        (None, Some(_)) => Vec::new(),
        (None, None) => {
            return Err(IntrospectError::NotFound(format!(
                "no routing instance {}",
                q.get("instance").map(String::as_str).unwrap_or("")
            )));
        }
    };
    let mut answer = json!({
        "instance": name,
        "family": family,
        "routes": routes,
    });
    if let Some(a) = agent {
        answer["vrouter_routes"] = a;
    }
    Ok(Json(answer).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Result<(Table, Option<Family>), IntrospectError> {
        parse_routes_query(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn inst(s: &str) -> Table {
        Table::Instance(s.into())
    }

    #[test]
    fn tables_and_families() {
        assert_eq!(q(&[]).unwrap(), (Table::Global, None));
        assert_eq!(
            q(&[("instance", FABRIC_INSTANCE)]).unwrap(),
            (Table::Global, None)
        );
        assert_eq!(
            q(&[("instance", "bgp.l3vpn.0")]).unwrap(),
            (Table::Global, Some(Family::InetVpn))
        );
        assert_eq!(
            q(&[("instance", "bgp.rtarget.0"), ("family", "rtarget")]).unwrap(),
            (Table::Global, Some(Family::RouteTarget))
        );
        assert_eq!(
            q(&[("instance", "d:p:vn:vn.evpn.0")]).unwrap(),
            (inst("d:p:vn:vn"), Some(Family::Evpn))
        );
        assert_eq!(
            q(&[("instance", "d:p:vn:vn"), ("family", "inet6-vpn")]).unwrap(),
            (inst("d:p:vn:vn"), Some(Family::Inet6Vpn))
        );
        for f in [
            "inet",
            "inet6",
            "inet-vpn",
            "inet6-vpn",
            "evpn",
            "e-vpn",
            "rtarget",
        ] {
            assert!(q(&[("family", f)]).is_ok(), "{f}");
        }
    }

    #[test]
    fn bad_parameters_are_400s_that_say_why() {
        let e = q(&[("family", "ipv4")]).unwrap_err();
        assert!(
            matches!(&e, IntrospectError::BadRequest(m) if m.contains("ipv4") && m.contains("inet-vpn"))
        );
        let e = q(&[("instnace", "x")]).unwrap_err();
        assert!(matches!(&e, IntrospectError::BadRequest(m) if m.contains("instnace")));
        let e = q(&[("instance", "bgp.evpn.0"), ("family", "inet-vpn")]).unwrap_err();
        assert!(matches!(&e, IntrospectError::BadRequest(m) if m.contains("bgp.evpn.0")));
        assert_eq!(
            IntrospectError::BadRequest("x".into())
                .into_response()
                .status(),
            StatusCode::BAD_REQUEST
        );
    }
}
