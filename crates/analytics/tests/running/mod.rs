//! The analytics role served on loopback in its own runtime thread, for the tests that talk
//! to it over real sockets (the collector port and the query API), stopped when dropped.

use std::time::Duration;

use cirrus_analytics::server::{AnalyticsConfig, serve};
use serde_json::Value;

pub struct Running {
    pub api: std::net::SocketAddr,
    pub collector: std::net::SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub http: ureq::Agent,
    _dir: tempfile::TempDir,
}

impl Running {
    /// Serves a store in a temporary directory (flushed every second), with `configure`
    /// applied to its configuration.
    pub fn start(configure: impl FnOnce(&mut AnalyticsConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let api = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let col = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        api.set_nonblocking(true).unwrap();
        col.set_nonblocking(true).unwrap();
        let (a, c) = (api.local_addr().unwrap(), col.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let mut cfg = AnalyticsConfig::new(dir.path().join("analytics"));
        cfg.flush_every = Duration::from_secs(1);
        configure(&mut cfg);
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let api = tokio::net::TcpListener::from_std(api).unwrap();
                let col = tokio::net::TcpListener::from_std(col).unwrap();
                serve(cfg, api, col, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
            });
        });
        let http = ureq::Agent::new_with_config(
            ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(Duration::from_secs(10)))
                .build(),
        );
        Running {
            api: a,
            collector: c,
            stop: Some(stop),
            thread: Some(thread),
            http,
            _dir: dir,
        }
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        let mut r = self
            .http
            .get(format!("http://{}{path}", self.api))
            .call()
            .unwrap();
        (r.status().as_u16(), r.body_mut().read_json().unwrap())
    }

    /// POSTs `body` as JSON to `path`: the status and the answer (null when it is not JSON).
    #[allow(dead_code)] // not every test file posts
    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let mut r = self
            .http
            .post(format!("http://{}{path}", self.api))
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .unwrap();
        let status = r.status().as_u16();
        let text = r.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `POST /analytics/query`.
    #[allow(dead_code)] // not every test file queries
    pub fn query(&self, body: &Value) -> (u16, Value) {
        self.post("/analytics/query", body)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
