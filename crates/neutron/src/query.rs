//! A list request's query string, as Neutron reads it: filters (`name=x`, repeated for "any
//! of"), `fields` (repeated), `sort_key`/`sort_dir` (paired), `limit`, `marker` and
//! `page_reverse`; applied to the rendered resources, with `<collection>_links` to the next and
//! previous pages.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

use crate::error::{NResult, NeutronError};

#[derive(Debug, Default, Clone)]
pub struct Query {
    pub filters: Vec<(String, Vec<String>)>,
    pub fields: Vec<String>,
    pub sort: Vec<(String, bool)>,
    pub limit: Option<usize>,
    pub marker: Option<String>,
    pub page_reverse: bool,
    /// Every pair of the query, in order: the paging links repeat them, as Neutron's do.
    pub params: Vec<(String, String)>,
}

/// `s` form-encoded as Python's `urlencode` writes a query value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query's key/value pairs, decoded, in order.
pub fn pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

impl Query {
    pub fn parse(raw: Option<&str>) -> NResult<Query> {
        let mut q = Query {
            params: pairs(raw),
            ..Query::default()
        };
        let mut keys = vec![];
        let mut dirs = vec![];
        for (k, v) in q.params.clone() {
            match k.as_str() {
                "fields" => q.fields.extend(v.split(',').map(str::to_string)),
                "sort_key" => keys.push(v),
                "sort_dir" => match v.as_str() {
                    "asc" | "desc" => dirs.push(v == "asc"),
                    _ => {
                        return Err(NeutronError::InvalidInput(format!(
                            "Sort direction '{v}' is not supported; expected asc or desc"
                        )));
                    }
                },
                "limit" => {
                    let n: i64 = v.parse().map_err(|_| {
                        NeutronError::invalid("limit", format!("'{v}' is not an integer"))
                    })?;
                    if n < 0 {
                        return Err(NeutronError::invalid(
                            "limit",
                            format!("'{v}' should be non-negative"),
                        ));
                    }
                    q.limit = (n > 0).then_some(n as usize);
                }
                "marker" => q.marker = Some(v),
                "page_reverse" => q.page_reverse = v.eq_ignore_ascii_case("true"),
                _ => match q.filters.iter_mut().find(|(f, _)| *f == k) {
                    Some((_, vs)) => vs.push(v),
                    None => q.filters.push((k, vec![v])),
                },
            }
        }
        if dirs.len() != keys.len() {
            // Neutron's plain HTTPBadRequest
            return Err(NeutronError::Malformed(
                "The number of sort_keys and sort_dirs must be same".into(),
            ));
        }
        q.sort = keys
            .into_iter()
            .enumerate()
            .map(|(i, k)| (k, dirs.get(i).copied().unwrap_or(true)))
            .collect();
        Ok(q)
    }

    /// The value of filter `k` when given once.
    pub fn filter(&self, k: &str) -> Option<&str> {
        self.filters
            .iter()
            .find(|(f, _)| f == k)
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        other => other.to_string(),
    }
}

fn matches_one(have: &Value, want: &str) -> bool {
    match have {
        Value::Bool(b) => want.eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Value::Array(items) => items.iter().any(|i| match i {
            // fixed_ips=ip_address=10.0.0.3, fixed_ips=subnet_id=...
            Value::Object(o) => want
                .split_once('=')
                .is_some_and(|(k, v)| o.get(k).is_some_and(|x| as_text(x) == v)),
            other => as_text(other) == want,
        }),
        Value::Null => want.is_empty() || want == "None",
        other => as_text(other) == want,
    }
}

fn compare(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => as_text(a).cmp(&as_text(b)),
    }
}

/// Filters, sorts, pages and selects `items`; returns the list body
/// `{"<collection>": [...], "<collection>_links": [...]}` (links only when paged).
pub fn apply(mut items: Vec<Value>, q: &Query, collection: &str, url: &str) -> NResult<Value> {
    items.retain(|it| {
        q.filters.iter().all(|(k, wants)| match it.get(k) {
            Some(have) => wants.iter().any(|w| matches_one(have, w)),
            None => true,
        })
    });
    for (k, _) in &q.sort {
        if items.first().is_some_and(|i| i.get(k).is_none()) {
            return Err(NeutronError::InvalidInput(format!(
                "{k} is an invalid attribute for sort_keys"
            )));
        }
    }
    let mut keys = q.sort.clone();
    if !keys.iter().any(|(k, _)| k == "id") {
        let dir = keys.last().map(|(_, d)| *d).unwrap_or(true);
        keys.push(("id".into(), dir));
    }
    items.sort_by(|a, b| {
        keys.iter()
            .map(|(k, asc)| {
                let o = compare(
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                );
                if *asc { o } else { o.reverse() }
            })
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });
    let mut links = vec![];
    if q.limit.is_some() || q.marker.is_some() {
        let pos = |m: &str| {
            items
                .iter()
                .position(|i| i.get("id").and_then(Value::as_str) == Some(m))
        };
        let limit = q.limit.unwrap_or(usize::MAX);
        let (start, end) = match (&q.marker, q.page_reverse) {
            (Some(m), false) => {
                let s = pos(m).map(|p| p + 1).unwrap_or(0);
                (s, s.saturating_add(limit).min(items.len()))
            }
            (Some(m), true) => {
                let e = pos(m).unwrap_or(items.len());
                (e.saturating_sub(limit), e)
            }
            (None, false) => (0, limit.min(items.len())),
            (None, true) => (items.len().saturating_sub(limit), items.len()),
        };
        let page: Vec<Value> = items[start..end].to_vec();
        let id_of = |v: Option<&Value>| {
            v.and_then(|i| i.get("id"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        // Neutron's links: the request's own query without `marker` (and, for `next`, without
        // `page_reverse`), then the marker of the page's last (first) item, then
        // `page_reverse=True` for `previous`; `next` unless a forward page came short,
        // `previous` unless a reverse page came short
        let mut link = |rel: &str, marker: Option<String>, reverse: bool| {
            let mut params: Vec<(String, String)> = q
                .params
                .iter()
                .filter(|(k, _)| k != "marker" && k != "page_reverse")
                .cloned()
                .collect();
            if let Some(m) = marker {
                params.push(("marker".into(), m));
            }
            if reverse {
                params.push(("page_reverse".into(), "True".into()));
            }
            let query: Vec<String> = params
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
                .collect();
            links.push(json!({"rel": rel, "href": format!("{url}?{}", query.join("&"))}));
        };
        let short = page.len() < limit;
        if q.limit.is_some() && (!short || q.page_reverse) {
            link("next", page.last().map(|p| id_of(Some(p))), false);
        }
        if q.limit.is_some() && (!short || !q.page_reverse) {
            link("previous", page.first().map(|p| id_of(Some(p))), true);
        }
        items = page;
    }
    if !q.fields.is_empty() {
        items = items.into_iter().map(|i| select(i, &q.fields)).collect();
    }
    let mut out = Map::new();
    out.insert(collection.into(), Value::Array(items));
    if !links.is_empty() {
        out.insert(format!("{collection}_links"), Value::Array(links));
    }
    Ok(Value::Object(out))
}

/// Only `fields` of one rendered resource.
pub fn select(item: Value, fields: &[String]) -> Value {
    if fields.is_empty() {
        return item;
    }
    match item {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(k, _)| fields.iter().any(|f| f == k))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<Value> {
        ["a", "b", "c", "d"]
            .iter()
            .enumerate()
            .map(|(i, n)| json!({"id": format!("id{i}"), "name": n, "shared": i % 2 == 0}))
            .collect()
    }

    #[test]
    fn filters_sorts_and_pages_with_links() {
        let q = Query::parse(Some("sort_key=name&sort_dir=desc&limit=3&fields=name")).unwrap();
        let v = apply(items(), &q, "networks", "http://h/v2.0/networks").unwrap();
        assert_eq!(
            v["networks"],
            json!([{"name": "d"}, {"name": "c"}, {"name": "b"}])
        );
        let next = v["networks_links"][0]["href"].as_str().unwrap().to_string();
        assert_eq!(
            next,
            "http://h/v2.0/networks?sort_key=name&sort_dir=desc&limit=3&fields=name&marker=id1"
        );
        assert_eq!(
            v["networks_links"][1]["href"],
            "http://h/v2.0/networks?sort_key=name&sort_dir=desc&limit=3&fields=name&marker=id3&page_reverse=True"
        );
        let q = Query::parse(next.split_once('?').map(|(_, q)| q)).unwrap();
        let v = apply(items(), &q, "networks", "u").unwrap();
        assert_eq!(v["networks"].as_array().unwrap().len(), 1);
        assert_eq!(v["networks"][0]["name"], "a");
        let q = Query::parse(Some("shared=true&name=a&name=b")).unwrap();
        let v = apply(items(), &q, "networks", "u").unwrap();
        assert_eq!(
            v["networks"],
            json!([{"id": "id0", "name": "a", "shared": true}])
        );
        assert!(v.get("networks_links").is_none());
    }
}
