//! A worker's side of [`crate::handle::RunnerHandle`]: the requests it answers between
//! batches (never inside one, so the pipeline's hot path takes no lock and sees no
//! change mid-batch). Each request carries the channel its answer goes back on.

use super::{Attached, Lane};
use crate::device::{Device, DeviceCounters};
use crate::ports::Owners;
use crate::report::{FlowFilter, PortReport, WorkerFlows, WorkerReport};
use crate::runner::Port;
use cirrus_dataplane::flow::ProtoTimeout;
use cirrus_dataplane::tables::IfIndex;
use std::sync::Arc;
use std::sync::mpsc::Sender;

/// Requests are few (the agent's); a worker answers at most this many per poll round.
const REQUEST_BUDGET: usize = 16;

pub(crate) enum Request {
    /// Ports changed: every worker takes the new ownership map; the owner of an added
    /// port starts polling it; the owner of a removed port stops and gives its device
    /// back; every worker deletes the removed port's flows.
    Ports {
        owners: Arc<Owners>,
        add: Option<Port>,
        remove: Option<IfIndex>,
        reply: Sender<PortsDone>,
    },
    /// Deletes the matching flows (both directions of each); answers how many entries.
    DeleteFlows {
        filter: FlowFilter,
        reply: Sender<usize>,
    },
    /// Copies out up to `limit` matching flow records.
    Flows {
        filter: FlowFilter,
        limit: usize,
        reply: Sender<WorkerFlows>,
    },
    Report {
        reply: Sender<WorkerReport>,
    },
    /// Sets the idle timeouts of established flows: for all, and by protocol.
    FlowIdleTimeouts {
        secs: u32,
        by_proto: Vec<ProtoTimeout>,
        reply: Sender<()>,
    },
}

/// A worker's answer to [`Request::Ports`].
pub(crate) struct PortsDone {
    /// The removed port's device, from its owner.
    pub(crate) device: Option<Box<dyn Device>>,
    /// Flow entries deleted with the removed port.
    pub(crate) flows_deleted: usize,
}

impl Lane {
    /// Answers the waiting requests; true when there were any.
    pub(super) fn serve_requests(&mut self) -> bool {
        let mut any = false;
        for _ in 0..REQUEST_BUDGET {
            let Ok(r) = self.q.requests.try_recv() else {
                break;
            };
            any = true;
            self.serve(r);
        }
        any
    }

    fn serve(&mut self, r: Request) {
        // A requester that gave up waiting dropped its receiver: nothing to do about it.
        match r {
            Request::Ports {
                owners,
                add,
                remove,
                reply,
            } => {
                self.owners = owners;
                if let Some(port) = add {
                    self.ports.push(Attached {
                        port,
                        error: None,
                        csum_completed: 0,
                    });
                }
                let mut done = PortsDone {
                    device: None,
                    flows_deleted: 0,
                };
                if let Some(ifindex) = remove {
                    if let Some(p) = self.ports.iter().position(|a| a.port.ifindex == ifindex) {
                        done.device = Some(self.ports.remove(p).port.device);
                    }
                    done.flows_deleted = self.delete_flows(&FlowFilter::Interface(ifindex));
                }
                let _ = reply.send(done);
            }
            Request::DeleteFlows { filter, reply } => {
                let n = self.delete_flows(&filter);
                let _ = reply.send(n);
            }
            Request::Flows {
                filter,
                limit,
                reply,
            } => {
                let (matched, flows) = self.worker.flow_records(|r| filter.matches(r), limit);
                let _ = reply.send(WorkerFlows {
                    worker: self.id,
                    matched,
                    flows,
                });
            }
            Request::Report { reply } => {
                let _ = reply.send(self.report());
            }
            Request::FlowIdleTimeouts {
                secs,
                by_proto,
                reply,
            } => {
                self.worker.flows.set_idle_timeouts(secs, &by_proto);
                let _ = reply.send(());
            }
        }
    }

    fn delete_flows(&mut self, filter: &FlowFilter) -> usize {
        let gone = self.worker.delete_flows(|r| filter.matches(r));
        self.forget_steering(&gone);
        gone.len()
    }

    fn report(&self) -> WorkerReport {
        let w = &self.worker;
        WorkerReport {
            worker: self.id,
            ports: self
                .ports
                .iter()
                .map(|a| PortReport {
                    ifindex: a.port.ifindex,
                    device: a.port.device.name().to_string(),
                    error: a.error.clone(),
                    counters: DeviceCounters {
                        tx_csum_completed: a.csum_completed,
                        ..a.port.device.counters()
                    },
                })
                .collect(),
            stats: w.stats.clone(),
            drops: w.drops.clone(),
            interfaces: w
                .interface_counters()
                .iter()
                .enumerate()
                .filter(|(_, c)| **c != Default::default())
                .map(|(i, c)| (i as IfIndex, *c))
                .collect(),
            flows: w.flows.len(),
            flow_capacity: w.flows.config().max_entries,
            parked: w.parked_len(),
            steering_entries: self.steer.len(),
            injected: self.injected,
            unrouted: self.unrouted,
        }
    }
}
