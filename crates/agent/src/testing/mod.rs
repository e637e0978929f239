//! Test harness shared by the unit tests, the integration tests and the benchmarks
//! (behind the `testing` feature): frames, scenario builders, an in-memory fabric and a
//! message-level controller.

pub mod controller;
pub mod frames;
pub mod memfabric;
pub mod scenario;

/// `GET path` on a local HTTP server: status code and JSON body.
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf);
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("");
    // Chunked or not: the JSON is the part between the first '{' and the last '}'.
    let json = match (body.find('{'), body.rfind('}')) {
        (Some(a), Some(b)) if b >= a => {
            serde_json::from_str(&body[a..=b]).unwrap_or(serde_json::Value::Null)
        }
        _ => serde_json::Value::Null,
    };
    (code, json)
}
