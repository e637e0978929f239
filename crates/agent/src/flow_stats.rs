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
#[derive(Debug, Default)]
pub struct FlowStats {
    inner: Mutex<FlowCounts>,
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
