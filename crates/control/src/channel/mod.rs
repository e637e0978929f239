//! The controller's end of the controller <-> vrouter channel (`cirrus.channel.v1`, see
//! `crates/proto`): the gRPC service ([`service`]), each session's state machine
//! ([`session`]) and task ([`conn`]), the per-node token check ([`auth`]), and the hub that
//! owns the route server and every session's config slice ([`hub`]).

pub mod auth;
mod conn;
pub mod hub;
pub mod service;
pub mod session;

use std::net::SocketAddr;
use std::sync::Arc;

use cirrus_api::ApiState;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use auth::ChannelAuth;
pub use hub::{HubHandle, HubOptions};

use crate::route_server::BgpOp;

/// HTTP/2 flow-control windows for a session and its connection: a vrouter's first table
/// is megabytes, and the 64 KiB default would cost a round trip per 64 KiB.
pub const STREAM_WINDOW: u32 = 512 << 10;
pub const CONNECTION_WINDOW: u32 = 1 << 20;
/// Largest HTTP/2 frame accepted: fewer frames (and wake-ups) per route update.
pub const MAX_FRAME: u32 = 1 << 20;

/// A running channel server.
pub struct Channel {
    pub hub: Arc<HubHandle>,
    /// Where it listens (the actual port when 0 was asked for).
    pub listen: SocketAddr,
    pub tasks: Vec<JoinHandle<()>>,
}

/// Binds `listen` and serves the channel; batches of vrouter routes for BGP go to `bgp`.
pub async fn start(
    state: Arc<ApiState>,
    listen: SocketAddr,
    opts: HubOptions,
    bgp: Option<mpsc::UnboundedSender<Vec<BgpOp>>>,
) -> std::io::Result<Channel> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let listen = listener.local_addr()?;
    tracing::info!(%listen, auth = %opts.auth.describe(), graceful_restart = opts.graceful_restart_seconds, "vrouter channel listening");
    let (hub, hub_task) = hub::spawn(state, opts, bgp);
    let svc = service::ControlService::new(hub.clone());
    // Accepted here (not by tonic), so Nagle is turned off here: route updates are written
    // as they are made, and waiting for an ACK before sending the rest of a window stalls.
    let incoming = tokio_stream::StreamExt::map(
        tokio_stream::wrappers::TcpListenerStream::new(listener),
        |s| {
            s.inspect(|s| {
                let _ = s.set_nodelay(true);
            })
        },
    );
    let serve = tokio::spawn(async move {
        let r = tonic::transport::Server::builder()
            .tcp_nodelay(true)
            .initial_stream_window_size(Some(STREAM_WINDOW))
            .initial_connection_window_size(Some(CONNECTION_WINDOW))
            .max_frame_size(Some(MAX_FRAME))
            .http2_keepalive_interval(Some(std::time::Duration::from_secs(10)))
            .http2_keepalive_timeout(Some(std::time::Duration::from_secs(20)))
            .add_service(svc)
            .serve_with_incoming(incoming)
            .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "vrouter channel server stopped");
        }
    });
    Ok(Channel {
        hub,
        listen,
        tasks: vec![hub_task, serve],
    })
}
