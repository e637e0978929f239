//! The write path: plan a transaction against the index, commit it to the store, and on a lost
//! compare-and-swap re-plan against the newer state. Conflicts that mean "taken" (the fq_name,
//! a requested IP address) end the request with 409 instead of a retry.

use cirrus_store::{Compare, Op, Txn, TxnOutcome};

use crate::error::{ApiError, ApiResult};
use crate::index::Index;
use crate::reservations::Reservations;
use crate::state::ApiState;

/// A transaction under construction, with what each compare failing would mean.
#[derive(Default)]
pub struct Planned {
    pub txn: Txn,
    /// (compare index, message): a failed compare here is final, answered with 409.
    fatal: Vec<(usize, String)>,
    /// Keys reserved in this process while the transaction is in flight.
    reserved: Vec<String>,
}

impl Planned {
    pub fn absent(&mut self, key: String, fatal: Option<String>) {
        if let Some(m) = fatal {
            self.fatal.push((self.txn.compares.len(), m));
        }
        self.txn
            .compares
            .push(Compare::ModRevision { key, revision: 0 });
    }

    /// A compare already planned is not repeated (two steps may guard one key).
    pub fn at_revision(&mut self, key: String, revision: i64) {
        let planned = self.txn.compares.iter().any(|c| {
            matches!(c, Compare::ModRevision { key: k, revision: r } if *k == key && *r == revision)
        });
        if !planned {
            self.txn
                .compares
                .push(Compare::ModRevision { key, revision });
        }
    }

    /// A second put of one key replaces the first: a store refuses a key twice in a transaction.
    pub fn put(&mut self, key: String, value: impl Into<Vec<u8>>) {
        let value = value.into();
        match self
            .txn
            .ops
            .iter_mut()
            .find(|op| matches!(op, Op::Put { key: k, .. } if *k == key))
        {
            Some(Op::Put { value: v, .. }) => *v = value,
            _ => self.txn.ops.push(Op::Put { key, value }),
        }
    }

    pub fn delete(&mut self, key: String) {
        self.txn.ops.push(Op::Delete { key });
    }

    pub fn hold(&mut self, key: String) {
        self.reserved.push(key);
    }

    /// Gives back the reservations of a plan that will not be committed.
    pub fn abandon(&mut self, reserved: &Reservations) {
        reserved.release(&std::mem::take(&mut self.reserved));
    }
}

/// Keys (addresses, ids) picked by requests whose transactions are still in flight, so that
/// concurrent requests on one replica pick different ones instead of colliding in the store.
const MAX_ATTEMPTS: usize = 32;

/// Plans with `plan` and commits until the transaction lands; returns the plan's value and the
/// committed revision (already visible in the index).
pub async fn run<T>(
    state: &ApiState,
    mut plan: impl FnMut(&Index, &Reservations) -> ApiResult<(Planned, T)>,
) -> ApiResult<(T, i64)> {
    for attempt in 0..MAX_ATTEMPTS {
        let (planned, value) = {
            let index = state.index();
            plan(&index, &state.reservations)?
        };
        let Planned {
            txn,
            fatal,
            reserved,
        } = planned;
        let outcome = state.commit(txn).await;
        state.reservations.release(&reserved);
        match outcome? {
            TxnOutcome::Committed { revision } => return Ok((value, revision)),
            TxnOutcome::Conflict { failed } => {
                if let Some((_, m)) = fatal.iter().find(|(i, _)| *i == failed) {
                    return Err(ApiError::conflict(m.clone()));
                }
                tracing::debug!(attempt, failed, "transaction lost a race; planning again");
                state.catch_up().await?;
            }
        }
    }
    Err(ApiError::conflict(
        "too many concurrent changes to the same objects; try again",
    ))
}
