//! Contrail's port IPC: the REST server on 127.0.0.1:9091 that nova's vif driver
//! (`vrouter-port-control`), Contrail's CNI and other orchestrator agents call to tell the
//! vRouter which interface on this host is which virtual-machine-interface. Contrail's
//! `src/vnsw/agent/port_ipc/` is the contract:
//!
//! | request | does |
//! |---|---|
//! | `POST /port` | subscribes a port (one object, or an array: all or none) |
//! | `GET /port/<uuid>` | the port as the config describes it (404 until the config is there) |
//! | `DELETE /port/<uuid>` | unsubscribes (200 also when it was not there) |
//! | `POST /syncports` | ports not posted again within the stale timeout (60 s) are removed |
//! | `POST /vm` | subscribes a VMI by VM (Kubernetes/Mesos style) |
//! | `GET /vm/<vm-uuid>` | the VM's interfaces (404 until the config is there) |
//! | `DELETE /vm/<vm-uuid>` | unsubscribes the VM's interfaces |
//! | `GET /vm/<vm-uuid>/<vmi-uuid>` | one interface of the VM |
//! | `GET /vm-cfg/<vm-name>` | the VM's interfaces from the config (CNI discovery) |
//! | `PUT /enable-port/<uuid>`, `/disable-port/<uuid>` | link state of a remote (type 2) port |
//!
//! Success is 200 with `{}` (or the JSON asked for); a refusal is `{"error": "..."}` with
//! 400 (the message names the field, and the array element: nothing was changed), 404
//! (unknown port, route or config not there yet) or 500 (the state dir could not be
//! written: nothing was changed). Contrail answers every error with 500; its clients only
//! test for 200.
//!
//! # For the agent
//!
//! ```text
//! let (ipc, mut events) = PortIpc::open(PortIpcConfig::new(state_dir))?;
//! let snap = ipc.snapshot();            // what earlier runs persisted: bind these ports
//! let listener = tokio::net::TcpListener::bind(DEFAULT_LISTEN).await?;
//! tokio::spawn(ipc.clone().serve(listener, shutdown));
//! ipc.oper().set(vmi, VmiOper { .. });   // as each VMI's config becomes complete
//! while let Some(ev) = events.recv().await {
//!     if ev.seq <= snap.seq { continue }   // already in the snapshot
//!     match ev.change { PortChange::PortAdded { port, replaced } => .., .. }
//! }
//! ```
//!
//! Ports are persisted under `<state dir>/ports/` (one JSON file each, Contrail's format,
//! written atomically) before the request is answered, so a restart of the agent finds
//! them in [`PortIpc::snapshot`].

mod events;
mod oper;
mod request;
mod server;
mod store;

pub use events::{PortChange, PortEvent};
pub use oper::{Ipv4Oper, Ipv6Oper, OperTable, VmiOper};
pub use request::{
    PortRecord, PortType, RequestError, VmPortRecord, parse_mac, parse_port_request,
    parse_vm_request,
};
pub use store::{LoadError, PortStore, StoreError};

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;

/// Where Contrail's agent listens (`ContrailPorts::PortIpcVrouterAgentPort`).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9091";

/// How long after `POST /syncports` ports that were not posted again are removed
/// (Contrail's `stale_interface_cleanup_timeout` default).
pub const DEFAULT_STALE_TIMEOUT: Duration = Duration::from_secs(60);

/// The changes, in order, for the agent.
pub type PortEvents = mpsc::UnboundedReceiver<PortEvent>;

/// Settings.
#[derive(Debug, Clone)]
pub struct PortIpcConfig {
    /// The agent's state dir; ports live in its `ports/` folder.
    pub state_dir: PathBuf,
    pub stale_timeout: Duration,
}

impl PortIpcConfig {
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Self {
            state_dir: state_dir.into(),
            stale_timeout: DEFAULT_STALE_TIMEOUT,
        }
    }
}

/// The subscriptions at one moment; events with a higher `seq` came after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub seq: u64,
    pub ports: Vec<PortRecord>,
    pub vm_ports: Vec<VmPortRecord>,
}

/// State shared by the handlers.
struct Shared {
    store: Mutex<PortStore>,
    events: mpsc::UnboundedSender<PortEvent>,
    oper: OperTable,
    stale_timeout: Duration,
}

impl Shared {
    fn lock_store(&self) -> MutexGuard<'_, PortStore> {
        // A panic while holding the lock left the store as it was before the change
        // (files are written before memory is): keep going.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The port IPC of one agent: its store, its server, the agent's oper view. Cheap to
/// clone.
#[derive(Clone)]
pub struct PortIpc {
    shared: Arc<Shared>,
}

impl PortIpc {
    /// Reads the persisted subscriptions (files that cannot be read are reported by
    /// [`Self::load_errors`] and left in place) and returns the handle and the receiver of
    /// the changes that requests will make.
    pub fn open(cfg: PortIpcConfig) -> Result<(Self, PortEvents), StoreError> {
        let store = PortStore::open(&cfg.state_dir)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            events: tx,
            oper: OperTable::default(),
            stale_timeout: cfg.stale_timeout,
        });
        Ok((Self { shared }, rx))
    }

    /// The subscriptions now.
    pub fn snapshot(&self) -> Snapshot {
        let s = self.shared.lock_store();
        Snapshot {
            seq: s.seq(),
            ports: s.ports().cloned().collect(),
            vm_ports: s.vm_ports().cloned().collect(),
        }
    }

    /// Files found at start that could not be read.
    pub fn load_errors(&self) -> Vec<LoadError> {
        self.shared.lock_store().load_errors().to_vec()
    }

    /// The table the agent fills with each VMI's config, for the `GET` answers.
    pub fn oper(&self) -> &OperTable {
        &self.shared.oper
    }

    /// The HTTP routes (for embedding in another server or for tests).
    pub fn router(&self) -> axum::Router {
        server::router(self.shared.clone())
    }

    /// Serves on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        if let Ok(a) = listener.local_addr() {
            tracing::info!(listen = %a, "port IPC serving");
        }
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }
}
