//! What flow setup decided, counted: decisions, allowed, translated, refused by reason,
//! and each denial by the rule that denied it (forward, and reply directions dropped on
//! their own). Shared between the thread that decides flows and introspect.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use crate::flow_setup::{Decided, Refusal};
use crate::policy::Layer;

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct RuleCount {
    pub layer: Option<Layer>,
    pub flows: u64,
    /// Of which only the reply direction was denied.
    pub replies: u64,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct FlowCounts {
    pub decided: u64,
    pub allowed: u64,
    pub translated: u64,
    pub refused: u64,
    /// Refusals by reason (`security-group`, `source-mac-mismatch`, ...).
    pub by_reason: BTreeMap<&'static str, u64>,
    /// Denials by rule uuid.
    pub by_rule: HashMap<Arc<str>, RuleCount>,
    /// Flows deleted by re-evaluation after a change.
    pub reevaluated_deleted: u64,
}

/// The shared counters.
#[derive(Debug)]
pub struct FlowStats {
    inner: Mutex<FlowCounts>,
    /// How long each flow decision took (the agent thread's share of flow setup).
    pub setup_seconds: cirrus_metrics::Histogram,
}

/// Flow decisions take microseconds: 5 µs to 100 ms.
const SETUP_BUCKETS: &[f64] = &[
    0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1,
];

impl Default for FlowStats {
    fn default() -> FlowStats {
        FlowStats {
            inner: Mutex::default(),
            setup_seconds: cirrus_metrics::Histogram::new(SETUP_BUCKETS),
        }
    }
}

impl FlowStats {
    fn lock(&self) -> std::sync::MutexGuard<'_, FlowCounts> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn record(&self, d: &Decided) {
        let mut c = self.lock();
        c.decided += 1;
        if d.nat.is_some() && d.refused.is_none() {
            c.translated += 1;
        }
        match &d.refused {
            None => c.allowed += 1,
            Some(r) => {
                c.refused += 1;
                *c.by_reason.entry(r.reason()).or_default() += 1;
                if let Refusal::Policy(layer, rule) = r {
                    let e = c.by_rule.entry(rule.clone()).or_default();
                    e.layer = Some(*layer);
                    e.flows += 1;
                }
            }
        }
        if let Some(Refusal::Policy(layer, rule)) = &d.reverse_refused {
            let e = c.by_rule.entry(rule.clone()).or_default();
            e.layer = Some(*layer);
            e.replies += 1;
        }
    }

    pub fn reevaluated(&self, deleted: u64) {
        self.lock().reevaluated_deleted += deleted;
    }

    pub fn snapshot(&self) -> FlowCounts {
        self.lock().clone()
    }
}
