//! The thin tokio driver and the handle the controller holds.
//!
//! One task (the loop in [`core`]) owns the RIB and every session, so there are no locks;
//! sockets and timers are small tasks that feed it [`Input`]s. The handle sends commands and
//! awaits replies.

pub mod config;
mod core;
mod net;

use std::net::{IpAddr, SocketAddr};

use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use config::{NeighborInfo, PeerConfig, RouterType, SpeakerConfig};

use crate::rib::feed::{InstanceRouteChange, VpnRoute};
use crate::rib::query::RouteInfo;
use crate::rib::{InstanceConfig, LocalRoute, RibError, Source};
use crate::session::Timer;
use crate::types::{Family, Nlri};

/// Errors of the speaker handle.
#[derive(Debug, thiserror::Error)]
pub enum SpeakerError {
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the speaker has stopped")]
    Stopped,
    #[error(transparent)]
    Rib(#[from] RibError),
    #[error("no neighbor {0} is configured")]
    NoPeer(IpAddr),
}

/// Timers the loop runs: the session's, plus the graceful-restart stale timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TimerKind {
    Session(Timer),
    Stale,
    /// The long-lived graceful-restart stale timer (RFC 9494).
    LlgrStale,
}

/// Everything the loop reacts to.
pub(crate) enum Input {
    Cmd(Command),
    Inbound(TcpStream, SocketAddr),
    Connected {
        peer: IpAddr,
        attempt: u64,
        stream: TcpStream,
    },
    ConnectFailed {
        peer: IpAddr,
        attempt: u64,
    },
    Data {
        peer: IpAddr,
        conn: u64,
        bytes: Vec<u8>,
    },
    Closed {
        peer: IpAddr,
        conn: u64,
    },
    Timer {
        peer: IpAddr,
        kind: TimerKind,
        generation: u64,
    },
}

pub(crate) enum Command {
    UpdateConfig(
        Box<SpeakerConfig>,
        oneshot::Sender<Result<(), SpeakerError>>,
    ),
    SetInstance(String, InstanceConfig, oneshot::Sender<()>),
    RemoveInstance(String, oneshot::Sender<()>),
    Originate(
        String,
        Box<LocalRoute>,
        oneshot::Sender<Result<(), RibError>>,
    ),
    Withdraw(String, Nlri, oneshot::Sender<Result<(), RibError>>),
    Neighbors(oneshot::Sender<Vec<NeighborInfo>>),
    Routes(
        Option<String>,
        Option<Family>,
        oneshot::Sender<Option<Vec<RouteInfo>>>,
    ),
    Refresh(IpAddr, Family, oneshot::Sender<Result<(), SpeakerError>>),
    Shutdown(oneshot::Sender<()>),
    /// Originates and withdraws VPN routes on behalf of an owner.
    Vpn {
        owner: std::sync::Arc<Source>,
        announce: Vec<VpnRoute>,
        withdraw: Vec<Nlri>,
        reply: oneshot::Sender<Result<(), RibError>>,
    },
    /// Sends instance-route changes from peers to this channel after every flush.
    InstanceFeed(mpsc::UnboundedSender<Vec<InstanceRouteChange>>),
}

/// A running BGP speaker. Cheap to clone; all clones talk to the same loop.
#[derive(Clone)]
pub struct Speaker {
    tx: mpsc::UnboundedSender<Input>,
    task: std::sync::Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl Speaker {
    /// Binds `cfg.listen` and starts every configured session.
    pub async fn start(cfg: SpeakerConfig) -> Result<Speaker, SpeakerError> {
        let listener = net::listen(cfg.listen).map_err(|source| SpeakerError::Listen {
            addr: cfg.listen,
            source,
        })?;
        let (tx, rx) = mpsc::unbounded_channel();
        let task = core::spawn(cfg, listener, tx.clone(), rx);
        Ok(Speaker {
            tx,
            task: std::sync::Arc::new(std::sync::Mutex::new(Some(task))),
        })
    }

    async fn ask<T>(
        &self,
        f: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SpeakerError> {
        let (otx, orx) = oneshot::channel();
        self.tx
            .send(Input::Cmd(f(otx)))
            .map_err(|_| SpeakerError::Stopped)?;
        orx.await.map_err(|_| SpeakerError::Stopped)
    }

    /// Applies a new configuration live: peers are added, changed (session restarted with a
    /// Cease "other configuration change") or removed (Cease "peer de-configured"). A new
    /// router id, ASN or listen address restarts everything.
    pub async fn update_config(&self, cfg: SpeakerConfig) -> Result<(), SpeakerError> {
        self.ask(|o| Command::UpdateConfig(Box::new(cfg), o))
            .await?
    }

    /// Adds or changes a routing instance (RD, import and export targets).
    pub async fn set_instance(&self, name: &str, cfg: InstanceConfig) -> Result<(), SpeakerError> {
        self.ask(|o| Command::SetInstance(name.to_string(), cfg, o))
            .await
    }

    pub async fn remove_instance(&self, name: &str) -> Result<(), SpeakerError> {
        self.ask(|o| Command::RemoveInstance(name.to_string(), o))
            .await
    }

    /// Originates a route into a routing instance.
    pub async fn originate(&self, instance: &str, route: LocalRoute) -> Result<(), SpeakerError> {
        Ok(self
            .ask(|o| Command::Originate(instance.to_string(), Box::new(route), o))
            .await??)
    }

    /// Withdraws a route originated into a routing instance.
    pub async fn withdraw(&self, instance: &str, nlri: Nlri) -> Result<(), SpeakerError> {
        Ok(self
            .ask(|o| Command::Withdraw(instance.to_string(), nlri, o))
            .await??)
    }

    /// Originates `announce` and withdraws `withdraw`, VPN routes (each key with its own RD)
    /// owned by `owner` (a `Source::Local` naming e.g. a vrouter): the control node's way to
    /// put vrouters' routes into BGP. One command for a whole batch.
    pub async fn vpn_routes(
        &self,
        owner: std::sync::Arc<Source>,
        announce: Vec<VpnRoute>,
        withdraw: Vec<Nlri>,
    ) -> Result<(), SpeakerError> {
        Ok(self
            .ask(|reply| Command::Vpn {
                owner,
                announce,
                withdraw,
                reply,
            })
            .await??)
    }

    /// A feed of instance-route changes from peers: after every RIB flush that changed the
    /// peer-learned paths of an instance key, the keys with their paths now. The current
    /// content of every instance is sent first. One subscriber (a later call replaces it).
    pub fn instance_feed(
        &self,
    ) -> Result<mpsc::UnboundedReceiver<Vec<InstanceRouteChange>>, SpeakerError> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.tx
            .send(Input::Cmd(Command::InstanceFeed(tx)))
            .map_err(|_| SpeakerError::Stopped)?;
        Ok(rx)
    }

    /// All configured neighbors with their state and counters.
    pub async fn neighbors(&self) -> Result<Vec<NeighborInfo>, SpeakerError> {
        self.ask(Command::Neighbors).await
    }

    /// Routes of the global tables (`instance == None`) or of one instance.
    pub async fn routes(
        &self,
        instance: Option<&str>,
        family: Option<Family>,
    ) -> Result<Option<Vec<RouteInfo>>, SpeakerError> {
        self.ask(|o| Command::Routes(instance.map(str::to_string), family, o))
            .await
    }

    /// Sends a ROUTE-REFRESH for `family` to a neighbor.
    pub async fn request_refresh(&self, peer: IpAddr, family: Family) -> Result<(), SpeakerError> {
        self.ask(|o| Command::Refresh(peer, family, o)).await?
    }

    /// Sends Cease to every peer and stops the loop.
    pub async fn shutdown(&self) {
        let _ = self.ask(Command::Shutdown).await;
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}
