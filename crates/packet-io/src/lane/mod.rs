//! One worker thread of the [`crate::runner`]: polls the ports it owns, steers each
//! received packet to the worker that owns its flow, runs its own share through its
//! pipeline [`Worker`], and sends by disposition — on its own ports directly (one send per
//! output port per batch), on other workers' ports through their handoff queues. It also
//! takes from its queue the batches other workers steered to it, frames for its ports and
//! the agent's decisions on its flows, and, between batches, the requests of
//! [`crate::handle::RunnerHandle`]s (`serve.rs`).

mod serve;

pub(crate) use serve::{PortsDone, Request};

use crate::device::DeviceError;
use crate::ports::Owners;
use crate::runner::{Port, RunnerConfig};
use crate::sys;
use cirrus_dataplane::flow::{FlowDecision, FlowKey, Upcall};
use cirrus_dataplane::hash::FastMap;
use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::steer::key_steer_hash;
use cirrus_dataplane::pipeline::{Disposition, TrapReason, Worker};
use cirrus_dataplane::tables::IfIndex;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::time::Instant;

/// What workers (and the agent thread) hand to a worker.
pub(crate) enum Handoff {
    /// Packets received on `ingress` by another worker whose flows this one owns.
    Process {
        ingress: IfIndex,
        pkts: Vec<PacketBuf>,
    },
    /// Frames to send on a port this worker owns.
    Transmit {
        ifindex: IfIndex,
        pkts: Vec<PacketBuf>,
    },
    /// Agent-originated frames (injected through a handle, trap replies) to send on a
    /// port this worker owns.
    Inject {
        ifindex: IfIndex,
        pkts: Vec<PacketBuf>,
    },
    /// The agent's answer to this worker's upcall.
    Decision(FlowDecision),
}

/// A change to every worker's steering map (NAT'd reverse flows).
#[derive(Clone, Copy)]
pub(crate) enum SteerUpdate {
    /// Packets of this steering hash belong to this worker.
    Own(u64, usize),
    /// The flow went: forget the hash unless another worker claimed it since (updates
    /// from the agent and from owners may reach workers in different orders).
    Forget(u64, usize),
}

/// What workers hand to the agent thread.
pub(crate) enum ToAgent {
    Upcall {
        from: usize,
        up: Upcall,
    },
    Trap {
        ingress: IfIndex,
        reason: TrapReason,
        frame: Vec<u8>,
    },
}

/// Handoff messages taken per poll round before the worker's own ports are polled again.
const HANDOFF_BUDGET: usize = 64;

/// Spare buffers kept per worker: buffers migrate between workers with handoffs, and a
/// worker that mostly receives handoffs must not hoard them.
const SPARE_MAX: usize = 1024;

/// A port this worker polls, and the error that disabled it, if one did.
struct Attached {
    port: Port,
    error: Option<String>,
    /// Partial checksums completed before its device sent the frames (it cannot hand
    /// them on partial).
    csum_completed: u64,
}

/// Completes the partial checksums of frames about to go to a device that cannot take
/// them partial; returns how many it completed.
fn complete_checksums<'a>(frames: impl Iterator<Item = &'a mut PacketBuf>) -> u64 {
    let mut n = 0;
    for f in frames {
        if f.partial_checksum().is_some() {
            f.complete_checksum();
            n += 1;
        }
    }
    n
}

/// The queues a lane is joined to the others by.
pub(crate) struct Queues {
    pub(crate) inbox: Receiver<Handoff>,
    pub(crate) steer_rx: Receiver<SteerUpdate>,
    pub(crate) requests: Receiver<Request>,
    pub(crate) peers: Vec<SyncSender<Handoff>>,
    /// Every worker's steering updates (this one's included).
    pub(crate) steer_tx: Vec<Sender<SteerUpdate>>,
    pub(crate) agent: Sender<ToAgent>,
    pub(crate) lost: Arc<AtomicU64>,
}

pub(crate) struct Lane {
    id: usize,
    worker: Worker,
    ports: Vec<Attached>,
    /// Every port of the runner and the worker that owns it.
    owners: Arc<Owners>,
    q: Queues,
    /// NAT'd reverse flows whose hash names another worker than their owner.
    steer: FastMap<u64, usize>,
    cfg: RunnerConfig,
    /// The first device error (what [`crate::runner::Runner::stop`] reports).
    first_error: Option<DeviceError>,
    injected: u64,
    unrouted: u64,
    spare: Vec<PacketBuf>,
    out: Vec<Disposition>,
    hashes: Vec<Option<u64>>,
    outbox: Vec<Vec<PacketBuf>>,
    /// Output ports of the batch being sent.
    targets: Vec<IfIndex>,
    /// What an idle round waits on (kept to allocate nothing per round).
    idle_fds: Vec<RawFd>,
    poll_set: Vec<libc::pollfd>,
}

impl Lane {
    pub(crate) fn new(
        id: usize,
        worker: Worker,
        ports: Vec<Port>,
        owners: Arc<Owners>,
        q: Queues,
        cfg: RunnerConfig,
    ) -> Self {
        let n = q.peers.len();
        Self {
            id,
            worker,
            ports: ports
                .into_iter()
                .map(|port| Attached {
                    port,
                    error: None,
                    csum_completed: 0,
                })
                .collect(),
            owners,
            q,
            steer: FastMap::default(),
            cfg,
            first_error: None,
            injected: 0,
            unrouted: 0,
            spare: Vec::new(),
            out: Vec::new(),
            hashes: Vec::new(),
            outbox: (0..n).map(|_| Vec::new()).collect(),
            targets: Vec::new(),
            idle_fds: Vec::new(),
            poll_set: Vec::new(),
        }
    }

    pub(crate) fn run(mut self, stop: &AtomicBool) -> Result<Worker, DeviceError> {
        let start = Instant::now();
        let mut rx: Vec<PacketBuf> = Vec::with_capacity(self.cfg.batch);
        while !stop.load(Ordering::Relaxed) {
            let now = start.elapsed().as_secs() as u32;
            let mut busy = self.serve_requests();
            // Bounded, so busy peers cannot starve this worker's own ports.
            for _ in 0..HANDOFF_BUDGET {
                let Ok(m) = self.q.inbox.try_recv() else {
                    break;
                };
                busy = true;
                self.handoff(now, m);
            }
            for p in 0..self.ports.len() {
                let a = &mut self.ports[p];
                if a.error.is_some() {
                    continue;
                }
                let n = match a
                    .port
                    .device
                    .recv_batch(&mut rx, &mut self.spare, self.cfg.batch)
                {
                    Ok(n) => n,
                    Err(e) => {
                        self.disable(p, e);
                        continue;
                    }
                };
                if n == 0 {
                    continue;
                }
                busy = true;
                let ingress = self.ports[p].port.ifindex;
                if self.q.peers.len() > 1 {
                    self.steer_out(now, ingress, &mut rx);
                }
                self.run_batch(now, ingress, &mut rx);
            }
            self.age(now);
            if !busy {
                self.idle();
            }
        }
        match self.first_error {
            Some(e) => Err(e),
            None => Ok(self.worker),
        }
    }

    /// Nothing came in a whole round: waits for a device to become readable (bounded by
    /// `idle_wait`, so the queues are looked at again soon), or sleeps `idle_sleep` when a
    /// device cannot be waited on.
    fn idle(&mut self) {
        self.idle_fds.clear();
        for a in self.ports.iter().filter(|a| a.error.is_none()) {
            match a.port.device.readable_fd() {
                Some(fd) => self.idle_fds.push(fd),
                None => {
                    std::thread::sleep(self.cfg.idle_sleep);
                    return;
                }
            }
        }
        if self.idle_fds.is_empty() {
            std::thread::sleep(self.cfg.idle_sleep);
            return;
        }
        sys::wait_readable(&mut self.poll_set, &self.idle_fds, self.cfg.idle_wait);
    }

    /// A device failed: this worker stops polling and sending on it (its other ports
    /// carry on); the error shows in reports until the port is removed.
    fn disable(&mut self, p: usize, e: DeviceError) {
        self.ports[p].error = Some(e.to_string());
        self.first_error.get_or_insert(e);
    }

    fn handoff(&mut self, now: u32, m: Handoff) {
        match m {
            Handoff::Process { ingress, mut pkts } => self.run_batch(now, ingress, &mut pkts),
            Handoff::Transmit { ifindex, mut pkts } => {
                self.settle_checksums(ifindex, pkts.iter_mut());
                let refs: Vec<&PacketBuf> = pkts.iter().collect();
                self.transmit(ifindex, &refs);
                self.recycle(&mut pkts);
            }
            Handoff::Inject { ifindex, mut pkts } => {
                let refs: Vec<&PacketBuf> = pkts.iter().collect();
                self.injected += self.transmit(ifindex, &refs) as u64;
                self.recycle(&mut pkts);
            }
            Handoff::Decision(d) => {
                // A refused (stale) decision already counted its parked packets as dropped.
                if let Ok(released) = self.worker.apply_decision(now, d) {
                    for (d, pkt) in released {
                        if let Disposition::Tx(i) = d {
                            self.send(i, pkt);
                        }
                    }
                }
                self.flush_side_effects();
            }
        }
    }

    /// Completes the frames' partial checksums when the device of port `ifindex` cannot
    /// send them partial (a frame received with checksum offload, leaving by a port
    /// without it), counting them on the port.
    fn settle_checksums<'a>(
        &mut self,
        ifindex: IfIndex,
        frames: impl Iterator<Item = &'a mut PacketBuf>,
    ) {
        if let Some(p) = self.completing_port(ifindex) {
            self.ports[p].csum_completed += complete_checksums(frames);
        }
    }

    /// The port `ifindex` when its device cannot send a checksum partial (so frames for it
    /// are completed first); `None` for the devices that can, the common case.
    fn completing_port(&self, ifindex: IfIndex) -> Option<usize> {
        self.ports
            .iter()
            .position(|a| a.port.ifindex == ifindex && !a.port.device.takes_partial_checksums())
    }

    /// Sends frames on a port this worker owns; returns how many the device took (a full
    /// device queue drops the rest, as a NIC's would). Frames for a port it does not own
    /// (any more) or whose device failed are counted as unrouted.
    fn transmit(&mut self, ifindex: IfIndex, frames: &[&PacketBuf]) -> usize {
        let Some(p) = self
            .ports
            .iter()
            .position(|a| a.port.ifindex == ifindex && a.error.is_none())
        else {
            self.unrouted += frames.len() as u64;
            return 0;
        };
        match self.ports[p].port.device.send_batch(frames) {
            Ok(n) => n,
            Err(e) => {
                self.unrouted += frames.len() as u64;
                self.disable(p, e);
                0
            }
        }
    }

    /// Keeps in `rx` the packets this worker owns and hands the others to their owners.
    fn steer_out(&mut self, now: u32, ingress: IfIndex, rx: &mut Vec<PacketBuf>) {
        // Updates first: one sent before these packets arrived must steer them.
        self.read_steer_updates();
        self.worker.steer_batch(now, ingress, rx, &mut self.hashes);
        let n = self.q.peers.len() as u64;
        let owner = |h: &Option<u64>| match h {
            None => self.id,
            Some(h) => match self.steer.get(h) {
                Some(&w) => w,
                None => (h % n) as usize,
            },
        };
        if self.hashes.iter().all(|h| owner(h) == self.id) {
            return;
        }
        let mut keep = Vec::with_capacity(rx.len());
        for (pkt, h) in rx.drain(..).zip(&self.hashes) {
            let w = owner(h);
            if w == self.id {
                keep.push(pkt);
            } else {
                self.outbox[w].push(pkt);
            }
        }
        *rx = keep;
        for w in 0..self.outbox.len() {
            if self.outbox[w].is_empty() {
                continue;
            }
            let pkts = std::mem::take(&mut self.outbox[w]);
            let count = pkts.len() as u64;
            if self.q.peers[w]
                .try_send(Handoff::Process { ingress, pkts })
                .is_err()
            {
                self.q.lost.fetch_add(count, Ordering::Relaxed);
            }
        }
    }

    fn read_steer_updates(&mut self) {
        while let Ok(u) = self.q.steer_rx.try_recv() {
            match u {
                SteerUpdate::Own(h, w) => {
                    self.steer.insert(h, w);
                }
                SteerUpdate::Forget(h, w) => {
                    if self.steer.get(&h) == Some(&w) {
                        self.steer.remove(&h);
                    }
                }
            }
        }
    }

    /// Ages flows (see [`Self::forget_steering`]).
    fn age(&mut self, now: u32) {
        let gone = self.worker.age_entries(now, self.cfg.age_budget);
        self.forget_steering(&gone);
    }

    /// A removed NAT'd reverse entry this worker was steered takes its steering entry
    /// with it on every worker, so the maps stay as small as the NAT'd flows.
    fn forget_steering(&mut self, gone: &[(u32, FlowKey)]) {
        if self.q.peers.len() == 1 || gone.is_empty() {
            return;
        }
        self.read_steer_updates();
        for (_, key) in gone {
            let h = key_steer_hash(key);
            if self.steer.get(&h) == Some(&self.id) {
                for s in &self.q.steer_tx {
                    let _ = s.send(SteerUpdate::Forget(h, self.id));
                }
            }
        }
    }

    /// Runs a batch this worker owns and sends its results.
    fn run_batch(&mut self, now: u32, ingress: IfIndex, rx: &mut Vec<PacketBuf>) {
        let n = rx.len();
        if n == 0 {
            return;
        }
        self.out.resize(n, Disposition::Held);
        self.worker
            .process_batch(now, ingress, rx, &mut self.out[..n]);
        // One send per output port per batch (ring and sendmmsg backends take the whole
        // batch in one system call); frames for other workers' ports move to their queue.
        self.targets.clear();
        for d in &self.out[..n] {
            if let Disposition::Tx(p) = *d
                && !self.targets.contains(&p)
            {
                self.targets.push(p);
            }
        }
        for k in 0..self.targets.len() {
            let port = self.targets[k];
            let tx = Disposition::Tx(port);
            match self.owners.get(port) {
                Some(w) if w == self.id => {
                    if let Some(p) = self.completing_port(port) {
                        let mine = rx.iter_mut().zip(&self.out[..n]).filter(|(_, d)| **d == tx);
                        self.ports[p].csum_completed += complete_checksums(mine.map(|(f, _)| f));
                    }
                    let frames: Vec<&PacketBuf> = rx
                        .iter()
                        .zip(&self.out[..n])
                        .filter(|(_, d)| **d == tx)
                        .map(|(p, _)| p)
                        .collect();
                    self.transmit(port, &frames);
                }
                Some(w) => {
                    let mut pkts = Vec::new();
                    for (p, d) in rx.iter_mut().zip(&self.out[..n]) {
                        if *d == tx {
                            let fresh = self.spare.pop().unwrap_or_else(PacketBuf::empty);
                            pkts.push(std::mem::replace(p, fresh));
                        }
                    }
                    let count = pkts.len() as u64;
                    let m = Handoff::Transmit {
                        ifindex: port,
                        pkts,
                    };
                    if self.q.peers[w].try_send(m).is_err() {
                        self.q.lost.fetch_add(count, Ordering::Relaxed);
                    }
                }
                None => {
                    self.unrouted += self.out[..n].iter().filter(|d| **d == tx).count() as u64;
                }
            }
        }
        for (pkt, d) in rx.iter_mut().zip(&self.out[..n]) {
            if let Disposition::Trap(reason) = *d {
                // The agent reads and answers whole packets.
                pkt.complete_checksum();
                let _ = self.q.agent.send(ToAgent::Trap {
                    ingress,
                    reason,
                    frame: pkt.data().to_vec(),
                });
            }
        }
        self.recycle(rx);
        self.flush_side_effects();
    }

    /// Flood/mirror copies, then flow misses to the agent.
    fn flush_side_effects(&mut self) {
        for (i, pkt) in self.worker.take_extra() {
            self.send(i, pkt);
        }
        for up in self.worker.take_upcalls() {
            let _ = self.q.agent.send(ToAgent::Upcall { from: self.id, up });
        }
    }

    fn send(&mut self, ifindex: IfIndex, mut pkt: PacketBuf) {
        match self.owners.get(ifindex) {
            Some(w) if w == self.id => {
                self.settle_checksums(ifindex, std::iter::once(&mut pkt));
                self.transmit(ifindex, &[&pkt]);
            }
            Some(w) => {
                let m = Handoff::Transmit {
                    ifindex,
                    pkts: vec![pkt],
                };
                if self.q.peers[w].try_send(m).is_err() {
                    self.q.lost.fetch_add(1, Ordering::Relaxed);
                }
            }
            None => self.unrouted += 1,
        }
    }

    fn recycle(&mut self, pkts: &mut Vec<PacketBuf>) {
        let room = SPARE_MAX.saturating_sub(self.spare.len());
        let keep = pkts.len().min(room);
        self.spare.extend(pkts.drain(..keep));
        pkts.clear();
    }
}
