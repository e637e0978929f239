//! The gRPC driver of one controller session: connects (HTTP/2 keepalives, so a dead
//! controller is noticed in seconds), opens the `Session` stream, hands the node an
//! outbound queue and every inbound message, and reconnects with a capped backoff after
//! the stream ends. The protocol itself is [`super::session::Session`]'s.

use std::time::Duration;

use cirrus_proto::v1::control_client::ControlClient;
use cirrus_proto::v1::{AgentMessage, ControllerMessage};
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::transport::Endpoint;

/// What the driver tells the node.
#[derive(Debug)]
pub enum ChannelEvent {
    /// A connection is being opened: queue the Hello (and what follows) here. Dropping
    /// the sender closes the session.
    Connecting(mpsc::UnboundedSender<AgentMessage>),
    Message(ControllerMessage),
    Closed(String),
}

/// Driver settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `HOST:PORT` of the controller's channel.
    pub address: String,
    /// Per-node token sent as `authorization: Bearer` too.
    pub token: Option<String>,
    pub connect_timeout: Duration,
    /// Backoff after a failed or ended session: doubles from `min` to `max`.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
}

impl ClientConfig {
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            token: None,
            connect_timeout: Duration::from_secs(3),
            backoff_min: Duration::from_millis(250),
            backoff_max: Duration::from_secs(4),
        }
    }
}

/// Runs the driver for session `index` until `events` is closed.
pub async fn run(
    index: usize,
    cfg: ClientConfig,
    events: mpsc::UnboundedSender<(usize, ChannelEvent)>,
) {
    let mut backoff = cfg.backoff_min;
    loop {
        let started = tokio::time::Instant::now();
        let why = match session_once(index, &cfg, &events).await {
            Ok(why) => why,
            Err(e) => e,
        };
        if events.send((index, ChannelEvent::Closed(why))).is_err() {
            return;
        }
        // A session that lived a while starts the backoff over.
        if started.elapsed() > Duration::from_secs(10) {
            backoff = cfg.backoff_min;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(cfg.backoff_max);
    }
}

async fn session_once(
    index: usize,
    cfg: &ClientConfig,
    events: &mpsc::UnboundedSender<(usize, ChannelEvent)>,
) -> Result<String, String> {
    let url = format!("http://{}", cfg.address);
    let endpoint = Endpoint::from_shared(url.clone())
        .map_err(|e| format!("{url}: {e}"))?
        .connect_timeout(cfg.connect_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(2))
        .keep_alive_timeout(Duration::from_secs(3))
        .keep_alive_while_idle(true);
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| format!("connecting to {}: {e}", cfg.address))?;
    let (tx, rx) = mpsc::unbounded_channel();
    events
        .send((index, ChannelEvent::Connecting(tx)))
        .map_err(|_| "agent stopped".to_string())?;
    let mut req = tonic::Request::new(UnboundedReceiverStream::new(rx));
    if let Some(t) = &cfg.token
        && let Ok(v) = format!("Bearer {t}").parse()
    {
        req.metadata_mut().insert("authorization", v);
    }
    let mut inbound = ControlClient::new(channel)
        .session(req)
        .await
        .map_err(|s| format!("opening the session: {}: {}", s.code(), s.message()))?
        .into_inner();
    loop {
        match inbound.message().await {
            Ok(Some(m)) => {
                if events.send((index, ChannelEvent::Message(m))).is_err() {
                    return Ok("agent stopped".into());
                }
            }
            Ok(None) => return Ok("the controller ended the session".into()),
            Err(s) => return Ok(format!("{}: {}", s.code(), s.message())),
        }
    }
}
