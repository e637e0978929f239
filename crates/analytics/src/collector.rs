//! The collector: accepts vrouters' export streams ([`crate::wire`]) on TCP, stores their
//! records, writes the open batches every `flush_every` and drops partitions past the
//! retention every minute. A connection whose stream breaks is closed; the vrouter
//! reconnects.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use crate::store::Store;
use crate::uve::Uves;
use crate::wire::{self, WireError};

async fn connection(
    mut s: TcpStream,
    store: Arc<Store>,
    uves: Arc<Uves>,
    conn: u64,
) -> Result<(), String> {
    let mut head = [0u8; 8];
    let mut body = Vec::new();
    loop {
        match s.read_exact(&mut head).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.to_string()),
        }
        let (kind, len) = wire::frame_head(&head).map_err(|e| e.to_string())?;
        body.resize(len, 0);
        s.read_exact(&mut body).await.map_err(|e| e.to_string())?;
        if kind == wire::FrameKind::VmiStats {
            body = vmi_stats_frame(&store, body).await?;
            continue;
        }
        // Decoded straight into the columns, off the runtime's threads (ingest may wait
        // when the writer is far behind); the buffer comes back for the next frame.
        let st = store.clone();
        let u = uves.clone();
        let (b, r) = tokio::task::spawn_blocking(move || {
            let r = st.ingest_frame(&body);
            if r.is_ok() {
                u.ingest_frame(conn, &body);
            }
            (body, r)
        })
        .await
        .map_err(|e| e.to_string())?;
        body = b;
        r.map_err(|e: WireError| e.to_string())?;
    }
}

/// Stores one frame of per-interface counters, off the runtime's threads; the buffer
/// comes back for the next frame.
async fn vmi_stats_frame(store: &Arc<Store>, body: Vec<u8>) -> Result<Vec<u8>, String> {
    let st = store.clone();
    let (b, r) = tokio::task::spawn_blocking(move || {
        let r = st.ingest_vmi_stats_frame(&body);
        (body, r)
    })
    .await
    .map_err(|e| e.to_string())?;
    r.map_err(|e| e.to_string())?;
    Ok(b)
}

/// Serves `listener` until the task is dropped, with the flush and retention timers.
/// The UVEs learn each connection's vrouters and when it closes.
pub async fn serve(
    listener: TcpListener,
    store: Arc<Store>,
    uves: Arc<Uves>,
    flush_every: Duration,
) {
    let st = store.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(flush_every);
        let mut n: u64 = 0;
        loop {
            tick.tick().await;
            n += 1;
            let s = st.clone();
            let check_retention = n.is_multiple_of(60 / flush_every.as_secs().clamp(1, 60));
            let r = tokio::task::spawn_blocking(move || {
                if check_retention {
                    s.enforce_retention(crate::now_us());
                }
                s.flush()
            })
            .await;
            if let Ok(Err(e)) = r {
                tracing::warn!(error = %e, "analytics: writing a partition file failed");
            }
        }
    });
    let mut conn: u64 = 0;
    loop {
        let Ok((sock, peer)) = listener.accept().await else {
            continue;
        };
        conn += 1;
        let (st, u) = (store.clone(), uves.clone());
        tokio::spawn(async move {
            let r = connection(sock, st, u.clone(), conn).await;
            u.close(conn);
            if let Err(e) = r {
                tracing::warn!(%peer, error = %e, "analytics: export stream closed");
            }
        });
    }
}
