//! [`RunnerHandle`]: the agent's hold on a running [`crate::runner::Runner`]. Cloneable,
//! `Send + Sync`; every call is off the packet path. Requests travel to the workers over
//! their own queues and are answered between batches (the workers take no lock for them);
//! a call that needs answers waits for every worker's, at most [`REPLY_TIMEOUT`].
//!
//! Port changes are serialized by one lock on the handle side (the ownership map), held
//! while the workers take the change, so when [`RunnerHandle::add_port`] returns the new
//! port is polled and every worker sends to it, and when
//! [`RunnerHandle::remove_port`] returns no worker touches its device any more.

use crate::device::Device;
use crate::lane::{Handoff, PortsDone, Request};
use crate::ports::Owners;
use crate::report::{FlowFilter, RunnerReport, WorkerFlows, WorkerReport};
use crate::runner::Port;
use cirrus_dataplane::flow::ProtoTimeout;
use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::tables::IfIndex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a call waits for the workers' answers.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a handle call failed.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    #[error("port {0} is already attached to the runner")]
    PortExists(IfIndex),
    #[error("port {0} is not attached to the runner")]
    NoSuchPort(IfIndex),
    #[error("worker {worker}'s queue is full: {frames} frame(s) for port {ifindex} dropped")]
    QueueFull {
        worker: usize,
        ifindex: IfIndex,
        frames: usize,
    },
    #[error("the runner has stopped")]
    Stopped,
    #[error("{request}: {missing} worker(s) did not answer within {timeout:?}")]
    Timeout {
        request: &'static str,
        missing: usize,
        timeout: Duration,
    },
}

/// What the runner and its handles share.
pub(crate) struct Shared {
    pub(crate) inboxes: Vec<SyncSender<Handoff>>,
    pub(crate) requests: Vec<Sender<Request>>,
    /// The current port ownership; its lock also serializes port changes.
    pub(crate) owners: Mutex<Arc<Owners>>,
    pub(crate) lost: Arc<AtomicU64>,
}

impl Shared {
    fn owners(&self) -> MutexGuard<'_, Arc<Owners>> {
        // The map is replaced whole, never left half-changed: a poisoned lock still
        // holds a consistent one.
        self.owners.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands agent-originated frames to the worker that owns `ifindex`.
    pub(crate) fn inject(&self, ifindex: IfIndex, pkts: Vec<PacketBuf>) -> Result<(), HandleError> {
        let worker = self
            .owners()
            .get(ifindex)
            .ok_or(HandleError::NoSuchPort(ifindex))?;
        let frames = pkts.len();
        match self.inboxes[worker].try_send(Handoff::Inject { ifindex, pkts }) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.lost.fetch_add(frames as u64, Ordering::Relaxed);
                Err(HandleError::QueueFull {
                    worker,
                    ifindex,
                    frames,
                })
            }
            Err(TrySendError::Disconnected(_)) => Err(HandleError::Stopped),
        }
    }

    /// Sends every worker the request `make(worker, reply)` builds and collects their
    /// answers (in the order they come).
    fn ask_all<T>(
        &self,
        request: &'static str,
        mut make: impl FnMut(usize, Sender<T>) -> Request,
    ) -> Result<Vec<T>, HandleError> {
        let (tx, rx) = mpsc::channel();
        for (w, q) in self.requests.iter().enumerate() {
            q.send(make(w, tx.clone()))
                .map_err(|_| HandleError::Stopped)?;
        }
        drop(tx);
        let n = self.requests.len();
        let deadline = Instant::now() + REPLY_TIMEOUT;
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(t) => out.push(t),
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(HandleError::Stopped),
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(HandleError::Timeout {
                        request,
                        missing: n - out.len(),
                        timeout: REPLY_TIMEOUT,
                    });
                }
            }
        }
        Ok(out)
    }
}

/// A cloneable control handle on a running runner (see the module doc).
#[derive(Clone)]
pub struct RunnerHandle {
    shared: Arc<Shared>,
}

impl RunnerHandle {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.shared.requests.len()
    }

    /// The attached ports and the worker that owns each, by interface index.
    pub fn ports(&self) -> Vec<(IfIndex, usize)> {
        self.shared.owners().list()
    }

    /// Attaches a port to the worker with the fewest ports and returns that worker. When
    /// this returns, the port is polled and every worker sends to it. (Program its
    /// interface into the tables after, or before: until both exist its packets are
    /// dropped and counted, by the pipeline or as unrouted.)
    pub fn add_port(&self, port: Port) -> Result<usize, HandleError> {
        let mut owners = self.shared.owners();
        if owners.get(port.ifindex).is_some() {
            return Err(HandleError::PortExists(port.ifindex));
        }
        let worker = owners.least_loaded(self.workers());
        let next = Arc::new(owners.with(port.ifindex, worker));
        let mut port = Some(port);
        let r = self.shared.ask_all("add port", |w, reply| Request::Ports {
            owners: next.clone(),
            add: if w == worker { port.take() } else { None },
            remove: None,
            reply,
        });
        // Every worker was sent the change (or the runner is gone): it holds even if
        // some answer late.
        *owners = next;
        r?;
        Ok(worker)
    }

    /// Detaches a port: its worker stops polling it and gives its device back (drop it to
    /// close it), and every worker deletes the flows of its interface
    /// ([`FlowFilter::Interface`]). Frames still queued for it are dropped (unrouted).
    pub fn remove_port(&self, ifindex: IfIndex) -> Result<Box<dyn Device>, HandleError> {
        let mut owners = self.shared.owners();
        if owners.get(ifindex).is_none() {
            return Err(HandleError::NoSuchPort(ifindex));
        }
        let next = Arc::new(owners.without(ifindex));
        let done = self
            .shared
            .ask_all("remove port", |_, reply| Request::Ports {
                owners: next.clone(),
                add: None,
                remove: Some(ifindex),
                reply,
            });
        *owners = next;
        let done: Vec<PortsDone> = done?;
        done.into_iter()
            .find_map(|d| d.device)
            .ok_or(HandleError::NoSuchPort(ifindex))
    }

    /// Sends an agent-originated Ethernet frame out of port `ifindex` (ARP towards the
    /// underlay, DHCP or ARP answers outside a trap's reply, ICMP). It is queued to the
    /// port's worker, which sends it between batches; a full queue refuses it
    /// ([`HandleError::QueueFull`], counted in the handoff losses).
    pub fn inject(&self, ifindex: IfIndex, frame: &[u8]) -> Result<(), HandleError> {
        self.inject_batch(ifindex, &[frame])
    }

    /// [`Self::inject`] for several frames, sent together.
    pub fn inject_batch(&self, ifindex: IfIndex, frames: &[&[u8]]) -> Result<(), HandleError> {
        let pkts = frames.iter().map(|f| PacketBuf::from_frame(f)).collect();
        self.shared.inject(ifindex, pkts)
    }

    /// Deletes the flows `filter` matches on every worker (both directions of each; the
    /// packets parked on held ones are dropped and counted). Returns the entries deleted.
    /// The next packet of a deleted flow misses and goes to the agent again.
    pub fn delete_flows(&self, filter: FlowFilter) -> Result<usize, HandleError> {
        let n = self
            .shared
            .ask_all("delete flows", |_, reply| Request::DeleteFlows {
                filter: filter.clone(),
                reply,
            })?;
        Ok(n.into_iter().sum())
    }

    /// Sets every worker's idle timeouts for established flows (seconds): `secs` for all
    /// and those of `by_proto` (at most `MAX_PROTO_TIMEOUTS` are kept); live flows age by
    /// them from the next scan on.
    pub fn set_flow_idle_timeouts(
        &self,
        secs: u32,
        by_proto: &[ProtoTimeout],
    ) -> Result<(), HandleError> {
        self.shared
            .ask_all("set the flow idle timeouts", |_, reply| {
                Request::FlowIdleTimeouts {
                    secs,
                    by_proto: by_proto.to_vec(),
                    reply,
                }
            })?;
        Ok(())
    }

    /// Deletes every flow.
    pub fn flush_flows(&self) -> Result<usize, HandleError> {
        self.delete_flows(FlowFilter::All)
    }

    /// The flow entries `filter` matches, per worker (by worker id), at most `limit` from
    /// each, with how many matched in all.
    pub fn flows(&self, filter: FlowFilter, limit: usize) -> Result<Vec<WorkerFlows>, HandleError> {
        let mut v = self
            .shared
            .ask_all("dump flows", |_, reply| Request::Flows {
                filter: filter.clone(),
                limit,
                reply,
            })?;
        v.sort_by_key(|f| f.worker);
        Ok(v)
    }

    /// Every worker's report (by worker id): ports, packet, drop and per-interface
    /// counters, flow-table fill; and the handoff losses.
    pub fn report(&self) -> Result<RunnerReport, HandleError> {
        let mut workers: Vec<WorkerReport> = self
            .shared
            .ask_all("report", |_, reply| Request::Report { reply })?;
        workers.sort_by_key(|w| w.worker);
        Ok(RunnerReport {
            workers,
            handoff_lost: self.handoff_lost(),
        })
    }

    /// Packets and messages dropped because a worker's handoff queue was full (read
    /// without asking the workers).
    pub fn handoff_lost(&self) -> u64 {
        self.shared.lost.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for RunnerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunnerHandle")
            .field("workers", &self.workers())
            .field("ports", &self.ports())
            .finish()
    }
}
