//! `/analytics/uve-stream` and `/analytics/alarm-stream`: the UVEs as server-sent events,
//! the way opserver streams them. First `event: init` (`data: null`), then one
//! `event: update` per struct of every UVE the filters keep (`data: {"key":
//! "<Table>:<name>", "type": "<Struct>", "value": {...}}`, the key in Contrail's table
//! names: `ObjectBgpRouter:cn1`), then, every second, an update for each struct that
//! changed, `"value": null` for a struct gone and `{"key", "type": null}` for a UVE gone.
//! Parameters: `tablefilt` (UVE types, comma separated), `kfilt` (key patterns) and
//! `cfilt` (`Struct[:attr]`); the alarm stream is the UVE stream with `cfilt=UVEAlarms`.
//! A bad parameter is a 400 naming it. The stream ends when the client goes away, or with
//! `event: stop` when the server stops.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::http::{Api, error};
use crate::uve_http::{
    UVE_TYPES, apply_cfilt, kfilt_match, names, params, render, structs_of, table_of,
};

/// How often a stream looks for changes.
const EVERY: Duration = Duration::from_secs(1);

/// What one stream sends: its filters.
struct Filters {
    types: Vec<&'static str>,
    kfilt: Vec<String>,
    /// Struct to attributes (empty: all) when `cfilt` was given.
    cfilt: Option<BTreeMap<String, Vec<String>>>,
}

/// The stream's filters, or the bad parameter and what is wrong with it.
fn filters(q: Option<String>, alarms_only: bool) -> Result<Filters, (&'static str, String)> {
    let q = params(q);
    let types: Vec<&'static str> = match q.get("tablefilt") {
        None => UVE_TYPES.iter().map(|(t, _)| *t).collect(),
        Some(list) => {
            let mut out = Vec::new();
            for t in list.split(',') {
                let Some((known, _)) = UVE_TYPES.iter().find(|(n, _)| *n == t) else {
                    let all: Vec<&str> = UVE_TYPES.iter().map(|(n, _)| *n).collect();
                    return Err((
                        "tablefilt",
                        format!("unknown UVE type {t:?} (known: {})", all.join(", ")),
                    ));
                };
                out.push(*known);
            }
            out
        }
    };
    let kfilt: Vec<String> = q.get("kfilt").map_or_else(
        || vec!["*".to_string()],
        |k| k.split(',').map(str::to_string).collect(),
    );
    if kfilt.iter().any(String::is_empty) {
        return Err(("kfilt", "empty key pattern".to_string()));
    }
    let cfilt = if alarms_only {
        Some(BTreeMap::from([("UVEAlarms".to_string(), Vec::new())]))
    } else {
        match q.get("cfilt") {
            None => None,
            Some(raw) => {
                let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
                for item in raw.split(',') {
                    let (s, attr) = match item.split_once(':') {
                        Some((s, a)) => (s, Some(a)),
                        None => (item, None),
                    };
                    let known = types
                        .iter()
                        .any(|t| structs_of(t).unwrap_or(&[]).contains(&s));
                    if !known || attr.is_some_and(str::is_empty) {
                        return Err((
                            "cfilt",
                            (format!("{item:?} is not Struct[:attr] of a streamed UVE type"))
                                .to_string(),
                        ));
                    }
                    let e = out.entry(s.to_string()).or_default();
                    if let Some(a) = attr {
                        e.push(a.to_string());
                    }
                }
                Some(out)
            }
        }
    };
    Ok(Filters {
        types,
        kfilt,
        cfilt,
    })
}

/// Every UVE the filters keep, by stream key, each as its structs.
type View = BTreeMap<String, BTreeMap<String, Value>>;

fn view(api: &Api, f: &Filters) -> View {
    let patterns: Vec<&str> = f.kfilt.iter().map(String::as_str).collect();
    let st = api.uves.state.lock().expect("uve state");
    let now = crate::now_us();
    let mut out = View::new();
    for t in &f.types {
        for name in names(&st, t) {
            if !kfilt_match(&patterns, &name) {
                continue;
            }
            let Some(mut uve) = render(api, &st, t, &name, now) else {
                continue;
            };
            if let Some(c) = &f.cfilt {
                uve = apply_cfilt(uve, c);
            }
            let Value::Object(structs) = uve else {
                continue;
            };
            if structs.is_empty() {
                continue;
            }
            out.insert(
                format!("{}:{name}", table_of(t)),
                structs.into_iter().collect(),
            );
        }
    }
    out
}

fn update(data: Value) -> Event {
    Event::default().event("update").data(data.to_string())
}

/// The events that take a client from `old` to `new`.
fn diff(old: &View, new: &View) -> Vec<Event> {
    let mut out = Vec::new();
    for (key, structs) in new {
        let before = old.get(key);
        for (ty, value) in structs {
            if before.and_then(|b| b.get(ty)) != Some(value) {
                out.push(update(json!({ "key": key, "type": ty, "value": value })));
            }
        }
        for ty in before.into_iter().flat_map(|b| b.keys()) {
            if !structs.contains_key(ty) {
                out.push(update(json!({ "key": key, "type": ty, "value": null })));
            }
        }
    }
    for key in old.keys().filter(|k| !new.contains_key(*k)) {
        out.push(update(json!({ "key": key, "type": null })));
    }
    out
}

struct Streaming {
    api: Arc<Api>,
    filters: Filters,
    sent: View,
    queue: VecDeque<Event>,
    started: bool,
    /// The server is stopping: `event: stop` was sent, the stream ends.
    stopped: bool,
}

fn serve(api: Arc<Api>, q: Option<String>, alarms_only: bool) -> Response {
    let filters = match filters(q, alarms_only) {
        Ok(f) => f,
        Err((field, msg)) => return error(StatusCode::BAD_REQUEST, field, &msg),
    };
    let init = Streaming {
        api,
        filters,
        sent: View::new(),
        queue: VecDeque::from([Event::default().event("init").data("null")]),
        started: false,
        stopped: false,
    };
    let stream = futures_util::stream::unfold(init, |mut s| async move {
        let stop = |mut s: Streaming| {
            s.stopped = true;
            Some((Ok(Event::default().event("stop").data("null")), s))
        };
        loop {
            if let Some(e) = s.queue.pop_front() {
                return Some((Ok::<_, Infallible>(e), s));
            }
            if s.stopped {
                return None;
            }
            let mut stopping = s.api.stopping.clone();
            if *stopping.borrow() {
                return stop(s);
            }
            if s.started {
                tokio::select! {
                    _ = tokio::time::sleep(EVERY) => {}
                    _ = stopping.wait_for(|stop| *stop) => return stop(s),
                }
            }
            s.started = true;
            let now = view(&s.api, &s.filters);
            s.queue.extend(diff(&s.sent, &now));
            s.sent = now;
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

pub async fn uve_stream(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> Response {
    serve(api, q, false)
}

pub async fn alarm_stream(State(api): State<Arc<Api>>, RawQuery(q): RawQuery) -> Response {
    serve(api, q, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_name_changed_gone_structs_and_gone_keys() {
        let v = |pairs: &[(&str, &str, i64)]| {
            let mut out = View::new();
            for (k, t, x) in pairs {
                out.entry(k.to_string())
                    .or_default()
                    .insert(t.to_string(), json!(x));
            }
            out
        };
        let old = v(&[("A:1", "S", 1), ("A:1", "T", 1), ("A:2", "S", 1)]);
        let new = v(&[("A:1", "S", 2), ("A:3", "S", 1)]);
        let events: Vec<String> = diff(&old, &new)
            .into_iter()
            .map(|e| format!("{e:?}"))
            .collect();
        assert_eq!(events.len(), 4, "{events:#?}");
        assert!(diff(&new, &new).is_empty());
    }
}
