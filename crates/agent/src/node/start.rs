//! Putting a vrouter together: the pipeline's tables and workers, the runner over the
//! fabric port and the agent's port, the flow-deciding agent, the control task, and one
//! driver per controller. What runs is returned as [`Running`], which stops it all.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use cirrus_dataplane::control::Controller;
use cirrus_dataplane::flow::FlowConfig;
use cirrus_dataplane::pipeline::{Worker, WorkerConfig};
use cirrus_dataplane::tables::DEFAULT_MAX_VRFS;
use cirrus_dataplane::wire::MacAddr;
use cirrus_packet_io::device::DeviceError;
use cirrus_packet_io::handle::RunnerHandle;
use cirrus_packet_io::runner::{Port, Runner, RunnerConfig};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::ports::Attached;
use super::reeval::Reeval;
use super::{Devices, Node, NodeEvent, Slot, Status};
use crate::agent_port::{AgentPort, serve};
use crate::channel::client::{self, ClientConfig};
use crate::channel::{HelloParams, Session};
use crate::fabric::neighbours::{Event as NbEvent, Timers};
use crate::fabric::{FabricAddr, Neighbours};
use crate::flow_context::FlowContext;
use crate::flow_stats::FlowStats;
use crate::labels::{LabelError, Labels};
use crate::pipeline_agent::{PipelineAgent, WorkloadTraps};
use crate::program::ids::Ids;
use crate::program::{
    AGENT_IFINDEX, FABRIC_IFINDEX, FIRST_PORT_IFINDEX, Identity, Programmer, VROUTER_MAC,
};
use crate::routes::Rib;
use crate::traps::Traps;

/// How a vrouter is set up.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    pub hostname: String,
    /// One or two controllers.
    pub controllers: Vec<ClientConfig>,
    pub token: Option<String>,
    pub state_dir: PathBuf,
    pub fabric_name: String,
    pub fabric: FabricAddr,
    /// Underlay neighbours known at start (the kernel's).
    pub neighbours: Vec<(Ipv4Addr, MacAddr)>,
    pub workers: usize,
    pub flows: FlowConfig,
    /// How long the routes of a lost controller are kept when the other does not resend
    /// them.
    pub stale_timeout: Duration,
    /// Quiet time after a change before flows are re-evaluated.
    pub reeval_settle: Duration,
    /// Sessions beyond `controllers` whose channel events the caller sends itself through
    /// [`Running::events`] (tests drive a controller at the message level this way).
    pub manual_sessions: usize,
    /// The port IPC's oper table, to fill with the VMIs' config for its `GET` answers.
    pub oper: Option<crate::port_ipc::OperTable>,
    /// Flow and session records to the analytics collector (`None`: off).
    pub flow_export: Option<crate::flow_export::FlowExportConfig>,
}

impl AgentOptions {
    pub fn new(hostname: &str, state_dir: PathBuf, fabric_name: &str, fabric: FabricAddr) -> Self {
        Self {
            hostname: hostname.into(),
            controllers: Vec::new(),
            token: None,
            state_dir,
            fabric_name: fabric_name.into(),
            fabric,
            neighbours: Vec::new(),
            workers: 1,
            flows: FlowConfig::default(),
            stale_timeout: Duration::from_secs(60),
            reeval_settle: Duration::from_millis(20),
            manual_sessions: 0,
            oper: None,
            flow_export: None,
        }
    }
}

/// Why the vrouter could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("state dir {path}: {source}")]
    StateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Labels(#[from] LabelError),
    #[error("opening the fabric interface {name}: {source}")]
    Fabric {
        name: String,
        #[source]
        source: DeviceError,
    },
    #[error("at most two controllers (got {0})")]
    Controllers(usize),
}

/// A running vrouter.
pub struct Running {
    /// Tell the control task things (ports, or channel events in tests).
    pub events: mpsc::UnboundedSender<NodeEvent>,
    pub status: Arc<ArcSwap<Status>>,
    pub handle: RunnerHandle,
    pub stats: Arc<FlowStats>,
    pub ctx: Arc<ArcSwap<FlowContext>>,
    /// DHCP, ARP, ping and ND answers, and their counters.
    pub traps: Arc<Traps>,
    node: Option<JoinHandle<()>>,
    runner: Option<Runner>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops everything: controllers' sessions end (their routes age out at the
    /// controller after its graceful-restart time), workers stop.
    pub async fn stop(mut self) {
        let _ = self.events.send(NodeEvent::Shutdown);
        if let Some(n) = self.node.take() {
            let _ = n.await;
        }
        for t in self.tasks.drain(..) {
            t.abort();
        }
        if let Some(r) = self.runner.take() {
            let _ = tokio::task::spawn_blocking(move || r.stop()).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        if let Some(n) = self.node.take() {
            n.abort();
        }
    }
}

/// Starts a vrouter (inside a multi-thread tokio runtime).
pub fn start(opts: AgentOptions, mut devices: Box<dyn Devices>) -> Result<Running, StartError> {
    if opts.controllers.len() + opts.manual_sessions > 2 {
        return Err(StartError::Controllers(
            opts.controllers.len() + opts.manual_sessions,
        ));
    }
    std::fs::create_dir_all(&opts.state_dir).map_err(|source| StartError::StateDir {
        path: opts.state_dir.clone(),
        source,
    })?;
    let labels = Labels::open(&opts.state_dir)?;
    let me = Identity {
        hostname: opts.hostname.clone(),
        underlay: opts.fabric.ip,
        fabric_ifindex: FABRIC_IFINDEX,
        fabric_name: opts.fabric_name.clone(),
        fabric_mac: opts.fabric.mac,
        agent_ifindex: AGENT_IFINDEX,
        vrouter_mac: VROUTER_MAC,
    };
    let (ctl, dp) = Controller::new(DEFAULT_MAX_VRFS, VROUTER_MAC);
    let wcfg = WorkerConfig {
        flows: opts.flows,
        ..WorkerConfig::default()
    };
    let workers: Vec<Worker> = (0..opts.workers.max(1))
        .map(|_| Worker::new(dp.clone(), wcfg))
        .collect();
    let fabric = devices
        .open(&opts.fabric_name)
        .map_err(|source| StartError::Fabric {
            name: opts.fabric_name.clone(),
            source,
        })?;
    let (agent_dev, agent_rx) = AgentPort::new();
    let ctx: Arc<ArcSwap<FlowContext>> = Arc::new(ArcSwap::from_pointee(FlowContext {
        fabric_ifindex: FABRIC_IFINDEX,
        ..FlowContext::default()
    }));
    let stats = Arc::new(FlowStats::default());
    let traps = Arc::new(Traps::new(ctx.clone()));
    let (fabric_tx, fabric_rx) = mpsc::unbounded_channel();
    let export = opts
        .flow_export
        .as_ref()
        .map(|_| crate::flow_export::parts());
    let agent = PipelineAgent {
        ctx: ctx.clone(),
        stats: stats.clone(),
        fabric_ifindex: FABRIC_IFINDEX,
        fabric: fabric_tx,
        traps: traps.clone() as Arc<dyn WorkloadTraps>,
        decisions: export.as_ref().map(|(log, _)| log.clone()),
    };
    let runner = Runner::spawn_workers(
        workers,
        vec![
            Port {
                ifindex: FABRIC_IFINDEX,
                device: fabric,
            },
            Port {
                ifindex: AGENT_IFINDEX,
                device: Box::new(agent_dev),
            },
        ],
        Box::new(agent),
        RunnerConfig::default(),
    );
    let handle = runner.handle();
    let status = Arc::new(ArcSwap::from_pointee(Status::default()));
    if let (Some(cfg), Some(parts)) = (opts.flow_export.clone(), export) {
        let (interval, stats) = (cfg.interval, parts.1.clone());
        let (_, collector) = crate::flow_export::start_sharing(
            cfg,
            opts.hostname.clone(),
            opts.fabric.ip,
            handle.clone(),
            ctx.clone(),
            Some(dp.clone()),
            parts,
        );
        // Per-interface counters share the collector's queue and connection.
        if let Some(tx) = collector {
            crate::stats_export::start(
                tx,
                interval,
                opts.hostname.clone(),
                handle.clone(),
                status.clone(),
                stats,
            );
        }
    }
    {
        let handle = handle.clone();
        let traps = traps.clone() as Arc<dyn WorkloadTraps>;
        std::thread::Builder::new()
            .name("cirrus-agent-port".into())
            .spawn(move || serve(agent_rx, traps, handle))
            .expect("spawning the agent port thread");
    }

    let hello = HelloParams {
        hostname: opts.hostname.clone(),
        underlay: opts.fabric.ip,
        token: opts.token.clone(),
        agent_version: env!("CARGO_PKG_VERSION").into(),
    };
    let addresses: Vec<String> = opts
        .controllers
        .iter()
        .map(|c| c.address.clone())
        .chain((0..opts.manual_sessions).map(|i| format!("manual:{i}")))
        .collect();
    let slots = addresses
        .into_iter()
        .enumerate()
        .map(|(i, address)| Slot {
            session: Session::new(i, address, hello.clone()),
            tx: None,
            building: None,
            complete: None,
            notices: Vec::new(),
        })
        .collect();
    let mut neighbours = Neighbours::new(opts.fabric, Timers::default());
    for (ip, mac) in &opts.neighbours {
        neighbours.handle(NbEvent::Seen {
            ip: *ip,
            mac: *mac,
            now: 0,
        });
    }
    let node = Node {
        me,
        slots,
        active: None,
        rib: Rib::new(opts.stale_timeout.as_secs()),
        regs: Default::default(),
        labels,
        ifindexes: Ids::new(FIRST_PORT_IFINDEX, 65535),
        ports: Attached {
            devices,
            attached: Default::default(),
            pending: Default::default(),
        },
        handle: handle.clone(),
        programmer: Programmer::new(ctl),
        vrf_ids: Ids::new(1, u32::from(DEFAULT_MAX_VRFS) - 1),
        neighbours,
        ctx: ctx.clone(),
        stats: stats.clone(),
        status: status.clone(),
        reeval: Reeval::new(opts.reeval_settle),
        built_from: (None, 0, 0),
        generation: 0,
        dirty: true,
        started: Instant::now(),
        problems: Vec::new(),
        waiting: Vec::new(),
        traps: traps.clone(),
        oper: opts.oper.clone(),
        oper_published: Default::default(),
        oper_generation: (None, 0),
        flow_idle_default: opts.flows.idle_timeout,
        flow_idle_applied: (opts.flows.idle_timeout, Vec::new()),
    };
    let (events, rx) = mpsc::unbounded_channel();
    let node = tokio::spawn(node.run(rx, fabric_rx));
    let mut tasks = Vec::new();
    if !opts.controllers.is_empty() {
        let (chan_tx, mut chan_rx) = mpsc::unbounded_channel();
        for (i, c) in opts.controllers.iter().enumerate() {
            let mut c = c.clone();
            if c.token.is_none() {
                c.token = opts.token.clone();
            }
            tasks.push(tokio::spawn(client::run(i, c, chan_tx.clone())));
        }
        let ev = events.clone();
        tasks.push(tokio::spawn(async move {
            while let Some((i, e)) = chan_rx.recv().await {
                if ev.send(NodeEvent::Channel(i, e)).is_err() {
                    return;
                }
            }
        }));
    }
    Ok(Running {
        events,
        status,
        handle,
        stats,
        ctx,
        traps,
        node: Some(node),
        runner: Some(runner),
        tasks,
    })
}

/// The default controller driver settings for `HOST:PORT`.
pub fn controller(address: &str) -> ClientConfig {
    ClientConfig::new(address)
}
