//! The Cirrus control node's glue between the config and the BGP speaker (`cirrus-bgp`):
//!
//! - [`bgp_config`]: pure mapping from the config index (bgp-routers, global-system-config,
//!   routing instances, route targets, virtual networks) to the speaker's configuration;
//! - [`own_router`]: finds or creates this node's own bgp-router;
//! - [`sync`]: follows config changes and applies them to the running speaker, live;
//! - [`channel`]: the controller <-> vrouter channel (gRPC): sessions, config slices
//!   ([`slice`], [`placement`]), the trust check on published routes ([`trust`]), the
//!   vrouters' virtual-router objects ([`vrouter_registry`]);
//! - [`route_server`]: one table per routing instance fed by vrouters and BGP, with
//!   route-target import/export ([`instance_cfg`]), sans-I/O;
//! - [`bgp_bridge`]: vrouters' routes to the speaker as inet-vpn/e-vpn, and BGP routes
//!   imported into instances back to the route server;
//! - [`introspect`]: the JSON introspect (`/bgp/neighbors`, `/routes`, `/vrouters`);
//! - [`intent_sync`]: runs the intent compiler and writes what it derives back to the config.
//!
//! The config index is the API's ([`cirrus_api::ApiState`]): one index, one store watch, and
//! the control node reads the same snapshot the REST API serves.

pub mod bgp_bridge;
pub mod bgp_config;
pub mod channel;
pub mod instance_cfg;
pub mod intent_sync;
pub mod introspect;
pub mod own_router;
pub mod placement;
pub mod route_server;
pub mod sandesh;
pub mod slice;
pub mod sync;
#[cfg(feature = "testing")]
pub mod testing;
pub mod trust;
pub mod vrouter_registry;

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
    #[error("cannot listen for vrouters on {addr}: {source}")]
    ChannelListen {
        addr: SocketAddr,
        source: std::io::Error,
    },
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
    /// Where vrouters connect (`None`: no channel).
    pub channel_listen: Option<SocketAddr>,
    pub channel_auth: channel::ChannelAuth,
    /// How long a vrouter's routes outlive its session (0: withdrawn at once).
    pub graceful_restart_seconds: u32,
    /// More routes served on the introspect listener (the controller's `/metrics`).
    pub extra_routes: Option<axum::Router>,
}

impl ControlOptions {
    /// Options with the channel off.
    pub fn new(hostname: &str, introspect_listen: SocketAddr) -> ControlOptions {
        ControlOptions {
            hostname: hostname.to_string(),
            bgp_address: None,
            bgp_port: None,
            introspect_listen,
            channel_listen: None,
            channel_auth: channel::ChannelAuth::Open,
            graceful_restart_seconds: 0,
            extra_routes: None,
        }
    }
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
    /// Where vrouters connect, when the channel runs.
    pub channel_listen: Option<SocketAddr>,
    pub hub: Option<Arc<channel::HubHandle>>,
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
        let follow = sync::spawn(
            state.clone(),
            speaker.clone(),
            opts.hostname.clone(),
            current,
        );
        let mut tasks = vec![follow, intent];
        let (hub, channel_listen) = match opts.channel_listen {
            Some(addr) => {
                let (ops_tx, ops_rx) = tokio::sync::mpsc::unbounded_channel();
                let hub_opts = channel::HubOptions {
                    controller: opts.hostname.clone(),
                    graceful_restart_seconds: opts.graceful_restart_seconds,
                    auth: opts.channel_auth.clone(),
                };
                let ch = match channel::start(state, addr, hub_opts, Some(ops_tx)).await {
                    Ok(c) => c,
                    Err(source) => {
                        for t in &tasks {
                            t.abort();
                        }
                        speaker.shutdown().await;
                        return Err(ControlError::ChannelListen { addr, source });
                    }
                };
                let to_hub = ch.hub.clone();
                tasks.extend(bgp_bridge::spawn(speaker.clone(), ops_rx, move |c| {
                    to_hub.send(channel::hub::HubMsg::Bgp(c))
                }));
                tasks.extend(ch.tasks);
                (Some(ch.hub), Some(ch.listen))
            }
            None => (None, None),
        };
        let mut app = introspect::router(speaker.clone(), hub.clone());
        if let Some(extra) = opts.extra_routes {
            app = app.merge(extra);
        }
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
            channel_listen,
            hub,
            tasks: {
                tasks.push(serve);
                tasks
            },
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
