//! The control node's part of `/metrics`, read at scrape time from what it already keeps: the
//! BGP speaker's neighbour list (state, prefixes per family, updates, flaps) and the vrouter
//! channel's introspect view (sessions, routes published and sent, route server counters).

use cirrus_bgp::session::State;
use cirrus_bgp::speaker::NeighborInfo;
use cirrus_metrics::{Exposition, Kind};
use serde_json::Value;

use crate::metrics::num;

/// A label value from a serde-serialized enum (`"control-node"`), or its Debug form.
pub(crate) fn label<T: serde::Serialize + std::fmt::Debug>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        _ => format!("{v:?}"),
    }
}

pub fn bgp(e: &mut Exposition, n: &[NeighborInfo]) {
    let peers: Vec<(String, &NeighborInfo)> =
        n.iter().map(|p| (p.address.to_string(), p)).collect();
    e.family(
        "cirrus_bgp_peer_up",
        Kind::Gauge,
        "1 when the BGP session with the peer is Established, else 0.",
    );
    for (a, p) in &peers {
        let asn = p.asn.to_string();
        let rt = label(&p.router_type);
        let up = f64::from(u8::from(p.state == State::Established));
        e.sample(&[("peer", a), ("asn", &asn), ("router_type", &rt)], up);
    }
    e.family(
        "cirrus_bgp_sessions",
        Kind::Gauge,
        "Configured BGP peers by session state.",
    );
    for s in [
        State::Idle,
        State::Connect,
        State::Active,
        State::OpenSent,
        State::OpenConfirm,
        State::Established,
    ] {
        let count = n.iter().filter(|p| p.state == s).count();
        e.sample(&[("state", &format!("{s:?}"))], count as f64);
    }
    type Pick = fn(&cirrus_bgp::rib::FamilyPrefixes) -> usize;
    let per_family: [(&str, &str, Pick); 3] = [
        (
            "cirrus_bgp_prefixes_received",
            "Destinations with a path from the peer, per address family (stale included).",
            |f| f.received,
        ),
        (
            "cirrus_bgp_prefixes_accepted",
            "Destinations whose best path is the peer's, per address family.",
            |f| f.accepted,
        ),
        (
            "cirrus_bgp_prefixes_advertised",
            "Destinations advertised to the peer, per address family.",
            |f| f.advertised,
        ),
    ];
    for (name, help, pick) in per_family {
        e.family(name, Kind::Gauge, help);
        for (a, p) in &peers {
            // Every negotiated family shows, with 0 when it holds nothing yet.
            for fam in &p.families {
                let v = p
                    .prefixes_by_family
                    .iter()
                    .find(|f| f.family == *fam)
                    .map_or(0, pick);
                e.sample(&[("peer", a), ("family", &fam.to_string())], v as f64);
            }
        }
    }
    type Count = fn(&NeighborInfo) -> u64;
    let counters: [(&str, &str, Count); 3] = [
        (
            "cirrus_bgp_updates_received_total",
            "UPDATE messages received from the peer.",
            |p| p.updates_received,
        ),
        (
            "cirrus_bgp_updates_sent_total",
            "UPDATE messages sent to the peer.",
            |p| p.updates_sent,
        ),
        (
            "cirrus_bgp_flaps_total",
            "Times the session with the peer left Established.",
            |p| u64::from(p.flaps),
        ),
    ];
    for (name, help, pick) in counters {
        e.family(name, Kind::Counter, help);
        for (a, p) in &peers {
            e.sample(&[("peer", a)], pick(p) as f64);
        }
    }
}

/// From the hub's `/vrouters` answer.
pub fn channel(e: &mut Exposition, v: &Value) {
    let vrouters = v["vrouters"].as_array().cloned().unwrap_or_default();
    let host = |x: &Value| x["hostname"].as_str().unwrap_or("").to_string();
    e.family(
        "cirrus_channel_vrouter_up",
        Kind::Gauge,
        "1 while the vrouter's channel session is established, 0 once it is down (vrouters known since start).",
    );
    for x in &vrouters {
        let up = f64::from(u8::from(x["state"] == "established"));
        e.sample(&[("vrouter", &host(x))], up);
    }
    e.family(
        "cirrus_channel_sessions",
        Kind::Gauge,
        "Vrouter channel sessions established.",
    )
    .sample(
        &[],
        vrouters
            .iter()
            .filter(|x| x["state"] == "established")
            .count() as f64,
    );
    e.family(
        "cirrus_channel_routes_published",
        Kind::Gauge,
        "Routes the vrouter publishes (its workloads' addresses), over all instances.",
    );
    for x in &vrouters {
        let n: f64 = x["published"]
            .as_object()
            .map_or(0.0, |m| m.values().map(num).sum());
        e.sample(&[("vrouter", &host(x))], n);
    }
    e.family(
        "cirrus_channel_subscriptions",
        Kind::Gauge,
        "Routing instances the vrouter subscribes to.",
    );
    for x in &vrouters {
        let n = x["subscribed"].as_array().map_or(0, Vec::len);
        e.sample(&[("vrouter", &host(x))], n as f64);
    }
    let per_session = [
        (
            "cirrus_channel_routes_received_total",
            "routes_received",
            "Routes received from the vrouter in its current session.",
        ),
        (
            "cirrus_channel_routes_refused_total",
            "routes_refused",
            "Routes from the vrouter refused (not placed on it by the config) in its current session.",
        ),
        (
            "cirrus_channel_routes_sent_total",
            "routes_sent",
            "Route entries sent to the vrouter in its current session.",
        ),
        (
            "cirrus_channel_updates_sent_total",
            "updates_sent",
            "Route updates sent to the vrouter in its current session.",
        ),
    ];
    for (name, field, help) in per_session {
        e.family(name, Kind::Counter, help);
        for x in vrouters.iter().filter(|x| x["counters"].is_object()) {
            e.sample(&[("vrouter", &host(x))], num(&x["counters"][field]));
        }
    }
    let rs = &v["route_server"];
    let server = [
        (
            "cirrus_route_server_sessions_up_total",
            "sessions_up",
            "Vrouter sessions the route server saw come up.",
        ),
        (
            "cirrus_route_server_sessions_down_total",
            "sessions_down",
            "Vrouter sessions the route server saw end.",
        ),
        (
            "cirrus_route_server_routes_added_total",
            "routes_added",
            "Routes added to the route server's tables.",
        ),
        (
            "cirrus_route_server_routes_withdrawn_total",
            "routes_withdrawn",
            "Routes withdrawn from the route server's tables.",
        ),
        (
            "cirrus_route_server_routes_swept_total",
            "routes_swept",
            "Stale routes removed after a graceful restart.",
        ),
    ];
    for (name, field, help) in server {
        e.family(name, Kind::Counter, help)
            .sample(&[], num(&rs[field]));
    }
}
