//! Running flow re-evaluation ([`crate::reevaluate`]) off the control task: at most one
//! run at a time, at most one per interval, after a change settled.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use cirrus_packet_io::handle::RunnerHandle;
use cirrus_packet_io::report::FlowFilter;

use crate::flow_context::FlowContext;
use crate::flow_stats::FlowStats;
use crate::reevaluate::stale_flows;

/// Most flow entries read per worker in one run.
const MAX_FLOWS: usize = 1 << 21;

pub(super) struct Reeval {
    due: Option<Instant>,
    settle: Duration,
    running: Arc<AtomicBool>,
    /// How long the last run took (µs): the next one waits ten times that, so runs take
    /// at most a tenth of the time however often things change.
    last_us: Arc<AtomicU64>,
    last_end: Option<Instant>,
}

impl Reeval {
    pub fn new(settle: Duration) -> Self {
        Self {
            due: None,
            settle,
            running: Arc::new(AtomicBool::new(false)),
            last_us: Arc::new(AtomicU64::new(0)),
            last_end: None,
        }
    }

    /// When the next run is due.
    pub fn due(&self) -> Option<Instant> {
        self.due
    }

    /// A change happened: run after it settles (and not sooner than ten times the last
    /// run's duration after it).
    pub fn schedule(&mut self) {
        let mut at = Instant::now() + self.settle;
        if let Some(end) = self.last_end {
            at = at.max(end + Duration::from_micros(self.last_us.load(Ordering::Relaxed)) * 10);
        }
        self.due = Some(at);
    }

    /// Starts a run when one is due and none is running.
    pub fn maybe_run(
        &mut self,
        handle: &RunnerHandle,
        ctx: &Arc<ArcSwap<FlowContext>>,
        stats: &Arc<FlowStats>,
    ) {
        let Some(due) = self.due else { return };
        if Instant::now() < due {
            return;
        }
        if self.running.swap(true, Ordering::AcqRel) {
            // One is running: try again after it had time to end.
            self.due = Some(Instant::now() + self.settle);
            return;
        }
        self.due = None;
        // An estimate of when this run ends, for spacing the next.
        self.last_end =
            Some(Instant::now() + Duration::from_micros(self.last_us.load(Ordering::Relaxed)));
        let (handle, ctx, stats, running, last_us) = (
            handle.clone(),
            ctx.load_full(),
            stats.clone(),
            self.running.clone(),
            self.last_us.clone(),
        );
        tokio::task::spawn_blocking(move || {
            let t = Instant::now();
            match handle.flows(FlowFilter::All, MAX_FLOWS) {
                Ok(per_worker) => {
                    let records: Vec<_> = per_worker.into_iter().flat_map(|w| w.flows).collect();
                    let stale = stale_flows(&ctx, &records);
                    if !stale.is_empty() {
                        let n = stale.len();
                        crate::flow_export::note_deleted(
                            stale.iter(),
                            crate::flow_export::teardown::POLICY_CHANGE,
                        );
                        let stale = Arc::new(stale);
                        match handle
                            .delete_flows(FlowFilter::matching(move |r| stale.contains(&r.key)))
                        {
                            Ok(deleted) => {
                                stats.reevaluated(deleted as u64);
                                tracing::info!(flows = records.len(), stale = n, deleted, took = ?t.elapsed(), "flows re-evaluated");
                            }
                            Err(e) => tracing::warn!(error = %e, "stale flows not deleted"),
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "flows not read for re-evaluation"),
            }
            last_us.store(t.elapsed().as_micros() as u64, Ordering::Relaxed);
            running.store(false, Ordering::Release);
        });
    }
}
