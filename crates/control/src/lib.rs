//! The Cirrus control node's glue between the config and the BGP speaker (`cirrus-bgp`):
//!
//! - [`bgp_config`]: pure mapping from the config index (bgp-routers, global-system-config,
//!   routing instances, route targets, virtual networks) to the speaker's configuration;
//! - [`own_router`]: finds or creates this node's own bgp-router;
//! - [`sync`]: follows config changes and applies them to the running speaker, live;
//! - [`introspect`]: the JSON introspect (`/bgp/neighbors`, `/routes`);
//! - [`intent_sync`]: runs the intent compiler and writes what it derives back to the config.
//!
//! The config index is the API's ([`cirrus_api::ApiState`]): one index, one store watch, and
//! the control node reads the same snapshot the REST API serves.

pub mod bgp_config;
pub mod intent_sync;
pub mod introspect;
pub mod own_router;
pub mod sync;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use cirrus_api::ApiState;
use cirrus_bgp::speaker::{Speaker, SpeakerError};
use tokio::task::JoinHandle;

use bgp_config::Desired;

/// Why the control node could not start.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("{0}")]
    OwnRouter(String),
    #[error("cannot listen for BGP on {addr}: {source}")]
    BgpListen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot serve introspect on {addr}: {source}")]
    IntrospectListen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("bgp speaker: {0}")]
    Speaker(#[from] SpeakerError),
}

/// How to run the control node.
#[derive(Debug, Clone)]
pub struct ControlOptions {
    /// Names this node's bgp-router (`...:ip-fabric:__default__:<hostname>`).
    pub hostname: String,
    /// Address and port for a bgp-router created at first start (127.0.0.1 and 179 unless
    /// given); ignored, with a warning, when the object exists and says otherwise.
    pub bgp_address: Option<IpAddr>,
    pub bgp_port: Option<u16>,
    pub introspect_listen: SocketAddr,
}

/// A running control node: the speaker, the config follower and the introspect server.
pub struct ControlNode {
    pub speaker: Speaker,
    /// Where the speaker listens (the bgp-router's address and port).
    pub bgp_listen: SocketAddr,
    /// The bgp-router this node runs as.
    pub router_fq_name: String,
    /// Where introspect is served (the actual address when port 0 was asked for).
    pub introspect_listen: SocketAddr,
    pub peers: usize,
    pub instances: usize,
    tasks: Vec<JoinHandle<()>>,
}

impl ControlNode {
    /// Finds or creates this node's bgp-router, starts the speaker on its address and port with
    /// the peers and instances of the current config, follows config changes, and serves
    /// introspect.
    pub async fn start(state: Arc<ApiState>, opts: ControlOptions) -> Result<Self, ControlError> {
        let own =
            own_router::ensure(&state, &opts.hostname, opts.bgp_address, opts.bgp_port).await?;
        let next = bgp_config::derive(&state.index(), &opts.hostname);
        let Some(cfg) = next.speaker.clone() else {
            return Err(ControlError::OwnRouter(format!(
                "bgp-router {} cannot run: {}",
                own.fq_str,
                next.warnings.join("; ")
            )));
        };
        let bgp_listen = cfg.listen;
        let speaker = Speaker::start(cfg).await.map_err(|e| match e {
            SpeakerError::Listen { addr, source } => ControlError::BgpListen { addr, source },
            other => ControlError::Speaker(other),
        })?;
        let listener = tokio::net::TcpListener::bind(opts.introspect_listen)
            .await
            .map_err(|source| ControlError::IntrospectListen {
                addr: opts.introspect_listen,
                source,
            });
        let listener = match listener {
            Ok(l) => l,
            Err(e) => {
                speaker.shutdown().await;
                return Err(e);
            }
        };
        let introspect_listen = listener.local_addr().unwrap_or(opts.introspect_listen);

        // The speaker already runs `next.speaker`; the instances are applied here.
        let mut current = Desired {
            speaker: next.speaker.clone(),
            ..Desired::default()
        };
        let (peers, instances) = (
            next.speaker.as_ref().map_or(0, |s| s.peers.len()),
            next.instances.len(),
        );
        sync::apply(&speaker, &mut current, next).await?;
        let intent = intent_sync::spawn(state.clone(), opts.hostname.clone());
        let follow = sync::spawn(state, speaker.clone(), opts.hostname.clone(), current);
        let app = introspect::router(speaker.clone());
        let serve = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "introspect server stopped");
            }
        });
        Ok(ControlNode {
            speaker,
            bgp_listen,
            router_fq_name: own.fq_str.clone(),
            introspect_listen,
            peers,
            instances,
            tasks: vec![follow, serve, intent],
        })
    }

    /// Stops following the config and introspect, and closes every BGP session with a Cease.
    pub async fn shutdown(self) {
        for t in &self.tasks {
            t.abort();
        }
        self.speaker.shutdown().await;
    }
}
