//! Keys this process is about to write (an address, an id) while their transaction is being
//! planned and committed, so that concurrent plans in this process pick different ones. The
//! store's compares settle races with other replicas. Also the security scopes a draft commit
//! or discard holds while it runs (Contrail's scope lock): the scope's uuid and the action.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

#[derive(Default)]
pub struct Reservations(Mutex<HashSet<String>>, Mutex<HashMap<String, String>>);

impl Reservations {
    pub fn is_held(&self, key: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(key)
    }
    /// How many keys are held: zero whenever no request is in flight (a refused request must
    /// not leave one behind, or its address or id would never be handed out again).
    pub fn held(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
    pub fn try_hold(&self, key: &str) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string())
    }
    pub(crate) fn release(&self, keys: &[String]) {
        let mut set = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for k in keys {
            set.remove(k);
        }
    }

    /// The action (`commit`, `discard`) holding the security scope `scope`, if any.
    pub fn scope_action(&self, scope: &str) -> Option<String> {
        self.1
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(scope)
            .cloned()
    }
    /// Holds `scope` for `action`; false when another action holds it.
    pub fn try_lock_scope(&self, scope: &str, action: &str) -> bool {
        let mut m = self.1.lock().unwrap_or_else(|e| e.into_inner());
        if m.contains_key(scope) {
            return false;
        }
        m.insert(scope.to_string(), action.to_string());
        true
    }
    pub fn unlock_scope(&self, scope: &str) {
        self.1
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(scope);
    }
}
