//! Route-target numbers, as Contrail's schema transformer allocates them: one per routing
//! instance and one per logical router, named `target:<ASN>:<n>` with `n` from 8000000 up
//! (from 8000 when the ASN needs four bytes), kept in the store as one id key per number
//! whose value is the owner's uuid, so a restart or a takeover finds every number again.

use std::collections::{BTreeMap, HashMap};

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
        let next = self
            .by_number
            .range(self.min..)
            .next_back()
            .map_or(self.min, |(n, _)| n + 1);
        let n = if next < self.max {
            next
        } else {
            (self.min..self.max).find(|n| !self.by_number.contains_key(n))?
        };
        self.by_number.insert(n, owner.to_string());
        self.by_owner.insert(owner.to_string(), n);
        emit.reserve(n, owner);
        Some(n)
    }

    /// Frees the number of `owner`, if it has one.
    pub fn release(&mut self, owner: &str, emit: &mut Emit) {
        if let Some(n) = self.by_owner.remove(owner) {
            self.by_number.remove(&n);
            emit.release(n);
        }
    }
}

pub fn target_name(asn: u32, n: u64) -> String {
    format!("target:{asn}:{n}")
}
