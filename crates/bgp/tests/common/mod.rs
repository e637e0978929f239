//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod daemon;
pub mod pcap;

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `cond` every 100 ms until it holds; panics after `limit` naming what was awaited.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out after {limit:?} waiting for {what}");
}
