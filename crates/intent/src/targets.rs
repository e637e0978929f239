//! Route-target numbers, as Contrail's schema transformer allocates them: one per routing
//! instance and one per logical router, named `target:<ASN>:<n>` with `n` from 8000000 up
//! (from 8000 when the ASN needs four bytes), kept in the store as one id key per number
//! whose value is the owner's uuid, so a restart or a takeover finds every number again.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cirrus_api::index::Index;
use serde_json::Value;

use crate::write::{Emit, TARGET_POOL};

/// Contrail's default ASN, when the global-system-config has none.
pub const DEFAULT_ASN: u32 = 64512;

/// The global ASN (`default-global-system-config`'s `autonomous_system`).
pub fn global_asn(index: &Index) -> u32 {
    index
        .by_fq_name("global-system-config", "default-global-system-config")
        .and_then(|g| g.body.get("autonomous_system"))
        .and_then(Value::as_u64)
        .and_then(|a| u32::try_from(a).ok())
        .filter(|a| *a != 0)
        .unwrap_or(DEFAULT_ASN)
}

/// The numbers in use and who owns each.
#[derive(Debug, Default, Clone)]
pub struct TargetPool {
    min: u64,
    max: u64,
    by_owner: HashMap<String, u64>,
    by_number: BTreeMap<u64, String>,
    /// The next number never handed out since the pool was loaded. Numbers count up from
    /// it rather than from the highest one in use, so a number released in a batch is not
    /// reserved again in the same batch: the batch reserves before it releases (a reserve
    /// of a number still in the store fails the batch), and a peer still holding routes
    /// with the old target does not see them under a new owner.
    next: u64,
    /// Numbers released since the pool was loaded: reused only after a reload (when the
    /// store no longer holds them), if the range runs out.
    released: BTreeSet<u64>,
}

impl TargetPool {
    /// The pool as the store holds it.
    pub fn load(index: &Index, asn: u32) -> Self {
        let (min, max) = if asn > 0xffff {
            (8_000, 1 << 15)
        } else {
            (8_000_000, 1 << 24)
        };
        let mut p = TargetPool {
            min,
            max,
            ..Default::default()
        };
        for (n, owner) in index.id_owners(TARGET_POOL) {
            p.by_number.insert(n, owner.to_string());
            p.by_owner.insert(owner.to_string(), n);
        }
        p.next = p
            .by_number
            .range(p.min..)
            .next_back()
            .map_or(p.min, |(n, _)| n + 1);
        p
    }

    /// The number `owner` holds, if any.
    pub fn get(&self, owner: &str) -> Option<u64> {
        self.by_owner.get(owner).copied()
    }

    pub fn owners(&self) -> impl Iterator<Item = (&str, u64)> {
        self.by_owner.iter().map(|(o, n)| (o.as_str(), *n))
    }

    /// The number of `owner`, allocating (and asking the store to reserve) a new one.
    pub fn number(&mut self, owner: &str, emit: &mut Emit) -> Option<u64> {
        if let Some(n) = self.by_owner.get(owner) {
            return Some(*n);
        }
        let n = if self.next < self.max {
            self.next
        } else {
            (self.min..self.max)
                .find(|n| !self.by_number.contains_key(n) && !self.released.contains(n))?
        };
        self.next = self.next.max(n + 1);
        self.by_number.insert(n, owner.to_string());
        self.by_owner.insert(owner.to_string(), n);
        emit.reserve(n, owner);
        Some(n)
    }

    /// Frees the number of `owner`, if it has one.
    pub fn release(&mut self, owner: &str, emit: &mut Emit) {
        if let Some(n) = self.by_owner.remove(owner) {
            self.by_number.remove(&n);
            self.released.insert(n);
            emit.release(n);
        }
    }
}

pub fn target_name(asn: u32, n: u64) -> String {
    format!("target:{asn}:{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_released_is_not_handed_out_again_before_a_reload() {
        let mut pool = TargetPool {
            min: 8_000_000,
            max: 8_000_004,
            next: 8_000_000,
            ..Default::default()
        };
        let mut emit = Emit::default();
        assert_eq!(pool.number("a", &mut emit), Some(8_000_000));
        assert_eq!(pool.number("b", &mut emit), Some(8_000_001));
        assert_eq!(pool.number("a", &mut emit), Some(8_000_000));
        // b's network is deleted and another created in the same batch: the batch reserves
        // before it releases, so b's number must not come back at once.
        pool.release("b", &mut emit);
        assert_eq!(pool.number("c", &mut emit), Some(8_000_002));
        pool.release("a", &mut emit);
        assert_eq!(pool.number("d", &mut emit), Some(8_000_003));
        // The range is used up; the released numbers wait for a reload.
        assert_eq!(pool.number("e", &mut emit), None);
    }
}
