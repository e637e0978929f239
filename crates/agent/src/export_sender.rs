//! The sender thread of the export to the analytics collector, shared by flow export
//! ([`crate::flow_export`]) and per-interface counters ([`crate::stats_export`]): one TCP
//! connection, fed by one bounded queue; each batch is framed in its kind
//! (`cirrus_analytics::wire`). A batch that cannot be written is counted as dropped and
//! the connection is made again for the next one; nothing waits on the collector.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use cirrus_analytics::record::SessionSample;
use cirrus_analytics::vmi_stats::VmiStatsSample;

use crate::flow_export::ExportStats;

/// What the sender thread writes to the collector: a batch of session samples, or of
/// per-interface counters (`crate::stats_export`), each framed in its own kind.
#[derive(Debug, Clone)]
pub enum Outbound {
    Sessions(Arc<Vec<SessionSample>>),
    VmiStats(Arc<Vec<VmiStatsSample>>),
}

/// Writes what `rx` brings to the collector at `to` until every sender is gone.
pub(crate) fn sender(rx: Receiver<Outbound>, to: SocketAddr, stats: Arc<ExportStats>) {
    let mut conn: Option<TcpStream> = None;
    let mut buf = Vec::new();
    while let Ok(out) = rx.recv() {
        let (n, sent, dropped) = match &out {
            Outbound::Sessions(b) => (b.len() as u64, &stats.sent, &stats.dropped),
            Outbound::VmiStats(b) => (b.len() as u64, &stats.vmi_sent, &stats.vmi_dropped),
        };
        if conn.is_none() {
            conn = TcpStream::connect_timeout(&to, Duration::from_secs(2)).ok();
            if let Some(c) = &conn {
                let _ = c.set_write_timeout(Some(Duration::from_secs(5)));
                stats.connects.fetch_add(1, Ordering::Relaxed);
            }
        }
        let Some(c) = conn.as_mut() else {
            dropped.fetch_add(n, Ordering::Relaxed);
            continue;
        };
        buf.clear();
        match &out {
            Outbound::Sessions(batch) => {
                for chunk in batch.chunks(1000) {
                    cirrus_analytics::wire::encode_frame(chunk, &mut buf);
                }
            }
            Outbound::VmiStats(batch) => {
                for chunk in batch.chunks(1000) {
                    cirrus_analytics::wire::encode_vmi_stats_frame(chunk, &mut buf);
                }
            }
        }
        match c.write_all(&buf) {
            Ok(()) => {
                sent.fetch_add(n, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::debug!(collector = %to, error = %e, "flow export: collector write failed");
                dropped.fetch_add(n, Ordering::Relaxed);
                conn = None;
            }
        }
    }
}
