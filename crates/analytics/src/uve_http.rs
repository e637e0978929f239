//! The UVE and alarm API the way opserver answers it: `/analytics/uves` (the type list,
//! `[{"name": "<type>s", "href"}]`), `/analytics/uves/<type>s` (the names, with `kfilt`
//! key wildcards), `/analytics/uves/<type>/<name>` (the UVE: `{"<Struct>": {...}}`, with
//! `cfilt=Struct[:attr],...`; `flat` is accepted, a single collector's UVE is already
//! flat; a name it has never seen is `{}`; a name with `*` answers every UVE it matches,
//! `{"value": [{"name", "value"}]}`, as does `POST /analytics/uves/<type>` with `kfilt`
//! and `cfilt` lists), `/analytics/alarms` (with `ackfilt`),
//! `/analytics/alarm-types` and `POST /analytics/alarms/acknowledge` (`{"table", "name",
//! "type", "token"}`). An unknown type is a 404, a bad `cfilt` or `kfilt` a 400 naming it.
//! The streams of the same UVEs: [`crate::uve_stream`].

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use crate::alarms::{AckError, acknowledge, alarm_types, alarms_json, uve_alarms};
use crate::http::{Api, base, error};
use crate::uve::{Traffic, UveState};

/// The UVE types and the structs each is made of.
pub const UVE_TYPES: &[(&str, &[&str])] = &[
    (
        "vrouter",
        &[
            "VrouterAgent",
            "VrouterStatsAgent",
            "NodeStatus",
            "UVEAlarms",
        ],
    ),
    ("virtual-network", &["UveVirtualNetworkAgent"]),
    ("virtual-machine-interface", &["UveVMInterfaceAgent"]),
    (
        "control-node",
        &["BgpRouterState", "NodeStatus", "UVEAlarms"],
    ),
    (
        "config-node",
        &["ModuleCpuState", "NodeStatus", "CirrusApiStats"],
    ),
    (
        "bgp-peer",
        &["BgpPeerInfoData", "PeerStatsData", "PeerFlapData"],
    ),
];

/// Contrail's table of each UVE type (`UVE_MAP`), which names UVEs in the streams.
pub fn table_of(t: &str) -> &'static str {
    match t {
        "vrouter" => "ObjectVRouter",
        "virtual-network" => "ObjectVNTable",
        "virtual-machine-interface" => "ObjectVMITable",
        "control-node" => "ObjectBgpRouter",
        "config-node" => "ObjectConfigNode",
        "bgp-peer" => "ObjectBgpPeer",
        _ => "",
    }
}

pub(crate) fn structs_of(t: &str) -> Option<&'static [&'static str]> {
    UVE_TYPES.iter().find(|(n, _)| *n == t).map(|(_, s)| *s)
}

pub(crate) fn unknown_type(t: &str) -> Response {
    let known: Vec<&str> = UVE_TYPES.iter().map(|(n, _)| *n).collect();
    error(
        StatusCode::NOT_FOUND,
        "uve_type",
        &format!("unknown UVE type {t:?} (known: {})", known.join(", ")),
    )
}

fn inter_vn(m: &BTreeMap<String, Traffic>) -> Value {
    Value::Array(
        m.iter()
            .map(|(vn, t)| json!({ "other_vn": vn, "tpkts": t.pkts, "bytes": t.bytes }))
            .collect(),
    )
}

/// The UVE of `name`, all its structs (None when the collector never heard of it).
pub fn render(api: &Api, st: &UveState, t: &str, name: &str, now_us: i64) -> Option<Value> {
    let mut u = match t {
        "vrouter" => {
            let v = st.vrouters.get(name)?;
            let up = v.disconnected_at_us.is_none();
            json!({
                "VrouterAgent": {
                    "self_ip_list": [v.ip],
                    "interface_list": v.ports,
                    "connected_networks": v.networks,
                    "vn_count": v.networks.len(),
                },
                "VrouterStatsAgent": {
                    "in_tpkts": v.in_traffic.pkts,
                    "in_bytes": v.in_traffic.bytes,
                    "out_tpkts": v.out_traffic.pkts,
                    "out_bytes": v.out_traffic.bytes,
                    "active_flows": v.live.len(),
                    "added_flows": v.added_flows,
                    "deleted_flows": v.deleted_flows,
                    "denied_flows": v.denied_flows,
                    "denied_flows_per_minute": UveState::denies_last_minute(v, now_us),
                },
                "NodeStatus": {
                    "collector_session": if up { "Up" } else { "Down" },
                    "last_seen": v.last_seen_us,
                    "process_status": [{
                        "module_id": "contrail-vrouter-agent",
                        "state": if up { "Functional" } else { "Non-Functional" },
                        "connection_infos": [{
                            "type": "Collector",
                            "name": null,
                            "status": if up { "Up" } else { "Down" },
                            "description": if up { "Established" } else { "Connection closed" },
                        }],
                    }],
                },
            })
        }
        "virtual-network" => {
            let n = st.networks.get(name)?;
            json!({ "UveVirtualNetworkAgent": {
                "interface_list": n.ports,
                "vrouters": n.vrouters,
                "in_tpkts": n.in_total.pkts,
                "in_bytes": n.in_total.bytes,
                "out_tpkts": n.out_total.pkts,
                "out_bytes": n.out_total.bytes,
                "in_stats": inter_vn(&n.in_stats),
                "out_stats": inter_vn(&n.out_stats),
                "flow_count": n.flows,
            }})
        }
        "virtual-machine-interface" => {
            let p = st.ports.get(name)?;
            json!({ "UveVMInterfaceAgent": {
                "virtual_network": p.network,
                "ip_address": p.ip,
                "vrouter": p.vrouter,
                "active": true,
                "if_stats": {
                    "in_pkts": p.in_traffic.pkts,
                    "in_bytes": p.in_traffic.bytes,
                    "out_pkts": p.out_traffic.pkts,
                    "out_bytes": p.out_traffic.bytes,
                },
                "last_seen": p.last_seen_us,
            }})
        }
        "control-node" => crate::node_uve::control_node(&st.nodes, name)?,
        "config-node" => crate::node_uve::config_node(&st.nodes, name)?,
        "bgp-peer" => crate::node_uve::bgp_peer(&st.nodes, name)?,
        _ => return None,
    };
    let alarms = uve_alarms(&api.alarms, st, t, name, api.listen, now_us);
    if !alarms.is_empty() {
        u["UVEAlarms"] = json!({ "name": name, "alarms": alarms, "deleted": false });
    }
    Some(u)
}

pub(crate) fn names(st: &UveState, t: &str) -> Vec<String> {
    let n = &st.nodes;
    match t {
        "vrouter" => st.vrouters.keys().cloned().collect(),
        "virtual-network" => st.networks.keys().cloned().collect(),
        "virtual-machine-interface" => st.ports.keys().cloned().collect(),
        "control-node" => n.control.iter().map(|c| c.name.clone()).collect(),
        "config-node" => n.config.iter().map(|c| c.name.clone()).collect(),
        "bgp-peer" => n.peers.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// `cfilt`: `Struct[:attr]` items, comma separated, each struct one of the type's.
pub fn parse_cfilt(t: &str, raw: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let known = structs_of(t).unwrap_or(&[]);
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in raw.split(',') {
        let (s, attr) = match item.split_once(':') {
            Some((s, a)) => (s, Some(a)),
            None => (item, None),
        };
        if s.is_empty() || attr.is_some_and(str::is_empty) {
            return Err(format!("{item:?} is not Struct or Struct:attr"));
        }
        if !known.contains(&s) {
            return Err(format!(
                "unknown struct {s:?} for {t} (known: {})",
                known.join(", ")
            ));
        }
        let e = out.entry(s.to_owned()).or_default();
        if let Some(a) = attr {
            e.push(a.to_owned());
        }
    }
    Ok(out)
}

pub(crate) fn apply_cfilt(uve: Value, f: &BTreeMap<String, Vec<String>>) -> Value {
    let Value::Object(m) = uve else { return uve };
    let mut out = Map::new();
    for (s, v) in m {
        let Some(attrs) = f.get(&s) else { continue };
        if attrs.is_empty() {
            out.insert(s, v);
        } else if let Value::Object(fields) = v {
            let kept: Map<String, Value> = fields
                .into_iter()
                .filter(|(k, _)| attrs.contains(k))
                .collect();
            out.insert(s, Value::Object(kept));
        }
    }
    Value::Object(out)
}

/// `kfilt`: key patterns, comma separated, `*` matching any run of characters.
pub(crate) fn kfilt_match(patterns: &[&str], name: &str) -> bool {
    fn m(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| m(rest, &s[i..])),
            Some((c, rest)) => s.first() == Some(c) && m(rest, &s[1..]),
        }
    }
    patterns.iter().any(|p| m(p.as_bytes(), name.as_bytes()))
}

fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query string's parameters, percent-decoded (`flat` alone is a parameter too).
pub(crate) fn params(q: Option<String>) -> HashMap<String, String> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (unescape(k), unescape(v)),
            None => (unescape(p), String::new()),
        })
        .collect()
}

pub async fn uve_types(h: HeaderMap) -> Json<Value> {
    let b = base(&h);
    Json(Value::Array(
        UVE_TYPES
            .iter()
            .map(|(t, _)| json!({ "name": format!("{t}s"), "href": format!("{b}/analytics/uves/{t}s") }))
            .collect(),
    ))
}

pub async fn uve_list(
    State(api): State<Arc<Api>>,
    h: HeaderMap,
    Path(types): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let t = types.strip_suffix('s').unwrap_or("");
    if structs_of(t).is_none() {
        return unknown_type(&types);
    }
    let q = params(q);
    let kfilt = q.get("kfilt").map(String::as_str).unwrap_or("*");
    let patterns: Vec<&str> = kfilt.split(',').collect();
    if patterns.iter().any(|p| p.is_empty()) {
        return error(
            StatusCode::BAD_REQUEST,
            "kfilt",
            &format!("empty key pattern in {kfilt:?}"),
        );
    }
    let b = base(&h);
    let st = api.uves.state.lock().expect("uve state");
    Json(Value::Array(
        names(&st, t)
            .into_iter()
            .filter(|n| kfilt_match(&patterns, n))
            .map(|n| json!({ "href": format!("{b}/analytics/uves/{t}/{n}?flat"), "name": n }))
            .collect(),
    ))
    .into_response()
}

/// Every UVE of type `t` whose name matches one of `patterns`, with `cfilt` applied:
/// opserver's `{"value": [{"name", "value"}]}` (UVEs left empty by `cfilt` are left out).
fn multi(
    api: &Api,
    t: &str,
    patterns: &[&str],
    cfilt: Option<&BTreeMap<String, Vec<String>>>,
) -> Value {
    let st = api.uves.state.lock().expect("uve state");
    let now = crate::now_us();
    let list: Vec<Value> = names(&st, t)
        .into_iter()
        .filter(|n| kfilt_match(patterns, n))
        .filter_map(|n| {
            let mut u = render(api, &st, t, &n, now)?;
            if let Some(f) = cfilt {
                u = apply_cfilt(u, f);
            }
            let empty = u.as_object().is_none_or(Map::is_empty);
            (!empty).then(|| json!({ "name": n, "value": u }))
        })
        .collect();
    json!({ "value": list })
}

/// `GET /analytics/uves/<type>/<name>`; a name with `*` is a pattern (or `kfilt` gives
/// them) and answers every UVE that matches, as [`multi`].
pub async fn uve_get(
    State(api): State<Arc<Api>>,
    Path((t, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    if structs_of(&t).is_none() {
        return unknown_type(&t);
    }
    let q = params(q);
    let cfilt = match q.get("cfilt").map(|c| parse_cfilt(&t, c)).transpose() {
        Ok(c) => c,
        Err(e) => return error(StatusCode::BAD_REQUEST, "cfilt", e.as_str()),
    };
    if name.contains('*') {
        let kfilt = q.get("kfilt").map_or(name.as_str(), String::as_str);
        let patterns: Vec<&str> = kfilt.split(',').collect();
        if patterns.iter().any(|p| p.is_empty()) {
            return error(
                StatusCode::BAD_REQUEST,
                "kfilt",
                &format!("empty key pattern in {kfilt:?}"),
            );
        }
        return Json(multi(&api, &t, &patterns, cfilt.as_ref())).into_response();
    }
    let st = api.uves.state.lock().expect("uve state");
    let uve = render(&api, &st, &t, &name, crate::now_us()).unwrap_or_else(|| json!({}));
    Json(match cfilt {
        Some(f) => apply_cfilt(uve, &f),
        None => uve,
    })
    .into_response()
}

/// `POST /analytics/uves/<type>` with `{"kfilt": [names or patterns], "cfilt":
/// ["Struct[:attr]", ...]}` (both optional): the UVEs, as [`multi`].
pub async fn uve_post(
    State(api): State<Arc<Api>>,
    Path(t): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if structs_of(&t).is_none() {
        return unknown_type(&t);
    }
    let v: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return error(StatusCode::BAD_REQUEST, "body", "not a JSON object"),
        }
    };
    // A list of non-empty strings, None when absent, Err(field) when something else.
    let strings = |field: &'static str| -> Result<Option<Vec<String>>, &'static str> {
        match &v[field] {
            Value::Null => Ok(None),
            Value::Array(a) if a.iter().all(|x| x.as_str().is_some_and(|s| !s.is_empty())) => {
                Ok(Some(
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                ))
            }
            _ => Err(field),
        }
    };
    let not_list = |field: &str| {
        error(
            StatusCode::BAD_REQUEST,
            field,
            "must be a list of non-empty strings",
        )
    };
    let kfilt = match strings("kfilt") {
        Ok(k) => k.unwrap_or_else(|| vec!["*".to_string()]),
        Err(f) => return not_list(f),
    };
    let cfilt = match strings("cfilt") {
        Ok(None) => None,
        Ok(Some(c)) => match parse_cfilt(&t, &c.join(",")) {
            Ok(c) => Some(c),
            Err(e) => return error(StatusCode::BAD_REQUEST, "cfilt", e.as_str()),
        },
        Err(f) => return not_list(f),
    };
    let patterns: Vec<&str> = kfilt.iter().map(String::as_str).collect();
    Json(multi(&api, &t, &patterns, cfilt.as_ref())).into_response()
}

/// `/analytics/alarms`, with `ackfilt=true|false` keeping the acknowledged alarms or the
/// others.
pub async fn alarms(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> Response {
    let ack = match params(q).get("ackfilt").map(String::as_str) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                "ackfilt",
                &format!("{other:?}: ackfilt must be true or false"),
            );
        }
    };
    let st = api.uves.state.lock().expect("uve state");
    Json(alarms_json(
        &api.alarms,
        &st,
        api.listen,
        ack,
        crate::now_us(),
    ))
    .into_response()
}

/// `POST /analytics/alarms/acknowledge`: `{"table", "name", "type", "token"}` as opserver
/// takes it; 200 once acknowledged, 400 for a missing field or a bad token, 404 for an
/// unknown table or an alarm not raised with that token.
pub async fn acknowledge_alarm(
    State(api): State<Arc<Api>>,
    h: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let json_body = h
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    if !json_body {
        return error(
            StatusCode::BAD_REQUEST,
            "Content-Type",
            "must be application/json",
        );
    }
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return error(StatusCode::BAD_REQUEST, "body", "not a JSON object"),
    };
    let missing: Vec<&str> = ["table", "name", "type", "token"]
        .into_iter()
        .filter(|f| !v[*f].is_string())
        .collect();
    if let Some(first) = missing.first() {
        return error(
            StatusCode::BAD_REQUEST,
            first,
            &format!(
                "alarm acknowledge request does not contain the fields {{{}}}",
                missing.join(", ")
            ),
        );
    }
    let s = |f: &str| v[f].as_str().unwrap_or("");
    if structs_of(s("table")).is_none() {
        return unknown_type(s("table"));
    }
    let mut st = api.uves.state.lock().expect("uve state");
    let r = acknowledge(
        &api.alarms,
        &mut st,
        s("table"),
        s("name"),
        s("type"),
        s("token"),
        crate::now_us(),
    );
    match r {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e @ AckError::BadToken(_)) => error(StatusCode::BAD_REQUEST, "token", &e.to_string()),
        Err(e @ AckError::NotRaised { .. }) => error(StatusCode::NOT_FOUND, "name", &e.to_string()),
    }
}

pub async fn types_of_alarms() -> Json<Value> {
    Json(alarm_types())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kfilt_wildcards() {
        assert!(kfilt_match(
            &["default-domain:*:red"],
            "default-domain:p:red"
        ));
        assert!(!kfilt_match(
            &["default-domain:*:red"],
            "default-domain:p:blue"
        ));
        assert!(kfilt_match(&["x", "c*"], "c1"));
        assert!(kfilt_match(&["*"], ""));
    }

    #[test]
    fn query_strings_are_percent_decoded() {
        let q = params(Some(
            "cfilt=UveVirtualNetworkAgent%3Ain_stats&flat&kfilt=a%2".into(),
        ));
        assert_eq!(q["cfilt"], "UveVirtualNetworkAgent:in_stats");
        assert_eq!(q["flat"], "");
        assert_eq!(q["kfilt"], "a%2");
    }

    #[test]
    fn cfilt_names_the_bad_struct() {
        let f = parse_cfilt("virtual-network", "UveVirtualNetworkAgent:in_stats").unwrap();
        assert_eq!(f["UveVirtualNetworkAgent"], vec!["in_stats".to_string()]);
        let e = parse_cfilt("virtual-network", "VrouterAgent").unwrap_err();
        assert!(e.contains("\"VrouterAgent\""), "{e}");
        assert!(parse_cfilt("vrouter", "VrouterAgent:").is_err());
    }
}
