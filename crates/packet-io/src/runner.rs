//! The runner: worker threads that poll their devices and run each received batch through
//! their own pipeline [`Worker`], plus one agent thread that answers flow misses and
//! trapped packets through an [`Agent`]. This crate reads the clock and passes it in; the
//! pipeline itself stays pure.
//!
//! With several workers, each owns a share of the ports (port `j` belongs to worker
//! `j % n`: it alone receives from and sends on that device) and its own flow table. A
//! flow belongs to the worker its symmetric steering hash names
//! ([`cirrus_dataplane::pipeline::steer`]), so both directions of a flow meet in one flow
//! table; packets received by another worker, and frames for a port another worker owns,
//! cross over bounded per-worker handoff queues (the lane module). Nothing on that path
//! takes a lock: the queues are std's lock-free channels and every table a worker reads is
//! its own or an immutable snapshot.
//!
//! NAT'd flows: the reverse key of a floating-IP flow differs from the forward one, so its
//! packets hash elsewhere. When the agent's decision pairs a reverse key whose hash
//! differs, the agent thread first tells every worker "this hash belongs to worker w"
//! (each keeps a small private steering map) and only then hands the decision to w. No
//! reverse packet can exist before the decision releases the forward one, and workers read
//! their steering updates right after each receive, so none is steered by a stale map.

use crate::device::{Device, DeviceError};
use crate::handle::{RunnerHandle, Shared};
use crate::lane::{Handoff, Lane, Queues, Request, SteerUpdate, ToAgent};
use crate::ports::Owners;
use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::steer::key_steer_hash;
use cirrus_dataplane::pipeline::{TrapReason, Worker};
use cirrus_dataplane::{flow::FlowDecision, flow::Upcall, tables::IfIndex};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the runner asks of the vRouter agent.
pub trait Agent: Send {
    /// A flow miss: the decision to install now, or `None` to leave the flow held (it
    /// expires after the hold timeout).
    fn upcall(&mut self, up: &Upcall) -> Option<FlowDecision>;
    /// A trapped packet (ARP, DHCP, ND, host-bound): frames to send in answer, as
    /// (interface, frame).
    fn trap(
        &mut self,
        ingress: IfIndex,
        reason: TrapReason,
        frame: &[u8],
    ) -> Vec<(IfIndex, Vec<u8>)>;
}

/// A device bound to a pipeline interface index.
pub struct Port {
    pub ifindex: IfIndex,
    pub device: Box<dyn Device>,
}

/// Runner settings.
#[derive(Debug, Clone, Copy)]
pub struct RunnerConfig {
    /// Frames received per device per poll.
    pub batch: usize,
    /// Sleep when a poll round found nothing, for a worker with a device that cannot be
    /// waited on (in-memory devices).
    pub idle_sleep: Duration,
    /// Otherwise, the longest an idle worker waits for its devices to become readable
    /// before it looks at its queues again (frames handed over by other workers, the
    /// agent's decisions and requests): the added latency of those when idle.
    pub idle_wait: Duration,
    /// Flow entries scanned for ageing per poll round.
    pub age_budget: usize,
    /// Messages (batches) each worker's handoff queue holds; a full queue drops what
    /// would overflow it and counts it in [`Runner::handoff_lost`].
    pub handoff_depth: usize,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            batch: 32,
            idle_sleep: Duration::from_micros(200),
            idle_wait: Duration::from_millis(1),
            age_budget: 64,
            handoff_depth: 1024,
        }
    }
}

/// Running worker threads and their agent thread; stopping (or dropping) joins them.
/// [`Runner::handle`] gives the agent its control handle.
pub struct Runner {
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<Result<Worker, DeviceError>>>,
    agent: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl Runner {
    /// One worker over all the ports.
    pub fn spawn(
        worker: Worker,
        ports: Vec<Port>,
        agent: Box<dyn Agent>,
        cfg: RunnerConfig,
    ) -> Runner {
        Self::spawn_workers(vec![worker], ports, agent, cfg)
    }

    /// One thread per worker (give each a `Worker` over the same `Dataplane`); ports are
    /// shared out round-robin.
    pub fn spawn_workers(
        workers: Vec<Worker>,
        ports: Vec<Port>,
        agent: Box<dyn Agent>,
        cfg: RunnerConfig,
    ) -> Runner {
        assert!(!workers.is_empty(), "a runner needs at least one worker");
        let n = workers.len();
        let owners = Arc::new(Owners::new(
            ports.iter().enumerate().map(|(j, p)| (p.ifindex, j % n)),
        ));
        let mut owned: Vec<Vec<Port>> = (0..n).map(|_| Vec::new()).collect();
        for (j, p) in ports.into_iter().enumerate() {
            owned[j % n].push(p);
        }
        let (inbox_tx, inbox_rx): (Vec<SyncSender<Handoff>>, Vec<Receiver<Handoff>>) = (0..n)
            .map(|_| mpsc::sync_channel(cfg.handoff_depth))
            .unzip();
        // Steering updates are never dropped (a lost one would send a NAT'd reply to a
        // worker without its flow): unbounded, and there are two per NAT'd flow (one when
        // it is installed, one when it ages out).
        let (steer_tx, steer_rx): (Vec<Sender<SteerUpdate>>, Vec<Receiver<SteerUpdate>>) =
            (0..n).map(|_| mpsc::channel()).unzip();
        let (req_tx, req_rx): (Vec<Sender<Request>>, Vec<Receiver<Request>>) =
            (0..n).map(|_| mpsc::channel()).unzip();
        let (agent_tx, agent_rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let lost = Arc::new(AtomicU64::new(0));
        let shared = Arc::new(Shared {
            inboxes: inbox_tx.clone(),
            requests: req_tx,
            owners: Mutex::new(owners.clone()),
            lost: lost.clone(),
        });

        let mut handles = Vec::with_capacity(n);
        for (id, ((worker, ports), ((inbox, steer_rx), requests))) in workers
            .into_iter()
            .zip(owned)
            .zip(inbox_rx.into_iter().zip(steer_rx).zip(req_rx))
            .enumerate()
        {
            // Huge pages for the flow table: a large table otherwise costs a TLB miss per
            // flow on top of its cache misses. Best effort: without THP only a hint is lost.
            for (addr, len) in worker.flows.hot_regions() {
                let _ = crate::sys::advise_huge_pages(addr, len);
            }
            let q = Queues {
                inbox,
                steer_rx,
                requests,
                peers: inbox_tx.clone(),
                steer_tx: steer_tx.clone(),
                agent: agent_tx.clone(),
                lost: lost.clone(),
            };
            let lane = Lane::new(id, worker, ports, owners.clone(), q, cfg);
            let flag = stop.clone();
            // Worker 0 keeps the historical name the bench binary looks for.
            let name = if id == 0 {
                "cirrus-worker".to_string()
            } else {
                format!("cirrus-worker{id}")
            };
            handles.push(
                std::thread::Builder::new()
                    .name(name)
                    .spawn(move || lane.run(&flag))
                    .expect("spawning a worker thread"),
            );
        }
        drop(agent_tx);
        let ctx = AgentLoop {
            agent,
            rx: agent_rx,
            steer: steer_tx,
            shared: shared.clone(),
        };
        let flag = stop.clone();
        let agent = std::thread::Builder::new()
            .name("cirrus-agent".into())
            .spawn(move || ctx.run(&flag))
            .expect("spawning the agent thread");
        Runner {
            stop,
            workers: handles,
            agent: Some(agent),
            shared,
        }
    }

    /// A control handle for the agent: add and remove ports, inject frames, delete and
    /// dump flows, read counters (see [`RunnerHandle`]). Its calls fail with
    /// [`crate::handle::HandleError::Stopped`] once the runner stopped.
    pub fn handle(&self) -> RunnerHandle {
        RunnerHandle::new(self.shared.clone())
    }

    /// Packets and messages dropped because a handoff queue was full.
    pub fn handoff_lost(&self) -> u64 {
        self.shared.lost.load(Ordering::Relaxed)
    }

    /// Stops the threads and returns the workers (counters, flows) in order, or the first
    /// device error: a failed device does not stop its worker (it stops polling that port
    /// and carries on with the others, see [`crate::report::PortReport::error`]), but
    /// it is reported here.
    pub fn stop(mut self) -> Result<Vec<Worker>, DeviceError> {
        self.stop.store(true, Ordering::Relaxed);
        let mut out = Vec::with_capacity(self.workers.len());
        let mut err = None;
        for h in self.workers.drain(..) {
            match h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)) {
                Ok(w) => out.push(w),
                Err(e) => err = err.or(Some(e)),
            }
        }
        if let Some(a) = self.agent.take() {
            let _ = a.join();
        }
        match err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
        if let Some(a) = self.agent.take() {
            let _ = a.join();
        }
    }
}

/// The agent thread: off the packet path, shared by all workers.
struct AgentLoop {
    agent: Box<dyn Agent>,
    rx: Receiver<ToAgent>,
    steer: Vec<Sender<SteerUpdate>>,
    shared: Arc<Shared>,
}

impl AgentLoop {
    fn run(mut self, stop: &AtomicBool) {
        loop {
            match self.rx.recv_timeout(Duration::from_millis(5)) {
                Ok(m) => self.handle(m),
                Err(RecvTimeoutError::Timeout) if !stop.load(Ordering::Relaxed) => {}
                Err(_) => return,
            }
        }
    }

    fn handle(&mut self, m: ToAgent) {
        match m {
            ToAgent::Upcall { from, up } => {
                let Some(d) = self.agent.upcall(&up) else {
                    return;
                };
                if let Some((rk, _)) = &d.reverse {
                    let rh = key_steer_hash(rk);
                    if rh != key_steer_hash(&d.key) {
                        // Before the decision: see the module doc for why this order
                        // suffices.
                        for s in &self.steer {
                            let _ = s.send(SteerUpdate::Own(rh, from));
                        }
                    }
                }
                // Back to the worker that holds the flow.
                if self.shared.inboxes[from]
                    .try_send(Handoff::Decision(d))
                    .is_err()
                {
                    self.shared.lost.fetch_add(1, Ordering::Relaxed);
                }
            }
            ToAgent::Trap {
                ingress,
                reason,
                frame,
            } => {
                for (i, f) in self.agent.trap(ingress, reason, &frame) {
                    // A port that went, or a full queue (counted): the answer is lost,
                    // as the trapped packet would have been.
                    let _ = self.shared.inject(i, vec![PacketBuf::from_frame(&f)]);
                }
            }
        }
    }
}
