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
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let serve = tokio::spawn(async move {
        let r = tonic::transport::Server::builder()
            .tcp_nodelay(true)
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
