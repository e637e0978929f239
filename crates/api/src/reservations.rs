//! Keys this process is about to write (an address, an id) while their transaction is being
//! planned and committed, so that concurrent plans in this process pick different ones. The
//! store's compares settle races with other replicas.

use std::collections::HashSet;
use std::sync::Mutex;

#[derive(Default)]
pub struct Reservations(Mutex<HashSet<String>>);

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
}
