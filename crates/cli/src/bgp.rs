//! `cirrusctl bgp neighbors` and `cirrusctl bgp routes`: the control node's introspect
//! (`GET /bgp/neighbors`, `GET /routes`) as tables for people, or the same JSON/YAML.

use serde_json::Value;

use crate::client::{ApiError, Client, encode_query_value};
use crate::output::{self, Format};

/// `/routes` with its query string.
pub fn routes_path(instance: Option<&str>, family: Option<&str>) -> String {
    let mut params = Vec::new();
    if let Some(i) = instance {
        params.push(format!("instance={}", encode_query_value(i)));
    }
    if let Some(f) = family {
        params.push(format!("family={}", encode_query_value(f)));
    }
    if params.is_empty() {
        "/routes".into()
    } else {
        format!("/routes?{}", params.join("&"))
    }
}

/// The list under `key` of an introspect answer.
pub(crate) fn list(answer: &Value, key: &str) -> anyhow::Result<Vec<Value>> {
    answer
        .get(key)
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("unexpected introspect answer: no \"{key}\" list"))
}

/// GET from introspect; its `{"error": "..."}` answers become that message alone.
pub(crate) fn get(introspect: &Client, path: &str) -> anyhow::Result<Value> {
    introspect.call("GET", path, None).map_err(|e| match &e {
        ApiError::Status { status, body, .. } => {
            match serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v.get("error")?.as_str().map(str::to_string))
            {
                Some(msg) => anyhow::anyhow!("GET {path}: {status} {msg}"),
                None => e.into(),
            }
        }
        _ => e.into(),
    })
}

pub fn neighbors(introspect: &Client, format: Format) -> anyhow::Result<String> {
    let answer = get(introspect, "/bgp/neighbors")?;
    let n = list(&answer, "neighbors")?;
    Ok(match format {
        Format::Table => neighbors_table(&n),
        _ => output::to_text(format, &Value::Array(n)),
    })
}

pub fn routes(
    introspect: &Client,
    format: Format,
    instance: Option<&str>,
    family: Option<&str>,
) -> anyhow::Result<String> {
    let answer = get(introspect, &routes_path(instance, family))?;
    let r = list(&answer, "routes")?;
    Ok(match format {
        Format::Table => routes_table(&r),
        _ => output::to_text(format, &Value::Array(r)),
    })
}

// ---- tables ----

pub(crate) fn cell(v: &Value, key: &str) -> String {
    match v.get(key) {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) if s.is_empty() => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

pub(crate) fn joined(v: &Value, keys: &[&str]) -> String {
    let parts: Vec<String> = keys
        .iter()
        .filter_map(|k| v.get(*k).and_then(Value::as_array))
        .flatten()
        .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
        .collect();
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(",")
    }
}

/// Seconds as `1d02h03m04s`, shortest form.
pub fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s:02}s"),
        (0, _, _) => format!("{h}h{m:02}m{s:02}s"),
        _ => format!("{d}d{h:02}h{m:02}m{s:02}s"),
    }
}

pub fn neighbors_table(n: &[Value]) -> String {
    let rows: Vec<Vec<String>> = n
        .iter()
        .map(|p| {
            vec![
                format!("{}:{}", cell(p, "address"), cell(p, "port")),
                cell(p, "asn"),
                cell(p, "router_type"),
                cell(p, "state"),
                joined(p, &["families"]),
                cell(p, "prefixes_received"),
                cell(p, "prefixes_accepted"),
                cell(p, "prefixes_advertised"),
                p.get("uptime_secs")
                    .and_then(Value::as_u64)
                    .map_or_else(|| "-".into(), duration),
                cell(p, "flaps"),
                cell(p, "last_error"),
            ]
        })
        .collect();
    output::table(
        &[
            "PEER",
            "ASN",
            "TYPE",
            "STATE",
            "FAMILIES",
            "RECEIVED",
            "ACCEPTED",
            "ADVERTISED",
            "UPTIME",
            "FLAPS",
            "LAST ERROR",
        ],
        &rows,
    )
}

pub fn routes_table(r: &[Value]) -> String {
    let rows: Vec<Vec<String>> = r
        .iter()
        .map(|p| {
            let label = match (cell(p, "label"), cell(p, "label2")) {
                (l, l2) if l2 == "-" => l,
                (l, l2) => format!("{l}/{l2}"),
            };
            vec![
                if p.get("best").and_then(Value::as_bool) == Some(true) {
                    "*".into()
                } else {
                    String::new()
                },
                cell(p, "family"),
                cell(p, "prefix"),
                cell(p, "rd"),
                label,
                cell(p, "next_hop"),
                joined(p, &["targets"]),
                joined(p, &["ext_communities", "communities"]),
                cell(p, "as_path"),
                cell(p, "source"),
            ]
        })
        .collect();
    output::table(
        &[
            "BEST",
            "FAMILY",
            "PREFIX",
            "RD",
            "LABEL",
            "NEXT HOP",
            "TARGETS",
            "COMMUNITIES",
            "AS PATH",
            "SOURCE",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routes_query_strings() {
        assert_eq!(routes_path(None, None), "/routes");
        assert_eq!(
            routes_path(Some("default-domain:demo:vn 1:vn 1"), Some("inet-vpn")),
            "/routes?instance=default-domain:demo:vn%201:vn%201&family=inet-vpn"
        );
        assert_eq!(routes_path(None, Some("evpn")), "/routes?family=evpn");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(7), "7s");
        assert_eq!(duration(65), "1m05s");
        assert_eq!(duration(3725), "1h02m05s");
        assert_eq!(duration(90_061), "1d01h01m01s");
    }

    #[test]
    fn neighbor_rows() {
        let t = neighbors_table(&[json!({
            "address": "127.0.6.2", "port": 1790, "asn": 65001, "router_type": "router",
            "state": "Established", "families": ["inet-vpn", "evpn"], "prefixes_received": 3,
            "prefixes_accepted": 2, "prefixes_advertised": 1, "uptime_secs": 65, "flaps": 0,
            "last_error": null
        })]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("PEER"), "{t}");
        let cols: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(
            cols,
            [
                "127.0.6.2:1790",
                "65001",
                "router",
                "Established",
                "inet-vpn,evpn",
                "3",
                "2",
                "1",
                "1m05s",
                "0",
                "-"
            ]
        );
    }

    #[test]
    fn route_rows() {
        let t = routes_table(&[json!({
            "family": "inet-vpn", "prefix": "10.7.0.0/24", "rd": "65001:7", "label": 700,
            "label2": null, "next_hop": "198.18.0.7", "targets": ["target:64512:7001"],
            "ext_communities": ["encapsulation:gre"], "communities": [], "as_path": "65001",
            "source": "127.0.6.2", "best": true, "stale": false
        })]);
        let cols: Vec<&str> = t.lines().nth(1).unwrap().split_whitespace().collect();
        assert_eq!(
            cols,
            [
                "*",
                "inet-vpn",
                "10.7.0.0/24",
                "65001:7",
                "700",
                "198.18.0.7",
                "target:64512:7001",
                "encapsulation:gre",
                "65001",
                "127.0.6.2"
            ]
        );
    }
}
