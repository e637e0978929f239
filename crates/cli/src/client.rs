//! The thin HTTP layer: the VNC REST calls cirrusctl makes, over a blocking `ureq` agent. Every
//! call returns the object unwrapped from its `{"<type>": ...}` envelope, or an [`ApiError`] that
//! names the request and carries the server's plain-text answer. The [`Vnc`] trait lets `apply`
//! run against a fake in tests.

use std::io::ErrorKind;
use std::time::Duration;

use serde_json::{Value, json};

use crate::names;

/// A failed call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with a non-2xx status.
    #[error("{method} {path}: {status} {body}")]
    Status {
        method: &'static str,
        path: String,
        status: u16,
        body: String,
    },
    /// Nothing listens at the API address.
    #[error(
        "{method} {path}: cannot connect to {base} ({reason}); is cirrus-controller running on {base}?"
    )]
    Unreachable {
        method: &'static str,
        path: String,
        base: String,
        reason: String,
    },
    /// Any other transport failure (timeout, reset, bad URL).
    #[error("{method} {path}: {reason}")]
    Transport {
        method: &'static str,
        path: String,
        reason: String,
    },
    /// A 2xx answer that is not the JSON the API promises.
    #[error("{method} {path}: unexpected response: {reason}")]
    BadResponse {
        method: &'static str,
        path: String,
        reason: String,
    },
}

impl ApiError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The VNC calls cirrusctl needs.
pub trait Vnc {
    /// `POST /fqname-to-id`: the uuid of the named object (404 when there is none).
    fn fqname_to_id(&self, kind: &str, fq_name: &[String]) -> Result<String, ApiError>;
    /// [`Vnc::fqname_to_id`] with "no such object" as `None`.
    fn lookup(&self, kind: &str, fq_name: &[String]) -> Result<Option<String>, ApiError> {
        match self.fqname_to_id(kind, fq_name) {
            Ok(uuid) => Ok(Some(uuid)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }
    /// `GET /<type>/<uuid>`, the object itself.
    fn read(&self, kind: &str, uuid: &str) -> Result<Value, ApiError>;
    /// `POST /<type>s` with a `{"<type>": {...}}` body; the created object (uuid, fq_name, ...).
    fn create(&self, kind: &str, body: &Value) -> Result<Value, ApiError>;
    /// `PUT /<type>/<uuid>` with a `{"<type>": {...}}` body.
    fn update(&self, kind: &str, uuid: &str, body: &Value) -> Result<(), ApiError>;
    /// `DELETE /<type>/<uuid>`.
    fn delete(&self, kind: &str, uuid: &str) -> Result<(), ApiError>;
    /// `GET /<type>s`: with `detail`, the objects; without, `{uuid, fq_name, href}` entries.
    fn list(&self, kind: &str, query: &ListQuery) -> Result<Vec<Value>, ApiError>;
}

/// The filters of a list call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub parent_fq_name: Option<Vec<String>>,
    pub parent_type: Option<String>,
    pub detail: bool,
}

impl ListQuery {
    /// The query string, starting with `?` when there is one.
    pub fn to_query_string(&self) -> String {
        let mut params = Vec::new();
        if self.detail {
            params.push("detail=True".to_string());
        }
        if let Some(fq) = &self.parent_fq_name {
            params.push(format!(
                "parent_fq_name_str={}",
                encode_query_value(&names::join_fq_name(fq))
            ));
        }
        if let Some(t) = &self.parent_type {
            params.push(format!("parent_type={}", encode_query_value(t)));
        }
        if params.is_empty() {
            String::new()
        } else {
            format!("?{}", params.join("&"))
        }
    }
}

/// Percent-encodes a query value, leaving RFC 3986 unreserved characters and `:` as they are.
pub fn encode_query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Normalises the `--api` value: a scheme is added when missing, a trailing `/` dropped.
pub fn normalize_base_url(api: &str) -> String {
    let api = api.trim().trim_end_matches('/');
    if api.contains("://") {
        api.to_string()
    } else {
        format!("http://{api}")
    }
}

/// Takes the object out of its `{"<type>": {...}}` envelope.
pub fn unwrap_object(kind: &str, mut value: Value) -> Option<Value> {
    match value.get_mut(kind) {
        Some(inner) if inner.is_object() => Some(inner.take()),
        _ => None,
    }
}

/// A client of one API server.
pub struct Client {
    base: String,
    token: Option<String>,
    agent: ureq::Agent,
}

/// Bodies are read whole; a detailed list of many objects is large, so the limit is generous.
const MAX_BODY: u64 = 1 << 30;

impl Client {
    pub fn new(api: &str, token: Option<String>) -> Client {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(Duration::from_secs(300)))
            .user_agent(concat!("cirrusctl/", env!("CARGO_PKG_VERSION")))
            .build();
        Client {
            base: normalize_base_url(api),
            token,
            agent: ureq::Agent::new_with_config(config),
        }
    }

    /// One request; `path` starts with `/` and may carry a query string. Returns the parsed JSON
    /// body (null when empty) of a 2xx answer.
    pub fn call(
        &self,
        method: &'static str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        let url = format!("{}{}", self.base, path);
        let with_token = |req: ureq::RequestBuilder<ureq::typestate::WithoutBody>| match &self.token
        {
            Some(t) => req.header("X-Auth-Token", t),
            None => req,
        };
        let with_token_b = |req: ureq::RequestBuilder<ureq::typestate::WithBody>| match &self.token
        {
            Some(t) => req.header("X-Auth-Token", t),
            None => req,
        };
        let result = match method {
            "GET" => with_token(self.agent.get(&url)).call(),
            "DELETE" => with_token(self.agent.delete(&url)).call(),
            "POST" | "PUT" => {
                let req = if method == "POST" {
                    self.agent.post(&url)
                } else {
                    self.agent.put(&url)
                };
                with_token_b(req).send_json(body.unwrap_or(&Value::Null))
            }
            other => unreachable!("cirrusctl never sends {other}"),
        };
        let mut response = result.map_err(|e| self.transport_error(method, path, e))?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| ApiError::Transport {
                method,
                path: path.to_string(),
                reason: format!("reading the answer: {e}"),
            })?;
        if !(200..300).contains(&status) {
            return Err(ApiError::Status {
                method,
                path: path.to_string(),
                status,
                body: text.trim().to_string(),
            });
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| ApiError::BadResponse {
            method,
            path: path.to_string(),
            reason: format!("not JSON ({e})"),
        })
    }

    fn transport_error(&self, method: &'static str, path: &str, e: ureq::Error) -> ApiError {
        let unreachable = match &e {
            ureq::Error::Io(io) => matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::AddrNotAvailable
                    | ErrorKind::NotConnected
            ),
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => true,
            _ => false,
        };
        if unreachable {
            ApiError::Unreachable {
                method,
                path: path.to_string(),
                base: self.base.clone(),
                reason: e.to_string(),
            }
        } else {
            ApiError::Transport {
                method,
                path: path.to_string(),
                reason: e.to_string(),
            }
        }
    }

    fn unwrapped(
        &self,
        method: &'static str,
        path: &str,
        kind: &str,
        answer: Value,
    ) -> Result<Value, ApiError> {
        unwrap_object(kind, answer).ok_or_else(|| ApiError::BadResponse {
            method,
            path: path.to_string(),
            reason: format!("no \"{kind}\" object in the answer"),
        })
    }
}

impl Vnc for Client {
    fn fqname_to_id(&self, kind: &str, fq_name: &[String]) -> Result<String, ApiError> {
        let path = "/fqname-to-id";
        let body = json!({"type": kind, "fq_name": fq_name});
        let answer = self.call("POST", path, Some(&body))?;
        match answer.get("uuid").and_then(Value::as_str) {
            Some(uuid) => Ok(uuid.to_string()),
            None => Err(ApiError::BadResponse {
                method: "POST",
                path: path.to_string(),
                reason: "no \"uuid\" in the answer".into(),
            }),
        }
    }

    fn read(&self, kind: &str, uuid: &str) -> Result<Value, ApiError> {
        let path = names::resource_path(kind, uuid);
        let answer = self.call("GET", &path, None)?;
        self.unwrapped("GET", &path, kind, answer)
    }

    fn create(&self, kind: &str, body: &Value) -> Result<Value, ApiError> {
        let path = names::collection_path(kind);
        let answer = self.call("POST", &path, Some(body))?;
        self.unwrapped("POST", &path, kind, answer)
    }

    fn update(&self, kind: &str, uuid: &str, body: &Value) -> Result<(), ApiError> {
        self.call("PUT", &names::resource_path(kind, uuid), Some(body))
            .map(drop)
    }

    fn delete(&self, kind: &str, uuid: &str) -> Result<(), ApiError> {
        self.call("DELETE", &names::resource_path(kind, uuid), None)
            .map(drop)
    }

    fn list(&self, kind: &str, query: &ListQuery) -> Result<Vec<Value>, ApiError> {
        let path = format!(
            "{}{}",
            names::collection_path(kind),
            query.to_query_string()
        );
        let mut answer = self.call("GET", &path, None)?;
        let key = format!("{kind}s");
        let Some(Value::Array(entries)) = answer.get_mut(&key).map(Value::take) else {
            return Err(ApiError::BadResponse {
                method: "GET",
                path,
                reason: format!("no \"{key}\" list in the answer"),
            });
        };
        if !query.detail {
            return Ok(entries);
        }
        // Detailed entries are enveloped: [{"virtual-network": {...}}].
        Ok(entries
            .into_iter()
            .map(|mut e| {
                if e.get(kind).is_some_and(Value::is_object) {
                    e[kind].take()
                } else {
                    e
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings() {
        assert_eq!(ListQuery::default().to_query_string(), "");
        let q = ListQuery {
            parent_fq_name: Some(vec!["default-domain".into(), "my project".into()]),
            parent_type: Some("project".into()),
            detail: true,
        };
        assert_eq!(
            q.to_query_string(),
            "?detail=True&parent_fq_name_str=default-domain:my%20project&parent_type=project"
        );
        assert_eq!(encode_query_value("a&b=c/é"), "a%26b%3Dc%2F%C3%A9");
    }

    #[test]
    fn base_urls() {
        assert_eq!(
            normalize_base_url("http://127.0.0.1:8082/"),
            "http://127.0.0.1:8082"
        );
        assert_eq!(
            normalize_base_url("127.0.0.1:8082"),
            "http://127.0.0.1:8082"
        );
    }

    #[test]
    fn envelopes() {
        let v = json!({"virtual-network": {"uuid": "u"}});
        assert_eq!(
            unwrap_object("virtual-network", v.clone()),
            Some(json!({"uuid": "u"}))
        );
        assert_eq!(unwrap_object("project", v), None);
    }

    #[test]
    fn errors_read_as_the_cli_prints_them() {
        let e = ApiError::Status {
            method: "GET",
            path: "/virtual-network/u".into(),
            status: 404,
            body: "virtual-network u not found".into(),
        };
        assert_eq!(
            e.to_string(),
            "GET /virtual-network/u: 404 virtual-network u not found"
        );
        assert_eq!(e.status(), Some(404));
    }

    /// Serves one canned answer on a loopback port and hands back the raw request it got.
    fn serve_once(status: &str, body: &str) -> (String, std::thread::JoinHandle<String>) {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let answer = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let handle = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut request = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                request.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            request.push_str(&String::from_utf8(body).unwrap());
            reader.get_mut().write_all(answer.as_bytes()).unwrap();
            request
        });
        (url, handle)
    }

    fn body_of(request: &str) -> Value {
        let (_, body) = request.split_once("\r\n\r\n").unwrap();
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn requests_carry_the_token_path_and_envelope() {
        let (url, server) = serve_once(
            "200 OK",
            r#"{"virtual-network": {"uuid": "u1", "fq_name": ["d", "p", "vn"]}}"#,
        );
        let client = Client::new(&url, Some("secret".into()));
        let created = client
            .create(
                "virtual-network",
                &json!({"virtual-network": {"fq_name": ["d", "p", "vn"]}}),
            )
            .unwrap();
        assert_eq!(created["uuid"], "u1");
        let request = server.join().unwrap();
        assert!(
            request.starts_with("POST /virtual-networks HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request
                .to_ascii_lowercase()
                .contains("x-auth-token: secret\r\n"),
            "{request}"
        );
        assert_eq!(
            body_of(&request),
            json!({"virtual-network": {"fq_name": ["d", "p", "vn"]}})
        );
    }

    #[test]
    fn lists_are_unwrapped_with_and_without_detail() {
        let (url, server) = serve_once(
            "200 OK",
            r#"{"virtual-networks": [{"virtual-network": {"uuid": "u1"}}, {"virtual-network": {"uuid": "u2"}}]}"#,
        );
        let query = ListQuery {
            parent_fq_name: Some(vec!["d".into(), "p".into()]),
            parent_type: None,
            detail: true,
        };
        let entries = Client::new(&url, None)
            .list("virtual-network", &query)
            .unwrap();
        assert_eq!(entries, [json!({"uuid": "u1"}), json!({"uuid": "u2"})]);
        let request = server.join().unwrap();
        assert!(
            request.starts_with(
                "GET /virtual-networks?detail=True&parent_fq_name_str=d:p HTTP/1.1\r\n"
            ),
            "{request}"
        );
        assert!(
            !request.to_ascii_lowercase().contains("x-auth-token"),
            "{request}"
        );

        let (url, _server) = serve_once(
            "200 OK",
            r#"{"virtual-networks": [{"uuid": "u1", "fq_name": ["d"], "href": "h"}]}"#,
        );
        let entries = Client::new(&url, None)
            .list("virtual-network", &ListQuery::default())
            .unwrap();
        assert_eq!(
            entries,
            [json!({"uuid": "u1", "fq_name": ["d"], "href": "h"})]
        );
    }

    #[test]
    fn errors_carry_status_and_plain_text_body() {
        let (url, _server) = serve_once("409 Conflict", "project d:p already exists\n");
        let err = Client::new(&url, None)
            .create("project", &json!({"project": {}}))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "POST /projects: 409 project d:p already exists"
        );
    }

    #[test]
    fn fqname_to_id_maps_404_to_none() {
        let (url, server) = serve_once("404 Not Found", "Name [d, p, x] not found");
        let found = Client::new(&url, None)
            .lookup("virtual-network", &["d".into(), "p".into(), "x".into()])
            .unwrap();
        assert_eq!(found, None);
        let request = server.join().unwrap();
        assert!(request.starts_with("POST /fqname-to-id "), "{request}");
        assert_eq!(
            body_of(&request),
            json!({"type": "virtual-network", "fq_name": ["d", "p", "x"]})
        );
        let (url, _server) = serve_once("200 OK", r#"{"uuid": "u9"}"#);
        let found = Client::new(&url, None)
            .lookup("virtual-network", &["d".into()])
            .unwrap();
        assert_eq!(found.as_deref(), Some("u9"));
    }

    #[test]
    fn connection_refused_gives_the_hint() {
        // Bind then drop a listener: the port is very likely closed right after.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = Client::new(&format!("127.0.0.1:{port}"), None);
        let err = client.read("project", "u").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "is cirrus-controller running on http://127.0.0.1:{port}?"
            )),
            "{text}"
        );
    }
}
