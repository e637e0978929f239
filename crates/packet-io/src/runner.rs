//! The runner: one worker thread that polls its devices, runs each received batch through
//! a pipeline [`Worker`], transmits by disposition (one send per output port per batch),
//! hands flow misses and trapped packets to an [`Agent`], and ages flows. This crate reads the clock and passes it in; the
//! pipeline itself stays pure.

use crate::device::{Device, DeviceError};
use cirrus_dataplane::flow::{FlowDecision, Upcall};
use cirrus_dataplane::packet::PacketBuf;
use cirrus_dataplane::pipeline::{Disposition, TrapReason, Worker};
use cirrus_dataplane::tables::IfIndex;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
    /// Sleep when a poll round found nothing.
    pub idle_sleep: Duration,
    /// Flow entries scanned for ageing per poll round.
    pub age_budget: usize,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            batch: 32,
            idle_sleep: Duration::from_micros(200),
            age_budget: 64,
        }
    }
}

/// A running worker thread; stopping (or dropping) it joins the thread.
pub struct Runner {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Result<Worker, DeviceError>>>,
}

impl Runner {
    pub fn spawn(
        worker: Worker,
        ports: Vec<Port>,
        agent: Box<dyn Agent>,
        cfg: RunnerConfig,
    ) -> Runner {
        // Huge pages for the flow table: a large table otherwise costs a TLB miss per
        // flow on top of its cache misses. Best effort: without THP it is only a hint lost.
        for (addr, len) in worker.flows.hot_regions() {
            let _ = crate::sys::advise_huge_pages(addr, len);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("cirrus-worker".into())
            .spawn(move || {
                Loop {
                    worker,
                    ports,
                    agent,
                    cfg,
                }
                .run(&flag)
            })
            .expect("spawning a worker thread");
        Runner {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops the thread and returns its worker (counters, flows) or the device error
    /// that stopped it.
    pub fn stop(mut self) -> Result<Worker, DeviceError> {
        self.stop.store(true, Ordering::Relaxed);
        let h = self.handle.take().expect("runner joined twice");
        h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

struct Loop {
    worker: Worker,
    ports: Vec<Port>,
    agent: Box<dyn Agent>,
    cfg: RunnerConfig,
}

impl Loop {
    fn run(mut self, stop: &AtomicBool) -> Result<Worker, DeviceError> {
        let start = Instant::now();
        let mut rx: Vec<PacketBuf> = Vec::with_capacity(self.cfg.batch);
        let mut spare: Vec<PacketBuf> = Vec::new();
        let mut out = vec![Disposition::Held; self.cfg.batch];
        while !stop.load(Ordering::Relaxed) {
            let now = start.elapsed().as_secs() as u32;
            let mut busy = false;
            for p in 0..self.ports.len() {
                let n = self.ports[p]
                    .device
                    .recv_batch(&mut rx, &mut spare, self.cfg.batch)?;
                if n == 0 {
                    continue;
                }
                busy = true;
                let ingress = self.ports[p].ifindex;
                self.worker
                    .process_batch(now, ingress, &mut rx, &mut out[..n]);
                // One send per output port per batch (ring and sendmmsg backends take
                // the whole batch in one system call).
                for port in self.ports.iter_mut() {
                    let tx = Disposition::Tx(port.ifindex);
                    let frames: Vec<&PacketBuf> = rx
                        .iter()
                        .zip(&out[..n])
                        .filter(|(_, d)| **d == tx)
                        .map(|(p, _)| p)
                        .collect();
                    if !frames.is_empty() {
                        port.device.send_batch(&frames)?;
                    }
                }
                for (pkt, d) in rx.iter().zip(&out[..n]) {
                    if let Disposition::Trap(r) = *d {
                        for (i, f) in self.agent.trap(ingress, r, pkt.data()) {
                            self.send(i, &PacketBuf::from_frame(&f))?;
                        }
                    }
                }
                spare.append(&mut rx);
                self.flush_side_effects(now)?;
            }
            self.worker.age(now, self.cfg.age_budget);
            if !busy {
                std::thread::sleep(self.cfg.idle_sleep);
            }
        }
        Ok(self.worker)
    }

    /// Flood/mirror copies, then flow misses answered by the agent.
    fn flush_side_effects(&mut self, now: u32) -> Result<(), DeviceError> {
        for (i, pkt) in self.worker.take_extra() {
            self.send(i, &pkt)?;
        }
        for up in self.worker.take_upcalls() {
            let Some(decision) = self.agent.upcall(&up) else {
                continue;
            };
            // A refused (stale) decision already counted its parked packets as dropped.
            if let Ok(released) = self.worker.apply_decision(now, decision) {
                for (d, pkt) in released {
                    if let Disposition::Tx(i) = d {
                        self.send(i, &pkt)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn send(&mut self, ifindex: IfIndex, pkt: &PacketBuf) -> Result<(), DeviceError> {
        if let Some(p) = self.ports.iter_mut().find(|p| p.ifindex == ifindex) {
            p.device.send_batch(&[pkt])?;
        }
        Ok(())
    }
}
