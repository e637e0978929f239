//! Config-node benchmark: prints each figure beside the target of issue 3.
//!
//! - creates/s of small objects (virtual networks) over HTTP from concurrent clients;
//! - `GET /virtual-networks?detail=True` over 10,000 networks;
//! - start-up (store open + index load) with 100,000 objects;
//! - memory and disk per stored object.
//!
//! Run: `cargo run --release -p cirrus-api --bin api-bench [-- --clients 32 --creates 10000]`.
//! Everything runs on 127.0.0.1 in this process, on a fresh data dir under the system temp dir.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Counts live heap bytes, so that memory per object is the index's own and not the allocator's
/// retained pages or the store's cache.
struct Counting;

static LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

// SAFETY: every method forwards to the system allocator with the caller's arguments unchanged,
// so the system allocator's guarantees hold; the counter is only arithmetic on the side.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: forwarded as is; the caller upholds GlobalAlloc::alloc's contract.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: ptr came from this allocator (System underneath) with this layout.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new, std::sync::atomic::Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), std::sync::atomic::Ordering::Relaxed);
        // SAFETY: forwarded as is; the caller upholds GlobalAlloc::realloc's contract.
        unsafe { std::alloc::System.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live_heap() -> u64 {
    LIVE.load(std::sync::atomic::Ordering::Relaxed) as u64
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// A minimal HTTP/1.1 keep-alive client: enough for a benchmark, no dependencies.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn connect(addr: std::net::SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).ok();
        Conn {
            stream,
            buf: Vec::with_capacity(1 << 16),
        }
    }

    async fn request(&mut self, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.stream.write_all(req.as_bytes()).await.expect("write");
        self.buf.clear();
        loop {
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_string();
                let status: u16 = head[9..12].parse().unwrap_or(0);
                let len: usize = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                while self.buf.len() < end + 4 + len {
                    let n = self.stream.read(&mut chunk).await.expect("read");
                    assert!(n > 0, "server closed the connection");
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                return (status, self.buf[end + 4..end + 4 + len].to_vec());
            }
        }
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

async fn serve(
    dir: &std::path::Path,
) -> (
    std::net::SocketAddr,
    Arc<cirrus_api::ApiState>,
    Duration,
    tokio::task::JoinHandle<()>,
) {
    let t = Instant::now();
    let store = cirrus_store::open_redb(dir).await.expect("open store");
    let (state, router) = cirrus_api::start(store, cirrus_api::Auth::None)
        .await
        .expect("start api");
    let took = t.elapsed();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (addr, state, took, server)
}

/// The start-up half, run in a fresh process on the data dir the first half filled.
async fn startup(dir: &std::path::Path) {
    let rss_before = rss_bytes();
    let heap_before = live_heap();
    let (_, state, took, _server) = serve(dir).await;
    let rss_after = rss_bytes();
    let heap_after = live_heap();
    let loaded = state.index().len();
    println!(
        "startup: {:.2} s to open the store and index {loaded} objects (target <= 5 s with 100,000)",
        took.as_secs_f64()
    );
    let disk = std::fs::metadata(dir.join("cirrus.redb"))
        .map(|m| m.len())
        .unwrap_or(0);
    println!(
        "memory_per_object: {} bytes of live heap per indexed object ({} bytes of RSS growth, with the store's cache), {} bytes on disk per object",
        heap_after.saturating_sub(heap_before) / loaded.max(1) as u64,
        rss_after.saturating_sub(rss_before) / loaded.max(1) as u64,
        disk / loaded.max(1) as u64
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--startup") {
        startup(std::path::Path::new(&args[i + 1])).await;
        return;
    }
    let clients = arg("--clients", 32);
    let creates = arg("--creates", 10_000);
    let total = arg("--objects", 100_000);
    let dir = std::env::temp_dir().join(format!("cirrus-api-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("data dir");
    println!(
        "api-bench: {clients} clients, {creates} creates, {total} objects for start-up; data in {}",
        dir.display()
    );

    // 1. Creates over HTTP from concurrent clients.
    let (addr, state, _, server) = serve(&dir).await;
    let mut c = Conn::connect(addr).await;
    let (s, _) = c
        .request(
            "POST",
            "/projects",
            r#"{"project": {"fq_name": ["default-domain", "bench"], "parent_type": "domain"}}"#,
        )
        .await;
    assert_eq!(s, 200);
    let t = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..clients {
        let n = creates / clients + usize::from(w < creates % clients);
        tasks.push(tokio::spawn(async move {
            let mut c = Conn::connect(addr).await;
            for i in 0..n {
                let body = format!(
                    r#"{{"virtual-network": {{"fq_name": ["default-domain", "bench", "vn-{w}-{i}"], "parent_type": "project"}}}}"#
                );
                let (s, b) = c.request("POST", "/virtual-networks", &body).await;
                assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
            }
        }));
    }
    for t in tasks {
        t.await.expect("client");
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "create_vn_http: {:.0} objects/s ({creates} virtual networks, {clients} clients, {secs:.2} s; target >= 2000 objects/s)",
        creates as f64 / secs
    );

    // 2. A detailed list of every network.
    let mut c = Conn::connect(addr).await;
    let mut best = f64::MAX;
    let mut n_items = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let (s, body) = c.request("GET", "/virtual-networks?detail=True", "").await;
        best = best.min(t.elapsed().as_secs_f64());
        assert_eq!(s, 200);
        let v: serde_json::Value = serde_json::from_slice(&body).expect("json");
        n_items = v["virtual-networks"].as_array().map_or(0, Vec::len);
    }
    println!(
        "list_vn_detail: {:.3} s for {n_items} networks, best of 5 (target <= 0.2 s over 10,000)",
        best
    );

    // 3. Fill up to `total` objects straight through the store (projects' networks as the API
    // stores them), then measure a cold start on that data.
    let have = state.index().len();
    let template = {
        let idx = state.index();
        idx.of_type("virtual-network")
            .find(|o| o.fq_name.get(1).map(String::as_str) == Some("bench"))
            .cloned()
            .expect("a bench vn")
    };
    let mut written = 0;
    let mut batch = cirrus_store::Txn::new();
    for i in 0..total.saturating_sub(have) {
        let mut o = (*template).clone();
        o.uuid = uuid::Uuid::new_v4().to_string();
        o.fq_name[2] = format!("bulk-{i}");
        o.fq_str = o.fq_name.join(":");
        o.body.remove("virtual_network_network_id");
        batch = batch
            .put(cirrus_api::keys::obj(&o.uuid), o.to_stored())
            .put(
                cirrus_api::keys::fqn("virtual-network", &o.fq_str),
                o.uuid.clone(),
            );
        written += 1;
        if batch.ops.len() >= 2000 {
            state
                .store
                .txn(std::mem::take(&mut batch))
                .await
                .expect("bulk txn");
        }
    }
    if !batch.ops.is_empty() {
        state.store.txn(batch).await.expect("bulk txn");
    }
    // Close the store before the start-up process opens it.
    server.abort();
    let _ = server.await;
    drop(state);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Start-up and memory are measured in a fresh process, so the figures hold only the reload.
    let status = std::process::Command::new(std::env::current_exe().expect("exe"))
        .arg("--startup")
        .arg(&dir)
        .status()
        .expect("re-exec");
    assert!(status.success());
    let _ = have + written;
    std::fs::remove_dir_all(&dir).ok();
}
