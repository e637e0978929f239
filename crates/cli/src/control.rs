//! `cirrusctl control vrouters` and `cirrusctl control routes`: the control node's vrouter
//! channel as its introspect shows it (`GET /vrouters`, `GET /vrouters/routes`), as tables
//! for people or the same JSON/YAML.

use serde_json::Value;

use crate::bgp::{cell, duration, get, joined, list};
use crate::client::{Client, encode_query_value};
use crate::output::{self, Format};

pub fn vrouters(introspect: &Client, format: Format) -> anyhow::Result<String> {
    let answer = get(introspect, "/vrouters")?;
    let v = list(&answer, "vrouters")?;
    Ok(match format {
        Format::Table => vrouters_table(&v, now_secs()),
        _ => output::to_text(format, &answer),
    })
}

pub fn routes(
    introspect: &Client,
    format: Format,
    instance: Option<&str>,
) -> anyhow::Result<String> {
    let path = match instance {
        Some(i) => format!("/vrouters/routes?instance={}", encode_query_value(i)),
        None => "/vrouters/routes".to_string(),
    };
    let answer = get(introspect, &path)?;
    let instances = answer
        .get("instances")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("unexpected introspect answer: no \"instances\""))?;
    Ok(match format {
        Format::Table => routes_table(&instances),
        _ => output::to_text(format, &answer),
    })
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn counter(v: &Value, key: &str) -> String {
    v.get("counters")
        .and_then(|c| c.get(key))
        .map_or_else(|| "-".into(), Value::to_string)
}

fn published(v: &Value) -> String {
    match v.get("published").and_then(Value::as_object) {
        Some(m) if !m.is_empty() => m
            .values()
            .filter_map(Value::as_u64)
            .sum::<u64>()
            .to_string(),
        _ => "0".into(),
    }
}

pub fn vrouters_table(v: &[Value], now: u64) -> String {
    let rows: Vec<Vec<String>> = v
        .iter()
        .map(|r| {
            vec![
                cell(r, "hostname"),
                cell(r, "address"),
                cell(r, "state"),
                cell(r, "session"),
                r.get("since")
                    .and_then(Value::as_u64)
                    .map_or_else(|| "-".into(), |s| duration(now.saturating_sub(s))),
                joined(r, &["subscribed"]),
                published(r),
                counter(r, "routes_received"),
                counter(r, "routes_refused"),
                counter(r, "routes_sent"),
                cell(r, "config_objects"),
            ]
        })
        .collect();
    output::table(
        &[
            "HOSTNAME",
            "ADDRESS",
            "STATE",
            "SESSION",
            "UP",
            "SUBSCRIBED",
            "PUBLISHED",
            "RECEIVED",
            "REFUSED",
            "SENT",
            "CONFIG",
        ],
        &rows,
    )
}

pub fn routes_table(instances: &serde_json::Map<String, Value>) -> String {
    let mut rows = Vec::new();
    for (inst, routes) in instances {
        for r in routes.as_array().into_iter().flatten() {
            let hops: Vec<String> = r
                .get("nexthops")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|n| {
                    format!(
                        "{} label {} vni {} ({})",
                        cell(n, "address"),
                        cell(n, "label"),
                        cell(n, "vni"),
                        cell(n, "origin")
                    )
                })
                .collect();
            rows.push(vec![
                inst.clone(),
                cell(r, "prefix"),
                if hops.is_empty() {
                    "-".into()
                } else {
                    hops.join("; ")
                },
                cell(r, "origin_network"),
            ]);
        }
    }
    output::table(
        &["INSTANCE", "PREFIX", "NEXT HOPS", "ORIGIN NETWORK"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vrouters_as_a_table() {
        let v = vec![
            json!({"hostname": "c1", "address": "198.18.0.11", "state": "established", "session": 3,
                   "since": 1000, "subscribed": ["d:p:red:red"], "published": {"d:p:red:red": 2},
                   "counters": {"routes_received": 4, "routes_refused": 1, "routes_sent": 7},
                   "config_objects": 12}),
            json!({"hostname": "c2", "address": "198.18.0.12", "state": "down", "subscribed": [], "published": {}}),
        ];
        let t = vrouters_table(&v, 1065);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("HOSTNAME"), "{t}");
        assert!(
            lines[1].contains("c1")
                && lines[1].contains("established")
                && lines[1].contains("1m05s"),
            "{t}"
        );
        assert!(lines[1].contains("d:p:red:red"), "{t}");
        let cols: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(&cols[6..], ["2", "4", "1", "7", "12"], "{t}");
        assert!(lines[2].contains("c2") && lines[2].contains("down"), "{t}");
    }

    #[test]
    fn routes_as_a_table() {
        let m = json!({"d:p:red:red": [{"prefix": "10.1.0.3/32", "origin_network": "d:p:red",
            "nexthops": [{"address": "198.18.0.11", "label": 20, "vni": 5, "origin": "c1"},
                         {"address": "198.18.0.12", "label": 21, "vni": 5, "origin": "c2"}]}]});
        let t = routes_table(m.as_object().unwrap());
        assert!(
            t.contains("198.18.0.11 label 20 vni 5 (c1); 198.18.0.12 label 21 vni 5 (c2)"),
            "{t}"
        );
    }
}
