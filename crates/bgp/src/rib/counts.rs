//! How many routes a peer gave and was given, per address family: what `GET /bgp/neighbors`
//! (the totals) and the controller's `/metrics` (per family) show.

use serde::Serialize;

use super::{PeerId, Rib};
use crate::types::Family;

/// A peer's routes of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FamilyPrefixes {
    pub family: Family,
    /// Destinations with a path from the peer (stale included).
    pub received: usize,
    /// Of which the peer's path is the best.
    pub accepted: usize,
    /// Destinations advertised to the peer (Adj-RIB-Out).
    pub advertised: usize,
}

impl Rib {
    /// A peer's received, accepted and advertised destinations per family, in one pass over
    /// the global tables; families with no route either way are left out. The totals are
    /// their sums.
    pub fn prefixes_by_family(&self, id: PeerId) -> Vec<FamilyPrefixes> {
        let slot = self.peers.get(&id).map(|p| p.slot);
        let mut v: Vec<FamilyPrefixes> = Vec::new();
        for (nlri, g) in self.global.iter() {
            let received = g.dest.paths.iter().any(|p| p.source.peer_id() == Some(id));
            let accepted = g
                .dest
                .best_path()
                .is_some_and(|p| p.source.peer_id() == Some(id));
            let advertised = slot.is_some_and(|s| g.holds(s));
            if !(received || advertised) {
                continue;
            }
            let family = nlri.family();
            let i = match v.iter().position(|f| f.family == family) {
                Some(i) => i,
                None => {
                    v.push(FamilyPrefixes {
                        family,
                        received: 0,
                        accepted: 0,
                        advertised: 0,
                    });
                    v.len() - 1
                }
            };
            let f = &mut v[i];
            f.received += usize::from(received);
            f.accepted += usize::from(accepted);
            f.advertised += usize::from(advertised);
        }
        v.sort_by_key(|f| f.family);
        v
    }
}
